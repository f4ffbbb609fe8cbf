"""A serial port that survives unplugging: open by URL, read with a timeout, reopen on failure.

pySerial is imported only when a link opens, so ``edge.hardware`` imports without it.
``port`` is anything ``serial.serial_for_url`` accepts: a device path such as
``/dev/ttyUSB0`` (best a stable ``/dev/serial/by-id/…`` name), ``hwgrep://0403:6001``,
``socket://host:port`` or ``loop://``.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from edge.errors import DeviceUnavailable

log = logging.getLogger(__name__)


def import_serial() -> Any:
    """Import pySerial or raise DeviceUnavailable with a one-line reason."""
    try:
        import serial
    except ImportError as err:  # pragma: no cover - exercised only without the edge-hw extra
        raise DeviceUnavailable(
            "未安装 pyserial（pip install packline[edge-hw]）/ pyserial is not installed"
        ) from err
    return serial


class SerialLink:
    """One serial port, reopened after errors at most every ``reconnect_interval`` seconds."""

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 9600,
        bytesize: int = 8,
        parity: str = "N",
        stopbits: float = 1,
        reconnect_interval: float = 0.5,
    ) -> None:
        self.port = port
        """Device path or pySerial URL."""
        self.settings: dict[str, Any] = {
            "baudrate": baudrate,
            "bytesize": bytesize,
            "parity": parity,
            "stopbits": stopbits,
        }
        """Line settings passed to pySerial."""
        self.reconnect_interval = reconnect_interval
        """Seconds between reopen attempts while the port is gone."""
        self.reconnects = 0
        """How many times the port was reopened after being lost."""
        self.last_error = ""
        """The last open or read error, one line, for a status screen."""
        self._ser: Any = None
        self._next_try = 0.0
        self._ever_connected = False
        self._lock = threading.Lock()

    @property
    def connected(self) -> bool:
        """Whether the port is open right now."""
        return self._ser is not None

    def try_open(self) -> bool:
        """Open the port if it is closed and the retry delay has passed; return ``connected``."""
        if self._ser is not None:
            return True
        now = time.monotonic()
        if now < self._next_try:
            return False
        self._next_try = now + self.reconnect_interval
        serial = import_serial()
        try:
            ser = serial.serial_for_url(self.port, timeout=0.1, **self.settings)
        except (serial.SerialException, OSError, ValueError) as err:
            self.last_error = str(err).splitlines()[0] if str(err) else type(err).__name__
            return False
        with self._lock:
            self._ser = ser
        if self._ever_connected:
            self.reconnects += 1
            log.info("serial port %s reconnected", self.port)
        self._ever_connected = True
        self.last_error = ""
        return True

    def read(self, timeout: float) -> bytes:
        """Return the bytes available within ``timeout`` (maybe empty); never raises.

        While the port is gone this sleeps for the timeout and tries to reopen it.
        """
        if not self.try_open():
            time.sleep(timeout)
            return b""
        ser = self._ser
        serial = import_serial()
        try:
            if ser.timeout != timeout:
                ser.timeout = timeout
            first: bytes = ser.read(1)
            if not first:
                return b""
            waiting = ser.in_waiting
            return first + (ser.read(waiting) if waiting else b"")
        except (serial.SerialException, OSError, TypeError, AttributeError) as err:
            # TypeError/AttributeError: pySerial raced with close() from another thread.
            self._lost(err)
            return b""

    def write(self, data: bytes) -> None:
        """Write all of ``data``; raise DeviceUnavailable if the port is gone."""
        if not self.try_open():
            raise DeviceUnavailable(f"串口不可用 / serial port unavailable: {self.port} ({self.last_error})")
        serial = import_serial()
        try:
            self._ser.write(data)
            self._ser.flush()
        except (serial.SerialException, OSError) as err:
            self._lost(err)
            raise DeviceUnavailable(f"串口写入失败 / serial write failed: {self.port}: {err}") from err

    def _lost(self, err: BaseException) -> None:
        self.last_error = str(err).splitlines()[0] if str(err) else type(err).__name__
        log.warning("serial port %s lost: %s", self.port, self.last_error)
        self.close()
        self._next_try = time.monotonic() + self.reconnect_interval

    def close(self) -> None:
        """Close the port (a later read reopens it)."""
        with self._lock:
            ser, self._ser = self._ser, None
        if ser is not None:
            try:
                ser.close()
            except Exception:
                log.debug("closing %s failed", self.port, exc_info=True)
