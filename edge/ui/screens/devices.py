"""Devices: live scan echo, live scale reading, test prints, connection states."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from edge.errors import EdgeError
from edge.hardware.ports import Weight
from edge.ui.screens.base import KioskScreen
from edge.ui.widgets.buttons import BigButton
from edge.ui.widgets.scan_input import ScanInput
from edge.ui.widgets.status_bar import DEVICES, StatusBar


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
            with Vertical(id="device-list"):
                for dev in DEVICES:
                    yield Label(id=f"state-{dev}", classes="device-row")
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
