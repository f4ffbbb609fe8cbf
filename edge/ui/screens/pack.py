"""Pack and ship: 验货 → 称重 → 打印 → 发货.

Scans go to ``edge.domain.packing.Packer``; weighing watches the app's live scale reading;
printing, logging and shipping run in a thread worker that answers with messages. Errors
are a red full-width banner and the bell; success is calm green.
"""

from __future__ import annotations

import enum
import logging
import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static
from textual.worker import Worker

from edge.domain.packing import Outcome, Packer, PackOrder, ScanResult, expected_weight
from edge.errors import EdgeError
from edge.hardware.ports import Weight
from edge.store.packing import ShipRefused, StockShort, WeightOverride
from edge.ui import printouts
from edge.ui.dialogs.confirm import ConfirmDialog
from edge.ui.dialogs.count import CountDialog
from edge.ui.dialogs.lead_override import LEAD_ROLES, LeadOverrideDialog
from edge.ui.dialogs.reason import ReasonDialog
from edge.ui.messages import OrderShipped, PrintFinished, ShipFailed, WeighRecorded
from edge.ui.printouts import unseal_receiver
from edge.ui.screens.base import KioskScreen, failure_detail
from edge.ui.widgets.buttons import BigButton
from edge.ui.widgets.order_lines import OrderLines
from edge.ui.widgets.scan_input import ScanInput
from edge.ui.widgets.status_bar import StatusBar

log = logging.getLogger(__name__)


class Step(enum.StrEnum):
    """Where the current order is."""

    IDLE = "idle"
    VERIFY = "verify"
    WEIGH = "weigh"
    WEIGH_FAILED = "weigh_failed"
    PRINTING = "printing"
    PRINT_FAILED = "print_failed"
    SHIP_FAILED = "ship_failed"
    SHIPPED = "shipped"


STEP_INDEX = {Step.IDLE: -1, Step.VERIFY: 0, Step.WEIGH: 1, Step.WEIGH_FAILED: 1,
              Step.PRINTING: 2, Step.PRINT_FAILED: 2, Step.SHIP_FAILED: 3, Step.SHIPPED: 4}
"""Which of the four step labels is current (4 = all done)."""

BUTTONS: dict[str, frozenset[Step]] = {
    "put-parcel": frozenset({Step.WEIGH, Step.WEIGH_FAILED}),
    "reweigh": frozenset({Step.WEIGH_FAILED}),
    "override": frozenset({Step.WEIGH_FAILED}),
    "retry-print": frozenset({Step.PRINT_FAILED}),
    "count-fix": frozenset({Step.PRINT_FAILED}),
    "retry-ship": frozenset({Step.SHIP_FAILED}),
    "reprint": frozenset({Step.SHIP_FAILED, Step.SHIPPED}),
    "drop": frozenset({Step.VERIFY, Step.WEIGH, Step.WEIGH_FAILED, Step.PRINT_FAILED,
                       Step.SHIP_FAILED}),
    "back": frozenset({Step.IDLE, Step.SHIPPED}),
}
"""Which buttons show in which step."""


