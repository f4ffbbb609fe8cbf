"""波次拣货 / 播种 at the kiosk, driven like a packer (Pilot), each path checked in the
DATABASE: the pick list walked location by location, a short line closing the pick with
the short order intercepted and the ``wave_pick`` outbox row, the put wall's slots in large
digits and its ``wave_put`` rows, no stock move, and the pack screen refusing the short
order in words. The waves are those of tests/fixtures/waves.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Digits

from edge.store.waves import members
from edge.sync.inbox import effect_for
from edge.sync.schema import WaveOrderWire, WaveWire, wave_pick_msg_id, wave_put_msg_id
from edge.ui.app import PacklineApp
from edge.ui.screens.wave import WaveScreen
from tests.edge.ui.conftest import (
    SIZE,
    Rig,
    banner_kind,
    banner_text,
    scan,
    sign_in_by_badge,
    wait_for,
)
from tests.fixtures.waves import SINGLE_ID, WAVE_ID, seed_wave

CUP, CUP_CASE, TOWEL = "6901234567892", "16901234567899", "6909876543210"
HAPPY = "WV20261123-009"
"""A multi wave of O3 (slot 1: CUP-350 ×1, TOWEL-W ×2) and O1 (slot 2: CUP-350 ×1)."""


def screen(app: PacklineApp) -> WaveScreen:
    assert isinstance(app.screen, WaveScreen)
    return app.screen


def name(app: PacklineApp) -> str:
    return type(app.screen).__name__


def slot_shown(app: PacklineApp) -> str:
    return str(app.screen.query_one("#wv-slot", Digits).value)


async def open_wave(pilot: Pilot[Any], wave_id: str) -> None:
    """Sign in as packer P01, press 波次拣货 and scan the wave's id."""
    app = pilot.app
    assert isinstance(app, PacklineApp)
    await sign_in_by_badge(pilot, "B-P01")
    assert app.screen.query_one("#go-wave").display
    await pilot.click("#go-wave")
    await wait_for(pilot, lambda: name(app) == "WaveScreen")
    await scan(pilot, wave_id)
    await wait_for(pilot, lambda: screen(app).mode != "list")


def moves(rig: Rig) -> int:
    return int(rig.rows("SELECT COUNT(*) FROM stock_moves")[0][0])


async def test_multi_wave_picked_and_put_on_the_wall(rig: Rig) -> None:
    wire = WaveWire(wave_id=HAPPY, warehouse_id="WH1", kind="multi", carrier="SF",
                    created_at=datetime(2026, 11, 23, 7, 55, tzinfo=UTC),
                    orders=[WaveOrderWire(order_id="O3", slot=1),
                            WaveOrderWire(order_id="O1", slot=2)])
    assert rig.store.writer.apply_once("down-happy", "wave", effect_for(wire))
    before = moves(rig)
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_wave(pilot, HAPPY)
        assert screen(app).mode == "pick"
        assert [(ln.location, ln.sku, ln.wanted) for ln in screen(app).lines] == [
            ("A-01-01", "CUP-350", 2), ("A-01-02", "TOWEL-W", 2)]
        await scan(pilot, CUP)  # no location yet
        assert banner_kind(app) == "error" and "请先扫描库位" in banner_text(app)
        await scan(pilot, "A-01-01")
        await scan(pilot, CUP_CASE)  # 12: more than the line wants
        assert banner_kind(app) == "error" and "多拣了" in banner_text(app)
        await scan(pilot, CUP)
        await scan(pilot, CUP)
        await scan(pilot, "A-01-02")
        await scan(pilot, TOWEL)
        await scan(pilot, TOWEL)
        await wait_for(pilot, lambda: screen(app).mode == "put")
        assert "拣货完成, 开始播种" in banner_text(app)
        [pick] = rig.outbox("wave_pick")
        assert (pick["short_orders"], [(ln["sku"], ln["picked"]) for ln in pick["lines"]]) == (
            [], [("CUP-350", 2), ("TOWEL-W", 2)])
        await scan(pilot, CUP)  # O3 needs a cup: slot 1
        assert slot_shown(app) == "1"
        await scan(pilot, CUP)  # O3 has its cup: O1, slot 2, which is then full
        assert slot_shown(app) == "2" and "2 号格已满" in banner_text(app)
        await scan(pilot, TOWEL)
        await scan(pilot, TOWEL)
        assert slot_shown(app) == "1"
        await wait_for(pilot, lambda: screen(app).mode == "done")
        assert "1 号格已满" in banner_text(app) and "播种完成" in banner_text(app)
    assert [(m.order_id, m.status) for m in members(rig.store.writer.db, HAPPY)] == [
        ("O3", "ready"), ("O1", "ready")]
    assert [r[0] for r in rig.rows("SELECT msg_id FROM outbox WHERE kind = 'wave_put' "
                                   "ORDER BY seq")] == [wave_put_msg_id(HAPPY, "O1"),
                                                        wave_put_msg_id(HAPPY, "O3")]
    assert moves(rig) == before  # picking and putting move no stock
    assert rig.status("O1") == "waiting" and rig.status("O3") == "waiting"


