"""快递交接: hand the shipped parcels to the courier at pickup.

Pick the courier (or scan the courier's barcode: the carrier code, e.g. ``ZTO``); scan each
parcel's waybill into that courier's batch. The table shows, per courier, the parcels
shipped here and not handed over (expected) against those scanned; the right pane lists the
courier's parcels still not scanned (已发货未交接). A waybill of another courier, one the
station never shipped, one not shipped yet, and one already handed over are refused loudly;
a second scan of the same parcel says so and changes nothing.

Each scan is one small transaction written inline (``HandoverWriter.scan``), so no scan of
a fast pickup is lost or reordered behind a worker. Closing the batch (its ``handover``
message in the same transaction) and printing the handover list on the slip printer run in
a worker.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from edge.errors import EdgeError
from edge.store.handover import (
    ClosedBatch,
    CourierCount,
    HandoverWriter,
    Outcome,
    ScanResult,
    courier_counts,
    open_batch,
    since,
    waiting,
)
from edge.ui.dialogs.choice import ChoiceDialog
from edge.ui.dialogs.confirm import ConfirmDialog
from edge.ui.messages import HandoverClosed
from edge.ui.printouts import CARRIER_NAMES, courier_name, handover_list, local_clock
from edge.ui.screens.base import KioskScreen, failure_detail
from edge.ui.widgets.buttons import BigButton
from edge.ui.widgets.order_lines import OrderLines
from edge.ui.widgets.scan_input import ScanInput
from edge.ui.widgets.status_bar import StatusBar

log = logging.getLogger(__name__)

HANDOVER_ROLES = frozenset({"packer", "warehouse_lead", "manager", "admin"})
"""Roles that see 快递交接 on the home screen: packers and leads hand parcels over."""

MISSING_SHOWN = 8
"""Waybills of 已发货未交接 listed in the side pane; the rest are counted."""

STATUS_ZH = {"waiting": "等待打包", "packing": "打包中", "packed": "已打包",
               "intercepted": "已拦截", "cancelled": "已取消"}
"""Chinese words for an order status in the not-shipped message (English shows the code)."""


class HandoverScreen(KioskScreen):
    """One courier at a time: scan parcels into its batch, close, print the list."""

    CSS_PATH = "handover.tcss"
    BANNER_FIXED_HEIGHT = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "close_batch", "结束交接 / close batch", id="handover.close",
                tooltip="Close the courier's batch and print the handover list"),
        Binding("f6", "choose", "选择快递 / courier", id="handover.choose",
                tooltip="Choose which courier is picking up"),
        Binding("f7", "reprint", "重打交接单 / reprint list", id="handover.reprint",
                tooltip="Print the last closed batch's handover list again"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.carrier: str | None = None
        """The courier picking up (carrier code), or None until one is chosen."""
        self.counts: list[CourierCount] = []
        """Expected and scanned per courier (re-read after every scan)."""
        self.last_closed: ClosedBatch | None = None
        """The batch closed last on this screen (what Reprint prints)."""
        self.busy = False
        """A batch is being closed and printed: scans wait."""

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Label("", id="handover-title", classes="screen-title")
        yield Static("", id="banner", classes="banner")
        with Horizontal(id="handover-main"):
            with Vertical(id="courier-pane"):
                yield OrderLines(id="couriers")
            with Vertical(id="batch-pane"):
                yield Label("", id="batch-info")
                yield Label("", id="batch-count")
                yield Label("", id="batch-last")
                yield Static("", id="missing")
        yield ScanInput(debounce_s=self.papp.services.settings.scan_debounce_s, id="scan")
        with Horizontal(id="handover-actions"):
            yield BigButton("", id="close-batch", variant="primary")
            yield BigButton("", id="choose")
            yield BigButton("", id="reprint")
            yield BigButton("", id="back")

    def on_mount(self) -> None:
        super().on_mount()
        self._reload()
        self.say("handover.pick_courier", "info")

    def apply_language(self) -> None:
        t = self.t
        for bid, key in {"close-batch": "handover.close", "choose": "handover.choose",
                         "reprint": "handover.reprint", "back": "handover.home"}.items():
            self.query_one(f"#{bid}", BigButton).label = t(key)
        self._redraw()

    # ------------------------------------------------------------------ reading and drawing
    def courier(self, carrier: str) -> str:
        """The courier's name in the current language."""
        return courier_name(carrier, self.papp.lang)

    def _oldest(self) -> str:
        return since(self.papp.services.store.writer.clock())

    def _reload(self) -> None:
        self.counts = courier_counts(self.papp.services.reader.db, self._oldest())

    def _count(self, carrier: str) -> CourierCount:
        return next((c for c in self.counts if c.carrier == carrier), CourierCount(carrier, 0, 0))

    def _redraw(self) -> None:
        t = self.t
        carrier = self.carrier
        self.query_one("#handover-title", Label).update(
            t("handover.title_courier", courier=self.courier(carrier)) if carrier
            else t("handover.title"))
        self.query_one(ScanInput).prompt = (t("handover.hint", courier=self.courier(carrier))
                                            if carrier else t("handover.pick_courier"))
        self.query_one("#close-batch").display = carrier is not None
        self.query_one("#reprint").display = self.last_closed is not None
        db = self.papp.services.reader.db
        rows = []
        for c in self.counts:
            batch = open_batch(db, c.carrier)
            label = (c.carrier if self.papp.lang == "en"
                     else f"{c.carrier} {courier_name(c.carrier, 'zh')}")
            rows.append((label, batch[0] if batch else "-", f"{c.scanned}/{c.expected}",
                         str(c.missing), c.missing == 0))
        self.query_one("#couriers", OrderLines).show(
            [t("handover.col.carrier"), t("handover.col.batch"), t("handover.col.count"),
             t("handover.col.missing")], rows)
        info, count, last, missing = t("handover.none"), "", "", ""
        if not self.counts and carrier is None:
            info = t("handover.no_parcels")
        if carrier is not None:
            batch = open_batch(db, carrier)
            info = t("handover.batch", batch=batch[0]) if batch else t("handover.batch_new")
            c = self._count(carrier)
            count = t("handover.count", scanned=c.scanned, expected=c.expected)
            if batch:
                last_row = db.execute("SELECT waybill_no FROM handover_parcels WHERE batch_id = ? "
                                      "ORDER BY scanned_at DESC, waybill_no DESC LIMIT 1",
                                      [batch[0]]).fetchone()
                last = t("handover.last", waybill=last_row[0]) if last_row else ""
            left = waiting(db, carrier, self._oldest())
            if left:
                shown = [p.waybill_no for p in left[:MISSING_SHOWN]]
                if len(left) > MISSING_SHOWN:
                    shown.append(t("handover.more", n=len(left) - MISSING_SHOWN))
                missing = "\n".join([t("handover.missing_title", n=len(left)), *shown])
            else:
                missing = t("handover.all_scanned")
        self.query_one("#batch-info", Label).update(info)
        self.query_one("#batch-count", Label).update(count)
        self.query_one("#batch-last", Label).update(last)
        pane = self.query_one("#missing", Static)
        pane.update(missing)
        pane.set_class(missing.startswith("⚠"), "flagged")

    # ------------------------------------------------------------------ choosing the courier
    def known_couriers(self) -> list[str]:
        """Carrier codes the kiosk can hand to: those with parcels, then every known one."""
        have = [c.carrier for c in self.counts]
        return have + sorted(set(CARRIER_NAMES) - set(have))

    def choose(self, carrier: str) -> None:
        """Make ``carrier`` the courier picking up (its open batch, if any, resumes)."""
        self.carrier = carrier
        self._reload()
        self.say("handover.courier_set", "info", courier=self.courier(carrier))
        self._redraw()

    def action_choose(self) -> None:
        if self.busy:
            return
        options = [(code, self.t("handover.choice", courier=self.courier(code),
                                 scanned=self._count(code).scanned,
                                 expected=self._count(code).expected))
                   for code in self.known_couriers()]

        def chosen(code: str | None) -> None:
            if code:
                self.choose(code)
            self.focus_scan()

        self.app.push_screen(ChoiceDialog(self.t("handover.choose_title"), options), chosen)

    # ------------------------------------------------------------------ scanning
    def handle_scan(self, code: str, source: str) -> None:
        if self.busy:
            self.say("handover.closing", "info")
            return
        code = code.strip()
        if code.upper() in self.known_couriers():
            self.choose(code.upper())
            return
        if self.carrier is None:
            self.say("handover.courier_first", "error", code=code)
            return
        result = HandoverWriter(self.papp.services.store.writer).scan(
            self.carrier, code, operator_id=self.papp.operator_id)
        self._reload()
        self._said_scan(result)
        self._redraw()

    def _said_scan(self, result: ScanResult) -> None:
        assert self.carrier is not None
        courier, waybill, found = self.courier(self.carrier), result.waybill_no, result.parcel
        if result.outcome is Outcome.ADDED:
            c = self._count(self.carrier)
            self.say("handover.added", "ok", waybill=waybill, courier=courier, scanned=c.scanned,
                     expected=c.expected)
        elif result.outcome is Outcome.DUPLICATE:
            self.say("handover.duplicate", "info", waybill=waybill)
        elif result.outcome is Outcome.WRONG_COURIER and found is not None:
            self.say("handover.wrong_courier", "error", waybill=waybill, courier=courier,
                     right=self.courier(found.carrier))
        elif result.outcome is Outcome.NOT_SHIPPED and found is not None:
            status = (STATUS_ZH.get(found.status, found.status) if self.papp.lang == "zh"
                      else found.status)
            self.say("handover.not_shipped", "error", waybill=waybill,
                     no=found.platform_order_no, status=status)
        elif result.outcome is Outcome.HANDED_OVER:
            self.say("handover.handed_over", "error", waybill=waybill, batch=result.batch_id,
                     time=local_clock(result.handed_at or "", self.papp.services.zone)
                     if result.handed_at else "-")
        else:
            self.say("handover.unknown", "error", waybill=waybill)

    # ------------------------------------------------------------------ closing
    def action_close_batch(self) -> None:
        carrier = self.carrier
        if carrier is None or self.busy:
            return
        c = self._count(carrier)
        if c.scanned == 0:
            self.say("handover.nothing_scanned", "error", courier=self.courier(carrier))
            return
        if c.missing == 0:
            self._close(carrier)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._close(carrier)
            self.focus_scan()

        self.app.push_screen(ConfirmDialog(self.t("handover.confirm_close", n=c.missing,
                                                  courier=self.courier(carrier))), answered)

    def _close(self, carrier: str) -> None:
        self.busy = True
        self.say("handover.closing", "info")
        op = self.papp.operator
        self._close_and_print(carrier, self.papp.operator_id, str(op["name"]) if op else "-")

    def _list_bytes(self, batch: ClosedBatch, operator_name: str) -> bytes:
        svc = self.papp.services
        return handover_list(batch, t=self.t, lang=self.papp.lang, tz=svc.zone,
                             station=self.papp.station_id, operator_name=operator_name)

    def _print(self, data: bytes) -> str | None:
        """Blocking: the list to the slip printer; the error text, or None when it printed."""
        printer = self.papp.services.devices.slip_printer
        try:
            if printer is None:
                raise EdgeError(self.t("devices.none", device=self.t("device.slip_printer")))
            self.papp.set_device_state("slip_printer", "busy")
            printer.write(data)
            self.papp.set_device_state("slip_printer", "ok")
        except EdgeError as err:
            if printer is not None:
                self.papp.set_device_state("slip_printer", "error", str(err))
            return self.papp.error_text(err)
        return None

    @work(thread=True, exclusive=True, group="handover-close", exit_on_error=False)
    def _close_and_print(self, carrier: str, operator_id: str, operator_name: str) -> None:
        """Blocking: close the batch (its message queued in the same transaction), then print
        its list; answered with ``HandoverClosed``."""
        try:
            batch = HandoverWriter(self.papp.services.store.writer).close(
                carrier, operator_id=operator_id)
        except EdgeError as err:
            self.post_message(HandoverClosed(None, error=str(err)))
            return
        except Exception as err:  # "database is locked", a bug: shown, nothing written
            log.exception("closing the %s handover failed", carrier)
            self.post_message(HandoverClosed(None, error=failure_detail(err)))
            return
        try:
            data = self._list_bytes(batch, operator_name)
        except Exception as err:  # the batch is closed: only the paper is missing
            log.exception("rendering the handover list of %s failed", batch.batch_id)
            self.post_message(HandoverClosed(batch, print_error=failure_detail(err)))
            return
        self.post_message(HandoverClosed(batch, print_error=self._print(data)))

    @on(HandoverClosed)
    def _batch_closed(self, msg: HandoverClosed) -> None:
        self.busy = False
        if msg.batch is None:
            self.say("handover.failed", "error", detail=msg.error or "?")
            return
        self.last_closed = msg.batch
        self.papp.refresh_health()  # the backlog grew by the handover message
        self._reload()
        batch, courier = msg.batch, self.courier(msg.batch.carrier)
        if msg.print_error is not None:
            self.say("handover.closed_unprinted", "error", batch=batch.batch_id,
                     detail=msg.print_error)
        else:
            self.say("handover.closed", "ok", batch=batch.batch_id, courier=courier,
                     n=len(batch.parcels))
        self._redraw()

    def action_reprint(self) -> None:
        batch = self.last_closed
        if batch is None or self.busy:
            return
        op = self.papp.operator
        self._reprint(batch, self._list_bytes(batch, str(op["name"]) if op else "-"))

    @work(thread=True, exclusive=True, group="handover-print", exit_on_error=False)
    def _reprint(self, batch: ClosedBatch, data: bytes) -> None:
        """Blocking: print the list again; answered like a close whose batch was kept."""
        error = self._print(data)
        self.app.call_from_thread(self._reprinted, batch, error)

    def _reprinted(self, batch: ClosedBatch, error: str | None) -> None:
        if error is not None:
            self.say("handover.closed_unprinted", "error", batch=batch.batch_id, detail=error)
        else:
            self.say("handover.reprinted", "ok", batch=batch.batch_id)

    def worker_failed(self, worker: Any, err: BaseException) -> None:
        """Whatever a worker did not catch: said in red, and scanning goes on."""
        self.busy = False
        super().worker_failed(worker, err)

    def on_button_pressed(self, event: BigButton.Pressed) -> None:
        bid = event.button.id or ""
        if bid == "back":
            if not self.busy:
                self.app.pop_screen()
        elif bid == "close-batch":
            self.action_close_batch()
        elif bid == "choose":
            self.action_choose()
        elif bid == "reprint":
            self.action_reprint()
        else:
            return
        event.stop()
