"""A refund request holds an allocated order with its units reserved; withdrawn, the order
goes back to allocation and ships; refunded, it is cancelled and its units are free."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet

from cloud.crypto import Sealer
from cloud.db import make_engine, migrate, write_transaction
from cloud.db import skus as skus_table
from cloud.db.schema_orders import orders
from cloud.marketplaces.base import OrderLine, OrderStatus, PlatformOrder, RefundEvent
from cloud.orders.allocation import allocate_pending
from cloud.orders.order_sync import upsert_order, upsert_refund
from cloud.orders.stock_push import add_mapping
from cloud.shops import add_shop
from tests.cloud.orders.support import receive, seed_warehouses

NOW = datetime(2026, 11, 25, tzinfo=UTC)
OID = "pdd-261123-000000000000001"


def _state(engine: sa.Engine) -> tuple[str, str | None, int]:
    """The order's state, exception code and the units it holds (open reservations)."""
    with engine.connect() as conn:
        state, code = conn.execute(sa.select(orders.c.state, orders.c.exception_code).where(
            orders.c.id == OID)).one()
        held = conn.execute(sa.text(
            "SELECT COALESCE(SUM(qty - shipped_qty), 0) FROM reservations"
            " WHERE order_id = :o AND released_at IS NULL"), {"o": OID}).scalar_one()
    return state, code, int(held)


def _refund(engine: sa.Engine, status: str, at: int, *, succeeded: bool = False) -> None:
    with write_transaction(engine) as conn:
        upsert_refund(conn, "pdd1", RefundEvent(
            platform="pdd", refund_id="R1", order_id=OID.split("-", 1)[1], status=status,
            amount_fen=100, updated_at=NOW + timedelta(minutes=at), succeeded=succeeded),
            now=NOW + timedelta(minutes=at))


def _setup(tmp_path: Path) -> sa.Engine:
    engine = make_engine(f"sqlite:///{tmp_path}/r.db")
    migrate(engine)
    seed_warehouses(engine, stations_per={"WH1": ["ST1"]})
    with write_transaction(engine) as conn:
        add_shop(conn, Sealer(Fernet.generate_key()), platform="pdd", name="s", app_key="k",
                 app_secret="x", shop_id="pdd1", default_warehouse_id="WH1")
        conn.execute(sa.insert(skus_table).values(sku="S0", name_zh="S0"))
        add_mapping(conn, "pdd1", item_id="I0", sku_id="A0", sku="S0", now=NOW)
    receive(engine, "WH1", "S0", 5)
    with write_transaction(engine) as conn:
        upsert_order(conn, "pdd1", PlatformOrder(
            platform="pdd", order_id=OID.split("-", 1)[1], status=OrderStatus.AWAITING_SHIPMENT,
            raw_status="1", updated_at=NOW - timedelta(hours=1),
            lines=(OrderLine(sku_id="A0", outer_id="", qty=2, price_fen=100),)), now=NOW)
    allocate_pending(engine, "pdd1", "WH1", now=NOW)
    assert _state(engine) == ("allocated", None, 2)
    return engine


def test_a_withdrawn_refund_sends_the_held_order_back_to_allocation(tmp_path: Path) -> None:
    engine = _setup(tmp_path)
    _refund(engine, "2", 1)  # 待商家处理: the buyer asked
    assert _state(engine) == ("exception", "refund", 2)  # held, units still reserved
    _refund(engine, "11", 2)  # 买家撤销: withdrawn
    assert _state(engine) == ("pending", None, 2)
    allocate_pending(engine, "pdd1", "WH1", now=NOW + timedelta(minutes=3))
    assert _state(engine) == ("allocated", None, 2)
    engine.dispose()


def test_a_successful_refund_cancels_the_held_order_and_frees_its_units(
        tmp_path: Path) -> None:
    engine = _setup(tmp_path)
    _refund(engine, "2", 1)
    _refund(engine, "10", 2, succeeded=True)  # 退款成功
    state, _, held = _state(engine)
    assert (state, held) == ("cancelled", 0)
    engine.dispose()
