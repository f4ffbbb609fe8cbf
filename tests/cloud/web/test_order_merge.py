"""合并订单 on the web (#13 item 4): tick two orders of one buyer on the list and merge
them; a third to another address is refused with the reason next to the selection; the
order page shows the parcel and takes it apart; finance may not merge."""

from __future__ import annotations

from datetime import timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema import audit_log
from cloud.db.schema_orders import order_events, orders, shop_warehouses
from cloud.marketplaces.base import OrderLine, OrderStatus, PlatformOrder, Receiver
from cloud.orders.order_sync import upsert_order
from edge.domain.models import Role
from tests.cloud.web.support import T0, cells, csrf_of, field_errors, signed_in, username

SAME = Receiver(name_cipher="~n1~", phone_cipher="~p1~", address_cipher="~a1~",
                name_mask="赵*", phone_mask="136****1111", address_mask="西湖区***",
                province="浙江省", city="杭州市", district="西湖区")
ELSEWHERE = Receiver(name_cipher="~n1~", phone_cipher="~p1~", address_cipher="~a2~",
                     name_mask="赵*", phone_mask="136****1111", address_mask="滨江区***",
                     province="浙江省", city="杭州市", district="滨江区")


def seed_merge_orders(engine: Engine) -> None:
    """Orders 3001 and 3002 to one receiver, 3003 to another address (shop-pdd, SKU-1)."""
    with engine.begin() as conn:
        conn.execute(shop_warehouses.insert().values(shop_id="shop-pdd", warehouse_id="WH1"))
        for n, (no, receiver) in enumerate([("3001", SAME), ("3002", SAME),
                                            ("3003", ELSEWHERE)]):
            upsert_order(conn, "shop-pdd", PlatformOrder(
                platform="pdd", order_id=no, status=OrderStatus.AWAITING_SHIPMENT,
                raw_status="1", updated_at=T0 - timedelta(hours=1),
                created_at=T0 - timedelta(hours=1) + timedelta(minutes=n), receiver=receiver,
                lines=(OrderLine(sku_id="90011", outer_id="", qty=1 + n, price_fen=1990,
                                 item_id="9001"),)), now=T0)


def _states(engine: Engine) -> dict[str, tuple[str, str | None]]:
    with engine.begin() as conn:
        return {r.id: (r.state, r.merged_into) for r in conn.execute(
            sa.select(orders.c.id, orders.c.state, orders.c.merged_into).where(
                orders.c.id.in_(["pdd-3001", "pdd-3002", "pdd-3003"])))}


