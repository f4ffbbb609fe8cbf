"""ESC/POS receipt printer adapter via python-escpos (Usb, Network, File or Serial backend).

python-escpos is imported only when a job is sent, so ``edge.hardware`` imports without it.
Jobs are already-encoded bytes (``edge.printing.receipts``); the backend only carries them.
Before a job the adapter can ask ``DLE EOT 4`` (paper sensor, escpos ``paper_status()``)
where the backend can read answers (network, USB); a printer that does not answer is
assumed to have paper.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Self

from edge.errors import DeviceUnavailable, PrinterError

log = logging.getLogger(__name__)


def import_escpos_printer() -> Any:
    """Import ``escpos.printer`` or raise DeviceUnavailable."""
    try:
        from escpos import printer
    except ImportError as err:  # pragma: no cover - only without the edge-hw extra
        raise DeviceUnavailable(
            "未安装 python-escpos（pip install packline[edge-hw]）/ python-escpos is not installed"
        ) from err
    return printer


class EscposPrinter:
    """An ESC/POS printer (``Printer`` port) built by ``factory()`` → an escpos backend.

    Use the class methods: ``network(host, port)``, ``usb(vid, pid)``, ``file(path)``,
    ``serial(port, baudrate)``. Each job opens the backend, optionally checks paper,
    sends the bytes and closes it again, so a printer switched off between jobs
    recovers by itself.
    """

    def __init__(self, factory: Callable[[], Any], name: str, *, check_paper: bool = False) -> None:
        self._factory = factory
        self.name = name
        """Human-readable address for messages."""
        self.check_paper = check_paper
        """Whether to query the paper sensor before each job."""

    @classmethod
    def network(cls, host: str, port: int = 9100, *, timeout: float = 5.0, check_paper: bool = True) -> EscposPrinter:
        """A LAN printer on raw TCP."""
        return cls(
            lambda: import_escpos_printer().Network(host, port=port, timeout=timeout),
            f"{host}:{port}",
            check_paper=check_paper,
        )

    @classmethod
    def usb(cls, vendor: int, product: int, *, check_paper: bool = True) -> EscposPrinter:
        """A USB printer by vendor and product id (needs pyusb: python-escpos[usb])."""
        return cls(
            lambda: import_escpos_printer().Usb(vendor, product),
            f"usb {vendor:04x}:{product:04x}",
            check_paper=check_paper,
        )

    @classmethod
    def file(cls, path: str) -> EscposPrinter:
        """A device file such as ``/dev/usb/lp0`` (write only, no status)."""
        return cls(lambda: import_escpos_printer().File(path), path, check_paper=False)

    @classmethod
    def serial(cls, port: str, *, baudrate: int = 9600, check_paper: bool = False) -> EscposPrinter:
        """A serial printer (needs python-escpos[serial], i.e. pyserial)."""
        return cls(
            lambda: import_escpos_printer().Serial(devfile=port, baudrate=baudrate),
            port,
            check_paper=check_paper,
        )

    def open(self) -> None:
        """Nothing to do: the backend is opened per job."""

    def close(self) -> None:
        """Nothing stays open between jobs."""

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, data: bytes) -> None:
        """Send one job; raise PrinterError when offline or out of paper."""
        from escpos import exceptions as escpos_errors

        try:
            backend = self._factory()
            backend.open()
        except escpos_errors.DeviceNotFoundError as err:
            raise PrinterError(f"小票打印机离线 / receipt printer offline: {self.name}") from err
        except (escpos_errors.Error, OSError) as err:
            raise PrinterError(f"小票打印机无法打开 / cannot open receipt printer: {self.name}: {err}") from err
        try:
            if self.check_paper:
                try:
                    paper = backend.paper_status()
                except (TimeoutError, NotImplementedError):
                    paper = 2  # no answer: assume paper, as escpos does for an empty reply
                if paper == 0:
                    raise PrinterError(f"小票打印机缺纸 / receipt printer out of paper: {self.name}")
                if paper == 1:
                    log.warning("receipt printer %s: paper near end", self.name)
            backend._raw(data)
        except PrinterError:
            raise
        except (TimeoutError, ConnectionError, OSError, escpos_errors.Error) as err:
            raise PrinterError(f"小票打印失败 / receipt print failed: {self.name}: {err}") from err
        finally:
            try:
                backend.close()
            except Exception:
                log.debug("closing %s failed", self.name, exc_info=True)
