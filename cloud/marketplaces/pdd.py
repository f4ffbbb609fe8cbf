"""Pinduoduo (拼多多开放平台, POP) client: signing, envelope, errors, calls, PMC push.

Spec: docs/specs/marketplaces.md §1. Requests are form-urlencoded POSTs to the
gateway with every value a string; :class:`PddAuth` adds the system parameters and
the MD5 signature (§1.3). Replies are unwrapped by per-API root keys (§1.4/§1.7).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import urllib.parse
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

from cloud.marketplaces.base import (
    Address,
    BranchAccount,
    DecryptItem,
    Listing,
    LogisticsCompany,
    MarketplaceClient,
    OrderLine,
    OrderPage,
    OrderStatus,
    PlatformOrder,
    Receiver,
    RefundEvent,
    StandardTemplate,
    StockUpdate,
    Token,
    Waybill,
    WaybillRequest,
    as_dict,
    as_id,
    as_int,
    as_list,
    as_str,
    parse_branch_accounts,
    parse_standard_templates,
    parse_time,
    read_window,
    yuan_to_fen,
)
from cloud.marketplaces.errors import (
    AuthorizationRefused,
    BusinessError,
    MalformedResponse,
    MarketplaceError,
    RateLimited,
    TokenExpired,
    TransientError,
)
from cloud.marketplaces.http import (
    TOKEN_TIMEOUT,
    GatewayClient,
    Limit,
    RateLimiter,
    RetryPolicy,
    TokenManager,
    loads,
    refresher,
    transport_error,
)

PLATFORM = "pdd"
GATEWAY_URL = "https://gw-api.pinduoduo.com/api/router"
"""Production open-platform gateway."""
OAUTH_URL = "https://open-api.pinduoduo.com/oauth/token"
"""OAuth token endpoint (code exchange and refresh)."""
MESSAGE_URL = "wss://message-api.pinduoduo.com"
"""PMC WebSocket base."""
MAX_WINDOW_SECONDS = 1800
"""Incremental order/refund queries span at most 30 minutes."""
MAX_PAGE_SIZE = 100
DECRYPT_BATCH = 100
"""At most 100 items per ``pdd.open.decrypt.batch`` call."""

ROOTS: dict[str, str] = {
    "pdd.order.number.list.increment.get": "order_sn_increment_get_response",
    "pdd.order.information.get": "order_info_get_response",
    "pdd.order.status.get": "order_status_get_response",
    "pdd.open.decrypt.batch": "open_decrypt_batch_response",
    "pdd.logistics.companies.get": "logistics_companies_get_response",
    "pdd.logistics.online.send": "logistics_online_send_response",
    "pdd.order.note.update": "response",
    "pdd.waybill.get": "pdd_waybill_get_response",
    "pdd.waybill.search": "pdd_waybill_search_response",
    "pdd.cloudprint.stdtemplates.get": "pdd_cloudprint_stdtemplates_get_response",
    "pdd.goods.quantity.update": "goods_quantity_update_response",
    "pdd.refund.list.increment.get": "refund_increment_get_response",
    "pdd.time.get": "time_get_response",
    "pdd.goods.list.get": "goods_list_get_response",
    "pdd.goods.sku.list.get": "goods_sku_list_get_response",
    "pdd.goods.skus.get": "goods_sku_get_response",
    "pdd.pop.auth.token.create": "pop_auth_token_create_response",
    "pdd.pop.auth.token.refresh": "pop_auth_token_refresh_response",
}
"""Success root key per API (not derivable from the name, §1.4)."""

LIMITS: dict[str, list[Limit]] = {
    "pdd.order.number.list.increment.get": [Limit(3000, 60, "shop")],
    "pdd.order.information.get": [Limit(30000, 60, "shop"), Limit(2000, 1, "api")],
    "pdd.order.status.get": [Limit(3000, 60, "shop")],
    "pdd.refund.list.increment.get": [
        Limit(100, 10, "shop"), Limit(5500, 1, "api"), Limit(500, 1, "app")],
    "pdd.logistics.online.send": [Limit(5000, 1, "api")],
    "pdd.logistics.companies.get": [Limit(1200, 10, "api")],
    "pdd.goods.quantity.update": [Limit(4200, 1, "api")],
    "pdd.goods.list.get": [Limit(600, 60, "shop")],
    "pdd.waybill.get": [Limit(12000, 1, "api")],
    "pdd.open.decrypt.batch": [Limit(1, 10, "app")],
}
"""Published limits (§1.5); decrypt uses the outside-多多云 limit of 1 call / 10 s."""

RATE_LIMIT_CODES = frozenset({52101, 52102, 52103, 70031})
"""Always retried with backoff."""
TRANSIENT_CODES = frozenset({50000, 50002, 52001, 52002})
"""Retried at most a couple of times."""
TOKEN_EXPIRED_CODE = 10019

REFUND_STATUSES: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 31, 32, 33)
"""after_sales_status values polled by :meth:`PddClient.refunds_in_window` (no "all" value)."""
REFUND_SUCCESS = 10
AFTER_SALES_RETURN = 2
"""``after_sales_type`` 退货退款 in the ``pdd.refund.*`` responses (1 仅退款, 3 换货)."""
AFTER_SALES_EXCHANGE = 3
"""``after_sales_type`` 换货 in the ``pdd.refund.*`` responses."""


def wire_value(value: Any) -> str:
    """Serialise a parameter value as the SDKs do: bools lower-case, objects compact JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def pdd_sign(params: Mapping[str, str], secret: str) -> str:
    """``UPPER(MD5(secret + Σ sorted(k+v) + secret))`` over every param except ``sign``."""
    joined = "".join(k + params[k] for k in sorted(params) if k != "sign")
    return hashlib.md5((secret + joined + secret).encode(), usedforsecurity=False).hexdigest().upper()