async def test_merge_from_the_list_then_unmerge_on_the_order_page(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    seed_merge_orders(cloud_engine)
    page = await client.get("/orders")
    assert 'id="merge-form"' in page.text and 'name="order_id" value="pdd-3001"' in page.text
    csrf = csrf_of(page.text)
    # another address: refused, the selection shown again with the reason next to it
    r = await client.post("/orders/merge", data={
        "csrf_token": csrf, "order_id": ["pdd-3001", "pdd-3003"]})
    assert r.status_code == 400
    assert field_errors(r.text) == {"orders": ["不同收件地址的订单不能合并"]}
    assert [row[1] for row in cells(r.text, "merge-table")] == ["3001", "3003"]
    assert _states(cloud_engine) == {"pdd-3001": ("pending", None), "pdd-3002": ("pending", None),
                                     "pdd-3003": ("pending", None)}
    r = await client.post("/orders/merge", data={"csrf_token": csrf, "order_id": ["pdd-3002"]})
    assert r.status_code == 400 and field_errors(r.text) == {"orders": ["至少选择两个订单才能合并"]}
    r = await client.post("/orders/merge", data={
        "csrf_token": csrf, "order_id": ["pdd-3002", "pdd-3001"], "reason": "同一买家两单"})
    assert r.status_code == 303 and r.headers["location"] == "/orders/pdd-3001"
    assert _states(cloud_engine)["pdd-3002"] == ("exception", "pdd-3001")
    page = await client.get("/orders/pdd-3002")
    assert "已合并 2 个订单" in page.text and "已合并到其他订单" in page.text
    assert 'id="order-parcel"' in page.text and "移出包裹" in page.text
    lead = username(Role.WAREHOUSE_LEAD)
    assert cells(page.text, "events-table") == [
        ["2026-12-01 10:00", lead, "合并", "待审核 → 异常", "同一买家两单"]]
    page = await client.get("/orders/pdd-3001")
    assert "取消合并" in page.text
    r = await client.post("/orders/pdd-3001/unmerge", data={"csrf_token": csrf,
                                                            "reason": "买家要分开发"})
    assert r.status_code == 303
    assert _states(cloud_engine)["pdd-3002"] == ("pending", None)
    r = await client.post("/orders/pdd-3001/unmerge", data={"csrf_token": csrf})
    assert r.status_code == 400 and "该订单没有合并" in r.text
    with cloud_engine.begin() as conn:
        events = conn.execute(sa.select(order_events.c.order_id, order_events.c.action,
                                        order_events.c.reason).order_by(order_events.c.id)).all()
        audited = conn.execute(sa.select(audit_log.c.action, audit_log.c.subject).where(
            audit_log.c.action.like("order.%merge")).order_by(audit_log.c.id)).all()
    assert [tuple(e) for e in events] == [
        ("pdd-3002", "merge", "同一买家两单"), ("pdd-3001", "merge", "同一买家两单"),
        ("pdd-3002", "unmerge", "买家要分开发"), ("pdd-3001", "unmerge", "买家要分开发")]
    assert [tuple(a) for a in audited] == [
        ("order.merge", "pdd-3002"), ("order.merge", "pdd-3001"),
        ("order.unmerge", "pdd-3002"), ("order.unmerge", "pdd-3001")]


async def test_finance_sees_no_merge_form_and_may_not_merge(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.FINANCE)
    seed_merge_orders(cloud_engine)
    page = await client.get("/orders")
    assert 'id="merge-form"' not in page.text
    r = await client.post("/orders/merge", data={
        "csrf_token": csrf_of(page.text), "order_id": ["pdd-3001", "pdd-3002"]})
    assert r.status_code == 403
    assert _states(cloud_engine)["pdd-3002"] == ("pending", None)


async def test_split_an_order_on_its_page_then_undo(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    seed_merge_orders(cloud_engine)  # pdd-3003: one line of 3 × SKU-1
    page = await client.get("/orders/pdd-3003")
    assert 'id="split-form"' in page.text
    csrf = csrf_of(page.text)
    r = await client.post("/orders/pdd-3003/split", data={"csrf_token": csrf, "qty_1": "5"})
    assert r.status_code == 400 and field_errors(r.text) == {"qty_1": ["拆出数量应在 0 到 3 之间"]}
    r = await client.post("/orders/pdd-3003/split", data={"csrf_token": csrf, "qty_1": "abc"})
    assert r.status_code == 400 and field_errors(r.text) == {"qty_1": ["数量应为整数: abc"]}
    r = await client.post("/orders/pdd-3003/split", data={"csrf_token": csrf, "qty_1": "3"})
    assert r.status_code == 400 and field_errors(r.text) == {"split": ["第一个包裹不能是空的"]}
    r = await client.post("/orders/pdd-3003/split", data={"csrf_token": csrf, "qty_1": "1",
                                                          "reason": "一件先发"})
    assert r.status_code == 303 and r.headers["location"] == "/orders/pdd-3003"
    page = await client.get("/orders/pdd-3003")
    assert "已拆出第二个包裹 3003#2" in page.text and 'id="order-split"' in page.text
    assert cells(page.text, "lines-table")[0][3] == "2"
    child = await client.get("/orders/pdd-3003%232")
    assert child.status_code == 200 and "订单 3003#2" in child.text
    assert cells(child.text, "lines-table")[0][3] == "1"
    r = await client.post("/orders/pdd-3003%232/unsplit", data={"csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/orders/pdd-3003"
    page = await client.get("/orders/pdd-3003")
    assert "已取消拆单" in page.text and cells(page.text, "lines-table")[0][3] == "3"
    assert [row[2:4] for row in cells(page.text, "events-table")] == [
        ["拆单", "待审核 → 待审核"], ["取消拆单", "待审核 → 待审核"]]
    with cloud_engine.begin() as conn:
        assert conn.execute(sa.select(orders.c.id).where(
            orders.c.id == "pdd-3003#2")).first() is None
