"""盘点 stocktake at the kiosk (rules: ``edge.domain.stocktake``; writes: ``edge.store.stocktake``).

A lead starts a stocktake — the whole warehouse, one zone (location prefix) or one SKU
(scanned after pressing 按商品). Then anyone signed in counts, blind: scan a location, scan
its items (an item barcode counts 1, a case barcode its units, as in 收货入库), confirm each
SKU's quantity on the keypad (a scanned figure can be corrected there), and finish the
location. The expected quantity is never shown. When the count differs too much from the
books the screen asks for a recount of that location; the recount replaces the first count
(both are kept). A lead approves: the variances become COUNT_ADJUST moves by the approving
lead, sourced to the stocktake, and a summary goes to the cloud's variance report.

The station's warehouse is the ``warehouse_id`` setting, else the first warehouse by id.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from edge.domain.stocktake import Scope, final_lines
from edge.errors import EdgeError
from edge.store import stocktake as store
from edge.store.stocktake import StocktakeWriter
from edge.ui.dialogs.choice import ChoiceDialog
from edge.ui.dialogs.confirm import ConfirmDialog
from edge.ui.dialogs.quantity import QuantityDialog
from edge.ui.messages import StocktakeWritten
from edge.ui.screens.base import KioskScreen, failure_detail
from edge.ui.widgets.buttons import BigButton
from edge.ui.widgets.order_lines import OrderLines
from edge.ui.widgets.scan_input import ScanInput
from edge.ui.widgets.status_bar import StatusBar

log = logging.getLogger(__name__)

STOCKTAKE_LEAD_ROLES = frozenset({"warehouse_lead", "manager", "admin"})
"""Roles that may start and approve a stocktake (anyone signed in may count)."""

START_BUTTONS = ("start-plan", "start-full", "start-zone", "start-sku")
"""Buttons shown while no stocktake is open."""
COUNT_BUTTONS = ("confirm", "finish", "approve")
"""Buttons shown while a stocktake is open."""


class StocktakeScreen(KioskScreen):
    """Start (lead), count location by location (blind), approve (lead)."""

    CSS_PATH = "stocktake.tcss"
    BANNER_FIXED_HEIGHT = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "confirm", "确认数量 / confirm qty", id="stocktake.confirm",
                tooltip="Confirm the last scanned SKU's quantity on the keypad"),
        Binding("f6", "finish", "完成库位 / finish location", id="stocktake.finish",
                tooltip="Record the current location's count"),
        Binding("f7", "approve", "审核调整 / approve", id="stocktake.approve",
                tooltip="Approve the stocktake: its variances become count adjustments"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.take: dict[str, Any] | None = None
        """The open stocktake's row, or None (the start buttons show)."""
        self.location: str | None = None
        """The location being counted."""
        self.counts: dict[str, int] = {}
        """SKU → units counted at ``location`` so far (scanned or typed)."""
        self.confirmed: set[str] = set()
        """SKUs whose quantity was confirmed on the keypad."""
        self.sku: str | None = None
        """The SKU scanned last: the one the keypad confirms."""
        self.pick_sku = False
        """按商品 was pressed: the next item scanned starts a one-SKU stocktake."""
        self.busy = False
        """A write is running: scans wait."""
        self.warehouse_id = ""
        """The warehouse this station counts."""

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Label("", id="stocktake-title", classes="screen-title")
        yield Static("", id="banner", classes="banner")
        with Horizontal(id="stocktake-main"):
            with Vertical(id="locations-pane"):
                yield OrderLines(id="locations")
            with Vertical(id="count-pane"):
                yield Label("", id="count-location")
                yield Label("", id="count-lines")
        yield ScanInput(debounce_s=self.papp.services.settings.scan_debounce_s, id="scan")
        with Horizontal(id="stocktake-actions"):
            yield BigButton("", id="start-plan", variant="primary")
            yield BigButton("", id="start-full", variant="primary")
            yield BigButton("", id="start-zone")
            yield BigButton("", id="start-sku")
            yield BigButton("", id="confirm", variant="primary")
            yield BigButton("", id="finish")
            yield BigButton("", id="approve", variant="success")
            yield BigButton("", id="back")

    def on_mount(self) -> None:
        reader = self.papp.services.reader
        self.warehouse_id = reader.home_warehouse()
        self.take = store.open_stocktake(reader.db)
        super().on_mount()
        if self.take is not None:
            self.say("stocktake.resumed", "info", id=self.take["stocktake_id"])

    def apply_language(self) -> None:
        t = self.t
        for bid in (*START_BUTTONS, *COUNT_BUTTONS, "back"):
            self.query_one(f"#{bid}", BigButton).label = t(f"stocktake.{bid.replace('-', '_')}")
        self._redraw()

    # ------------------------------------------------------------------ rendering
    @property
    def is_lead(self) -> bool:
        """Whether the signed-in operator may start and approve."""
        op = self.papp.operator
        return op is not None and op["role"] in STOCKTAKE_LEAD_ROLES

    def _sku_name(self, sku: str) -> str:
        row = self.papp.services.reader.sku(sku) or {}
        name = row.get("name_en") if self.papp.lang == "en" and row.get("name_en") else row.get("name_zh")
        return str(name or sku)

    def _scope_text(self, take: dict[str, Any]) -> str:
        scope = take["scope"]
        return self.t(f"stocktake.scope.{scope}", value=take["scope_value"])

    def _redraw(self) -> None:
        t = self.t
        take = self.take
        for bid in START_BUTTONS:
            self.query_one(f"#{bid}", BigButton).display = take is None
        plans = store.open_plans(self.papp.services.reader.db, self.warehouse_id)
        self.query_one("#start-plan", BigButton).display = take is None and bool(plans)
        for bid in COUNT_BUTTONS:
            self.query_one(f"#{bid}", BigButton).display = take is not None
        self.query_one("#approve", BigButton).display = take is not None and self.is_lead
        scan = self.query_one(ScanInput)
        if take is None:
            self.query_one("#stocktake-title", Label).update(t("stocktake.title"))
            scan.prompt = t("stocktake.pick_sku") if self.pick_sku else t("stocktake.start_hint")
            self.query_one("#locations", OrderLines).show([], [])
            self.query_one("#count-location", Label).update(
                t("stocktake.none_open") if self.is_lead else t("stocktake.none_open_ask_lead"))
            self.query_one("#count-lines", Label).update("\n".join(
                [t("stocktake.plans_title", n=len(plans))] + [self._plan_text(p) for p in plans]
                if plans else []))
            return
        self.query_one("#stocktake-title", Label).update(
            t("stocktake.title_open", id=take["stocktake_id"], scope=self._scope_text(take)))
        scan.prompt = t("stocktake.hint")
        db = self.papp.services.reader.db
        done = store.rounds(db, take["stocktake_id"])
        units: dict[str, int] = {}
        for ln in final_lines(store.count_lines(db, take["stocktake_id"])):
            units[ln.location] = units.get(ln.location, 0) + ln.counted
        rows = []
        for code in store.scope_locations(db, take) + sorted(
                set(done) - set(store.scope_locations(db, take))):
            rnd, recount = done.get(code, (0, False))
            state = ("stocktake.state.recount" if recount and rnd == 1 else
                     "stocktake.state.todo" if rnd == 0 else
                     "stocktake.state.recounted" if rnd == 2 else "stocktake.state.counted")
            here = " ◀" if code == self.location else ""
            rows.append((code + here, str(rnd or "-"), t(state),
                         str(units[code]) if code in units else "-", rnd > 0 and not recount))
        self.query_one("#locations", OrderLines).show(
            [t("stocktake.col.location"), t("stocktake.col.round"), t("stocktake.col.state"),
             t("stocktake.col.counted")], rows)
        self.query_one("#count-location", Label).update(
            t("stocktake.at", location=self.location) if self.location
            else t("stocktake.scan_location"))
        lines = [t("stocktake.line", sku=sku, name=self._sku_name(sku), n=n,
                   mark="✔" if sku in self.confirmed else "?")
                 for sku, n in self.counts.items()]
        self.query_one("#count-lines", Label).update("\n".join(lines))

    # ------------------------------------------------------------------ starting
    def _refuse_unless_lead(self) -> bool:
        if self.is_lead:
            return False
        op = self.papp.operator
        self.say("stocktake.refused_role", "error",
                 role=self.papp.i18n.role(op["role"]) if op else "-")
        return True

    def _plan_text(self, plan: dict[str, Any]) -> str:
        """``PDP-00001 按区 A — note`` for the plan list and its choice."""
        text = f"{plan['plan_id']} {self._scope_text(plan)}"
        return f"{text} — {plan['note']}" if plan.get("note") else text

    def action_start_plan(self) -> None:
        if self.take is not None or self.busy or self._refuse_unless_lead():
            return
        plans = store.open_plans(self.papp.services.reader.db, self.warehouse_id)

        def chosen(plan_id: str | None) -> None:
            if plan_id:
                self.busy = True
                self.say("stocktake.writing", "info")
                self._write_start(Scope.FULL, "", plan_id)
            self.focus_scan()

        self.app.push_screen(ChoiceDialog(self.t("stocktake.plan_title"),
                                          [(p["plan_id"], self._plan_text(p)) for p in plans]),
                             chosen)

    def action_start_full(self) -> None:
        if self.take is None and not self.busy and not self._refuse_unless_lead():
            self._start(Scope.FULL, "")

    def action_start_zone(self) -> None:
        if self.take is not None or self.busy or self._refuse_unless_lead():
            return
        zones = sorted({r[0] for r in self.papp.services.reader.db.execute(
            "SELECT zone FROM locations WHERE warehouse_id = ? AND zone <> ''",
            [self.warehouse_id]).fetchall()})

        def chosen(zone: str | None) -> None:
            if zone:
                self._start(Scope.ZONE, zone)
            self.focus_scan()

        self.app.push_screen(ChoiceDialog(self.t("stocktake.zone_title"),
                                          [(z, z) for z in zones]), chosen)

    def action_start_sku(self) -> None:
        if self.take is not None or self.busy or self._refuse_unless_lead():
            return
        self.pick_sku = True
        self.say("stocktake.pick_sku", "info")
        self._redraw()

    def _start(self, scope: Scope, value: str) -> None:
        self.busy, self.pick_sku = True, False
        self.say("stocktake.writing", "info")
        self._write_start(scope, value)

    @work(thread=True, exclusive=True, group="stocktake-write", exit_on_error=False)
    def _write_start(self, scope: Scope, value: str, plan_id: str | None = None) -> None:
        """Blocking: open the stocktake (its snapshot position; a cloud plan's scope when
        ``plan_id`` is given), answered with a message."""
        try:
            sid = StocktakeWriter(self.papp.services.store.writer).start(
                warehouse_id=self.warehouse_id, scope=scope, scope_value=value,
                operator_id=self.papp.operator_id, plan_id=plan_id)
        except EdgeError as err:  # refused: shown, nothing written
            self.post_message(StocktakeWritten("start", str(err)))
            return
        except Exception as err:  # "database is locked", a bug: shown, nothing written
            log.exception("starting a stocktake failed")
            self.post_message(StocktakeWritten("start", failure_detail(err)))
            return
        self.post_message(StocktakeWritten("start", stocktake_id=sid))

    # ------------------------------------------------------------------ counting
    def handle_scan(self, code: str, source: str) -> None:
        if self.busy:
            self.say("stocktake.writing", "info")
            return
        reader = self.papp.services.reader
        found = reader.lookup_barcode(code)
        if found is None and reader.sku(code) is not None:
            found = (code, 1)  # a goods label printed here carries the SKU code
        if self.take is None:
            if self.pick_sku and found is not None and self.is_lead:
                self._start(Scope.SKU, found[0])
            else:
                self.say("stocktake.start_first", "error")
            return
        if found is not None:
            self._scanned_item(*found)
        elif code in reader.locations(self.warehouse_id):
            self._scanned_location(code)
        else:
            self.say("stocktake.unknown_code", "error", code=code)

    def _scanned_location(self, code: str) -> None:
        assert self.take is not None
        if code == self.location:
            return
        if self.counts:
            self.say("stocktake.finish_first", "error", location=self.location)
            return
        take = self.take
        if take["scope"] == Scope.ZONE and not code.startswith(take["scope_value"]):
            self.say("stocktake.out_of_scope", "error", location=code)
            return
        rnd, recount = store.rounds(self.papp.services.reader.db,
                                    take["stocktake_id"]).get(code, (0, False))
        if rnd and not (recount and rnd == 1):
            self.say("stocktake.already_counted", "error", location=code)
            return
        self.location = code
        self.say("stocktake.recount_location" if recount else "stocktake.location_set",
                 "error" if recount else "info", location=code)
        self._redraw()

    def _scanned_item(self, sku: str, units: int) -> None:
        assert self.take is not None
        if self.location is None:
            self.say("stocktake.scan_location", "error")
            return
        if self.take["scope"] == Scope.SKU and sku != self.take["scope_value"]:
            self.say("stocktake.not_this_sku", "error", sku=sku, wanted=self.take["scope_value"])
            return
        self.counts[sku] = self.counts.get(sku, 0) + units
        self.confirmed.discard(sku)
        self.sku = sku
        self.say("stocktake.scanned", "info", sku=sku, name=self._sku_name(sku), units=units,
                 n=self.counts[sku])
        self._redraw()

    def action_confirm(self) -> None:
        if self.take is None or self.busy:
            return
        sku = self.sku
        if self.location is None or sku is None:
            self.say("stocktake.scan_item_first", "error")
            return
        location = self.location

        def counted(digits: str | None) -> None:
            self.focus_scan()
            if digits is None or digits == "" or self.location != location:
                return
            self.counts[sku] = int(digits)
            self.confirmed.add(sku)
            self.say("stocktake.confirmed", "ok", sku=sku, n=int(digits), location=location)
            self._redraw()

        self.app.push_screen(QuantityDialog(
            self.t("stocktake.qty_title", sku=sku, name=self._sku_name(sku), location=location),
            self.counts.get(sku, 0)), counted)

    def action_finish(self) -> None:
        if self.take is None or self.busy:
            return
        if self.location is None:
            self.say("stocktake.scan_location", "error")
            return
        open_ = [s for s in self.counts if s not in self.confirmed]
        if open_:
            self.say("stocktake.confirm_first", "error", skus=", ".join(open_))
            return
        self.busy = True
        self.say("stocktake.writing", "info")
        self._write_count(self.take["stocktake_id"], self.location, dict(self.counts))

    @work(thread=True, exclusive=True, group="stocktake-write", exit_on_error=False)
    def _write_count(self, stocktake_id: str, location: str, counts: dict[str, int]) -> None:
        """Blocking: record one location's count, answered with a message."""
        try:
            result = StocktakeWriter(self.papp.services.store.writer).record_count(
                stocktake_id, location, counts, operator_id=self.papp.operator_id)
        except EdgeError as err:
            self.post_message(StocktakeWritten("count", str(err), location=location))
            return
        except Exception as err:
            log.exception("counting %s failed", location)
            self.post_message(StocktakeWritten("count", failure_detail(err), location=location))
            return
        self.post_message(StocktakeWritten("count", stocktake_id=stocktake_id,
                                           location=location, round=result.round,
                                           recount=result.needs_recount))

    # ------------------------------------------------------------------ approving
    def action_approve(self) -> None:
        if self.take is None or self.busy or self._refuse_unless_lead():
            return
        if self.counts:
            self.say("stocktake.finish_first", "error", location=self.location)
            return
        sid = self.take["stocktake_id"]
        lines = final_lines(store.count_lines(self.papp.services.reader.db, sid))
        over = sum(ln.variance for ln in lines if ln.variance > 0)
        short = -sum(ln.variance for ln in lines if ln.variance < 0)
        varied = sum(1 for ln in lines if ln.variance)

        def answered(yes: bool | None) -> None:
            self.focus_scan()
            if yes:
                self.busy = True
                self.say("stocktake.writing", "info")
                self._write_approve(sid)

        self.app.push_screen(ConfirmDialog(self.t(
            "stocktake.approve_question", id=sid, lines=len(lines), varied=varied, over=over,
            short=short)), answered)

    @work(thread=True, exclusive=True, group="stocktake-write", exit_on_error=False)
    def _write_approve(self, stocktake_id: str) -> None:
        """Blocking: the adjustment moves and the summary message, answered with a message."""
        try:
            moves = StocktakeWriter(self.papp.services.store.writer).approve(
                stocktake_id, operator_id=self.papp.operator_id)
        except EdgeError as err:
            self.post_message(StocktakeWritten("approve", str(err)))
            return
        except Exception as err:
            log.exception("approving %s failed", stocktake_id)
            self.post_message(StocktakeWritten("approve", failure_detail(err)))
            return
        self.post_message(StocktakeWritten("approve", stocktake_id=stocktake_id,
                                           moves=len(moves)))

    # ------------------------------------------------------------------ answers
    @on(StocktakeWritten)
    def _written(self, msg: StocktakeWritten) -> None:
        self.busy = False
        reader = self.papp.services.reader
        if msg.error is not None:
            self.say("stocktake.failed", "error", detail=msg.error)
            self._redraw()
            return
        if msg.action == "start":
            self.take = store.stocktake(reader.db, msg.stocktake_id)
            self.say("stocktake.started", "ok", id=msg.stocktake_id)
        elif msg.action == "count":
            self.counts, self.confirmed, self.sku = {}, set(), None
            if msg.recount:
                self.say("stocktake.recount", "error", location=msg.location)
            else:
                self.location = None
                self.say("stocktake.counted", "ok", location=msg.location)
        else:
            self.papp.refresh_health()  # the backlog grew by the moves and the summary
            self.take, self.location = None, None
            self.say("stocktake.approved", "ok", id=msg.stocktake_id, n=msg.moves)
        self._redraw()

    def worker_failed(self, worker: Any, err: BaseException) -> None:
        """Whatever a worker did not catch: said in red, and counting goes on."""
        self.busy = False
        super().worker_failed(worker, err)

    def _leave(self) -> None:
        if self.busy:
            return
        if not self.counts:
            self.app.pop_screen()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.pop_screen()
            else:
                self.focus_scan()

        self.app.push_screen(ConfirmDialog(self.t("stocktake.confirm_leave",
                                                  location=self.location)), answered)

    def on_button_pressed(self, event: BigButton.Pressed) -> None:
        bid = event.button.id or ""
        if bid == "back":
            self._leave()
        elif bid in (*START_BUTTONS, *COUNT_BUTTONS):
            getattr(self, f"action_{bid.replace('-', '_')}")()
        else:
            return
        event.stop()
