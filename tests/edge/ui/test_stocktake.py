"""盘点 at the kiosk, driven like the floor (Pilot): a lead starts a zone count, a packer
counts blind (a case barcode, keypad corrections), a big variance asks for a recount, picks
happen while the count is open, and the lead approves — each step checked in the DATABASE
(the COUNT_ADJUST moves' qty, reason, operator and source; the ``stocktake`` outbox row)
against figures computed by hand.

The rig's stock (``seed_packing``): 100 CUP-350 at A-01-01, 100 TOWEL-W at A-01-02.
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from edge.domain.models import MoveReason, MoveRequest
from edge.ui.app import PacklineApp
from edge.ui.screens.stocktake import StocktakeScreen
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

CUP, CUP_CASE, TOWEL = "6901234567892", "16901234567899", "6909876543210"


def name(app: PacklineApp) -> str:
    return type(app.screen).__name__


def counting(app: PacklineApp) -> StocktakeScreen:
    assert isinstance(app.screen, StocktakeScreen)
    return app.screen


def pick(rig: Rig, qty: int) -> None:
    """A pick of ``qty`` CUP-350 at A-01-01 recorded by another part of the station."""
    rig.store.writer.record_move(MoveRequest(
        sku="CUP-350", location="A-01-01", qty_delta=-qty, reason=MoveReason.PICK,
        source_type="pick", source_id="W-1", operator_id="P01"))


async def open_stocktake(pilot: Pilot[Any], badge: str) -> None:
    app = pilot.app
    assert isinstance(app, PacklineApp)
    await sign_in_by_badge(pilot, badge)
    await pilot.click("#go-stocktake")
    await wait_for(pilot, lambda: name(app) == "StocktakeScreen")


async def sign_out(pilot: Pilot[Any]) -> None:
    app = pilot.app
    await pilot.click("#back")
    await wait_for(pilot, lambda: name(app) == "HomeScreen")  # type: ignore[arg-type]
    await pilot.click("#sign-out")
    await wait_for(pilot, lambda: name(app) == "SignInScreen")  # type: ignore[arg-type]


async def keypad(pilot: Pilot[Any], *keys: str) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: name(app) == "QuantityDialog")  # type: ignore[arg-type]
    for key in keys:
        await pilot.click(f"#key-{key}")
    await pilot.click("#ok")
    await wait_for(pilot, lambda: name(app) == "StocktakeScreen")  # type: ignore[arg-type]


async def finish(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, PacklineApp)
    seen = counting(app)._said
    await pilot.click("#finish")
    await wait_for(pilot, lambda: not counting(app).busy and counting(app)._said is not seen)


async def start_zone_a(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, PacklineApp)
    await pilot.click("#start-zone")
    await wait_for(pilot, lambda: name(app) == "ChoiceDialog")
    await pilot.click("#choice-0")  # zone A (WH1 has only A)
    await wait_for(pilot, lambda: name(app) == "StocktakeScreen" and counting(app).take is not None)


async def test_zone_count_with_recount_and_picks_while_open(rig: Rig) -> None:
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_stocktake(pilot, "B-L01")
        await start_zone_a(pilot)
        take = counting(app).take
        assert take is not None
        sid = take["stocktake_id"]
        snapshot = rig.rows("SELECT MAX(seq) FROM stock_moves")[0][0]
        assert rig.rows("SELECT scope, scope_value, snapshot_seq, started_by FROM stocktakes") == [
            ("zone", "A", snapshot, "L01")]
        await sign_out(pilot)

        pick(rig, 2)  # during the open count, before A-01-01 is counted: 100 → 98
        await open_stocktake(pilot, "B-P01")  # a packer counts
        assert not app.screen.query_one("#approve").display
        await scan(pilot, "A-01-01")
        await scan(pilot, CUP_CASE)  # 12
        assert "共 12 件" in banner_text(app)
        await pilot.click("#finish")
        await pilot.pause()
        assert banner_kind(app) == "error" and "请先确认数量: CUP-350" in banner_text(app)
        await pilot.click("#confirm")
        await keypad(pilot)  # 12 as scanned
        await finish(pilot)
        # 12 vs 98 on the books: the screen asks for a recount and never shows the 98
        assert banner_kind(app) == "error" and "差异过大，请复盘" in banner_text(app)
        assert "98" not in banner_text(app)
        assert counting(app).location == "A-01-01"
        await scan(pilot, CUP)
        await pilot.click("#confirm")
        await keypad(pilot, "clear", "9", "5")  # the recount: 95 cups
        await finish(pilot)
        assert banner_kind(app) == "ok" and "A-01-01 已盘" in banner_text(app)

        pick(rig, 1)  # after A-01-01 was counted: 98 → 97
        await scan(pilot, "A-01-02")
        await scan(pilot, TOWEL)
        await pilot.click("#confirm")
        await keypad(pilot, "clear", "1", "0", "0")
        await finish(pilot)
        rows = app.screen.query_one("#locations", OrderLines).texts()
        assert rows == [("A-01-01", "2", "已复盘", "95"), ("A-01-02", "1", "已盘", "100")]
        await sign_out(pilot)

        await open_stocktake(pilot, "B-L01")  # the lead approves
        await pilot.click("#approve")
        await wait_for(pilot, lambda: name(app) == "ConfirmDialog")
        await pilot.click("#yes")
        await wait_for(pilot, lambda: name(app) == "StocktakeScreen" and counting(app).take is None)
        assert banner_kind(app) == "ok" and "1 条盘点调整" in banner_text(app)

    # counted 95 − balance at count time 98 = −3, by the approving lead, sourced to the count
    moves = rig.rows("SELECT move_id, sku, location, qty_delta, balance_after, reason, "
                     "source_type, source_id, source_line, operator_id FROM stock_moves "
                     "WHERE source_type = 'stocktake'")
    assert [m[1:] for m in moves] == [("CUP-350", "A-01-01", -3, 94, int(MoveReason.COUNT_ADJUST),
                                       "stocktake", sid, "A-01-01", "L01")]
    assert rig.store.queries.balance("CUP-350", "A-01-01") == 94  # 95 counted − 1 picked since
    assert rig.store.queries.balance("TOWEL-W", "A-01-02") == 100
    assert rig.rows("SELECT location, round, counted_by, needs_recount FROM stocktake_rounds "
                    "ORDER BY location, round") == [
        ("A-01-01", 1, "P01", 1), ("A-01-01", 2, "P01", 0), ("A-01-02", 1, "P01", 0)]
    (summary,) = rig.outbox("stocktake")
    assert (summary["stocktake_id"], summary["approved_by"], summary["snapshot_seq"]) == (
        sid, "L01", snapshot)
    assert [(ln["location"], ln["sku"], ln["round"], ln["counted"], ln["expected"], ln["final"],
             ln["move_id"]) for ln in summary["lines"]] == [
        ("A-01-01", "CUP-350", 1, 12, 98, False, None),
        ("A-01-01", "CUP-350", 2, 95, 98, True, moves[0][0]),
        ("A-01-02", "TOWEL-W", 1, 100, 100, True, None)]
    assert moves[0][0] in [m["move_id"] for m in rig.outbox("move")]


async def test_a_packer_cannot_start_a_stocktake(rig: Rig) -> None:
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_stocktake(pilot, "B-P01")
        await pilot.click("#start-full")
        await pilot.pause()
        assert banner_kind(app) == "error" and "打包员 不能开始或审核盘点" in banner_text(app)
    assert rig.rows("SELECT COUNT(*) FROM stocktakes") == [(0,)]


async def test_a_sku_count_takes_only_that_sku(rig: Rig) -> None:
    app = rig.app(lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await open_stocktake(pilot, "B-L01")
        await pilot.click("#start-sku")
        await scan(pilot, TOWEL)
        await wait_for(pilot, lambda: counting(app).take is not None)
        assert rig.rows("SELECT scope, scope_value FROM stocktakes") == [("sku", "TOWEL-W")]
        await scan(pilot, "A-01-01")
        await scan(pilot, CUP)
        assert banner_kind(app) == "error" and "only TOWEL-W" in banner_text(app)
    assert rig.rows("SELECT COUNT(*) FROM stocktake_rounds") == [(0,)]


async def test_a_lead_starts_a_count_planned_in_the_cloud(rig: Rig) -> None:
    """The plan's button shows only while a plan waits; choosing it starts the plan's own
    scope (one SKU here), named in the stocktake."""
    from edge.store.stocktake import StocktakeWriter

    StocktakeWriter(rig.store.writer).apply_plan({
        "plan_id": "PDP-00007", "warehouse_id": "WH1", "scope": "sku", "scope_value": "CUP-350",
        "note": "月底抽盘", "status": "open", "created_by": "u-lead",
        "created_at": "2026-11-23T01:00:00Z"})
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_stocktake(pilot, "B-L01")
        assert app.screen.query_one("#start-plan").display
        await pilot.click("#start-plan")
        await wait_for(pilot, lambda: name(app) == "ChoiceDialog")
        await pilot.click("#choice-0")
        await wait_for(pilot, lambda: name(app) == "StocktakeScreen"
                       and counting(app).take is not None)
        take = counting(app).take
        assert take is not None and (take["scope"], take["scope_value"], take["plan_id"]) == (
            "sku", "CUP-350", "PDP-00007")
        assert not app.screen.query_one("#start-plan").display
