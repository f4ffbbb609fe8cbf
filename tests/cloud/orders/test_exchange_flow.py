"""换货 end to end against the fake platforms over real HTTP, on both databases: an order
ships and its tracking number goes back; a person makes its exchange order; the worker
allocates it, takes an e-waybill for the ORIGINAL platform order (the fake refuses any
order it does not know) and sends a pack task with the exchange's SKU; the station's
shipment marks it shipped and writes nothing to the platform (its one shipment stays the
original's)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.crypto import Sealer
from cloud.db import write_transaction
from cloud.db.schema import downlink_outbox
from cloud.db.schema_orders import orders, waybills
from cloud.marketplaces.fake_server import RunningFake
from cloud.orders import exchanges
from cloud.orders.worker import Worker, WorkerSettings
from tests.cloud.orders.support import (
    connect_shop,
    fast_retry,
    info,
    receive,
    seed_warehouses,
    ship_at_station,
)


@pytest.mark.parametrize("platform", ["taobao", "pdd"])
async def test_an_exchange_takes_a_waybill_for_the_original_and_writes_nothing_back(
    cloud_engine: Engine, sealer: Sealer, serve: Callable[..., RunningFake], platform: str,
) -> None:
    running = serve(platform)
    fake = running.fake
    seed_warehouses(cloud_engine)
    shop_id = await connect_shop(cloud_engine, sealer, running, stock=None)
    for sku in info(running).catalog:
        receive(cloud_engine, "WH1", sku.outer_id, 50)
    with fake.lock:
        bought = fake.gen.new_order(fake.now() - 900)
        bought.buyer_note, bought.risk_review = "", False
    original = f"{platform}-{bought.order_id}"
    swap_to = next(s.outer_id for s in info(running).catalog
                   if s.outer_id not in {ln.sku.outer_id for ln in bought.lines})
    settings = WorkerSettings(listen_push=False, poll_refunds=False, http_timeout=1.0)
    async with Worker(cloud_engine, sealer, settings=settings, clock=fake.clock.now,
                      retry=fast_retry()) as worker:
        assert (await worker.tick(shop_id)).error == ""
        with cloud_engine.connect() as conn:
            (first,) = conn.execute(sa.select(waybills.c.waybill_no).where(
                waybills.c.order_id == original)).scalars().all()
        ship_at_station(cloud_engine, original, first)
        report = await worker.tick(shop_id)
        assert report.error == "" and report.writeback is not None and report.writeback.done == 1

        with write_transaction(cloud_engine) as conn:
            now = datetime.fromtimestamp(fake.clock.now(), UTC)
            exchange = exchanges.create(conn, original, {swap_to: 1}, actor="lead",
                                        reason="买家换款", now=now)
        assert (await worker.tick(shop_id)).error == ""
        with cloud_engine.connect() as conn:
            state = conn.execute(sa.select(orders.c.state).where(orders.c.id == exchange)).scalar()
            (second,) = conn.execute(sa.select(waybills.c.waybill_no).where(
                waybills.c.order_id == exchange)).scalars().all()
            tasks = [p for p in conn.execute(sa.select(downlink_outbox.c.payload).where(
                downlink_outbox.c.kind == "task")).scalars() if p["order_id"] == exchange]
        assert state == "tasked" and second != first
        issued = [w for w in fake.waybills if w.number == second]
        assert [w.order_ids for w in issued] == [(bought.order_id,)]
        assert [(ln["sku"], ln["qty"]) for ln in tasks[0]["lines"]] == [(swap_to, 1)]

        ship_at_station(cloud_engine, exchange, second)
        report = await worker.tick(shop_id)
        assert report.error == ""
        assert [(s.order_id, s.tracking_number) for s in fake.shipments] == [
            (bought.order_id, first)]
        with cloud_engine.connect() as conn:
            assert conn.execute(sa.select(orders.c.state).where(
                orders.c.id == exchange)).scalar() == "shipped"
