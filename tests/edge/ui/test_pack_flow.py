"""The kiosk driven like a packer (Pilot), each path checked in the DATABASE.

Scans are typed through the app's key path (the keyboard wedge); weights come from an
in-process FakeScale polled by the app's scale worker; labels go to FakePrinters.
"""

from __future__ import annotations

import json

from edge.domain.models import MoveReason
from edge.ui.app import PacklineApp
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


def step(app: PacklineApp) -> str:
    return str(getattr(app.screen, "step", ""))


def counts(app: PacklineApp) -> dict[str, int]:
    packer = app.screen.packer  # type: ignore[attr-defined]
    return dict(packer.session.counts) if packer.session else {}


async def test_single_item_scan_weigh_print_ship(rig: Rig) -> None:
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)
        await scan(pilot, CUP)  # on the home screen: 爆款单品扫描即打印
        await wait_for(pilot, lambda: step(app) == "weigh")
        assert "验货完成 PDD-240001" in banner_text(app)
        rig.scale.put(352)
        await wait_for(pilot, lambda: step(app) == "shipped")
        assert banner_kind(app) == "ok" and "已发货 PDD-240001" in banner_text(app)
    assert rig.status("O1") == "shipped" and rig.status("O2") == "waiting"
    assert rig.ship_moves("O1") == [("CUP-350", "A-01-01", -1)]
    assert rig.store.queries.balance("CUP-350", "A-01-01") == 99
    (shipment,) = rig.outbox("shipment")
    assert {k: shipment[k] for k in ("order_id", "platform_order_no", "waybill_no", "carrier",
                                     "weight_g", "operator_id")} == {
        "order_id": "O1", "platform_order_no": "PDD-240001", "waybill_no": "SF1001",
        "carrier": "SF", "weight_g": 352, "operator_id": "P01"}
    assert rig.rows("SELECT order_id, kind, is_reprint, operator_id FROM print_log") == [
        ("O1", "label", 0, "P01")]
    assert rig.rows("SELECT order_id, grams, expected_g, within_tolerance, override_by FROM weigh_log") == [
        ("O1", 352, 350, 1, None)]
    assert len(rig.label.jobs) == 1 and b"SF1001" in rig.label.jobs[0]
    assert rig.label.jobs[0].startswith(b"SIZE 100 mm,180 mm")


async def test_multi_item_wrong_and_extra_items_are_refused(rig: Rig) -> None:
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)
        await pilot.click("#go-pack")
        await scan(pilot, "SF1003")
        assert step(app) == "verify" and "TB-240003" in banner_text(app)
        await scan(pilot, SOCK)
        assert banner_kind(app) == "error" and "错货" in banner_text(app) and "运动袜" in banner_text(app)
        assert app.bells == 1
        await scan(pilot, CUP)
        await scan(pilot, CUP)
        assert banner_kind(app) == "error" and "多货" in banner_text(app) and app.bells == 2
        assert counts(app) == {"CUP-350": 1, "TOWEL-W": 0}
        await scan(pilot, TOWEL)
        await scan(pilot, TOWEL)
        await wait_for(pilot, lambda: step(app) == "weigh")
        rig.scale.put(570 - 40)
        await wait_for(pilot, lambda: step(app) == "shipped")
    assert rig.ship_moves("O3") == [("CUP-350", "A-01-01", -1), ("TOWEL-W", "A-01-02", -2)]
    assert rig.rows("SELECT COUNT(*) FROM stock_moves WHERE sku = 'SOCK-M' AND reason = ?",
                    [int(MoveReason.SHIP)]) == [(0,)]
    assert rig.rows("SELECT grams, expected_g, within_tolerance FROM weigh_log") == [(530, 570, 1)]
    (shipment,) = rig.outbox("shipment")
    assert shipment["order_id"] == "O3"
    assert (shipment["kpis"]["rejected_scans"], shipment["kpis"]["weighings"]) == (2, 1)


