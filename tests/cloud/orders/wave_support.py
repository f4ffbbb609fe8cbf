"""The stations, orders, waybills and stock the wave tests share (see
``tests/cloud/orders/test_waves.py`` for the table)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from cloud.db.schema import shops, stations, stock_balances, warehouses
from cloud.db.schema_orders import order_lines, orders, waybills

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
"""2026-12-01 10:00 China Standard Time: wave ids carry 20261201."""

TASKS = {  # order: (lines, ship-by hours or None, courier, state, station)
    "o1": ({"A": 1}, 5, "ZTO", "tasked", "st-1"),
    "o2": ({"A": 1}, 2, "YTO", "tasked", "st-1"),
    "o3": ({"B": 2}, 1, "ZTO", "tasked", "st-1"),
    "o4": ({"A": 1, "C": 1}, 3, "ZTO", "tasked", "st-1"),
    "o5": ({"C": 1}, None, "ZTO", "tasked", "st-1"),
    "o6": ({"A": 1}, 1, "ZTO", "shipped", "st-1"),
    "o7": ({"A": 1}, 1, "ZTO", "tasked", "st-2"),
    "o8": ({"A": 1}, 1, "ZTO", "intercepted", "st-1"),
    "o9": ({"B": 1, "C": 1}, 4, "ZTO", "tasked", "st-1"),
}


def seed(engine: Engine) -> None:
    """The table in the module doc."""
    with engine.begin() as conn:
        conn.execute(warehouses.insert().values(id="WH1", name="杭州仓"))
        conn.execute(stations.insert(), [
            {"id": sid, "warehouse_id": "WH1", "name": sid, "status": "active",
             "created_at": T0} for sid in ("st-1", "st-2")])
        conn.execute(shops.insert().values(id="shop", platform="pdd", name="店", created_at=T0))
        for oid, (lines, hours, courier, state, station) in TASKS.items():
            conn.execute(orders.insert().values(
                id=oid, shop_id="shop", platform="pdd", platform_order_id=f"P{oid}",
                platform_status="paid", raw_status="1", platform_updated_at=T0,
                first_seen_at=T0, updated_at=T0, ordered_at=T0, receiver_masked={},
                state=state, warehouse_id="WH1", station_id=station,
                ship_by=None if hours is None else T0 + timedelta(hours=hours)))
            conn.execute(order_lines.insert(), [
                {"order_id": oid, "line_no": n, "qty": units, "price_fen": 100, "sku": sku,
                 "sku_qty": units} for n, (sku, units) in enumerate(lines.items(), 1)])
            conn.execute(waybills.insert().values(
                order_id=oid, waybill_no=f"WB-{oid}", carrier_code=courier, print_data="{}",
                issued_at=T0))
        conn.execute(stock_balances.insert(), [
            {"warehouse_id": "WH1", "sku": "A", "location": "A-01-01", "qty": 10},
            {"warehouse_id": "WH1", "sku": "B", "location": "B-02-01", "qty": 5},
            {"warehouse_id": "WH1", "sku": "C", "location": "A-02-03", "qty": 4},
            {"warehouse_id": "WH1", "sku": "C", "location": "B-01-01", "qty": 0}])
