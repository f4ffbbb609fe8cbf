"""手工指定仓库 (#13 item 4): a lead pins an order to a warehouse; allocation reserves and
waits there only, even when another warehouse has the stock; re-pinning an allocated order
releases its reservation and allocates again; unpinning returns to automatic choice.
Every change is an order event (who, why) and an audit entry. Both engines."""

from __future__ import annotations

from datetime import timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema import audit_log, skus, stations, warehouses
from cloud.db.schema_orders import orders, reservations, shop_warehouses, sku_mappings
from cloud.ledger_store import insert_moves
from cloud.marketplaces.base import OrderLine, OrderStatus, PlatformOrder
from cloud.orders.allocation import allocate_pending, free_stock
from cloud.orders.order_sync import upsert_order
from edge.domain.models import Role
from tests.cloud.helpers import make_move
from tests.cloud.web.support import T0, FakeClock, cells, csrf_of, field_errors, signed_in, username

OID = "pdd-3001"


def _seed(engine: Engine) -> None:
    """WH2 (station st-3) next to the seed's WH1; SKU-3 has 5 units, all in WH2; the PDD
    shop ships from WH1 (its default) and WH2; WH3 does not serve it. Order 3001 wants 2
    units of SKU-3."""
    with engine.begin() as conn:
        conn.execute(warehouses.insert(), [{"id": "WH2", "name": "广州仓"},
                                           {"id": "WH3", "name": "成都仓"}])
        conn.execute(stations.insert().values(id="st-3", warehouse_id="WH2", name="打包台三号",
                                              status="active", created_at=T0))
        conn.execute(shop_warehouses.insert(), [{"shop_id": "shop-pdd", "warehouse_id": "WH1"},
                                                {"shop_id": "shop-pdd", "warehouse_id": "WH2"}])
        conn.execute(skus.insert().values(sku="SKU-3", name_zh="雨伞", name_en="Umbrella"))
        conn.execute(sku_mappings.insert().values(
            shop_id="shop-pdd", platform_item_id="9003", platform_sku_id="90033", sku="SKU-3"))
        insert_moves(conn, [make_move(10, sku="SKU-3", location="C-01", qty_delta=5,
                                      balance_after=5, warehouse_id="WH2", station_id="st-3")],
                     received_at=T0)
        upsert_order(conn, "shop-pdd", PlatformOrder(
            platform="pdd", order_id="3001", status=OrderStatus.AWAITING_SHIPMENT,
            raw_status="1", updated_at=T0 - timedelta(hours=1), created_at=T0 - timedelta(hours=1),
            lines=(OrderLine(sku_id="90033", outer_id="", qty=2, price_fen=990, item_id="9003"),)),
            now=T0)


def _order(engine: Engine) -> tuple[str, str | None, str | None, str | None]:
    with engine.begin() as conn:
        return tuple(conn.execute(sa.select(  # type: ignore[return-value]
            orders.c.state, orders.c.exception_code, orders.c.warehouse_id,
            orders.c.pinned_warehouse_id).where(orders.c.id == OID)).one())


def _reservations(engine: Engine) -> set[tuple[str, int, bool]]:
    """(warehouse, units, open?) of the order's SKU-3 reservation rows."""
    with engine.begin() as conn:
        return {(r.warehouse_id, int(r.qty), r.released_at is None)
                for r in conn.execute(sa.select(reservations).where(
                    reservations.c.order_id == OID, reservations.c.sku == "SKU-3"))}


def _free_in_wh2(engine: Engine) -> int:
    with engine.begin() as conn:
        return free_stock(conn, ["WH2"], {"SKU-3"})[("WH2", "SKU-3")]


async def _post(client: httpx.AsyncClient, action: str, **form: str) -> httpx.Response:
    page = await client.get(f"/orders/{OID}")
    return await client.post(f"/orders/{OID}/{action}",
                             data={"csrf_token": csrf_of(page.text), **form})


