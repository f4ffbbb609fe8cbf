"""Moves the wall clock of every Python process of a test run to ``TIME_TRAVEL_TO``.

Put this directory on ``PYTHONPATH`` (``./packline test`` does, for its second run), set
``TIME_TRAVEL_TO`` (ISO 8601, e.g. ``2027-12-01``) and run pytest with
``-W ignore::pytest.PytestAssertRewriteWarning`` (time-machine's pytest plugin is already
imported here, so pytest warns it cannot rewrite it: an error under ``filterwarnings``).

The first process (pytest) turns the date into an offset from the real clock and exports
it as ``TIME_TRAVEL_OFFSET``; every Python subprocess it starts with the environment it
inherits (station processes, CLIs, fake platforms, moto) moves its wall clock by the same
offset, so all of them read one clock running from that date (``time-machine`` with
``tick=True``), however late they start. Monotonic clocks are left alone, so timeouts still
work. It finds time bombs: code or tests that only pass while the real date is near the
one they were written on.

What does not move: programs that are not Python (mosquitto, PostgreSQL, litestream) and
OpenSSL's certificate checks, in every process, which read the C library's clock. The test
fixtures that make certificates for a broker therefore issue them on the real clock
(``real_now``). libfaketime (Debian's ``faketime``) would move the C library's clock too, but
0.9.10 breaks Python ≥ 3.11 threads: with ``FAKETIME_DONT_FAKE_MONOTONIC=1`` ``time.sleep``
raises ``OSError: [Errno 22]`` (its absolute ``clock_nanosleep``), and without it a
``threading.Event.wait(timeout)`` never returns.
"""

import os
import time
from datetime import datetime

_offset = os.environ.get("TIME_TRAVEL_OFFSET")
_date = os.environ.get("TIME_TRAVEL_TO")
if _offset is None and _date:
    _offset = str(datetime.fromisoformat(_date.replace("Z", "+00:00")).timestamp() - time.time())
    os.environ["TIME_TRAVEL_OFFSET"] = _offset
if _offset is not None:
    import time_machine

    time_machine.travel(time.time() + float(_offset), tick=True).start()
    time.time()  # time-machine starts the tick at the first read: anchor it now, as children do
