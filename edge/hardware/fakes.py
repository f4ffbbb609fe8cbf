"""Fake devices that ship with the product: tests, the demo and ``--fake-hardware`` use them.

In-process fakes implement the ports directly (``FakeScanner``, ``FakeScale``,
``FakePrinter``). Wire-level fakes let the *real* adapters run unchanged:

- ``ScaleSimulator`` writes real scale frames to a pseudo-terminal; ``SerialScale``
  opens its stable path like a ``/dev/serial/by-id`` link and can be unplugged.
- ``FakeNetPrinter`` is a raw port-9100 server that records each job's bytes, answers
  TSPL ``ESC ! ?`` and ESC/POS ``DLE EOT`` status queries, and can be out of paper,
  offline (connection refused) or hang up.
- ``key_events()`` and ``FakeEvdevDevice`` produce the evdev event stream of a
  keyboard-wedge scan for ``EvdevScanner`` where ``/dev/uinput`` does not exist.
"""

from __future__ import annotations

import contextlib
import os
import queue
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Self

from edge.errors import PrinterError
from edge.hardware import framing
from edge.hardware.ports import Scan, Weight
from edge.hardware.sim_printer import FakeNetPrinter
from edge.hardware.sim_scale import ScaleSimulator

# --------------------------------------------------------------------------- in-process fakes


class FakeScanner:
    """A scanner fed by the test or demo: ``feed("SF123…")`` from any thread.

    ``scans(timeout)`` behaves like the real scanners: a blocking iterator that ends after
    ``timeout`` idle seconds (never when None) or on ``close()``.
    """

    def __init__(self, source: str = "fake") -> None:
        self.source = source
        """Put into each ``Scan.source``."""
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._closed = False

    def feed(self, *codes: str) -> None:
        """Queue one or more barcodes as if scanned."""
        for code in codes:
            self._queue.put(code)

    def open(self) -> None:
        """Make ``scans()`` usable again after ``close()``."""
        self._closed = False

    def close(self) -> None:
        """End any running ``scans()`` loop."""
        self._closed = True
        self._queue.put(None)

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def scans(self, timeout: float | None = None) -> Iterator[Scan]:
        """Yield fed scans until ``timeout`` idle seconds pass or ``close()``."""
        while not self._closed:
            try:
                code = self._queue.get(timeout=timeout)
            except queue.Empty:
                return
            if code is None:
                return
            yield Scan(code=code, at=datetime.now(UTC), source=self.source)


class FakeScale:
    """A scale whose reading the test sets: ``put(1250)``, ``remove()``, ``set_reading(…)``."""

    def __init__(self) -> None:
        self._weight: Weight | None = Weight(grams=0, stable=True, at=datetime.now(UTC))
        self.connected = True
        """Set False to make ``read()`` return None like an unplugged scale."""
        self.bad_frames = 0
        """Always 0; present so the status bar can treat every scale alike."""

    def put(self, grams: int, *, stable: bool = True) -> None:
        """Place a parcel: the next ``read()`` returns ``grams``."""
        self._weight = Weight(grams=grams, stable=stable, at=datetime.now(UTC))

    def remove(self) -> None:
        """Empty the platter (0 g, stable)."""
        self.put(0)

    def set_reading(self, weight: Weight | None) -> None:
        """Set the exact reading, or None for "no frame"."""
        self._weight = weight

    def open(self) -> None:
        """Nothing to open."""

    def close(self) -> None:
        """Nothing to close."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, timeout: float = 1.0) -> Weight | None:
        """Return the current reading with a fresh timestamp (or None when disconnected)."""
        if not self.connected or self._weight is None:
            return None
        w = self._weight
        return Weight(grams=w.grams, stable=w.stable, at=datetime.now(UTC), overload=w.overload)

    def wait_stable(self, timeout: float = 5.0) -> Weight | None:
        """Like ``SerialScale.wait_stable``: the reading if stable, else None."""
        w = self.read(timeout)
        return w if w is not None and w.stable else None


class FakePrinter:
    """Records every job: ``output`` is all bytes, ``jobs`` one entry per ``write``.

    ``fail_with(PrinterError(...))`` makes the next writes fail; ``out_of_paper = True``
    raises the same message the real adapters use.
    """

    def __init__(self) -> None:
        self.jobs: list[bytes] = []
        """One entry per successful ``write``."""
        self.out_of_paper = False
        """When True, ``write`` raises PrinterError (out of paper)."""
        self._error: PrinterError | None = None

    @property
    def output(self) -> bytes:
        """Every byte written so far."""
        return b"".join(self.jobs)

    def fail_with(self, error: PrinterError | None) -> None:
        """Raise ``error`` on every write until called with None."""
        self._error = error

    def clear(self) -> None:
        """Forget recorded jobs."""
        self.jobs.clear()

    def open(self) -> None:
        """Nothing to open."""

    def close(self) -> None:
        """Nothing to close."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, data: bytes) -> None:
        """Record one job or raise the configured fault."""
        if self._error is not None:
            raise self._error
        if self.out_of_paper:
            raise PrinterError("打印机缺纸 / printer out of paper: fake")
        self.jobs.append(bytes(data))

    def tspl(self, index: int = -1) -> list[TsplCommand]:
        """Job ``index`` read back as TSPL commands (:func:`parse_tspl`)."""
        return parse_tspl(self.jobs[index])


