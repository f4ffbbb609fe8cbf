"""调拨出库 / 调拨入库: ship a transfer at the source warehouse, receive it at the destination.

Pick an open transfer (or scan its number); scan items (an item barcode counts 1, a case
barcode its units, a goods label the SKU code) and the location (the first scanned SKU's
default location to start with, when it is in the right warehouse); F7 corrects the current
line's count on the keypad. Nothing is written until F5: then one worker call writes the
whole count in one transaction with its outbox rows — ``Writer.ship_transfer_counts``
(TRANSFER_OUT moves: the units leave the location and are in transit) or
``Writer.receive_transfer_counts`` (TRANSFER_IN moves; a count that differs from what is in
transit is a discrepancy, and the lead must give a reason). Leads and up only.
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
from edge.ui.messages import TransferWritten
from edge.ui.screens.base import KioskScreen, failure_detail
from edge.ui.widgets.buttons import BigButton
from edge.ui.widgets.order_lines import OrderLines
from edge.ui.widgets.scan_input import ScanInput
from edge.ui.widgets.status_bar import StatusBar

log = logging.getLogger(__name__)

TRANSFER_ROLES = frozenset({"warehouse_lead", "manager", "admin"})
"""Roles that see 调拨出库 / 调拨入库 on the home screen and may use them."""

SIDES = ("out", "in")
"""``out``: ship at the source warehouse; ``in``: receive at the destination."""

LINE_BUTTONS = ("confirm", "location", "qty", "clear", "other")
"""Buttons shown once a transfer is open."""


class TransferScreen(KioskScreen):
    """One transfer at a time: scan, then confirm the whole count at once."""

    CSS_PATH = "transfer.tcss"
    BANNER_FIXED_HEIGHT = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "confirm", "确认 / confirm", id="transfer.confirm",
                tooltip="Write the scanned count"),
        Binding("f6", "location", "库位 / location", id="transfer.location",
                tooltip="Choose the location"),
        Binding("f7", "qty", "改数量 / quantity", id="transfer.qty",
                tooltip="Correct the current line's count on the keypad"),
        Binding("f8", "clear", "清除 / clear", id="transfer.clear",
                tooltip="Drop the scanned counts"),
        Binding("f9", "other", "换单 / other", id="transfer.other",
                tooltip="Back to the list of open transfers"),
    ]

    def __init__(self, side: str) -> None:
        super().__init__()
        assert side in SIDES
        self.side = side
        """``out`` (调拨出库) or ``in`` (调拨入库)."""
        self.transfer: dict[str, Any] | None = None
        """The open transfer's row, or None: the list shows."""
        self.lines: list[dict[str, Any]] = []
        """Its lines (``Queries.transfer_lines``), re-read after each write."""
        self.counts: dict[int, int] = {}
        """Units scanned per line, not yet written."""
        self.line_no: int | None = None
        """The line the last scanned item belongs to."""
        self.location: str | None = None
        """Where the units are taken from (out) or put away (in)."""
        self.busy = False
        """A write is under way: scans wait."""
        self._open: list[dict[str, Any]] = []
        """The open transfers behind the list's buttons, in order."""

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Label("", id="transfer-title", classes="screen-title")
        yield Static("", id="banner", classes="banner")
        with VerticalScroll(id="tr-list"):
            yield Label("", id="tr-list-title")
            yield Vertical(id="tr-buttons")
        with Horizontal(id="transfer-main"):
            with Vertical(id="tr-pane"):
                yield OrderLines(id="lines")
            with Vertical(id="tr-side"):
                yield Label("", id="tr-totals")
                yield Label("", id="tr-location")
        yield ScanInput(debounce_s=self.papp.services.settings.scan_debounce_s, id="scan")
        with Horizontal(id="transfer-actions"):
            yield BigButton("", id="confirm", variant="primary")
            yield BigButton("", id="location")
            yield BigButton("", id="qty")
            yield BigButton("", id="clear", variant="warning")
            yield BigButton("", id="other")
            yield BigButton("", id="back")

    def on_mount(self) -> None:
        super().on_mount()
        self._show_list()

    def apply_language(self) -> None:
        t = self.t
        for bid in (*LINE_BUTTONS, "back"):
            key = "home" if bid == "back" else bid
            self.query_one(f"#{bid}", BigButton).label = t(f"transfer.btn.{key}")
        self._redraw()

    # ------------------------------------------------------------------ helpers
    @property
    def warehouse(self) -> str:
        """The warehouse this side works in (source for out, destination for in)."""
        assert self.transfer is not None
        return str(self.transfer["from_warehouse" if self.side == "out" else "to_warehouse"])

    def _open_qty(self, line: dict[str, Any]) -> int:
        """Units the line still expects on this side: to ship, or in transit."""
        return max(0, int(line["to_ship" if self.side == "out" else "in_transit"]))

    def _sku_name(self, row: dict[str, Any]) -> str:
        name = row["name_en"] if self.papp.lang == "en" and row.get("name_en") else row.get("name_zh")
        return str(name or row["sku"])

    def _show_list(self) -> None:
        side = "from_warehouse" if self.side == "out" else "to_warehouse"
        key = "to_ship" if self.side == "out" else "in_transit"
        self._open = [r for r in self.papp.services.reader.open_transfers(side) if r[key] > 0]
        box = self.query_one("#tr-buttons", Vertical)
        have = len(box.children)
        if len(self._open) > have:
            box.mount_all([BigButton("", id=f"tr-{i}") for i in range(have, len(self._open))])
        self.call_after_refresh(self._redraw)

    def _redraw(self) -> None:
        t = self.t
        tr = self.transfer
        self.query_one("#tr-list").display = tr is None
        self.query_one("#transfer-main").display = tr is not None
        for bid in LINE_BUTTONS:
            self.query_one(f"#{bid}", BigButton).display = tr is not None
        if tr is None:
            self.query_one("#transfer-title", Label).update(t(f"transfer.title.{self.side}"))
            self.query_one("#tr-list-title", Label).update(
                t("transfer.pick") if self._open else t(f"transfer.none.{self.side}"))
            key = "to_ship" if self.side == "out" else "in_transit"
            for i, button in enumerate(self.query_one("#tr-buttons").query(BigButton)):
                button.display = i < len(self._open)
                if i < len(self._open):
                    row = self._open[i]
                    button.label = t(f"transfer.button.{self.side}", id=row["transfer_id"],
                                     src=row["from_warehouse"], dst=row["to_warehouse"],
                                     n=row[key])
            self.query_one(ScanInput).prompt = t("transfer.pick")
            return
        self.query_one("#transfer-title", Label).update(t(
            f"transfer.title_one.{self.side}", id=tr["transfer_id"], src=tr["from_warehouse"],
            dst=tr["to_warehouse"]))
        self.query_one(ScanInput).prompt = t("transfer.hint")
        rows = []
        for ln in self.lines:
            n, want = self.counts.get(ln["line_no"], 0), self._open_qty(ln)
            rows.append((ln["sku"], self._sku_name(ln), str(want), str(n), n == want))
        self.query_one("#lines", OrderLines).show(
            [t("transfer.col.sku"), t("transfer.col.name"), t(f"transfer.col.qty.{self.side}"),
             t("transfer.col.count")], rows)
        self.query_one("#tr-totals", Label).update(t(
            "transfer.totals", n=sum(self.counts.values()),
            of=sum(self._open_qty(ln) for ln in self.lines)))
        self.query_one("#tr-location", Label).update(
            t("transfer.location", location=self.location or "-"))

    # ------------------------------------------------------------------ choosing
    def open_transfer(self, transfer_id: str) -> bool:
        """Show ``transfer_id`` when it is open on this side (else say so in red)."""
        if transfer_id not in {r["transfer_id"] for r in self._open}:
            self.say("transfer.unknown", "error", code=transfer_id)
            return False
        self.transfer = self.papp.services.reader.transfer(transfer_id)
        self.lines = self.papp.services.reader.transfer_lines(transfer_id)
        self.counts, self.line_no, self.location = {}, None, None
        self.say("transfer.opened", "info", id=transfer_id)
        self._redraw()
        return True

    # ------------------------------------------------------------------ scanning
    def handle_scan(self, code: str, source: str) -> None:
        if self.busy:
            self.say("transfer.writing", "info")
            return
        if self.transfer is None:
            self.open_transfer(code)
            return
        reader = self.papp.services.reader
        found = reader.lookup_barcode(code)
        if found is None and any(ln["sku"] == code for ln in self.lines):
            found = (code, 1)  # a goods label carries the SKU code
        if found is not None:
            self._scanned_item(*found)
        elif code in reader.locations():
            self._set_location(code)
        else:
            self.say("transfer.unknown_code", "error", code=code)

    def _scanned_item(self, sku: str, units: int) -> None:
        assert self.transfer is not None
        line = next((ln for ln in self.lines if ln["sku"] == sku), None)
        if line is None:
            self.say("transfer.not_on", "error", sku=sku, id=self.transfer["transfer_id"])
            return
        self.line_no = line["line_no"]
        n = self.counts[self.line_no] = self.counts.get(self.line_no, 0) + units
        if self.location is None and line["default_location"] in \
                self.papp.services.reader.locations(self.warehouse):
            self.location = line["default_location"]
        if n > self._open_qty(line):
            self.say("transfer.over", "error", sku=sku, n=n, of=self._open_qty(line))
        else:
            self.say("transfer.scanned", "info", sku=sku, name=self._sku_name(line), units=units,
                     n=n)
        self._redraw()

    def _set_location(self, code: str) -> None:
        if code not in self.papp.services.reader.locations(self.warehouse):
            self.say("transfer.wrong_warehouse", "error", location=code, warehouse=self.warehouse)
            return
        self.location = code
        self.say("transfer.location_set", "info", location=code)
        self._redraw()

    # ------------------------------------------------------------------ actions
    def action_location(self) -> None:
        if self.transfer is None:
            return

        def chosen(code: str | None) -> None:
            if code:
                self._set_location(code)
            self.focus_scan()

        options = [(c, c) for c in self.papp.services.reader.locations(self.warehouse)]
        self.app.push_screen(ChoiceDialog(self.t("transfer.location_title"), options), chosen)

    def action_qty(self) -> None:
        line = next((ln for ln in self.lines if ln["line_no"] == self.line_no), None)
        if self.transfer is None:
            return
        if line is None:
            self.say("transfer.scan_first", "error")
            return

        def counted(digits: str | None) -> None:
            if digits is not None:
                self.counts[line["line_no"]] = int(digits or 0)
                self._redraw()
            self.focus_scan()

        self.app.push_screen(QuantityDialog(
            self.t("transfer.qty_title", sku=line["sku"], name=self._sku_name(line)),
            self.counts.get(line["line_no"], 0)), counted)

    def action_clear(self) -> None:
        if self.transfer is not None and any(self.counts.values()):
            self._drop_counts(lambda: None)

    def _drop_counts(self, then: Any) -> None:
        n = sum(self.counts.values())
        if not n:
            then()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.counts, self.line_no = {}, None
                self.say("transfer.cleared", "info")
                self._redraw()
                then()
            self.focus_scan()

        self.app.push_screen(ConfirmDialog(self.t("transfer.confirm_drop", n=n)), answered)

    def action_other(self) -> None:
        if self.transfer is None or self.busy:
            return

        def back_to_list() -> None:
            self.transfer, self.lines, self.line_no, self.location = None, [], None, None
            self._show_list()

        self._drop_counts(back_to_list)

    def action_confirm(self) -> None:
        if self.transfer is None or self.busy:
            return
        total = sum(self.counts.values())
        if self.side == "out" and not total:
            self.say("transfer.nothing", "error")
            return
        if not self.location:
            self.say("transfer.no_location", "error")
            return
        location, counts = self.location, dict(self.counts)
        expected = sum(self._open_qty(ln) for ln in self.lines)
        differs = self.side == "in" and any(
            counts.get(ln["line_no"], 0) != self._open_qty(ln) for ln in self.lines)

        def answered(yes: bool | None) -> None:
            if not yes:
                self.focus_scan()
                return
            if not differs:
                self._start(counts, location, None)
                return

            def reasoned(reason: str | None) -> None:
                if reason is None:
                    self.say("transfer.diff_refused", "error")
                    self.focus_scan()
                    return
                self._start(counts, location, reason)

            self.app.push_screen(ReasonDialog("transfer"), reasoned)

        self.app.push_screen(ConfirmDialog(self.t(f"transfer.confirm_q.{self.side}", n=total,
                                                  location=location, of=expected)), answered)

    def _start(self, counts: dict[int, int], location: str, reason: str | None) -> None:
        assert self.transfer is not None
        self.busy = True
        self.say("transfer.writing", "info")
        self._write(str(self.transfer["transfer_id"]), counts, location, reason)
        self.focus_scan()

    @work(thread=True, exclusive=True, group="transfer-write", exit_on_error=False)
    def _write(self, transfer_id: str, counts: dict[int, int], location: str,
               reason: str | None) -> None:
        """Blocking: the whole count in one transaction, answered with ``TransferWritten``."""
        writer = self.papp.services.store.writer
        operator = self.papp.operator_id
        try:
            if self.side == "out":
                moves = writer.ship_transfer_counts(transfer_id, counts, location=location,
                                                    operator_id=operator)
                diffs = 0
            else:
                moves, found = writer.receive_transfer_counts(
                    transfer_id, counts, location=location, operator_id=operator,
                    reason=reason)
                diffs = len(found)
        except EdgeError as err:
            self.post_message(TransferWritten(self.side, transfer_id, str(err)))
            return
        except Exception as err:  # "database is locked", a bug: shown, nothing written
            log.exception("transfer %s %s failed", self.side, transfer_id)
            self.post_message(TransferWritten(self.side, transfer_id, failure_detail(err)))
            return
        units = sum(abs(m.qty_delta) for m in moves if m.source_type == "transfer"
                    and m.reason.name.startswith("TRANSFER"))
        self.post_message(TransferWritten(self.side, transfer_id, units=units, diffs=diffs))

    @on(TransferWritten)
    def _written(self, msg: TransferWritten) -> None:
        self.busy = False
        if msg.error is not None:
            self.say("transfer.failed", "error", detail=msg.error)
            return
        self.papp.refresh_health()
        self.counts, self.line_no = {}, None
        self.lines = self.papp.services.reader.transfer_lines(msg.transfer_id)
        self.say(f"transfer.done.{self.side}", "ok", id=msg.transfer_id, n=msg.units,
                 d=msg.diffs)
        self._redraw()

    def worker_failed(self, worker: Any, err: BaseException) -> None:
        """Whatever a worker did not catch: said in red, and scanning goes on."""
        self.busy = False
        super().worker_failed(worker, err)

    def on_button_pressed(self, event: BigButton.Pressed) -> None:
        bid = event.button.id or ""
        if bid.startswith("tr-") and bid.removeprefix("tr-").isdigit():
            i = int(bid.removeprefix("tr-"))
            if i < len(self._open):
                self.open_transfer(str(self._open[i]["transfer_id"]))
        elif bid == "back":
            if not self.busy:
                self._drop_counts(self.app.pop_screen)
        elif bid in LINE_BUTTONS:
            getattr(self, f"action_{bid}")()
        else:
            return
        event.stop()
