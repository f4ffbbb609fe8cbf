"""合并订单 end to end against the fake Taobao over real HTTP, on both databases: two orders
of one buyer to one address wait for stock, a person merges them, the worker allocates the
parcel, takes ONE e-waybill listing both platform orders and sends ONE pack task with every
line; the station's shipment (as ingest stores it) writes the same tracking number back to
BOTH platform orders, and every reservation is consumed or released.

Both platforms: Taobao's ``oaid`` is stable per buyer and address (the same
``receiver_digest``); PDD encrypts each order's receiver differently, and its 合单ID
(``open_address_id_2``) is what says two orders go to one receiver.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.crypto import Sealer
from cloud.db import write_transaction
from cloud.db.schema import downlink_outbox
from cloud.db.schema_orders import orders, reservations, tracking_writebacks, waybills
from cloud.marketplaces.fake_server import RunningFake
from cloud.orders import merging
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
async def test_two_orders_merged_ship_in_one_parcel_and_both_get_the_tracking_number(
    cloud_engine: Engine, sealer: Sealer, serve: Callable[..., RunningFake], platform: str,
) -> None:
    running = serve(platform)
    fake = running.fake
    seed_warehouses(cloud_engine)
    shop_id = await connect_shop(cloud_engine, sealer, running, stock=None)
    with fake.lock:
        first = fake.gen.new_order(fake.now() - 900)
        second = fake.gen.new_order(fake.now() - 600)
        second.receiver = first.receiver  # the same buyer, the same address
        for o in (first, second):
            o.buyer_note, o.risk_review = "", False
    a, b = f"{platform}-{first.order_id}", f"{platform}-{second.order_id}"
    settings = WorkerSettings(listen_push=False, poll_refunds=False, http_timeout=1.0)
    async with Worker(cloud_engine, sealer, settings=settings, clock=fake.clock.now,
                      retry=fast_retry()) as worker:
        assert (await worker.tick(shop_id)).error == ""
        with cloud_engine.connect() as conn:
            states = dict(conn.execute(sa.select(orders.c.id, orders.c.exception_code).where(
                orders.c.id.in_([a, b]))).all())
        assert states == {a: "out_of_stock", b: "out_of_stock"}
        with write_transaction(cloud_engine) as conn:
            now = datetime.fromtimestamp(fake.clock.now(), UTC)
            assert merging.merge(conn, [b, a], actor="lead", now=now) == a
        for sku in info(running).catalog:
            receive(cloud_engine, "WH1", sku.outer_id, 50)
        report = await worker.tick(shop_id)
        assert report.error == ""
        with cloud_engine.connect() as conn:
            rows = {r.id: (r.state, r.exception_code, r.merged_into) for r in conn.execute(
                sa.select(orders).where(orders.c.id.in_([a, b])))}
            wbs = conn.execute(sa.select(waybills.c.order_id, waybills.c.waybill_no)).all()
            tasks = conn.execute(sa.select(downlink_outbox.c.payload).where(
                downlink_outbox.c.kind == "task")).scalars().all()
        assert rows == {a: ("tasked", None, None), b: ("exception", "merged", a)}
        assert len(wbs) == 1 and wbs[0].order_id == a
        waybill_no = wbs[0].waybill_no
        issued = [w for w in fake.waybills if w.number == waybill_no]
        assert [w.order_ids for w in issued] == [(first.order_id, second.order_id)]
        assert len(tasks) == 1 and tasks[0]["order_id"] == a
        want = sorted((ln.sku.outer_id, ln.qty) for ln in first.lines + second.lines)
        assert sorted((ln["sku"], ln["qty"]) for ln in tasks[0]["lines"]) == want
        assert [ln["line_no"] for ln in tasks[0]["lines"]] == list(range(1, len(want) + 1))

        ship_at_station(cloud_engine, a, waybill_no)
        report = await worker.tick(shop_id)
        assert report.error == ""
        assert report.writeback is not None and report.writeback.done == 2
        shipped = sorted((s.order_id, s.tracking_number) for s in fake.shipments)
        assert shipped == sorted([(first.order_id, waybill_no), (second.order_id, waybill_no)])
        with cloud_engine.connect() as conn:
            assert conn.execute(sa.select(tracking_writebacks.c.state)).scalars().all() == [
                "done", "done"]
            assert conn.execute(sa.select(sa.func.count()).select_from(reservations).where(
                reservations.c.released_at.is_(None))).scalar() == 0
            assert set(conn.execute(sa.select(orders.c.state).where(
                orders.c.id.in_([a, b]))).scalars()) == {"shipped"}

