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
import select
import socket
import tempfile
import threading
import time
import tty
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Self

from edge.errors import PrinterError
from edge.hardware import framing
from edge.hardware.ports import Scan, Weight

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
    """The evdev events a US-layout wedge scanner emits for ``code`` + terminator (spec §1.1).

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


# --------------------------------------------------------------------------- pty scale


class ScaleSimulator:
    """A continuous-output scale on a pseudo-terminal, speaking a real frame protocol.

    ``path`` is a stable symlink to the pty slave (like ``/dev/serial/by-id/…``); point
    ``SerialScale`` (or ``serial://{path}?protocol=…``) at it. ``put(grams)`` starts
    ``settle_frames`` unstable frames (changing values; Toledo motion bit / ``US`` header)
    before the weight settles; ``remove()`` puts 0 g. ``bad_frames(n)`` corrupts the
    next n frames' checksums; ``unplug()`` / ``replug()`` remove and recreate the pty.
    """

    def __init__(
        self,
        protocol: str = "yaohua",
        *,
        interval: float = 0.02,
        settle_frames: int = 4,
        decimals: int = 3,
        directory: str | None = None,
    ) -> None:
        if protocol not in framing.PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}")
        self.protocol = protocol
        """Frame protocol written: ``yaohua``, ``toledo`` or ``generic``."""
        self.interval = interval
        """Seconds between frames (real scales: 0.05–0.1)."""
        self.settle_frames = settle_frames
        """Unstable frames after each ``put``."""
        self.decimals = decimals
        """Yaohua only: kg decimal places (3 = 1 g resolution)."""
        self.frames_written = 0
        """Frames written so far (dropped ones excluded)."""
        self._dir = directory or tempfile.mkdtemp(prefix="packline-scale-")
        self._own_dir = directory is None
        self.path = os.path.join(self._dir, "scale")
        """Stable path of the simulated device."""
        self._lock = threading.Lock()
        self._target = 0
        self._settle_left = 0
        self._bad_left = 0
        self._master: int | None = None
        self._slave: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def url(self, **params: object) -> str:
        """The device URL for ``open_scale``, e.g. ``serial:///tmp/…/scale?protocol=yaohua``."""
        query = "&".join([f"protocol={self.protocol}", *(f"{k}={v}" for k, v in params.items())])
        return f"serial://{self.path}?{query}"

    # -- lifecycle
    def start(self) -> None:
        """Create the pty and start sending frames."""
        self.replug()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="scale-simulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sending, remove the pty and the link."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        self.unplug()
        if self._own_dir:
            with contextlib.suppress(OSError):
                os.rmdir(self._dir)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def unplug(self) -> None:
        """Close the pty and remove the link: the reader sees an I/O error."""
        with self._lock:
            self._close_fds()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)

    def replug(self) -> None:
        """Create a fresh pty behind the same ``path``."""
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        tmp = self.path + ".new"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(os.ttyname(slave), tmp)
        with self._lock:
            self._close_fds()
            self._master, self._slave = master, slave
            os.replace(tmp, self.path)

    def _close_fds(self) -> None:
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None

    @property
    def plugged(self) -> bool:
        """Whether the simulated device exists."""
        return self._master is not None

    # -- the parcel
    def put(self, grams: int) -> None:
        """Place a parcel weighing ``grams`` (it settles after ``settle_frames`` frames)."""
        with self._lock:
            self._target = grams
            self._settle_left = self.settle_frames

    def remove(self) -> None:
        """Take the parcel off (settles to 0 g)."""
        self.put(0)

    def bad_frames(self, count: int) -> None:
        """Corrupt the next ``count`` frames (wrong checksum or garbled text)."""
        with self._lock:
            self._bad_left += count

    # -- frames
    def _frame(self, grams: int, stable: bool) -> bytes:
        if self.protocol == "yaohua":
            return framing.encode_yaohua_a9(grams, self.decimals)
        if self.protocol == "toledo":
            return framing.encode_toledo(grams, motion=not stable)
        return framing.encode_generic(grams, stable=stable)

    def _corrupt(self, frame: bytes) -> bytes:
        if self.protocol == "yaohua":
            return frame[:9] + (b"ZZ" if frame[9:11] != b"ZZ" else b"00") + frame[11:]
        if self.protocol == "toledo":
            return frame[:4] + b"12X456" + frame[10:]
        return b"ST,GS,+ 1.2.3xx\r\n"

    def next_frame(self) -> bytes:
        """Advance one frame period and return the bytes a real scale would send."""
        with self._lock:
            target, left = self._target, self._settle_left
            if left > 0:
                self._settle_left -= 1
            bad = self._bad_left > 0
            if bad:
                self._bad_left -= 1
        step = 10 ** (3 - self.decimals) if self.protocol == "yaohua" else 1
        grams = target + left * 7 * step if left > 0 else target
        frame = self._frame(grams, stable=left == 0)
        return self._corrupt(frame) if bad else frame

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            frame = self.next_frame()
            with self._lock:
                master = self._master
                if master is None:
                    continue
                try:
                    os.write(master, frame)
                    self.frames_written += 1
                except (BlockingIOError, OSError):
                    pass  # nobody reading: a real scale's UART transmits into the void