async def test_a_pinned_order_waits_in_its_warehouse_and_moves_when_repinned(
        client: httpx.AsyncClient, cloud_engine: Engine, clock: FakeClock) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    _seed(cloud_engine)
    assert _order(cloud_engine) == ("pending", None, None, None)
    assert _reservations(cloud_engine) == {("WH1", 2, True)}  # provisionally at home (WH1)
    page = await client.get(f"/orders/{OID}")
    assert 'id="pin-form"' in page.text and "自动分配" in page.text
    assert '<option value="WH2">WH2</option>' in page.text and "WH3</option>" not in page.text

    # pinned to WH1 (no SKU-3 there): it waits out of stock in WH1, WH2's 5 units stay free
    clock.advance(minutes=1)
    r = await _post(client, "pin", warehouse="WH1", reason="广州仓停发")
    assert r.status_code == 303
    allocate_pending(cloud_engine, "shop-pdd", "WH1", now=T0 + timedelta(minutes=2))
    assert _order(cloud_engine) == ("exception", "out_of_stock", None, "WH1")
    assert _reservations(cloud_engine) == {("WH1", 2, True)}
    assert _free_in_wh2(cloud_engine) == 5

    # pinned to WH2: the reservation moves there at once, the next pass allocates it there
    clock.advance(minutes=2)
    assert (await _post(client, "pin", warehouse="WH2")).status_code == 303
    assert _order(cloud_engine) == ("exception", "out_of_stock", None, "WH2")
    assert _reservations(cloud_engine) == {("WH1", 2, False), ("WH2", 2, True)}
    allocate_pending(cloud_engine, "shop-pdd", "WH1", now=T0 + timedelta(minutes=4))
    assert _order(cloud_engine) == ("allocated", None, "WH2", "WH2")
    with cloud_engine.begin() as conn:
        assert conn.execute(sa.select(orders.c.station_id).where(orders.c.id == OID)).scalar() == "st-3"
    assert _free_in_wh2(cloud_engine) == 3  # 5 − 2 allocated

    # re-pinned to WH1 while allocated in WH2: WH2's 2 units are released exactly
    clock.advance(minutes=3)
    assert (await _post(client, "pin", warehouse="WH1", reason="改从杭州发")).status_code == 303
    assert _order(cloud_engine) == ("pending", None, None, "WH1")
    assert _reservations(cloud_engine) == {("WH1", 2, True), ("WH2", 2, False)}
    assert _free_in_wh2(cloud_engine) == 5
    allocate_pending(cloud_engine, "shop-pdd", "WH1", now=T0 + timedelta(minutes=6))
    assert _order(cloud_engine) == ("exception", "out_of_stock", None, "WH1")

    # unpinned: automatic again, WH2 has the stock
    clock.advance(minutes=4)
    assert (await _post(client, "unpin")).status_code == 303
    assert _order(cloud_engine) == ("exception", "out_of_stock", None, None)
    allocate_pending(cloud_engine, "shop-pdd", "WH1", now=T0 + timedelta(minutes=8))
    assert _order(cloud_engine) == ("allocated", None, "WH2", None)
    assert _reservations(cloud_engine) == {("WH1", 2, False), ("WH2", 2, True)}

    lead = username(Role.WAREHOUSE_LEAD)
    page = await client.get(f"/orders/{OID}")
    assert cells(page.text, "events-table") == [
        ["2026-12-01 10:01", lead, "指定仓库", "待审核 → 待审核", "WH1: 广州仓停发"],
        ["2026-12-01 10:03", lead, "指定仓库", "异常 → 异常", "WH2"],
        ["2026-12-01 10:06", lead, "指定仓库", "已分配 → 待审核", "WH1: 改从杭州发"],
        ["2026-12-01 10:10", lead, "指定仓库", "异常 → 异常", "自动 / automatic"]]
    with cloud_engine.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log).where(
            audit_log.c.subject == OID, audit_log.c.action == "order.allocate")).scalar() == 4


async def test_pinning_is_refused_with_a_reason(client: httpx.AsyncClient,
                                                cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    _seed(cloud_engine)
    r = await _post(client, "pin", warehouse="WH3")  # does not serve the shop
    assert r.status_code == 400
    assert field_errors(r.text) == {"warehouse": ["请选择为该店铺发货的仓库"]}
    r = await _post(client, "pin")
    assert r.status_code == 400 and field_errors(r.text) == {"warehouse": ["请选择仓库"]}
    r = await _post(client, "unpin")
    assert r.status_code == 400 and "该订单没有指定仓库" in r.text
    assert _order(cloud_engine) == ("pending", None, None, None)
    # a shipped order (seed: 1001) cannot be pinned and shows no form
    shipped = await client.get("/orders/pdd-1001")
    assert 'id="pin-form"' not in shipped.text
    r = await client.post("/orders/pdd-1001/pin", data={"csrf_token": csrf_of(shipped.text),
                                                        "warehouse": "WH1"})
    assert r.status_code == 400 and "只有未到工作站的订单" in r.text
    with cloud_engine.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log).where(
            audit_log.c.action == "order.allocate")).scalar() == 0


async def test_viewers_see_the_pin_but_cannot_change_it(client: httpx.AsyncClient,
                                                         cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.FINANCE)  # ORDERS_VIEW, not ORDERS_REVIEW
    _seed(cloud_engine)
    with cloud_engine.begin() as conn:
        conn.execute(sa.update(orders).where(orders.c.id == OID).values(pinned_warehouse_id="WH2"))
    page = await client.get(f"/orders/{OID}")
    assert "人工指定: WH2" in page.text and 'id="pin-form"' not in page.text
    r = await client.post(f"/orders/{OID}/unpin", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 403
    assert _order(cloud_engine) == ("pending", None, None, "WH2")
