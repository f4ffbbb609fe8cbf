"""Sign-in: scan a badge, or tap a name and type the PIN on the keypad."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.widgets import Label, Static

from edge.ui.dialogs.pin import PinDialog
from edge.ui.screens.base import KioskScreen
from edge.ui.widgets.buttons import BigButton
from edge.ui.widgets.scan_input import ScanInput
from edge.ui.widgets.status_bar import StatusBar


class SignInScreen(KioskScreen):
    """Who is packing. The operator's role decides what the kiosk allows."""

    CSS_PATH = "signin.tcss"

    def compose(self) -> ComposeResult:
        yield StatusBar()
        with Vertical(id="signin-body"):
            yield Label(id="signin-title", classes="screen-title")
            yield Static(id="banner", classes="banner")
            yield ScanInput(debounce_s=self.papp.services.settings.scan_debounce_s, id="scan")
            with Grid(id="operators"):
                for op in self.papp.services.reader.operators():
                    yield BigButton(op["name"], id=f"op-{op['operator_id']}")

    def apply_language(self) -> None:
        self.query_one("#signin-title", Label).update(self.t("signin.title"))
        self.query_one(ScanInput).prompt = self.t("signin.prompt")

    def handle_scan(self, code: str, source: str) -> None:
        op = self.papp.services.reader.operator_by_badge(code)
        if op is None:
            self.say("signin.unknown_badge", "error", code=code)
            return
        self.papp.sign_in(op, "badge")

    def on_button_pressed(self, event: BigButton.Pressed) -> None:
        bid = event.button.id or ""
        if not bid.startswith("op-"):
            return
        event.stop()
        op = self.papp.services.orders.operator(bid.removeprefix("op-"))
        if op is None:
            return
        if not op.get("pin_hash"):
            self.say("signin.no_pin", "error", name=op["name"])
            return
        self.app.push_screen(PinDialog(op["name"]), lambda pin: self._pin_entered(op, pin))

    def _pin_entered(self, op: dict[str, Any], pin: str | None) -> None:
        if pin is not None:
            self._verify(op, pin)

    @work(thread=True, exclusive=True, group="signin", exit_on_error=False)
    def _verify(self, op: dict[str, Any], pin: str) -> None:
        """PIN hashes are slow on purpose: check off the UI thread."""
        ok = self.papp.services.check_pin(op.get("pin_hash"), pin)
        self.app.call_from_thread(self._verified, op, ok)

    def _verified(self, op: dict[str, Any], ok: bool) -> None:
        if ok:
            self.papp.sign_in(op, "pin")
        else:
            self.say("signin.bad_pin", "error")
            self.focus_scan()
