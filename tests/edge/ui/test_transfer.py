"""调拨出库 / 调拨入库 at the kiosk, driven like a lead (Pilot), each path checked in the
DATABASE: the TRANSFER_OUT / TRANSFER_IN moves written (qty, location, reason, operator,
source = the transfer line), the discrepancy recorded on a short receipt, the outbox rows,
and nothing written when a receipt that differs gets no reason.

The rig's station has locations of both WH1 (A-01-01, A-01-02) and WH2 (Y-01-01) and no
``warehouse_id`` setting, so it may ship WH1's transfers and receive WH2's."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from edge.domain.models import MoveReason
from edge.ui.app import PacklineApp
from edge.ui.screens.transfer import TransferScreen
from tests.edge.ui.conftest import (
    SIZE,
    Rig,
    banner_kind,
    banner_text,
    scan,
    sign_in_by_badge,
    wait_for,
)

CUP, CUP_CASE, TOWEL = "6901234567892", "16901234567899", "6909876543210"
TR_OUT = "TR20261204-001"
"""WH1 → WH2, nothing shipped yet: line 1 CUP-350 × 24, line 2 TOWEL-W × 10."""
TR_IN = "TR20261203-007"
"""WH1 → WH2 as the cloud last told it: line 1 CUP-350 × 24 with 13 shipped, line 2
TOWEL-W × 10 with 10 shipped; nothing received."""


def seed_transfers(rig: Rig) -> None:
    """The two transfers above (``seed_packing`` put 100 CUP-350 at A-01-01 and nothing of
    it at Y-01-01)."""
    w = rig.store.writer
    w.upsert_transfer({"transfer_id": TR_OUT, "from_warehouse": "WH1", "to_warehouse": "WH2",
                       "status": "open", "note": "补义乌仓"},
                      [{"line_no": 1, "sku": "CUP-350", "qty": 24},
                       {"line_no": 2, "sku": "TOWEL-W", "qty": 10}])
    w.upsert_transfer({"transfer_id": TR_IN, "from_warehouse": "WH1", "to_warehouse": "WH2",
                       "status": "open", "note": None},
                      [{"line_no": 1, "sku": "CUP-350", "qty": 24, "qty_shipped": 13},
                       {"line_no": 2, "sku": "TOWEL-W", "qty": 10, "qty_shipped": 10}])


def moves(rig: Rig, transfer_id: str) -> list[tuple[Any, ...]]:
    return rig.rows(
        "SELECT sku, location, qty_delta, reason, source_type, source_id, source_line, "
        "operator_id FROM stock_moves WHERE source_id = ? ORDER BY seq", [transfer_id])


def screen(app: PacklineApp) -> TransferScreen:
    assert isinstance(app.screen, TransferScreen)
    return app.screen


def name(app: PacklineApp) -> str:
    return type(app.screen).__name__


async def open_side(pilot: Pilot[Any], side: str, transfer_id: str | None) -> None:
    """Sign in as lead L01, open 调拨出库 / 调拨入库 and (by scanning its number) the transfer."""
    app = pilot.app
    assert isinstance(app, PacklineApp)
    await sign_in_by_badge(pilot, "B-L01")
    await pilot.click(f"#go-transfer-{side}")
    await wait_for(pilot, lambda: name(app) == "TransferScreen")
    if transfer_id is not None:
        await scan(pilot, transfer_id)
        await wait_for(pilot, lambda: screen(app).transfer is not None)


async def confirm(pilot: Pilot[Any]) -> None:
    app = pilot.app
    await pilot.press("f5")
    await wait_for(pilot, lambda: name(app) == "ConfirmDialog")  # type: ignore[arg-type]
    await pilot.click("#yes")


async def test_a_packer_gets_no_transfer_screen(rig: Rig) -> None:
    seed_transfers(rig)
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)  # P01, a packer
        assert not app.screen.query_one("#go-transfer-out").display
        assert not app.screen.query_one("#go-transfer-in").display
        app.open_transfer("out")
        await pilot.pause()
        assert name(app) == "HomeScreen"
        assert banner_kind(app) == "error" and "打包员 不能调拨" in banner_text(app)


async def test_ship_a_case_and_an_item_from_the_default_location(rig: Rig) -> None:
    seed_transfers(rig)
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_side(pilot, "out", TR_OUT)
        await scan(pilot, CUP)  # 1
        await scan(pilot, CUP_CASE)  # + 12
        assert screen(app).counts == {1: 13}
        assert screen(app).location == "A-01-01"  # CUP-350's default, a WH1 location
        assert moves(rig, TR_OUT) == []  # nothing written before F5
        await confirm(pilot)
        await wait_for(pilot, lambda: banner_kind(app) == "ok")
        assert "已调出 TR20261204-001: 13 件" in banner_text(app)
    assert moves(rig, TR_OUT) == [
        ("CUP-350", "A-01-01", -13, MoveReason.TRANSFER_OUT, "transfer", TR_OUT, "1", "L01")]
    assert rig.store.queries.balance("CUP-350", "A-01-01") == 100 - 13
    assert rig.rows("SELECT line_no, qty_shipped, qty_received FROM transfer_lines "
                    "WHERE transfer_id = ? ORDER BY line_no", [TR_OUT]) == [(1, 13, 0), (2, 0, 0)]
    sent = [m for m in rig.outbox("move") if m["source_id"] == TR_OUT]
    assert [(m["sku"], m["qty_delta"], m["reason"], m["source_line"], m["operator_id"])
            for m in sent] == [("CUP-350", -13, 20, "1", "L01")]


async def test_receive_short_records_the_discrepancy_with_the_reason(rig: Rig) -> None:
    seed_transfers(rig)
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_side(pilot, "in", TR_IN)
        await scan(pilot, "Y-01-01")
        await scan(pilot, CUP_CASE)  # 12 of the 13 in transit
        await scan(pilot, TOWEL)
        await pilot.press("f7")  # correct the towels on the keypad: 10
        await wait_for(pilot, lambda: name(app) == "QuantityDialog")
        for key in ("clear", "1", "0"):
            await pilot.click(f"#key-{key}")
        await pilot.click("#ok")
        await wait_for(pilot, lambda: screen(app).counts == {1: 12, 2: 10})
        await confirm(pilot)
        await wait_for(pilot, lambda: name(app) == "ReasonDialog")
        await pilot.click("#cancel")  # no reason: nothing written
        await wait_for(pilot, lambda: banner_kind(app) == "error")
        assert "需要差异原因" in banner_text(app)
        assert moves(rig, TR_IN) == []
        await confirm(pilot)
        await wait_for(pilot, lambda: name(app) == "ReasonDialog")
        await pilot.click("#reason-damaged")
        await wait_for(pilot, lambda: banner_kind(app) == "ok")
        assert "已调入 TR20261203-007: 22 件, 差异 1 行" in banner_text(app)
        assert [ln["in_transit"] for ln in screen(app).lines] == [0, 0]  # 13 − 12 − 1 short
    assert moves(rig, TR_IN) == [
        ("CUP-350", "Y-01-01", 12, MoveReason.TRANSFER_IN, "transfer", TR_IN, "1", "L01"),
        ("TOWEL-W", "Y-01-01", 10, MoveReason.TRANSFER_IN, "transfer", TR_IN, "2", "L01")]
    diffs = rig.rows("SELECT diff_id, line_no, sku, expected, counted, reason, operator_id "
                     "FROM transfer_discrepancies WHERE transfer_id = ?", [TR_IN])
    assert [d[1:] for d in diffs] == [(1, "CUP-350", 13, 12, "途中破损 / Damaged in transit", "L01")]
    sent = rig.outbox("transfer_diff")
    assert [(p["diff_id"], p["transfer_id"], p["line_no"], p["expected"], p["counted"],
             p["reason"]) for p in sent] == [
        (diffs[0][0], TR_IN, 1, 13, 12, "途中破损 / Damaged in transit")]
    in_moves = [(m["sku"], m["qty_delta"], m["reason"], m["source_line"])
                for m in rig.outbox("move") if m["source_id"] == TR_IN]
    assert in_moves == [("CUP-350", 12, 21, "1"), ("TOWEL-W", 10, 21, "2")]
    assert rig.store.queries.balance("CUP-350", "Y-01-01") == 12
    # the short unit is no longer in transit here: the transfer leaves the 调拨入库 list
    listed = {r["transfer_id"]: r["in_transit"]
              for r in rig.store.queries.open_transfers("to_warehouse")}
    assert listed == {TR_IN: 0, TR_OUT: 0}


async def test_a_location_of_the_other_warehouse_is_refused(rig: Rig) -> None:
    seed_transfers(rig)
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_side(pilot, "in", TR_IN)
        await scan(pilot, "A-01-01")
        assert banner_kind(app) == "error" and "不在仓库 WH2" in banner_text(app)
        assert screen(app).location is None
