"""Floor figures: how many inputs (scans, taps, keys) each floor job takes at the kiosk, from
scripted Pilot runs of the real screens — the numbers a warehouse compares tools by.

Signing in is left out (once per shift). Putting the parcel on the scale is a physical step,
not an input (the scale reads it). Each script checks the job really got done (the moves),
so a figure cannot pass by counting a job that failed:

==========================================  ======  ==========================================
job                                         inputs  how
==========================================  ======  ==========================================
single-item order (爆款单品)                  1       scan the item; scale; label prints; ships
3-unit order (2 SKUs)                        4       scan waybill, 3 items (N + 1)
PO line of 24, case barcode of 12            4       2 case scans, F5, OK
PO line of 10, typed on the keypad           6       1 scan, F5, ⌫ 1 0, OK
counted location, one SKU, as scanned        5       location, case, F5, OK, F6
counted location, one SKU, typed             8       location, item, F5, C 9 5, OK, F6
return parcel of one item                    3       return waybill, item, F9
==========================================  ======  ==========================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.pilot import Pilot

from edge.domain.models import MoveReason
from edge.ui.app import PacklineApp
from tests.edge.ui.conftest import SIZE, Rig, scan, sign_in_by_badge, wait_for
from tests.edge.ui.test_receive import PO, seed_po
from tests.edge.ui.test_returns import seed_return

CUP, CUP_CASE, TOWEL = "6901234567892", "16901234567899", "6909876543210"


@dataclass
class Inputs:
    """Counts what the operator does, and does it."""

    pilot: Pilot[Any]
    n: int = 0

    async def scan(self, code: str) -> None:
        self.n += 1
        await scan(self.pilot, code)

    async def tap(self, selector: str) -> None:
        self.n += 1
        await self.pilot.click(selector)

    async def key(self, key: str) -> None:
        self.n += 1
        await self.pilot.press(key)


def screen(app: PacklineApp) -> str:
    return type(app.screen).__name__


def step(app: PacklineApp) -> str:
    return str(getattr(app.screen, "step", ""))


async def test_packing_orders(rig: Rig) -> None:
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)
        single = Inputs(pilot)
        await single.scan(CUP)  # from the home screen: the oldest single-cup order
        await wait_for(pilot, lambda: step(app) == "weigh")
        rig.scale.put(352)
        await wait_for(pilot, lambda: step(app) == "shipped")
        rig.scale.remove()
        multi = Inputs(pilot)
        await multi.scan("SF1003")
        for code in (CUP, TOWEL, TOWEL):
            await multi.scan(code)
        await wait_for(pilot, lambda: step(app) == "weigh")
        rig.scale.put(530)
        await wait_for(pilot, lambda: step(app) == "shipped" and rig.status("O3") == "shipped")
    assert rig.ship_moves("O1") == [("CUP-350", "A-01-01", -1)]
    assert rig.ship_moves("O3") == [("CUP-350", "A-01-01", -1), ("TOWEL-W", "A-01-02", -2)]
    assert (single.n, multi.n) == (1, 4)


async def test_receiving_a_po_line(rig: Rig) -> None:
    seed_po(rig)
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot, "B-L01")
        await pilot.click("#go-receive")
        await wait_for(pilot, lambda: screen(app) == "ReceiveScreen")
        await scan(pilot, PO)  # opening the PO: once per delivery, not per line
        await wait_for(pilot, lambda: getattr(app.screen, "po", None) is not None)
        by_case = Inputs(pilot)
        await by_case.scan(CUP_CASE)
        await by_case.scan(CUP_CASE)
        await by_case.key("f5")
        await wait_for(pilot, lambda: screen(app) == "QuantityDialog")
        await by_case.tap("#ok")
        await wait_for(pilot, lambda: screen(app) == "ReceiveScreen" and rig.rows(
            "SELECT qty_received FROM purchase_order_lines WHERE po_id = ? AND line_no = 1",
            [PO]) == [(24,)])
        typed = Inputs(pilot)
        await typed.scan(TOWEL)
        await typed.key("f5")
        await wait_for(pilot, lambda: screen(app) == "QuantityDialog")
        for key in ("back", "1", "0"):
            await typed.tap(f"#key-{key}")
        await typed.tap("#ok")
        await wait_for(pilot, lambda: rig.rows(
            "SELECT qty_received FROM purchase_order_lines WHERE po_id = ? AND line_no = 2",
            [PO]) == [(10,)])
    assert (by_case.n, typed.n) == (4, 6)


async def test_counting_a_location(rig: Rig) -> None:
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot, "B-L01")
        await pilot.click("#go-stocktake")
        await wait_for(pilot, lambda: screen(app) == "StocktakeScreen")
        await pilot.click("#start-zone")  # starting the count: once per stocktake
        await wait_for(pilot, lambda: screen(app) == "ChoiceDialog")
        await pilot.click("#choice-0")
        await wait_for(pilot, lambda: getattr(app.screen, "take", None) is not None)

        def counted(location: str) -> bool:
            return bool(rig.rows("SELECT 1 FROM stocktake_rounds WHERE location = ?", [location]))

        as_scanned = Inputs(pilot)
        await as_scanned.scan("A-01-01")
        await as_scanned.scan(CUP_CASE)
        await as_scanned.key("f5")
        await wait_for(pilot, lambda: screen(app) == "QuantityDialog")
        await as_scanned.tap("#ok")
        await wait_for(pilot, lambda: screen(app) == "StocktakeScreen")
        await as_scanned.key("f6")
        await wait_for(pilot, lambda: counted("A-01-01"))
        typed = Inputs(pilot)
        await typed.scan("A-01-02")
        await typed.scan(TOWEL)
        await typed.key("f5")
        await wait_for(pilot, lambda: screen(app) == "QuantityDialog")
        for key in ("clear", "9", "5"):
            await typed.tap(f"#key-{key}")
        await typed.tap("#ok")
        await wait_for(pilot, lambda: screen(app) == "StocktakeScreen")
        await typed.key("f6")
        await wait_for(pilot, lambda: counted("A-01-02"))
    assert rig.rows("SELECT location, sku, counted FROM stocktake_lines ORDER BY location") == [
        ("A-01-01", "CUP-350", 12), ("A-01-02", "TOWEL-W", 95)]
    assert (as_scanned.n, typed.n) == (5, 8)


async def test_a_return_parcel(rig: Rig) -> None:
    seed_return(rig)
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)
        await pilot.click("#go-returns")
        await wait_for(pilot, lambda: screen(app) == "ReturnScreen")
        parcel = Inputs(pilot)
        await parcel.scan("YT7000000001")
        await parcel.scan(TOWEL)
        await parcel.key("f9")
        await wait_for(pilot, lambda: bool(rig.outbox("return")))
    assert rig.rows("SELECT reason, sku, qty_delta FROM stock_moves WHERE source_type = 'return'"
                    ) == [(MoveReason.RETURN, "TOWEL-W", 1)]
    assert parcel.n == 3
