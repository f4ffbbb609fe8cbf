"""Helpers wiring clients to running fake platforms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from cloud.marketplaces.base import Token
from cloud.marketplaces.fake_server import RunningFake
from cloud.marketplaces.http import Limit, RateLimiter, RetryPolicy, TokenManager
from cloud.marketplaces.pdd import LIMITS as PDD_LIMITS
from cloud.marketplaces.pdd import PddClient, PddConfig
from cloud.marketplaces.taobao import TaobaoClient, TopConfig

FAST_DECRYPT = [(1, 0.2, "app")]


def fast_retry(**kw: Any) -> RetryPolicy:
    """Retry policy with tiny delays."""
    return RetryPolicy(base_delay=0.01, max_delay=0.05, **kw)


def pdd_config(running: RunningFake, secret: str | None = None) -> PddConfig:
    """Client config pointing at a running fake PDD."""
    s = running.fake.settings
    return PddConfig(s.app_key, secret or s.app_secret,
                     gateway_url=running.base_url + "/api/router",
                     oauth_url=running.base_url + "/oauth/token",
                     message_url=f"ws://127.0.0.1:{running.port}")


def pdd_client(running: RunningFake, http: httpx.AsyncClient, *, secret: str | None = None,
               clock: Callable[[], float] | None = None, retry: RetryPolicy | None = None,
               limiter: RateLimiter | None = None) -> PddClient:
    """A PDD client with a token issued by the fake."""
    fake = running.fake
    config = pdd_config(running, secret)
    clock = clock or fake.clock.now
    tokens = TokenManager(PddClient.token_refresher(config, http, clock=clock), clock=clock)
    issued = fake.issue_token()
    tokens.set(fake.settings.shop_id, Token(issued.access_token, issued.refresh_token,
                                            issued.expires_at, issued.refresh_expires_at))
    limits = {**PDD_LIMITS, "pdd.open.decrypt.batch": [Limit(1, 0.2, "app")]}
    return PddClient(config, fake.settings.shop_id, tokens, http=http, clock=clock,
                     retry=retry or fast_retry(), limiter=limiter or RateLimiter(limits))


def top_client(running: RunningFake, http: httpx.AsyncClient, *, secret: str | None = None,
               sign_method: str = "hmac-sha256", clock: Callable[[], float] | None = None,
               retry: RetryPolicy | None = None,
               limiter: RateLimiter | None = None) -> TaobaoClient:
    """A TOP client with a token issued by the fake."""
    fake = running.fake
    s = fake.settings
    config = TopConfig(s.app_key, secret or s.app_secret,
                       gateway_url=running.base_url + "/router/rest",
                       oauth_url=running.base_url + "/token", sign_method=sign_method)
    clock = clock or fake.clock.now
    tokens = TokenManager(TaobaoClient.token_refresher(config, http, clock=clock), clock=clock)
    issued = fake.issue_token()
    tokens.set(s.shop_id, Token(issued.access_token, issued.refresh_token, issued.expires_at,
                                issued.refresh_expires_at))
    return TaobaoClient(config, s.shop_id, tokens, http=http, clock=clock,
                        retry=retry or fast_retry(), limiter=limiter)