# --------------------------------------------------------------------------- 9100 printer

TSPL_STATUS_QUERY = b"\x1b!?"
ESCPOS_STATUS_QUERIES = {b"\x10\x04\x01", b"\x10\x04\x02", b"\x10\x04\x03", b"\x10\x04\x04"}


class FakeNetPrinter:
    """A raw TCP 9100 printer on 127.0.0.1 that records what the real adapters send.

    Each connection is one job; ``jobs`` holds the bytes of printed jobs, with status
    queries at the start of a connection answered and left out (they are in
    ``queries``). Control it with ``set_out_of_paper()``, ``set_head_open()``,
    ``set_offline()`` (listener closed: connection refused), ``set_hangup()`` (accepts
    and closes at once) and ``set_silent()`` (never answers status queries).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        """Listening address."""
        self.port = port
        """Listening port (chosen at ``start()`` when 0)."""
        self.jobs: list[bytes] = []
        """Bytes of each job that printed."""
        self.rejected: list[bytes] = []
        """Bytes received while the printer was in a fault state (not printed)."""
        self.queries: list[bytes] = []
        """Status queries received, in order."""
        self.out_of_paper = False
        self.head_open = False
        self.hangup = False
        self.silent = False
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._cond = threading.Condition()

    # -- control
    def set_out_of_paper(self, value: bool = True) -> None:
        """Report paper-out to status queries and do not print received jobs."""
        self.out_of_paper = value

    def set_head_open(self, value: bool = True) -> None:
        """Report the print head open (TSPL status bit 0)."""
        self.head_open = value

    def set_hangup(self, value: bool = True) -> None:
        """Accept connections and close them at once."""
        self.hangup = value

    def set_silent(self, value: bool = True) -> None:
        """Never answer status queries (like firmware without them)."""
        self.silent = value

    def set_offline(self, value: bool = True) -> None:
        """Close the listener (clients get connection refused) or reopen it on the same port."""
        if value:
            self._close_listener()
        elif self._listener is None:
            self._listen()

    def url(self, scheme: str = "tspl+net") -> str:
        """The device URL, e.g. ``tspl+net://127.0.0.1:40123``."""
        return f"{scheme}://{self.host}:{self.port}"

    def wait_for_jobs(self, count: int, timeout: float = 5.0) -> list[bytes]:
        """Wait until ``count`` jobs printed (or timeout) and return a copy of ``jobs``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.jobs) < count and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
            return list(self.jobs)

    # -- lifecycle
    def start(self) -> None:
        """Listen and serve in background threads."""
        self._stop.clear()
        self._listen()

    def stop(self) -> None:
        """Close the listener and join the threads."""
        self._stop.set()
        self._close_listener()
        for t in self._threads:
            t.join(timeout=2.0)
        self._threads.clear()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(8)
        self.port = sock.getsockname()[1]
        self._listener = sock
        t = threading.Thread(target=self._accept_loop, args=(sock,), name="fake-printer", daemon=True)
        t.start()
        self._threads.append(t)

    def _close_listener(self) -> None:
        sock, self._listener = self._listener, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stop.is_set() and self._listener is listener:
            try:
                ready, _, _ = select.select([listener], [], [], 0.05)
                if not ready:
                    continue
                conn, _ = listener.accept()
            except (OSError, ValueError):
                return
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _status_answer(self, query: bytes) -> bytes:
        if query == TSPL_STATUS_QUERY:
            status = (0x01 if self.head_open else 0) | (0x04 if self.out_of_paper else 0)
            return bytes([status])
        if query == b"\x10\x04\x04":  # paper sensor: bits 1,4 fixed; 5,6 paper end
            return bytes([0x72 if self.out_of_paper else 0x12])
        if query == b"\x10\x04\x02":  # offline cause: bit 2 cover open
            return bytes([0x16 if self.head_open else 0x12])
        # DLE EOT 1/3: printer / error status; bit 3 offline
        return bytes([0x1A if (self.out_of_paper or self.head_open) else 0x12])

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            if self.hangup:
                return
            conn.settimeout(0.05)
            buf = bytearray()
            preamble = True
            deadline = time.monotonic() + 10.0
            while not self._stop.is_set() and time.monotonic() < deadline:
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                buf += chunk
                while preamble and buf:
                    query = next(
                        (q for q in (TSPL_STATUS_QUERY, *ESCPOS_STATUS_QUERIES) if buf.startswith(q)),
                        None,
                    )
                    if query is None:
                        if any(q.startswith(bytes(buf)) for q in (TSPL_STATUS_QUERY, *ESCPOS_STATUS_QUERIES)):
                            break  # a query split across reads: wait for the rest
                        preamble = False
                        break
                    del buf[: len(query)]
                    self.queries.append(query)
                    if not self.silent:
                        with contextlib.suppress(OSError):
                            conn.sendall(self._status_answer(query))
            if buf:
                with self._cond:
                    if self.out_of_paper or self.head_open:
                        self.rejected.append(bytes(buf))
                    else:
                        self.jobs.append(bytes(buf))
                    self._cond.notify_all()
