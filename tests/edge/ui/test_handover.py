"""快递交接 at the kiosk, driven like a packer (Pilot), each path checked in the DATABASE:
the batch and parcel rows written, the ``handover`` outbox message, the printed list, and
nothing written when a scan is refused (wrong courier, unknown waybill, not shipped,
duplicate, already handed over)."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Label, Static

from edge.errors import PrinterError
from edge.sync.schema import HandoverWire
from edge.ui.app import PacklineApp
from edge.ui.screens.handover import HandoverScreen
from tests.edge.ui.conftest import (
    SIZE,
    Rig,
    banner_kind,
    banner_text,
    scan,
    sign_in_by_badge,
    wait_for,
)

SHIPPED_AT = "2026-11-23T07:30:00+00:00"
"""When the seeded parcels shipped (the store clock starts at 08:00 the same day)."""


def seed_shipped(rig: Rig) -> None:
    """Parcels shipped at this station: SF1001 and SF1002 with 顺丰 (SF); SF1003 and SF1006
    re-labelled with 中通 (ZTO). SF1004 still waits to be packed, SF1005 is intercepted."""
    with rig.store.writer.transaction() as db:
        for order_id, carrier in (("O1", "SF"), ("O2", "SF"), ("O3", "ZTO"), ("O6", "ZTO")):
            db.execute("UPDATE orders SET status = 'shipped', carrier = ?, shipped_at = ?, "
                       "shipped_by = 'P01' WHERE order_id = ?", [carrier, SHIPPED_AT, order_id])


def name(app: PacklineApp) -> str:
    return type(app.screen).__name__


def handing(app: PacklineApp) -> HandoverScreen:
    assert isinstance(app.screen, HandoverScreen)
    return app.screen


async def open_handover(pilot: Pilot[Any], badge: str = "B-P01", courier: str | None = "SF") -> None:
    """Sign in (a packer by default), open 快递交接 and scan the courier's code."""
    app = pilot.app
    assert isinstance(app, PacklineApp)
    await sign_in_by_badge(pilot, badge)
    await pilot.click("#go-handover")
    await wait_for(pilot, lambda: name(app) == "HandoverScreen")
    if courier is not None:
        await scan(pilot, courier)
        await wait_for(pilot, lambda: handing(app).carrier == courier)


def parcels(rig: Rig) -> list[tuple[Any, ...]]:
    return rig.rows("SELECT waybill_no, batch_id, order_id, operator_id FROM handover_parcels "
                    "ORDER BY waybill_no")


def batches(rig: Rig) -> list[tuple[Any, ...]]:
    return rig.rows("SELECT batch_id, carrier, status, opened_by, closed_by FROM handover_batches "
                    "ORDER BY batch_id")


def shown(app: PacklineApp, widget: str) -> str:
    return str(app.screen.query_one(widget, Label).render())


async def test_packers_and_leads_get_the_handover_screen(rig: Rig) -> None:
    seed_shipped(rig)
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)  # P01, a packer
        assert app.screen.query_one("#go-handover").display
        await pilot.click("#go-handover")
        await wait_for(pilot, lambda: name(app) == "HandoverScreen")
        assert "请选择快递公司" in banner_text(app)
        await pilot.click("#back")
        await wait_for(pilot, lambda: name(app) == "HomeScreen")
        await pilot.click("#sign-out")
        await wait_for(pilot, lambda: name(app) == "SignInScreen")
        await sign_in_by_badge(pilot, "B-L01")
        assert app.screen.query_one("#go-handover").display


