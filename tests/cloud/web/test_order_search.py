"""The order list's filters and search (#13 item 4): shop, platform, Beijing days, Packline
SKU, exception, courier, e-waybill taken or not, and one search box for the order no.
(exact or prefix), the waybill no. and the masked phone's last 4 digits — combined, with
paging, on both engines. Expected orders are written out by hand from the seed below."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.engine import Engine

from cloud.db.schema import shops
from cloud.db.schema_orders import order_lines, orders, waybills
from cloud.web.routes import orders as order_routes
from edge.domain.models import Role
from tests.cloud.web.support import T0, cells, signed_in

# The seed (tests/cloud/web/support.py) has three PDD orders, ordered (Beijing time):
#   1001 shipped    2026-11-30 10:00  138****5678  tracking ZT123
#   1002 exception  2026-12-01 10:00  139****0001  (unmapped)
#   1003 allocated  2026-11-28 10:00  137****2222
# Added here, in a Taobao shop:
#   10021 tasked     2026-11-29 00:00 (first minute of the Beijing day)  186****5678
#   10022 exception  2026-11-29 23:59 (last minute of the Beijing day)   135****9999 out_of_stock
#   7_1   pending    2026-11-26 10:00   771 tasked 2026-11-25 10:00
# Lines: 1001 SKU-1; 1002 unmapped; 1003 SKU-1 + SKU-2; 10021 SKU-2; 10022 SKU-1.
# Waybills: 1001 ZT123 (ZTO); 10021 YT900 (YTO); 771 ZT771 (ZTO).
ALL = ["1002", "1001", "10022", "10021", "1003", "7_1", "771"]


def _seed_more(engine: Engine) -> None:
    base = {"shop_id": "shop-tb", "platform": "taobao", "platform_status": "awaiting_shipment",
            "raw_status": "WAIT_SELLER_SEND_GOODS", "platform_updated_at": T0,
            "first_seen_at": T0, "updated_at": T0, "buyer_note": "", "pay_fen": 100,
            "exception_code": None}
    with engine.begin() as conn:
        conn.execute(shops.insert().values(id="shop-tb", platform="taobao", name="淘宝小店",
                                           created_at=T0))
        conn.execute(orders.insert(), [
            {**base, "id": "tb-10021", "platform_order_id": "10021", "state": "tasked",
             "ordered_at": datetime(2026, 11, 28, 16, 0, tzinfo=UTC),
             "receiver_masked": {"name": "赵*", "phone": "186****5678", "address": "广州市***"}},
            {**base, "id": "tb-10022", "platform_order_id": "10022", "state": "exception",
             "exception_code": "out_of_stock",
             "ordered_at": datetime(2026, 11, 29, 15, 59, tzinfo=UTC),
             "receiver_masked": {"name": "钱*", "phone": "135****9999", "address": "深圳市***"}},
            {**base, "id": "tb-7_1", "platform_order_id": "7_1", "state": "pending",
             "ordered_at": T0 - timedelta(days=5),
             "receiver_masked": {"name": "孙*", "phone": "", "address": "成都市***"}},
            {**base, "id": "tb-771", "platform_order_id": "771", "state": "tasked",
             "ordered_at": T0 - timedelta(days=6),
             "receiver_masked": {"name": "周*", "phone": "150****1234", "address": "武汉市***"}},
        ])
        line = {"title": "t", "qty": 1, "price_fen": 100, "sku_qty": 1}
        conn.execute(order_lines.insert(), [
            {**line, "order_id": "pdd-1001", "line_no": 1, "sku": "SKU-1"},
            {**line, "order_id": "pdd-1002", "line_no": 1, "sku": None, "sku_qty": None},
            {**line, "order_id": "pdd-1003", "line_no": 1, "sku": "SKU-1"},
            {**line, "order_id": "pdd-1003", "line_no": 2, "sku": "SKU-2"},
            {**line, "order_id": "tb-10021", "line_no": 1, "sku": "SKU-2"},
            {**line, "order_id": "tb-10022", "line_no": 1, "sku": "SKU-1"},
        ])
        conn.execute(waybills.insert(), [
            {"order_id": "pdd-1001", "waybill_no": "ZT123", "carrier_code": "ZTO",
             "print_data": "{}", "issued_at": T0},
            {"order_id": "tb-10021", "waybill_no": "YT900", "carrier_code": "YTO",
             "print_data": "{}", "issued_at": T0},
            {"order_id": "tb-771", "waybill_no": "ZT771", "carrier_code": "ZTO",
             "print_data": "{}", "issued_at": T0},
        ])


async def _nos(client: httpx.AsyncClient, **params: str) -> list[str]:
    page = await client.get("/orders", params=params)
    assert page.status_code == 200, page.text
    if 'id="orders-table"' not in page.text:
        assert "没有符合筛选条件的订单" in page.text
        return []
    return [r[1] for r in cells(page.text, "orders-table")]  # column 0: the merge checkbox


async def test_each_filter_and_the_search_box(client: httpx.AsyncClient,
                                              cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    _seed_more(cloud_engine)
    assert await _nos(client) == ALL
    assert await _nos(client, shop="shop-tb") == ["10022", "10021", "7_1", "771"]
    assert await _nos(client, platform="taobao") == ["10022", "10021", "7_1", "771"]
    assert await _nos(client, platform="pdd") == ["1002", "1001", "1003"]
    # Beijing days: 2026-11-29 00:00 and 23:59 in, 2026-11-28 10:00 and 2026-11-30 10:00 out
    assert await _nos(client, since="2026-11-29", until="2026-11-29") == ["10022", "10021"]
    assert await _nos(client, sku="SKU-1") == ["1001", "10022", "1003"]
    assert await _nos(client, sku="SKU-2") == ["10021", "1003"]
    assert await _nos(client, sku="SKU-9") == []
    assert await _nos(client, exception="out_of_stock") == ["10022"]
    assert await _nos(client, exception="unmapped") == ["1002"]
    assert await _nos(client, exception="no-such-code") == ALL  # an unknown code filters nothing
    assert await _nos(client, carrier="ZTO") == ["1001", "771"]
    assert await _nos(client, carrier="YTO") == ["10021"]
    assert await _nos(client, waybill="taken") == ["1001", "10021", "771"]
    assert await _nos(client, waybill="none") == ["1002", "10022", "1003", "7_1"]
    # search: order no. exact or prefix, waybill no. exact, masked phone's last 4 digits
    assert await _nos(client, q="1003") == ["1003"]
    assert await _nos(client, q="1002") == ["1002", "10022", "10021"]
    assert await _nos(client, q="YT900") == ["10021"]
    assert await _nos(client, q="ZT12") == []  # a waybill no. matches whole only
    assert await _nos(client, q="5678") == ["1001", "10021"]
    assert await _nos(client, q="1234") == ["771"]
    assert await _nos(client, q="7_") == ["7_1"]  # LIKE wildcards are literal
    assert await _nos(client, q="%") == []


async def test_filters_combine_and_page(client: httpx.AsyncClient, cloud_engine: Engine,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    _seed_more(cloud_engine)
    assert await _nos(client, shop="shop-tb", sku="SKU-1") == ["10022"]
    assert await _nos(client, q="5678", platform="pdd") == ["1001"]
    assert await _nos(client, waybill="none", sku="SKU-1") == ["10022", "1003"]
    assert await _nos(client, carrier="ZTO", since="2026-11-27") == ["1001"]
    assert await _nos(client, state="tasked", carrier="ZTO") == ["771"]
    assert await _nos(client, q="1002", exception="out_of_stock") == ["10022"]
    # the form keeps what was asked (GET: it works without JavaScript)
    page = await client.get("/orders", params={"sku": "SKU-1", "waybill": "none", "q": "10"})
    assert 'name="sku" id="f-sku" value="SKU-1"' in page.text
    assert '<option value="none" selected>未取面单</option>' in page.text
    assert 'value="10"' in page.text
    assert '<option value="ZTO">ZTO</option>' in page.text  # couriers seen on waybills
    # htmx asks for the same page (it swaps #results in)
    partial = await client.get("/orders", params={"sku": "SKU-2"}, headers={"HX-Request": "true"})
    assert [r[1] for r in cells(partial.text, "orders-table")] == ["10021", "1003"]
    # paging keeps the filters
    monkeypatch.setattr(order_routes, "PAGE", 2)
    first = await client.get("/orders", params={"shop": "shop-tb"})
    assert [r[1] for r in cells(first.text, "orders-table")] == ["10022", "10021"]
    assert 'href="/orders?shop=shop-tb&page=2"' in first.text
    second = await client.get("/orders", params={"shop": "shop-tb", "page": "2"})
    assert [r[1] for r in cells(second.text, "orders-table")] == ["7_1", "771"]
    assert "page=3" not in second.text and 'href="/orders?shop=shop-tb&page=1"' in second.text
    empty = await client.get("/orders", params={"shop": "shop-tb", "sku": "SKU-9"})
    assert "没有符合筛选条件的订单" in empty.text and 'id="orders-table"' not in empty.text


async def test_the_list_without_review_rights(client: httpx.AsyncClient,
                                              cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.FINANCE)  # ORDERS_VIEW only: no merge column
    _seed_more(cloud_engine)
    page = await client.get("/orders", params={"q": "5678"})
    assert [r[0] for r in cells(page.text, "orders-table")] == ["1001", "10021"]
