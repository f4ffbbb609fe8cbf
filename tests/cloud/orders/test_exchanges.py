"""换货 (#14 item 5): the exchange order of a shipped order — its own reservation, review,
allocation and task, a waybill naming the original's platform order, no tracking written
back — and what is refused (nothing written). On both engines."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db import write_transaction
from cloud.db.schema_orders import order_events, order_lines, orders, tracking_writebacks, waybills
from cloud.errors import InputError
from cloud.orders import exchanges
from cloud.orders.allocation import allocate_pending
from cloud.orders.parcels import platform_order_ids
from cloud.orders.waybills import build_task
from cloud.orders.writeback import collect_shipments
from tests.cloud.orders.support import ship_at_station
from tests.cloud.orders.test_merging import T0, _add, _held, _po, _setup, _state

A = "taobao-1001"
X1 = "taobao-1001~X1"


def _shipped_original(engine: Engine) -> None:
    """Order 1001 (SKU-A ×2) allocated, tasked and shipped from WH1 with waybill W1."""
    _setup(engine, stock=10)
    _add(engine, "tb1", _po("1001", [("SKU-A", 2)]))
    assert allocate_pending(engine, "tb1", "WH1", now=T0).allocated == [A]
    with write_transaction(engine) as conn:
        conn.execute(sa.insert(waybills).values(order_id=A, waybill_no="W1", carrier_code="ZTO",
                                                print_data="{}", issued_at=T0))
        conn.execute(sa.update(orders).where(orders.c.id == A).values(state="tasked"))
    ship_at_station(engine, A, "W1", now=T0)
    with write_transaction(engine) as conn:
        assert collect_shipments(conn, "tb1", now=T0) == 1
    assert _state(engine, A)[0] == "shipped"


def test_an_exchange_ships_for_the_original_and_writes_nothing_back(cloud_engine: Engine) -> None:
    _shipped_original(cloud_engine)
    with write_transaction(cloud_engine) as conn:
        assert exchanges.create(conn, A, {"SKU-B": 1}, actor="lead", reason="换 B 款",
                                now=T0) == X1
    assert _state(cloud_engine, X1) == ("pending", None, None)
    assert _held(cloud_engine) == {X1: {"SKU-B": 1}}
    with cloud_engine.connect() as conn:
        row = conn.execute(sa.select(orders).where(orders.c.id == X1)).one()
        original = conn.execute(sa.select(orders).where(orders.c.id == A)).one()
        lines = conn.execute(sa.select(order_lines.c.sku, order_lines.c.qty, order_lines.c.sku_qty)
                             .where(order_lines.c.order_id == X1)).all()
        events = conn.execute(sa.select(order_events.c.order_id, order_events.c.reason)
                              .where(order_events.c.action == "exchange")
                              .order_by(order_events.c.id)).all()
    assert (row.exchange_of, row.platform_order_id, row.pay_fen) == (A, "1001~X1", 0)
    assert row.receiver_masked == original.receiver_masked
    assert [tuple(r) for r in lines] == [("SKU-B", 1, 1)]
    assert [tuple(e) for e in events] == [(A, "换货发出 SKU-B ×1: 换 B 款 → taobao-1001~X1"),
                                          (X1, "换货发出 SKU-B ×1: 换 B 款 ← taobao-1001")]
    assert allocate_pending(cloud_engine, "tb1", "WH1", now=T0).allocated == [X1]
    with cloud_engine.connect() as conn:
        row = conn.execute(sa.select(orders).where(orders.c.id == X1)).one()
        assert platform_order_ids(conn, row) == ["1001"]  # the e-waybill names the original
        task = build_task(conn, row, "W9", "ZTO", "{}")
    assert [(ln.sku, ln.qty) for ln in task.lines] == [("SKU-B", 1)]
    with write_transaction(cloud_engine) as conn:
        conn.execute(sa.insert(waybills).values(order_id=X1, waybill_no="W9", carrier_code="ZTO",
                                                print_data="{}", issued_at=T0))
        conn.execute(sa.update(orders).where(orders.c.id == X1).values(state="tasked"))
    ship_at_station(cloud_engine, X1, "W9", now=T0)
    with write_transaction(cloud_engine) as conn:
        assert collect_shipments(conn, "tb1", now=T0) == 0
    with cloud_engine.connect() as conn:
        written = conn.execute(sa.select(tracking_writebacks.c.order_id,
                                         tracking_writebacks.c.waybill_no)).all()
    assert [tuple(r) for r in written] == [(A, "W1")]  # only the original's, once
    assert _state(cloud_engine, X1)[0] == "shipped" and _held(cloud_engine) == {}
    with write_transaction(cloud_engine) as conn:  # a second exchange is numbered on
        assert exchanges.create(conn, A, {"SKU-A": 1}, actor="lead", now=T0) == "taobao-1001~X2"
        assert exchanges.exchanges_of(conn, A) == [X1, "taobao-1001~X2"]


@pytest.mark.parametrize("case", ["not_shipped", "unknown_sku", "zero", "nothing", "of_exchange"])
def test_an_exchange_is_refused_and_nothing_written(cloud_engine: Engine, case: str) -> None:
    _setup(cloud_engine, stock=10)
    _add(cloud_engine, "tb1", _po("1001", [("SKU-A", 2)]))
    if case != "not_shipped":
        with write_transaction(cloud_engine) as conn:
            conn.execute(sa.update(orders).where(orders.c.id == A).values(state="shipped"))
    target = A
    if case == "of_exchange":
        with write_transaction(cloud_engine) as conn:
            target = exchanges.create(conn, A, {"SKU-A": 1}, actor="lead", now=T0)
            conn.execute(sa.update(orders).where(orders.c.id == target).values(state="shipped"))
    units = {"unknown_sku": {"NOPE": 1}, "zero": {"SKU-A": 0}, "nothing": {}}.get(
        case, {"SKU-A": 1})
    with cloud_engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(orders)).scalar_one()
    with pytest.raises(InputError) as err, write_transaction(cloud_engine) as conn:
        exchanges.create(conn, target, units, actor="lead", now=T0)
    expected = {"not_shipped": "只有已发货的订单可以换货", "unknown_sku": "没有商品 NOPE",
                "zero": "SKU-A 的数量应在 1 到 1000 之间", "nothing": "请填写换出的商品和数量",
                "of_exchange": "换货单不能再换货"}[case]
    assert any(p.zh.startswith(expected) for p in err.value.problems)
    with cloud_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(orders)).scalar_one() == before
