"""Serial-mode barcode scanner: USB-CDC (``/dev/ttyACM*``) or RS-232, one CR/LF-terminated line per scan."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Self

from edge.hardware.framing import LineDecoder
from edge.hardware.ports import Scan
from edge.hardware.serial_link import SerialLink


class SerialScanner:
    """A scanner that sends each barcode as a line (``Scanner`` port).

    ``scans(timeout)`` is a blocking iterator read in the caller's thread: it yields each
    scan as it arrives and ends after ``timeout`` seconds without one (never, when
    ``timeout`` is None) or when ``close()`` is called. The port is reopened after an unplug.
    """

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 9600,
        reconnect_interval: float = 0.5,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.link = SerialLink(port, baudrate=baudrate, reconnect_interval=reconnect_interval)
        """The underlying port (reconnect count, last error)."""
        self.decoder = LineDecoder()
        """Line splitter; ``decoder.bad_lines`` counts dropped over-long lines."""
        self._clock = clock or (lambda: datetime.now(UTC))
        self._closed = threading.Event()

    @property
    def connected(self) -> bool:
        """Whether the serial port is open now."""
        return self.link.connected

    def open(self) -> None:
        """Try to open the port now; a missing scanner is retried while reading."""
        self._closed.clear()
        self.link.try_open()

    def close(self) -> None:
        """Close the port and end any running ``scans()`` loop."""
        self._closed.set()
        self.link.close()

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def scans(self, timeout: float | None = None) -> Iterator[Scan]:
        """Yield scans; stop after ``timeout`` idle seconds or on ``close()``."""
        pending: list[str] = []
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while not self._closed.is_set():
                if pending:
                    yield Scan(code=pending.pop(0), at=self._clock(), source=self.link.port)
                    deadline = None if timeout is None else time.monotonic() + timeout
                    continue
                left = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
                if left <= 0:
                    return
                pending.extend(self.decoder.feed(self.link.read(left)))
        finally:
            if self._closed.is_set():
                self.link.close()
