"""Fake marketplace platforms as real HTTP servers (Starlette apps run by uvicorn).

``FakePdd`` (:mod:`cloud.marketplaces.fake_pdd`) and ``FakeTop``
(:mod:`cloud.marketplaces.fake_top`) are ASGI callables implementing the platform
protocols of docs/specs/marketplaces.md §6; every [unverified] behaviour of §7 is
a field of their settings. This module holds what both share: settings, the
fault injector, the rate limiter, the token store, parameter parsing, the
uvicorn runner and the ``fake-platform`` click command.

Ground truth for tests is plain Python on the fake object: ``orders()``,
``shipments``, ``stock_pushes``, ``waybills``, ``rejections``, ``calls``…
"""

from __future__ import annotations

import abc
import asyncio
import html
import json
import random
import socket
import threading
import time
import urllib.parse
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from cloud.marketplaces.generator import (
    GeneratorSettings,
    IssuedWaybill,
    Order,
    OrderGenerator,
    Shipment,
    SimClock,
    StockPush,
)

FAULT_KINDS = ("rate_limit", "token_expired", "business", "timeout", "malformed")
"""Faults the injector can produce."""


class FakeSenderAddress(BaseModel):
    """A sender address of a waybill branch account (``shipp_address_cols[]``). The spec
    names the list only (docs/specs/marketplaces.md §1.7.8); the fields here are the
    address shape of the waybill request's ``sender.address``."""

    model_config = ConfigDict(extra="forbid")
    province: str
    """Province."""
    city: str
    """City."""
    district: str
    """District."""
    detail: str
    """Street address."""


class FakeBranchAccount(BaseModel):
    """One branch (网点) account of a courier subscription, with its waybill balance."""

    model_config = ConfigDict(extra="forbid")
    branch_code: str
    """Branch code."""
    branch_name: str
    """Branch name."""
    quantity: int
    """Waybills left (balance); each issued waybill takes one."""
    allocated_quantity: int = 0
    """Waybills issued so far."""
    cancel_quantity: int = 0
    """Waybills cancelled."""
    recycled_quantity: int = 0
    """Waybills recycled."""
    shipp_address_cols: list[FakeSenderAddress] = Field(default_factory=list)
    """Sender addresses registered with the branch."""


class FakeSubscription(BaseModel):
    """A courier's e-waybill subscription (``waybill_apply_subscription_cols[]``)."""

    model_config = ConfigDict(extra="forbid")
    wp_code: str
    """Carrier code (TOP: ``cp_code``)."""
    branch_account_cols: list[FakeBranchAccount]
    """Branch accounts."""


FAKE_BALANCE = 100_000
"""Default waybill balance of each fake branch account: more than any test takes."""


def _default_subscriptions() -> list[FakeSubscription]:
    home = FakeSenderAddress(province="浙江省", city="杭州市", district="余杭区",
                             detail="仓前街道文一西路 1 号 Packline 仓")
    second = FakeSenderAddress(province="浙江省", city="杭州市", district="萧山区",
                               detail="宁围街道 88 号 二号仓")
    return [
        FakeSubscription(wp_code="ZTO", branch_account_cols=[FakeBranchAccount(
            branch_code="571001", branch_name="中通杭州余杭网点", quantity=FAKE_BALANCE,
            shipp_address_cols=[home, second])]),
        FakeSubscription(wp_code="YTO", branch_account_cols=[FakeBranchAccount(
            branch_code="571088", branch_name="圆通杭州萧山网点", quantity=FAKE_BALANCE,
            shipp_address_cols=[second])]),
    ]


ROUTING: dict[str, tuple[str, str]] = {
    "浙江省": ("310-A01", "杭州转运中心"), "江苏省": ("200-B12", "苏州集包中心"),
    "上海市": ("021-C03", "上海集包中心"), "广东省": ("510-D07", "广州转运中心"),
    "北京市": ("100-E01", "北京集包中心"),
}
"""Fake sort code (大头笔) and package centre (集包地) by the recipient's province."""
ROUTING_OTHER = ("999-Z99", "全国中转集包")
"""Routing for provinces :data:`ROUTING` does not list."""


def routing_of(province: str) -> tuple[str, str]:
    """The fake's (sort code, package centre) for a recipient province."""
    return ROUTING.get(province, ROUTING_OTHER)


