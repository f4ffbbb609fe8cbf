"""退货入库 at the kiosk, driven like a packer at the returns bench (Pilot), each path checked
in the DATABASE: the RETURN moves and where they put the goods, the return lines, the
``return`` outbox message, and nothing written when a scan is refused.

Orders of ``tests.fixtures.pack_orders``; O3 (TB-240003, waybill SF1003: CUP-350 ×1,
TOWEL-W ×2) is shipped, and its towels' after-sales request came from the cloud with the
return parcel's tracking number YT7000000001. Stock starts at 100 of each SKU."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from edge.domain.models import MoveReason
from edge.store.returns import ReturnWriter
from edge.sync.schema import ReturnWire
from edge.ui.app import PacklineApp
from edge.ui.screens.returns import ReturnScreen
from tests.edge.ui.conftest import (
    SIZE,
    Rig,
    banner_kind,
    banner_text,
    scan,
    sign_in_by_badge,
    wait_for,
)

TOWEL, SOCK, CUP_CASE = "6909876543210", "6905555000017", "16901234567899"
"""Barcodes: a towel, a sock (never in O3), a case of 12 cups."""


def seed_return(rig: Rig) -> None:
    """O3 shipped; a damage location DMG-01 (zone DMG); the towels' return request."""
    rig.store.writer.upsert_locations([{"code": "DMG-01", "warehouse_id": "WH1", "zone": "DMG",
                                        "bin": "01", "name": "残次品区"}])
    with rig.store.writer.transaction() as db:
        db.execute("UPDATE orders SET status = 'shipped', shipped_at = ?, shipped_by = 'P01' "
                   "WHERE order_id = 'O3'", ["2026-11-23T07:30:00+00:00"])
    ReturnWriter(rig.store.writer).apply_refund({
        "refund_id": "7000000001", "order_id": "O3", "platform_order_no": "TB-240003",
        "status": "pending", "exchange": 0, "return_waybill": "YT7000000001",
        "return_carrier": "圆通速递", "sku": "TOWEL-W", "qty": 2, "amount_fen": 3980,
        "updated_at": "2026-11-24T02:00:00Z"})


def returning(app: PacklineApp) -> ReturnScreen:
    assert isinstance(app.screen, ReturnScreen)
    return app.screen


async def open_returns(pilot: Pilot[Any], badge: str = "B-P01") -> None:
    app = pilot.app
    assert isinstance(app, PacklineApp)
    await sign_in_by_badge(pilot, badge)
    await pilot.click("#go-returns")
    await wait_for(pilot, lambda: isinstance(app.screen, ReturnScreen))


def balance(rig: Rig, sku: str, location: str) -> int:
    return rig.store.queries.balance(sku, location)


def return_moves(rig: Rig) -> list[tuple[Any, ...]]:
    return rig.rows("SELECT reason, sku, location, qty_delta, source_id, source_line "
                    "FROM stock_moves WHERE source_type = 'return' OR reverses_move_id IN "
                    "(SELECT move_id FROM stock_moves WHERE source_type = 'return') ORDER BY seq")


