"""Listing download on the fakes (商品匹配): PDD ``pdd.goods.list.get`` (+ ``pdd.goods.sku.list.get``,
``pdd.goods.skus.get``) and Taobao ``taobao.items.onsale.get`` / ``taobao.items.inventory.get`` /
``taobao.item.seller.get``, with pagination and the platforms' errors for bad input; and the
clients reading every listing SKU with the platform's quantity.

The fakes' catalog has 12 SKUs (SKU-0001 … SKU-0012), one per goods; PDD goods ids
100000000 + n, SKU ids 1000000000 + n, title and spec from GOODS[n % 8] (SKU-0012: 收纳盒 中号); Taobao num_iid 600000000000 + 10·n, SKU ids
5000000000000 + n; 50 units each. The tests add a second SKU to the first goods."""

from __future__ import annotations

from typing import Any

import httpx

from cloud.marketplaces.base import Listing
from cloud.marketplaces.fake_server import RunningFake
from cloud.marketplaces.generator import Sku
from cloud.marketplaces.pdd import pdd_sign
from cloud.marketplaces.taobao import top_sign
from tests.cloud.marketplaces.mp_support import pdd_client, top_client


def pdd_call(running: RunningFake, api: str, token: str, **business: str) -> dict[str, Any]:
    s = running.fake.settings
    params = {"type": api, "client_id": s.app_key, "access_token": token,
              "timestamp": str(int(running.fake.clock.now())), **business}
    params["sign"] = pdd_sign(params, s.app_secret)
    body: dict[str, Any] = httpx.post(running.base_url + "/api/router", data=params).json()
    return body


def second_sku(running: RunningFake, item_id: str, sku_id: str) -> None:
    """Give the first goods a second SKU (红色, no 商家编码, 7 units)."""
    with running.fake.lock:
        running.fake.gen.catalog.append(Sku(item_id=item_id, sku_id=sku_id, outer_id="",
                                            title="保温杯", spec="红色 500ml", price_fen=3990,
                                            quantity=7))


def test_pdd_goods_list_pages_and_errors(serve: Any) -> None:
    running = serve("pdd", seed=181, history_hours=0)
    token = running.fake.issue_token().access_token
    second_sku(running, "100000000", "1000000099")
    pages = [pdd_call(running, "pdd.goods.list.get", token, page=str(p), page_size="5")
             ["goods_list_get_response"] for p in (1, 2, 3, 4)]
    assert [p["total_count"] for p in pages] == [12, 12, 12, 12]
    assert [len(p["goods_list"]) for p in pages] == [5, 5, 2, 0]
    first = pages[0]["goods_list"][0]
    assert first["goods_id"] == 100000000 and first["goods_name"] == "保温杯"
    assert first["goods_quantity"] == 57 and first["is_onsale"] == 1
    assert first["sku_list"] == [
        {"sku_id": 1000000000, "outer_id": "SKU-0001", "outer_goods_id": "SKU",
         "spec": "白色 500ml", "sku_quantity": 50, "is_sku_onsale": 1, "reserve_quantity": 0},
        {"sku_id": 1000000099, "outer_id": "", "outer_goods_id": "", "spec": "红色 500ml",
         "sku_quantity": 7, "is_sku_onsale": 1, "reserve_quantity": 0}]
    assert pages[2]["goods_list"][-1]["goods_id"] == 100000011
    by_outer = pdd_call(running, "pdd.goods.list.get", token, outer_id="SKU-0003")
    assert [g["goods_id"] for g in by_outer["goods_list_get_response"]["goods_list"]] == [
        100000002]
    off = pdd_call(running, "pdd.goods.list.get", token, is_onsale="0")
    assert off["goods_list_get_response"] == {"goods_list": [], "total_count": 0}
    sku = pdd_call(running, "pdd.goods.skus.get", token, goods_id="100000000",
                   sku_id="1000000099")["goods_sku_get_response"]
    assert (sku["quantity"], sku["out_sku_sn"]) == (7, "")
    skus = pdd_call(running, "pdd.goods.sku.list.get", token, goods_id="100000000")
    assert [k["sku_id"] for k in skus["goods_sku_list_get_response"]["sku_list"]] == [
        1000000000, 1000000099]

    def error(body: dict[str, Any]) -> tuple[int, str]:
        return body["error_response"]["error_code"], body["error_response"]["sub_msg"]

    assert error(pdd_call(running, "pdd.goods.list.get", token, page="0")) == (
        10000, "page/page_size 无效")
    assert error(pdd_call(running, "pdd.goods.list.get", token, page="x")) == (
        10000, "page 必须是整数")
    assert error(pdd_call(running, "pdd.goods.list.get", token, is_onsale="2")) == (
        10000, "is_onsale 只能是 0 或 1")
    assert error(pdd_call(running, "pdd.goods.list.get", token,
                          outer_goods_id=",".join(str(n) for n in range(11)))) == (
        10000, "outer_goods_id 最多 10 个")
    assert error(pdd_call(running, "pdd.goods.skus.get", token, goods_id="1")) == (
        10000, "sku_id 不能为空")
    assert error(pdd_call(running, "pdd.goods.skus.get", token, goods_id="1",
                          sku_id="2")) == (50001, "商品不存在")
    assert error(pdd_call(running, "pdd.goods.sku.list.get", token, goods_id="abc")) == (
        10000, "goods_id 必须是整数")
    assert pdd_call(running, "pdd.goods.list.get", "nope")["error_response"][
        "error_code"] == 20032