STANDARD_TEMPLATES: tuple[tuple[int, str, int], ...] = ((1, "76×130", 6), (2, "100×180", 1))
"""(id offset, size, ``standard_waybill_type``) of the fake's standard templates per
carrier: the 76×130 一联单 and the 100×180 二联单. The type values are the fake's own
(the spec lists the field, not its values)."""
TEMPLATE_ID_BASE = 10_000
"""A carrier's template ids are ``TEMPLATE_ID_BASE × carrier index + offset``."""


def standard_templates(codes: list[tuple[int, str]], url_base: str) -> list[dict[str, Any]]:
    """``datas[]``: per (index in the carrier list, carrier code), its standard templates
    (§1.7.8 field names); ids stay the same whether one carrier or all are asked."""
    return [{"wp_code": code, "standard_templates": [{
        "standard_template_id": TEMPLATE_ID_BASE * (i + 1) + off,
        "standard_template_name": f"{code} 标准模板 {size}",
        "standard_template_url": f"{url_base}{TEMPLATE_ID_BASE * (i + 1) + off}",
        "standard_waybill_type": kind,
    } for off, size, kind in STANDARD_TEMPLATES]} for i, code in codes]


class WaybillBook:
    """The fake's courier subscriptions and their balances (shared by both fakes)."""

    def __init__(self, subscriptions: list[FakeSubscription]) -> None:
        self.subscriptions = [s.model_copy(deep=True) for s in subscriptions]
        """Live subscriptions: balances move as waybills are issued."""

    def of(self, wp_code: str | None) -> list[FakeSubscription]:
        """Subscriptions, of one carrier when ``wp_code`` is given."""
        return [s for s in self.subscriptions if wp_code in (None, "", s.wp_code)]

    def _branch(self, wp_code: str, sender: Any) -> FakeBranchAccount | None:
        """The branch whose sender addresses hold ``sender``'s address (else the carrier's
        first branch); None when the carrier has no subscription."""
        branches = [b for s in self.of(wp_code) for b in s.branch_account_cols]
        if not branches:
            return None
        detail = ""
        if isinstance(sender, dict) and isinstance(sender.get("address"), dict):
            detail = str(sender["address"].get("detail", ""))
        return next((b for b in branches
                     if any(a.detail == detail for a in b.shipp_address_cols)), branches[0])

    def give_back(self, wp_code: str, sender: Any) -> None:
        """A cancelled waybill: its unit returns to the branch it came from and counts as
        cancelled (whether a cancelled number is returned to the balance at once is not
        published [unverified]; this fake returns it)."""
        branch = self._branch(wp_code, sender)
        if branch is not None:
            branch.quantity += 1
            branch.cancel_quantity += 1

    def short_of(self, wp_code: str, sender: Any, count: int) -> str | None:
        """The refusal when the branch :meth:`take` would use has fewer than ``count``
        numbers left (None when it has them, or when the carrier has no subscription)."""
        branch = self._branch(wp_code, sender)
        if branch is None or branch.quantity >= count:
            return None
        return f"{branch.branch_name} 面单余额不足"

    def take(self, wp_code: str, sender: Any) -> str | None:
        """Take one waybill from the branch whose sender addresses hold ``sender``'s
        address (else the carrier's first branch). Returns an error text when the carrier
        has subscriptions but the branch's balance is used up; None when taken or when
        the carrier has no subscription (the fake then issues without counting)."""
        branch = self._branch(wp_code, sender)
        if branch is None:
            return None
        if branch.quantity <= 0:
            return f"{branch.branch_name} 面单余额不足"
        branch.quantity -= 1
        branch.allocated_quantity += 1
        return None


