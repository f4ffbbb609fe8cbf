"""What the kiosk is given: the store, the devices, settings, the language, renderers.

``PacklineApp(services)`` only wires these together; ``make_app`` (in ``edge.ui.app``)
builds them from ``KioskSettings`` for the CLI, and tests pass fakes in their place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from edge.domain.auth import verify_pin
from edge.domain.packing import PackOrder, PackSettings, Tolerance
from edge.hardware.ports import Printer, Scale, Scanner
from edge.store import Queries, Store
from edge.store.packing import PackingWriter, StoreOrderSource
from edge.ui.i18n import I18n

log = logging.getLogger(__name__)


class KioskSettings(BaseModel):
    """Settings for one kiosk (command-line options, or tests)."""

    model_config = ConfigDict(extra="forbid")

    db_path: Path = Path("edge.db")
    """The station database."""
    station_id: str | None = None
    """Override the station id stored in the database."""
    lang: str = Field(default="zh", pattern="^(zh|en)$")
    """Starting language; a button switches it live."""
    packaging_g: int = Field(default=30, ge=0)
    """Packaging weight added to each parcel's expected weight (grams)."""
    tolerance_g: int = Field(default=50, ge=0)
    """Weight tolerance, absolute part (grams)."""
    tolerance_pct: float = Field(default=5.0, ge=0)
    """Weight tolerance, percentage part; the larger of the two applies."""
    require_weigh: bool = True
    """Weigh every parcel before its label prints."""
    min_parcel_g: int = Field(default=10, ge=1)
    """Below this the scale counts as empty."""
    print_slip: bool = False
    """Also print a packing slip on the receipt printer after the label."""
    scanner_url: str | None = None
    """A device scanner besides the keyboard wedge, e.g. ``evdev:///dev/input/by-id/...``."""
    scale_url: str | None = None
    """The scale, e.g. ``serial:///dev/ttyUSB0?baud=9600&protocol=yaohua``."""
    label_printer_url: str | None = None
    """The waybill printer, e.g. ``tspl+net://10.0.0.9:9100``."""
    slip_printer_url: str | None = None
    """The receipt printer, e.g. ``escpos+usb://04b8:0202``."""
    print_component_url: str | None = None
    """A Cainiao-protocol print component on the LAN, e.g. ``ws://10.0.0.5:13528``: the
    waybills of ``component_carriers`` go to it (the platform's print data plus our
    custom area) instead of being drawn in TSPL here."""
    component_printer: str = ""
    """The component's printer to use; empty: its default."""
    component_carriers: frozenset[str] = frozenset()
    """Carrier codes (courier accounts) whose waybills print through the component; ``*``
    for all. The others print as TSPL on the label printer."""
    custom_area_template: str = ""
    """The custom-area template URL sent with the custom area (the platform's 自定义区
    template; empty: the component's default)."""
    fake_hardware: bool = False
    """Run simulated devices (a pty scale, socket printers, a scriptable scanner)."""
    scan_debounce_s: float = Field(default=0.1, ge=0)
    """The same code twice within this many seconds is one read."""
    scale_poll_s: float = Field(default=0.15, gt=0)
    """How often the scale is read."""
    status_period_s: float = Field(default=2.0, gt=0)
    """How often the status worker re-reads sync and backup state."""
    keymap: dict[str, str] = Field(default_factory=dict)
    """Binding id → keys, e.g. ``{"pack.put_parcel": "f5"}``."""
    timezone: str = "Asia/Shanghai"
    """IANA zone for times shown and printed (packing slips, the status bar)."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"未知时区 / unknown time zone {value!r}") from err
        return value

    def pack_settings(self) -> PackSettings:
        return PackSettings(
            packaging_g=self.packaging_g,
            tolerance=Tolerance(grams=self.tolerance_g, percent=self.tolerance_pct),
            require_weigh=self.require_weigh,
        )


@dataclass
class Devices:
    """The station's devices; any may be missing (None) and the UI says so."""

    scanner: Scanner | None = None
    """A device scanner besides the keyboard wedge."""
    scale: Scale | None = None
    label_printer: Printer | None = None
    slip_printer: Printer | None = None
    print_component: Any = None
    """The ``PrintComponent`` (``edge.hardware.print_component``), when configured."""
    put_parcel: Callable[[int], None] | None = None
    """Simulation only: put a parcel of N grams on the simulated scale."""
    remove_parcel: Callable[[], None] | None = None
    """Simulation only: take the parcel off."""
    closers: list[Callable[[], None]] = field(default_factory=list)
    """Called on exit (simulators, sockets)."""
    errors: dict[str, str] = field(default_factory=dict)
    """device → why it could not be opened."""
    fake_scanner: Any = None
    """Simulation only: the ``FakeScanner`` (``feed(code)``) beside the keyboard."""
    fake_printers: dict[str, Any] = field(default_factory=dict)
    """Simulation only: device → ``FakeNetPrinter`` behind the real adapter."""

    @property
    def simulated(self) -> bool:
        """The kiosk shows the put-parcel button when the scale is simulated."""
        return self.put_parcel is not None

    def close(self) -> None:
        for dev in (self.scanner, self.scale, self.label_printer, self.slip_printer,
                    self.print_component):
            if dev is not None:
                try:
                    dev.close()
                except Exception as err:  # noqa: BLE001 - closing must not stop the others
                    log.warning("closing %r failed: %s", dev, err)
        for closer in reversed(self.closers):
            try:
                closer()
            except Exception as err:  # noqa: BLE001
                log.warning("closing %r failed: %s", closer, err)


