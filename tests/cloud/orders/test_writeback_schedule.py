"""A tracking write-back the platform keeps refusing: when it is tried again, and when a
person is asked. The waits are hand-computed from what ``cloud.orders.writeback`` promises
(5 s, doubling, never more than 600 s; 12 attempts), not from its code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db import shops, write_transaction
from cloud.db.schema_orders import orders, tracking_writebacks
from cloud.marketplaces.errors import MarketplaceError
from cloud.orders.writeback import write_back

T0 = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)

EXPECTED_WAITS = [5, 10, 20, 40, 80, 160, 320, 600, 600, 600, 600]
"""Seconds between the 12 attempts: 5 s doubling, capped at 600 s; 3,035 s in all."""


class PlatformAway:
    """Every call fails as a transient error (an outage, a timeout)."""

    def __init__(self) -> None:
        self.calls = 0

    async def ship(self, *args: object, **kwargs: object) -> None:
        self.calls += 1
        raise MarketplaceError("gateway timeout", platform="pdd", api="pdd.logistics.online.send")

    async def get_order(self, *args: object) -> None:
        self.calls += 1
        raise MarketplaceError("gateway timeout", platform="pdd", api="pdd.order.information.get")


def _one_pending_writeback(engine: Engine) -> None:
    with write_transaction(engine) as conn:
        conn.execute(sa.insert(shops).values(id="s1", platform="pdd", name="店", created_at=T0))
        conn.execute(sa.insert(orders).values(
            id="pdd:O1", shop_id="s1", platform="pdd", platform_order_id="O1",
            platform_status="awaiting_shipment", raw_status="1", platform_updated_at=T0,
            receiver_masked={}, first_seen_at=T0, updated_at=T0, state="shipped"))
        conn.execute(sa.insert(tracking_writebacks).values(
            order_id="pdd:O1", waybill_no="ZT1", carrier="ZTO", modify=False,
            shipment_msg_id="m1", next_attempt_at=T0, created_at=T0))


def _row(engine: Engine) -> sa.Row[tuple[object, ...]]:
    with engine.connect() as conn:
        return conn.execute(sa.select(tracking_writebacks)).one()


async def test_a_refused_writeback_backs_off_then_asks_a_person(cloud_engine: Engine) -> None:
    assert sum(EXPECTED_WAITS) == 3035
    _one_pending_writeback(cloud_engine)
    platform = PlatformAway()
    sc = SimpleNamespace(shop=SimpleNamespace(id="s1", platform="pdd", logistics_id="115",
                                              carrier_code="ZTO"), client=platform)
    now, waits = T0, []
    for attempt in range(1, 13):
        early = await write_back(cloud_engine, sc, now=now - timedelta(seconds=1))
        assert (early.done, early.retry, early.failed) == (0, 0, 0), "tried before it was due"
        result = await write_back(cloud_engine, sc, now=now)
        row = _row(cloud_engine)
        assert row.attempts == attempt
        if attempt < 12:
            assert (result.retry, result.failed, row.state) == (1, 0, "pending")
            assert row.last_error == "gateway timeout"
            waits.append((row.next_attempt_at - now).total_seconds())
            now = row.next_attempt_at
        else:
            assert (result.retry, result.failed, row.state) == (0, 1, "failed")
    assert waits == EXPECTED_WAITS
    assert platform.calls == 12  # one call per attempt: a timeout is not re-sent at once
