"""审单 by hand (#13 item 4, first part): an order held for its buyer note is approved and
allocated on the next pass; a hold needs a reason, keeps the order's reservation, survives a
platform update and is released; every change is recorded with who and why."""

from __future__ import annotations

from datetime import timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema import audit_log
from cloud.db.schema_orders import order_events, orders, reservations, shop_warehouses
from cloud.marketplaces.base import OrderLine, OrderStatus, PlatformOrder
from cloud.orders.allocation import allocate_pending
from cloud.orders.order_sync import upsert_order
from edge.domain.models import Role
from tests.cloud.web.support import T0, FakeClock, cells, csrf_of, field_errors, signed_in, username

OID = "pdd-2001"


def _platform_order(note: str, *, minutes: int = 0) -> PlatformOrder:
    return PlatformOrder(
        platform="pdd", order_id="2001", status=OrderStatus.AWAITING_SHIPMENT, raw_status="1",
        updated_at=T0 - timedelta(hours=1) + timedelta(minutes=minutes), buyer_note=note,
        lines=(OrderLine(sku_id="90011", outer_id="", qty=2, price_fen=1990, item_id="9001"),))


def _state(engine: Engine) -> tuple[str, str | None]:
    with engine.begin() as conn:
        return tuple(conn.execute(sa.select(orders.c.state, orders.c.exception_code)
                                  .where(orders.c.id == OID)).one())  # type: ignore[return-value]


def _held_units(engine: Engine) -> int:
    with engine.begin() as conn:
        return int(conn.execute(sa.select(sa.func.coalesce(sa.func.sum(
            reservations.c.qty - reservations.c.shipped_qty), 0)).where(
            reservations.c.order_id == OID, reservations.c.released_at.is_(None))).scalar_one())


def _seed_order(engine: Engine, note: str) -> None:
    with engine.begin() as conn:
        conn.execute(shop_warehouses.insert().values(shop_id="shop-pdd", warehouse_id="WH1"))
        upsert_order(conn, "shop-pdd", _platform_order(note), now=T0)
    allocate_pending(engine, "shop-pdd", "WH1", now=T0)


async def test_a_buyer_note_is_approved_then_the_order_allocates(
        client: httpx.AsyncClient, cloud_engine: Engine, clock: FakeClock) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    _seed_order(cloud_engine, "请发顺丰")
    assert _state(cloud_engine) == ("exception", "buyer_note")
    page = await client.get(f"/orders/{OID}")
    assert "买家留言待审核" in page.text and "请发顺丰" in page.text
    assert cells(page.text, "lines-table") == [["1", "", "90011", "2", "19.90", "SKU-1 × 2 保温杯 500ml"]]
    clock.advance(minutes=3)
    r = await client.post(f"/orders/{OID}/approve", data={
        "csrf_token": csrf_of(page.text), "reason": "已确认发顺丰"})
    assert r.status_code == 303
    assert _state(cloud_engine) == ("pending", None)
    allocate_pending(cloud_engine, "shop-pdd", "WH1", now=T0 + timedelta(minutes=4))
    assert _state(cloud_engine) == ("allocated", None)
    lead = username(Role.WAREHOUSE_LEAD)
    page = await client.get(f"/orders/{OID}")
    assert cells(page.text, "events-table") == [
        ["2026-12-01 10:03", lead, "审核通过", "异常 → 待审核", "已确认发顺丰"]]
    # the buyer changes the note: it is reviewed again
    with cloud_engine.begin() as conn:
        upsert_order(conn, "shop-pdd", _platform_order("改发圆通", minutes=5),
                     now=T0 + timedelta(minutes=5))
    with cloud_engine.begin() as conn:  # allocated orders stay allocated; a pending one re-reviews
        conn.execute(sa.update(orders).where(orders.c.id == OID).values(state="pending"))
    allocate_pending(cloud_engine, "shop-pdd", "WH1", now=T0 + timedelta(minutes=6))
    assert _state(cloud_engine) == ("exception", "buyer_note")
    with cloud_engine.begin() as conn:
        audit = conn.execute(sa.select(audit_log.c.actor, audit_log.c.action, audit_log.c.detail)
                             .where(audit_log.c.subject == OID)).all()
    assert audit == [(lead, "order.approve", {"from": "exception", "to": "pending",
                                              "reason": "已确认发顺丰"})]


async def test_a_hold_needs_a_reason_keeps_the_units_and_survives_a_platform_update(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    _seed_order(cloud_engine, "")
    assert _state(cloud_engine) == ("allocated", None) and _held_units(cloud_engine) == 2
    csrf = csrf_of((await client.get(f"/orders/{OID}")).text)
    r = await client.post(f"/orders/{OID}/hold", data={"csrf_token": csrf, "reason": " "})
    assert r.status_code == 400 and field_errors(r.text) == {"reason": ["请写明挂起原因"]}
    assert _state(cloud_engine) == ("allocated", None)
    r = await client.post(f"/orders/{OID}/hold", data={"csrf_token": csrf, "reason": "疑似刷单"})
    assert r.status_code == 303
    assert _state(cloud_engine) == ("exception", "held") and _held_units(cloud_engine) == 2
    page = (await client.get(f"/orders/{OID}")).text
    assert "人工挂起" in page and "疑似刷单" in page and 'id="release"' in page
    # a newer version from the platform and an allocation pass leave the hold alone
    with cloud_engine.begin() as conn:
        upsert_order(conn, "shop-pdd", _platform_order("", minutes=10), now=T0)
    allocate_pending(cloud_engine, "shop-pdd", "WH1", now=T0)
    assert _state(cloud_engine) == ("exception", "held")
    assert (await client.post(f"/orders/{OID}/hold", data={
        "csrf_token": csrf, "reason": "再挂"})).status_code == 400  # already held
    r = await client.post(f"/orders/{OID}/release", data={"csrf_token": csrf})
    assert r.status_code == 303 and _state(cloud_engine) == ("pending", None)
    allocate_pending(cloud_engine, "shop-pdd", "WH1", now=T0)
    assert _state(cloud_engine) == ("allocated", None) and _held_units(cloud_engine) == 2
    with cloud_engine.begin() as conn:
        events = conn.execute(sa.select(order_events.c.action, order_events.c.from_state,
                                        order_events.c.to_state, order_events.c.reason)
                              .order_by(order_events.c.id)).all()
    assert [tuple(e) for e in events] == [("hold", "allocated", "exception", "疑似刷单"),
                                          ("release", "exception", "pending", "")]


async def test_finance_reads_an_order_but_cannot_review_it(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.FINANCE)
    _seed_order(cloud_engine, "请发顺丰")
    page = await client.get(f"/orders/{OID}")
    assert page.status_code == 200 and 'id="review"' not in page.text
    r = await client.post(f"/orders/{OID}/approve", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 403 and _state(cloud_engine) == ("exception", "buyer_note")