async def test_case_barcode_counts_twelve(rig: Rig) -> None:
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)
        await pilot.click("#go-pack")
        await scan(pilot, "JD-240004")  # by platform order number
        await scan(pilot, CUP)
        assert counts(app) == {"CUP-350": 1}
        await scan(pilot, CUP_CASE)  # 1 + 12 > 12: refused
        assert banner_kind(app) == "error" and counts(app) == {"CUP-350": 1}
        await pilot.click("#drop")
        await pilot.click("#yes")
        assert step(app) == "idle"
        await scan(pilot, CUP_CASE)  # the case alone opens and completes the 12-cup order
        await wait_for(pilot, lambda: step(app) == "weigh")
        assert counts(app) == {"CUP-350": 12}
        rig.scale.put(12 * 320 + 30 + 150)  # inside max(50 g, 5 % of 3870 g = 194 g)
        await wait_for(pilot, lambda: step(app) == "shipped")
    assert rig.ship_moves("O4") == [("CUP-350", "A-01-01", -12)]
    assert rig.status("O1") == "waiting"


async def test_out_of_tolerance_blocks_until_reweighed(rig: Rig) -> None:
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)
        await pilot.click("#go-pack")
        await scan(pilot, "SF1001")
        await scan(pilot, CUP)
        rig.scale.put(500)
        await wait_for(pilot, lambda: step(app) == "weigh_failed")
        assert banner_kind(app) == "error" and "重量不符" in banner_text(app)
        assert "500 g" in banner_text(app) and "350 g" in banner_text(app)
        await pilot.pause(0.1)
        assert rig.status("O1") == "waiting" and rig.label.jobs == []
        assert rig.rows("SELECT COUNT(*) FROM print_log") == [(0,)]
        rig.scale.put(345)  # readings are ignored until the packer asks to weigh again
        await pilot.pause(0.1)
        assert step(app) == "weigh_failed"
        await pilot.click("#reweigh")
        await wait_for(pilot, lambda: step(app) == "shipped")
    assert rig.rows("SELECT grams, within_tolerance, override_by FROM weigh_log ORDER BY weigh_id") == [
        (500, 0, None), (345, 1, None)]
    assert rig.outbox("shipment")[0]["weight_g"] == 345
    assert rig.outbox("shipment")[0]["kpis"]["weighings"] == 2
    assert rig.outbox("shipment")[0]["kpis"]["weight_overrides"] == 0


async def test_lead_override_by_badge_and_reason(rig: Rig) -> None:
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)  # a packer: the override needs a lead
        await pilot.click("#go-pack")
        await scan(pilot, "SF1001")
        await scan(pilot, CUP)
        rig.scale.put(480)
        await wait_for(pilot, lambda: step(app) == "weigh_failed")
        await pilot.click("#override")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "LeadOverrideDialog")
        await scan(pilot, "B-P01")  # a packer's badge is not enough
        assert "需要组长权限" in str(app.screen.query_one("#lead-error").render())
        await scan(pilot, "B-L01")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ReasonDialog")
        await pilot.click("#reason-gift")
        await wait_for(pilot, lambda: step(app) == "shipped")
    assert rig.rows("SELECT grams, within_tolerance, override_by, override_reason, operator_id "
                    "FROM weigh_log ORDER BY weigh_id") == [
        (480, 0, None, None, "P01"), (480, 0, "L01", "加了赠品 / Gift added", "P01")]
    (audit,) = rig.store.queries.audit_log("pack.weight_override")
    assert audit["actor"] == "L01" and audit["subject"] == "O1"
    assert json.loads(audit["detail"])["reason"] == "加了赠品 / Gift added"
    assert rig.outbox("shipment")[0]["weight_g"] == 480
    assert rig.outbox("shipment")[0]["kpis"]["weight_overrides"] == 1
    assert rig.status("O1") == "shipped"


