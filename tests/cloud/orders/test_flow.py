"""The order flow against the fake PDD and Taobao over real HTTP, on both databases."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.crypto import Sealer
from cloud.db.schema import downlink_outbox
from cloud.db.schema_orders import orders, reservations, stock_pushes, tracking_writebacks, waybills
from cloud.marketplaces.fake_server import RunningFake
from cloud.orders.worker import Worker, WorkerSettings
from tests.cloud.orders.support import connect_shop, fast_retry, seed_warehouses, ship_at_station


@pytest.mark.parametrize("platform", ["pdd", "taobao"])
async def test_order_synced_allocated_tasked_shipped_written_back(
    cloud_engine: Engine, sealer: Sealer, serve: Callable[..., RunningFake], platform: str,
) -> None:
    running = serve(platform)
    fake = running.fake
    seed_warehouses(cloud_engine)
    shop_id = await connect_shop(cloud_engine, sealer, running)
    with fake.lock:
        order = fake.gen.new_order(fake.now() - 600)
        order.buyer_note = ""
        order.risk_review = False
    settings = WorkerSettings(listen_push=False, poll_refunds=False, http_timeout=1.0)
    async with Worker(cloud_engine, sealer, settings=settings, clock=fake.clock.now,
                      retry=fast_retry()) as worker:
        report = await worker.tick(shop_id)
        assert report.error == ""
        oid = f"{platform}-{order.order_id}"
        with cloud_engine.connect() as conn:
            row = conn.execute(sa.select(orders).where(orders.c.id == oid)).one()
            assert row.state == "tasked", (row.state, row.exception_code, row.exception_detail)
            assert row.warehouse_id == "WH1" and row.station_id == "ST1"
            wb = conn.execute(sa.select(waybills).where(waybills.c.order_id == oid)).one()
            tasks = conn.execute(sa.select(downlink_outbox.c.payload).where(
                downlink_outbox.c.kind == "task")).scalars().all()
            reserved = conn.execute(sa.select(sa.func.sum(reservations.c.qty)).where(
                reservations.c.order_id == oid, reservations.c.released_at.is_(None))).scalar()
        assert [t["waybill_no"] for t in tasks] == [wb.waybill_no]
        assert tasks[0]["print_data"]["print_data"] == wb.print_data
        assert wb.waybill_no in {w.number for w in fake.waybills}
        assert reserved == sum(line.qty for line in order.lines)
        ship_at_station(cloud_engine, oid, wb.waybill_no)
        report = await worker.tick(shop_id)
        assert report.error == ""
        assert report.writeback is not None and report.writeback.done == 1
        shipped = [s for s in fake.shipments if s.order_id == order.order_id]
        assert [(s.tracking_number, s.modification) for s in shipped] == [(wb.waybill_no, False)]
        with cloud_engine.connect() as conn:
            assert conn.execute(sa.select(tracking_writebacks.c.state)).scalars().all() == ["done"]
            assert conn.execute(sa.select(sa.func.count()).select_from(reservations).where(
                reservations.c.released_at.is_(None))).scalar() == 0
            pushes = conn.execute(sa.select(stock_pushes)).all()
        assert pushes and all(p.pushed <= p.available for p in pushes)
