"""``cloud.stock.levels`` on both engines against a hand-made ledger state, whole and for
one warehouse or SKU (the stock pages, the stock report and replenishment read it).

| WH  | SKU | balances          | held by open orders     | in transit | safety |
|-----|-----|-------------------|-------------------------|------------|--------|
| WH1 | A   | A-01 3, A-02 2    | o1 2 (o2 1 released)    | —          | 4      |
| WH1 | C   | —                 | —                       | 4 (T1)     | —      |
| WH1 | D   | A-03 0            | —                       | —          | (not listed) |
| WH2 | A   | B-01 −1 (oversold)| —                       | —          | —      |
| WH2 | B   | —                 | o1 1, shipped 0         | —          | —      |
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema import shops, sku_safety_stock, skus, stock_balances, warehouses
from cloud.db.schema_orders import orders, reservations
from cloud.db.schema_transfers import transfer_lines, transfers
from cloud.stock import SkuLevel, levels

T0 = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)


def _seed(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(warehouses.insert(), [{"id": "WH1", "name": "一仓"},
                                           {"id": "WH2", "name": "二仓"}])
        conn.execute(skus.insert(), [{"sku": s, "name_zh": s} for s in "ABCD"])
        conn.execute(shops.insert().values(id="s", platform="pdd", name="店", created_at=T0))
        conn.execute(stock_balances.insert(), [
            {"warehouse_id": "WH1", "sku": "A", "location": "A-01", "qty": 3},
            {"warehouse_id": "WH1", "sku": "A", "location": "A-02", "qty": 2},
            {"warehouse_id": "WH1", "sku": "D", "location": "A-03", "qty": 0},
            {"warehouse_id": "WH2", "sku": "A", "location": "B-01", "qty": -1}])
        for oid in ("o1", "o2"):
            conn.execute(orders.insert().values(
                id=oid, shop_id="s", platform="pdd", platform_order_id=oid,
                platform_status="paid", raw_status="1", platform_updated_at=T0,
                receiver_masked={}, first_seen_at=T0, updated_at=T0))
        conn.execute(reservations.insert(), [
            {"order_id": "o1", "sku": "A", "warehouse_id": "WH1", "qty": 2, "shipped_qty": 0,
             "created_at": T0, "released_at": None},
            {"order_id": "o2", "sku": "A", "warehouse_id": "WH1", "qty": 1, "shipped_qty": 0,
             "created_at": T0, "released_at": T0},
            {"order_id": "o1", "sku": "B", "warehouse_id": "WH2", "qty": 1, "shipped_qty": 0,
             "created_at": T0, "released_at": None}])
        conn.execute(transfers.insert().values(id="T1", from_warehouse="WH2",
                                               to_warehouse="WH1", status="sent",
                                               created_by="lead", created_at=T0,
                                               updated_at=T0))
        conn.execute(transfer_lines.insert().values(transfer_id="T1", line_no=1, sku="C",
                                                    qty=4, qty_shipped=4))
        conn.execute(sku_safety_stock.insert().values(warehouse_id="WH1", sku="A", qty=4))


def test_levels_whole_and_narrowed(cloud_engine: Engine) -> None:
    _seed(cloud_engine)
    a1 = SkuLevel("WH1", "A", 5, 2, 4, 0)
    c1 = SkuLevel("WH1", "C", 0, 0, None, 4)
    a2 = SkuLevel("WH2", "A", -1, 0, None, 0)
    b2 = SkuLevel("WH2", "B", 0, 1, None, 0)
    with cloud_engine.connect() as conn:
        assert levels(conn) == [a1, c1, a2, b2]
        assert levels(conn, warehouse_id="WH1") == [a1, c1]
        assert levels(conn, warehouse_id="WH2") == [a2, b2]
        assert levels(conn, sku="A") == [a1, a2]
        assert levels(conn, warehouse_id="WH1", sku="C") == [c1]
        assert levels(conn, limit=1) == [a1]
        assert a1.available == 3 and b2.available == -1
        n = conn.execute(sa.select(sa.func.count()).select_from(stock_balances)).scalar_one()
    assert n == 4
