"""Property: whatever body a gateway returns, clients raise only MarketplaceError."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud.marketplaces.base import Address, StockUpdate, Token, WaybillRequest
from cloud.marketplaces.errors import MarketplaceError
from cloud.marketplaces.http import RateLimiter, RetryPolicy, TokenManager
from cloud.marketplaces.pdd import PddClient, PddConfig
from cloud.marketplaces.pdd_push import parse_push_frame
from cloud.marketplaces.taobao import TaobaoClient, TopConfig

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                      st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
                      st.sampled_from(["2024-01-01 12:00:00", "1700000000", "12.34", "~x~"]))
keys = st.sampled_from([
    "order_sn_increment_get_response", "order_info_get_response", "order_info",
    "order_sn_list", "time_get_response", "time", "error_response", "error_code",
    "error_msg", "sub_msg", "code", "msg", "sub_code", "trades", "trade", "orders", "order",
    "tid", "status", "modified", "item_list", "goods_count", "goods_price", "sku_id",
    "order_status", "updated_at", "total_count", "has_next", "modules", "waybill_code",
    "print_data", "is_success", "shipping", "item", "refund_list", "refunds", "messages",
    "logistics_companies", "data_decrypt_list", "id", "content", "message", "mallID",
    "goods_quantity_update_response", "logistics_online_send_response",
    "trade_fullinfo_get_response", "total_results", "num", "price", "payment"])
json_value = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)), max_leaves=25)
bodies = st.one_of(
    json_value.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=40),
    st.dictionaries(keys, json_value, max_size=4).map(lambda v: json.dumps(v).encode()),
)

START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2024, 1, 1, 0, 20, tzinfo=UTC)
PKG = WaybillRequest("p", ("1",), Address("a", "1", "b", "c", "d", "e"), (("x", 1),),
                     user_id="1")


async def _no_sleep(_: float) -> None:
    return None


def _tokens() -> TokenManager:
    async def refresh(token: Token) -> Token:
        return Token("t2", "r2", 9e9, 9e9)

    tokens = TokenManager(refresh)
    tokens.set("1", Token("t", "r", 9e9, 9e9))
    return tokens


async def _exercise(client: Any) -> None:
    calls = [
        client.server_time(), client.list_orders(START, END), client.get_order("1"),
        client.logistics_companies(), client.ship("1", "115", "x"),
        client.get_waybills("ZTO", PKG.recipient, [PKG]),
        client.update_stock(StockUpdate("1", 1, sku_id="1")),
        client.refunds_in_window(START, END, **({"statuses": (2,)}
                                               if isinstance(client, PddClient) else {})),
    ]
    for call in calls:
        try:
            await call
        except MarketplaceError:
            pass


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies, status=st.sampled_from([200, 400, 500]))
async def test_pdd_client_never_crashes(body: bytes, status: int) -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(status, content=body))
    async with httpx.AsyncClient(transport=transport) as http:
        client = PddClient(PddConfig("c", "s"), "1", _tokens(), http=http,
                           limiter=RateLimiter({}), retry=RetryPolicy(sleep=_no_sleep))
        await _exercise(client)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies, status=st.sampled_from([200, 400, 500]))
async def test_top_client_never_crashes(body: bytes, status: int) -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(status, content=body))
    async with httpx.AsyncClient(transport=transport) as http:
        client = TaobaoClient(TopConfig("k", "s"), "1", _tokens(), http=http,
                              retry=RetryPolicy(sleep=_no_sleep))
        await _exercise(client)
        for call in (client.tmc_consume(), client.tmc_confirm(["1"])):
            try:
                await call
            except MarketplaceError:
                pass


@settings(max_examples=100, deadline=None)
@given(frame=st.dictionaries(keys, json_value, max_size=5))
def test_push_frame_parsing_never_crashes(frame: dict[str, Any]) -> None:
    try:
        parse_push_frame(frame)
    except MarketplaceError:
        pass
