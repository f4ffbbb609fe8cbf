"""Marketplace shops: registration, OAuth authorisation, encrypted tokens, platform clients.

A seller has several shops on PDD and Taobao. Each shop row (``shops`` + ``shop_config``)
keeps the app key, the app secret and both tokens encrypted with the cloud key
(:mod:`cloud.crypto`); they are never logged or shown. Authorisation follows the
platforms' OAuth code flow (docs/specs/marketplaces.md §1.6, §2.5)::

    url = authorize_url(shop, redirect_uri, state)   # the merchant opens it and approves
    token = await exchange_code(engine, sealer, shop_id, code)   # code from the redirect

:func:`open_client` builds the platform client of a shop with a
:class:`~cloud.marketplaces.http.TokenManager` that persists every refreshed token
(one refresh at a time per shop; across processes the worker's shop lease serialises).
"""

from __future__ import annotations

import math
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cloud import audit
from cloud.crypto import Sealer
from cloud.db import audit_log, shops, write_transaction
from cloud.db.schema_orders import shop_config, shop_warehouses
from cloud.errors import CloudError, ConfigError
from cloud.marketplaces import pdd, taobao
from cloud.marketplaces.base import MarketplaceClient, Token, as_dict, as_int, as_str
from cloud.marketplaces.errors import AuthorizationRefused, MarketplaceError, platform_reason
from cloud.marketplaces.http import RateLimiter, RetryPolicy, TokenManager, loads

PLATFORM_NAMES = {"pdd": "拼多多", "taobao": "淘宝"}
"""Platforms a shop can be on (JD comes later)."""

GATEWAY_PATHS = {"pdd": "/api/router", "taobao": "/router/rest"}
"""Gateway path appended when ``--gateway`` is given as a bare ``http://host:port``."""

PRODUCTION_GATEWAYS = {"pdd": pdd.GATEWAY_URL, "taobao": taobao.GATEWAY_URL}
"""The real gateways (default when no gateway is given)."""


class ShopError(CloudError):
    """A shop is unknown, not authorised, or its authorisation failed."""


REVOKED = "revoked"
"""``shop_config.status`` of a shop whose refresh the platform refused (the merchant
cancelled the authorisation, or the refresh token was used elsewhere): authorise again."""

EXPIRING_WARN_DAYS = 7
"""An authorisation ending within this many days is shown as expiring (重新授权 soon)."""

SECONDS_PER_DAY = 86400
"""Seconds in a day (days left are rounded up)."""


@dataclass(frozen=True)
class AuthState:
    """A shop's authorisation as the manager sees it."""

    kind: str
    """``none`` (never authorised), ``active``, ``expiring`` (ends within the warning
    window), ``expired`` or ``revoked``."""
    until: datetime | None
    """When it ends: the refresh token's expiry when there is one (access tokens are
    refreshed before that), else the access token's."""
    days_left: int = 0
    """Whole days left, rounded up (``expiring`` and ``active`` only)."""


def authorisation_state(status: str, token_expires_at: datetime | None,
                        refresh_expires_at: datetime | None, now: datetime, *,
                        warn_days: int = EXPIRING_WARN_DAYS) -> AuthState:
    """Classify a shop's authorisation at ``now`` from its status and token expiries."""
    until = refresh_expires_at or token_expires_at
    if status == REVOKED:
        return AuthState("revoked", until)
    if status == "new" or until is None:
        return AuthState("none", until)
    if status == "reauth" or until <= now:
        return AuthState("expired", until)
    days = math.ceil((until - now).total_seconds() / SECONDS_PER_DAY)
    return AuthState("expiring" if until - now <= timedelta(days=warn_days) else "active",
                     until, days)


