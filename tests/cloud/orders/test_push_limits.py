"""A push rule's floor and cap, by hand, and the push audit re-deriving limited pushes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema_orders import stock_pushes
from cloud.orders.stock_push import audit_pushes, within_limits

T = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(("units", "low", "high", "offered"), [
    (10, None, None, 10),
    (10, None, 6, 6),      # capped
    (10, 11, None, 0),     # below the floor: keep the last pieces offline
    (10, 10, None, 10),    # at the floor: offered
    (10, 3, 6, 6),
    (2, 3, 6, 0),
    (0, None, 6, 0),
])
def test_within_limits_by_hand(units: int, low: int | None, high: int | None,
                               offered: int) -> None:
    assert within_limits(units, low, high) == offered


def test_the_push_audit_reads_the_recorded_limits(cloud_engine: Engine) -> None:
    row = {"shop_id": "s", "mapping_id": 1, "sku": "SKU-1", "on_hand": 12, "reserved": 0,
           "buffer": 2, "units": 1, "allotted": 12, "guard_units": 12, "detail": {}, "ok": True,
           "answer": "ok", "at": T, "push_min": None, "push_max": None}
    with cloud_engine.begin() as conn:
        conn.execute(sa.insert(stock_pushes), [
            {**row, "available": 6, "pushed": 6, "push_max": 6},                  # right
            {**row, "available": 10, "pushed": 10, "push_max": 6},                # cap ignored
            {**row, "available": 0, "pushed": 0, "push_min": 11},                 # right
            {**row, "available": 10, "pushed": 10}])                              # no limits
        ids = list(conn.execute(sa.select(stock_pushes.c.id).order_by(stock_pushes.c.id)).scalars())
        assert audit_pushes(conn) == [ids[1]]
