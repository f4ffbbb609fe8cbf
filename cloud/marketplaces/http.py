"""Shared HTTP plumbing for marketplace clients.

* :func:`build_client` — the injected ``httpx.AsyncClient`` with timeouts and hooks;
* :class:`RateLimiter` — sliding-window limiter per (shop, API) and per API/app;
* :func:`call_with_retry` / :class:`RetryPolicy` — backoff only for retryable errors;
* :class:`TokenManager` — tokens per shop, one in-flight refresh per shop;
* :func:`loads` — JSON decoding that keeps big ids exact and amounts as Decimal.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import httpx

from cloud.marketplaces.base import Token
from cloud.marketplaces.errors import (
    BusinessError,
    MalformedResponse,
    MarketplaceError,
    RateLimited,
    TokenExpired,
    TransientError,
)

log = logging.getLogger("packline.marketplaces")

T = TypeVar("T")

DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
"""Default timeouts: 15 s overall, 5 s to connect."""
TOKEN_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
"""Patience for a token call (refresh or code exchange), whatever the client's own timeout.
The platform spends the refresh token when it answers: a reply given up on is a shop that
must be authorised again by its owner, so the wait is long (a busy gateway, a slow link)."""


async def _log_request(request: httpx.Request) -> None:
    log.debug("→ %s %s", request.method, request.url.copy_with(query=None))


async def _log_response(response: httpx.Response) -> None:
    log.debug("← %s %s", response.status_code, response.request.url.copy_with(query=None))


def build_client(
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
) -> httpx.AsyncClient:
    """The ``httpx.AsyncClient`` marketplace clients use (inject ``transport`` in tests).

    The default transport sets TCP_NODELAY: form POSTs are written as headers then body,
    and Nagle plus delayed ACKs would otherwise add ~40 ms per call.
    """
    if transport is None:
        transport = httpx.AsyncHTTPTransport(
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    return httpx.AsyncClient(
        transport=transport,
        timeout=timeout,
        headers={"User-Agent": "packline/0.1"},
        event_hooks={"request": [_log_request], "response": [_log_response]},
        follow_redirects=False,
    )


def loads(body: bytes | str) -> Any:
    """Decode JSON keeping integers exact (Python ints) and decimals as ``Decimal``."""
    try:
        return json.loads(body, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise MalformedResponse(f"响应不是合法 JSON: {err}") from err


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


# ------------------------------------------------------------------ rate limits


@dataclass(frozen=True)
class Limit:
    """A published limit: ``calls`` per ``period`` seconds at a ``scope``."""

    calls: int
    """Maximum calls in the period."""
    period: float
    """Period in seconds."""
    scope: str = "shop"
    """``shop`` (per shop and API), ``app`` (per app and API) or ``api`` (API total)."""


class RateLimiter:
    """Sliding-window limiter that keeps each key under ``safety`` × the published limit.

    Shared by all shops of one app; per-shop limits are keyed by (shop, api), app and
    API-total limits by api only. ``clock`` and ``sleep`` are injectable for tests.
    """

    def __init__(
        self,
        limits: Mapping[str, list[Limit]],
        *,
        safety: float = 0.9,
        guard: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = dict(limits)
        """Limits per API name."""
        self.safety = safety
        """Fraction of the published limit actually used."""
        self.guard = guard
        """Seconds added to every period, so network jitter cannot bunch calls at the server."""
        self._clock = clock
        self._sleep = sleep
        self._calls: dict[tuple[str, str, float], deque[float]] = {}
        self._lock = asyncio.Lock()

    def _keys(self, shop: str, api: str) -> list[tuple[tuple[str, str, float], int, float]]:
        keys = []
        for limit in self.limits.get(api, []):
            owner = shop if limit.scope == "shop" else f"*{limit.scope}"
            allowed = max(1, int(limit.calls * self.safety))
            keys.append(((owner, api, limit.period), allowed, limit.period + self.guard))
        return keys

    async def acquire(self, shop: str, api: str) -> None:
        """Wait until a call of ``api`` for ``shop`` fits every limit, then record it."""
        for _ in range(10_000):
            async with self._lock:
                now = self._clock()
                wait = 0.0
                for key, allowed, period in self._keys(shop, api):
                    window = self._calls.setdefault(key, deque())
                    while window and window[0] <= now - period:
                        window.popleft()
                    if len(window) >= allowed:
                        wait = max(wait, window[0] + period - now)
                if wait <= 0:
                    for key, _allowed, _period in self._keys(shop, api):
                        self._calls[key].append(now)
                    return
            await self._sleep(wait)
        raise RateLimited("本地限流等待次数过多", retry_after=1.0, api=api)


# ----------------------------------------------------------------------- retry


@dataclass
class RetryPolicy:
    """Exponential backoff with jitter, for retryable errors only."""

    rate_limited_attempts: int = 5
    """Total attempts when the platform keeps rate-limiting."""
    transient_attempts: int = 3
    """Total attempts for transient errors (timeouts, platform internal errors)."""
    base_delay: float = 0.2
    """First backoff delay in seconds."""
    max_delay: float = 10.0
    """Cap on one backoff delay."""
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    """Injected sleep (tests record delays instead of sleeping)."""
    rng: random.Random = field(default_factory=random.Random)
    """Jitter source."""

    def delay(self, attempt: int, floor: float = 0.0) -> float:
        """Backoff before retry number ``attempt`` (1-based), at least ``floor``."""
        raw = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return float(max(floor, raw * (0.5 + self.rng.random() / 2)))


async def call_with_retry(op: Callable[[], Awaitable[T]], policy: RetryPolicy) -> T:
    """Run ``op``; retry RateLimited and TransientError with backoff, re-raise the rest."""
    limited = transient = 0
    while True:
        try:
            return await op()
        except RateLimited as err:
            limited += 1
            if limited >= policy.rate_limited_attempts:
                raise
            await policy.sleep(policy.delay(limited, floor=min(err.retry_after, policy.max_delay)))
        except TransientError:
            transient += 1
            if transient >= policy.transient_attempts:
                raise
            await policy.sleep(policy.delay(transient))


# ---------------------------------------------------------------------- tokens

Refresher = Callable[[Token], Awaitable[Token]]
"""Exchanges a token's refresh token for a new token (one HTTP call)."""


