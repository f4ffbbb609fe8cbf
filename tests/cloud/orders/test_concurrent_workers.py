"""Two workers on one shop at once (a lease that ran out under a slow tick): against one
PostgreSQL and the fake PDD with faults, every order gets exactly one e-waybill and neither
worker crashes; and a worker renews its shop's lease while a tick runs."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.crypto import Sealer
from cloud.db import make_engine, migrate
from cloud.db.schema_orders import job_leases, orders, waybills
from cloud.marketplaces.fake_server import RunningFake
from cloud.orders.order_sync import SyncSettings
from cloud.orders.worker import TickReport, Worker, WorkerSettings, acquire_lease, renew_lease
from tests.cloud.orders.support import connect_shop, fast_retry, seed_warehouses

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_engine(postgres_server: Any, postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_server.create_schema(postgres_url.rsplit("/", 1)[1]))
    migrate(engine)
    yield engine
    engine.dispose()


SETTINGS = WorkerSettings(listen_push=False, poll_refunds=False, http_timeout=3.0,
                          writeback_backoff=0.01,
                          sync=SyncSettings(initial_lookback=timedelta(hours=4)))


@pytest.mark.timeout(300)
async def test_two_workers_on_one_shop_request_each_waybill_once(
        pg_engine: Engine, sealer: Sealer, serve: Callable[..., RunningFake]) -> None:
    # Faults that change nothing on the platform: a timeout fails before issuing, so a
    # second waybill for an order can only come from two workers asking at once. The client
    # waits 3 s, the fake's stall 3.5 s: an ordinary reply slowed by a busy CI machine must not
    # time out, or the waybill it carried is lost and asked for again (a lost reply, which
    # the platform would also answer with a second number).
    running = serve("pdd", seed=3, history_hours=3, orders_per_hour=60, fault_rate=0.15,
                    fault_kinds=("rate_limit", "timeout", "malformed"),
                    timeout_applies_effect=False, timeout_delay=3.5)
    fake = running.fake
    seed_warehouses(pg_engine)
    shop_id = await connect_shop(pg_engine, sealer, running, stock=10_000)
    async with (Worker(pg_engine, sealer, settings=SETTINGS, clock=fake.clock.now,
                       retry=fast_retry(), owner="w1") as w1,
                Worker(pg_engine, sealer, settings=SETTINGS, clock=fake.clock.now,
                       retry=fast_retry(), owner="w2") as w2):
        for _ in range(10):
            reports = await asyncio.gather(w1.tick(shop_id), w2.tick(shop_id))
            assert all(isinstance(r, TickReport) for r in reports)
            fake.advance(300)
        # the faults stop and no new orders come: what the last faulty tick left allocated
        # (its waybill call failed) is finished by the next ticks, still both at once
        fake.faults.rate = 0.0
        for _ in range(2):
            await asyncio.gather(w1.tick(shop_id), w2.tick(shop_id))
    with pg_engine.connect() as conn:
        states = Counter(conn.execute(sa.select(orders.c.state)).scalars())
        stored = dict(conn.execute(sa.select(waybills.c.order_id, waybills.c.waybill_no)).all())
        tasked = set(conn.execute(sa.select(orders.c.id).where(orders.c.state == "tasked")).scalars())
        claims = conn.execute(sa.select(sa.func.count()).select_from(job_leases).where(
            job_leases.c.job.like("waybill:%"))).scalar_one()
    issued = Counter(oid for w in fake.waybills for oid in w.order_ids)
    assert len(tasked) >= 100, states
    assert tasked <= set(stored)  # every tasked order has its waybill (others were closed)...
    assert {o: n for o, n in issued.items() if n > 1} == {}  # ...and the platform issued one
    assert {w.number for w in fake.waybills} == set(stored.values())
    assert states["allocated"] == 0 and claims == 0
    assert sum(fake.faults.injected.values()) > 20


async def test_a_tick_longer_than_the_lease_keeps_it(pg_engine: Engine, sealer: Sealer,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    settings = WorkerSettings(lease_ttl=timedelta(seconds=2), listen_push=False)
    w1 = Worker(pg_engine, sealer, settings=settings, owner="w1")
    taken: list[bool] = []

    async def slow_tick(shop_id: str) -> TickReport:
        for _ in range(6):  # 6 s: three lease lengths (wide margins: CI machines are busy)
            await asyncio.sleep(1.0)
            taken.append(await asyncio.to_thread(
                acquire_lease, pg_engine, f"shop:{shop_id}", "w2", settings.lease_ttl,
                now=w1.now()))
        return TickReport(shop_id)

    monkeypatch.setattr(w1, "tick", slow_tick)
    assert acquire_lease(pg_engine, "shop:pdd1", "w1", settings.lease_ttl, now=w1.now())
    await w1.tick_leased("pdd1")
    assert taken == [False] * 6  # w2 never got in while w1's tick ran


async def test_a_renewal_waits_for_another_workers_look_at_the_lease(pg_engine: Engine) -> None:
    # Another worker's probe (``acquire_lease``: SELECT … FOR UPDATE SKIP LOCKED) holds the
    # row for a moment. A renewal arriving in that moment used to skip the locked row, take
    # it for "lost", and stop renewing: the lease then lapsed under the running tick (the
    # test above failed that way in CI when a renewal and a probe met at the 2 s mark).
    ttl = timedelta(seconds=30)
    start = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
    assert acquire_lease(pg_engine, "shop:pdd1", "w1", ttl, now=start)
    with pg_engine.connect() as other:
        other.execute(sa.select(job_leases.c.owner).where(
            job_leases.c.job == "shop:pdd1").with_for_update())  # the probe's moment
        renewal = asyncio.create_task(asyncio.to_thread(
            renew_lease, pg_engine, "shop:pdd1", "w1", ttl, now=start + timedelta(seconds=10)))
        await asyncio.sleep(0.5)
        assert not renewal.done()  # waits for the row rather than giving up
        other.rollback()
    assert await renewal
    with pg_engine.connect() as conn:
        until = conn.execute(sa.select(job_leases.c.lease_until).where(
            job_leases.c.job == "shop:pdd1")).scalar_one()
    assert until == datetime(2026, 12, 5, 1, 0, 40, tzinfo=UTC)
    # a lease another owner took is not renewed
    assert acquire_lease(pg_engine, "shop:pdd1", "w2", ttl, now=start + timedelta(seconds=41))
    assert not renew_lease(pg_engine, "shop:pdd1", "w1", ttl, now=start + timedelta(seconds=42))
