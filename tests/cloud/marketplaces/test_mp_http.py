"""Rate limiter, retry policy, token refresh and envelope handling, with MockTransport."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from cloud.marketplaces.base import Token, parse_time, plan_window, yuan_to_fen
from cloud.marketplaces.errors import (
    BusinessError,
    MalformedResponse,
    RateLimited,
    TokenExpired,
    TransientError,
)
from cloud.marketplaces.http import Limit, RateLimiter, RetryPolicy, TokenManager, loads
from cloud.marketplaces.pdd import PddClient, PddConfig
from cloud.marketplaces.taobao import TaobaoClient, TopConfig


class FakeClock:
    """Monotonic clock whose sleep advances time."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


async def test_rate_limiter_never_exceeds_limit_in_any_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter({"api.x": [Limit(10, 1.0, "shop"), Limit(25, 10.0, "app")]},
                          clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(60):
        await limiter.acquire("shop1", "api.x")
        stamps.append(clock.t)
    for i, t in enumerate(stamps):
        in_1s = [s for s in stamps[i:] if s < t + 1.0]
        in_10s = [s for s in stamps[i:] if s < t + 10.0]
        assert len(in_1s) <= 9  # 90 % safety
        assert len(in_10s) <= 22
    assert clock.sleeps, "the limiter must have waited"


async def test_rate_limiter_keys_shop_limits_per_shop() -> None:
    clock = FakeClock()
    limiter = RateLimiter({"api.x": [Limit(2, 1.0, "shop")]}, safety=1.0, clock=clock,
                          sleep=clock.sleep)
    for shop in ("a", "a", "b", "b"):
        await limiter.acquire(shop, "api.x")
    assert clock.sleeps == []
    await limiter.acquire("a", "api.x")
    assert clock.sleeps == [pytest.approx(1.1)]  # period + 0.1 s jitter guard


def _pdd_error(code: int, sub_msg: str = "") -> dict[str, Any]:
    return {"error_response": {"error_code": code, "error_msg": "x", "sub_msg": sub_msg,
                               "sub_code": None, "request_id": "1"}}


def _pdd_client(handler: Callable[[httpx.Request], httpx.Response],
                refresher: Any = None) -> tuple[PddClient, TokenManager, list[float]]:
    delays: list[float] = []

    async def sleep(s: float) -> None:
        delays.append(s)

    async def default_refresh(token: Token) -> Token:
        return Token("fresh", "rt2", 9e9, 9e9)

    tokens = TokenManager(refresher or default_refresh)
    tokens.set("shop", Token("stale", "rt", 9e9, 9e9))
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = PddClient(PddConfig("cid", "sec", gateway_url="http://fake/api/router"), "shop",
                       tokens, http=http, limiter=RateLimiter({}),
                       retry=RetryPolicy(base_delay=0.01, sleep=sleep))
    return client, tokens, delays


def _ok_time() -> httpx.Response:
    return httpx.Response(200, json={"time_get_response": {"time": "2024-01-01 12:00:00"}})


@pytest.mark.parametrize("code", [52101, 52102, 52103, 70031, 50000, 50002, 52001, 52002])
async def test_pdd_retries_retryable_codes(code: int) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json=_pdd_error(code)) if len(calls) == 1 else _ok_time()

    client, _, delays = _pdd_client(handler)
    assert await client.server_time() == datetime(2024, 1, 1, 4, 0, tzinfo=UTC)
    assert len(calls) == 2 and len(delays) == 1


@pytest.mark.parametrize("code", [10000, 10001, 20004, 20032, 50001, 52004, 70032])
async def test_pdd_does_not_retry_fatal_codes(code: int) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json=_pdd_error(code, "原因"))

    client, _, delays = _pdd_client(handler)
    with pytest.raises(BusinessError) as info:
        await client.server_time()
    assert info.value.code == str(code) and info.value.sub_msg == "原因"
    assert len(calls) == 1 and delays == []


async def test_pdd_transient_retries_are_bounded() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json=_pdd_error(50000))

    client, _, _ = _pdd_client(handler)
    with pytest.raises(TransientError):
        await client.server_time()
    assert len(calls) == 3