class TokenManager:
    """Holds one token per shop and refreshes it with a single in-flight refresh per shop.

    ``on_refresh`` is awaited with (shop, new token) so the caller can persist it.

    A refresh, once sent, runs to the end in its own task even if every caller waiting for
    it is cancelled (a window read cancelled because a sibling failed, a tick stopped): the
    platform used up the old refresh token when it answered, so a reply dropped on our side
    would leave the shop with a refresh token nobody accepts and a seller to re-authorise.
    """

    def __init__(
        self,
        refresher: Refresher,
        *,
        on_refresh: Callable[[str, Token], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.time,
        margin: float = 120.0,
    ) -> None:
        self._refresher = refresher
        self._on_refresh = on_refresh
        self._clock = clock
        self._margin = margin
        self._tokens: dict[str, Token] = {}
        self._in_flight: dict[str, asyncio.Task[Token]] = {}
        self.refresh_count = 0
        """How many refresh calls were made (for tests and metrics)."""

    def set(self, shop: str, token: Token) -> None:
        """Install a token for ``shop`` (e.g. loaded from the database)."""
        self._tokens[shop] = token

    def current(self, shop: str) -> Token:
        """The current token of ``shop``."""
        try:
            return self._tokens[shop]
        except KeyError:
            raise TokenExpired(f"店铺 {shop} 未授权", api="") from None

    async def refresh(self, shop: str, stale: Token) -> Token:
        """Refresh ``stale``; concurrent callers share one refresh per shop."""
        task = self._in_flight.get(shop)
        if task is None:
            current = self._tokens.get(shop)
            if current is not None and current.access_token != stale.access_token:
                return current
            now = self._clock()
            if not stale.refresh_token or (
                stale.refresh_expires_at and stale.refresh_expires_at - self._margin <= now
            ):
                raise TokenExpired(f"店铺 {shop} 授权已过期，需要重新授权")
            self.refresh_count += 1
            task = asyncio.ensure_future(self._refresh(shop, stale))
            self._in_flight[shop] = task
            task.add_done_callback(lambda done: self._finished(shop, done))
        # shield: cancelling this caller does not cancel the refresh others (or the next
        # call) depend on
        return await asyncio.shield(task)

    async def settle(self) -> None:
        """Wait for the refreshes in flight to finish (stored and persisted, or failed): a
        worker shutting down calls it before it closes its HTTP client, so a refresh the
        platform already answered is not lost with the event loop."""
        pending = list(self._in_flight.values())
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def _refresh(self, shop: str, stale: Token) -> Token:
        token = await self._refresher(stale)
        self._tokens[shop] = token
        if self._on_refresh is not None:
            await self._on_refresh(shop, token)
        return token

    def _finished(self, shop: str, task: asyncio.Task[Token]) -> None:
        if self._in_flight.get(shop) is task:
            del self._in_flight[shop]
        if not task.cancelled():
            task.exception()  # retrieved: a failure whose callers were all cancelled is not
            # reported as "never retrieved"; the next call meets it again


Sender = Callable[[str, dict[str, str], Token | None], Awaitable[Any]]
"""Sends one signed call: (api, params, token) → decoded payload, raising our errors."""


class ApiCaller:
    """Rate limit → send → refresh token once on expiry → retry retryable errors."""

    def __init__(
        self,
        *,
        shop: str,
        send: Sender,
        tokens: TokenManager | None,
        limiter: RateLimiter | None,
        retry: RetryPolicy,
    ) -> None:
        self.shop = shop
        """Shop id used for rate limits and tokens."""
        self._send = send
        self._tokens = tokens
        self._limiter = limiter
        self._retry = retry

    async def call(self, api: str, params: dict[str, str], *, needs_token: bool = True) -> Any:
        """Call ``api`` with business ``params``; returns the decoded payload."""

        async def once() -> Any:
            token = self._tokens.current(self.shop) if needs_token and self._tokens else None
            if self._limiter is not None:
                await self._limiter.acquire(self.shop, api)
            try:
                return await self._send(api, params, token)
            except TokenExpired:
                if token is None or self._tokens is None:
                    raise
                fresh = await self._tokens.refresh(self.shop, token)
                if self._limiter is not None:
                    await self._limiter.acquire(self.shop, api)
                return await self._send(api, params, fresh)
            except BusinessError:
                # A concurrent refresh replaced (and the platform revoked) the token while
                # this call was in flight: the refusal says nothing about the call itself.
                if token is None or self._tokens is None:
                    raise
                current = self._tokens.current(self.shop)
                if current.access_token == token.access_token:
                    raise
                if self._limiter is not None:
                    await self._limiter.acquire(self.shop, api)
                return await self._send(api, params, current)

        return await call_with_retry(once, self._retry)


def transport_error(err: httpx.HTTPError, *, platform: str, api: str) -> MarketplaceError:
    """Translate an httpx failure into our tree."""
    if isinstance(err, httpx.TimeoutException):
        return TransientError(f"{platform} {api} 请求超时", platform=platform, api=api)
    return TransientError(f"{platform} {api} 网络错误: {err}", platform=platform, api=api)


class GatewayClient:
    """What every platform client shares: one shop on one signed gateway, the app's rate
    limiter and token manager, retries, token refresh, and the platform's envelope.

    A subclass names its form fields, passes its ``httpx.Auth`` signer and envelope reader,
    and implements the API calls on top of :meth:`_call`.
    """

    platform: str
    """Platform code (``pdd``, ``taobao``)."""
    api_field: str
    """Form field naming the API: ``type`` on PDD, ``method`` on TOP."""
    token_field: str
    """Form field carrying the shop's access token: ``access_token`` / ``session``."""

    def __init__(
        self,
        config: Any,
        shop_id: str,
        tokens: TokenManager,
        *,
        auth: httpx.Auth,
        unwrap: Callable[[str, Any], Any],
        limits: Mapping[str, list[Limit]],
        http: httpx.AsyncClient | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.config = config
        """App credentials and endpoints (``gateway_url`` among them)."""
        self.shop_id = shop_id
        """The shop (PDD mall id, TOP seller id)."""
        self.tokens = tokens
        """Token manager shared by the app's clients."""
        self._owns_http = http is None
        self.http = http or build_client()
        """Injected HTTP client."""
        self._auth = auth
        self._unwrap = unwrap
        """The platform's envelope reader: the payload, or the platform's error raised."""
        self._caller = ApiCaller(
            shop=shop_id, send=self._send, tokens=tokens,
            limiter=limiter if limiter is not None else RateLimiter(limits),
            retry=retry or RetryPolicy(),
        )

    async def aclose(self) -> None:
        """Close the HTTP client if this instance created it."""
        if self._owns_http:
            await self.http.aclose()

    async def _call(self, api: str, wire: dict[str, str], *, needs_token: bool) -> Any:
        return await self._caller.call(api, wire, needs_token=needs_token)

    async def _send(self, api: str, params: dict[str, str], token: Token | None) -> Any:
        form = {self.api_field: api, **params}
        if token is not None:
            form[self.token_field] = token.access_token
        try:
            response = await self.http.post(self.config.gateway_url, data=form, auth=self._auth)
        except httpx.HTTPError as err:
            raise transport_error(err, platform=self.platform, api=api) from err
        try:
            return self._unwrap(api, loads(response.content))
        except MarketplaceError as err:
            err.platform, err.api = self.platform, api
            if isinstance(err, MalformedResponse) and response.status_code >= 500:
                raise TransientError(f"{api}: HTTP {response.status_code}",
                                     platform=self.platform, api=api) from err
            raise


def refresher(
    oauth_token: Callable[..., Awaitable[Token]], config: Any, http: httpx.AsyncClient, *,
    clock: Callable[[], float] = time.time,
) -> Callable[[Token], Awaitable[Token]]:
    """A TokenManager refresher that posts ``grant_type=refresh_token`` via ``oauth_token``."""

    async def refresh(token: Token) -> Token:
        return await oauth_token(config, http, {
            "grant_type": "refresh_token", "refresh_token": token.refresh_token}, clock=clock)

    return refresh
