"""退货 in the web app, on both engines: the returns on their way (requests that send goods
back, not withdrawn, not yet inspected) and the returns stations inspected, with units per
condition and the request's status in words; the order page lists each inspected item.
A return message stored twice is kept once (``cloud.returns.record``)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud import returns
from cloud.db.schema_orders import order_events, refunds
from edge.domain.models import Role
from edge.sync.schema import ReturnWire
from tests.cloud.web.support import T0, cells, signed_in, token

RETURN = ReturnWire(
    return_id="st-01-RT00001", warehouse_id="WH1", order_id="pdd-1001", shop_id="shop-pdd",
    refund_id="R-1", scanned="YT100", exchange=False, note="", operator_id="P01",
    at=T0 + timedelta(days=2),
    lines=[{"sku": "SKU-1", "code": "6900000000011", "qty": 1, "condition": "good",
            "in_order": True, "location": "A-01", "move_id": "m-ret-1"},
           {"sku": "SKU-1", "code": "6900000000011", "qty": 1, "condition": "damaged",
            "in_order": True, "location": "DMG-01", "move_id": "m-ret-2"},
           {"sku": None, "code": "X-999", "qty": 1, "condition": "wrong", "in_order": False,
            "location": None, "move_id": None}])


def _refund(refund_id: str, order_no: str, status: str, *, goods: bool = True,
            waybill: str = "") -> dict[str, object]:
    return {"shop_id": "shop-pdd", "refund_id": refund_id, "platform_order_id": order_no,
            "status": status, "succeeded": status == "10", "amount_fen": 2990,
            "platform_updated_at": T0 + timedelta(days=1), "seen_at": T0,
            "returns_goods": goods, "exchange": False, "return_waybill": waybill,
            "return_carrier": "圆通速递" if waybill else "", "qty": 2}


def _seed(engine: Engine) -> None:
    """R-1 on 1001 (returned, inspected below), R-2 on 1003 (on its way, YT300), R-3 on 1002
    withdrawn (11), R-4 on 1002 money only: only R-2 is expected."""
    with engine.begin() as conn:
        conn.execute(sa.insert(refunds), [
            _refund("R-1", "1001", "3", waybill="YT100"),
            _refund("R-2", "1003", "7", waybill="YT300"),
            _refund("R-3", "1002", "11", waybill="YT200"),
            _refund("R-4", "1002", "2", goods=False)])
        assert returns.record(conn, "st-01", "st-01-RT00001", RETURN, now=T0 + timedelta(days=2))
        assert not returns.record(conn, "st-01", "st-01-RT00001", RETURN,
                                  now=T0 + timedelta(days=3))


async def test_the_returns_page_lists_expected_and_inspected_returns(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.FINANCE)
    empty = await client.get("/returns")
    assert empty.status_code == 200 and 'id="received-table"' not in empty.text
    _seed(cloud_engine)
    page = await client.get("/returns")
    assert page.status_code == 200
    expected = cells(page.text, "expected-table")
    # request, order, kind, return waybill, courier, SKU, units, refund, status, (time)
    assert [r[:9] for r in expected] == [
        ["R-2", "1003", "退货退款", "YT300", "圆通速递", "-", "2", "¥29.90", "已同意退货待用户发货"]]
    received = cells(page.text, "received-table")
    # return, order, request, good, damaged, not ours, exchange, who, (time)
    assert [r[:8] for r in received] == [
        ["st-01-RT00001", "1001", "R-1 · 退货退款待商家处理 · ¥29.90", "1", "1", "1", "",
         "P01 · st-01"]]
    assert 'href="/returns"' in page.text
    await client.post("/lang", data={"csrf_token": await token(client, "/returns"),
                                     "lang": "en", "next": "/returns"})
    en = await client.get("/returns")
    assert "Returns on their way" in en.text and "return asked, seller to act" in en.text


async def test_the_order_page_lists_the_inspected_items_and_the_event(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    assert 'id="order-returns"' not in (await client.get("/orders/pdd-1001")).text
    _seed(cloud_engine)
    page = await client.get("/orders/pdd-1001")
    assert 'id="order-returns"' in page.text
    items = cells(page.text, "return-items-1")
    assert items == [["SKU-1", "1", "良品", "A-01"], ["SKU-1", "1", "残次", "DMG-01"],
                     ["未知条码 X-999", "1", "非本单", "-"]]
    with cloud_engine.connect() as conn:
        reasons = conn.execute(sa.select(order_events.c.reason).where(
            order_events.c.action == "return_received")).scalars().all()
    assert reasons == ["退货验收 st-01-RT00001: 良品 1, 残次 1, 非本单 1 / good 1, damaged 1, "
                       "not from this order 1"]


async def test_packers_never_see_returns(client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.PACKER)
    assert (await client.get("/returns")).status_code == 403


async def test_an_exchange_order_is_made_from_the_order_page(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    """A return marked as an exchange fills the form (its SKU and units back); refused input
    shows next to its field; the exchange order opens, linked to the original."""
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    with cloud_engine.begin() as conn:
        wire = RETURN.model_copy(update={"exchange": True, "return_id": "st-01-RT00002"})
        returns.record(conn, "st-01", "st-01-RT00002", wire, now=T0)
    page = await client.get("/orders/pdd-1001")
    assert 'id="exchange-form"' in page.text
    assert 'name="sku" value="SKU-1"' in page.text and 'name="qty" value="2"' in page.text
    csrf = await token(client, "/orders/pdd-1001")
    bad = await client.post("/orders/pdd-1001/exchange",
                            data={"csrf_token": csrf, "sku": "NOPE", "qty": "1", "reason": ""})
    assert bad.status_code == 400 and "没有商品 NOPE" in bad.text
    r = await client.post("/orders/pdd-1001/exchange",
                          data={"csrf_token": csrf, "sku": "SKU-2", "qty": "1", "reason": "换帆布袋"})
    assert r.status_code == 303 and r.headers["location"] == "/orders/pdd-1001~X1"
    made = await client.get("/orders/pdd-1001~X1")
    assert made.status_code == 200 and 'id="exchange-of"' in made.text
    assert "换帆布袋" in made.text
    # an order not shipped offers no exchange
    assert 'id="exchange-form"' not in (await client.get("/orders/pdd-1003")).text