async def test_pdd_errors_detected_whatever_the_http_status() -> None:
    client, _, _ = _pdd_client(lambda r: httpx.Response(400, json=_pdd_error(20004)))
    with pytest.raises(BusinessError):
        await client.server_time()


async def test_pdd_token_expiry_refreshes_once_then_retries() -> None:
    seen_tokens = []

    def handler(request: httpx.Request) -> httpx.Response:
        form = dict(x.split("=", 1) for x in request.content.decode().split("&"))
        seen_tokens.append(form["access_token"])
        if form["access_token"] == "stale":
            return httpx.Response(200, json=_pdd_error(10019))
        return httpx.Response(200, json={"order_info_get_response": {"order_info": {
            "order_sn": "240101-1", "order_status": 1, "updated_at": "2024-01-01 12:00:00",
            "item_list": []}}})

    client, tokens, _ = _pdd_client(handler)
    order = await client.get_order("240101-1")
    assert order.order_id == "240101-1"
    assert seen_tokens == ["stale", "fresh"]
    assert tokens.refresh_count == 1


async def test_single_in_flight_refresh_per_shop() -> None:
    started = asyncio.Event()
    release = asyncio.Event()
    refreshes = 0

    async def slow_refresh(token: Token) -> Token:
        nonlocal refreshes
        refreshes += 1
        started.set()
        await release.wait()
        return Token("fresh", "rt2", 9e9, 9e9)

    def handler(request: httpx.Request) -> httpx.Response:
        if "access_token=stale" in request.content.decode():
            return httpx.Response(200, json=_pdd_error(10019))
        return httpx.Response(200, json={"order_info_get_response": {"order_info": {
            "order_sn": "1", "order_status": 1, "updated_at": "2024-01-01 12:00:00"}}})

    client, tokens, _ = _pdd_client(handler, slow_refresh)
    tasks = [asyncio.create_task(client.get_order("1")) for _ in range(8)]
    await started.wait()
    await asyncio.sleep(0.05)
    release.set()
    results = await asyncio.gather(*tasks)
    assert len(results) == 8
    assert refreshes == 1 and tokens.current("shop").access_token == "fresh"


async def test_refresh_refused_when_refresh_token_expired() -> None:
    async def never(token: Token) -> Token:
        raise AssertionError("must not be called")

    tokens = TokenManager(never, clock=lambda: 1000.0)
    stale = Token("a", "r", expires_at=900, refresh_expires_at=1050)
    tokens.set("s", stale)
    with pytest.raises(TokenExpired):
        await tokens.refresh("s", stale)


def _top_client(handler: Callable[[httpx.Request], httpx.Response]
                ) -> tuple[TaobaoClient, list[float]]:
    delays: list[float] = []

    async def sleep(s: float) -> None:
        delays.append(s)

    async def refresh(token: Token) -> Token:
        return Token("fresh", "rt2", 9e9, 9e9)

    tokens = TokenManager(refresh)
    tokens.set("shop", Token("stale", "rt", 9e9, 9e9))
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = TaobaoClient(TopConfig("k", "s", gateway_url="http://fake/router/rest"), "shop",
                          tokens, http=http, retry=RetryPolicy(base_delay=0.01, sleep=sleep))
    return client, delays


def _top_error(code: int, sub_code: str = "", sub_msg: str = "") -> dict[str, Any]:
    return {"error_response": {"code": code, "msg": "m", "sub_code": sub_code,
                               "sub_msg": sub_msg, "request_id": "r"}}


async def test_top_rate_limit_uses_ban_seconds_and_retries() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(200, json=_top_error(
                7, "accesscontrol.limited-by-app-api-access-count",
                "This ban will last for 3 more seconds"))
        return httpx.Response(200, json={"time": "2024-01-01 12:00:00"})

    client, delays = _top_client(handler)
    await client.server_time()
    assert len(calls) == 2 and delays[0] >= 3.0


@pytest.mark.parametrize(("code", "sub", "retried"), [
    (10, "", True), (15, "isp.system-busy", True), (15, "isv.invalid-parameter", False),
    (25, "", False), (41, "isv.invalid-parameter", False)])