async def test_pdd_client_reads_every_listing(serve: Any, http: httpx.AsyncClient) -> None:
    running = serve("pdd", seed=182, history_hours=0)
    second_sku(running, "100000000", "1000000099")
    client = pdd_client(running, http)
    seen: list[tuple[int, int]] = []
    found = await client.listings(page_size=5, progress=lambda done, total: seen.append(
        (done, total)))
    assert seen == [(5, 12), (10, 12), (12, 12)]
    assert len(found) == 13
    assert found[:2] == [
        Listing("100000000", "1000000000", "SKU-0001", "保温杯", "白色 500ml", 50, True),
        Listing("100000000", "1000000099", "", "保温杯", "红色 500ml", 7, True)]
    assert found[-1] == Listing("100000011", "1000000011", "SKU-0012", "收纳盒", "中号", 50, True)
    assert running.fake.calls["pdd.goods.list.get"] == 3
    assert running.fake.stock_pushes == []


def top_call(running: RunningFake, method: str, session: str, **business: str) -> dict[str, Any]:
    import time

    s = running.fake.settings
    params = {"method": method, "app_key": s.app_key, "session": session, "format": "json",
              "v": "2.0", "sign_method": "md5", "simplify": "true",
              "timestamp": time.strftime("%Y-%m-%d %H:%M:%S",
                                         time.gmtime(running.fake.clock.now() + 8 * 3600)),
              **business}
    params["sign"] = top_sign(params, s.app_secret, "md5")
    body: dict[str, Any] = httpx.post(running.base_url + "/router/rest", data=params).json()
    return body


def test_taobao_items_pages_skus_and_errors(serve: Any) -> None:
    running = serve("taobao", seed=183, history_hours=0)
    session = running.fake.issue_token().access_token
    first_iid = "600000000000"
    second_sku(running, first_iid, "5000000000099")
    fields = "num_iid,title,num,outer_id"
    pages = [top_call(running, "taobao.items.onsale.get", session, fields=fields,
                      page_no=str(p), page_size="5") for p in (1, 2, 3)]
    assert [p["total_results"] for p in pages] == [12, 12, 12]
    assert [len(p["items"]) for p in pages] == [5, 5, 2]
    assert pages[0]["items"][0] == {"num_iid": 600000000000, "title": "保温杯", "num": 57,
                                    "outer_id": "SKU"}
    stored = top_call(running, "taobao.items.inventory.get", session, fields=fields)
    assert (stored["items"], stored["total_results"]) == ([], 0)
    item = top_call(running, "taobao.item.seller.get", session, num_iid=first_iid,
                    fields="num_iid,title,sku")["item"]
    assert item["num_iid"] == 600000000000 and "num" not in item
    assert [(k["sku_id"], k["outer_id"], k["quantity"]) for k in item["skus"]] == [
        (5000000000000, "SKU-0001", 50), (5000000000099, "", 7)]

    def error(body: dict[str, Any]) -> tuple[int, str]:
        return body["error_response"]["code"], body["error_response"]["sub_code"]

    assert error(top_call(running, "taobao.items.onsale.get", session)) == (
        40, "isv.missing-parameter:fields")
    assert error(top_call(running, "taobao.items.onsale.get", session, fields=fields,
                          page_size="201")) == (41, "isv.invalid-parameter:page_size")
    assert error(top_call(running, "taobao.item.seller.get", session, fields=fields,
                          num_iid="12")) == (15, "isv.item-not-exist")
    assert error(top_call(running, "taobao.item.seller.get", session, fields=fields,
                          num_iid="abc")) == (41, "isv.invalid-parameter:num_iid")


async def test_taobao_client_reads_every_listing(serve: Any, http: httpx.AsyncClient) -> None:
    running = serve("taobao", seed=184, history_hours=0)
    second_sku(running, "600000000000", "5000000000099")
    client = top_client(running, http)
    found = await client.listings(page_size=5)
    assert len(found) == 13
    assert found[:2] == [
        Listing("600000000000", "5000000000000", "SKU-0001", "保温杯", "白色 500ml", 50, True),
        Listing("600000000000", "5000000000099", "", "保温杯", "红色 500ml", 7, True)]
    assert running.fake.calls["taobao.items.onsale.get"] == 3
    assert running.fake.calls["taobao.items.inventory.get"] == 1
    assert running.fake.calls["taobao.item.seller.get"] == 12