@dataclass(frozen=True)
class Shop:
    """A shop as the sync code needs it (secrets decrypted in memory only)."""

    id: str
    """Packline shop id (e.g. ``pdd1``)."""
    platform: str
    """``pdd`` or ``taobao``."""
    name: str
    """Display name."""
    app_key: str
    """App id (PDD ``client_id`` / TOP ``app_key``)."""
    app_secret: str
    """App secret (decrypted)."""
    gateway_url: str
    """Gateway URL."""
    seller_id: str
    """Platform shop/mall id from the token (empty before authorisation)."""
    status: str
    """``new``, ``active`` or ``reauth``."""
    default_warehouse_id: str | None
    """Preferred warehouse for allocation."""
    carrier_code: str
    """E-waybill carrier code (``wp_code`` / ``cp_code``), e.g. ``ZTO``."""
    logistics_id: str
    """Carrier as the shipping API wants it (PDD ``logistics_id``, TOP company code)."""
    sender: dict[str, str]
    """Sender name/mobile/address for waybills (decrypted)."""
    token: Token | None
    """Current token (decrypted) or None."""

    def __repr__(self) -> str:
        return f"Shop(id={self.id!r}, platform={self.platform!r}, name={self.name!r})"

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` of the gateway."""
        parts = urllib.parse.urlsplit(self.gateway_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def is_production(self) -> bool:
        """True when the shop talks to the real platform gateway."""
        return self.gateway_url == PRODUCTION_GATEWAYS[self.platform]

    def oauth_url(self) -> str:
        """Token endpoint (code exchange and refresh)."""
        if self.is_production:
            return pdd.OAUTH_URL if self.platform == "pdd" else taobao.OAUTH_URL
        return self.origin + ("/oauth/token" if self.platform == "pdd" else "/token")

    def message_url(self) -> str:
        """PDD PMC WebSocket base."""
        if self.is_production:
            return pdd.MESSAGE_URL
        return self.origin.replace("http://", "ws://").replace("https://", "wss://")


DEFAULT_SENDER = {"name": "仓库发货", "mobile": "13800000000", "province": "浙江省",
                  "city": "杭州市", "district": "余杭区", "detail": "仓前街道1号"}
"""Sender used for waybills until one is configured."""


def normalize_gateway(platform: str, gateway: str | None) -> str:
    """The full gateway URL; a bare ``http://host:port`` gets the platform's path."""
    if not gateway:
        return PRODUCTION_GATEWAYS[platform]
    parts = urllib.parse.urlsplit(gateway.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"网关地址无效 / bad gateway URL: {gateway}")
    if parts.path in ("", "/"):
        return f"{parts.scheme}://{parts.netloc}{GATEWAY_PATHS[platform]}"
    return gateway.strip()


def add_shop(
    conn: Connection, sealer: Sealer, *, platform: str, name: str, app_key: str, app_secret: str,
    gateway_url: str | None = None, default_warehouse_id: str | None = None,
    warehouses: tuple[str, ...] = (), carrier_code: str = "ZTO", logistics_id: str = "115",
    sender: dict[str, str] | None = None, shop_id: str | None = None,
    now: datetime | None = None,
) -> str:
    """Register a shop (not yet authorised); returns its id (``pdd1``, ``taobao2``, ...)."""
    if platform not in PLATFORM_NAMES:
        raise ConfigError(f"不支持的平台 / unsupported platform: {platform}")
    if not name.strip() or not app_key.strip() or not app_secret.strip():
        raise ConfigError("店铺名、app key、app secret 不能为空 / name, app key and secret are required")
    now = now or datetime.now(UTC)
    if shop_id is None:
        taken = set(conn.execute(sa.select(shops.c.id)).scalars())
        n = 1
        while f"{platform}{n}" in taken:
            n += 1
        shop_id = f"{platform}{n}"
    elif conn.execute(sa.select(shops.c.id).where(shops.c.id == shop_id)).first():
        raise ConfigError(f"店铺已存在 / shop exists: {shop_id}")
    if conn.execute(sa.select(shops.c.id).where(shops.c.name == name.strip(),
                                                shops.c.platform == platform)).first():
        raise ConfigError(f"同名店铺已存在 / a {platform} shop named {name} exists")
    conn.execute(sa.insert(shops).values(
        id=shop_id, platform=platform, name=name.strip(), app_key=app_key.strip(),
        created_at=now))
    conn.execute(sa.insert(shop_config).values(
        shop_id=shop_id, app_secret_enc=sealer.seal(app_secret.strip()),
        gateway_url=normalize_gateway(platform, gateway_url),
        default_warehouse_id=default_warehouse_id, carrier_code=carrier_code,
        logistics_id=logistics_id, sender_sealed=sealer.seal_json(sender or DEFAULT_SENDER),
        status="new"))
    for wh in warehouses:
        conn.execute(sa.insert(shop_warehouses).values(shop_id=shop_id, warehouse_id=wh))
    return shop_id


def resolve_shop_id(conn: Connection, ref: str) -> str:
    """A shop id from an id or a unique name."""
    row = conn.execute(sa.select(shops.c.id).where(shops.c.id == ref)).first()
    if row:
        return str(row[0])
    rows = conn.execute(sa.select(shops.c.id).where(shops.c.name == ref)).all()
    if len(rows) == 1:
        return str(rows[0][0])
    if rows:
        raise ShopError(f"多个店铺叫 {ref}, 请用编号 / several shops are named {ref}: use the id")
    raise ShopError(f"没有这个店铺 / no such shop: {ref}")


def load_shop(conn: Connection, sealer: Sealer, shop_id: str) -> Shop:
    """Read a shop and decrypt its secrets (in memory only)."""
    row = conn.execute(
        sa.select(shops, shop_config).join(shop_config, shop_config.c.shop_id == shops.c.id)
        .where(shops.c.id == shop_id)).mappings().first()
    if row is None:
        raise ShopError(f"没有这个店铺 / no such shop: {shop_id}")
    token = None
    if row["access_token_enc"]:
        token = Token(
            access_token=sealer.unseal(row["access_token_enc"]),
            refresh_token=sealer.unseal(row["refresh_token_enc"]) if row["refresh_token_enc"] else "",
            expires_at=row["token_expires_at"].timestamp() if row["token_expires_at"] else 0.0,
            refresh_expires_at=(row["refresh_expires_at"].timestamp()
                                if row["refresh_expires_at"] else 0.0),
            owner_id=row["seller_id"] or "",
        )
    return Shop(
        id=row["id"], platform=row["platform"], name=row["name"], app_key=row["app_key"] or "",
        app_secret=sealer.unseal(row["app_secret_enc"]), gateway_url=row["gateway_url"],
        seller_id=row["seller_id"] or "", status=row["status"],
        default_warehouse_id=row["default_warehouse_id"], carrier_code=row["carrier_code"],
        logistics_id=row["logistics_id"],
        sender=(sealer.unseal_json(row["sender_sealed"]) if row["sender_sealed"]
                else dict(DEFAULT_SENDER)),
        token=token,
    )


def list_shops(conn: Connection) -> list[dict[str, Any]]:
    """Shops for listing: id, platform, name, seller id, status, token expiry (no secrets)."""
    rows = conn.execute(
        sa.select(shops.c.id, shops.c.platform, shops.c.name, shops.c.seller_id,
                  shops.c.token_expires_at, shop_config.c.status, shop_config.c.gateway_url)
        .join(shop_config, shop_config.c.shop_id == shops.c.id).order_by(shops.c.id))
    return [dict(r) for r in rows.mappings()]


@dataclass(frozen=True)
class ShopAuthRow:
    """One shop on the shops page: who it is and how its authorisation stands."""

    id: str
    """Packline shop id."""
    platform: str
    """``pdd`` or ``taobao``."""
    name: str
    """Display name."""
    seller_id: str
    """Platform shop id from the token (empty before authorisation)."""
    configured: bool
    """Whether the shop has its app settings (only such a shop can be authorised)."""
    authorized_at: datetime | None
    """When it was last authorised."""
    state: AuthState
    """Its authorisation at the page's time."""
    reason: str
    """The platform's code and message when it refused the refresh (``revoked``)."""
    fee_bp: int | None = None
    """The platform's commission in basis points (None: not set; the profit report)."""


def shop_auth_rows(conn: Connection, now: datetime, *,
                   warn_days: int = EXPIRING_WARN_DAYS) -> list[ShopAuthRow]:
    """Every shop with its authorisation state at ``now`` (no secrets)."""
    rows = conn.execute(
        sa.select(shops.c.id, shops.c.platform, shops.c.name, shops.c.seller_id,
                  shops.c.token_expires_at, shops.c.refresh_expires_at, shop_config.c.status,
                  shop_config.c.authorized_at, shop_config.c.shop_id.label("configured"),
                  shops.c.fee_bp)
        .select_from(shops.outerjoin(shop_config, shop_config.c.shop_id == shops.c.id))
        .order_by(shops.c.id)).mappings().all()
    out = []
    for r in rows:
        status = r["status"] or "new"
        reason = ""
        if status == REVOKED:
            detail = conn.execute(
                sa.select(audit_log.c.detail).where(audit_log.c.action == "shop.revoked",
                                                    audit_log.c.subject == r["id"])
                .order_by(audit_log.c.id.desc()).limit(1)).scalar()
            reason = str((detail or {}).get("reason", ""))
        out.append(ShopAuthRow(
            id=r["id"], platform=r["platform"], name=r["name"], seller_id=r["seller_id"] or "",
            configured=r["configured"] is not None, authorized_at=r["authorized_at"],
            state=authorisation_state(status, r["token_expires_at"], r["refresh_expires_at"],
                                      now, warn_days=warn_days),
            reason=reason, fee_bp=r["fee_bp"]))
    return out


def active_shop_ids(conn: Connection) -> list[str]:
    """Shops with a usable authorisation."""
    return [str(r[0]) for r in conn.execute(
        sa.select(shop_config.c.shop_id).where(shop_config.c.status == "active")
        .order_by(shop_config.c.shop_id))]


def store_token(conn: Connection, sealer: Sealer, shop_id: str, token: Token,
                *, now: datetime) -> None:
    """Persist ``token`` encrypted and mark the shop active."""
    values: dict[str, Any] = {
        "access_token_enc": sealer.seal(token.access_token),
        "refresh_token_enc": sealer.seal(token.refresh_token) if token.refresh_token else None,
        "token_expires_at": (datetime.fromtimestamp(token.expires_at, UTC)
                             if token.expires_at else None),
        "refresh_expires_at": (datetime.fromtimestamp(token.refresh_expires_at, UTC)
                               if token.refresh_expires_at else None),
    }
    if token.owner_id:
        values["seller_id"] = token.owner_id
    conn.execute(sa.update(shops).where(shops.c.id == shop_id).values(**values))
    conn.execute(sa.update(shop_config).where(shop_config.c.shop_id == shop_id).values(
        status="active", authorized_at=now))


def mark_revoked(conn: Connection, shop_id: str, reason: str, *, actor: str,
                 now: datetime) -> None:
    """The platform refused the shop's refresh token: status ``revoked`` and an audit entry
    with the platform's code and message (shown on the shops page)."""
    conn.execute(sa.update(shop_config).where(shop_config.c.shop_id == shop_id)
                 .values(status=REVOKED))
    audit.record(conn, now, actor, "shop.revoked", shop_id, {"reason": reason})


def mark_reauth(engine: Engine, shop_id: str) -> None:
    """The shop's tokens are dead: it must be authorised again."""
    with write_transaction(engine) as conn:
        conn.execute(sa.update(shop_config).where(shop_config.c.shop_id == shop_id)
                     .values(status="reauth"))


def authorize_url(shop: Shop, redirect_uri: str, state: str) -> str:
    """The page where the merchant approves the app (PDD merchant backend / Taobao OAuth)."""
    query = urllib.parse.urlencode({"response_type": "code", "client_id": shop.app_key,
                                    "redirect_uri": redirect_uri, "state": state,
                                    **({"view": "web"} if shop.platform == "taobao" else {})})
    if shop.is_production:
        base = ("https://mms.pinduoduo.com/open.html" if shop.platform == "pdd"
                else "https://oauth.taobao.com/authorize")
    else:
        base = shop.origin + "/oauth/authorize"
    return f"{base}?{query}"


async def exchange_code(
    engine: Engine, sealer: Sealer, shop_id: str, code: str, *, redirect_uri: str = "",
    http: httpx.AsyncClient | None = None, clock: Callable[[], float] = time.time,
    actor: str | None = None,
) -> Token:
    """Exchange an authorisation ``code`` for tokens and store them encrypted (PDD through
    ``pdd.pop.auth.token.create``, Taobao through its OAuth token endpoint); with ``actor``,
    an audit entry ``shop.authorized`` is written in the same transaction."""
    with engine.connect() as conn:
        shop = load_shop(conn, sealer, shop_id)
    own = http is None
    client = http or httpx.AsyncClient(timeout=15.0)
    if shop.platform == "pdd":
        try:
            token = await pdd.exchange_code(
                pdd.PddConfig(client_id=shop.app_key, client_secret=shop.app_secret,
                              gateway_url=shop.gateway_url, oauth_url=shop.oauth_url()),
                client, code, redirect_uri, clock=clock)
        except MarketplaceError as err:
            raise ShopError(f"授权失败 / authorisation refused: {platform_reason(err)}") from err
        finally:
            if own:
                await client.aclose()
        _stored(engine, sealer, shop_id, token, now=datetime.fromtimestamp(clock(), UTC),
                actor=actor)
        return token
    try:
        response = await client.post(shop.oauth_url(), data={
            "grant_type": "authorization_code", "code": code, "client_id": shop.app_key,
            "client_secret": shop.app_secret, "redirect_uri": redirect_uri, "view": "web"})
    except httpx.HTTPError as err:
        raise ShopError(f"无法连接平台 / cannot reach the platform: {type(err).__name__}") from err
    finally:
        if own:
            await client.aclose()
    try:
        data = as_dict(loads(response.content), field_name="token")
    except MarketplaceError as err:
        raise ShopError(f"平台回复无法识别 / unreadable platform reply (HTTP {response.status_code})") from err
    if "access_token" not in data:
        err_obj = data.get("error_response") or data
        detail = (err_obj.get("error_msg") or err_obj.get("error_description")
                  or err_obj.get("msg") or "?") if isinstance(err_obj, dict) else "?"
        raise ShopError(f"授权失败 / authorisation refused: {detail}")
    now = clock()
    expires_in = as_int(data.get("expires_in"), field_name="expires_in", default=0)
    re_in = as_int(data.get("refresh_token_expires_in", data.get("re_expires_in")),
                   field_name="refresh_expires_in", default=0)
    token = Token(
        access_token=as_str(data.get("access_token")),
        refresh_token=as_str(data.get("refresh_token")),
        expires_at=float(as_int(data.get("expires_at"), field_name="expires_at",
                                default=int(now) + expires_in)),
        refresh_expires_at=float(as_int(data.get("refresh_token_expires_at"),
                                        field_name="refresh_token_expires_at",
                                        default=int(now) + re_in if re_in else 0)),
        owner_id=as_str(data.get("owner_id", data.get("taobao_user_id"))),
    )
    _stored(engine, sealer, shop_id, token, now=datetime.fromtimestamp(now, UTC), actor=actor)
    return token


def _stored(engine: Engine, sealer: Sealer, shop_id: str, token: Token, *, now: datetime,
            actor: str | None) -> None:
    with write_transaction(engine) as conn:
        store_token(conn, sealer, shop_id, token, now=now)
        if actor is not None:
            audit.record(conn, now, actor, "shop.authorized", shop_id,
                         {"seller_id": token.owner_id,
                          "until": datetime.fromtimestamp(
                              token.refresh_expires_at or token.expires_at, UTC).isoformat()})


@dataclass
class ShopClient:
    """A shop, its platform client and its token manager."""

    shop: Shop
    """The shop."""
    client: MarketplaceClient
    """The platform client (``PddClient`` / ``TaobaoClient``)."""
    tokens: TokenManager
    """Token manager (persists refreshed tokens)."""
    writer: MarketplaceClient | None = None
    """A client for calls that are not idempotent on the platform (shipping write-back):
    same shop and tokens, but a timed-out call is not re-sent blindly — the caller checks
    the platform first. None: use ``client``."""
    nick_key: Callable[[str], str] | None = None
    """Keyed search digest of a buyer nickname (``Sealer.search_key``); None: nicknames are
    stored masked only, not searchable."""


def open_client(
    engine: Engine, sealer: Sealer, shop_id: str, *, http: httpx.AsyncClient,
    clock: Callable[[], float] = time.time, limiter: RateLimiter | None = None,
    retry: RetryPolicy | None = None,
) -> ShopClient:
    """The platform client of an authorised shop; refreshed tokens are stored encrypted."""
    with engine.connect() as conn:
        shop = load_shop(conn, sealer, shop_id)
    if shop.token is None:
        raise ShopError(f"店铺 {shop.id} 未授权, 请运行 shop authorize / shop {shop.id} is not "
                        "authorised: run shop authorize")

    async def persist(_shop: str, token: Token) -> None:
        with write_transaction(engine) as conn:
            store_token(conn, sealer, shop_id, token, now=datetime.fromtimestamp(clock(), UTC))

    client: MarketplaceClient
    if shop.platform == "pdd":
        cfg = pdd.PddConfig(client_id=shop.app_key, client_secret=shop.app_secret,
                            gateway_url=shop.gateway_url, oauth_url=shop.oauth_url(),
                            message_url=shop.message_url())
        tokens = TokenManager(pdd.PddClient.token_refresher(cfg, http, clock=clock),
                              on_refresh=persist, clock=clock)
        tokens.set(shop_id, shop.token)
        client = pdd.PddClient(cfg, shop_id, tokens, http=http, limiter=limiter, retry=retry,
                               clock=clock)
        writer: MarketplaceClient = pdd.PddClient(cfg, shop_id, tokens, http=http,
                                                  limiter=limiter, retry=_no_resend(retry),
                                                  clock=clock)
    else:
        tcfg = taobao.TopConfig(app_key=shop.app_key, app_secret=shop.app_secret,
                                gateway_url=shop.gateway_url, oauth_url=shop.oauth_url())
        tokens = TokenManager(taobao.TaobaoClient.token_refresher(tcfg, http, clock=clock),
                              on_refresh=persist, clock=clock)
        tokens.set(shop_id, shop.token)
        client = taobao.TaobaoClient(tcfg, shop_id, tokens, http=http, limiter=limiter,
                                     retry=retry, clock=clock)
        writer = taobao.TaobaoClient(tcfg, shop_id, tokens, http=http, limiter=limiter,
                                     retry=_no_resend(retry), clock=clock)
    return ShopClient(shop=shop, client=client, tokens=tokens, writer=writer,
                      nick_key=sealer.search_key)


def _no_resend(retry: RetryPolicy | None) -> RetryPolicy:
    """``retry`` without re-sending after a transient failure (a timeout may have arrived);
    rate-limited calls are still retried (the platform refused them unprocessed)."""
    base = retry or RetryPolicy()
    return RetryPolicy(rate_limited_attempts=base.rate_limited_attempts, transient_attempts=1,
                       base_delay=base.base_delay, max_delay=base.max_delay, sleep=base.sleep,
                       rng=base.rng)


REFRESH_MARGIN_SECONDS = 300.0
"""Refresh an access token this long before it expires: a call signed just before the
expiry may reach the platform just after it (slow network, clock skew within the
platform's ±10 min tolerance is on timestamps, not tokens)."""


async def refresh_if_due(sc: ShopClient, *, now: float,
                         margin: float = REFRESH_MARGIN_SECONDS) -> bool:
    """Refresh the access token when it expires within ``margin`` seconds; True if refreshed."""
    current = sc.tokens.current(sc.shop.id)
    if not current.expires_at or current.expires_at - margin > now or not current.refresh_token:
        return False
    await sc.tokens.refresh(sc.shop.id, current)
    return True


async def check_authorisation(engine: Engine, sealer: Sealer, shop_id: str, *,
                              http: httpx.AsyncClient, actor: str, now: datetime,
                              clock: Callable[[], float] = time.time) -> str:
    """Ask the platform whether the shop's authorisation still holds by refreshing its
    token now (the new pair is stored). A refusal marks the shop ``revoked`` with the
    platform's code and message; returns ``ok`` or that reason. Other failures (network,
    throttling) raise, and change nothing."""
    sc = open_client(engine, sealer, shop_id, http=http, clock=clock)
    current = sc.tokens.current(shop_id)
    try:
        await sc.tokens.refresh(shop_id, current)
    except AuthorizationRefused as err:
        reason = platform_reason(err)
        with write_transaction(engine) as conn:
            mark_revoked(conn, shop_id, reason, actor=actor, now=now)
        return reason
    return "ok"
