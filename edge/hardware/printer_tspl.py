"""TSPL label printer adapter: raw bytes over TCP 9100, the USB printer class device, or serial.

Before each job the adapter can ask the printer for its status with the TSPL immediate
command ``ESC ! ?`` (one status byte back) and refuses to send when the printer reports
a fault. The status query and its bit table come from TSC's TSPL/TSPL2 programming
manual and are **unverified** on Xprinter/Gprinter/Deli clones (``docs/specs/edge-devices-sync-backup.md``
§3.2 does not cover them): if a printer does not answer within ``status_timeout`` the job is sent
anyway. Connection refused or timed out means offline. On ``/dev/usb/lp*`` the kernel
usblp driver reports paper-out as ENOSPC on write (from kernel source; unverified here).
"""

from __future__ import annotations

import errno
import logging
import socket
from typing import Protocol, Self

from edge.errors import DeviceUnavailable, PrinterError
from edge.hardware.serial_link import SerialLink

log = logging.getLogger(__name__)

STATUS_QUERY = b"\x1b!?"
"""TSPL immediate status query; the printer answers one byte."""

#: Status bits of the ``ESC ! ?`` answer that stop printing, with their message.
STATUS_FAULTS: tuple[tuple[int, str], ...] = (
    (0x01, "打印头打开 / print head open"),
    (0x02, "卡纸 / paper jam"),
    (0x04, "缺纸 / out of paper"),
    (0x08, "碳带用完 / out of ribbon"),
    (0x10, "打印机暂停 / printer paused"),
    (0x80, "打印机故障 / printer error"),
)
STATUS_PRINTING = 0x20
"""Busy printing: not a fault, the job is queued behind it."""


def status_message(status: int) -> str | None:
    """Return the fault message for a status byte, or None when the printer is ready."""
    faults = [msg for bit, msg in STATUS_FAULTS if status & bit]
    return "; ".join(faults) if faults else None


class _Checker(Protocol):
    def __call__(self, answer: bytes | None) -> None: ...


class Transport(Protocol):
    """A byte pipe to one printer."""

    name: str

    def query_then_send(
        self, data: bytes, query: bytes | None, query_timeout: float, check: _Checker
    ) -> None:
        """Send ``query`` (if any) and pass its answer to ``check``, then send ``data``."""
        ...

    def close(self) -> None: ...


class NetTransport:
    """Raw TCP (port 9100, "JetDirect"); one connection per job."""

    def __init__(self, host: str, port: int = 9100, *, timeout: float = 5.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.name = f"{host}:{port}"

    def query_then_send(
        self, data: bytes, query: bytes | None, query_timeout: float, check: _Checker
    ) -> None:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except ConnectionRefusedError as err:
            raise PrinterError(f"标签打印机离线（连接被拒绝）/ label printer offline (connection refused): {self.name}") from err
        except TimeoutError as err:
            raise PrinterError(f"标签打印机离线（连接超时）/ label printer offline (timed out): {self.name}") from err
        except OSError as err:
            raise PrinterError(f"标签打印机离线 / label printer offline: {self.name}: {err.strerror or err}") from err
        with sock:
            try:
                if query is not None:
                    sock.sendall(query)
                    sock.settimeout(query_timeout)
                    try:
                        answer = sock.recv(16)
                    except TimeoutError:
                        answer = None
                    if answer == b"":
                        raise PrinterError(f"标签打印机断开连接 / label printer closed the connection: {self.name}")
                    check(answer)
                    sock.settimeout(self.timeout)
                sock.sendall(data)
                sock.shutdown(socket.SHUT_WR)
                # Give the printer a moment to close (or reset) the connection after EOF.
                sock.settimeout(min(self.timeout, 1.0))
                try:
                    sock.recv(16)
                except (TimeoutError, ConnectionResetError):
                    pass
            except TimeoutError as err:
                raise PrinterError(f"标签打印机无响应 / label printer not responding: {self.name}") from err
            except (BrokenPipeError, ConnectionResetError) as err:
                raise PrinterError(f"标签打印机断开连接 / label printer closed the connection: {self.name}") from err
            except OSError as err:
                raise PrinterError(f"标签打印失败 / label print failed: {self.name}: {err.strerror or err}") from err

    def close(self) -> None:
        """Nothing stays open between jobs."""


class UsbFileTransport:
    """The kernel usblp device file, e.g. ``/dev/usb/lp0``; opened per job."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.name = path

    def query_then_send(
        self, data: bytes, query: bytes | None, query_timeout: float, check: _Checker
    ) -> None:
        try:
            with open(self.path, "wb", buffering=0) as dev:
                dev.write(data)
        except OSError as err:
            if err.errno == errno.ENOSPC:
                raise PrinterError(f"标签打印机缺纸 / label printer out of paper: {self.path}") from err
            if err.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
                raise PrinterError(f"标签打印机未连接 / label printer not connected: {self.path}") from err
            if err.errno == errno.EACCES:
                raise PrinterError(f"无权访问打印机（lp 组）/ no permission for printer (lp group): {self.path}") from err
            raise PrinterError(f"标签打印失败 / label print failed: {self.path}: {err.strerror or err}") from err

    def close(self) -> None:
        """Nothing stays open between jobs."""


class SerialTransport:
    """A serial (RS-232 or USB-CDC) label printer; the port stays open between jobs."""

    def __init__(self, port: str, *, baudrate: int = 9600) -> None:
        self.link = SerialLink(port, baudrate=baudrate)
        self.name = port

    def query_then_send(
        self, data: bytes, query: bytes | None, query_timeout: float, check: _Checker
    ) -> None:
        try:
            if query is not None:
                self.link.write(query)
                answer = self.link.read(query_timeout)
                check(answer or None)
            self.link.write(data)
        except DeviceUnavailable as err:
            raise PrinterError(f"标签打印机离线 / label printer offline: {self.name}") from err

    def close(self) -> None:
        self.link.close()


class TsplPrinter:
    """A TSPL label printer (``Printer`` port). ``write(job)`` sends one complete job.

    ``query_status`` asks ``ESC ! ?`` first (default on for network and serial, off for
    the USB device file). ``last_status`` keeps the last status byte (None if unanswered).
    Raises PrinterError with a Chinese / English one-line message on any fault.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        query_status: bool = True,
        status_timeout: float = 1.0,
    ) -> None:
        self.transport = transport
        """Where the bytes go."""
        self.query_status = query_status
        """Whether to ask ``ESC ! ?`` before each job."""
        self.status_timeout = status_timeout
        """Seconds to wait for the status byte before printing anyway."""
        self.last_status: int | None = None
        """The last status byte the printer answered, or None."""

    def open(self) -> None:
        """Nothing to do: network and USB printers are opened per job."""

    def close(self) -> None:
        """Close a serial port if one is open."""
        self.transport.close()

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check(self, answer: bytes | None) -> None:
        if not answer:
            self.last_status = None
            log.info("printer %s did not answer the status query", self.transport.name)
            return
        self.last_status = answer[-1]
        message = status_message(self.last_status)
        if message is not None:
            raise PrinterError(f"标签打印机故障 / label printer fault: {message} ({self.transport.name})")

    def write(self, data: bytes) -> None:
        """Send one job; raise PrinterError if the printer is offline or reports a fault."""
        self.transport.query_then_send(
            data, STATUS_QUERY if self.query_status else None, self.status_timeout, self._check
        )
