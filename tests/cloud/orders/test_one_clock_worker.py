"""The shop worker takes every timestamp and every "is it due" from its clock.

The wall clock is moved five years ahead; the worker and the fake platform run on a clock
that starts at T0 (2026-11-23 09:00 UTC). Every time the worker's steps write (order sync,
cursors, allocation, waybills and pack tasks, shipments collected, write-back, stock push,
token storage, leases) must fall in T0's hour, and the write-back it schedules must come
due on its own clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import time_machine
from sqlalchemy.engine import Engine

from cloud.crypto import Sealer
from cloud.db.schema import downlink_outbox
from cloud.db.schema_orders import (
    job_leases,
    orders,
    reservations,
    shop_config,
    stock_pushes,
    sync_cursors,
    tracking_writebacks,
    waybills,
)
from cloud.marketplaces.fake_server import RunningFake
from cloud.marketplaces.generator import SimClock
from cloud.orders.worker import Worker, WorkerSettings
from tests.cloud.orders.support import connect_shop, fast_retry, seed_warehouses, ship_at_station

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
WALL = datetime(2031, 6, 1, tzinfo=UTC)
SETTINGS = WorkerSettings(listen_push=False, http_timeout=2.0, writeback_backoff=0.0)


def _stamps(engine: Engine) -> dict[str, list[datetime]]:
    cols = {
        "orders.first_seen_at": orders.c.first_seen_at, "orders.updated_at": orders.c.updated_at,
        "sync_cursors.updated_at": sync_cursors.c.updated_at,
        "reservations.created_at": reservations.c.created_at,
        "reservations.released_at": reservations.c.released_at,
        "waybills.issued_at": waybills.c.issued_at,
        "downlink_outbox.created_at": downlink_outbox.c.created_at,
        "tracking_writebacks.created_at": tracking_writebacks.c.created_at,
        "tracking_writebacks.done_at": tracking_writebacks.c.done_at,
        "stock_pushes.at": stock_pushes.c.at,
        "shop_config.authorized_at": shop_config.c.authorized_at,
        "job_leases.last_run_at": job_leases.c.last_run_at,
    }
    with engine.connect() as conn:
        return {name: [v for v in conn.execute(sa.select(col)).scalars() if v is not None]
                for name, col in cols.items()}


async def test_every_worker_step_stamps_and_judges_by_the_worker_clock(
    cloud_engine: Engine, sealer: Sealer, serve: Callable[..., RunningFake],
) -> None:
    with time_machine.travel(WALL, tick=True):
        running = serve("pdd", clock=SimClock(T0.timestamp()))
        fake = running.fake
        seed_warehouses(cloud_engine)
        await connect_shop(cloud_engine, sealer, running)
        with fake.lock:
            order = fake.gen.new_order(fake.now() - 600)
            order.buyer_note, order.risk_review = "", False
        async with Worker(cloud_engine, sealer, settings=SETTINGS, clock=fake.clock.now,
                          retry=fast_retry()) as worker:
            await worker.run(once=True)
            with cloud_engine.connect() as conn:
                state, oid = conn.execute(sa.select(orders.c.state, orders.c.id).where(
                    orders.c.platform_order_id == order.order_id)).one()
            assert state == "tasked"
            ship_at_station(cloud_engine, oid, "ZT-1", now=worker.now())  # ingest on the same clock
            await worker.run(once=True)
    with cloud_engine.connect() as conn:
        wb = conn.execute(sa.select(tracking_writebacks.c.state)).scalars().all()
    assert wb == ["done"]  # scheduled and judged due on the same (worker's) clock
    stamps = _stamps(cloud_engine)
    assert all(stamps.values()), {k for k, v in stamps.items() if not v}
    wrong = {name: [v.isoformat() for v in values if not T0 <= v < T0 + timedelta(hours=1)]
             for name, values in stamps.items()}
    assert {k: v for k, v in wrong.items() if v} == {}