class FakeSettings(BaseModel):
    """Settings shared by the fake platforms."""

    model_config = ConfigDict(extra="forbid")

    app_key: str = "demo_client_id"
    """App id (PDD ``client_id`` / TOP ``app_key``)."""
    app_secret: str = "demo_secret"  # noqa: S105 - fake credentials
    """App secret."""
    shop_id: str = "100200300"
    """The one shop the fake serves (PDD mall id / TOP user id)."""
    access_ttl: int = 86400
    """Access token lifetime in seconds (real lifetimes are unknown)."""
    refresh_ttl: int = 30 * 86400
    """Refresh token lifetime in seconds."""
    timestamp_tolerance: int = 600
    """Allowed clock skew of ``timestamp`` in seconds (±10 min)."""
    fault_rate: float = 0.0
    """Share of gateway calls answered with an injected fault."""
    fault_kinds: tuple[str, ...] = FAULT_KINDS
    """Which faults to inject (subset of ``FAULT_KINDS``)."""
    timeout_delay: float = 3.0
    """Seconds a ``timeout`` fault stalls before answering (longer than the client timeout)."""
    timeout_applies_effect: bool = True
    """After a ``timeout`` stall, still apply the call (a lost reply: a retried ship then
    sees "already shipped"); False answers a system error instead, without effect."""
    error_http_status: int = 200
    """HTTP status of error replies (unverified; 200)."""
    limits: dict[str, list[tuple[int, float, str]]] = Field(default_factory=dict)
    """Per API: (calls, period seconds, scope ``shop``/``app``/``api``)."""
    history_hours: float = 48.0
    """Hours of order history generated at start-up."""
    orders_per_hour: float = 40.0
    """Mean new orders per simulated hour."""
    outer_ids: list[str] = Field(default_factory=list)
    """商家编码 of the listings' SKUs in catalog order (see ``GeneratorSettings.outer_ids``)."""
    refund_after_ship_rate: float = 0.08
    """Chance a shipped order gets an after-sales refund later."""
    redelivery_seconds: float = 2.0
    """Push messages not ACKed/confirmed within this many seconds are delivered again."""
    max_order_age_days: int = 90
    """Incremental APIs return only orders created within this many days."""
    waybill_subscriptions: list[FakeSubscription] = Field(default_factory=_default_subscriptions)
    """Courier subscriptions (branches, balances, sender addresses) answered by
    ``pdd.waybill.search`` / ``cainiao.waybill.ii.search``; issuing a waybill of a
    subscribed carrier takes one from the branch of the request's sender."""


class FaultInjector:
    """Seeded fault picker."""

    def __init__(self, rate: float, kinds: tuple[str, ...], seed: int) -> None:
        self.rate = rate
        """Share of calls faulted."""
        self.kinds = tuple(k for k in kinds if k in FAULT_KINDS)
        """Enabled kinds."""
        self._rng = random.Random(seed ^ 0x5EED)
        self.injected: Counter[str] = Counter()
        """Ground truth: faults injected per kind."""

    def pick(self) -> str | None:
        """A fault kind for this call, or None."""
        if self.rate <= 0 or not self.kinds or self._rng.random() >= self.rate:
            return None
        kind = self._rng.choice(self.kinds)
        self.injected[kind] += 1
        return kind


MALFORMED_BODIES = (
    b"<html><body>502 Bad Gateway</body></html>",
    b'{"truncated": ',
    b"[]",
    b'{"unexpected_root": {}}',
    b"null",
)
"""Bodies used by the ``malformed`` fault."""


class SlidingLimiter:
    """Server-side sliding window: returns the scope that is over its limit, if any."""

    def __init__(self, limits: Mapping[str, list[tuple[int, float, str]]]) -> None:
        self.limits = {k: list(v) for k, v in limits.items()}
        """Per API: (calls, period, scope)."""
        self._calls: dict[tuple[str, str, float], deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, shop: str, app: str, api: str) -> str | None:
        """Record a call; the first exceeded scope or None (the call is not counted then)."""
        now = time.monotonic()
        with self._lock:
            keys = []
            for calls, period, scope in self.limits.get(api, []):
                owner = {"shop": shop, "app": app}.get(scope, "*")
                key = (f"{scope}:{owner}", api, period)
                window = self._calls.setdefault(key, deque())
                while window and window[0] <= now - period:
                    window.popleft()
                if len(window) >= calls:
                    return scope
                keys.append(key)
            for key in keys:
                self._calls[key].append(now)
            return None


@dataclass
class IssuedToken:
    """A token the fake issued."""

    access_token: str
    """Access token."""
    refresh_token: str
    """Refresh token."""
    shop_id: str
    """Owner."""
    expires_at: float
    """Simulated epoch seconds."""
    refresh_expires_at: float
    """Simulated epoch seconds."""
    revoked: bool = False
    """Revoked by a refresh or by the test."""


CODE_TTL_S = 600
"""Seconds an authorisation code stays valid (the platforms' codes are short-lived)."""
CONSENT_PATH = "/oauth/authorize"
"""Where a fake serves its consent page (the real ones: PDD's mms.pinduoduo.com/open.html,
oauth.taobao.com/authorize)."""