class PackScreen(KioskScreen):
    """Scan-verify, weigh, print, ship one order at a time."""

    CSS_PATH = "pack.tcss"
    BANNER_FIXED_HEIGHT = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "put_parcel", "放上包裹 / put parcel", id="pack.put_parcel",
                tooltip="Simulated scale: put the parcel on it"),
        Binding("f6", "reweigh", "重新称重 / weigh again", id="pack.reweigh",
                tooltip="Take a new scale reading"),
        Binding("f7", "reprint", "补打 / reprint", id="pack.reprint",
                tooltip="Reprint the label (needs a reason)"),
        Binding("f8", "count_fix", "组长盘点调整 / lead's count", id="pack.count_fix",
                tooltip="Stock short before printing: a lead counts what is there"),
        Binding("f9", "drop", "取消本单 / drop order", id="pack.drop",
                tooltip="Drop the order being packed"),
    ]

    def __init__(self, first_scan: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.packer: Packer | None = None
        """Scan routing and counts (made on mount, from the app's services)."""
        self.step = Step.IDLE
        """Where the current order is."""
        self.expected_g = 0
        """Expected weight of the current order."""
        self.weighed_g: int | None = None
        """The accepted weight of the current order."""
        self.last_reading: Weight | None = None
        """The latest scale reading (stable or not)."""
        self.shipped_order: PackOrder | None = None
        """The order that just shipped (for a reprint)."""
        self._first_scan = first_scan
        """A scan made on the home screen that opened this one."""
        self._started_at = 0.0
        """When the current order was opened (monotonic seconds)."""
        self._weighings = 0
        """Weighings of the current order (re-weighs show up as more than one)."""
        self._table_for: str | None = None
        """The order whose lines the table shows (counts are then updated cell by cell)."""
        self._weight_override: WeightOverride | None = None
        """A lead's approval of the current order's weight, written when it ships."""
        self._label_out: str | None = None
        self._short: StockShort | None = None
        """Why the last label did not print: stock short (a lead's count can resolve it)."""
        """The order whose label reached the printer but could not be logged: a retry logs
        it without printing a second label."""

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield StatusBar()
        with Horizontal(id="steps"):
            for i, key in enumerate(("verify", "weigh", "print", "ship")):
                yield Label("", id=f"step-{key}", classes="step")
                if i < 3:
                    yield Label("→", classes="step-arrow")
        yield Static("", id="banner", classes="banner")
        with Horizontal(id="pack-main"):
            with Vertical(id="order-pane"):
                yield Label("", id="order-info")
                yield Label("", id="order-note")
                yield OrderLines(id="lines")
            with Vertical(id="weight-pane"):
                yield Label("", id="expected-weight")
                yield Label("", id="live-weight")
                yield Label("", id="weigh-hint")
        yield ScanInput(debounce_s=self.papp.services.settings.scan_debounce_s, id="scan")
        with Horizontal(id="pack-actions"):
            yield BigButton("", id="put-parcel", variant="primary")
            yield BigButton("", id="reweigh")
            yield BigButton("", id="override", variant="warning")
            yield BigButton("", id="retry-print", variant="primary")
            yield BigButton("", id="count-fix", variant="warning")
            yield BigButton("", id="retry-ship", variant="primary")
            yield BigButton("", id="reprint")
            yield BigButton("", id="drop", variant="error")
            yield BigButton("", id="back")

    def on_mount(self) -> None:
        self.packer = Packer(self.papp.services.orders)
        super().on_mount()
        self.watch(self.papp, "weight", self._weight_changed, init=True)
        self._render_all()
        if self._first_scan is not None:
            code, source = self._first_scan
            self._first_scan = None
            self.handle_scan(code, source)

    def apply_language(self) -> None:
        t = self.t
        for key in ("verify", "weigh", "print", "ship"):
            self.query_one(f"#step-{key}", Label).update(t(f"pack.step.{key}"))
        self.query_one(ScanInput).prompt = t("pack.idle")
        labels = {"put-parcel": "pack.put_parcel", "reweigh": "pack.reweigh",
                  "override": "pack.override", "retry-print": "pack.retry_print",
                  "count-fix": "pack.count_fix",
                  "retry-ship": "pack.retry_ship", "reprint": "pack.reprint",
                  "drop": "pack.cancel", "back": "pack.home"}
        for bid, key in labels.items():
            self.query_one(f"#{bid}", BigButton).label = t(key)
        self._table_for = None
        self._render_all()

    # ------------------------------------------------------------------ rendering
    @property
    def order(self) -> PackOrder | None:
        if self.packer is not None and self.packer.session is not None:
            return self.packer.session.order
        return None

    def _render_all(self) -> None:
        if self.packer is None:
            return
        self._render_order()
        self._render_weight()
        self._render_steps()

    def _render_steps(self) -> None:
        current = STEP_INDEX[self.step]
        failed = self.step in (Step.WEIGH_FAILED, Step.PRINT_FAILED, Step.SHIP_FAILED)
        for i, key in enumerate(("verify", "weigh", "print", "ship")):
            cls = "step-done" if i < current else ("step-now" if i == current else "step-todo")
            if i == current and failed:
                cls = "step-failed"
            self.query_one(f"#step-{key}", Label).set_classes(f"step {cls}")
        simulated = self.papp.services.devices.simulated
        for bid, steps in BUTTONS.items():
            show = self.step in steps and (bid != "put-parcel" or simulated) and (
                bid != "count-fix" or self._short is not None)
            if bid == "reprint" and self.step is Step.IDLE:
                show = False
            self.query_one(f"#{bid}", BigButton).display = show

    def _count_text(self, sku: str) -> str:
        assert self.packer is not None and self.packer.session is not None
        done, qty = self.packer.session.counts[sku], self.packer.session.expected[sku]
        return f"{'✔ ' if done == qty else ''}{done}/{qty}"

    def _render_counts(self, sku: str | None) -> None:
        """After a scan: redraw one count cell when the table already shows this order."""
        order = self.order
        if order is None or self._table_for != order.order_id:
            self._render_order()
            return
        session = self.packer.session if self.packer is not None else None
        if sku is not None and session is not None and sku in session.expected:
            self.query_one("#lines", OrderLines).set_count(
                sku, self._count_text(sku), done=session.counts[sku] == session.expected[sku])
        elif sku is not None and session is not None:  # a kit: its components counted
            self._render_order()

    def _render_order(self) -> None:
        order = self.order
        info = self.query_one("#order-info", Label)
        note = self.query_one("#order-note", Label)
        table = self.query_one("#lines", OrderLines)
        self._table_for = None
        if order is None or self.packer is None or self.packer.session is None:
            info.update("")
            note.update("")
            table.show([], [])
            return
        self._table_for = order.order_id
        info.update(self.t("pack.order", no=order.platform_order_no,
                           waybill=order.waybill_no or "-", carrier=order.carrier or ""))
        notes = [self.t("pack.note", note=order.buyer_note)] if order.buyer_note else []
        late = self._late(order)
        if late is not None:
            notes.insert(0, self.t("pack.late", due=late))
        note.update("  ".join(notes))
        session = self.packer.session
        t = self.t
        rows = []
        for sku, qty in session.expected.items():
            line = next(ln for ln in order.lines if ln.sku == sku)
            rows.append((sku, line.label(self.papp.lang), line.location or "-",
                         self._count_text(sku), session.counts[sku] == qty))
        table.show([t("pack.col.sku"), t("pack.col.name"), t("pack.col.location"),
                    t("pack.col.count")], rows)

    def _late(self, order: PackOrder) -> str | None:
        """The ship-by deadline (local time) when it has passed on the station's clock."""
        if not order.ship_by:
            return None
        svc = self.papp.services
        try:
            due = datetime.fromisoformat(order.ship_by)
        except ValueError:
            return None
        if due.tzinfo is None:
            due = due.replace(tzinfo=UTC)
        if svc.wall_clock() <= due:
            return None
        return due.astimezone(svc.zone).strftime("%m-%d %H:%M")

    def _render_weight(self) -> None:
        t = self.t
        order = self.order
        tol = self.papp.services.settings.pack_settings().tolerance
        self.query_one("#expected-weight", Label).update(
            t("pack.expected_weight", grams=self.expected_g, tol=tol.allowed(self.expected_g))
            if order is not None else "")
        w = self.last_reading
        self.query_one("#live-weight", Label).update(
            t("pack.weight", grams=w.grams,
              state=t("pack.weight.stable" if w.stable else "pack.weight.unstable"))
            if w is not None else t("pack.weight.none"))
        hint = ""
        if self.step is Step.WEIGH:
            hint = t("pack.weigh_now") if self.papp.scale_cleared else t("pack.remove_parcel")
        self.query_one("#weigh-hint", Label).update(hint)

    def _go(self, step: Step) -> None:
        self.step = step
        self._render_steps()
        self._render_weight()
        self.focus_scan()

    # ------------------------------------------------------------------ scanning
    def handle_scan(self, code: str, source: str) -> None:
        if self.packer is None:
            return
        if self.step is Step.PRINTING:
            self.say("pack.printing", "info")
            return
        if self.step is Step.SHIPPED:
            self.packer.reset()
            self.step = Step.IDLE
        result = self.packer.scan(code)
        self._show_result(result)

    def _show_result(self, r: ScanResult) -> None:
        order = r.order
        name = self._sku_name(r.sku) if r.sku else ""
        words: dict[str, object] = {"no": order.platform_order_no if order else "", "name": name,
                                    "units": r.units, "code": r.code, "detail": r.detail}
        key = f"scan.{r.outcome.value}"
        if not r.ok:
            self.say(key, "error", **words)
            if r.outcome in (Outcome.WRONG_ITEM, Outcome.EXTRA_ITEM):
                return  # counts unchanged
            self._render_order()
            return
        opened = r.outcome is Outcome.ORDER_OPENED or self.step is Step.IDLE
        if opened and order is not None:
            self._start_order(order)  # by its waybill, or a single-item order by its item
        late = self._late(order) if opened and order is not None else None
        if late is not None:  # said first and in red: the parcel is already late
            self.say("pack.late_opened", "error", no=words["no"], due=late)
        else:
            self.say(key, "ok" if r.outcome is Outcome.COMPLETE else "info", **words)
        self._render_counts(r.sku)
        if r.outcome is Outcome.COMPLETE:
            self._verified()

    def _sku_name(self, sku: str) -> str:
        order = self.order
        if order is not None:
            for line in order.lines:
                if line.sku == sku:
                    return line.label(self.papp.lang)
        row = self.papp.services.reader.sku(sku)
        if row is None:
            return sku
        return str(row["name_en"] if self.papp.lang == "en" and row["name_en"] else row["name_zh"])

    def _start_order(self, order: PackOrder) -> None:
        self._started_at = time.monotonic()
        self._weighings = 0
        self.expected_g = expected_weight(order, self.papp.services.settings.pack_settings())
        self.weighed_g = None
        self.shipped_order = None
        self._weight_override = None
        self._label_out = None
        self._short = None
        self._go(Step.VERIFY)

    def _verified(self) -> None:
        if self.papp.services.settings.require_weigh:
            self._go(Step.WEIGH)
            self._try_weigh()
        else:
            self._print(reprint_reason=None)

    # ------------------------------------------------------------------ weighing
    def _weight_changed(self, weight: Weight | None) -> None:
        self.last_reading = weight
        if weight is not None and weight.grams < self.papp.services.settings.min_parcel_g:
            self.papp.scale_cleared = True
        if self.is_mounted and self.packer is not None:
            self._render_weight()
            self._try_weigh()

    def _try_weigh(self) -> None:
        w = self.last_reading
        order = self.order
        settings = self.papp.services.settings
        if (self.step is not Step.WEIGH or order is None or w is None or not w.stable
                or w.grams < settings.min_parcel_g or not self.papp.scale_cleared):
            return
        tol = settings.pack_settings().tolerance
        within = tol.within(self.expected_g, w.grams)
        self.weighed_g = w.grams
        self._weighings += 1
        self.papp.scale_cleared = False
        self._record_weigh(order, w.grams, within)
        if within:
            self.say("weigh.ok", "ok", grams=w.grams)
            self._print(reprint_reason=None)
        else:
            self.say("weigh.out", "error", grams=w.grams, expected=self.expected_g,
                               tol=tol.allowed(self.expected_g))
            self._go(Step.WEIGH_FAILED)

    @work(thread=True, group="weigh", exit_on_error=False)
    def _record_weigh(self, order: PackOrder, grams: int, within: bool) -> None:
        """Log a weighing (a lead's override is logged with the shipment instead)."""
        svc = self.papp.services
        try:
            svc.packing.record_weigh(order.order_id, grams=grams, expected_g=self.expected_g,
                                     within=within, operator_id=self.papp.operator_id)
        except EdgeError as err:
            self.app.call_from_thread(self.banner, self.papp.error_text(err), "error")
            return
        self.post_message(WeighRecorded(order.order_id, grams, within))

    def action_put_parcel(self) -> None:
        devices = self.papp.services.devices
        if devices.put_parcel is None or self.order is None:
            return
        allowed = self.papp.services.settings.pack_settings().tolerance.allowed(self.expected_g)
        noise = min(allowed // 3, 20)
        self.papp.scale_cleared = True  # the simulated packer lifted the previous parcel
        self.papp.put_parcel(self.expected_g + random.randint(-noise, noise))

    def action_reweigh(self) -> None:
        if self.step is not Step.WEIGH_FAILED:
            return
        self.papp.scale_cleared = True
        self._go(Step.WEIGH)
        self.say("pack.weigh_now", "info")
        self._try_weigh()  # the parcel may already sit still on the scale

    def _override(self) -> None:
        op = self.papp.operator
        if op is not None and op["role"] in LEAD_ROLES:
            self._ask_reason(op)
        else:
            self.app.push_screen(LeadOverrideDialog(), self._lead_answered)

    def _lead_answered(self, lead: dict[str, Any] | None) -> None:
        if lead is None:
            self.focus_scan()
            return
        self._ask_reason(lead)

    def _ask_reason(self, lead: dict[str, Any]) -> None:
        def answered(reason: str | None) -> None:
            order = self.order
            if reason is None or order is None or self.weighed_g is None:
                self.focus_scan()
                return
            self._weight_override = WeightOverride(self.weighed_g, self.expected_g,
                                            str(lead["operator_id"]), reason)
            self.say("weigh.overridden", "ok", lead=lead["name"], reason=reason)
            self._print(reprint_reason=None)

        self.app.push_screen(ReasonDialog("override"), answered)

    # ------------------------------------------------------------------ stock short
    def action_count_fix(self) -> None:
        """Stock short before printing: a lead counts the SKU at its location with the goods
        in hand; the count becomes a ``COUNT_ADJUST`` move (with a reason) and the label
        prints and the parcel ships (``Packing.count_fix``)."""
        if self._short is None or self.step is not Step.PRINT_FAILED:
            return
        op = self.papp.operator
        if op is not None and op["role"] in LEAD_ROLES:
            self._ask_count(op)
        else:
            self.app.push_screen(LeadOverrideDialog(),
                                 lambda lead: self._ask_count(lead) if lead else self.focus_scan())

    def _ask_count(self, lead: dict[str, Any]) -> None:
        short = self._short
        order = self.order
        if short is None or order is None:
            return
        title = self.t("count.title", sku=short.sku, name=self._sku_name(short.sku),
                       location=short.location, has=short.has, need=short.need)

        def counted(digits: str | None) -> None:
            if not digits:
                self.focus_scan()
                return

            def reasoned(reason: str | None) -> None:
                if reason is None:
                    self.focus_scan()
                    return
                try:
                    self.papp.services.packing.count_fix(
                        short, counted=int(digits), lead_id=str(lead["operator_id"]),
                        reason=reason, order_id=order.order_id)
                except EdgeError as err:
                    self.banner(self.papp.error_text(err), "error")
                    return
                self._short = None
                self.say("pack.count_fixed", "ok", lead=lead["name"], sku=short.sku,
                         counted=int(digits))
                self._print(reprint_reason=None)

            self.app.push_screen(ReasonDialog("count"), reasoned)

        self.app.push_screen(CountDialog(title), counted)

    # ------------------------------------------------------------------ print and ship
    def _print(self, *, reprint_reason: str | None, ship: bool = True) -> None:
        order = self.order if reprint_reason is None else (self.shipped_order or self.order)
        if order is None:
            return
        printed = reprint_reason is None and self._label_out == order.order_id
        if reprint_reason is None:
            self._go(Step.PRINTING)
            self.say("pack.printing", "info")
        self._print_and_ship(order, self.weighed_g, reprint_reason, ship, printed)

    @work(thread=True, exclusive=True, group="print", exit_on_error=False)
    def _print_and_ship(self, order: PackOrder, grams: int | None,
                        reprint_reason: str | None, ship: bool, printed: bool = False) -> None:
        """Blocking: printer I/O, then the print log, then (optionally) the shipment.

        ``printed``: the label reached the printer before and only its log failed, so this
        logs it without printing again. Every failure ends in a message the screen shows."""
        svc = self.papp.services
        operator = self.papp.operator_id
        component = svc.devices.print_component
        via_component = printouts.routed_to_component(svc.settings.component_carriers,
                                                      order.carrier)
        printer = svc.devices.label_printer
        device = "print_component" if via_component else "label_printer"
        is_reprint = reprint_reason is not None
        try:
            if not printed:
                if (component if via_component else printer) is None:
                    raise EdgeError(self.t("devices.none", device=self.t(f"device.{device}")))
                svc.packing.check_print(order.order_id, "label", reprint_reason)
                if ship and not is_reprint:  # no label for a parcel that cannot ship
                    svc.packing.check_ship(order, operator_id=operator,
                                           override=self._weight_override)
                self.papp.set_device_state(device, "busy")
                facts = unseal_receiver(svc.packing.print_facts(order.order_id), svc.pii_key)
                if via_component:
                    # the platform renders its own waybill: print data as it came, plus
                    # our custom area; nothing decrypted leaves the station
                    doc = printouts.component_document(
                        order, {**facts, "now": svc.wall_clock(), "tz": svc.zone},
                        svc.settings.custom_area_template)
                    component.print_documents(f"{order.order_id}:{uuid.uuid4().hex[:8]}",
                                              [doc])
                else:
                    assert printer is not None
                    printer.write(svc.renderers.label(order, facts))
                self.papp.set_device_state(device, "ok")
        except StockShort as err:
            self.post_message(PrintFinished(order.order_id, "label", is_reprint,
                                            self.t("pack.stock_short", detail=str(err)),
                                            short=err))
            return
        except ShipRefused as err:
            self.post_message(PrintFinished(order.order_id, "label", is_reprint,
                                            self.t("pack.not_printed", detail=str(err))))
            return
        except EdgeError as err:
            if (component if via_component else printer) is not None:
                self.papp.set_device_state(device, "error", str(err))
            self.post_message(PrintFinished(order.order_id, "label", is_reprint,
                                            self.papp.error_text(err)))
            return
        except Exception as err:  # a bug or the database: shown, retryable
            log.exception("printing the label of %s failed", order.order_id)
            self.post_message(PrintFinished(order.order_id, "label", is_reprint, self.t(
                "error.print_retry", detail=failure_detail(err))))
            return
        try:
            reprint = svc.packing.record_print(order.order_id, "label", operator_id=operator,
                                               reprint_reason=reprint_reason)
        except Exception as err:  # the label is out: a retry only logs it
            log.exception("logging the label of %s failed", order.order_id)
            self.post_message(PrintFinished(order.order_id, "label", is_reprint, self.t(
                "error.print_unlogged", detail=failure_detail(err)), printed=True))
            return
        self.post_message(PrintFinished(order.order_id, "label", reprint))
        slip = svc.devices.slip_printer
        if svc.settings.print_slip and slip is not None and not reprint:
            try:
                facts = {**svc.packing.print_facts(order.order_id), "now": svc.wall_clock(),
                         "tz": svc.zone}
                slip.write(svc.renderers.slip(order, facts))
                svc.packing.record_print(order.order_id, "slip", operator_id=operator)
            except Exception as err:  # a slip never blocks shipping
                if not isinstance(err, EdgeError):
                    log.exception("the packing slip of %s failed", order.order_id)
                self.papp.set_device_state("slip_printer", "error", failure_detail(err))
        if ship:
            self._ship_now(order, grams)

    def kpis(self) -> dict[str, Any]:
        """Packer telemetry for the current order (docs/specs/floor-practice.md §8)."""
        session = self.packer.session if self.packer is not None else None
        return {"rejected_scans": session.rejected if session else 0,
                "weighings": self._weighings,
                "weight_overrides": 0 if self._weight_override is None else 1,
                "pack_seconds": round(time.monotonic() - self._started_at, 1)}

    def _ship_now(self, order: PackOrder, grams: int | None) -> None:
        """Ship (with a lead's weight override, if any) and answer with a message; the
        order is left as it was when shipping fails, and "retry ship" tries again."""
        try:
            self.papp.services.packing.ship(order, operator_id=self.papp.operator_id,
                                            weight_g=grams, kpis=self.kpis(),
                                            override=self._weight_override)
        except ShipRefused as err:
            self.post_message(ShipFailed(order.order_id, str(err)))
            return
        except Exception as err:  # "database is locked", a bug: retryable
            log.exception("shipping %s failed", order.order_id)
            self.post_message(ShipFailed(order.order_id, failure_detail(err), retry=True))
            return
        self.post_message(OrderShipped(order.order_id, grams))

    @work(thread=True, exclusive=True, group="print", exit_on_error=False)
    def _retry_ship(self, order: PackOrder, grams: int | None) -> None:
        self._ship_now(order, grams)

    @on(PrintFinished)
    def _printed(self, msg: PrintFinished) -> None:
        if not msg.reprint:
            self._label_out = msg.order_id if msg.printed else None
            self._short = msg.short if isinstance(msg.short, StockShort) else None
        if msg.error is not None:
            self.banner(msg.error, "error")
            if not msg.reprint:
                self._go(Step.PRINT_FAILED)
            return
        if msg.reprint:
            n = self.papp.services.orders.print_count(msg.order_id)
            self.say("pack.reprinted", "ok", n=n)
            self.focus_scan()

    @on(OrderShipped)
    def _shipped(self, msg: OrderShipped) -> None:
        self.papp.refresh_health()  # the backlog grew by this shipment: show it now
        order = self.order
        self.shipped_order = order
        self._weight_override = None
        self.say("pack.shipped", "ok", no=order.platform_order_no if order else msg.order_id,
                           grams=msg.grams if msg.grams is not None else "-",
                           waybill=order.waybill_no if order else "")
        self._go(Step.SHIPPED)

    @on(ShipFailed)
    def _ship_failed(self, msg: ShipFailed) -> None:
        self.say("error.ship_retry" if msg.retry else "error.ship", "error", detail=msg.error)
        self._go(Step.SHIP_FAILED)

    def worker_failed(self, worker: Worker[Any], err: BaseException) -> None:
        """Whatever a worker did not catch: said in red, and an order stuck in "printing"
        goes to the step the packer can resume from (ship again once its label is logged)."""
        super().worker_failed(worker, err)
        order = self.order
        if self.step is Step.PRINTING and order is not None:
            logged = self.papp.services.orders.print_count(order.order_id) > 0
            self._go(Step.SHIP_FAILED if logged else Step.PRINT_FAILED)

    @on(WeighRecorded)
    def _weigh_recorded(self, msg: WeighRecorded) -> None:
        """Nothing to redraw: the weigh row is for the record (KPIs, audits)."""

    # ------------------------------------------------------------------ buttons
    def action_reprint(self) -> None:
        if self.step not in BUTTONS["reprint"]:
            return

        def answered(reason: str | None) -> None:
            if reason is not None:
                self._print(reprint_reason=reason, ship=False)
            self.focus_scan()

        self.app.push_screen(ReasonDialog("reprint"), answered)

    def action_drop(self) -> None:
        order = self.order
        if order is None or self.step not in BUTTONS["drop"]:
            return

        def answered(yes: bool | None) -> None:
            if yes and self.packer is not None:
                self.packer.reset()
                self.say("pack.dropped", "info", no=order.platform_order_no)
                self._render_order()
                self._go(Step.IDLE)
            self.focus_scan()

        self.app.push_screen(ConfirmDialog(self.t("pack.confirm_drop", no=order.platform_order_no)),
                             answered)

    def on_button_pressed(self, event: BigButton.Pressed) -> None:
        bid = event.button.id
        actions = {
            "put-parcel": self.action_put_parcel, "reweigh": self.action_reweigh,
            "count-fix": self.action_count_fix,
            "override": self._override, "retry-print": lambda: self._print(reprint_reason=None),
            "reprint": self.action_reprint, "drop": self.action_drop,
            "back": self.app.pop_screen,
        }
        if bid == "retry-ship" and self.order is not None:
            self._go(Step.PRINTING)
            self._retry_ship(self.order, self.weighed_g)
        elif bid in actions:
            actions[bid]()
        else:
            return
        event.stop()
