"""收货入库: receive goods against a purchase order at the kiosk.

Pick an open purchase order (or scan its number); scan items (an item barcode counts 1, a
case barcode its units, a printed goods label the SKU code); confirm the quantity on the
keypad, where a scanned count can be corrected; choose or scan the put-away location (the
SKU's default location to start with). Each confirmed receipt is one ``Writer.receive_po``
call in a worker: one RECEIVE move sourced to the order line, which the outbox sends to the
cloud like every move. More than the line's open quantity needs a reason (only leads open
this screen, so the signed-in lead is the one who decides). Goods without a barcode get
goods labels on the label printer.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Label, Static

from edge.errors import EdgeError
from edge.ui.dialogs.choice import ChoiceDialog
from edge.ui.dialogs.confirm import ConfirmDialog
from edge.ui.dialogs.quantity import QuantityDialog
from edge.ui.dialogs.reason import ReasonDialog
from edge.ui.messages import GoodsLabelsPrinted, GoodsReceived
from edge.ui.printouts import goods_labels
from edge.ui.screens.base import KioskScreen, failure_detail
from edge.ui.widgets.buttons import BigButton
from edge.ui.widgets.order_lines import OrderLines
from edge.ui.widgets.scan_input import ScanInput
from edge.ui.widgets.status_bar import StatusBar

log = logging.getLogger(__name__)

RECEIVE_ROLES = frozenset({"warehouse_lead", "manager", "admin"})
"""Roles that see 收货入库 on the home screen and may receive (a packer packs)."""

LINE_BUTTONS = ("confirm", "location", "labels", "clear")
"""Buttons that act on the current line (shown once a purchase order is open)."""


class ReceiveScreen(KioskScreen):
    """One purchase order at a time: scan, confirm on the keypad, put away."""

    CSS_PATH = "receive.tcss"
    BANNER_FIXED_HEIGHT = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "confirm", "确认数量 / confirm qty", id="receive.confirm",
                tooltip="Confirm the scanned quantity on the keypad and receive it"),
        Binding("f6", "location", "上架库位 / location", id="receive.location",
                tooltip="Choose where the current line is put away"),
        Binding("f7", "labels", "打印标签 / print labels", id="receive.labels",
                tooltip="Print goods labels for the current line's SKU"),
        Binding("f8", "clear", "清除扫描 / clear scans", id="receive.clear",
                tooltip="Drop the scanned, unconfirmed units of the current line"),
        Binding("f9", "change_po", "换采购单 / other order", id="receive.change_po",
                tooltip="Back to the list of open purchase orders"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.po: dict[str, Any] | None = None
        """The purchase order being received (its row), or None: the list shows."""
        self.lines: list[dict[str, Any]] = []
        """Its lines with SKU names, received and ordered (re-read after each receipt)."""
        self.line_no: int | None = None
        """The current line: the one the last scanned item belongs to."""
        self.pending = 0
        """Units of the current line scanned but not yet confirmed."""
        self.location: str | None = None
        """Where the current line is put away (its SKU's default location to start with)."""
        self.busy = False
        """A receipt is being written: scans wait."""
        self._open_pos: list[dict[str, Any]] = []
        """The open purchase orders behind the list's buttons, in order."""

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Label("", id="receive-title", classes="screen-title")
        yield Static("", id="banner", classes="banner")
        with VerticalScroll(id="po-list"):
            yield Label("", id="po-list-title")
            yield Vertical(id="po-buttons")
        with Horizontal(id="receive-main"):
            with Vertical(id="po-pane"):
                yield OrderLines(id="lines")
            with Vertical(id="line-pane"):
                yield Label("", id="line-info")
                yield Label("", id="line-count")
                yield Label("", id="line-pending")
                yield Label("", id="line-location")
        yield ScanInput(debounce_s=self.papp.services.settings.scan_debounce_s, id="scan")
        with Horizontal(id="receive-actions"):
            yield BigButton("", id="confirm", variant="primary")
            yield BigButton("", id="location")
            yield BigButton("", id="labels")
            yield BigButton("", id="clear", variant="warning")
            yield BigButton("", id="change-po")
            yield BigButton("", id="back")

    def on_mount(self) -> None:
        super().on_mount()
        self._show_list()

    def apply_language(self) -> None:
        t = self.t
        labels = {"confirm": "receive.confirm", "location": "receive.location",
                  "labels": "receive.labels", "clear": "receive.clear",
                  "change-po": "receive.change_po", "back": "receive.home"}
        for bid, key in labels.items():
            self.query_one(f"#{bid}", BigButton).label = t(key)
        self._redraw()

    # ------------------------------------------------------------------ rendering
    @property
    def line(self) -> dict[str, Any] | None:
        """The current line's row."""
        return next((ln for ln in self.lines if ln["line_no"] == self.line_no), None)

    def _sku_name(self, row: dict[str, Any]) -> str:
        name = row["name_en"] if self.papp.lang == "en" and row.get("name_en") else row.get("name_zh")
        return str(name or row["sku"])

    def _show_list(self) -> None:
        """Read the open purchase orders and show them as buttons."""
        self._open_pos = self.papp.services.reader.open_purchase_orders()
        box = self.query_one("#po-buttons", Vertical)
        have = len(box.children)  # buttons are kept and reused: removal is asynchronous
        if len(self._open_pos) > have:
            box.mount_all([BigButton("", id=f"po-{i}")
                           for i in range(have, len(self._open_pos))])
        self.call_after_refresh(self._redraw)

    def _redraw(self) -> None:
        t = self.t
        po = self.po
        self.query_one("#po-list").display = po is None
        self.query_one("#receive-main").display = po is not None
        for bid in (*LINE_BUTTONS, "change-po"):
            self.query_one(f"#{bid}", BigButton).display = po is not None
        if po is None:
            self.query_one("#receive-title", Label).update(t("receive.title"))
            self.query_one("#po-list-title", Label).update(
                t("receive.pick_po") if self._open_pos else t("receive.no_open_po"))
            for i, button in enumerate(self.query_one("#po-buttons").query(BigButton)):
                button.display = i < len(self._open_pos)
                if i < len(self._open_pos):
                    row = self._open_pos[i]
                    button.label = t("receive.po_button", supplier=row["supplier"],
                                     po=row["po_id"], n=row["lines_open"])
            self.query_one(ScanInput).prompt = t("receive.pick_po")
            return
        self.query_one("#receive-title", Label).update(
            t("receive.title_po", po=po["po_id"], supplier=po["supplier"]))
        self.query_one(ScanInput).prompt = t("receive.hint")
        rows = []
        for ln in self.lines:
            current = ln["line_no"] == self.line_no
            count = f"{ln['qty_received']}/{ln['qty_ordered']}"
            if current and self.pending:
                count += f" +{self.pending}"
            where = (self.location if current else None) or ln["default_location"] or "-"
            rows.append((ln["sku"], self._sku_name(ln), where, count,
                         ln["qty_received"] >= ln["qty_ordered"]))
        self.query_one("#lines", OrderLines).show(
            [t("receive.col.sku"), t("receive.col.name"), t("receive.col.location"),
             t("receive.col.count")], rows)
        line = self.line
        info, count_text, pending, where = t("receive.no_line"), "", "", ""
        if line is not None:
            info = t("receive.line", line=line["line_no"], sku=line["sku"], name=self._sku_name(line))
            count_text = t("receive.line_count", received=line["qty_received"],
                           ordered=line["qty_ordered"])
            pending = t("receive.line_pending", n=self.pending)
            where = t("receive.line_location", location=self.location or "-")
        self.query_one("#line-info", Label).update(info)
        self.query_one("#line-count", Label).update(count_text)
        self.query_one("#line-pending", Label).update(pending)
        self.query_one("#line-location", Label).update(where)

    # ------------------------------------------------------------------ choosing the order
    def open_po(self, po_id: str) -> bool:
        """Show ``po_id`` when it is open for receiving (else say so in red)."""
        po = self.papp.services.reader.purchase_order(po_id)
        if po is None or po["status"] != "open":
            self.say("receive.unknown_po", "error", code=po_id)
            return False
        self.po = po
        self.lines = self.papp.services.reader.po_lines(po_id)
        self.line_no, self.pending, self.location = None, 0, None
        self.say("receive.opened", "info", po=po_id, supplier=po["supplier"])
        self._redraw()
        return True

    def _reload_lines(self) -> None:
        if self.po is not None:
            self.lines = self.papp.services.reader.po_lines(self.po["po_id"])

    # ------------------------------------------------------------------ scanning
    def handle_scan(self, code: str, source: str) -> None:
        if self.busy:
            self.say("receive.writing", "info")
            return
        if self.po is None:
            self.open_po(code)
            return
        reader = self.papp.services.reader
        found = reader.lookup_barcode(code)
        if found is None and any(ln["sku"] == code for ln in self.lines):
            found = (code, 1)  # a goods label printed here carries the SKU code
        if found is not None:
            self._scanned_item(*found)
        elif code in reader.locations():
            self._scanned_location(code)
        elif (other := reader.purchase_order(code)) is not None and other["status"] == "open":
            if self.pending:
                self._confirm_first()
            else:
                self.open_po(code)
        else:
            self.say("receive.unknown_code", "error", code=code)

    def _confirm_first(self) -> None:
        self.say("receive.confirm_first", "error", line=self.line_no, n=self.pending)

    def _scanned_item(self, sku: str, units: int) -> None:
        assert self.po is not None
        on_po = [ln for ln in self.lines if ln["sku"] == sku]
        if not on_po:
            row = self.papp.services.reader.sku(sku) or {"sku": sku}
            self.say("receive.not_on_po", "error", sku=sku, name=self._sku_name(row),
                     po=self.po["po_id"])
            return
        line = next((ln for ln in on_po if ln["line_no"] == self.line_no), None) or next(
            (ln for ln in on_po if ln["qty_received"] < ln["qty_ordered"]), on_po[0])
        if self.pending and line["line_no"] != self.line_no:
            self._confirm_first()
            return
        if line["line_no"] != self.line_no:
            self.line_no = line["line_no"]
            self.location = line["default_location"]
        self.pending += units
        self.say("receive.scanned", "info", sku=sku, name=self._sku_name(line), units=units,
                 n=self.pending)
        self._redraw()

    def _scanned_location(self, code: str) -> None:
        line = self.line
        if line is None:
            self.say("receive.scan_first", "error")
            return
        self._set_location(code)

    def _set_location(self, code: str) -> None:
        line = self.line
        if line is None or self.po is None:
            return
        if code not in self.papp.services.reader.locations(self.po["warehouse_id"]):
            self.say("receive.wrong_warehouse", "error", location=code)
            return
        self.location = code
        self.say("receive.location_set", "info", sku=line["sku"], location=code)
        self._redraw()

    # ------------------------------------------------------------------ receiving
    def action_confirm(self) -> None:
        line = self.line
        if self.po is None or self.busy:
            return
        if line is None:
            self.say("receive.scan_first", "error")
            return
        if not self.location:
            self.say("receive.no_location", "error")
            return
        location = self.location
        title = self.t("receive.qty_title", sku=line["sku"], name=self._sku_name(line),
                       received=line["qty_received"], ordered=line["qty_ordered"],
                       location=location)

        def counted(digits: str | None) -> None:
            if not digits or int(digits) == 0:
                self.focus_scan()
                return
            qty = int(digits)
            over = line["qty_received"] + qty - line["qty_ordered"]
            if over <= 0:
                self._receive(line["line_no"], qty, location, None)
                return

            def reasoned(reason: str | None) -> None:
                if reason is None:
                    self.say("receive.over_refused", "error", over=over)
                    self.focus_scan()
                    return
                self._receive(line["line_no"], qty, location, reason)

            self.app.push_screen(ReasonDialog("over"), reasoned)

        self.app.push_screen(QuantityDialog(title, self.pending), counted)

    def _receive(self, line_no: int, qty: int, location: str, reason: str | None) -> None:
        assert self.po is not None
        self.busy = True
        self.say("receive.writing", "info")
        self._write(self.po["po_id"], line_no, qty, location, reason)
        self.focus_scan()

    @work(thread=True, exclusive=True, group="receive-write", exit_on_error=False)
    def _write(self, po_id: str, line_no: int, qty: int, location: str,
               reason: str | None) -> None:
        """Blocking: one ``receive_po`` (one RECEIVE move), answered with ``GoodsReceived``."""
        try:
            move = self.papp.services.store.writer.receive_po(
                po_id, line_no, qty, location=location, operator_id=self.papp.operator_id,
                allow_over=reason is not None, reason=reason)
        except EdgeError as err:
            self.post_message(GoodsReceived(po_id, line_no, qty, location, str(err)))
            return
        except Exception as err:  # "database is locked", a bug: shown, nothing written
            log.exception("receiving %s line %s failed", po_id, line_no)
            self.post_message(GoodsReceived(po_id, line_no, qty, location, failure_detail(err)))
            return
        self.post_message(GoodsReceived(po_id, line_no, qty, location, sku=move.sku,
                                        balance_after=move.balance_after))

    @on(GoodsReceived)
    def _received(self, msg: GoodsReceived) -> None:
        self.busy = False
        if msg.error is not None:
            self.say("receive.failed", "error", detail=msg.error)
            return
        self.papp.refresh_health()  # the backlog grew by this move: show it now
        if self.line_no == msg.line_no:
            self.pending = 0
        self._reload_lines()
        self.say("receive.done", "ok", sku=msg.sku, qty=msg.qty, location=msg.location,
                 balance=msg.balance_after)
        self._redraw()

    def worker_failed(self, worker: Any, err: BaseException) -> None:
        """Whatever a worker did not catch: said in red, and scanning goes on."""
        self.busy = False
        super().worker_failed(worker, err)

    # ------------------------------------------------------------------ line actions
    def action_location(self) -> None:
        line = self.line
        if self.po is None:
            return
        if line is None:
            self.say("receive.scan_first", "error")
            return
        default = line["default_location"]
        options = [(code, self.t("receive.default_mark", location=code) if code == default
                    else code)
                   for code in self.papp.services.reader.locations(self.po["warehouse_id"])]

        def chosen(code: str | None) -> None:
            if code:
                self._set_location(code)
            self.focus_scan()

        self.app.push_screen(ChoiceDialog(self.t("receive.location_title", sku=line["sku"]),
                                          options), chosen)

    def action_labels(self) -> None:
        line = self.line
        if self.po is None:
            return
        if line is None:
            self.say("receive.scan_first", "error")
            return

        def counted(digits: str | None) -> None:
            self.focus_scan()
            if not digits or int(digits) == 0:
                return
            self.say("receive.labels_printing", "info", n=int(digits))
            barcode = self.papp.services.reader.item_barcode(line["sku"])
            self._print_labels(line["sku"], self._sku_name(line), barcode, int(digits))

        self.app.push_screen(QuantityDialog(self.t("receive.labels_title", sku=line["sku"]),
                                            self.pending or 1), counted)

    @work(thread=True, exclusive=True, group="receive-print", exit_on_error=False)
    def _print_labels(self, sku: str, name: str, barcode: str | None, copies: int) -> None:
        """Blocking: the goods labels (``barcode``, else the SKU code) to the label printer,
        answered with a message."""
        svc = self.papp.services
        printer = svc.devices.label_printer
        try:
            if printer is None:
                raise EdgeError(self.t("devices.none", device=self.t("device.label_printer")))
            self.papp.set_device_state("label_printer", "busy")
            printer.write(goods_labels(sku, name, barcode, copies))
            self.papp.set_device_state("label_printer", "ok")
        except EdgeError as err:
            if printer is not None:
                self.papp.set_device_state("label_printer", "error", str(err))
            self.post_message(GoodsLabelsPrinted(sku, copies, self.papp.error_text(err)))
            return
        self.post_message(GoodsLabelsPrinted(sku, copies))

    @on(GoodsLabelsPrinted)
    def _labels_printed(self, msg: GoodsLabelsPrinted) -> None:
        if msg.error is not None:
            self.say("receive.labels_failed", "error", detail=msg.error)
        else:
            self.say("receive.labels_done", "ok", n=msg.copies, sku=msg.sku)

    def action_clear(self) -> None:
        if not self.pending:
            return
        self._drop_pending(lambda: None)

    def _drop_pending(self, then: Any) -> None:
        """Ask before dropping scanned, unconfirmed units; then run ``then``."""
        if not self.pending:
            then()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.pending = 0
                self.say("receive.cleared", "info")
                self._redraw()
                then()
            self.focus_scan()

        self.app.push_screen(ConfirmDialog(self.t("receive.confirm_drop", line=self.line_no,
                                                  n=self.pending)), answered)

    def action_change_po(self) -> None:
        if self.po is None or self.busy:
            return

        def back_to_list() -> None:
            self.po, self.lines, self.line_no, self.location = None, [], None, None
            self._show_list()

        self._drop_pending(back_to_list)

    def on_button_pressed(self, event: BigButton.Pressed) -> None:
        bid = event.button.id or ""
        if bid.startswith("po-") and bid.removeprefix("po-").isdigit():
            i = int(bid.removeprefix("po-"))
            if i < len(self._open_pos):
                self.open_po(str(self._open_pos[i]["po_id"]))
        elif bid == "back":
            if not self.busy:
                self._drop_pending(self.app.pop_screen)
        elif bid == "change-po":
            self.action_change_po()
        elif bid in LINE_BUTTONS:
            getattr(self, f"action_{bid}")()
        else:
            return
        event.stop()
