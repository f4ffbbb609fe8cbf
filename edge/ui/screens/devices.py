"""Devices: live scan echo, live scale reading, test prints, connection states."""

from __future__ import annotations

from datetime import timedelta

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from edge.errors import EdgeError
from edge.hardware.ports import Weight
from edge.ui.health import StationHealth
from edge.ui.screens.base import KioskScreen
from edge.ui.widgets.buttons import BigButton
from edge.ui.widgets.scan_input import ScanInput
from edge.ui.widgets.status_bar import DEVICES, StatusBar

SYNC_ROWS = ("state", "backlog", "oldest", "last_ack", "error")
"""Rows of the sync panel (``#sync-<row>``)."""
BACKUP_ROWS = ("state", "last_success", "lag", "error")
"""Rows of the backup panel (``#backup-<row>``)."""


class DevicesScreen(KioskScreen):
    """Check every device without packing anything."""

    CSS_PATH = "devices.tcss"

    def compose(self) -> ComposeResult:
        yield StatusBar()
        with Vertical(id="devices-body"):
            yield Label(id="devices-title", classes="screen-title")
            yield Static(id="banner", classes="banner")
            yield ScanInput(debounce_s=self.papp.services.settings.scan_debounce_s, id="scan")
            yield Label(id="last-scan", classes="big-reading")
            yield Label(id="scale-reading", classes="big-reading")
            with Horizontal(id="device-panels"):
                with Vertical(id="device-list"):
                    for dev in DEVICES:
                        yield Label(id=f"state-{dev}", classes="device-row")
                with Vertical(id="sync-panel", classes="health-panel"):
                    yield Label(id="sync-title", classes="panel-title")
                    for row in SYNC_ROWS:
                        yield Label(id=f"sync-{row}", classes="health-row")
                with Vertical(id="backup-panel", classes="health-panel"):
                    yield Label(id="backup-title", classes="panel-title")
                    for row in BACKUP_ROWS:
                        yield Label(id=f"backup-{row}", classes="health-row")
        with Horizontal(id="devices-actions"):
            yield BigButton("", id="test-label", variant="primary")
            yield BigButton("", id="test-slip", variant="primary")
            yield BigButton("", id="put-parcel")
            yield BigButton("", id="back")

    def on_mount(self) -> None:
        self.last_code = ""
        """The last scan echoed."""
        super().on_mount()
        self.watch(self.papp, "weight", self._weight_changed, init=True)
        self.watch(self.papp, "device_states", self._states_changed, init=True)
        self.watch(self.papp, "health", self._health_changed, init=False)
        self.papp.refresh_health()
        self.query_one("#put-parcel", BigButton).display = self.papp.services.devices.simulated

    def apply_language(self) -> None:
        t = self.t
        self.query_one("#devices-title", Label).update(t("devices.title"))
        self.query_one(ScanInput).prompt = t("devices.scan_echo")
        self.query_one("#test-label", BigButton).label = t("devices.test_label")
        self.query_one("#test-slip", BigButton).label = t("devices.test_slip")
        self.query_one("#put-parcel", BigButton).label = t("pack.put_parcel")
        self.query_one("#back", BigButton).label = t("pack.home")
        self._show_scan()
        self._weight_changed(self.papp.weight)
        self._states_changed()
        self.query_one("#sync-title", Label).update(t("devices.sync.title"))
        self.query_one("#backup-title", Label).update(t("devices.backup.title"))
        self._health_changed()

    def _health_changed(self, _value: object = None) -> None:
        """Fill the sync and backup panels from the status worker's latest reading."""
        app = self.papp
        t = self.t
        health = app.health
        sync_rows: dict[str, tuple[str, str]]
        backup_rows: dict[str, tuple[str, str]]
        if health is None:
            reading = (t("devices.reading"), "idle")
            sync_rows = {"state": reading} | dict.fromkeys(SYNC_ROWS[1:], ("", "idle"))
            backup_rows = {"state": reading} | dict.fromkeys(BACKUP_ROWS[1:], ("", "idle"))
        else:
            sync_rows = self._sync_rows(health)
            backup_rows = self._backup_rows(health)
        for prefix, rows in (("sync", sync_rows), ("backup", backup_rows)):
            for row, (text, level) in rows.items():
                label = self.query_one(f"#{prefix}-{row}", Label)
                if str(label.render()) != text:
                    label.update(text)
                if set(label.classes) != {"health-row", f"sync-{level}"}:
                    label.set_classes(f"health-row sync-{level}")

    def _sync_rows(self, health: StationHealth) -> dict[str, tuple[str, str]]:
        app, t, s = self.papp, self.t, health.sync
        level = health.sync_level()
        if s.online:
            state = t("sync.online")
        elif not s.daemon_running:
            state = t("sync.not_running")
        else:
            state = t("sync.offline")
        error = s.last_error if s.last_error and health.sync_error_current else None
        return {
            "state": (t("devices.sync.state", state=state), level),
            "backlog": (t("devices.sync.backlog", n=s.backlog), level if s.backlog else "idle"),
            "oldest": (t("devices.sync.oldest", age=app.format_age(s.oldest_age))
                       if s.oldest_age is not None else "", level),
            "last_ack": (t("devices.sync.last_ack", time=app.format_time(s.last_ack_at, date=True)),
                         "idle"),
            "error": (t("devices.sync.error", error=error or t("devices.none_short")),
                      "error" if error else "idle"),
        }

    def _backup_rows(self, health: StationHealth) -> dict[str, tuple[str, str]]:
        app, t, b = self.papp, self.t, health.backup
        if b is None:
            return {"state": (t("devices.backup.none"), "warn"),
                    **dict.fromkeys(BACKUP_ROWS[1:], ("", "idle"))}
        if b.level == "error":
            state, level = t("devices.backup.failed"), "error"
        elif b.ok:
            state, level = t("devices.backup.ok"), "ok"
        else:
            state, level = t("devices.backup.behind"), "warn"
        return {
            "state": (state, level),
            "last_success": (t("devices.backup.last_success",
                               time=app.format_time(b.last_success_at, date=True)), "idle"),
            "lag": (t("devices.backup.lag", n=b.lag_txids,
                      age=app.format_age(timedelta(seconds=b.lag_seconds))),
                    "idle" if b.ok else "warn"),
            "error": (t("devices.backup.error", error=b.problem or t("devices.none_short")),
                      "error" if b.problem else "idle"),
        }

    def _show_scan(self) -> None:
        self.query_one("#last-scan", Label).update(
            self.t("devices.last_scan", code=self.last_code or "-"))

    def handle_scan(self, code: str, source: str) -> None:
        self.last_code = code
        self._show_scan()

    def _weight_changed(self, w: Weight | None) -> None:
        t = self.t
        self.query_one("#scale-reading", Label).update(
            t("pack.weight", grams=w.grams,
              state=t("pack.weight.stable" if w.stable else "pack.weight.unstable"))
            if w is not None else t("pack.weight.none"))

    def _states_changed(self, _value: object = None) -> None:
        t = self.t
        for dev in DEVICES:
            state = self.papp.device_states.get(dev, "off")
            detail = self.papp.device_details.get(dev, "")
            row = self.query_one(f"#state-{dev}", Label)
            row.update(f"{t('device.' + dev)}: {t('device.state.' + state)} {detail}".rstrip())
            row.set_classes(f"device-row dev-{state}")

    def on_button_pressed(self, event: BigButton.Pressed) -> None:
        bid = event.button.id
        if bid == "test-label":
            self._test_print("label_printer")
        elif bid == "test-slip":
            self._test_print("slip_printer")
        elif bid == "put-parcel":
            self.papp.put_parcel(1000)
        elif bid == "back":
            self.app.pop_screen()
        else:
            return
        event.stop()
        self.focus_scan()

    @work(thread=True, exclusive=True, group="test-print", exit_on_error=False)
    def _test_print(self, device: str) -> None:
        svc = self.papp.services
        printer = getattr(svc.devices, device)
        name = self.t(f"device.{device}")
        if printer is None:
            self.app.call_from_thread(self.banner, self.t("devices.none", device=name), "error")
            return
        data = svc.renderers.test_label() if device == "label_printer" else svc.renderers.test_slip()
        try:
            printer.write(data)
        except EdgeError as err:
            self.papp.set_device_state(device, "error", str(err))
            self.app.call_from_thread(self.banner, self.papp.error_text(err), "error")
            return
        self.papp.set_device_state(device, "ok")
        self.app.call_from_thread(self.banner, self.t("devices.test_ok", device=name), "ok")