async def test_top_retry_classification(code: int, sub: str, retried: bool) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(200, json=_top_error(code, sub))
        return httpx.Response(200, json={"time": "2024-01-01 12:00:00"})

    client, _ = _top_client(handler)
    if retried:
        await client.server_time()
        assert len(calls) == 2
    else:
        with pytest.raises(BusinessError):
            await client.server_time()
        assert len(calls) == 1


async def test_top_accepts_non_simplified_shape_with_big_ids() -> None:
    body = {"trade_fullinfo_get_response": {"trade": {
        "tid": 4100000000000000123, "status": "WAIT_SELLER_SEND_GOODS",
        "modified": "2024-01-01 12:00:00", "payment": "10.10",
        "orders": {"order": [{"oid": 4100000000000000124, "num_iid": 9007199254740993,
                              "sku_id": "5000000000001", "num": 2, "price": "5.05"}]}}}}
    raw = json.dumps(body).encode()
    client, _ = _top_client(lambda r: httpx.Response(200, content=raw))
    order = await client.get_order("4100000000000000123")
    assert order.order_id == "4100000000000000123"
    assert order.lines[0].line_id == "4100000000000000124"
    assert order.lines[0].item_id == "9007199254740993"
    assert order.pay_fen == 1010 and order.lines[0].price_fen == 505


@pytest.mark.parametrize("body", [{"unexpected_root": {}}, {}, {"trades": []}])
async def test_a_top_page_without_its_count_is_malformed_not_empty(body: dict[str, object]) -> None:
    """Found by the Taobao soak: a reply with an unexpected envelope was read as an empty
    window (no ``total_results`` → 0), the checkpoint moved past it and its orders were
    never read. TOP always sends the count asked for; without it the reply is refused."""
    client, _ = _top_client(lambda r: httpx.Response(200, json=body))
    start = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    with pytest.raises(MalformedResponse):
        await client.list_orders(start, start + timedelta(minutes=30))
    with pytest.raises(MalformedResponse):
        await client.list_orders(start, start + timedelta(minutes=30), page=2, use_has_next=True)
    with pytest.raises(MalformedResponse):
        await client.refunds_in_window(start, start + timedelta(minutes=30))
    empty, _ = _top_client(lambda r: httpx.Response(200, json={
        "trades_sold_increment_get_response": {"total_results": 0, "has_next": False}}))
    page = await empty.list_orders(start, start + timedelta(minutes=30))
    assert (page.orders, page.total_count) == ((), 0)  # a real empty window still reads


async def test_malformed_body_raises_malformed_response() -> None:
    client, _, _ = _pdd_client(lambda r: httpx.Response(200, content=b"<html>502</html>"))
    with pytest.raises(MalformedResponse):
        await client.server_time()


async def test_timeout_becomes_transient_and_is_retried() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ReadTimeout("slow", request=request)
        return _ok_time()

    client, _, _ = _pdd_client(handler)
    await client.server_time()
    assert len(calls) == 2


async def test_rate_limited_gives_up_after_policy_attempts() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json=_pdd_error(52101))

    client, _, delays = _pdd_client(handler)
    with pytest.raises(RateLimited):
        await client.server_time()
    assert len(calls) == 5 and len(delays) == 4


def test_helpers() -> None:
    assert loads(b'{"id": 9007199254740993, "x": 1.10}') == {
        "id": 9007199254740993, "x": Decimal("1.10")}
    with pytest.raises(MalformedResponse):
        loads(b'{"x": NaN}')
    assert yuan_to_fen("39.90") == 3990 and yuan_to_fen(Decimal("0.1")) == 10
    assert yuan_to_fen(12) == 1200
    assert parse_time("2024-01-01 08:00:00") == datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_time("1704067200") == datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_time(1704067200000) == datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(MalformedResponse):
        parse_time("yesterday")


def test_plan_window_respects_span_overlap_and_lag() -> None:
    now = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    span = timedelta(minutes=30)
    start, end = plan_window(now - timedelta(hours=2), now, max_span=span) or (now, now)
    assert start == now - timedelta(hours=2, minutes=5)
    assert end - start == span
    start, end = plan_window(now - timedelta(minutes=10), now, max_span=span) or (now, now)
    assert end == now - timedelta(minutes=3)
    assert plan_window(now - timedelta(minutes=3), now, max_span=span) is None
