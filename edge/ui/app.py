"""``PacklineApp(services)``: wiring only. ``make_app(settings)`` builds it for the CLI and tests.

The app owns what every screen shares: the signed-in operator, the language, the live
scale reading and device states (reactives the screens watch), the device threads, and the
one mapping from errors to words.
"""

from __future__ import annotations

import gc
import sqlite3
import threading
import time
from datetime import datetime, timedelta
from typing import Any, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.worker import Worker, get_current_worker

from edge.errors import DeviceError, EdgeError, PackError, PrinterError
from edge.hardware.ports import Weight
from edge.ui.health import StationHealth, read_health
from edge.ui.i18n import I18n
from edge.ui.messages import (
    DeviceStateChanged,
    ScaleRead,
    ScanReceived,
    SignedIn,
    SyncStatusChanged,
)
from edge.ui.screens.base import KioskScreen, failure_detail, worker_error
from edge.ui.screens.devices import DevicesScreen
from edge.ui.screens.handover import HANDOVER_ROLES, HandoverScreen
from edge.ui.screens.home import HomeScreen
from edge.ui.screens.pack import PackScreen
from edge.ui.screens.receive import RECEIVE_ROLES, ReceiveScreen
from edge.ui.screens.returns import RETURN_ROLES, ReturnScreen
from edge.ui.screens.signin import SignInScreen
from edge.ui.screens.stocktake import StocktakeScreen
from edge.ui.screens.transfer import TRANSFER_ROLES, TransferScreen
from edge.ui.screens.wave import WaveScreen
from edge.ui.services import Devices, KioskSettings, Services

KIOSK_ROLES = frozenset({"packer", "warehouse_lead", "manager", "admin"})
"""Roles that may sign in at the kiosk (purchasing and finance work in the browser).
Weight overrides need ``LEAD_ROLES`` (``edge.ui.dialogs.lead_override``)."""

SILENT_S = 3.0
"""A scale that sends nothing for this long is shown as faulty."""