class TokenStore:
    """Tokens issued by a fake, checked against its simulated clock."""

    def __init__(self, clock: SimClock, access_ttl: int, refresh_ttl: int, seed: int) -> None:
        self._clock = clock
        self._access_ttl = access_ttl
        self._refresh_ttl = refresh_ttl
        self._rng = random.Random(seed ^ 0x70C3)
        self.by_access: dict[str, IssuedToken] = {}
        """Ground truth: every access token issued."""
        self.by_refresh: dict[str, IssuedToken] = {}
        """Every refresh token issued."""
        self.refreshes = 0
        """How many refreshes were served."""
        self.codes: dict[str, float] = {}
        """Authorisation codes the consent page issued, with their expiry (one use each)."""
        self.revoked_shops: set[str] = set()
        """Shops whose merchant cancelled the authorisation (until a new code is redeemed)."""

    def issue(self, shop_id: str) -> IssuedToken:
        """Issue a new token pair for ``shop_id``."""
        now = self._clock.now()
        token = IssuedToken(
            access_token=f"at{self._rng.getrandbits(96):024x}",
            refresh_token=f"rt{self._rng.getrandbits(96):024x}",
            shop_id=shop_id, expires_at=now + self._access_ttl,
            refresh_expires_at=now + self._refresh_ttl,
        )
        self.by_access[token.access_token] = token
        self.by_refresh[token.refresh_token] = token
        return token

    def check(self, access_token: str) -> str:
        """``ok``, ``unknown`` or ``expired``."""
        token = self.by_access.get(access_token)
        if token is None or token.revoked:
            return "unknown"
        return "expired" if token.expires_at <= self._clock.now() else "ok"

    def expire(self, access_token: str) -> None:
        """Make ``access_token`` expired now (test hook)."""
        self.by_access[access_token].expires_at = self._clock.now() - 1

    def grant_code(self) -> str:
        """The merchant approved the app on the consent page: a one-use code, valid for
        ``CODE_TTL_S`` (tests that skip the page call this as the merchant)."""
        code = f"code{self._rng.getrandbits(64):016x}"
        self.codes[code] = self._clock.now() + CODE_TTL_S
        return code

    def redeem(self, code: str) -> bool:
        """Use an issued code: True once, while it has not expired."""
        expires = self.codes.pop(code, None)
        return expires is not None and expires > self._clock.now()

    def issue_for_code(self, code: str, shop_id: str) -> IssuedToken | None:
        """Redeem ``code`` and issue ``shop_id`` a new token pair (the merchant approved
        again: a revocation ends); None if the code is unknown, used or expired."""
        if not self.redeem(code):
            return None
        self.revoked_shops.discard(shop_id)
        return self.issue(shop_id)

    def refresh(self, refresh_token: str) -> IssuedToken | None:
        """Exchange a refresh token; None if unknown, used, expired or revoked."""
        if self.refresh_problem(refresh_token) is not None:
            return None
        old = self.by_refresh[refresh_token]
        old.revoked = True
        self.refreshes += 1
        return self.issue(old.shop_id)

    def refresh_problem(self, refresh_token: str) -> str | None:
        """Why ``refresh_token`` cannot be exchanged: ``unknown`` (never issued, or already
        used), ``expired``, ``revoked`` (the merchant cancelled the authorisation), or None."""
        old = self.by_refresh.get(refresh_token)
        if old is None:
            return "unknown"
        if old.shop_id in self.revoked_shops:
            return "revoked"
        if old.revoked:
            return "unknown"
        return "expired" if old.refresh_expires_at <= self._clock.now() else None

    def revoke_shop(self, shop_id: str) -> None:
        """The merchant cancelled the app's authorisation (取消授权, test hook): every token
        of ``shop_id`` stops working until the merchant approves the app again."""
        self.revoked_shops.add(shop_id)
        for token in self.by_access.values():
            if token.shop_id == shop_id:
                token.revoked = True


async def read_params(request: Request) -> dict[str, str]:
    """Query string merged with a JSON, form-urlencoded or multipart body; values as strings."""
    params: dict[str, str] = dict(request.query_params)
    ctype = request.headers.get("content-type", "")
    if "application/json" in ctype:
        raw = await request.body()
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            data = {}
        if isinstance(data, dict):
            for key, value in data.items():
                if isinstance(value, bool):
                    params[key] = "true" if value else "false"
                elif isinstance(value, dict | list):
                    params[key] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
                elif value is not None:
                    params[key] = str(value)
    elif "form" in ctype:
        form = await request.form()
        for key, value in form.multi_items():
            if isinstance(value, str):
                params[key] = value
    return params


