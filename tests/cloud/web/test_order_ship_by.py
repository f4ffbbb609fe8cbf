"""发货时限 on the order list: the deadline is shown, open orders past it are marked late
and those due within 12 hours urgent, and the list sorts most urgent first (orders with no
deadline last); the order's page shows it."""

from __future__ import annotations

from datetime import timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema_orders import orders
from edge.domain.models import Role
from tests.cloud.web.support import T0, cells, signed_in


async def test_the_list_marks_and_sorts_by_ship_by(client: httpx.AsyncClient,
                                                   cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)  # the clock: T0
    with cloud_engine.begin() as conn:
        ids = conn.execute(sa.select(orders.c.id, orders.c.platform_order_id)
                           .order_by(orders.c.id)).all()
        assert len(ids) >= 3
        (late, _), (soon, _), (later, _) = ids[:3]
        for oid, due in ((late, T0 - timedelta(hours=1)), (soon, T0 + timedelta(hours=3)),
                         (later, T0 + timedelta(days=2))):
            conn.execute(sa.update(orders).where(orders.c.id == oid).values(
                ship_by=due, state="pending"))
    page = (await client.get("/orders?sort=ship_by")).text
    rows = cells(page, "orders-table")
    order_nos = [dict(ids)[i] for i in (late, soon, later)]
    assert [r[1] for r in rows[:3]] == order_nos  # most urgent first (after the merge box)
    assert "已超时" in rows[0][7] and "已超时" not in rows[1][7]
    assert 'class="nowrap late"' in page and 'class="nowrap due-soon"' in page
    # 10:00 on 1 December Beijing time, one hour earlier: 09:00
    detail = (await client.get(f"/orders/{late}")).text
    assert 'id="ship-by">2026-12-01 09:00' in detail
