"""A first push that cannot hurt a live shop, and cuts that wait for a person (issue #17
item 4), through the fake PDD over real HTTP.

Found by trying it as a new user: the first worker pass of a newly connected shop set every
mapped listing to 0 because the stations held no stock yet — on a real shop that takes every
listing off sale. Now nothing is pushed before the manager confirmed the preview, and
afterwards a push lowering a listing to 0 or by more than half waits for approval.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.crypto import Sealer
from cloud.db import audit_log, write_transaction
from cloud.db.schema_orders import sku_mappings, stock_push_holds, stock_pushes
from cloud.marketplaces.fake_server import RunningFake
from cloud.orders.stock_push import approve_cuts, confirm_pushes, is_cut, push_preview
from cloud.orders.worker import Worker, WorkerSettings
from edge.domain.models import MoveReason
from tests.cloud.orders.support import connect_shop, fast_retry, move, seed_warehouses

SETTINGS = WorkerSettings(listen_push=False, poll_refunds=False, http_timeout=1.0)


def _platform(running: RunningFake) -> dict[str, int]:
    """What the fake platform shows per SKU id (its own records, not ours)."""
    with running.fake.lock:
        return {s.sku_id: s.quantity for s in running.fake.gen.catalog}


def _now(running: RunningFake) -> datetime:
    return datetime.fromtimestamp(running.fake.clock.now(), UTC)


def _holds(engine: Engine) -> list[tuple[str, int, int, str]]:
    h = stock_push_holds.c
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(h.sku, h.from_qty, h.to_qty, h.state)
                                               .order_by(h.id))]


def test_the_cut_rule_by_hand() -> None:
    assert not is_cut(None, 0, 50)  # never pushed: the confirmed preview covered it
    assert not is_cut(0, 0, 50) and not is_cut(10, 10, 50) and not is_cut(10, 12, 50)
    assert is_cut(10, 0, 50) and is_cut(1, 0, 90)  # to 0 from something: always
    assert not is_cut(10, 5, 50)  # exactly half: allowed
    assert is_cut(10, 4, 50)  # 60 % down
    assert not is_cut(10, 8, 20) and is_cut(10, 7, 20)


async def test_nothing_is_pushed_before_the_preview_is_confirmed_and_cuts_wait(
    cloud_engine: Engine, sealer: Sealer, serve: Callable[..., RunningFake],
) -> None:
    running = serve("pdd")
    seed_warehouses(cloud_engine)
    before = _platform(running)
    shop_id = await connect_shop(cloud_engine, sealer, running, stock=None, trust_pushes=False)
    a, b, c = (running.fake.gen.catalog[i] for i in range(3))
    for sku in (a, b, c):
        move(cloud_engine, "WH1", sku.outer_id, 10, MoveReason.RECEIVE, "po", "PO-1")
    async with Worker(cloud_engine, sealer, settings=SETTINGS, clock=running.fake.clock.now,
                      retry=fast_retry()) as worker:
        report = await worker.tick(shop_id)
        assert report.stock is not None and report.stock.pushed == 0
        with cloud_engine.connect() as conn:
            mapped = conn.execute(sa.select(sa.func.count()).select_from(sku_mappings).where(
                sku_mappings.c.shop_id == shop_id)).scalar_one()
            preview = {r.avail.sku: (r.last_pushed, r.avail.available)
                       for r in push_preview(conn, shop_id, "WH1")}
            assert conn.execute(sa.select(sa.func.count()).select_from(stock_pushes)
                                ).scalar_one() == 0
        assert report.stock.awaiting_confirmation == mapped
        assert running.fake.stock_pushes == [] and _platform(running) == before
        # the preview: 10 on hand for a, b, c (no orders), nothing for the others
        assert preview[a.outer_id] == preview[b.outer_id] == preview[c.outer_id] == (None, 10)
        assert {v for k, v in preview.items() if k not in (a.outer_id, b.outer_id, c.outer_id)
                } == {(None, 0)}

        with write_transaction(cloud_engine) as conn:
            confirm_pushes(conn, shop_id, actor="boss", now=_now(running))
        report = await worker.tick(shop_id)
        # every listing, except the gift mapping the fake has no listing for (refused)
        assert report.stock is not None and (report.stock.pushed, report.stock.failed) == (
            mapped - 1, 1)
        assert _platform(running)[a.sku_id] == 10

        # a drops to 0 (a cut to zero), b to 4 (60 % down), c to 6 (40 % down: fine)
        move(cloud_engine, "WH1", a.outer_id, -10, MoveReason.MANUAL_ADJUST, "manual", "ADJ-1")
        move(cloud_engine, "WH1", b.outer_id, -6, MoveReason.MANUAL_ADJUST, "manual", "ADJ-2")
        move(cloud_engine, "WH1", c.outer_id, -4, MoveReason.MANUAL_ADJUST, "manual", "ADJ-3")
        report = await worker.tick(shop_id)
        assert report.stock is not None and (report.stock.pushed, report.stock.held) == (1, 2)
        shown = _platform(running)
        assert (shown[a.sku_id], shown[b.sku_id], shown[c.sku_id]) == (10, 10, 6)
        assert _holds(cloud_engine) == [(a.outer_id, 10, 0, "open"), (b.outer_id, 10, 4, "open")]
        await worker.tick(shop_id)  # asking again changes nothing, adds no second hold
        assert len(_holds(cloud_engine)) == 2

        # b's stock comes back: its cut lapses by itself; a's is approved and goes out
        move(cloud_engine, "WH1", b.outer_id, 6, MoveReason.RECEIVE, "po", "PO-2")
        h = stock_push_holds.c
        with write_transaction(cloud_engine) as conn:
            [hold_a] = conn.execute(sa.select(h.id).where(h.sku == a.outer_id)).scalars()
            assert approve_cuts(conn, [hold_a], actor="boss", now=_now(running)) == 1
            assert approve_cuts(conn, [hold_a], actor="boss", now=_now(running)) == 0
        report = await worker.tick(shop_id)
        assert report.stock is not None and (report.stock.pushed, report.stock.held) == (1, 0)
        assert _platform(running)[a.sku_id] == 0
        assert [(s, f, t, st) for s, f, t, st in _holds(cloud_engine)] == [
            (a.outer_id, 10, 0, "used"), (b.outer_id, 10, 4, "lapsed")]
    with cloud_engine.connect() as conn:
        actions = [(r.actor, r.action) for r in conn.execute(
            sa.select(audit_log.c.actor, audit_log.c.action).where(
                audit_log.c.action.like("stock_push.%")).order_by(audit_log.c.id))]
        used = conn.execute(sa.select(h.push_id).where(h.state == "used")).scalar_one()
        pushed = conn.execute(sa.select(stock_pushes.c.pushed, stock_pushes.c.sku).where(
            stock_pushes.c.id == used)).one()
    assert actions == [("boss", "stock_push.confirm"), ("boss", "stock_push.approve_cut")]
    assert tuple(pushed) == (0, a.outer_id)
