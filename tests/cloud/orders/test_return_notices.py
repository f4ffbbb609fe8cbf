"""A refund that brings goods back on an order Packline shipped reaches the stations of the
warehouse that shipped it (``refund`` down-message) with the Packline SKU and units; a
refund without goods, or one on an order not shipped, sends nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet

from cloud.crypto import Sealer
from cloud.db import make_engine, migrate, write_transaction
from cloud.db import skus as skus_table
from cloud.db.schema import downlink_outbox
from cloud.db.schema_orders import orders, refunds
from cloud.marketplaces.base import OrderLine, OrderStatus, PlatformOrder, RefundEvent
from cloud.orders.order_sync import upsert_order, upsert_refund
from cloud.orders.stock_push import add_mapping
from cloud.shops import add_shop
from edge.sync.schema import RefundWire
from tests.cloud.orders.support import seed_warehouses

NOW = datetime(2026, 11, 25, tzinfo=UTC)
PID = "261123-000000000000001"
OID = f"pdd-{PID}"


def _setup(tmp_path: Path) -> sa.Engine:
    """Order OID: 3 pieces of platform SKU A0, mapped to 2 units of S0 each (6 units),
    shipped from WH1 (stations ST1, ST2; ST9 is in WH2)."""
    engine = make_engine(f"sqlite:///{tmp_path}/r.db")
    migrate(engine)
    seed_warehouses(engine, stations_per={"WH1": ["ST1", "ST2"], "WH2": ["ST9"]})
    with write_transaction(engine) as conn:
        add_shop(conn, Sealer(Fernet.generate_key()), platform="pdd", name="s", app_key="k",
                 app_secret="x", shop_id="pdd1", default_warehouse_id="WH1")
        conn.execute(sa.insert(skus_table).values(sku="S0", name_zh="S0"))
        add_mapping(conn, "pdd1", item_id="I0", sku_id="A0", sku="S0", units=2, now=NOW)
        upsert_order(conn, "pdd1", PlatformOrder(
            platform="pdd", order_id=PID, status=OrderStatus.AWAITING_SHIPMENT,
            raw_status="1", updated_at=NOW - timedelta(hours=1),
            lines=(OrderLine(sku_id="A0", outer_id="", qty=3, price_fen=100),)), now=NOW)
        conn.execute(sa.update(orders).where(orders.c.id == OID).values(
            state="shipped", warehouse_id="WH1", station_id="ST1"))
    return engine


def _refund(engine: sa.Engine, at: int, **kw: object) -> None:
    event = RefundEvent(**{"platform": "pdd", "refund_id": "R1", "order_id": PID,
                           "status": "3", "amount_fen": 200,
                           "updated_at": NOW + timedelta(minutes=at), "sku_id": "A0",
                           "qty": 2, "kind": "2", "returns_goods": True,
                           "return_waybill": "YT100", "return_carrier": "圆通快递", **kw})
    with write_transaction(engine) as conn:
        upsert_refund(conn, "pdd1", event, now=NOW + timedelta(minutes=at))


def _sent(engine: sa.Engine) -> list[tuple[str, RefundWire]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(downlink_outbox.c.station_id, downlink_outbox.c.payload)
                            .where(downlink_outbox.c.kind == "refund")
                            .order_by(downlink_outbox.c.seq)).all()
    return [(r[0], RefundWire.model_validate(r[1])) for r in rows]


def test_a_return_reaches_the_stations_of_the_shipping_warehouse(tmp_path: Path) -> None:
    engine = _setup(tmp_path)
    _refund(engine, 1)
    sent = _sent(engine)
    assert [s for s, _ in sent] == ["ST1", "ST2"]
    wire = sent[0][1]
    assert (wire.refund_id, wire.order_id, wire.platform_order_no, wire.status, wire.sku,
            wire.qty, wire.return_waybill, wire.exchange, wire.amount_fen) == (
        "R1", OID, PID, "pending", "S0", 4, "YT100", False, 200)  # 2 pieces × 2 units
    with engine.connect() as conn:
        row = conn.execute(sa.select(refunds.c.returns_goods, refunds.c.return_waybill,
                                     refunds.c.qty)).one()
    assert tuple(row) == (True, "YT100", 2)
    _refund(engine, 0)  # an older copy: stale, nothing sent
    assert len(_sent(engine)) == 2
    _refund(engine, 5, status="10", succeeded=True)  # refunded: sent again
    assert [w.status for _, w in _sent(engine)] == ["pending", "pending", "success", "success"]


def test_no_goods_or_not_shipped_sends_nothing(tmp_path: Path) -> None:
    engine = _setup(tmp_path)
    _refund(engine, 1, returns_goods=False, return_waybill="")
    assert _sent(engine) == []
    with write_transaction(engine) as conn:
        conn.execute(sa.update(orders).where(orders.c.id == OID).values(state="cancelled"))
    _refund(engine, 2)
    assert _sent(engine) == []
