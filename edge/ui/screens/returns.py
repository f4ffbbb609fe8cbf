"""退货入库: open a return parcel, find its order, inspect each item.

Scan what is on the parcel — its own tracking number (the after-sales request the cloud
sent carries it), the waybill it went out with, or the order number — and the order's items
appear with what shipped and what has come back. Then scan each item out of the parcel: it
is recorded in the current mode, 良品 (back to stock at its put-away location), 残次 (to the
damage location) or 非本单 (not from this order: kept aside, no stock move). An item the
order never contained is recorded as 非本单 whatever the mode, loudly; more units of an
order item than it shipped are refused. Scanning a location code sets where good items go.
Undo takes the last item back (its move reversed). Finish sends the result to the cloud
for the refund decision; an exchange (换货) is marked before finishing.

Every item is written as it is scanned (``edge.store.returns``), so a restarted kiosk
resumes the open return; leaving with nothing inspected drops it.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from edge.errors import EdgeError
from edge.store.returns import (
    Inspected,
    Match,
    Outcome,
    ReturnWriter,
    Via,
    damage_location,
    expected,
    find,
    lines,
    open_return,
    order_refund,
    returned_units,
    shipped_units,
)
from edge.ui.screens.base import KioskScreen
from edge.ui.widgets.buttons import BigButton
from edge.ui.widgets.order_lines import OrderLines
from edge.ui.widgets.scan_input import ScanInput
from edge.ui.widgets.status_bar import StatusBar

RETURN_ROLES = frozenset({"packer", "warehouse_lead", "manager", "admin"})
"""Roles that see 退货入库 on the home screen: whoever opens the returns at the bench."""

MODES = ("good", "damaged", "wrong")
"""Inspection modes, in button order."""


class ReturnScreen(KioskScreen):
    """One return parcel at a time: find the order, inspect each item, finish."""

    CSS_PATH = "returns.tcss"
    BANNER_FIXED_HEIGHT = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "mode('good')", "良品 / good", id="returns.good",
                tooltip="Items scanned next go back to stock"),
        Binding("f6", "mode('damaged')", "残次 / damaged", id="returns.damaged",
                tooltip="Items scanned next go to the damage location"),
        Binding("f7", "mode('wrong')", "非本单 / not ours", id="returns.wrong",
                tooltip="Items scanned next are recorded as not from this order"),
        Binding("f8", "undo", "撤销上一件 / undo", id="returns.undo",
                tooltip="Take the last inspected item back"),
        Binding("f9", "finish", "完成验收 / finish", id="returns.finish",
                tooltip="Finish this parcel and report it to the cloud"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.return_id: str | None = None
        """The open return, or None: the next scan finds an order."""
        self.match: Match | None = None
        """The order being returned."""
        self.mode = "good"
        """How the next scanned item is recorded (``MODES``)."""
        self.location: str | None = None
        """Put-away location scanned for good items (None: each SKU's default)."""
        self.exchange = False
        """The buyer wants an exchange."""

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Label("", id="returns-title", classes="screen-title")
        yield Static("", id="banner", classes="banner")
        with Horizontal(id="returns-main"):
            with Vertical(id="items-pane"):
                yield OrderLines(id="items")
            with Vertical(id="parcel-pane"):
                yield Label("", id="mode")
                yield Static("", id="refund-info")
                yield Label("", id="parcel-count")
                yield Static("", id="parcel-lines")
        yield ScanInput(debounce_s=self.papp.services.settings.scan_debounce_s, id="scan")
        with Horizontal(id="returns-actions"):
            yield BigButton("", id="mode-good")
            yield BigButton("", id="mode-damaged")
            yield BigButton("", id="mode-wrong")
            yield BigButton("", id="undo")
            yield BigButton("", id="exchange")
            yield BigButton("", id="finish", variant="success")
            yield BigButton("", id="back")

    def on_mount(self) -> None:
        super().on_mount()
        db = self.papp.services.reader.db
        held = open_return(db)
        if held is not None:  # a restarted kiosk resumes the parcel it was inspecting
            self.return_id = str(held["return_id"])
            self.exchange = bool(held["exchange"])
            self.match = find(db, str(held["order_id"]))
            self.say("returns.resumed", "info", rid=self.return_id)
        else:
            self.say("returns.hint_find", "info")
        self._redraw()

    def apply_language(self) -> None:
        t = self.t
        for bid, key in {"mode-good": "returns.mode.good", "mode-damaged": "returns.mode.damaged",
                         "mode-wrong": "returns.mode.wrong", "undo": "returns.undo",
                         "finish": "returns.finish", "back": "returns.back"}.items():
            self.query_one(f"#{bid}", BigButton).label = t(key)
        self._redraw()

    # ------------------------------------------------------------------ drawing
    def sku_title(self, sku: str) -> str:
        """The SKU's name in the current language ('' when unknown)."""
        row = self.papp.services.reader.sku(sku)
        if row is None:
            return ""
        return str(row["name_en"] if self.papp.lang == "en" and row.get("name_en")
                   else row["name_zh"])

    def sku_name(self, sku: str | None, code: str = "") -> str:
        """``SKU name`` for a banner (the scanned code when the SKU is unknown)."""
        if sku is None:
            return code
        return f"{sku} {self.sku_title(sku)}".strip()

    def _redraw(self) -> None:
        t, match, rid = self.t, self.match, self.return_id
        self.query_one("#returns-title", Label).update(
            t("returns.title_order", no=match.platform_order_no) if match and rid
            else t("returns.title"))
        self.query_one(ScanInput).prompt = (
            t("returns.hint_items", mode=t(f"returns.mode.{self.mode}")) if rid
            else t("returns.hint_find"))
        for bid in ("mode-good", "mode-damaged", "mode-wrong", "undo", "exchange", "finish"):
            self.query_one(f"#{bid}").display = rid is not None
        for mode in MODES:
            self.query_one(f"#mode-{mode}", BigButton).set_class(mode == self.mode, "chosen")
        self.query_one("#exchange", BigButton).label = t(
            "returns.exchange_on" if self.exchange else "returns.exchange_off")
        db = self.papp.services.reader.db
        rows: list[tuple[str, str, str, str, bool]] = []
        mode_text, refund_text, count_text, parcel_text = "", "", "", ""
        if match is not None and rid is not None:
            shipped = shipped_units(db, match.order_id)
            back = returned_units(db, match.order_id)
            got = lines(db, rid)
            here: dict[str, int] = {}
            for ln in got:
                if ln.sku is not None and ln.condition != "wrong":
                    here[ln.sku] = here.get(ln.sku, 0) + ln.qty
            rows = [(sku, self.sku_title(sku), str(n),
                     t("returns.back_here", back=back.get(sku, 0), here=here.get(sku, 0)),
                     back.get(sku, 0) >= n) for sku, n in sorted(shipped.items())]
            where = (self.location or t("returns.where_default") if self.mode == "good"
                     else damage_location(db) or "?" if self.mode == "damaged"
                     else t("returns.where_aside"))
            mode_text = t("returns.mode_now", mode=t(f"returns.mode.{self.mode}"), where=where)
            refund = match.refund or order_refund(db, match.order_id)
            refund_text = (t("returns.refund", id=refund.refund_id,
                             kind=t("returns.kind.exchange" if refund.exchange
                                    else "returns.kind.return"),
                             status=t(f"returns.status.{refund.status}"))
                           if refund else t("returns.no_refund"))
            totals = {m: sum(ln.qty for ln in got if ln.condition == m) for m in MODES}
            count_text = t("returns.count", rid=rid, **totals)
            parcel_text = "\n".join(
                f"{ln.line_no}. {t(f'returns.mode.{ln.condition}')} "
                f"{self.sku_name(ln.sku, ln.code)} ×{ln.qty}"
                + (f" → {ln.location}" if ln.location else "") for ln in got[-8:])
        if rid is None:  # nothing open: the returns on their way
            waiting = expected(db)
            self.query_one("#items", OrderLines).show(
                [t("returns.col.waybill"), t("returns.col.order"), t("returns.col.sku"),
                 t("returns.col.qty")],
                [(r.return_waybill or "-", self._order_no(r.order_id), r.sku or "-",
                  str(r.qty) if r.qty else "-", False) for r in waiting])
            count_text = t("returns.expected", n=len(waiting)) if waiting else t(
                "returns.none_expected")
        else:
            self.query_one("#items", OrderLines).show(
                [t("returns.col.sku"), t("returns.col.name"), t("returns.col.shipped"),
                 t("returns.col.back")], rows)
        self.query_one("#mode", Label).update(mode_text)
        self.query_one("#refund-info", Static).update(refund_text)
        self.query_one("#parcel-count", Label).update(count_text)
        self.query_one("#parcel-lines", Static).update(parcel_text)

    def _order_no(self, order_id: str) -> str:
        row = self.papp.services.reader.db.execute(
            "SELECT platform_order_no FROM orders WHERE order_id = ?", [order_id]).fetchone()
        return str(row[0]) if row else order_id

    # ------------------------------------------------------------------ scanning
    def handle_scan(self, code: str, source: str) -> None:
        code = code.strip()
        if not code:
            return
        if self.return_id is None:
            self._open(code)
        elif code in self.papp.services.reader.locations():
            self.location = code
            self.say("returns.location_set", "info", location=code)
        else:
            self._inspect(code)
        self._redraw()

    def _open(self, code: str) -> None:
        db = self.papp.services.reader.db
        match = find(db, code)
        if match is None:
            self.say("returns.not_found", "error", code=code)
            return
        try:
            rid = ReturnWriter(self.papp.services.store.writer).open(
                match, code, operator_id=self.papp.operator_id)
        except EdgeError as err:
            self.say("returns.refused", "error", detail=self.papp.error_text(err))
            return
        self.return_id, self.match, self.mode, self.location = rid, match, "good", None
        self.exchange = bool(match.refund and match.refund.exchange)
        self.say("returns.opened", "ok", no=match.platform_order_no,
                 via=self.t(f"returns.via.{match.via}"))

    def _inspect(self, code: str) -> None:
        assert self.return_id is not None
        try:
            done = ReturnWriter(self.papp.services.store.writer).inspect(
                self.return_id, code, self.mode, operator_id=self.papp.operator_id,
                location=self.location)
        except EdgeError as err:
            self.say("returns.refused", "error", detail=self.papp.error_text(err))
            return
        self._said_item(done)

    def _said_item(self, done: Inspected) -> None:
        name = self.sku_name(done.sku, done.code)
        line = done.line
        if done.outcome is Outcome.RESTOCKED and line is not None:
            self.say("returns.restocked", "ok", name=name, qty=done.qty, location=line.location)
        elif done.outcome is Outcome.DAMAGED and line is not None:
            self.say("returns.damaged", "ok", name=name, qty=done.qty, location=line.location)
        elif done.outcome is Outcome.WRONG and line is not None and not line.in_order:
            self.say("returns.not_in_order", "error", name=name)
        elif done.outcome is Outcome.WRONG:
            self.say("returns.wrong_chosen", "info", name=name, qty=done.qty)
        elif done.outcome is Outcome.UNKNOWN_ITEM:
            self.say("returns.unknown_item", "error", code=done.code)
        elif done.outcome is Outcome.TOO_MANY:
            self.say("returns.too_many", "error", name=name, qty=done.qty, left=done.left)
        elif done.outcome is Outcome.NEED_LOCATION:
            self.say("returns.need_location", "error", name=name)
        else:
            self.say("returns.no_damage_location", "error")

    # ------------------------------------------------------------------ actions
    def action_mode(self, mode: str) -> None:
        if self.return_id is None or mode not in MODES:
            return
        self.mode = mode
        self.say("returns.mode_set", "info", mode=self.t(f"returns.mode.{mode}"))
        self._redraw()

    def action_undo(self) -> None:
        if self.return_id is None:
            return
        try:
            undone = ReturnWriter(self.papp.services.store.writer).undo_last(
                self.return_id, operator_id=self.papp.operator_id)
        except EdgeError as err:
            self.say("returns.refused", "error", detail=self.papp.error_text(err))
            return
        if undone is None:
            self.say("returns.nothing_to_undo", "info")
        else:
            self.say("returns.undone", "info", name=self.sku_name(undone.sku, undone.code),
                     qty=undone.qty)
        self._redraw()

    def action_exchange(self) -> None:
        if self.return_id is None:
            return
        self.exchange = not self.exchange
        ReturnWriter(self.papp.services.store.writer).set_exchange(self.return_id, self.exchange)
        self.say("returns.exchange_set" if self.exchange else "returns.exchange_cleared", "info")
        self._redraw()

    def action_finish(self) -> None:
        rid = self.return_id
        if rid is None:
            return
        reader = self.papp.services.reader
        warehouse = reader.home_warehouse()
        got = lines(reader.db, rid)
        try:
            ReturnWriter(self.papp.services.store.writer).finish(
                rid, operator_id=self.papp.operator_id, warehouse_id=warehouse)
        except EdgeError as err:
            self.say("returns.refused", "error", detail=self.papp.error_text(err))
            return
        totals = {m: sum(ln.qty for ln in got if ln.condition == m) for m in MODES}
        self.return_id, self.match, self.mode, self.location = None, None, "good", None
        self.exchange = False
        self.papp.refresh_health()  # the backlog grew by the return message
        self.say("returns.finished", "ok", rid=rid, **totals)
        self._redraw()

    def leave(self) -> None:
        """Back home: an open return with nothing inspected is dropped; one with items
        stays open and resumes next time."""
        rid = self.return_id
        if rid is not None:
            writer = ReturnWriter(self.papp.services.store.writer)
            if lines(self.papp.services.reader.db, rid):
                self.papp.notify(self.t("returns.kept_open", rid=rid))
            else:
                writer.abandon(rid)
        self.app.pop_screen()

    def on_button_pressed(self, event: BigButton.Pressed) -> None:
        bid = event.button.id or ""
        if bid.startswith("mode-"):
            self.action_mode(bid.removeprefix("mode-"))
        elif bid == "undo":
            self.action_undo()
        elif bid == "exchange":
            self.action_exchange()
        elif bid == "finish":
            self.action_finish()
        elif bid == "back":
            self.leave()
        else:
            return
        event.stop()
        self.focus_scan()


VIA_KEYS = {via: f"returns.via.{via}" for via in Via}
"""i18n keys of how the order was found (checked by the table test)."""