async def test_lead_override_by_pin(rig: Rig) -> None:
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)
        await pilot.click("#go-pack")
        await scan(pilot, "SF1001")
        await scan(pilot, CUP)
        rig.scale.put(200)
        await wait_for(pilot, lambda: step(app) == "weigh_failed")
        await pilot.click("#override")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "LeadOverrideDialog")
        await pilot.click("#lead-L01")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "PinDialog")
        for digit in "1234":  # wrong PIN
            await pilot.click(f"#key-{digit}")
        await pilot.click("#ok")
        await wait_for(pilot, lambda: "密码错误" in str(app.screen.query_one("#lead-error").render()))
        await pilot.click("#lead-L01")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "PinDialog")
        for digit in "9999":
            await pilot.click(f"#key-{digit}")
        await pilot.click("#ok")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ReasonDialog")
        await pilot.click("#reason-checked")
        await wait_for(pilot, lambda: step(app) == "shipped")
    assert rig.rows("SELECT override_by, override_reason FROM weigh_log WHERE override_by IS NOT NULL") == [
        ("L01", "已人工复核 / Checked by hand")]
    assert rig.status("O1") == "shipped"


async def test_lead_signed_in_overrides_without_a_second_badge(rig: Rig) -> None:
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot, "B-L01")
        await pilot.click("#go-pack")
        await scan(pilot, "SF1001")
        await scan(pilot, CUP)
        rig.scale.put(1000)
        await wait_for(pilot, lambda: step(app) == "weigh_failed")
        await pilot.click("#override")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ReasonDialog")
        await pilot.click("#reason-packaging")
        await wait_for(pilot, lambda: step(app) == "shipped")
    assert rig.rows("SELECT override_by, operator_id FROM weigh_log WHERE override_by IS NOT NULL") == [
        ("L01", "L01")]


async def test_intercepted_order_is_blocked_at_the_first_scan(rig: Rig) -> None:
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)
        await pilot.click("#go-pack")
        await scan(pilot, "SF1005")
        assert banner_kind(app) == "error" and app.bells == 1
        assert "订单已拦截" in banner_text(app) and "买家申请退款" in banner_text(app)
        assert step(app) == "idle"
        await scan(pilot, TOWEL)  # the intercepted order is not opened by its item either
        assert banner_kind(app) == "error"
        rig.scale.put(140)
        await pilot.pause(0.1)
    assert rig.status("O5") == "intercepted"
    assert rig.ship_moves("O5") == []
    assert rig.rows("SELECT COUNT(*) FROM print_log") == [(0,)]
    assert rig.rows("SELECT COUNT(*) FROM weigh_log") == [(0,)]
    assert rig.outbox("shipment") == []


async def test_printer_out_of_paper_leaves_the_order_unshipped(rig: Rig) -> None:
    rig.label.out_of_paper = True
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)
        await pilot.click("#go-pack")
        await scan(pilot, "SF1001")
        await scan(pilot, CUP)
        rig.scale.put(350)
        await wait_for(pilot, lambda: step(app) == "print_failed")
        assert banner_kind(app) == "error" and "缺纸" in banner_text(app)
        await wait_for(pilot, lambda: app.device_states["label_printer"] == "error")
        assert rig.status("O1") == "waiting"
        assert rig.rows("SELECT COUNT(*) FROM print_log") == [(0,)]
        assert rig.ship_moves("O1") == [] and rig.outbox("shipment") == []
        rig.label.out_of_paper = False
        await pilot.click("#retry-print")
        await wait_for(pilot, lambda: step(app) == "shipped")
        assert app.device_states["label_printer"] == "ok"
    assert rig.rows("SELECT is_reprint FROM print_log") == [(0,)]
    assert rig.status("O1") == "shipped" and len(rig.label.jobs) == 1


