"""A warehouse lead approves an exception: lead badge scan, or a lead's name and PIN.

The caller gets the lead's operators row, or None when cancelled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static
from textual.worker import Worker

from edge.ui.dialogs.pin import PinDialog
from edge.ui.messages import ScanReceived
from edge.ui.screens.base import failure_detail, worker_error
from edge.ui.widgets.buttons import BigButton
from edge.ui.widgets.scan_input import ScanInput

if TYPE_CHECKING:
    from edge.ui.app import PacklineApp

LEAD_ROLES = frozenset({"warehouse_lead", "manager", "admin"})
"""Roles that may override a weight check."""


class LeadOverrideDialog(ModalScreen[dict[str, Any] | None]):
    """Scan a lead's badge, or tap a lead and type the PIN."""

    BINDINGS: ClassVar[list[BindingType]] = [("escape", "dismiss(None)", "")]

    @property
    def papp(self) -> PacklineApp:
        return cast("PacklineApp", self.app)

    def compose(self) -> ComposeResult:
        t = self.papp.t
        leads = [op for op in self.papp.services.reader.operators() if op["role"] in LEAD_ROLES]
        with Vertical(classes="dialog"):
            yield Label(t("lead.title"), classes="dialog-title")
            yield ScanInput(debounce_s=self.papp.services.settings.scan_debounce_s,
                            id="lead-scan")
            yield Static("", id="lead-error", classes="banner")
            with Horizontal(classes="dialog-buttons"):
                for op in leads:
                    yield BigButton(op["name"], id=f"lead-{op['operator_id']}")
                yield BigButton(t("dialog.cancel"), id="cancel")

    def on_mount(self) -> None:
        self.query_one(ScanInput).focus()

    def _error(self, text: str) -> None:
        w = self.query_one("#lead-error", Static)
        w.update(text)
        w.set_classes("banner banner-error")
        self.papp.alarm()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        err = worker_error(event)
        if err is not None:  # the PIN check failed: say so, the lead can try again
            self._error(self.papp.t("error.unexpected", detail=failure_detail(err)))

    def handle_scan(self, code: str, source: str) -> None:
        op = self.papp.services.reader.operator_by_badge(code)
        if op is None:
            self._error(self.papp.t("signin.unknown_badge", code=code))
        elif op["role"] not in LEAD_ROLES:
            self._error(self.papp.t("error.not_lead"))
        else:
            self.dismiss(op)

    def on_scan_input_scanned(self, event: ScanInput.Scanned) -> None:
        event.stop()
        self.handle_scan(event.code, "keyboard")

    def on_scan_received(self, event: ScanReceived) -> None:
        event.stop()
        self.handle_scan(event.code, event.source)

    def on_button_pressed(self, event: BigButton.Pressed) -> None:
        event.stop()
        bid = event.button.id or ""
        if bid == "cancel":
            self.dismiss(None)
            return
        op = self.papp.services.orders.operator(bid.removeprefix("lead-"))
        if op is None:
            return
        self.app.push_screen(PinDialog(op["name"]), lambda pin: self._check(op, pin))

    def _check(self, op: dict[str, Any], pin: str | None) -> None:
        if pin is None:
            self.query_one(ScanInput).focus()
            return
        self._verify(op, pin)

    @work(thread=True, exclusive=True, group="lead-pin", exit_on_error=False)
    def _verify(self, op: dict[str, Any], pin: str) -> None:
        ok = self.papp.services.check_pin(op.get("pin_hash"), pin)
        self.app.call_from_thread(self._verified, op, ok)

    def _verified(self, op: dict[str, Any], ok: bool) -> None:
        if ok:
            self.dismiss(op)
        else:
            self._error(self.papp.t("signin.bad_pin"))
            self.query_one(ScanInput).focus()