class FakeBase(abc.ABC):
    """State and ground truth shared by the platform fakes."""

    platform = ""

    def __init__(self, settings: FakeSettings, seed: int, clock: SimClock | None) -> None:
        self.settings = settings
        """Behaviour settings (§7 open questions included)."""
        self.seed = seed
        """Seed of the order stream and fault injector."""
        self.clock = clock or SimClock()
        """Simulated clock; ``advance()`` moves it and generates new activity."""
        self.lock = threading.RLock()
        """Guards the state (the server runs in another thread than the test)."""
        self.gen = OrderGenerator(self.platform, settings.shop_id, seed, GeneratorSettings(
            orders_per_hour=settings.orders_per_hour,
            refund_after_ship_rate=settings.refund_after_ship_rate,
            outer_ids=tuple(settings.outer_ids)))
        """The order stream and catalog (ground truth)."""
        self.tokens = TokenStore(self.clock, settings.access_ttl, settings.refresh_ttl, seed)
        """Issued tokens."""
        self.limiter = SlidingLimiter(settings.limits)
        """Server-side rate limits."""
        self.faults = FaultInjector(settings.fault_rate, settings.fault_kinds, seed)
        """Fault injector."""
        self.shipments: list[Shipment] = []
        """Ground truth: accepted shipping write-backs, in order."""
        self.stock_pushes: list[StockPush] = []
        """Ground truth: accepted stock updates, in order."""
        self.waybills: list[IssuedWaybill] = []
        """Ground truth: issued e-waybills."""
        self.waybill_book = WaybillBook(settings.waybill_subscriptions)
        """Courier subscriptions and their live balances."""
        self.calls: Counter[str] = Counter()
        """Gateway calls received per API (including rejected ones)."""
        self.rejections: list[tuple[str, str]] = []
        """(api, error code) of every error reply, injected faults included."""
        self._events_seen = 0
        now = int(self.clock.now())
        self.gen.populate(now - int(settings.history_hours * 3600), now,
                          carrier=self._history_carrier())
        self._events_seen = len(self.gen.events)  # history is not pushed

    def _history_carrier(self) -> str:
        return ""

    # ----------------------------------------------------------- test API

    def now(self) -> int:
        """Simulated epoch seconds."""
        return int(self.clock.now())

    def advance(self, seconds: float) -> None:
        """Move the simulated clock and generate the activity of that period."""
        with self.lock:
            self.clock.advance(seconds)
            self.gen.run_until(self.now())
            self._publish_events()

    def orders(self) -> list[Order]:
        """Every order (ground truth, live objects: read under ``lock`` if the server runs)."""
        with self.lock:
            return list(self.gen.orders.values())

    def order(self, order_id: str) -> Order:
        """One order by id."""
        with self.lock:
            return self.gen.orders[order_id]

    def issue_token(self) -> IssuedToken:
        """Issue a token for the shop (what an OAuth authorisation would give)."""
        with self.lock:
            return self.tokens.issue(self.settings.shop_id)

    def revoke_authorisation(self) -> None:
        """The merchant cancels the app's authorisation in the platform's backend: the
        shop's access and refresh tokens stop working until it approves the app again."""
        with self.lock:
            self.tokens.revoke_shop(self.settings.shop_id)

    def expire_token(self, access_token: str) -> None:
        """Expire an access token now."""
        with self.lock:
            self.tokens.expire(access_token)

    def stock(self, item_id: str, sku_id: str) -> int:
        """Current platform stock of a SKU."""
        with self.lock:
            sku = self.gen.sku_by(item_id, sku_id)
            if sku is None:
                raise KeyError((item_id, sku_id))
            return sku.quantity

    def _publish_events(self) -> None:
        events = self.gen.events[self._events_seen:]
        self._events_seen = len(self.gen.events)
        for event in events:
            self.publish(event)

    @abc.abstractmethod
    def publish(self, event: Any) -> None:
        """Turn a generator event into a push message (platform specific)."""

    async def stall(self) -> None:
        """The ``timeout`` fault: wait longer than a client should."""
        await asyncio.sleep(self.settings.timeout_delay)