def pmc_sign(client_id: str, timestamp_ms: int, secret: str) -> str:
    """PMC connect sign: base64 of the lower-case hex MD5 of ``client_id+ts+secret``."""
    hexdigest = hashlib.md5(f"{client_id}{timestamp_ms}{secret}".encode(), usedforsecurity=False).hexdigest()
    return base64.b64encode(hexdigest.encode()).decode()


def pmc_path(client_id: str, timestamp_ms: int, secret: str) -> str:
    """``/message/{client_id}/{timestamp_ms}/{urlencoded sign}``."""
    sign = urllib.parse.quote(pmc_sign(client_id, timestamp_ms, secret), safe="")
    return f"/message/{client_id}/{timestamp_ms}/{sign}"


class PddAuth(httpx.Auth):
    """Adds ``client_id``, ``timestamp``, ``data_type``, ``version`` and ``sign`` to a form POST.

    The request must carry a form-urlencoded body of business params (+ ``type`` and
    ``access_token``). Empty values are dropped before signing (client rule §1.3).
    """

    def __init__(
        self, client_id: str, client_secret: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.client_id = client_id
        """POP app id."""
        self._secret = client_secret
        self._clock = clock

    def sign_params(self, params: Mapping[str, str]) -> dict[str, str]:
        """System params added, empties dropped, ``sign`` computed."""
        out = {k: v for k, v in params.items() if v != "" and k != "sign"}
        out.setdefault("client_id", self.client_id)
        out.setdefault("timestamp", str(int(self._clock())))
        out.setdefault("data_type", "JSON")
        out.setdefault("version", "V1")
        out["sign"] = pdd_sign(out, self._secret)
        return out

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Re-encode the form body with the signed parameter set."""
        body = request.content.decode()
        params = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
        signed = self.sign_params(params)
        headers = {
            k: v for k, v in request.headers.items()
            if k.lower() not in ("content-length", "content-type")
        }
        # keep the extensions: they carry the client's timeouts
        yield httpx.Request(request.method, request.url, headers=headers, data=signed,
                            extensions=request.extensions)


PDD_TAG_NAMES: dict[int, str] = {1: "红色", 2: "黄色", 3: "绿色", 4: "蓝色", 5: "紫色"}
"""``remark_tag`` 1–5 and the ``tag_name`` sent with it (at most 3 characters)."""


def unwrap(api: str, payload: Any) -> Any:
    """Return the body under the API's root key, raising our errors for ``error_response``."""
    body = as_dict(payload, field_name="response")
    if "error_response" in body:
        raise error_from(api, as_dict(body["error_response"], field_name="error_response"))
    root = ROOTS.get(api)
    if root is None:
        roots = [k for k in body if k.endswith("_response")]
        if len(roots) != 1:
            raise MalformedResponse(f"{api}: 无法确定响应根节点", platform=PLATFORM, api=api)
        root = roots[0]
    if root not in body:
        raise MalformedResponse(f"{api}: 缺少响应根节点 {root}", platform=PLATFORM, api=api)
    return body[root]


def error_from(api: str, err: Mapping[str, Any]) -> MarketplaceError:
    """Translate a PDD ``error_response`` into the error tree (§1.4, §5.6)."""
    code = as_int(err.get("error_code"), field_name="error_code")
    msg = str(err.get("error_msg") or "")
    sub_msg = str(err.get("sub_msg") or "")
    sub_code = str(err.get("sub_code") or "")
    if code == TOKEN_EXPIRED_CODE:
        return TokenExpired(f"{api}: access_token 已过期", platform=PLATFORM, api=api)
    if code in RATE_LIMIT_CODES:
        return RateLimited(f"{api}: 被限流 ({code})", retry_after=1.0, platform=PLATFORM, api=api)
    if code in TRANSIENT_CODES:
        return TransientError(f"{api}: 平台暂时错误 {code} {msg}", code=str(code),
                              platform=PLATFORM, api=api)
    return BusinessError(str(code), msg, sub_code=sub_code, sub_msg=sub_msg,
                         platform=PLATFORM, api=api)


def _status(order: Mapping[str, Any]) -> OrderStatus:
    confirm = as_int(order.get("confirm_status"), field_name="confirm_status", default=1)
    state = as_int(order.get("order_status"), field_name="order_status", default=0)
    refund = as_int(order.get("refund_status"), field_name="refund_status", default=1)
    if confirm == 2:
        return OrderStatus.CLOSED
    if confirm == 0:
        return OrderStatus.PENDING_PAYMENT
    if state == 1:
        return OrderStatus.CLOSED if refund == 4 else OrderStatus.AWAITING_SHIPMENT
    return {2: OrderStatus.SHIPPED, 3: OrderStatus.DELIVERED}.get(state, OrderStatus.UNKNOWN)


def _line(item: Any, *, gift: bool) -> OrderLine:
    d = as_dict(item, field_name="item")
    return OrderLine(
        sku_id=as_id(d.get("sku_id"), field_name="sku_id"),
        outer_id=as_str(d.get("outer_id"), field_name="outer_id"),
        qty=as_int(d.get("goods_count"), field_name="goods_count"),
        price_fen=yuan_to_fen(d.get("goods_price", 0), field_name="goods_price"),
        title=as_str(d.get("goods_name"), field_name="goods_name"),
        item_id=as_id(d.get("goods_id"), field_name="goods_id"),
        spec=as_str(d.get("goods_spec"), field_name="goods_spec"),
        is_gift=gift,
    )


def parse_order(payload: Any) -> PlatformOrder:
    """Normalize one PDD order object (increment list element or ``order_info``)."""
    d = as_dict(payload, field_name="order")

    def s(name: str) -> str:
        return as_str(d.get(name), field_name=name)

    lines = [_line(i, gift=False) for i in as_list(d.get("item_list"), field_name="item_list")]
    lines += [_line(i, gift=True) for i in as_list(d.get("gift_list"), field_name="gift_list")]
    created = d.get("created_time")
    return PlatformOrder(
        platform=PLATFORM,
        order_id=as_id(d.get("order_sn"), field_name="order_sn"),
        status=_status(d),
        raw_status=str(as_int(d.get("order_status"), field_name="order_status")),
        updated_at=parse_time(d.get("updated_at"), field_name="updated_at"),
        created_at=parse_time(created, field_name="created_time") if created else None,
        ship_by=(parse_time(d.get("last_ship_time"), field_name="last_ship_time")
                 if d.get("last_ship_time") else None),
        lines=tuple(lines),
        refund_status=str(as_int(d.get("refund_status"), field_name="refund_status", default=1)),
        buyer_note=s("buyer_memo"),
        seller_note=s("remark"),
        risk_review=as_int(d.get("risk_control_status"), field_name="risk_control_status",
                           default=0) == 1,
        receiver=Receiver(
            name_cipher=s("receiver_name"), phone_cipher=s("receiver_phone"),
            address_cipher=s("address"), name_mask=s("receiver_name_mask"),
            phone_mask=s("receiver_phone_mask"), address_mask=s("address_mask"),
            province=s("province"), city=s("city"), district=s("town"),
            merge_key=s("open_address_id_2"),
        ),
        pay_fen=yuan_to_fen(d.get("pay_amount", 0), field_name="pay_amount"),
        carrier=as_str(d.get("logistics_id"), field_name="logistics_id"),
        tracking_number=s("tracking_number"),
    )


def parse_refund(payload: Any) -> RefundEvent:
    """Normalize one ``refund_list`` element."""
    d = as_dict(payload, field_name="refund")
    status = as_int(d.get("after_sales_status"), field_name="after_sales_status")
    kind = as_int(d.get("after_sales_type"), field_name="after_sales_type", default=0)
    return RefundEvent(
        platform=PLATFORM,
        refund_id=as_id(d.get("id"), field_name="id"),
        order_id=as_id(d.get("order_sn"), field_name="order_sn"),
        status=str(status),
        amount_fen=yuan_to_fen(d.get("refund_amount", "0"), field_name="refund_amount"),
        updated_at=parse_time(d.get("updated_time"), field_name="updated_time"),
        sku_id=as_str(d.get("sku_id"), field_name="sku_id"),
        outer_id=as_str(d.get("outer_id"), field_name="outer_id"),
        qty=as_int(d.get("goods_number"), field_name="goods_number", default=0),
        kind=str(kind),
        succeeded=status == REFUND_SUCCESS,
        returns_goods=kind in (AFTER_SALES_RETURN, AFTER_SALES_EXCHANGE),
        exchange=kind == AFTER_SALES_EXCHANGE,
        return_waybill=as_str(d.get("tracking_number"), field_name="tracking_number").strip(),
        return_carrier=as_str(d.get("shipping_name"), field_name="shipping_name").strip(),
        reason=as_str(d.get("after_sale_reason"), field_name="after_sale_reason").strip(),
    )


@dataclass(frozen=True)
class PddConfig:
    """App credentials and endpoints of one PDD app."""

    client_id: str
    """POP ``client_id``."""
    client_secret: str
    """POP ``client_secret``."""
    gateway_url: str = GATEWAY_URL
    """Gateway URL (the fake's ``/api/router`` in tests)."""
    oauth_url: str = OAUTH_URL
    """OAuth token URL (the fake's ``/oauth/token`` in tests)."""
    message_url: str = MESSAGE_URL
    """PMC WebSocket base URL (``ws://127.0.0.1:port`` in tests)."""


class PddClient(GatewayClient):
    """PDD calls for one shop. Implements :class:`~cloud.marketplaces.base.MarketplaceClient`."""

    platform = PLATFORM
    api_field = "type"
    token_field = "access_token"  # noqa: S105 - the name of a form field, not a secret
    max_window_seconds = MAX_WINDOW_SECONDS

    def __init__(
        self,
        config: PddConfig,
        shop_id: str,
        tokens: TokenManager,
        *,
        http: httpx.AsyncClient | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            config, shop_id, tokens, auth=PddAuth(config.client_id, config.client_secret, clock=clock),
            unwrap=unwrap, limits=LIMITS, http=http, limiter=limiter, retry=retry)
        self.config: PddConfig = config

    @staticmethod
    def token_refresher(
        config: PddConfig, http: httpx.AsyncClient, *, clock: Callable[[], float] = time.time
    ) -> Callable[[Token], Any]:
        """A TokenManager refresher calling ``pdd.pop.auth.token.refresh`` on the gateway, as
        the public SDKs do (a refused refresh token raises :class:`AuthorizationRefused`)."""
        return refresher(gateway_token, config, http, clock=clock)

    async def call(self, api: str, params: Mapping[str, Any], *, needs_token: bool = True) -> Any:
        """Generic signed call; returns the payload under the API's root key."""
        wire = {k: wire_value(v) for k, v in params.items() if v is not None}
        return await self._call(api, wire, needs_token=needs_token)

    # ------------------------------------------------------------------ calls

    async def server_time(self) -> datetime:
        """``pdd.time.get``."""
        body = as_dict(await self.call("pdd.time.get", {}, needs_token=False))
        return parse_time(body.get("time"), field_name="time")

    async def list_orders(
        self, start: datetime, end: datetime, *, page: int = 1, page_size: int = 100,
        use_has_next: bool = False,
    ) -> OrderPage:
        """One page of ``pdd.order.number.list.increment.get`` (all states, all refunds)."""
        body = as_dict(await self.call("pdd.order.number.list.increment.get", {
            "start_updated_at": int(start.timestamp()), "end_updated_at": int(end.timestamp()),
            "order_status": 5, "refund_status": 5, "is_lucky_flag": 0,
            "page": page, "page_size": min(page_size, MAX_PAGE_SIZE),
            "use_has_next": use_has_next,
        }))
        orders = tuple(parse_order(o) for o in as_list(body.get("order_sn_list"),
                                                       field_name="order_sn_list"))
        return OrderPage(
            orders=orders,
            total_count=as_int(body.get("total_count"), field_name="total_count", default=0),
            has_next=bool(body.get("has_next", False)),
        )

    async def orders_in_window(
        self, start: datetime, end: datetime, *, page_size: int = 100
    ) -> list[PlatformOrder]:
        """All orders of the window: count first, then pages from last to first (§1.7.1). See ``read_window``."""
        return await read_window(self.list_orders, start, end, page_size=page_size)

    async def get_order(self, order_id: str) -> PlatformOrder:
        """``pdd.order.information.get``."""
        body = as_dict(await self.call("pdd.order.information.get", {"order_sn": order_id}))
        return parse_order(body.get("order_info"))

    async def decrypt(self, items: Sequence[tuple[str, str]]) -> list[DecryptItem]:
        """``pdd.open.decrypt.batch`` over (data_tag, ciphertext) pairs, ≤100 per call."""
        out: list[DecryptItem] = []
        for i in range(0, len(items), DECRYPT_BATCH):
            chunk = [{"data_tag": tag, "encrypted_data": cipher}
                     for tag, cipher in items[i:i + DECRYPT_BATCH]]
            body = as_dict(await self.call("pdd.open.decrypt.batch", {"data_list": chunk}))
            for entry in as_list(body.get("data_decrypt_list"), field_name="data_decrypt_list"):
                e = as_dict(entry, field_name="data_decrypt_list[]")
                out.append(DecryptItem(
                    tag=as_str(e.get("data_tag"), field_name="data_tag"),
                    ciphertext=as_str(e.get("encrypted_data"), field_name="encrypted_data"),
                    plaintext=as_str(e.get("decrypted_data"), field_name="decrypted_data"),
                    error_code=as_int(e.get("error_code"), field_name="error_code", default=0),
                    data_type=as_int(e.get("data_type"), field_name="data_type", default=0),
                ))
        return out

    async def logistics_companies(self) -> list[LogisticsCompany]:
        """``pdd.logistics.companies.get``."""
        body = as_dict(await self.call("pdd.logistics.companies.get", {}, needs_token=False))
        out = []
        for c in as_list(body.get("logistics_companies"), field_name="logistics_companies"):
            d = as_dict(c, field_name="logistics_company")
            out.append(LogisticsCompany(
                id=as_id(d.get("id"), field_name="id"), code=as_str(d.get("code")),
                name=as_str(d.get("logistics_company")),
                available=as_int(d.get("available"), field_name="available", default=1) == 1,
            ))
        return out

    async def ship(
        self, order_id: str, carrier: str, tracking_number: str, *, modify: bool = False
    ) -> None:
        """``pdd.logistics.online.send``; ``carrier`` is the ``logistics_id``."""
        body = as_dict(await self.call("pdd.logistics.online.send", {
            "order_sn": order_id, "logistics_id": carrier, "tracking_number": tracking_number,
            "redelivery_type": 2 if modify else 1,
        }))
        if body.get("is_success") is not True:
            raise BusinessError("is_success", "发货回传未成功", platform=PLATFORM,
                                api="pdd.logistics.online.send")

    async def set_seller_note(self, order_id: str, note: str, flag: int) -> None:
        """``pdd.order.note.update``: the note, and ``tag`` with its ``tag_name`` (the two go
        together; flag 0 sends neither, leaving the order's tag as it is)."""
        params: dict[str, Any] = {"order_sn": order_id, "note": note}
        if flag:
            params.update(tag=flag, tag_name=PDD_TAG_NAMES[flag])
        body = as_dict(await self.call("pdd.order.note.update", params))
        if body.get("success") is not True:
            raise BusinessError("success", "备注未保存", platform=PLATFORM,
                                api="pdd.order.note.update")

    async def get_waybills(
        self, carrier_code: str, sender: Address, packages: Sequence[WaybillRequest]
    ) -> list[Waybill]:
        """``pdd.waybill.get`` for up to 10 packages."""
        if not 1 <= len(packages) <= 10:
            raise ValueError("pdd.waybill.get takes 1..10 packages")

        def addr(a: Address) -> dict[str, Any]:
            return {"name": a.name, "mobile": a.mobile, "address": {
                "province": a.province, "city": a.city, "district": a.district,
                "detail": a.detail}}

        request = {
            "wp_code": carrier_code, "need_encrypt": False, "sender": addr(sender),
            "trade_order_info_dtos": [{
                "object_id": p.object_id, "template_url": p.template_url,
                "user_id": _numeric(p.user_id or self.shop_id),
                "order_info": {"order_channels_type": "PDD",
                               "trade_order_list": list(p.order_ids)},
                "package_info": {"items": [{"name": n, "count": c} for n, c in p.items],
                                 **({"weight": p.weight_g} if p.weight_g else {})},
                "recipient": addr(p.recipient),
            } for p in packages],
        }
        body = as_dict(await self.call("pdd.waybill.get",
                                       {"param_waybill_cloud_print_apply_new_request": request}))
        out = []
        for m in as_list(body.get("modules"), field_name="modules"):
            d = as_dict(m, field_name="module")
            out.append(Waybill(
                number=as_str(d.get("waybill_code"), field_name="waybill_code"),
                carrier=carrier_code,
                print_data=as_str(d.get("print_data"), field_name="print_data"),
                object_id=as_str(d.get("object_id"), field_name="object_id"),
                parent_number=as_str(d.get("parent_waybill_code")),
            ))
        if not out or any(not w.number for w in out):
            raise MalformedResponse("pdd.waybill.get: 未返回面单号", platform=PLATFORM,
                                    api="pdd.waybill.get")
        return out

    async def cancel_waybill(self, carrier_code: str, waybill_no: str) -> None:
        """``pdd.waybill.cancel`` (§1.7.8); ``cancel_result`` false is a refusal."""
        body = as_dict(await self.call("pdd.waybill.cancel", {
            "wp_code": carrier_code, "waybill_code": waybill_no}))
        if body.get("cancel_result") is not True:
            raise BusinessError("cancel_result", "面单取消未成功 / the waybill was not cancelled",
                                platform=PLATFORM, api="pdd.waybill.cancel")

    async def waybill_accounts(self, carrier: str = "") -> list[BranchAccount]:
        """``pdd.waybill.search``: branch accounts (balance, sender addresses) per courier."""
        body = as_dict(await self.call("pdd.waybill.search",
                                       {"wp_code": carrier} if carrier else {}))
        subs = as_list(body.get("waybill_apply_subscription_cols", []),
                       field_name="waybill_apply_subscription_cols")
        return parse_branch_accounts(subs, "wp_code", _plain_list)

    async def standard_templates(self, carrier: str = "") -> list[StandardTemplate]:
        """``pdd.cloudprint.stdtemplates.get``: standard templates (their URLs are the
        ``template_url`` of ``pdd.waybill.get``)."""
        body = as_dict(await self.call("pdd.cloudprint.stdtemplates.get",
                                       {"wp_code": carrier} if carrier else {}))
        result = as_dict(body.get("result"), field_name="result")
        return parse_standard_templates(
            as_list(result.get("datas", []), field_name="datas"), "wp_code", _plain_list)

    async def update_stock(self, update: StockUpdate) -> None:
        """``pdd.goods.quantity.update`` (update_type 1 full, 2 incremental)."""
        params: dict[str, Any] = {"goods_id": update.item_id, "quantity": update.quantity,
                                  "update_type": 2 if update.incremental else 1}
        if update.sku_id:
            params["sku_id"] = update.sku_id
        else:
            params["outer_id"] = update.outer_id
        body = as_dict(await self.call("pdd.goods.quantity.update", params))
        if body.get("is_success") is not True:
            raise BusinessError("is_success", "库存更新未成功", platform=PLATFORM,
                                api="pdd.goods.quantity.update")

    async def listings(self, *, page_size: int = MAX_PAGE_SIZE,
                       progress: Callable[[int, int], None] | None = None) -> list[Listing]:
        """Every goods of the shop with its SKUs (``pdd.goods.list.get``, page by page until
        ``total_count`` goods were read); ``progress(read, total)`` after each page."""
        out: list[Listing] = []
        page, read, total = 1, 0, 1
        while read < total:
            body = as_dict(await self.call("pdd.goods.list.get", {
                "page": page, "page_size": min(page_size, MAX_PAGE_SIZE)}))
            total = as_int(body.get("total_count"), field_name="total_count", default=0)
            goods = as_list(body.get("goods_list"), field_name="goods_list")
            for g in goods:
                d = as_dict(g, field_name="goods")
                item_id = as_id(d.get("goods_id"), field_name="goods_id")
                title = as_str(d.get("goods_name"), field_name="goods_name")
                on_sale = as_int(d.get("is_onsale"), field_name="is_onsale", default=1) == 1
                for k in as_list(d.get("sku_list"), field_name="sku_list"):
                    sku = as_dict(k, field_name="sku")
                    out.append(Listing(
                        item_id=item_id, sku_id=as_id(sku.get("sku_id"), field_name="sku_id"),
                        outer_id=as_str(sku.get("outer_id"), field_name="outer_id"),
                        title=title, spec=as_str(sku.get("spec"), field_name="spec"),
                        quantity=as_int(sku.get("sku_quantity"), field_name="sku_quantity",
                                        default=0),
                        on_sale=on_sale and as_int(sku.get("is_sku_onsale"),
                                                   field_name="is_sku_onsale", default=1) == 1))
            read += len(goods)
            if progress is not None:
                progress(read, total)
            if not goods:
                break
            page += 1
        return out

    async def refunds_in_window(
        self, start: datetime, end: datetime, *, statuses: Sequence[int] = REFUND_STATUSES,
        page_size: int = 100,
    ) -> list[RefundEvent]:
        """``pdd.refund.list.increment.get`` per status, pages read last to first."""
        seen: dict[str, RefundEvent] = {}
        for status in statuses:
            base = {"start_updated_at": int(start.timestamp()),
                    "end_updated_at": int(end.timestamp()),
                    "after_sales_status": status, "after_sales_type": 1,
                    "page_size": page_size}
            first = as_dict(await self.call("pdd.refund.list.increment.get",
                                            {**base, "page": 1}))
            total = as_int(first.get("total_count"), field_name="total_count", default=0)
            pages = max(1, -(-total // page_size))
            for page in range(pages, 0, -1):
                body = first if page == 1 else as_dict(await self.call(
                    "pdd.refund.list.increment.get", {**base, "page": page}))
                for r in as_list(body.get("refund_list"), field_name="refund_list"):
                    event = parse_refund(r)
                    old = seen.get(event.refund_id)
                    if old is None or event.updated_at >= old.updated_at:
                        seen[event.refund_id] = event
        return list(seen.values())


def _plain_list(value: Any, element: str) -> list[Any]:
    """A PDD list (never wrapped); a missing one is empty."""
    return as_list(value if value is not None else [], field_name=element)


APP_CONFIG_CODES = frozenset({10001, 10016, 10017, 20004, 20005, 20031})
"""Errors of a token call that mean the app is misconfigured (bad id, secret or permission),
not that the merchant's code or refresh token was refused."""


def parse_token(payload: Any, now: float) -> Token:
    """The token fields of §1.6 (``/oauth/token`` reply or the token APIs' root object);
    ``expires_at`` when given, else now + ``expires_in``."""
    data = as_dict(payload, field_name="token")
    expires_in = as_int(data.get("expires_in"), field_name="expires_in", default=0)
    refresh_in = as_int(data.get("refresh_token_expires_in"),
                        field_name="refresh_token_expires_in", default=0)
    return Token(
        access_token=as_str(data.get("access_token"), field_name="access_token"),
        refresh_token=as_str(data.get("refresh_token"), field_name="refresh_token"),
        expires_at=float(as_int(data.get("expires_at"), field_name="expires_at",
                                default=int(now) + expires_in)),
        refresh_expires_at=float(as_int(data.get("refresh_token_expires_at"),
                                        field_name="refresh_token_expires_at",
                                        default=int(now) + refresh_in if refresh_in else 0)),
        owner_id=as_str(data.get("owner_id"), field_name="owner_id"),
    )


async def gateway_token(
    config: PddConfig, http: httpx.AsyncClient, grant: Mapping[str, str], *,
    clock: Callable[[], float] = time.time,
) -> Token:
    """A token from the gateway token APIs (§1.6): ``pdd.pop.auth.token.create`` for
    ``grant_type=authorization_code`` (+ ``code``), ``pdd.pop.auth.token.refresh`` for
    ``grant_type=refresh_token`` (+ ``refresh_token``). Signed like every gateway call, no
    ``access_token``. A refused code or refresh token raises :class:`AuthorizationRefused`
    with the platform's code and message; throttling and platform faults raise as usual."""
    if grant.get("grant_type") == "refresh_token":
        api, params = "pdd.pop.auth.token.refresh", {"refresh_token": grant.get("refresh_token", "")}
    else:
        api, params = "pdd.pop.auth.token.create", {"code": grant.get("code", "")}
    auth = PddAuth(config.client_id, config.client_secret, clock=clock)
    signed = auth.sign_params({"type": api, **params})
    try:
        response = await http.post(config.gateway_url, data=signed, timeout=TOKEN_TIMEOUT)
    except httpx.HTTPError as err:
        raise transport_error(err, platform=PLATFORM, api=api) from err
    try:
        body = unwrap(api, loads(response.content))
    except BusinessError as err:
        if int(err.code) in APP_CONFIG_CODES:
            raise
        raise AuthorizationRefused(err.code, err.sub_msg or err.msg, platform=PLATFORM,
                                   api=api) from err
    return parse_token(body, clock())


def _numeric(value: str) -> int | str:
    """LONG ids go out as numbers when they are numeric."""
    return int(value) if value.isdigit() else value


async def oauth_token(
    config: PddConfig, http: httpx.AsyncClient, grant: Mapping[str, str], *,
    clock: Callable[[], float] = time.time,
) -> Token:
    """POST a grant (``authorization_code`` + ``code``, or ``refresh_token``) to ``/oauth/token``."""
    body = {"client_id": config.client_id, "client_secret": config.client_secret, **grant}
    try:
        response = await http.post(config.oauth_url, json=body, timeout=TOKEN_TIMEOUT)
    except httpx.HTTPError as err:
        raise transport_error(err, platform=PLATFORM, api="oauth/token") from err
    data = as_dict(loads(response.content), field_name="token")
    if "error_response" in data:
        err_obj = as_dict(data["error_response"], field_name="error_response")
        raise AuthorizationRefused(
            str(err_obj.get("error_code", "")),
            str(err_obj.get("sub_msg") or err_obj.get("error_msg") or ""),
            platform=PLATFORM, api="oauth/token")
    return parse_token(data, clock())


async def exchange_code(
    config: PddConfig, http: httpx.AsyncClient, code: str, redirect_uri: str = "", *,
    clock: Callable[[], float] = time.time,
) -> Token:
    """Exchange an authorization ``code`` (from the shop's OAuth consent) for a token with
    ``pdd.pop.auth.token.create``; ``redirect_uri`` is kept for the ``/oauth/token`` route
    (:func:`oauth_token`), which takes it, and is not sent to the gateway."""
    del redirect_uri
    return await gateway_token(config, http, {"grant_type": "authorization_code",
                                              "code": code}, clock=clock)


if TYPE_CHECKING:  # structural check: the client satisfies the port
    _PORT_CHECK: type[MarketplaceClient] = PddClient
