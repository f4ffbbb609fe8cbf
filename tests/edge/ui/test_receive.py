"""收货入库 at the kiosk, driven like a lead (Pilot), each path checked in the DATABASE: the
RECEIVE moves written (qty, location, source), the purchase order lines' received counts,
the outbox, and nothing written when a scan or a receipt is refused."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Label

from edge.ui.app import PacklineApp
from edge.ui.screens.receive import ReceiveScreen
from edge.ui.widgets.buttons import BigButton
from edge.ui.widgets.order_lines import OrderLines
from tests.edge.ui.conftest import (
    SIZE,
    Rig,
    banner_kind,
    banner_text,
    scan,
    sign_in_by_badge,
    wait_for,
)

CUP, CUP_CASE, TOWEL, SOCK = "6901234567892", "16901234567899", "6909876543210", "6905555000017"
PO = "CG-1123-01"


def seed_po(rig: Rig) -> None:
    """PO ``CG-1123-01`` from 义乌小商品 for WH1: line 1 CUP-350 × 24, line 2 TOWEL-W × 10,
    line 3 BAG-L × 5 (a SKU without a barcode); ``CG-1123-02`` from 永康 for WH1, one line."""
    w = rig.store.writer
    w.upsert_skus([{"sku": "BAG-L", "name_zh": "无纺布袋 大", "unit_weight_g": 30,
                    "default_location": "A-01-02"}])
    w.upsert_purchase_order(
        {"po_id": PO, "supplier": "义乌小商品", "warehouse_id": "WH1", "status": "open",
         "expected_at": "2026-11-23"},
        [{"line_no": 1, "sku": "CUP-350", "qty_ordered": 24},
         {"line_no": 2, "sku": "TOWEL-W", "qty_ordered": 10},
         {"line_no": 3, "sku": "BAG-L", "qty_ordered": 5}])
    w.upsert_purchase_order(
        {"po_id": "CG-1123-02", "supplier": "永康五金", "warehouse_id": "WH1", "status": "open",
         "expected_at": "2026-11-24"},
        [{"line_no": 1, "sku": "TOWEL-W", "qty_ordered": 20}])


def receive_moves(rig: Rig) -> list[tuple[Any, ...]]:
    return rig.rows(
        "SELECT sku, location, qty_delta, reason, source_type, source_id, source_line, "
        "operator_id, note FROM stock_moves WHERE source_id = ? ORDER BY seq", [PO])


def received(rig: Rig) -> dict[int, int]:
    return dict(rig.rows("SELECT line_no, qty_received FROM purchase_order_lines "  # type: ignore[arg-type]
                         "WHERE po_id = ?", [PO]))


def receiving(app: PacklineApp) -> ReceiveScreen:
    """The receiving screen, typed (fails when another screen shows)."""
    assert isinstance(app.screen, ReceiveScreen)
    return app.screen


def name(app: PacklineApp) -> str:
    return type(app.screen).__name__


async def open_receive(pilot: Pilot[Any], po: str | None = PO) -> None:
    """Sign in as lead L01, open 收货入库 and (by scanning its number) the order."""
    app = pilot.app
    assert isinstance(app, PacklineApp)
    await sign_in_by_badge(pilot, "B-L01")
    await pilot.click("#go-receive")
    await wait_for(pilot, lambda: name(app) == "ReceiveScreen")
    if po is not None:
        await scan(pilot, po)
        await wait_for(pilot, lambda: getattr(app.screen, "po", None) is not None)


async def keypad(pilot: Pilot[Any], *keys: str) -> None:
    """Tap keys on the open keypad dialog, then OK."""
    app = pilot.app
    await wait_for(pilot, lambda: name(app) == "QuantityDialog")  # type: ignore[arg-type]
    for key in keys:
        await pilot.click(f"#key-{key}")
    await pilot.click("#ok")


async def confirm(pilot: Pilot[Any], *keys: str) -> None:
    await pilot.click("#confirm")
    await keypad(pilot, *keys)


def shown(app: PacklineApp, widget: str) -> str:
    return str(app.screen.query_one(widget, Label).render())


async def test_a_packer_does_not_get_the_receiving_screen(rig: Rig) -> None:
    seed_po(rig)
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)  # P01, a packer
        assert not app.screen.query_one("#go-receive").display
        app.open_receive()
        await pilot.pause()
        assert name(app) == "HomeScreen"
        assert banner_kind(app) == "error" and "打包员 不能收货入库" in banner_text(app)


async def test_scan_the_order_items_and_a_case_then_correct_on_the_keypad(rig: Rig) -> None:
    seed_po(rig)
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_receive(pilot)
        assert "义乌小商品" in banner_text(app)
        await scan(pilot, CUP)  # 1
        await scan(pilot, CUP_CASE)  # + 12
        assert "本次 13 件" in banner_text(app)
        assert shown(app, "#line-pending") == "本次扫描: 13 件"
        assert ("CUP-350", "保温杯 350ml", "A-01-01", "0/24 +13") in \
            app.screen.query_one(OrderLines).texts()
        await pilot.click("#confirm")
        await wait_for(pilot, lambda: name(app) == "QuantityDialog")
        assert str(app.screen.query_one("#pin-dots", Label).render()) == "13"
        await keypad(pilot, "back", "2")  # one cup was counted twice: 12
        await wait_for(pilot, lambda: banner_kind(app) == "ok")
        assert "已入库 CUP-350 × 12 @ A-01-01，库存 112" in banner_text(app)
        assert shown(app, "#line-count") == "已收 12 / 采购 24"
    assert receive_moves(rig) == [
        ("CUP-350", "A-01-01", 12, 10, "po", PO, "1", "L01", None)]
    assert received(rig) == {1: 12, 2: 0, 3: 0}
    assert rig.store.queries.balance("CUP-350", "A-01-01") == 112  # 100 seeded + 12
    (move,) = [m for m in rig.outbox("move") if m.get("source_id") == PO]
    assert (move["qty_delta"], move["location"], move["source_line"]) == (12, "A-01-01", "1")


async def test_over_receipt_needs_a_reason(rig: Rig) -> None:
    seed_po(rig)
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_receive(pilot)
        await scan(pilot, CUP_CASE)
        await scan(pilot, CUP_CASE)
        await scan(pilot, CUP)  # 25 of 24
        await confirm(pilot)
        await wait_for(pilot, lambda: name(app) == "ReasonDialog")
        await pilot.click("#cancel")
        await wait_for(pilot, lambda: name(app) == "ReceiveScreen")
        assert banner_kind(app) == "error" and "超收 1 件未记录" in banner_text(app)
        assert receive_moves(rig) == [] and received(rig)[1] == 0
        await confirm(pilot)  # the 25 are still scanned
        await wait_for(pilot, lambda: name(app) == "ReasonDialog")
        await pilot.click("#reason-supplier_extra")
        await wait_for(pilot, lambda: banner_kind(app) == "ok")
    assert receive_moves(rig) == [
        ("CUP-350", "A-01-01", 25, 10, "po", PO, "1", "L01", "供应商多发 / Supplier sent extra")]
    assert received(rig)[1] == 25
    (audit,) = rig.store.queries.audit_log("po.over_receipt")
    assert audit["actor"] == "L01" and "供应商多发" in audit["detail"]


async def test_unknown_codes_and_items_not_on_the_order_record_nothing(rig: Rig) -> None:
    seed_po(rig)
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_receive(pilot, po=None)
        await scan(pilot, "CG-NOPE")
        assert banner_kind(app) == "error" and "没有待收货的采购单 CG-NOPE" in banner_text(app)
        await scan(pilot, PO)
        await scan(pilot, "XYZ-123")
        assert banner_kind(app) == "error" and "无法识别的条码: XYZ-123" in banner_text(app)
        await scan(pilot, SOCK)
        assert banner_kind(app) == "error"
        assert "SOCK-M 运动袜 M码 不在采购单 CG-1123-01 上" in banner_text(app)
        assert receiving(app).pending == 0
        await pilot.click("#confirm")
        assert "请先扫描商品" in banner_text(app)
        await scan(pilot, CUP)
        await scan(pilot, TOWEL)  # another line while a cup waits for its confirmation
        assert "请先确认第 1 行的 1 件" in banner_text(app)
        assert app.bells == 5
    assert receive_moves(rig) == [] and received(rig) == {1: 0, 2: 0, 3: 0}


async def test_put_away_location_scanned_or_chosen(rig: Rig) -> None:
    seed_po(rig)
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_receive(pilot, po=None)
        await pilot.click("#po-1")  # 永康五金 (expected a day later)
        assert (receiving(app).po or {}).get("po_id") == "CG-1123-02"
        await pilot.click("#change-po")
        await pilot.click("#po-0")
        assert (receiving(app).po or {}).get("po_id") == PO
        await scan(pilot, "A-01-01")
        assert "请先扫描商品" in banner_text(app)
        await scan(pilot, TOWEL)
        assert shown(app, "#line-location") == "上架库位: A-01-02"  # the SKU's default
        await scan(pilot, "Y-01-01")
        assert banner_kind(app) == "error" and "Y-01-01 不属于本采购单的仓库" in banner_text(app)
        await scan(pilot, "A-01-01")
        assert shown(app, "#line-location") == "上架库位: A-01-01"
        await confirm(pilot)
        await wait_for(pilot, lambda: banner_kind(app) == "ok")
        await scan(pilot, TOWEL)
        await scan(pilot, TOWEL)
        await pilot.click("#location")
        await wait_for(pilot, lambda: name(app) == "ChoiceDialog")
        await pilot.click("#choice-1")  # A-01-02 (default), after A-01-01
        await wait_for(pilot, lambda: name(app) == "ReceiveScreen")
        assert shown(app, "#line-location") == "上架库位: A-01-02"
        await confirm(pilot)
        await wait_for(pilot, lambda: received(rig)[2] == 3)
    assert receive_moves(rig) == [
        ("TOWEL-W", "A-01-01", 1, 10, "po", PO, "2", "L01", None),
        ("TOWEL-W", "A-01-02", 2, 10, "po", PO, "2", "L01", None)]


async def test_goods_labels_for_a_sku_without_barcode_and_english(rig: Rig) -> None:
    seed_po(rig)
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_receive(pilot)
        await scan(pilot, "BAG-L")  # a label printed here carries the SKU code
        assert "BAG-L 无纺布袋 大 +1" in banner_text(app)
        await pilot.click("#labels")
        await keypad(pilot, "clear", "5")
        await wait_for(pilot, lambda: len(rig.label.jobs) == 1)
        await wait_for(pilot, lambda: banner_kind(app) == "ok")
        assert "已打印 5 张 BAG-L 标签" in banner_text(app)
        await pilot.press("f12")
        await pilot.pause()
        assert "Printed 5 labels for BAG-L" in banner_text(app)
        assert str(app.screen.query_one("#confirm", BigButton).label) == "Confirm qty"
        assert shown(app, "#line-info") == "Line 3  BAG-L  无纺布袋 大"  # no English name
        await scan(pilot, TOWEL)
        assert "Confirm or clear the 1 units of line 3 first" in banner_text(app)
    job = rig.label.jobs[0]
    assert job.startswith(b"SIZE 60 mm,40 mm\r\n")
    assert b'BARCODE 16,48,"128",96,1,0,2,4,"BAG-L"\r\n' in job
    assert job.endswith(b"PRINT 1,5\r\n")
    assert receive_moves(rig) == []