async def test_reprint_needs_a_reason_and_is_counted(rig: Rig) -> None:
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)
        await pilot.click("#go-pack")
        await scan(pilot, "SF1001")
        await scan(pilot, CUP)
        rig.scale.put(350)
        await wait_for(pilot, lambda: step(app) == "shipped")
        await pilot.click("#reprint")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ReasonDialog")
        await pilot.click("#cancel")  # no reason, no reprint
        await pilot.pause(0.1)
        assert len(rig.label.jobs) == 1
        await pilot.click("#reprint")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ReasonDialog")
        await pilot.click("#reason-jam")
        await wait_for(pilot, lambda: len(rig.label.jobs) == 2)
        await wait_for(pilot, lambda: "第 2 次打印" in banner_text(app))
    assert rig.rows("SELECT kind, is_reprint, reason FROM print_log ORDER BY print_id") == [
        ("label", 0, None), ("label", 1, "卡纸 / Paper jam")]
    (audit,) = rig.store.queries.audit_log("pack.reprint")
    assert audit["actor"] == "P01" and json.loads(audit["detail"])["reason"] == "卡纸 / Paper jam"
    assert rig.label.jobs[0] == rig.label.jobs[1]
    assert len(rig.outbox("shipment")) == 1  # a reprint never ships twice


async def test_insufficient_stock_prints_no_label(rig: Rig) -> None:
    """The station checks the shipment can commit before it prints: no label goes out for
    a parcel that cannot ship (it once printed, then shipping failed on stock)."""
    rig.store.writer.adjust(sku="CUP-350", location="A-01-01", qty_delta=-100, operator_id="L01",
                            note="盘亏 / count loss")
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)
        await pilot.click("#go-pack")
        await scan(pilot, "SF1001")
        await scan(pilot, CUP)
        rig.scale.put(350)
        await wait_for(pilot, lambda: step(app) == "print_failed")
        assert banner_kind(app) == "error" and "库存不足, 未打印面单" in banner_text(app)
        assert app.screen.query_one("#count-fix").display
    assert rig.status("O1") == "waiting" and rig.label.jobs == []
    assert rig.ship_moves("O1") == [] and rig.outbox("shipment") == []
    assert rig.rows("SELECT COUNT(*) FROM print_log") == [(0,)]


async def test_a_lead_counts_the_goods_in_hand_and_the_parcel_ships(rig: Rig) -> None:
    books = rig.store.queries.balance("CUP-350", "A-01-01")
    rig.store.writer.adjust(sku="CUP-350", location="A-01-01", qty_delta=-books,
                            operator_id="L01", note="盘亏 / count loss")  # the books say 0
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot, "B-L01")
        await pilot.click("#go-pack")
        await scan(pilot, "SF1001")
        await scan(pilot, CUP)
        rig.scale.put(350)
        await wait_for(pilot, lambda: step(app) == "print_failed")
        await pilot.click("#count-fix")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "CountDialog")
        assert "账面可发 0, 本单需要 1" in str(app.screen.query_one("#count-title").render())
        await pilot.click("#key-6")
        await pilot.click("#ok")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ReasonDialog")
        await pilot.click("#reason-unrecorded_receipt")
        await wait_for(pilot, lambda: step(app) == "shipped")
    # the count set the books to the 6 in hand; the parcel took 1
    assert rig.rows("SELECT reason, qty_delta, balance_after, source_type, source_id, operator_id, "
                    "note FROM stock_moves WHERE sku = 'CUP-350' ORDER BY rowid DESC LIMIT 2") == [
        (31, -1, 5, "order", "O1", "L01", None),
        (40, 6, 6, "count", "O1", "L01", "到货未入账 / Received, not recorded")]
    (audit,) = rig.store.queries.audit_log("pack.count_fix")
    assert json.loads(audit["detail"])["delta"] == 6
    assert len(rig.label.jobs) == 1 and rig.status("O1") == "shipped"


