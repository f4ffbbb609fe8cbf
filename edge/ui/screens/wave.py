"""波次拣货 / 播种: pick a wave the cloud built for this station, then sort it on the put wall.

Choose a wave (or scan its id). The pick list (``WaveWriter.start``: the wave's orders'
lines summed per SKU, at the locations the ledger holds them, in walking order) shows with
the line to walk to. Scan the location, then its items (an item barcode counts 1, a case
barcode its units); F6 closes the current line short (no lead needed: the orders it leaves
short are intercepted and cannot be packed). When every line is done the pick ends by
itself: the short orders are intercepted and the ``wave_pick`` message is queued in the
same transaction (``WaveWriter.finish``). Picking moves no stock: the goods stay on the
books until packing ships each order.

A multi-item wave then goes to the put wall: scan an item, the screen shows its slot in
very large digits; a slot whose order has everything is announced (「N 号格已满」) and its
order is ready to pack. A single-item wave ends with a pointer to 打包发货 (scan-to-print).
Every scan is one small transaction written inline, as at handover.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Digits, Label, Static

from edge.errors import EdgeError
from edge.store.waves import (
    PickOutcome,
    StoredLine,
    WaveWriter,
    lines,
    members,
    wave_row,
    waves_to_work,
)
from edge.ui.screens.base import KioskScreen
from edge.ui.widgets.buttons import BigButton
from edge.ui.widgets.order_lines import OrderLines
from edge.ui.widgets.scan_input import ScanInput
from edge.ui.widgets.status_bar import StatusBar

log = logging.getLogger(__name__)

WAVE_ROLES = frozenset({"packer", "warehouse_lead", "manager", "admin"})
"""Roles that see 波次拣货 on the home screen: everyone who may pack."""

MODES = ("list", "pick", "put", "done")
"""What the screen shows: the waves, a pick list, the put wall, a finished wave."""


class WaveScreen(KioskScreen):
    """One wave at a time: pick it, then put it."""

    CSS_PATH = "wave.tcss"
    BANNER_FIXED_HEIGHT = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f6", "short", "缺货 / short", id="wave.short",
                tooltip="Close the current line with what was picked"),
        Binding("f9", "other", "换波次 / other", id="wave.other",
                tooltip="Back to the list of waves"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.wave: dict[str, Any] | None = None
        """The wave open on screen, or None: the list shows."""
        self.mode = "list"
        """One of ``MODES``."""
        self.lines: list[StoredLine] = []
        """The pick list as stored, re-read after each write."""
        self.location: str | None = None
        """The location the picker last scanned."""
        self.slot: int | None = None
        """The slot the last put item went to."""
        self._open: list[dict[str, Any]] = []
        """The waves behind the list's buttons, in order."""

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Label("", id="wave-title", classes="screen-title")
        yield Static("", id="banner", classes="banner")
        with VerticalScroll(id="wv-list"):
            yield Label("", id="wv-list-title")
            yield Vertical(id="wv-buttons")
        with Horizontal(id="wave-main"):
            with Vertical(id="wv-pane"):
                yield OrderLines(id="lines")
            with Vertical(id="wv-side"):
                yield Label("", id="wv-where")
                yield Label("", id="wv-progress")
                yield Digits("", id="wv-slot")
                yield Label("", id="wv-slot-order")
        yield ScanInput(debounce_s=self.papp.services.settings.scan_debounce_s, id="scan")
        with Horizontal(id="wave-actions"):
            yield BigButton("", id="short", variant="warning")
            yield BigButton("", id="other")
            yield BigButton("", id="back")

    def on_mount(self) -> None:
        super().on_mount()
        self._show_list()

    def apply_language(self) -> None:
        t = self.t
        for bid in ("short", "other", "back"):
            self.query_one(f"#{bid}", BigButton).label = t(f"wave.btn.{bid}")
        self._redraw()

    # ------------------------------------------------------------------ helpers
    @property
    def db(self) -> Any:
        """The UI thread's read connection."""
        return self.papp.services.reader.db

    @property
    def writer(self) -> WaveWriter:
        """Wave writes on the station's one writer."""
        return WaveWriter(self.papp.services.store.writer)

    def current(self) -> StoredLine | None:
        """The line to pick now: the first open one at the scanned location, else the first
        open one on the walk."""
        todo = [ln for ln in self.lines if not ln.done]
        here = [ln for ln in todo if ln.location == self.location]
        pool = here or todo
        return pool[0] if pool else None

    def _sku_name(self, sku: str) -> str:
        row = self.db.execute("SELECT name_zh, name_en FROM skus WHERE sku = ?",
                              [sku]).fetchone()
        if row is None:
            return sku
        return str(row[1] if self.papp.lang == "en" and row[1] else row[0])

    def _show_list(self) -> None:
        self.wave, self.mode, self.lines, self.location, self.slot = None, "list", [], None, None
        self._open = waves_to_work(self.db)
        box = self.query_one("#wv-buttons", Vertical)
        have = len(box.children)
        if len(self._open) > have:
            box.mount_all([BigButton("", id=f"wv-{i}") for i in range(have, len(self._open))])
        self.call_after_refresh(self._redraw)

    def _redraw(self) -> None:
        t = self.t
        listing = self.mode == "list"
        self.query_one("#wv-list").display = listing
        self.query_one("#wave-main").display = not listing
        self.query_one("#short", BigButton).display = self.mode == "pick"
        self.query_one("#other", BigButton).display = not listing
        putting = self.mode == "put"
        self.query_one("#wv-slot", Digits).display = putting
        self.query_one("#wv-slot-order", Label).display = putting
        self.query_one("#wv-pane").display = not putting  # the wall needs the room
        self.query_one("#wv-where", Label).display = not putting
        if listing or self.wave is None:
            self.query_one("#wave-title", Label).update(t("wave.title"))
            self.query_one("#wv-list-title", Label).update(
                t("wave.pick_one") if self._open else t("wave.none"))
            for i, button in enumerate(self.query_one("#wv-buttons").query(BigButton)):
                button.display = i < len(self._open)
                if i < len(self._open):
                    row = self._open[i]
                    button.label = t(f"wave.button.{row['status']}", id=row["wave_id"],
                                     kind=t(f"wave.kind.{row['kind']}"), n=row["orders"],
                                     units=row["units"])
            self.query_one(ScanInput).prompt = t("wave.pick_one")
            return
        w = self.wave
        self.query_one("#wave-title", Label).update(t(
            "wave.title_one", id=w["wave_id"], kind=t(f"wave.kind.{w['kind']}")))
        cur = self.current() if self.mode == "pick" else None
        rows = [(ln.location, ln.sku, self._sku_name(ln.sku), f"{ln.picked}/{ln.wanted}",
                 ln.done) for ln in self.lines]
        self.query_one("#lines", OrderLines).show(
            [t("wave.col.location"), t("wave.col.sku"), t("wave.col.name"),
             t("wave.col.picked")], rows)
        picked = sum(ln.picked for ln in self.lines)
        wanted = sum(ln.wanted for ln in self.lines)
        if self.mode == "pick":
            self.query_one("#wv-where", Label).update(
                t("wave.go_to", location=cur.location, sku=cur.sku, n=cur.wanted - cur.picked)
                if cur is not None else "")
            self.query_one("#wv-progress", Label).update(t("wave.progress", n=picked, of=wanted))
            self.query_one(ScanInput).prompt = (
                t("wave.hint_item", location=self.location) if self.location
                else t("wave.hint_location"))
        elif self.mode == "put":
            slots = members(self.db, w["wave_id"])
            ready = sum(1 for m in slots if m.status == "ready")
            live = sum(1 for m in slots if m.status != "short")
            self.query_one("#wv-where", Label).update(t("wave.put_hint"))
            self.query_one("#wv-progress", Label).update(t("wave.slots", n=ready, of=live))
            self.query_one("#wv-slot", Digits).update(str(self.slot) if self.slot else "-")
            self.query_one(ScanInput).prompt = t("wave.put_hint")
        else:
            self.query_one("#wv-where", Label).update(t(f"wave.done.{w['kind']}"))
            self.query_one("#wv-progress", Label).update(t("wave.progress", n=picked, of=wanted))
            self.query_one(ScanInput).prompt = t("wave.pick_one")

    def _reload(self) -> None:
        assert self.wave is not None
        self.wave = wave_row(self.db, self.wave["wave_id"])
        assert self.wave is not None
        self.lines = lines(self.db, self.wave["wave_id"])

    # ------------------------------------------------------------------ choosing
    def open_wave(self, wave_id: str) -> bool:
        """Open ``wave_id`` (to pick when open, at the put wall when a picked multi wave)."""
        row = next((r for r in self._open if r["wave_id"] == wave_id), None)
        if row is None:
            self.say("wave.unknown", "error", code=wave_id)
            return False
        try:
            if row["status"] == "open":
                self.writer.start(wave_id)
        except EdgeError as err:
            self.say("wave.failed", "error", detail=str(err))
            return False
        self.wave = wave_row(self.db, wave_id)
        self.lines = lines(self.db, wave_id)
        self.location, self.slot = None, None
        self.mode = "pick" if row["status"] == "open" else "put"
        self.say("wave.opened" if self.mode == "pick" else "wave.put_start", "info", id=wave_id)
        self._redraw()
        return True

    # ------------------------------------------------------------------ scanning
    def handle_scan(self, code: str, source: str) -> None:
        code = code.strip()
        if self.mode in ("list", "done"):
            if self.mode == "done":
                self._show_list()
                self._open = waves_to_work(self.db)
            self.open_wave(code)
            return
        assert self.wave is not None
        found = self.papp.services.reader.lookup_barcode(code)
        if found is None and self.db.execute("SELECT 1 FROM skus WHERE sku = ?",
                                             [code]).fetchone():
            found = (code, 1)  # a goods label carries the SKU code
        if self.mode == "put":
            if found is None:
                self.say("wave.unknown_code", "error", code=code)
            else:
                self._put(*found)
            return
        if found is not None:
            self._pick(*found)
        elif code in self.papp.services.reader.locations(self.wave["warehouse_id"]) or \
                any(ln.location == code for ln in self.lines):
            self.location = code
            here = [ln for ln in self.lines if ln.location == code and not ln.done]
            self.say("wave.location_set" if here else "wave.nothing_here",
                     "info" if here else "error", location=code)
            self._redraw()
        else:
            self.say("wave.unknown_code", "error", code=code)

    def _pick(self, sku: str, units: int) -> None:
        assert self.wave is not None
        if self.location is None:
            self.say("wave.location_first", "error")
            return
        try:
            outcome, line = self.writer.pick(self.wave["wave_id"], self.location, sku, units)
        except EdgeError as err:
            self.say("wave.failed", "error", detail=str(err))
            return
        self._reload()
        if outcome is PickOutcome.NOT_HERE:
            self.say("wave.not_here", "error", sku=sku, location=self.location)
        elif outcome is PickOutcome.OVER:
            assert line is not None
            self.say("wave.over", "error", sku=sku, units=units, left=line.wanted - line.picked)
        else:
            assert line is not None
            self.say("wave.picked", "ok", sku=sku, name=self._sku_name(sku), units=units,
                     n=line.picked, of=line.wanted)
            self._maybe_finish()
        self._redraw()

    def _maybe_finish(self) -> None:
        """End the pick once every line is done (module doc)."""
        assert self.wave is not None
        if any(not ln.done for ln in self.lines):
            return
        wave_id = str(self.wave["wave_id"])
        try:
            wire = self.writer.finish(wave_id, operator_id=self.papp.operator_id)
        except EdgeError as err:
            self.say("wave.failed", "error", detail=str(err))
            return
        self.papp.refresh_health()
        self._reload()
        nos = ", ".join(m.platform_order_no for m in members(self.db, wave_id)
                        if m.order_id in wire.short_orders)
        if wire.short_orders:
            self.say(f"wave.finished_short.{self.wave['kind']}", "error",
                     n=len(wire.short_orders), orders=nos)
        else:
            self.say(f"wave.finished.{self.wave['kind']}", "ok")
        self.mode = "put" if self.wave["kind"] == "multi" else "done"
        self.slot = None
        self._redraw()

    def _put(self, sku: str, units: int) -> None:
        assert self.wave is not None
        try:
            result = self.writer.put(self.wave["wave_id"], sku, units,
                                     operator_id=self.papp.operator_id)
        except EdgeError as err:
            self.say("wave.failed", "error", detail=str(err))
            return
        m = result.member
        if m is None:
            self.slot = None
            self.say("wave.no_slot", "error", sku=sku, units=units)
            self._redraw()
            return
        self.slot = m.slot
        self.query_one("#wv-slot-order", Label).update(
            self.t("wave.slot_order", no=m.platform_order_no,
                   n=sum(m.put.values()), of=sum(m.need.values())))
        if result.full:
            self.papp.refresh_health()
            self.say("wave.slot_full", "ok", slot=m.slot, no=m.platform_order_no)
            if all(x.status != "waiting" for x in members(self.db, self.wave["wave_id"])):
                self.say("wave.put_done", "ok", slot=m.slot, no=m.platform_order_no)
                self.mode = "done"
        else:
            self.say("wave.put_to", "info", slot=m.slot, sku=sku, units=units)
        self._redraw()

    # ------------------------------------------------------------------ actions
    def action_short(self) -> None:
        if self.mode != "pick" or self.wave is None:
            return
        line = self.current()
        if line is None:
            return
        try:
            self.writer.short(self.wave["wave_id"], line.seq, operator_id=self.papp.operator_id)
        except EdgeError as err:
            self.say("wave.failed", "error", detail=str(err))
            return
        self._reload()
        self.say("wave.line_short", "error", sku=line.sku, location=line.location,
                 n=line.picked, of=line.wanted)
        self._maybe_finish()
        self._redraw()

    def action_other(self) -> None:
        if self.mode != "list":
            self._show_list()

    def on_button_pressed(self, event: BigButton.Pressed) -> None:
        bid = event.button.id or ""
        if bid.startswith("wv-") and bid.removeprefix("wv-").isdigit():
            i = int(bid.removeprefix("wv-"))
            if i < len(self._open):
                self.open_wave(str(self._open[i]["wave_id"]))
        elif bid == "back":
            self.app.pop_screen()
        elif bid == "short":
            self.action_short()
        elif bid == "other":
            self.action_other()
        else:
            return
        event.stop()