async def test_a_parcel_found_by_its_return_waybill_inspected_and_finished(rig: Rig) -> None:
    seed_return(rig)
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_returns(pilot)
        await scan(pilot, "NOPE-1")
        assert banner_kind(app) == "error" and "找不到" in banner_text(app)
        assert rig.rows("SELECT * FROM returns") == []
        await scan(pilot, "YT7000000001")
        screen = returning(app)
        assert screen.return_id == "ST1-RT00001" and screen.match is not None
        assert "按退货运单号找到" in banner_text(app)
        await scan(pilot, TOWEL)  # good: back at its default location
        assert banner_kind(app) == "ok" and "A-01-02" in banner_text(app)
        await pilot.press("f6")  # damaged mode
        await scan(pilot, TOWEL)
        assert "DMG-01" in banner_text(app)
        await scan(pilot, TOWEL)  # a third towel: refused, nothing written
        assert banner_kind(app) == "error" and "最多还能退 0 件" in banner_text(app)
        await scan(pilot, SOCK)  # never in the order: recorded as not ours, loudly
        assert banner_kind(app) == "error" and "不是本订单的商品" in banner_text(app)
        await pilot.press("f9")
        await wait_for(pilot, lambda: screen.return_id is None)
        assert "良品 1，残次 1，非本单 1" in banner_text(app)

    assert balance(rig, "TOWEL-W", "A-01-02") == 101 and balance(rig, "TOWEL-W", "DMG-01") == 1
    assert balance(rig, "SOCK-M", "Y-01-01") == 100
    assert return_moves(rig) == [
        (MoveReason.RETURN, "TOWEL-W", "A-01-02", 1, "ST1-RT00001", "1"),
        (MoveReason.RETURN, "TOWEL-W", "DMG-01", 1, "ST1-RT00001", "2")]
    sent = rig.outbox("return")
    assert len(sent) == 1
    wire = ReturnWire.model_validate(sent[0])
    assert (wire.order_id, wire.refund_id, wire.operator_id, wire.exchange) == (
        "O3", "7000000001", "P01", False)
    assert [(ln.sku, ln.condition, ln.in_order) for ln in wire.lines] == [
        ("TOWEL-W", "good", True), ("TOWEL-W", "damaged", True), ("SOCK-M", "wrong", False)]
    assert len(rig.outbox("move")) >= 2  # the RETURN moves travel as ordinary moves


async def test_undo_exchange_location_scan_and_resume_after_a_restart(rig: Rig) -> None:
    seed_return(rig)
    app = rig.app(lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await open_returns(pilot)
        await scan(pilot, "SF1003")  # the waybill it went out with
        assert "original waybill" in banner_text(app)
        await scan(pilot, "A-01-01")  # good items now go here
        await scan(pilot, TOWEL)
        assert "A-01-01" in banner_text(app)
        await pilot.press("f8")
        assert "Taken back" in banner_text(app)
        await scan(pilot, CUP_CASE)  # 12 cups, 1 shipped
        assert "can take back 1 more, 12 scanned" in banner_text(app)
        await scan(pilot, TOWEL)
        await pilot.click("#exchange")
        await pilot.click("#back")  # an item inspected: the return stays open
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HomeScreen")
    assert balance(rig, "TOWEL-W", "A-01-01") == 1
    assert [m[2:4] for m in return_moves(rig)] == [("A-01-01", 1), ("A-01-01", -1),
                                                   ("A-01-01", 1)]
    assert rig.rows("SELECT status, exchange FROM returns") == [("open", 1)]

    again = rig.app()
    async with again.run_test(size=SIZE) as pilot:
        await open_returns(pilot)
        screen = returning(again)
        assert screen.return_id == "ST1-RT00001" and screen.exchange
        assert "继续未完成的退货" in banner_text(again)
        await pilot.press("f9")
        await wait_for(pilot, lambda: screen.return_id is None)
    wire = ReturnWire.model_validate(rig.outbox("return")[0])
    assert wire.exchange and [(ln.sku, ln.qty, ln.location) for ln in wire.lines] == [
        ("TOWEL-W", 1, "A-01-01")]


async def test_an_order_not_shipped_is_refused_and_leaving_empty_drops_the_return(rig: Rig) -> None:
    seed_return(rig)
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_returns(pilot, "B-L01")
        await scan(pilot, "SF1001")  # O1 still waits to be packed
        assert banner_kind(app) == "error" and "未从本站发货" in banner_text(app)
        await scan(pilot, "TB-240003")
        assert returning(app).return_id is not None
        await pilot.press("f9")  # nothing inspected yet
        assert banner_kind(app) == "error" and "还没有验收" in banner_text(app)
        await pilot.click("#back")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HomeScreen")
    assert rig.rows("SELECT * FROM returns") == [] and rig.outbox("return") == []