@dataclass(frozen=True, slots=True)
class TsplCommand:
    """One TSPL command as a printer reads it: the name and its arguments, quoted text
    decoded from GB18030 (``BITMAP`` keeps its raw image bytes in ``data``)."""

    name: str
    args: tuple[str, ...]
    data: bytes = b""


def _split_args(text: str) -> tuple[str, ...]:
    """Comma-separated arguments; a quoted argument keeps commas and loses its quotes."""
    args: list[str] = []
    current, quoted = "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            args.append(current)
            current = ""
        else:
            current += char
    args.append(current)
    return tuple(args)


def parse_tspl(job: bytes, encoding: str = "gb18030") -> list[TsplCommand]:
    """Read a TSPL job back into commands, as the fake printer understands them: each
    command ends in CR LF; ``BITMAP x,y,width_bytes,height,mode,`` is followed by
    ``width_bytes × height`` raw bytes. Raises ``ValueError`` on a job that does not parse."""
    out: list[TsplCommand] = []
    pos = 0
    while pos < len(job):
        if job.startswith(b"BITMAP ", pos):
            head_end = pos
            for _ in range(5):
                head_end = job.index(b",", head_end) + 1
            x, y, wb, h, mode = job[pos + len(b"BITMAP "):head_end - 1].decode("ascii").split(",")
            end = head_end + int(wb) * int(h)
            if job[end:end + 2] != b"\r\n":
                raise ValueError("BITMAP data is not followed by CR LF")
            out.append(TsplCommand("BITMAP", (x, y, wb, h, mode), job[head_end:end]))
            pos = end + 2
            continue
        end = job.index(b"\r\n", pos)
        line = job[pos:end].decode(encoding)
        name, _, rest = line.partition(" ")
        out.append(TsplCommand(name, _split_args(rest) if rest else ()))
        pos = end + 2
    return out


# --------------------------------------------------------------------------- evdev streams


@dataclass(frozen=True, slots=True)
class KeyEvent:
    """An event with the fields of ``evdev.InputEvent`` (which needs no device to build)."""

    sec: int
    usec: int
    type: int
    code: int
    value: int


_CHAR_TO_KEY: dict[str, tuple[int, bool]] = {}
for _code, (_plain, _shifted) in framing.US_KEYMAP.items():
    _CHAR_TO_KEY.setdefault(_plain, (_code, False))
    _CHAR_TO_KEY.setdefault(_shifted, (_code, True))