async def test_device_scanner_scans_like_the_keyboard(rig: Rig) -> None:
    app = rig.app(with_scanner=True)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)
        await pilot.click("#go-pack")
        rig.scanner.feed("SF1003")
        await wait_for(pilot, lambda: step(app) == "verify")
        rig.scanner.feed(CUP, TOWEL, TOWEL)
        await wait_for(pilot, lambda: step(app) == "weigh")
        assert counts(app) == {"CUP-350": 1, "TOWEL-W": 2}


async def test_packing_slip_prints_after_the_label_and_never_blocks_shipping(rig: Rig) -> None:
    app = rig.app(print_slip=True)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)
        await pilot.click("#go-pack")
        await scan(pilot, "SF1003")
        for code in (CUP, TOWEL, TOWEL):
            await scan(pilot, code)
        rig.scale.put(575)
        await wait_for(pilot, lambda: step(app) == "shipped")
        assert len(rig.slip.jobs) == 1 and b"SF1003" in rig.slip.jobs[0]
        assert "装箱单".encode("gb18030") in rig.slip.jobs[0]
        rig.slip.out_of_paper = True
        await pilot.click("#back")
        await scan(pilot, CUP)  # O1, single item, on a new pack screen
        await wait_for(pilot, lambda: step(app) == "weigh")
        await pilot.pause(0.1)
        # The last parcel (575 g) is still on the scale: it is not taken as O1's weight.
        assert step(app) == "weigh"
        assert "请先取下上一个包裹" in str(app.screen.query_one("#weigh-hint").render())
        rig.scale.remove()
        await pilot.pause(0.1)
        rig.scale.put(350)
        await wait_for(pilot, lambda: step(app) == "shipped")
        await wait_for(pilot, lambda: app.device_states["slip_printer"] == "error")
    assert rig.rows("SELECT order_id, kind FROM print_log ORDER BY print_id") == [
        ("O3", "label"), ("O3", "slip"), ("O1", "label")]
    assert rig.status("O1") == "shipped"


async def test_an_order_changed_after_the_first_scan_is_refused_with_a_banner(rig: Rig) -> None:
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)
        await pilot.click("#go-pack")
        await scan(pilot, "SF1001")
        with rig.store.writer.transaction() as db:  # a newer waybill arrived from the cloud
            db.execute("UPDATE orders SET waybill_no = 'SF9001' WHERE order_id = 'O1'")
        await scan(pilot, CUP)
        rig.scale.put(350)
        await wait_for(pilot, lambda: step(app) == "print_failed")  # no label either
        assert banner_kind(app) == "error"
        assert "订单在扫描后已更新" in banner_text(app) and "Traceback" not in banner_text(app)
        assert rig.label.jobs == []
    assert rig.status("O1") == "waiting"
    assert rig.ship_moves("O1") == [] and rig.outbox("shipment") == []


async def test_a_late_parcel_is_flagged_when_it_is_opened(rig: Rig) -> None:
    """The platform's ship-by deadline rides with the task; past it (on the station's
    clock) the kiosk says so in red and keeps a ⚠ line above the items."""
    with rig.store.writer.transaction() as db:
        db.execute("UPDATE orders SET ship_by = '2020-01-01T02:00:00+00:00' WHERE order_id = 'O1'")
        db.execute("UPDATE orders SET ship_by = '2999-01-01T00:00:00+00:00' WHERE order_id = 'O3'")
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)
        await pilot.click("#go-pack")
        await scan(pilot, "SF1001")
        assert banner_kind(app) == "error"
        assert "已超发货时限 (01-01 02:00)" in banner_text(app)  # the rig shows UTC
        assert "⚠ 已超发货时限 01-01 02:00" in str(app.screen.query_one("#order-note").render())
        await pilot.press("f9")  # drop it; an order due in the future is not flagged
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog")
        await pilot.click("#yes")
        await scan(pilot, "SF1003")
        assert banner_kind(app) != "error"
        assert "⚠" not in str(app.screen.query_one("#order-note").render())