async def test_scan_a_courier_batch_with_every_unhappy_path_then_close_and_print(rig: Rig) -> None:
    seed_shipped(rig)
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_handover(pilot)
        assert shown(app, "#batch-count") == "已扫 0 / 应交 2"
        assert "已发货未交接 2 件" in str(app.screen.query_one("#missing", Static).render())

        await scan(pilot, "SF1001")
        assert banner_kind(app) == "ok"
        assert banner_text(app) == "SF1001 已交接给 顺丰速运，已扫 1/2"
        assert parcels(rig) == [("SF1001", "ST1-HO00001", "O1", "P01")]
        assert batches(rig) == [("ST1-HO00001", "SF", "open", "P01", None)]
        assert shown(app, "#batch-count") == "已扫 1 / 应交 2"

        await scan(pilot, "SF1001")  # the duplicate: said, nothing changes
        assert banner_text(app) == "SF1001 已扫过，未重复计数"
        assert banner_kind(app) == "info"
        assert parcels(rig) == [("SF1001", "ST1-HO00001", "O1", "P01")]

        bells = app.bells
        await scan(pilot, "SF1003")  # a 中通 parcel handed to 顺丰: refused, names the right one
        assert banner_kind(app) == "error" and app.bells == bells + 1
        assert banner_text(app) == "快递错了！SF1003 是中通快递的包裹，不能交给顺丰速运，未记录"

        await scan(pilot, "YT9999")  # never shipped here
        assert banner_kind(app) == "error"
        assert banner_text(app) == "未知面单号 YT9999: 本站没有发过这个包裹，未记录"

        await scan(pilot, "SF1004")  # still waiting to be packed
        assert banner_text(app) == "SF1004（订单 JD-240004）尚未发货（等待打包），不能交接"
        assert parcels(rig) == [("SF1001", "ST1-HO00001", "O1", "P01")]
        assert rig.outbox("handover") == []

        # SF1002 is shipped but not handed over: flagged, and closing asks first
        assert "SF1002" in str(app.screen.query_one("#missing", Static).render())
        await pilot.click("#close-batch")
        await wait_for(pilot, lambda: name(app) == "ConfirmDialog")
        assert "还有 1 件已发货未交接" in str(app.screen.query_one(".dialog-title", Label).render())
        await pilot.click("#yes")
        await wait_for(pilot, lambda: banner_kind(app) == "ok" and "交接完成" in banner_text(app))
        assert banner_text(app) == "交接完成 ST1-HO00001: 顺丰速运 1 件，交接单已打印，请快递员签字"

        assert [b[:3] + b[4:] for b in batches(rig)] == [("ST1-HO00001", "SF", "closed", "P01")]
        (sent,) = rig.outbox("handover")
        wire = HandoverWire.model_validate(sent)
        assert (wire.batch_id, wire.carrier, wire.operator_id) == ("ST1-HO00001", "SF", "P01")
        assert [(p.waybill_no, p.order_id, p.operator_id) for p in wire.parcels] == [
            ("SF1001", "O1", "P01")]
        assert wire.not_handed_over == ["SF1002"]
        (msg_id,) = rig.rows("SELECT msg_id FROM handover_batches")[0]
        assert rig.rows("SELECT msg_id FROM outbox WHERE kind = 'handover'") == [(msg_id,)]

        text = rig.slip.output.decode("gb18030", errors="replace")
        for words in ("快递交接单", "快递: 顺丰速运", "批次: ST1-HO00001", "工位: ST1",
                      "交接人: 王芳", "1. SF1001", "顺丰速运 应交 2 实交 1 未交 1",
                      "已发货未交接:", "! SF1002", "快递员签字: ____________",
                      "交接人签字: ____________"):
            assert words in text, words

        await scan(pilot, "SF1001")  # handed over already, in the closed batch
        assert banner_kind(app) == "error"
        assert banner_text(app).startswith("SF1001 已在批次 ST1-HO00001 交接过")
        assert len(parcels(rig)) == 1 and len(rig.outbox("handover")) == 1


async def test_a_complete_batch_closes_without_asking_and_prints_in_english(rig: Rig) -> None:
    seed_shipped(rig)
    app = rig.app(lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await open_handover(pilot, courier="ZTO")
        await scan(pilot, "SF1003")
        await scan(pilot, "SF1006")
        assert banner_text(app) == "SF1006 handed to ZTO: 2/2 scanned"
        await scan(pilot, "SF1001")
        assert banner_text(app) == "WRONG COURIER! SF1001 goes with SF, not ZTO; nothing recorded"
        await pilot.click("#close-batch")
        await wait_for(pilot, lambda: banner_kind(app) == "ok" and "closed" in banner_text(app))
        assert name(app) == "HandoverScreen"  # no question: nothing was missing
        (sent,) = rig.outbox("handover")
        assert [p["waybill_no"] for p in sent["parcels"]] == ["SF1003", "SF1006"]
        assert sent["not_handed_over"] == []
        text = rig.slip.output.decode("gb18030")
        for words in ("Handover list", "Courier: ZTO", "ZTO due 2 handed 2 missing 0",
                      "Courier: ______________"):
            assert words in text, words


async def test_a_failed_print_keeps_the_batch_closed_and_reprints(rig: Rig) -> None:
    seed_shipped(rig)
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_handover(pilot)
        await scan(pilot, "SF1001")
        await scan(pilot, "SF1002")
        rig.slip.fail_with(PrinterError("缺纸 / out of paper"))
        await pilot.click("#close-batch")
        await wait_for(pilot, lambda: banner_kind(app) == "error")
        assert banner_text(app).startswith("交接已记录 ST1-HO00001，但交接单未打印")
        assert batches(rig)[0][2] == "closed" and len(rig.outbox("handover")) == 1
        rig.slip.fail_with(None)
        await pilot.click("#reprint")
        await wait_for(pilot, lambda: banner_kind(app) == "ok")
        assert banner_text(app) == "交接单已重打 ST1-HO00001"
        assert "快递交接单" in rig.slip.output.decode("gb18030")
        assert len(rig.outbox("handover")) == 1  # a reprint sends nothing


async def test_waybill_before_courier_and_nothing_to_close(rig: Rig) -> None:
    seed_shipped(rig)
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_handover(pilot, courier=None)
        await scan(pilot, "SF1001")
        assert banner_kind(app) == "error"
        assert banner_text(app) == "请先选择快递公司，再扫描包裹 SF1001"
        await pilot.click("#choose")
        await wait_for(pilot, lambda: name(app) == "ChoiceDialog")
        await pilot.click("#choice-0")  # couriers with parcels come first: SF
        await wait_for(pilot, lambda: handing(app).carrier == "SF")
        await pilot.click("#close-batch")
        assert banner_text(app) == "顺丰速运 还没有扫描任何包裹"
        assert parcels(rig) == [] and batches(rig) == [] and rig.outbox("handover") == []