class PacklineApp(App[None]):
    """The packing-station kiosk."""

    CSS_PATH = "packline.tcss"
    TITLE = "Packline"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f12", "toggle_language", "中文/English", id="app.toggle_language",
                tooltip="Switch between Chinese and English"),
    ]

    lang: reactive[str] = reactive("zh")
    """Current language (the i18n object follows it)."""
    operator: reactive[dict[str, Any] | None] = reactive(None)
    """The signed-in operator's row, or None."""
    weight: reactive[Weight | None] = reactive(None, always_update=True)
    """Latest scale reading."""
    device_states: reactive[dict[str, str]] = reactive(dict, always_update=True)
    """device → ok / off / error / busy."""
    health: reactive[StationHealth | None] = reactive(None, always_update=True)
    """The latest sync and backup reading of the status worker (None before the first)."""

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        """Store, devices, settings, language, renderers."""
        self.i18n: I18n = services.i18n
        """The string table."""
        self.device_details: dict[str, str] = {}
        """device → last error text."""
        self.scale_cleared = True
        """The scale has been empty since the last weighed parcel (on any pack screen), so a
        parcel left on the scale is never taken as the next order's weight."""
        self.bells = 0
        """How many times the kiosk alarmed (tests read it; the terminal bell is silent headless)."""
        self._parcel_lock = threading.Lock()
        """Serialises simulated-scale changes."""
        self.health_reads = 0
        """Readings the status worker delivered (tests wait on it)."""
        self.health_error = ""
        """The status worker's last failure to read, one line ('' when fine)."""
        self._health_wake = threading.Event()
        """Set to make the status worker read now instead of at its next period."""
        self.set_reactive(PacklineApp.lang, services.i18n.lang)
        d = services.devices
        self.set_reactive(PacklineApp.device_states, {
            "scanner": "ok",  # the keyboard wedge is always there
            "scale": "ok" if d.scale else "off",
            "label_printer": "ok" if d.label_printer else "off",
            "slip_printer": "ok" if d.slip_printer else "off",
            **dict.fromkeys(d.errors, "error"),
        })
        self.device_details.update(d.errors)

    # ------------------------------------------------------------------ lifecycle
    def on_mount(self) -> None:
        # Everything built so far lives as long as the kiosk: keep it out of the cyclic
        # collector, so a full collection during a scan stays short.
        gc.freeze()
        if self.services.settings.keymap:
            self.set_keymap(self.services.settings.keymap)
        self.push_screen(SignInScreen())
        if self.services.devices.scanner is not None:
            self._scanner_loop()
        if self.services.devices.scale is not None:
            self._scale_loop()
        if self.services.store.path != ":memory:":
            self._status_loop()

    @property
    def station_id(self) -> str:
        return self.services.store.writer.station_id

    @property
    def operator_id(self) -> str:
        return str(self.operator["operator_id"]) if self.operator else "unknown"

    # ------------------------------------------------------------------ devices
    @work(thread=True, exclusive=True, group="scanner", exit_on_error=False)
    def _scanner_loop(self) -> None:
        scanner = self.services.devices.scanner
        assert scanner is not None
        worker = get_current_worker()
        while not worker.is_cancelled:
            try:
                for scan in scanner.scans(timeout=0.2):
                    self.post_message(ScanReceived(scan.code, scan.source or "scanner"))
                    if worker.is_cancelled:
                        return
            except DeviceError as err:
                self.set_device_state("scanner", "error", str(err))
                time.sleep(1.0)

    @work(thread=True, exclusive=True, group="scale", exit_on_error=False)
    def _scale_loop(self) -> None:
        """Poll the scale; report a reading when it changes and the scale's health when that
        changes. A scale may expose ``connected`` (the serial adapter does); a scale that
        sends no frame for ``SILENT_S`` seconds is reported as a fault too."""
        scale = self.services.devices.scale
        assert scale is not None
        worker = get_current_worker()
        period = self.services.settings.scale_poll_s
        last: tuple[int, bool] | None = None
        healthy = True
        last_frame = time.monotonic()
        while not worker.is_cancelled:
            started = time.monotonic()
            problem = ""
            try:
                w = scale.read(timeout=period)
            except DeviceError as err:
                w, problem = None, str(err)
            if w is not None:
                last_frame = time.monotonic()
            elif not problem and not getattr(scale, "connected", True):
                problem = "未连接 / not connected"
            elif not problem and time.monotonic() - last_frame > SILENT_S:
                problem = "无读数 / no readings"
            if bool(problem) == healthy:
                healthy = not problem
                self.set_device_state("scale", "ok" if healthy else "error", problem)
                if not healthy:
                    self.post_message(ScaleRead(None))
                    last = None
            key = (w.grams, w.stable) if w else None
            if w is not None and key != last:
                self.post_message(ScaleRead(w))
            last = key if w is not None else last
            time.sleep(max(0.0, period - (time.monotonic() - started)))

    def on_scale_read(self, msg: ScaleRead) -> None:
        if msg.weight is not None and msg.weight.grams < self.services.settings.min_parcel_g:
            self.scale_cleared = True
        self.weight = msg.weight

    def on_scan_received(self, msg: ScanReceived) -> None:
        screen = self.screen
        if hasattr(screen, "handle_scan"):
            screen.handle_scan(msg.code, msg.source)

    def set_device_state(self, device: str, state: str, detail: str = "") -> None:
        """Thread-safe: report a device's state to the status bar."""
        self.post_message(DeviceStateChanged(device, state, detail))

    def on_device_state_changed(self, msg: DeviceStateChanged) -> None:
        self.device_details[msg.device] = msg.detail
        self.device_states = {**self.device_states, msg.device: msg.state}

    # ------------------------------------------------------------------ sync and backup
    @work(thread=True, exclusive=True, group="status", exit_on_error=False)
    def _status_loop(self) -> None:
        """Every ``status_period_s``, read sync and backup state on this thread's own
        connection and post it; the UI thread never queries for it."""
        svc = self.services
        worker = get_current_worker()
        queries = svc.store.reader()
        try:
            while not worker.is_cancelled:
                self._health_wake.clear()
                try:
                    health = read_health(queries, svc.store.path, svc.wall_clock())
                except (sqlite3.Error, OSError) as err:
                    self.health_error = f"{type(err).__name__}: {err}"
                else:
                    self.health_error = ""
                    self.post_message(SyncStatusChanged(health))
                self._health_wake.wait(svc.settings.status_period_s)
        finally:
            queries.db.close()

    def refresh_health(self) -> None:
        """Ask the status worker to read now (after a shipment, or in tests)."""
        self._health_wake.set()

    def on_sync_status_changed(self, msg: SyncStatusChanged) -> None:
        self.health_reads += 1
        self.health = msg.health

    def format_age(self, age: timedelta | None) -> str:
        """``12秒`` / ``5分钟`` / ``3小时`` / ``2天`` (en: 12s, 5m, 3h, 2d)."""
        seconds = max(0, int(age.total_seconds())) if age is not None else 0
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if seconds >= size:
                return self.t(f"age.{unit}", n=seconds // size)
        return self.t("age.s", n=seconds)

    def format_time(self, when: datetime | None, *, date: bool = False) -> str:
        """A UTC time in the display zone: ``08:01:02`` today, ``11-22 08:01`` another day,
        the full date and time with ``date``; ``从未`` / ``never`` for None."""
        if when is None:
            return self.t("time.never")
        tz = self.services.zone
        local = when.astimezone(tz)
        today = self.services.wall_clock().astimezone(tz).date()
        if date:
            return local.strftime("%Y-%m-%d %H:%M:%S")
        return local.strftime("%H:%M:%S" if local.date() == today else "%m-%d %H:%M")

    def put_parcel(self, grams: int) -> None:
        """Simulation: put a parcel of ``grams`` on the simulated scale (in a thread)."""
        if self.services.devices.put_parcel is not None:
            self._put_parcel(grams)

    @work(thread=True, group="simulator", exit_on_error=False)
    def _put_parcel(self, grams: int) -> None:
        devices = self.services.devices
        with self._parcel_lock:
            if devices.remove_parcel is not None:
                devices.remove_parcel()
                time.sleep(self.services.settings.scale_poll_s * 2)
            assert devices.put_parcel is not None
            devices.put_parcel(grams)

    # ------------------------------------------------------------------ people
    def sign_in(self, operator: dict[str, Any], method: str) -> bool:
        """Sign ``operator`` in unless their role may not use the kiosk (then False)."""
        if operator["role"] not in KIOSK_ROLES:
            screen = self.kiosk_screen
            if screen is not None:
                screen.banner(self.t("signin.role_refused", name=operator["name"],
                                     role=self.i18n.role(operator["role"])), "error")
            return False
        self._record_sign_in(operator, method)
        return True

    @work(thread=True, exclusive=True, group="signin-write", exit_on_error=False)
    def _record_sign_in(self, operator: dict[str, Any], method: str) -> None:
        self.services.packing.sign_in(operator["operator_id"], method=method)
        self.post_message(SignedIn(operator, method))

    def on_signed_in(self, msg: SignedIn) -> None:
        self.operator = msg.operator
        self.switch_screen(HomeScreen())

    def sign_out(self) -> None:
        op = self.operator
        if op is not None:
            self._record_sign_out(op["operator_id"])
        self.operator = None
        self.switch_screen(SignInScreen())

    @work(thread=True, group="signin-write", exit_on_error=False)
    def _record_sign_out(self, operator_id: str) -> None:
        self.services.packing.sign_out(operator_id)

    def open_pack(self, first_scan: tuple[str, str] | None = None) -> None:
        self.push_screen(PackScreen(first_scan))

    def open_receive(self) -> None:
        """收货入库, for the roles that may receive (``RECEIVE_ROLES``); others are told no."""
        op = self.operator
        if op is None or op["role"] not in RECEIVE_ROLES:
            screen = self.kiosk_screen
            if screen is not None:
                screen.say("receive.refused_role", "error",
                           role=self.i18n.role(op["role"]) if op else "-")
            return
        self.push_screen(ReceiveScreen())

    def open_handover(self) -> None:
        """快递交接, for the roles that hand parcels over (``HANDOVER_ROLES``)."""
        op = self.operator
        if op is None or op["role"] not in HANDOVER_ROLES:
            screen = self.kiosk_screen
            if screen is not None:
                screen.say("handover.refused_role", "error",
                           role=self.i18n.role(op["role"]) if op else "-")
            return
        self.push_screen(HandoverScreen())

    def open_returns(self) -> None:
        """退货入库, for ``RETURN_ROLES``; others are told no."""
        op = self.operator
        if op is None or op["role"] not in RETURN_ROLES:
            screen = self.kiosk_screen
            if screen is not None:
                screen.say("returns.refused_role", "error",
                           role=self.i18n.role(op["role"]) if op else "-")
            return
        self.push_screen(ReturnScreen())

    def open_stocktake(self) -> None:
        """盘点: anyone signed in counts; starting and approving check the role inside."""
        if self.operator is not None:
            self.push_screen(StocktakeScreen())

    def open_transfer(self, side: str) -> None:
        """调拨出库 (``out``) or 调拨入库 (``in``), for ``TRANSFER_ROLES``; others are told no."""
        op = self.operator
        if op is None or op["role"] not in TRANSFER_ROLES:
            screen = self.kiosk_screen
            if screen is not None:
                screen.say("transfer.refused_role", "error",
                           role=self.i18n.role(op["role"]) if op else "-")
            return
        self.push_screen(TransferScreen(side))

    def open_wave(self) -> None:
        """波次拣货: everyone who may pack picks waves and works the put wall."""
        if self.operator is not None:
            self.push_screen(WaveScreen())

    def open_devices(self) -> None:
        self.push_screen(DevicesScreen())

    # ------------------------------------------------------------------ words and sounds
    def t(self, key: str, **values: object) -> str:
        return self.i18n.t(key, **values)

    def action_toggle_language(self) -> None:
        self.lang = self.i18n.toggle()

    def alarm(self) -> None:
        """The loud error sound."""
        self.bells += 1
        self.bell()

    def error_text(self, err: BaseException) -> str:
        """The one mapping from errors to what the packer reads."""
        if isinstance(err, PrinterError):
            return self.t("error.printer", detail=str(err))
        if isinstance(err, DeviceError):
            return self.t("error.device", detail=str(err))
        if isinstance(err, PackError | EdgeError):
            return self.t("error.pack", detail=str(err))
        return self.t("error.other", detail=str(err))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """An app worker (devices, status, sign-in writes) failed: logged, and said in red
        on the current screen."""
        err = worker_error(event)
        screen = self.kiosk_screen
        if err is not None and screen is not None:
            screen.say("error.unexpected", "error", detail=failure_detail(err))

    @property
    def kiosk_screen(self) -> KioskScreen | None:
        s = self.screen
        return s if isinstance(s, KioskScreen) else None


def make_app(
    settings: KioskSettings, *, services: Services | None = None, devices: Devices | None = None,
) -> PacklineApp:
    """Build the kiosk as production does: open the store and the devices from settings.

    Tests pass ``devices`` (fakes) or whole ``services``.
    """
    if services is None:
        from edge.store import open_store

        store = open_store(settings.db_path, station_id=settings.station_id)
        if devices is None:
            from edge.ui.devices import open_devices

            devices = open_devices(settings)
        from edge.fileio import key_path_for, read_key_file

        key_file = key_path_for(settings.db_path)
        services = Services(store=store, devices=devices, settings=settings,
                            i18n=I18n(settings.lang),
                            pii_key=read_key_file(key_file) if key_file.exists() else None)
    return PacklineApp(services)
