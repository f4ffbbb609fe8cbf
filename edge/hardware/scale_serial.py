"""Serial scale adapter: a reader thread decodes frames and keeps the latest ``Weight``.

Continuous-output scales send 10–20 frames a second whether anyone reads or not, so
a background thread drains the port, decodes frames (``edge.hardware.framing``) and
keeps the newest reading; ``read()`` waits for the next fresh one. The thread reopens
the port by itself after an unplug; ``connected`` and ``bad_frames`` feed the status bar.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Self

from edge.hardware.framing import FrameDecoder, StabilityTracker, make_decoder
from edge.hardware.ports import Weight
from edge.hardware.serial_link import SerialLink, import_serial


class SerialScale:
    """A continuous-output scale on a serial port (``Scale`` port).

    ``protocol`` is ``yaohua`` (XK3190-A9), ``toledo`` (standard continuous) or
    ``generic`` (``ST,GS,+  1.234kg``). ``stable_count`` applies when the protocol has
    no stable flag. ``open()`` starts the reader thread and does not fail when the
    scale is unplugged: ``read()`` returns None and ``connected`` is False until it
    appears.
    """

    def __init__(
        self,
        port: str,
        *,
        protocol: str = "yaohua",
        baudrate: int = 9600,
        bytesize: int = 8,
        parity: str = "N",
        stopbits: float = 1,
        stable_count: int = 5,
        tolerance_g: int = 0,
        reconnect_interval: float = 0.5,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.protocol = protocol
        """Frame protocol name."""
        self._decoder: FrameDecoder = make_decoder(protocol)
        self._tracker = StabilityTracker(stable_count, tolerance_g)
        self.link = SerialLink(
            port,
            baudrate=baudrate,
            bytesize=bytesize,
            parity=parity,
            stopbits=stopbits,
            reconnect_interval=reconnect_interval,
        )
        """The underlying port (reconnect count, last error)."""
        self._clock = clock or (lambda: datetime.now(UTC))
        self._cond = threading.Condition()
        self._latest: Weight | None = None
        self._seq = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._was_connected = False

    # -- status
    @property
    def connected(self) -> bool:
        """Whether the serial port is open now."""
        return self.link.connected

    @property
    def bad_frames(self) -> int:
        """Frames dropped for bad checksum, format or length since construction."""
        return self._decoder.bad_frames

    @property
    def latest(self) -> Weight | None:
        """The newest reading, however old (check ``.at``)."""
        with self._cond:
            return self._latest

    # -- lifecycle
    def open(self) -> None:
        """Start the reader thread (idempotent); DeviceUnavailable if pyserial is missing."""
        if self._thread is not None:
            return
        import_serial()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"scale:{self.link.port}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the reader thread and close the port."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        self.link.close()
        with self._cond:
            self._cond.notify_all()

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading
    def read(self, timeout: float = 1.0) -> Weight | None:
        """Wait up to ``timeout`` seconds for a frame newer than the call; None if none came."""
        deadline = time.monotonic() + timeout
        with self._cond:
            seq = self._seq
            while self._seq == seq:
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return None
                self._cond.wait(left)
            return self._latest

    def wait_stable(self, timeout: float = 5.0) -> Weight | None:
        """Return the first stable reading within ``timeout`` seconds, or None."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            weight = self.read(left)
            if weight is not None and weight.stable:
                return weight
        return None

    def _run(self) -> None:
        while not self._stop.is_set():
            data = self.link.read(0.1)
            if self.link.connected != self._was_connected:
                self._was_connected = self.link.connected
                self._tracker.reset()
            if not data:
                continue
            for reading in self._decoder.feed(data):
                weight = self._tracker.update(reading, self._clock())
                with self._cond:
                    self._latest = weight
                    self._seq += 1
                    self._cond.notify_all()
