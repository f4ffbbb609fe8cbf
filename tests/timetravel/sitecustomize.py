"""Moves the wall clock of every Python process of a test run to ``TIME_TRAVEL_TO``.

Put this directory on ``PYTHONPATH`` (``./packline test`` does, for its second run), set
``TIME_TRAVEL_TO`` (ISO 8601, e.g. ``2027-12-01``) and run pytest with
``-W ignore::pytest.PytestAssertRewriteWarning`` (time-machine's pytest plugin is already
imported here, so pytest warns it cannot rewrite it: an error under ``filterwarnings``).
Pytest and every Python subprocess it starts with the environment it inherits (station
processes, CLIs, fake platforms) then read a wall clock running from that date
(``time-machine`` with ``tick=True``). Monotonic clocks are left alone, so timeouts still
work. It finds time bombs: code or tests that only pass while the real date is near
the one they were written on.

libfaketime (Debian's ``faketime``) would also move mosquitto, PostgreSQL and OpenSSL, but
0.9.10 breaks Python ≥ 3.11 threads: with ``FAKETIME_DONT_FAKE_MONOTONIC=1`` ``time.sleep``
raises ``OSError: [Errno 22]`` (its absolute ``clock_nanosleep``), and without it a
``threading.Event.wait(timeout)`` never returns.
"""

import os

_date = os.environ.get("TIME_TRAVEL_TO")
if _date:
    import time_machine

    time_machine.travel(_date, tick=True).start()
