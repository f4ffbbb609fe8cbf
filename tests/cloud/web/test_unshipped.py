"""已打印未发货 (#15 item 3): orders whose label a station (or the 打单台) printed that have not shipped,
oldest first print first, with their age at the app's clock; shipped, cancelled and
station-shipped orders are not listed. Hand-computed from the rows below, both engines."""

from __future__ import annotations

from datetime import timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema import station_label_prints, station_shipments
from cloud.db.schema_couriers import desk_prints
from cloud.db.schema_orders import orders
from edge.domain.models import Role
from tests.cloud.web.support import T0, FakeClock, cells, signed_in


def _print(msg: str, order_id: str, n: int, at_hours_before: float, station: str = "st-01"
           ) -> dict[str, object]:
    at = T0 - timedelta(hours=at_hours_before)
    return {"msg_id": msg, "station_id": station, "order_id": order_id, "n": n,
            "operator_id": "P01", "reason": None if n == 1 else "卡纸", "printed_at": at,
            "received_at": at}


async def test_printed_orders_not_shipped_are_listed_oldest_first_with_their_age(
        client: httpx.AsyncClient, cloud_engine: Engine, clock: FakeClock) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    clock.advance(minutes=30)  # the page's now: T0 + 30 min
    with cloud_engine.begin() as conn:
        conn.execute(sa.insert(station_label_prints), [
            _print("p1", "pdd-1003", 1, 3),                   # allocated: 3.5 h ago
            _print("p2", "pdd-1002", 1, 26), _print("p3", "pdd-1002", 2, 25, "st-02"),
            _print("p4", "pdd-1001", 1, 40),                  # shipped: not listed
        ])
        conn.execute(sa.insert(desk_prints).values(  # printed again at the office 打单台
            id="T1:ZT1003", order_id="pdd-1003", waybill_no="ZT1003", n=1, printer="Deli",
            printed_by="u-warehouse-lead", printed_at=T0 - timedelta(hours=1), reason=None))
    rows = cells((await client.get("/labels/unshipped")).text, "unshipped-table")
    # 1002: first print 26 h before T0 → 26.5 h → 26 whole hours, stale (≥ 24), 2 prints,
    # last printed at st-02; 1003: 3.5 h → 3, 2 prints, the last at the 打单台.
    assert [(r[0], r[4], r[6], r[7]) for r in rows] == [
        ("1002", "st-02", "2", "26 小时"), ("1003", "打单台", "2", "3 小时")]
    # a station shipment received, or the order cancelled: off the list
    with cloud_engine.begin() as conn:
        conn.execute(sa.insert(station_shipments).values(
            msg_id="s1", station_id="st-01", order_id="pdd-1003", waybill_no="ZT1",
            carrier="ZTO", operator_id="P01", shipped_at=T0, received_at=T0))
        conn.execute(sa.update(orders).where(orders.c.id == "pdd-1002").values(
            state="cancelled"))
    page = (await client.get("/labels/unshipped")).text
    assert 'id="unshipped-table"' not in page and "没有记录" in page


async def test_a_packer_cannot_open_it(client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.PACKER)
    assert (await client.get("/labels/unshipped")).status_code == 403
