"""Bounded growth in the cloud: the retention policy prunes transport and bookkeeping rows
(never the ledger), and a long-running worker keeps a bounded number of tick reports."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import cloud.orders.worker as worker_module
from cloud.crypto import Sealer
from cloud.db import write_transaction
from cloud.db.schema import dead_letters, downlink_outbox
from cloud.db.schema_orders import push_inbox, stock_pushes
from cloud.orders.worker import TickReport, Worker, WorkerSettings
from cloud.retention import RetentionSettings, prune

NOW = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def engine(cloud_engine: Engine) -> Engine:
    """A migrated database on SQLite and on PostgreSQL (``tests.fixtures.cloud_db``)."""
    return cloud_engine


def seed(engine: Engine) -> None:
    """Rows of every pruned table at known ages (days before NOW)."""
    with write_transaction(engine) as conn:
        for name, acked_days in (("old-acked", 31), ("new-acked", 29), ("old-unacked", None)):
            conn.execute(sa.insert(downlink_outbox).values(
                msg_id=f"{name}-msg", station_id="st-01", kind="task", payload={},
                created_at=NOW - 100 * DAY, next_attempt_at=NOW - 100 * DAY,
                acked_at=None if acked_days is None else NOW - acked_days * DAY))
        for n, days in enumerate((91, 89)):
            conn.execute(sa.insert(dead_letters).values(
                received_at=NOW - days * DAY, topic="t", station_id="st-01",
                msg_id=f"dead-{n}-msg", reason="r", payload="{}"))
        for n, days in enumerate((8, 6)):
            conn.execute(sa.insert(push_inbox).values(
                shop_id="pdd1", msg_id=f"push-{n}", topic="pdd_trade_TradeModified",
                received_at=NOW - days * DAY))
        # mapping 1: four old pushes (the last accepted is the 2nd); mapping 2: one old push
        for mapping, days, ok in ((1, 40, True), (1, 39, True), (1, 38, False), (1, 37, False),
                                  (2, 50, True), (1, 1, False)):
            conn.execute(sa.insert(stock_pushes).values(
                shop_id="pdd1", mapping_id=mapping, sku="SKU-0001", on_hand=10, reserved=0,
                buffer=0, available=10, pushed=10, guard_units=10, ok=ok, answer="",
                at=NOW - days * DAY))


def survivors(engine: Engine) -> dict[str, list[object]]:
    with engine.connect() as conn:
        return {
            "downlink": sorted(conn.execute(sa.select(downlink_outbox.c.msg_id)).scalars()),
            "dead": sorted(conn.execute(sa.select(dead_letters.c.msg_id)).scalars()),
            "push": sorted(conn.execute(sa.select(push_inbox.c.msg_id)).scalars()),
            "stock": [tuple(r) for r in conn.execute(sa.select(
                stock_pushes.c.mapping_id, stock_pushes.c.at).order_by(stock_pushes.c.id))],
        }


def test_the_policy_prunes_old_transport_rows_and_keeps_what_is_still_needed(engine: Engine) -> None:
    seed(engine)
    done = prune(engine, NOW, RetentionSettings(batch=1))  # batch 1: the loop runs to the end
    assert done == {"downlink_outbox": 1, "dead_letters": 1, "push_inbox": 1, "stock_pushes": 3}
    assert survivors(engine) == {
        "downlink": ["new-acked-msg", "old-unacked-msg"],  # unacked: still being re-sent
        "dead": ["dead-1-msg"],
        "push": ["push-1"],
        # mapping 1 keeps its last accepted (39 d) and its latest (1 d); mapping 2 its only one
        "stock": [(1, NOW - 39 * DAY), (2, NOW - 50 * DAY), (1, NOW - DAY)],
    }
    assert prune(engine, NOW) == dict.fromkeys(done, 0)


class Clock:
    def __init__(self) -> None:
        self.t = NOW.timestamp()

    def __call__(self) -> float:
        return self.t


def test_the_worker_prunes_once_per_period(engine: Engine) -> None:
    from cryptography.fernet import Fernet

    seed(engine)
    clock = Clock()
    w = Worker(engine, Sealer(Fernet.generate_key()), clock=clock, owner="w1",
               settings=WorkerSettings(retention=RetentionSettings(every=3600.0)))
    other = Worker(engine, Sealer(Fernet.generate_key()), clock=clock, owner="w2")
    assert w.prune_if_due() == {"downlink_outbox": 1, "dead_letters": 1, "push_inbox": 1,
                                "stock_pushes": 3}
    assert other.prune_if_due() is None  # w1 holds the retention lease
    clock.t += 1800
    assert w.prune_if_due() is None  # not due yet
    clock.t += 1800
    assert w.prune_if_due() is not None


def test_a_long_running_worker_keeps_only_the_latest_reports(engine: Engine,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.fernet import Fernet

    ticks: list[int] = []

    async def tick(shop_id: str) -> TickReport:
        ticks.append(1)
        return TickReport(shop_id, allocated=len(ticks))

    monkeypatch.setattr(worker_module, "active_shop_ids", lambda conn: ["pdd1"])
    w = Worker(engine, Sealer(Fernet.generate_key()), owner="w1",
               settings=WorkerSettings(interval=0.0, listen_push=False, keep_reports=3))
    monkeypatch.setattr(w, "tick", tick)
    reports = asyncio.run(w.run(max_ticks=50))
    assert len(ticks) == 50
    assert [r.allocated for r in reports] == [48, 49, 50]