Renderer = Callable[[PackOrder, dict[str, Any]], bytes]
"""(order, print facts: receiver_masked, sender_*, station) → printer bytes."""


@dataclass
class Renderers:
    """Turn an order into printer bytes (TSPL waybill, ESC/POS slip)."""

    label: Renderer
    slip: Renderer
    test_label: Callable[[], bytes]
    test_slip: Callable[[], bytes]


def default_renderers() -> Renderers:
    """The real layouts from ``edge.printing`` (via ``edge.ui.printouts``)."""
    from edge.ui import printouts

    return Renderers(label=printouts.waybill, slip=printouts.slip,
                     test_label=printouts.test_waybill, test_slip=printouts.test_slip)


@dataclass
class Services:
    """Everything the kiosk uses, injected."""

    store: Store
    devices: Devices
    settings: KioskSettings
    i18n: I18n
    renderers: Renderers = field(default_factory=default_renderers)
    check_pin: Callable[[str | None, str], bool] = verify_pin
    """(stored hash, typed PIN) → ok."""
    pii_key: bytes | None = None
    """The station key that unseals receivers for the label (None: print the masked copy)."""
    wall_clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    """Now (UTC) for the ages the status shows; tests fix it."""
    display_tz: tzinfo | None = None
    """Zone for times shown and printed for people (None: ``settings.timezone``)."""
    reader: Queries = field(init=False)
    """Reads for the UI thread (its own connection on a file database)."""
    orders: StoreOrderSource = field(init=False)
    """Order and barcode lookups for the packing logic, on ``reader``."""
    packing: PackingWriter = field(init=False)
    """Packing writes on the single writer (used from worker threads)."""

    def __post_init__(self) -> None:
        self.reader = self.store.reader()
        self.orders = StoreOrderSource(self.reader)
        self.packing = PackingWriter(self.store.writer)

    @property
    def zone(self) -> tzinfo:
        """The zone people read times in: ``display_tz``, else the configured one."""
        return self.display_tz if self.display_tz is not None else ZoneInfo(self.settings.timezone)

    def close(self) -> None:
        self.devices.close()
        if self.reader is not self.store.queries:
            self.reader.db.close()
        self.store.close()