def key_events(code: str, *, terminator: str = "enter", t0: float = 0.0) -> list[KeyEvent]:
    """The evdev events a US-layout wedge scanner emits for ``code`` + terminator (docs/specs/edge-devices-sync-backup.md §1.1).

    Shift is pressed around upper-case letters and shifted symbols, each key is followed
    by ``MSC_SCAN`` and ``SYN_REPORT`` like a real keyboard. ``terminator`` is
    ``"enter"``, ``"kpenter"``, ``"tab"`` or ``""``.
    """
    events: list[KeyEvent] = []
    clock = [int(t0 * 1_000_000)]

    def emit(type_: int, key: int, value: int) -> None:
        clock[0] += 100
        events.append(KeyEvent(clock[0] // 1_000_000, clock[0] % 1_000_000, type_, key, value))

    def press(key: int) -> None:
        emit(framing.EV_MSC, 4, 0x70000 + key)
        emit(framing.EV_KEY, key, 1)
        emit(framing.EV_SYN, 0, 0)
        emit(framing.EV_KEY, key, 0)
        emit(framing.EV_SYN, 0, 0)

    for char in code:
        if char not in _CHAR_TO_KEY:
            raise ValueError(f"{char!r} cannot be typed on a US keyboard")
        key, shift = _CHAR_TO_KEY[char]
        if shift:
            emit(framing.EV_KEY, framing.KEY_LEFTSHIFT, 1)
        press(key)
        if shift:
            emit(framing.EV_KEY, framing.KEY_LEFTSHIFT, 0)
    end = {"enter": framing.KEY_ENTER, "kpenter": framing.KEY_KPENTER, "tab": framing.KEY_TAB}
    if terminator:
        press(end[terminator])
    return events


def key_input_events(code: str, *, terminator: str = "enter") -> list[object]:
    """``key_events`` as real ``evdev.InputEvent`` objects (needs python-evdev, no device)."""
    from evdev import InputEvent

    return [InputEvent(e.sec, e.usec, e.type, e.code, e.value) for e in key_events(code, terminator=terminator)]


class FakeEvdevDevice:
    """Stands in for ``evdev.InputDevice``: a pipe makes ``fd`` selectable.

    ``push(events)`` queues events; ``unplug()`` makes the next ``read()`` fail with
    ENODEV as a real unplugged device does. ``grabbed`` shows the grab state.
    """

    def __init__(self, path: str = "/dev/input/by-id/fake-event-kbd") -> None:
        self.path = path
        """The path the adapter asked for."""
        self.grabbed = False
        """Whether the adapter holds the exclusive grab."""
        self.closed = False
        """Whether the adapter closed the device."""
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        self._events: queue.Queue[KeyEvent] = queue.Queue()
        self._unplugged = False

    @property
    def fd(self) -> int:
        """A readable file descriptor while events are pending."""
        return self._r

    def push(self, events: Sequence[KeyEvent]) -> None:
        """Queue events for the adapter to read."""
        for event in events:
            self._events.put(event)
        os.write(self._w, b"x")

    def unplug(self) -> None:
        """Make the next read fail like a removed USB device."""
        self._unplugged = True
        os.write(self._w, b"x")

    def read(self) -> Iterator[KeyEvent]:
        """Return pending events (raises BlockingIOError when none, OSError when unplugged)."""
        if self._unplugged:
            raise OSError(19, "No such device")
        with contextlib.suppress(BlockingIOError):
            os.read(self._r, 4096)
        items: list[KeyEvent] = []
        while True:
            try:
                items.append(self._events.get_nowait())
            except queue.Empty:
                break
        if not items:
            raise BlockingIOError
        return iter(items)

    def grab(self) -> None:
        """Take the exclusive grab (fails if already held, like EVIOCGRAB)."""
        if self.grabbed:
            raise OSError(16, "Device or resource busy")
        self.grabbed = True

    def ungrab(self) -> None:
        """Release the grab."""
        self.grabbed = False

    def close(self) -> None:
        """Close the pipe."""
        if not self.closed:
            self.closed = True
            os.close(self._r)
            os.close(self._w)

__all__ = [
    "FakeEvdevDevice",
    "FakeNetPrinter",
    "FakePrinter",
    "FakeScale",
    "FakeScanner",
    "KeyEvent",
    "ScaleSimulator",
    "TsplCommand",
    "key_events",
    "key_input_events",
    "parse_tspl",
]
