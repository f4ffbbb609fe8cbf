"""拆单 (#13 item 4): chosen lines / quantities of an order move to a second parcel
``<order>#2`` with its own reservation, allocation, waybill (naming the original platform
order) and task; only the original parcel's tracking number is written back; a platform
update keeps the split; undo puts everything back exactly; a closure cancels both.
On both engines."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db import write_transaction
from cloud.db.schema_orders import order_events, order_lines, orders, tracking_writebacks, waybills
from cloud.errors import InputError
from cloud.marketplaces.base import OrderStatus
from cloud.orders import merging
from cloud.orders.allocation import allocate_pending
from cloud.orders.parcels import platform_order_ids
from cloud.orders.waybills import build_task
from cloud.orders.writeback import collect_shipments
from tests.cloud.orders.support import ship_at_station
from tests.cloud.orders.test_merging import T0, _add, _held, _po, _setup, _state

A = "taobao-1001"
CHILD = "taobao-1001#2"


def _lines(engine: Engine, oid: str) -> list[tuple[int, str, int, int | None]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(  # type: ignore[misc]
            sa.select(order_lines.c.line_no, order_lines.c.sku, order_lines.c.qty,
                      order_lines.c.sku_qty).where(order_lines.c.order_id == oid)
            .order_by(order_lines.c.line_no))]


def test_split_moves_units_to_a_second_parcel_and_undo_restores_exactly(
        cloud_engine: Engine) -> None:
    _setup(cloud_engine)
    _add(cloud_engine, "tb1", _po("1001", [("SKU-A", 3), ("SKU-B", 1)]))
    assert _held(cloud_engine) == {A: {"SKU-A": 3, "SKU-B": 1}}
    with write_transaction(cloud_engine) as conn:
        assert merging.split(conn, A, {1: 1, 2: 1}, actor="lead", now=T0) == CHILD
    assert _lines(cloud_engine, A) == [(1, "SKU-A", 2, 2)]
    assert _lines(cloud_engine, CHILD) == [(1, "SKU-A", 1, 1), (2, "SKU-B", 1, 1)]
    assert _held(cloud_engine) == {A: {"SKU-A": 2}, CHILD: {"SKU-A": 1, "SKU-B": 1}}
    assert _state(cloud_engine, CHILD) == ("pending", None, None)
    # the platform sends the order again: its lines are rewritten, the split stays
    _add(cloud_engine, "tb1", _po("1001", [("SKU-A", 3), ("SKU-B", 1)], minutes=5, note=""))
    assert _lines(cloud_engine, A) == [(1, "SKU-A", 2, 2)]
    assert _held(cloud_engine) == {A: {"SKU-A": 2}, CHILD: {"SKU-A": 1, "SKU-B": 1}}
    with cloud_engine.connect() as conn:
        split = merging.split_of(conn, CHILD)
        ev = conn.execute(sa.select(order_events.c.order_id, order_events.c.action,
                                    order_events.c.reason)).all()
    assert split is not None and (split.parent_no, split.child_no) == ("1001", "1001#2")
    assert split.undoable
    assert [tuple(e) for e in ev] == [(A, "split", "拆出 #1×1, #2×1")]
    with write_transaction(cloud_engine) as conn:
        assert merging.unsplit(conn, CHILD, actor="lead", reason="合回去", now=T0) == A
    assert _lines(cloud_engine, A) == [(1, "SKU-A", 3, 3), (2, "SKU-B", 1, 1)]
    assert _held(cloud_engine) == {A: {"SKU-A": 3, "SKU-B": 1}}
    with cloud_engine.connect() as conn:
        assert conn.execute(sa.select(orders.c.id).where(orders.c.id == CHILD)).first() is None


@pytest.mark.parametrize("case", ["too_many", "all", "nothing", "merged"])
def test_split_is_refused_and_nothing_written(cloud_engine: Engine, case: str) -> None:
    _setup(cloud_engine)
    _add(cloud_engine, "tb1", _po("1001", [("SKU-A", 3), ("SKU-B", 1)]))
    if case == "merged":
        b = _add(cloud_engine, "tb1", _po("1002", [("SKU-A", 1)], minutes=5))
        with write_transaction(cloud_engine) as conn:
            merging.merge(conn, [A, b], actor="lead", now=T0)
    held = _held(cloud_engine)
    moves = {"too_many": {1: 4}, "all": {1: 3, 2: 1}, "nothing": {1: 0}, "merged": {1: 1}}[case]
    with pytest.raises(InputError) as err, write_transaction(cloud_engine) as conn:
        merging.split(conn, A, moves, actor="lead", now=T0)
    expected = {
        "too_many": [("qty_1", "拆出数量应在 0 到 3 之间")],
        "all": [("split", "第一个包裹不能是空的")],
        "nothing": [("split", "请填写要拆到第二个包裹的数量")],
        "merged": [("split", "不能拆单: 已拆过或已合并的订单不能再拆, 先取消")],
    }[case]
    assert [(p.field, p.zh) for p in err.value.problems] == expected
    assert _held(cloud_engine) == held
    assert _lines(cloud_engine, A) == [(1, "SKU-A", 3, 3), (2, "SKU-B", 1, 1)]


def test_each_parcel_ships_and_only_the_first_writes_back(cloud_engine: Engine) -> None:
    _setup(cloud_engine, stock=10)
    _add(cloud_engine, "tb1", _po("1001", [("SKU-A", 3), ("SKU-B", 1)]))
    with write_transaction(cloud_engine) as conn:
        merging.split(conn, A, {2: 1}, actor="lead", now=T0)
    assert sorted(allocate_pending(cloud_engine, "tb1", "WH1", now=T0).allocated) == [A, CHILD]
    with cloud_engine.connect() as conn:
        child = conn.execute(sa.select(orders).where(orders.c.id == CHILD)).one()
        assert platform_order_ids(conn, child) == ["1001"]
        task = build_task(conn, child, "W2", "ZTO", "{}")
    assert [(ln.line_no, ln.sku, ln.qty) for ln in task.lines] == [(2, "SKU-B", 1)]
    with write_transaction(cloud_engine) as conn:
        for oid, wb in ((A, "W1"), (CHILD, "W2")):
            conn.execute(sa.insert(waybills).values(order_id=oid, waybill_no=wb,
                                                    carrier_code="ZTO", print_data="{}",
                                                    issued_at=T0))
            conn.execute(sa.update(orders).where(orders.c.id == oid).values(state="tasked"))
    with write_transaction(cloud_engine) as conn, pytest.raises(InputError):
        merging.unsplit(conn, A, actor="lead", now=T0)
    ship_at_station(cloud_engine, CHILD, "W2", now=T0)
    ship_at_station(cloud_engine, A, "W1", now=T0)
    assert _held(cloud_engine) == {}
    with write_transaction(cloud_engine) as conn:
        assert collect_shipments(conn, "tb1", now=T0) == 1
    with cloud_engine.connect() as conn:
        rows = conn.execute(sa.select(tracking_writebacks.c.order_id,
                                      tracking_writebacks.c.waybill_no)).all()
    assert [tuple(r) for r in rows] == [(A, "W1")]
    assert _state(cloud_engine, A)[0] == _state(cloud_engine, CHILD)[0] == "shipped"


def test_a_closed_order_cancels_its_second_parcel_and_a_refund_request_holds_it(
        cloud_engine: Engine) -> None:
    _setup(cloud_engine)
    _add(cloud_engine, "tb1", _po("1001", [("SKU-A", 3)]))
    with write_transaction(cloud_engine) as conn:
        merging.split(conn, A, {1: 1}, actor="lead", now=T0)
    _add(cloud_engine, "tb1", _po("1001", [("SKU-A", 3)], minutes=5, refund="WAIT_SELLER_AGREE"))
    assert _state(cloud_engine, CHILD)[:2] == ("exception", "held")
    po = _po("1001", [("SKU-A", 3)], minutes=9)
    closed = type(po)(**{**po.__dict__, "status": OrderStatus.CLOSED, "raw_status": "TRADE_CLOSED"})
    _add(cloud_engine, "tb1", closed)
    assert _state(cloud_engine, A)[0] == _state(cloud_engine, CHILD)[0] == "cancelled"
    assert _held(cloud_engine) == {}