async def test_short_pick_intercepts_the_order_and_packing_refuses_it(rig: Rig) -> None:
    seed_wave(rig.store)
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_wave(pilot, WAVE_ID)
        await scan(pilot, "A-01-01")
        await scan(pilot, CUP)
        await scan(pilot, CUP)
        await scan(pilot, "A-01-02")
        for _ in range(3):
            await scan(pilot, TOWEL)
        await scan(pilot, "Y-01-01")
        assert rig.outbox("wave_pick") == []
        await pilot.press("f6")  # no sock there: short, no lead needed
        await wait_for(pilot, lambda: screen(app).mode == "put")
        assert banner_kind(app) == "error"
        assert "1 单缺货已拦截 (PDD-240006)" in banner_text(app)
        await pilot.click("#back")
        await wait_for(pilot, lambda: name(app) == "HomeScreen")
        await scan(pilot, "SF1006")  # O6's waybill: packing starts and refuses it
        await wait_for(pilot, lambda: name(app) == "PackScreen" and banner_kind(app) == "error")
        assert "订单已拦截" in banner_text(app) and "拣货缺货" in banner_text(app)
    assert rig.status("O6") == "intercepted"
    assert rig.rows("SELECT msg_id FROM outbox WHERE kind = 'wave_pick'") == [
        (wave_pick_msg_id(WAVE_ID),)]
    [pick] = rig.outbox("wave_pick")
    assert pick["short_orders"] == ["O6"] and pick["operator_id"] == "P01"
    assert [(ln["location"], ln["sku"], ln["wanted"], ln["picked"]) for ln in pick["lines"]] == [
        ("A-01-01", "CUP-350", 2, 2), ("A-01-02", "TOWEL-W", 3, 3), ("Y-01-01", "SOCK-M", 1, 0)]
    assert rig.ship_moves("O6") == []


async def test_single_wave_points_to_scan_to_print(rig: Rig) -> None:
    seed_wave(rig.store)
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await open_wave(pilot, SINGLE_ID)
        await scan(pilot, "A-01-01")
        await scan(pilot, CUP)
        await wait_for(pilot, lambda: screen(app).mode == "done")
        assert banner_kind(app) == "ok" and "请到 打包发货" in banner_text(app)
    assert [(m.order_id, m.status) for m in members(rig.store.writer.db, SINGLE_ID)] == [
        ("O2", "ready")]


async def test_every_home_button_of_a_lead_fits_at_80x24(rig: Rig) -> None:
    app = rig.app(lang="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in_by_badge(pilot, "B-L01")
        shown = [b for b in app.screen.query("#home-actions BigButton") if b.display]
        assert len(shown) == 10  # 波次拣货 and 退货入库 made it ten: five a row, two rows
        assert all(b.region.bottom <= 24 and b.region.height > 0 for b in shown)