# ------------------------------------------------------------------ runner

    # ------------------------------------------------------------- consent (授权页)

    def consent_routes(self) -> list[Route]:
        """The consent page at :data:`CONSENT_PATH`: GET shows the app asking for access,
        POST (同意授权) redirects to ``redirect_uri`` with a one-use ``code`` and the
        ``state`` it was given. A wrong ``client_id``, ``response_type`` or ``redirect_uri``
        gets an error page (400), never a redirect."""
        return [Route(CONSENT_PATH, self._consent, methods=["GET", "POST"])]

    async def _consent(self, request: Request) -> Response:
        params = await read_params(request)
        problem = self._consent_problem(params)
        if problem is not None:
            return HTMLResponse(_page("授权失败 / authorisation refused", f"<p>{problem}</p>"),
                                status_code=400)
        if request.method == "GET":
            hidden = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                for k, v in params.items() if k in CONSENT_FIELDS)
            return HTMLResponse(_page(
                "授权 / authorise",
                f"<p>应用 <b>{html.escape(params['client_id'])}</b> 请求访问店铺 "
                f"<b>{html.escape(self.settings.shop_id)}</b> 的订单、商品与物流。</p>"
                f'<form method="post">{hidden}<button id="approve">同意授权 / approve</button>'
                "</form>"))
        with self.lock:
            code = self.tokens.grant_code()
        query = urllib.parse.urlencode({"code": code, **(
            {"state": params["state"]} if params.get("state") else {})})
        uri = params["redirect_uri"]
        return RedirectResponse(f"{uri}{'&' if '?' in uri else '?'}{query}", status_code=302)

    def _consent_problem(self, params: Mapping[str, str]) -> str | None:
        if params.get("client_id") != self.settings.app_key:
            return "client_id 不存在 / unknown client_id"
        if params.get("response_type", "code") != "code":
            return "response_type 只能是 code / response_type must be code"
        uri = params.get("redirect_uri", "")
        if not uri.startswith(("http://", "https://")):
            return "redirect_uri 无效 / invalid redirect_uri"
        return None


CONSENT_FIELDS = ("response_type", "client_id", "redirect_uri", "state", "view")
"""Parameters the consent page carries from GET to its POST."""


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}'
            f"</title></head><body><h1>{title}</h1>{body}</body></html>")


class RunningFake:
    """A fake platform served by uvicorn on 127.0.0.1 in a background thread."""

    def __init__(self, fake: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        self.fake = fake
        """The ASGI fake (``FakePdd`` / ``FakeTop``) with its ground-truth API."""
        if port == 0:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind((host, 0))
                port = probe.getsockname()[1]
        self.host = host
        """Bound host."""
        self.port: int = port
        """Bound port (a free one when 0 was asked)."""
        # uvicorn binds itself: serving a pre-bound socket (``sockets=``) costs ~45 ms per
        # request on loopback in this setup.
        config = uvicorn.Config(fake, host=host, port=port, log_level="warning",
                                lifespan="off", ws="websockets-sansio",
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"fake-{fake.platform}",
                                        daemon=True)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:port``."""
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        asyncio.run(self._server.serve())

    def start(self, timeout: float = 10.0) -> RunningFake:
        """Start serving; returns once the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake platform did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop the server and join its thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> RunningFake:
        return self.start() if not self._thread.is_alive() else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def make_fake(platform: str, seed: int = 0, *, fault_rate: float = 0.0,
              clock: SimClock | None = None, **settings: Any) -> Any:
    """Build ``FakePdd`` (``pdd``) or ``FakeTop`` (``taobao``/``top``) with settings."""
    if platform == "pdd":
        from cloud.marketplaces.fake_pdd import FakePdd, PddFakeSettings

        return FakePdd(PddFakeSettings(fault_rate=fault_rate, **settings), seed=seed, clock=clock)
    if platform in ("taobao", "top"):
        from cloud.marketplaces.fake_top import FakeTop, TopFakeSettings

        return FakeTop(TopFakeSettings(fault_rate=fault_rate, **settings), seed=seed, clock=clock)
    raise ValueError(f"unknown platform {platform!r}")


def run_fake_platform(platform: str, port: int = 0, seed: int = 0, *,
                      fault_rate: float = 0.0, clock: SimClock | None = None,
                      **settings: Any) -> RunningFake:
    """Build a fake and start serving it on 127.0.0.1:``port`` (0 = free port).

    Returns the started :class:`RunningFake`; call ``stop()`` (or use ``with``).
    """
    fake = make_fake(platform, seed, fault_rate=fault_rate, clock=clock, **settings)
    return RunningFake(fake, port=port).start()
