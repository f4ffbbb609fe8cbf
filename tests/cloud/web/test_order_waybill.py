"""The order page shows the order's e-waybill and whether its number was cancelled on the
platform (回收) after the order was cancelled, or why that did not work."""

from __future__ import annotations

from datetime import timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema_orders import waybills
from edge.domain.models import Role
from tests.cloud.web.support import T0, signed_in


async def test_the_order_page_shows_the_waybill_and_its_cancellation(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    with cloud_engine.begin() as conn:
        conn.execute(sa.insert(waybills), [
            {"order_id": "pdd-1002", "waybill_no": "ZT500", "carrier_code": "ZTO",
             "print_data": "{}", "issued_at": T0, "cancelled_at": T0 + timedelta(hours=1),
             "cancel_attempts": 1, "cancel_error": None},
            {"order_id": "pdd-1003", "waybill_no": "ZT501", "carrier_code": "ZTO",
             "print_data": "{}", "issued_at": T0, "cancelled_at": None, "cancel_attempts": 12,
             "cancel_error": "面单号已发货, 不能取消"},
        ])
    cancelled = (await client.get("/orders/pdd-1002")).text
    assert "ZT500 (ZTO)" in cancelled and "已取消回收" in cancelled
    refused = (await client.get("/orders/pdd-1003")).text
    assert "回收未成功: 面单号已发货, 不能取消" in refused
    plain = (await client.get("/orders/pdd-1001")).text
    assert 'id="order-waybill"' not in plain  # no waybill row: nothing shown
