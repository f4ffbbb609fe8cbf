"""合并订单 (#13 item 4): orders of one shop to one receiver merged into one parcel before a
waybill — the primary reserves every member's units, allocates and is tasked with every
line; refused for another shop, another address, an order at a station or one waiting
for a person; unmerge gives each order back exactly its own reservation; a platform
change to a member takes it out; the parcel's shipment is written back to every member.
On both engines (``cloud_engine``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db import write_transaction
from cloud.db.schema import audit_log, shops, skus
from cloud.db.schema_orders import (
    order_events,
    orders,
    reservations,
    shop_warehouses,
    sku_mappings,
    tracking_writebacks,
    waybills,
)
from cloud.errors import InputError
from cloud.marketplaces.base import OrderLine, OrderStatus, PlatformOrder, Receiver
from cloud.orders import merging
from cloud.orders.allocation import allocate_pending
from cloud.orders.order_sync import upsert_order
from cloud.orders.waybills import build_task
from cloud.orders.writeback import collect_shipments
from tests.cloud.orders.support import receive, seed_warehouses, ship_at_station

T0 = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
HOME = Receiver(name_mask="张*", phone_mask="138****5678", address_mask="西湖区***",
                province="浙江省", city="杭州市", district="西湖区", oaid="OAID-HOME")
OTHER = Receiver(name_mask="张*", phone_mask="138****5678", address_mask="滨江区***",
                 province="浙江省", city="杭州市", district="滨江区", oaid="OAID-OTHER")


def _po(order_id: str, lines: list[tuple[str, int]], *, receiver: Receiver = HOME,
        minutes: int = 0, refund: str = "", note: str = "") -> PlatformOrder:
    return PlatformOrder(
        platform="taobao", order_id=order_id, status=OrderStatus.AWAITING_SHIPMENT,
        raw_status="WAIT_SELLER_SEND_GOODS", refund_status=refund, buyer_note=note,
        updated_at=T0 + timedelta(minutes=minutes), created_at=T0 + timedelta(minutes=minutes),
        receiver=receiver,
        lines=tuple(OrderLine(sku_id=sku, outer_id=sku, qty=qty, price_fen=1000, title=sku)
                    for sku, qty in lines))


def _setup(engine: Engine, *, stock: int = 0) -> None:
    seed_warehouses(engine, stations_per={"WH1": ["ST1"]})
    with write_transaction(engine) as conn:
        for shop in ("tb1", "tb2"):
            conn.execute(sa.insert(shops).values(id=shop, platform="taobao", name=shop,
                                                 created_at=T0))
            conn.execute(sa.insert(shop_warehouses).values(shop_id=shop, warehouse_id="WH1"))
        for sku in ("SKU-A", "SKU-B"):
            conn.execute(sa.insert(skus).values(sku=sku, name_zh=sku))
            for shop in ("tb1", "tb2"):
                conn.execute(sa.insert(sku_mappings).values(
                    shop_id=shop, platform_item_id="1", platform_sku_id=sku, outer_id=sku,
                    sku=sku))
    if stock:
        for sku in ("SKU-A", "SKU-B"):
            receive(engine, "WH1", sku, stock)


def _add(engine: Engine, shop: str, po: PlatformOrder) -> str:
    with write_transaction(engine) as conn:
        return upsert_order(conn, shop, po, now=T0)[1]


def _held(engine: Engine) -> dict[str, dict[str, int]]:
    """Order → SKU → units held by its open reservations."""
    out: dict[str, dict[str, int]] = {}
    with engine.connect() as conn:
        for oid, sku, qty in conn.execute(sa.select(
                reservations.c.order_id, reservations.c.sku,
                reservations.c.qty - reservations.c.shipped_qty).where(
                reservations.c.released_at.is_(None))):
            out.setdefault(oid, {})[sku] = int(qty)
    return out


def _state(engine: Engine, oid: str) -> tuple[str, str | None, str | None]:
    with engine.connect() as conn:
        return tuple(conn.execute(sa.select(orders.c.state, orders.c.exception_code,
                                            orders.c.merged_into)
                                  .where(orders.c.id == oid)).one())  # type: ignore[return-value]


def test_merged_order_reserves_under_its_primary_and_unmerge_restores_exactly(
        cloud_engine: Engine) -> None:
    _setup(cloud_engine)  # no stock: both wait as out_of_stock (a cause that clears itself)
    a = _add(cloud_engine, "tb1", _po("1001", [("SKU-A", 2)]))
    b = _add(cloud_engine, "tb1", _po("1002", [("SKU-A", 3), ("SKU-B", 1)], minutes=5))
    allocate_pending(cloud_engine, "tb1", "WH1", now=T0)
    assert _state(cloud_engine, a) == ("exception", "out_of_stock", None)
    before = {a: {"SKU-A": 2}, b: {"SKU-A": 3, "SKU-B": 1}}
    assert _held(cloud_engine) == before
    with write_transaction(cloud_engine) as conn:
        primary = merging.merge(conn, [b, a], actor="lead", reason="同一买家", now=T0)
    assert primary == a  # the earliest order
    assert _state(cloud_engine, b) == ("exception", "merged", a)
    assert _held(cloud_engine) == {a: {"SKU-A": 5, "SKU-B": 1}}
    with cloud_engine.connect() as conn:
        released = conn.execute(sa.select(reservations.c.release_reason).where(
            reservations.c.order_id == b)).scalars().all()
        ev = conn.execute(sa.select(order_events.c.order_id, order_events.c.actor,
                                    order_events.c.action, order_events.c.to_state,
                                    order_events.c.reason).order_by(order_events.c.id)).all()
        audited = conn.execute(sa.select(audit_log.c.action, audit_log.c.subject).where(
            audit_log.c.action.like("order.%"))).all()
        parcel = merging.parcel_of(conn, b)
    assert released == ["merged", "merged"]
    assert [tuple(e) for e in ev] == [(b, "lead", "merge", "exception", "同一买家"),
                                      (a, "lead", "merge", "exception", "同一买家")]
    assert sorted(audited) == [("order.merge", a), ("order.merge", b)]
    assert parcel is not None and parcel.primary_id == a and parcel.unmergeable
    assert [(m.platform_order_id, m.primary) for m in parcel.members] == [
        ("1001", True), ("1002", False)]
    # A platform update of the member keeps it in the parcel.
    _add(cloud_engine, "tb1", _po("1002", [("SKU-A", 4), ("SKU-B", 1)], minutes=9))
    assert _state(cloud_engine, b) == ("exception", "merged", a)
    assert _held(cloud_engine) == {a: {"SKU-A": 6, "SKU-B": 1}}
    with write_transaction(cloud_engine) as conn:
        assert merging.unmerge(conn, a, actor="lead", reason="买家要分开发", now=T0) == [b]
    assert _state(cloud_engine, b) == ("pending", None, None)
    assert _held(cloud_engine) == {a: {"SKU-A": 2}, b: {"SKU-A": 4, "SKU-B": 1}}


def test_the_primary_allocates_and_is_tasked_with_every_line(cloud_engine: Engine) -> None:
    _setup(cloud_engine, stock=10)
    a = _add(cloud_engine, "tb1", _po("1001", [("SKU-A", 2)]))
    b = _add(cloud_engine, "tb1", _po("1002", [("SKU-B", 1), ("SKU-A", 3)], minutes=5))
    with write_transaction(cloud_engine) as conn:
        merging.merge(conn, [a, b], actor="lead", now=T0)
    result = allocate_pending(cloud_engine, "tb1", "WH1", now=T0)
    assert result.allocated == [a]
    assert _state(cloud_engine, a) == ("allocated", None, None)
    assert _state(cloud_engine, b) == ("exception", "merged", a)
    assert _held(cloud_engine) == {a: {"SKU-A": 5, "SKU-B": 1}}
    with cloud_engine.connect() as conn:
        row = conn.execute(sa.select(orders).where(orders.c.id == a)).one()
        task = build_task(conn, row, "W1", "ZTO", "{}")
    assert [(ln.line_no, ln.sku, ln.qty) for ln in task.lines] == [
        (1, "SKU-A", 2), (2, "SKU-B", 1), (3, "SKU-A", 3)]
    # The station ships the primary: the tracking number goes to both platform orders.
    with write_transaction(cloud_engine) as conn:
        conn.execute(sa.insert(waybills).values(order_id=a, waybill_no="W1", carrier_code="ZTO",
                                                print_data="{}", issued_at=T0))
        conn.execute(sa.update(orders).where(orders.c.id == a).values(state="tasked"))
    ship_at_station(cloud_engine, a, "W1", now=T0)
    assert _held(cloud_engine) == {}
    with write_transaction(cloud_engine) as conn:
        assert collect_shipments(conn, "tb1", now=T0) == 2
    with cloud_engine.connect() as conn:
        rows = conn.execute(sa.select(tracking_writebacks.c.order_id,
                                      tracking_writebacks.c.waybill_no)
                            .order_by(tracking_writebacks.c.order_id)).all()
    assert [tuple(r) for r in rows] == [(a, "W1"), (b, "W1")]
    assert _state(cloud_engine, a)[0] == _state(cloud_engine, b)[0] == "shipped"


@pytest.mark.parametrize("case", ["address", "shop", "tasked", "note", "one"])
def test_merge_is_refused_and_nothing_written(cloud_engine: Engine, case: str) -> None:
    _setup(cloud_engine, stock=10 if case == "tasked" else 0)
    a = _add(cloud_engine, "tb1", _po("1001", [("SKU-A", 2)]))
    other = {"address": ("tb1", _po("1002", [("SKU-A", 1)], receiver=OTHER)),
             "shop": ("tb2", _po("1002", [("SKU-A", 1)])),
             "tasked": ("tb1", _po("1002", [("SKU-A", 1)])),
             "note": ("tb1", _po("1002", [("SKU-A", 1)], note="请发顺丰")),
             "one": None}[case]
    ids = [a]
    if other is not None:
        ids.append(_add(cloud_engine, *other))
    if case == "tasked":
        allocate_pending(cloud_engine, "tb1", "WH1", now=T0)
        with write_transaction(cloud_engine) as conn:
            conn.execute(sa.insert(waybills).values(order_id=ids[1], waybill_no="W9",
                                                    carrier_code="ZTO", print_data="{}",
                                                    issued_at=T0))
            conn.execute(sa.update(orders).where(orders.c.id == ids[1]).values(state="tasked"))
    held = _held(cloud_engine)
    with pytest.raises(InputError) as err, write_transaction(cloud_engine) as conn:
        merging.merge(conn, ids, actor="lead", now=T0)
    expected = {
        "address": "不同收件地址的订单不能合并",
        "shop": "不同店铺的订单不能合并",
        "tasked": "1002: 已发货、已到工作站、已关闭或待人工处理的订单不能合并",
        "note": "1002: 买家留言未审核, 先审核再合并",
        "one": "至少选择两个订单才能合并",
    }[case]
    assert [p.zh for p in err.value.problems] == [expected]
    assert all(p.field == "orders" for p in err.value.problems)
    assert _held(cloud_engine) == held
    with cloud_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(order_events)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(orders).where(
            orders.c.merged_into.is_not(None))).scalar() == 0


def test_unmerge_is_refused_once_the_parcel_has_its_waybill(cloud_engine: Engine) -> None:
    _setup(cloud_engine, stock=10)
    a = _add(cloud_engine, "tb1", _po("1001", [("SKU-A", 2)]))
    b = _add(cloud_engine, "tb1", _po("1002", [("SKU-A", 1)], minutes=5))
    with write_transaction(cloud_engine) as conn:
        merging.merge(conn, [a, b], actor="lead", now=T0)
    allocate_pending(cloud_engine, "tb1", "WH1", now=T0)
    with write_transaction(cloud_engine) as conn:
        conn.execute(sa.insert(waybills).values(order_id=a, waybill_no="W1", carrier_code="ZTO",
                                                print_data="{}", issued_at=T0))
        conn.execute(sa.update(orders).where(orders.c.id == a).values(state="tasked"))
    with pytest.raises(InputError) as err, write_transaction(cloud_engine) as conn:
        merging.unmerge(conn, b, actor="lead", now=T0)
    assert [p.zh for p in err.value.problems] == ["包裹已取面单或已到工作站, 不能取消合并"]
    assert _state(cloud_engine, b) == ("exception", "merged", a)


def test_a_refund_request_on_a_member_takes_it_out_and_stops_the_parcel(
        cloud_engine: Engine) -> None:
    _setup(cloud_engine, stock=10)
    a = _add(cloud_engine, "tb1", _po("1001", [("SKU-A", 2)]))
    b = _add(cloud_engine, "tb1", _po("1002", [("SKU-B", 1)], minutes=5))
    with write_transaction(cloud_engine) as conn:
        merging.merge(conn, [a, b], actor="lead", now=T0)
    allocate_pending(cloud_engine, "tb1", "WH1", now=T0)
    with write_transaction(cloud_engine) as conn:
        conn.execute(sa.insert(waybills).values(order_id=a, waybill_no="W1", carrier_code="ZTO",
                                                print_data="{}", issued_at=T0))
        conn.execute(sa.update(orders).where(orders.c.id == a).values(state="tasked"))
    _add(cloud_engine, "tb1", _po("1002", [("SKU-B", 1)], minutes=9, refund="WAIT_SELLER_AGREE"))
    assert _state(cloud_engine, b) == ("pending", None, None)
    assert _state(cloud_engine, a)[0] == "intercepted"
    assert _held(cloud_engine) == {a: {"SKU-A": 2}, b: {"SKU-B": 1}}
    with cloud_engine.connect() as conn:
        ev = conn.execute(sa.select(order_events.c.order_id, order_events.c.actor,
                                    order_events.c.action).where(
            order_events.c.action == "unmerge")).all()
    assert [tuple(e) for e in ev] == [(b, "system", "unmerge")]


def test_a_merged_order_cannot_be_held_on_its_own(cloud_engine: Engine) -> None:
    from cloud.orders import review

    _setup(cloud_engine)
    a = _add(cloud_engine, "tb1", _po("1001", [("SKU-A", 2)]))
    b = _add(cloud_engine, "tb1", _po("1002", [("SKU-A", 3)], minutes=5))
    with write_transaction(cloud_engine) as conn:
        merging.merge(conn, [a, b], actor="lead", now=T0)
    with pytest.raises(InputError), write_transaction(cloud_engine) as conn:
        review.hold(conn, b, actor="lead", reason="x", now=T0)
    assert _state(cloud_engine, b) == ("exception", "merged", a)
    assert _held(cloud_engine) == {a: {"SKU-A": 5}}
