"""Taobao/Tmall (TOP) client: signing, envelope, errors, calls and TMC over HTTP.

Spec: docs/specs/marketplaces.md §2. Requests are form-urlencoded POSTs; the
client asks for ``format=json&simplify=true`` and still accepts the non-simplified
shape (root ``*_response`` and list wrappers) for robustness.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import urllib.parse
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from cloud.marketplaces.base import (
    Address,
    BranchAccount,
    Listing,
    LogisticsCompany,
    MarketplaceClient,
    OrderLine,
    OrderPage,
    OrderStatus,
    PlatformOrder,
    PushMessage,
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
    format_beijing,
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
from cloud.marketplaces.pdd import wire_value

PLATFORM = "taobao"
GATEWAY_URL = "https://eco.taobao.com/router/rest"
"""Production TOP gateway."""
OAUTH_URL = "https://oauth.taobao.com/token"
"""OAuth token endpoint."""
MAX_WINDOW_SECONDS = 86400
"""``taobao.trades.sold.increment.get`` spans at most one day."""
RECOMMENDED_WINDOW_SECONDS = 1800
"""30-minute windows are recommended."""
TRADE_FIELDS = (
    "tid,tid_str,status,modified,created,pay_time,payment,buyer_message,buyer_nick,seller_memo,"
    "receiver_name,receiver_address,receiver_mobile,receiver_phone,receiver_state,"
    "receiver_city,receiver_district,oaid,orders"
)
"""Always includes the five fields that make TOP generate ``oaid``."""
OAID_BATCH = 20
"""At most 20 entries per ``taobao.top.oaid.decrypt`` call."""
REFUND_FIELDS = ("refund_id,tid,oid,status,refund_fee,modified,num,sku,outer_id,"
                 "refund_phase,good_status,has_good_return,company_name,sid,reason")
EXCHANGE_STATUSES = frozenset({"WAIT_BUYER_CONFIRM_EXCHANGE_SELLER_SEND_GOODS",
                               "WAIT_SELLER_CONSIGN_GOODS"})
"""Refund ``status`` values of an exchange (换货) in progress (docs/specs/marketplaces.md §2.6.7)."""

LIMITS: dict[str, list[Limit]] = {}
"""Per-API TOP quotas are set in the console; configure per app (none by default)."""

STATUS_MAP = {
    "TRADE_NO_CREATE_PAY": OrderStatus.PENDING_PAYMENT,
    "WAIT_BUYER_PAY": OrderStatus.PENDING_PAYMENT,
    "PAY_PENDING": OrderStatus.PENDING_PAYMENT,
    "WAIT_PRE_AUTH_CONFIRM": OrderStatus.PENDING_PAYMENT,
    "PAID_FORBID_CONSIGN": OrderStatus.PENDING_PAYMENT,
    "WAIT_SELLER_SEND_GOODS": OrderStatus.AWAITING_SHIPMENT,
    "SELLER_CONSIGNED_PART": OrderStatus.AWAITING_SHIPMENT,
    "WAIT_BUYER_CONFIRM_GOODS": OrderStatus.SHIPPED,
    "TRADE_BUYER_SIGNED": OrderStatus.DELIVERED,
    "TRADE_FINISHED": OrderStatus.DELIVERED,
    "TRADE_CLOSED": OrderStatus.CLOSED,
    "TRADE_CLOSED_BY_TAOBAO": OrderStatus.CLOSED,
}
"""TOP trade status → normalized status."""

BAN_RE = re.compile(r"(\d+)\s+more\s+second")


def top_sign(params: Mapping[str, str], secret: str, sign_method: str = "md5") -> str:
    """TOP sign over every param except ``sign`` (empty values skipped), upper hex."""
    joined = "".join(k + params[k] for k in sorted(params) if k != "sign" and params[k] != "")
    if sign_method == "md5":
        return hashlib.md5((secret + joined + secret).encode(), usedforsecurity=False).hexdigest().upper()
    if sign_method == "hmac":
        return hmac.new(secret.encode(), joined.encode(), hashlib.md5).hexdigest().upper()
    if sign_method == "hmac-sha256":
        return hmac.new(secret.encode(), joined.encode(), hashlib.sha256).hexdigest().upper()
    raise ValueError(f"unknown sign_method {sign_method!r}")


class TopAuth(httpx.Auth):
    """Adds ``app_key``, ``timestamp`` (GMT+8), ``v``, ``format``, ``simplify``,
    ``sign_method`` and ``sign`` to a form POST carrying ``method`` and business params."""

    def __init__(
        self, app_key: str, app_secret: str, *, sign_method: str = "hmac-sha256",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app_key = app_key
        """TOP app key."""
        self._secret = app_secret
        self.sign_method = sign_method
        """``md5``, ``hmac`` or ``hmac-sha256``."""
        self._clock = clock

    def sign_params(self, params: Mapping[str, str]) -> dict[str, str]:
        """System params added, empties dropped, ``sign`` computed."""
        out = {k: v for k, v in params.items() if v != "" and k != "sign"}
        out.setdefault("app_key", self.app_key)
        out.setdefault("timestamp", format_beijing(datetime.fromtimestamp(self._clock(), UTC)))
        out.setdefault("v", "2.0")
        out.setdefault("format", "json")
        out.setdefault("simplify", "true")
        out["sign_method"] = self.sign_method
        out["sign"] = top_sign(out, self._secret, self.sign_method)
        return out

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Re-encode the form body with the signed parameter set."""
        params = dict(urllib.parse.parse_qsl(request.content.decode(), keep_blank_values=True))
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in ("content-length", "content-type")}
        # keep the extensions: they carry the client's timeouts
        yield httpx.Request(request.method, request.url, headers=headers,
                            data=self.sign_params(params), extensions=request.extensions)


def root_key(method: str) -> str:
    """Non-simplified root: ``taobao.`` dropped, dots → ``_``, plus ``_response``."""
    name = method.removeprefix("taobao.")
    return name.replace(".", "_") + "_response"


def unwrap(method: str, payload: Any) -> dict[str, Any]:
    """Flat body for either response shape, raising our errors for ``error_response``."""
    body = as_dict(payload, field_name="response")
    if "error_response" in body:
        raise error_from(method, as_dict(body["error_response"], field_name="error_response"))
    root = root_key(method)
    if root in body:
        return as_dict(body[root], field_name=root)
    return body


def page_count(method: str, body: Mapping[str, Any], *, use_has_next: bool) -> tuple[int, bool]:
    """(``total_results``, ``has_next``) of a paged TOP reply. TOP always sends the one asked
    for (``total_results`` without ``use_has_next``, ``has_next`` with it), so a reply
    without it is not this API's reply (an unexpected envelope) and must not be read as an
    empty page: that would move the checkpoint past orders never read."""
    key = "has_next" if use_has_next else "total_results"
    if key not in body:
        raise MalformedResponse(f"{method}: 响应缺少 {key} / reply lacks {key}",
                                platform=PLATFORM, api=method)
    return (as_int(body.get("total_results"), field_name="total_results", default=0),
            bool(body.get("has_next", False)))


ITEMS_PAGE_MAX = 200
"""Largest page of ``taobao.items.onsale.get`` / ``taobao.items.inventory.get``."""


def top_list(value: Any, element: str) -> list[Any]:
    """A TOP list in either shape: ``[...]`` or ``{element: [...]}``."""
    if isinstance(value, dict):
        return as_list(value.get(element), field_name=element)
    return as_list(value, field_name=element)


def error_from(method: str, err: Mapping[str, Any]) -> MarketplaceError:
    """Translate a TOP ``error_response`` (§2.4, §5.6)."""
    code = as_int(err.get("code"), field_name="code")
    msg = str(err.get("msg") or "")
    sub_code = str(err.get("sub_code") or "")
    sub_msg = str(err.get("sub_msg") or "")
    if code in (26, 27):
        return TokenExpired(f"{method}: session 无效或过期 ({sub_code})", platform=PLATFORM,
                            api=method)
    if code in (4, 5, 6, 7, 8):
        ban = BAN_RE.search(sub_msg)
        return RateLimited(f"{method}: 调用超限 ({code} {sub_code})",
                           retry_after=float(ban.group(1)) if ban else 1.0,
                           platform=PLATFORM, api=method)
    if code == 10 or sub_code.startswith("isp.") or sub_code == "isp.call-limited":
        if sub_code == "isp.call-limited":
            return RateLimited(f"{method}: {sub_code}", platform=PLATFORM, api=method)
        return TransientError(f"{method}: 平台暂时错误 {code} {sub_code}", code=str(code),
                              platform=PLATFORM, api=method)
    return BusinessError(str(code), msg, sub_code=sub_code, sub_msg=sub_msg,
                         platform=PLATFORM, api=method)


def _line(payload: Any) -> OrderLine:
    d = as_dict(payload, field_name="order")
    return OrderLine(
        sku_id=as_str(d.get("sku_id"), field_name="sku_id"),
        outer_id=as_str(d.get("outer_sku_id"), field_name="outer_sku_id"),
        qty=as_int(d.get("num"), field_name="num"),
        price_fen=yuan_to_fen(d.get("price", "0"), field_name="price"),
        title=as_str(d.get("title"), field_name="title"),
        item_id=as_id(d.get("num_iid"), field_name="num_iid"),
        line_id=as_id(d.get("oid_str", d.get("oid")), field_name="oid"),
        spec=as_str(d.get("sku_properties_name"), field_name="sku_properties_name"),
    )


SHIP_WITHIN = timedelta(hours=48)
"""Taobao's default 发货时限: 48 hours after payment (its trade API has no ship-by field)."""


def parse_trade(payload: Any) -> PlatformOrder:
    """Normalize one TOP trade (increment element or fullinfo ``trade``)."""
    d = as_dict(payload, field_name="trade")

    def s(name: str) -> str:
        return as_str(d.get(name), field_name=name)

    status = s("status")
    created = d.get("created")
    first_line = next(iter(top_list(d.get("orders"), "order")), None)
    line_d = first_line if isinstance(first_line, dict) else {}
    return PlatformOrder(
        platform=PLATFORM,
        order_id=as_id(d.get("tid_str", d.get("tid")), field_name="tid"),
        status=STATUS_MAP.get(status, OrderStatus.UNKNOWN),
        raw_status=status,
        updated_at=parse_time(d.get("modified"), field_name="modified"),
        created_at=parse_time(created, field_name="created") if created else None,
        ship_by=(parse_time(d.get("pay_time") or created, field_name="pay_time")
                 + SHIP_WITHIN if (d.get("pay_time") or created) else None),
        lines=tuple(_line(o) for o in top_list(d.get("orders"), "order")),
        refund_status=as_str(line_d.get("refund_status")),
        buyer_note=s("buyer_message"),
        buyer_nick=s("buyer_nick"),
        seller_note=s("seller_memo"),
        risk_review=status == "PAID_FORBID_CONSIGN",
        receiver=Receiver(
            name_mask=s("receiver_name"), phone_mask=s("receiver_mobile") or s("receiver_phone"),
            address_mask=s("receiver_address"), province=s("receiver_state"),
            city=s("receiver_city"), district=s("receiver_district"), oaid=s("oaid"),
        ),
        pay_fen=yuan_to_fen(d.get("payment", "0"), field_name="payment"),
        carrier=as_str(line_d.get("logistics_company")),
        tracking_number=as_str(line_d.get("invoice_no")),
    )


def parse_refund(payload: Any) -> RefundEvent:
    """Normalize one TOP refund."""
    d = as_dict(payload, field_name="refund")
    status = as_str(d.get("status"), field_name="status")
    return RefundEvent(
        platform=PLATFORM,
        refund_id=as_id(d.get("refund_id"), field_name="refund_id"),
        order_id=as_id(d.get("tid"), field_name="tid"),
        status=status,
        amount_fen=yuan_to_fen(d.get("refund_fee", "0"), field_name="refund_fee"),
        updated_at=parse_time(d.get("modified"), field_name="modified"),
        sku_id=as_str(d.get("sku"), field_name="sku"),
        outer_id=as_str(d.get("outer_id"), field_name="outer_id"),
        qty=as_int(d.get("num"), field_name="num", default=0),
        kind=as_str(d.get("refund_phase"), field_name="refund_phase"),
        succeeded=status == "SUCCESS",
        line_id=as_id(d.get("oid"), field_name="oid") if d.get("oid") is not None else "",
        returns_goods=_flag(d.get("has_good_return"), "has_good_return"),
        exchange=status in EXCHANGE_STATUSES,
        return_waybill=as_str(d.get("sid"), field_name="sid").strip(),
        return_carrier=as_str(d.get("company_name"), field_name="company_name").strip(),
        reason=as_str(d.get("reason"), field_name="reason").strip(),
    )


def _flag(value: Any, field_name: str) -> bool:
    """A TOP boolean: JSON true/false, or the strings ``"true"``/``"false"``; absent is false."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if value in ("true", "false"):
        return bool(value == "true")
    raise MalformedResponse(f"{field_name}: not a boolean: {value!r}")


@dataclass(frozen=True)
class TopConfig:
    """App credentials and endpoints of one TOP app."""

    app_key: str
    """TOP ``app_key``."""
    app_secret: str
    """TOP app secret."""
    gateway_url: str = GATEWAY_URL
    """Gateway URL (the fake's ``/router/rest`` in tests)."""
    oauth_url: str = OAUTH_URL
    """OAuth token URL (the fake's ``/token`` in tests)."""
    sign_method: str = "hmac-sha256"
    """``md5``, ``hmac`` or ``hmac-sha256``."""


class TaobaoClient(GatewayClient):
    """TOP calls for one shop. Implements :class:`~cloud.marketplaces.base.MarketplaceClient`."""

    platform = PLATFORM
    api_field = "method"
    token_field = "session"  # noqa: S105 - the name of a form field, not a secret
    max_window_seconds = MAX_WINDOW_SECONDS

    def __init__(
        self,
        config: TopConfig,
        shop_id: str,
        tokens: TokenManager,
        *,
        http: httpx.AsyncClient | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        auth = TopAuth(config.app_key, config.app_secret, sign_method=config.sign_method, clock=clock)
        super().__init__(config, shop_id, tokens, auth=auth, unwrap=unwrap, limits=LIMITS,
                         http=http, limiter=limiter, retry=retry)
        self.config: TopConfig = config

    @staticmethod
    def token_refresher(
        config: TopConfig, http: httpx.AsyncClient, *, clock: Callable[[], float] = time.time
    ) -> Callable[[Token], Any]:
        """A TokenManager refresher that posts ``grant_type=refresh_token`` to the OAuth URL."""
        return refresher(oauth_token, config, http, clock=clock)

    async def call(
        self, method: str, params: Mapping[str, Any], *, needs_token: bool = True
    ) -> dict[str, Any]:
        """Generic signed call; returns the flat response body."""
        wire = {k: wire_value(v) for k, v in params.items() if v is not None}
        result: dict[str, Any] = await self._call(method, wire, needs_token=needs_token)
        return result

    # ------------------------------------------------------------------ calls

    async def server_time(self) -> datetime:
        """``taobao.time.get``."""
        body = await self.call("taobao.time.get", {}, needs_token=False)
        return parse_time(body.get("time"), field_name="time")

    async def list_orders(
        self, start: datetime, end: datetime, *, page: int = 1, page_size: int = 100,
        use_has_next: bool = False,
    ) -> OrderPage:
        """One page of ``taobao.trades.sold.increment.get``."""
        body = await self.call("taobao.trades.sold.increment.get", {
            "fields": TRADE_FIELDS, "start_modified": format_beijing(start),
            "end_modified": format_beijing(end), "page_no": page,
            "page_size": min(page_size, 100), "use_has_next": use_has_next,
        })
        total, more = page_count("taobao.trades.sold.increment.get", body,
                                 use_has_next=use_has_next)
        trades = tuple(parse_trade(t) for t in top_list(body.get("trades"), "trade"))
        return OrderPage(orders=trades, total_count=total, has_next=more)

    async def orders_in_window(
        self, start: datetime, end: datetime, *, page_size: int = 100
    ) -> list[PlatformOrder]:
        """All trades of the window, count first then pages from last to first. See ``read_window``."""
        return await read_window(self.list_orders, start, end, page_size=page_size)

    async def get_order(self, order_id: str) -> PlatformOrder:
        """``taobao.trade.fullinfo.get``."""
        body = await self.call("taobao.trade.fullinfo.get",
                               {"fields": TRADE_FIELDS, "tid": order_id})
        return parse_trade(body.get("trade"))

    async def logistics_companies(self) -> list[LogisticsCompany]:
        """``taobao.logistics.companies.get``."""
        body = await self.call("taobao.logistics.companies.get",
                               {"fields": "id,code,name,reg_mail_no"}, needs_token=False)
        out = []
        for c in top_list(body.get("logistics_companies"), "logistics_company"):
            d = as_dict(c, field_name="logistics_company")
            out.append(LogisticsCompany(id=as_id(d.get("id"), field_name="id"),
                                        code=as_str(d.get("code")), name=as_str(d.get("name"))))
        return out

    async def ship(
        self, order_id: str, carrier: str, tracking_number: str, *, modify: bool = False
    ) -> None:
        """``taobao.logistics.offline.send``; with ``modify`` ``taobao.logistics.consign.resend``.

        ``carrier`` is the company ``code`` (e.g. ``ZTO``).
        """
        method = "taobao.logistics.consign.resend" if modify else "taobao.logistics.offline.send"
        body = await self.call(method, {"tid": order_id, "out_sid": tracking_number,
                                        "company_code": carrier})
        shipping = as_dict(body.get("shipping"), field_name="shipping")
        if shipping.get("is_success") is not True:
            raise BusinessError("is_success", "发货回传未成功", platform=PLATFORM, api=method)

    async def set_seller_note(self, order_id: str, note: str, flag: int) -> None:
        """``taobao.trade.memo.update``: memo and flag; an empty note clears the memo
        (``reset=true``: an empty memo alone would leave it as it was)."""
        body = await self.call("taobao.trade.memo.update", {
            "tid": order_id, "memo": note, "flag": flag, "reset": "false" if note else "true"})
        trade = as_dict(body.get("trade"), field_name="trade")
        if str(trade.get("tid", "")) != order_id:
            raise BusinessError("trade", "备注未保存", platform=PLATFORM,
                                api="taobao.trade.memo.update")

    async def get_waybills(
        self, carrier_code: str, sender: Address, packages: Sequence[WaybillRequest]
    ) -> list[Waybill]:
        """``cainiao.waybill.ii.get`` for up to 10 packages (recipient by oaid + tid)."""
        if not 1 <= len(packages) <= 10:
            raise ValueError("cainiao.waybill.ii.get takes 1..10 packages")

        def addr(a: Address) -> dict[str, Any]:
            return {"name": a.name, "mobile": a.mobile, "address": {
                "province": a.province, "city": a.city, "district": a.district,
                "detail": a.detail}}

        def recipient(p: WaybillRequest) -> dict[str, Any]:
            r = addr(p.recipient)
            if p.recipient.oaid:
                r.update(oaid=p.recipient.oaid, tid=p.order_ids[0])
            return r

        request = {
            "cp_code": carrier_code, "sender": addr(sender),
            "trade_order_info_dtos": [{
                "object_id": p.object_id, "template_url": p.template_url,
                "user_id": _numeric(p.user_id or self.shop_id),
                "order_info": {"order_channels_type": "TB",
                               "trade_order_list": list(p.order_ids)},
                "package_info": {"items": [{"name": n, "count": c} for n, c in p.items],
                                 **({"weight": p.weight_g} if p.weight_g else {})},
                "recipient": recipient(p),
            } for p in packages],
        }
        body = await self.call("cainiao.waybill.ii.get",
                               {"param_waybill_cloud_print_apply_new_request": request})
        out = []
        for m in top_list(body.get("modules"), "waybill_cloud_print_response"):
            d = as_dict(m, field_name="module")
            out.append(Waybill(
                number=as_str(d.get("waybill_code"), field_name="waybill_code"),
                carrier=as_str(d.get("cp_code")) or carrier_code,
                print_data=as_str(d.get("print_data"), field_name="print_data"),
                object_id=as_str(d.get("object_id"), field_name="object_id"),
                parent_number=as_str(d.get("parent_waybill_code")),
                **routing_of(d.get("print_data")),
            ))
        if not out or any(not w.number for w in out):
            raise MalformedResponse("cainiao.waybill.ii.get: 未返回面单号", platform=PLATFORM,
                                    api="cainiao.waybill.ii.get")
        return out

    async def cancel_waybill(self, carrier_code: str, waybill_no: str) -> None:
        """``cainiao.waybill.ii.cancel`` [unverified: not in the spec]; ``cancel_result``
        false is a refusal."""
        body = await self.call("cainiao.waybill.ii.cancel", {
            "cp_code": carrier_code, "waybill_code": waybill_no})
        if body.get("cancel_result") is not True:
            raise BusinessError("cancel_result", "面单取消未成功 / the waybill was not cancelled",
                                platform=PLATFORM, api="cainiao.waybill.ii.cancel")

    async def waybill_accounts(self, carrier: str = "") -> list[BranchAccount]:
        """``cainiao.waybill.ii.search``: branch accounts (balance, sender addresses) per
        courier, read in ``pdd.waybill.search``'s shape (the spec has no section for it)."""
        body = await self.call("cainiao.waybill.ii.search",
                               {"cp_code": carrier} if carrier else {})
        subs = top_list(body.get("waybill_apply_subscription_cols") or [],
                        "waybill_apply_subscription_info")
        return parse_branch_accounts(subs, "cp_code", _top_list_or_empty)

    async def standard_templates(self, carrier: str = "") -> list[StandardTemplate]:
        """``cainiao.cloudprint.stdtemplates.get``, read in the PDD shape (§1.7.8)."""
        body = await self.call("cainiao.cloudprint.stdtemplates.get",
                               {"cp_code": carrier} if carrier else {})
        result = as_dict(body.get("result"), field_name="result")
        return parse_standard_templates(
            top_list(result.get("datas") or [], "standard_template_result"), "cp_code",
            _top_list_or_empty)

    async def update_stock(self, update: StockUpdate) -> None:
        """``taobao.item.quantity.update`` (type 1 full, 2 incremental)."""
        params: dict[str, Any] = {"num_iid": update.item_id, "quantity": update.quantity,
                                  "type": 2 if update.incremental else 1}
        if update.sku_id:
            params["sku_id"] = update.sku_id
        else:
            params["outer_id"] = update.outer_id
        body = await self.call("taobao.item.quantity.update", params)
        as_dict(body.get("item"), field_name="item")

    async def listings(self, *, page_size: int = ITEMS_PAGE_MAX,
                       progress: Callable[[int, int], None] | None = None) -> list[Listing]:
        """Every item of the shop, on sale (``taobao.items.onsale.get``) and in the warehouse
        (``taobao.items.inventory.get``), page by page, each with its SKUs from
        ``taobao.item.seller.get``; an item without SKUs is one listing with an empty SKU id.
        ``progress(read, total)`` after each item."""
        heads: list[tuple[str, bool]] = []
        for method, on_sale in (("taobao.items.onsale.get", True),
                                ("taobao.items.inventory.get", False)):
            page, total = 1, 1
            while (page - 1) * page_size < total:
                body = await self.call(method, {"fields": "num_iid,title,num,outer_id",
                                                "page_no": page, "page_size": page_size})
                total, _more = page_count(method, body, use_has_next=False)
                rows = top_list(body.get("items"), "item")
                heads += [(as_id(as_dict(r, field_name="item").get("num_iid"),
                                 field_name="num_iid"), on_sale) for r in rows]
                if not rows:
                    break
                page += 1
        out: list[Listing] = []
        for n, (num_iid, on_sale) in enumerate(heads, 1):
            body = await self.call("taobao.item.seller.get", {
                "num_iid": num_iid, "fields": "num_iid,title,num,outer_id,sku"})
            item = as_dict(body.get("item"), field_name="item")
            title = as_str(item.get("title"), field_name="title")
            skus = top_list(item.get("skus") or [], "sku")
            if not skus:
                out.append(Listing(item_id=num_iid, sku_id="", title=title, spec="",
                                   outer_id=as_str(item.get("outer_id"), field_name="outer_id"),
                                   quantity=as_int(item.get("num"), field_name="num", default=0),
                                   on_sale=on_sale))
            for k in skus:
                d = as_dict(k, field_name="sku")
                props = as_str(d.get("properties_name"), field_name="properties_name")
                out.append(Listing(
                    item_id=num_iid, sku_id=as_id(d.get("sku_id"), field_name="sku_id"),
                    outer_id=as_str(d.get("outer_id"), field_name="outer_id"), title=title,
                    spec=";".join(p.split(":")[-1] for p in props.split(";") if p),
                    quantity=as_int(d.get("quantity"), field_name="quantity", default=0),
                    on_sale=on_sale))
            if progress is not None:
                progress(n, len(heads))
        return out

    async def refunds_in_window(
        self, start: datetime, end: datetime, *, page_size: int = 100
    ) -> list[RefundEvent]:
        """``taobao.refunds.receive.get`` by modified time, pages read last to first."""
        base = {"fields": REFUND_FIELDS, "start_modified": format_beijing(start),
                "end_modified": format_beijing(end), "page_size": page_size}
        first = await self.call("taobao.refunds.receive.get", {**base, "page_no": 1})
        total, _more = page_count("taobao.refunds.receive.get", first, use_has_next=False)
        seen: dict[str, RefundEvent] = {}
        for page in range(max(1, -(-total // page_size)), 0, -1):
            body = first if page == 1 else await self.call(
                "taobao.refunds.receive.get", {**base, "page_no": page, "use_has_next": True})
            if page != 1:
                page_count("taobao.refunds.receive.get", body, use_has_next=True)
            for r in top_list(body.get("refunds"), "refund"):
                event = parse_refund(r)
                old = seen.get(event.refund_id)
                if old is None or event.updated_at >= old.updated_at:
                    seen[event.refund_id] = event
        return list(seen.values())

    async def decrypt_receivers(
        self, items: Sequence[tuple[str, str]], *, scene: str = "1006"
    ) -> list[tuple[str, Address]]:
        """``taobao.top.oaid.decrypt`` for (tid, oaid) pairs, ≤20 per call.

        Waybills do not need this (pass ``oaid`` + ``tid``); ``scene`` defaults to 手工单.
        """
        out: list[tuple[str, Address]] = []
        for i in range(0, len(items), OAID_BATCH):
            query = [{"tid": _numeric(tid), "oaid": oaid, "scene": scene}
                     for tid, oaid in items[i:i + OAID_BATCH]]
            body = await self.call("taobao.top.oaid.decrypt", {"query_list": query})
            for r in top_list(body.get("receiver_list"), "receiver"):
                d = as_dict(r, field_name="receiver")
                out.append((as_id(d.get("tid"), field_name="tid"), Address(
                    name=as_str(d.get("name")), mobile=as_str(d.get("mobile")),
                    province=as_str(d.get("state")), city=as_str(d.get("city")),
                    district=as_str(d.get("district")), detail=as_str(d.get("address_detail")),
                    oaid=as_str(d.get("oaid")))))
        return out

    # -------------------------------------------------------------------- TMC

    async def tmc_consume(self, *, quantity: int = 100, group: str = "") -> list[PushMessage]:
        """``taobao.tmc.messages.consume`` (10–200 messages); sleep ~100 ms when empty."""
        body = await self.call("taobao.tmc.messages.consume",
                               {"quantity": max(10, min(200, quantity)),
                                "group_name": group or None}, needs_token=False)
        out = []
        for m in top_list(body.get("messages"), "tmc_message"):
            d = as_dict(m, field_name="tmc_message")
            raw_content = d.get("content")
            content = as_dict(loads(raw_content) if isinstance(raw_content, str)
                              else raw_content or {}, field_name="content")
            tid = content.get("tid")
            out.append(PushMessage(
                id=as_id(d.get("id"), field_name="id"),
                topic=as_str(d.get("topic"), field_name="topic"),
                shop_id=as_id(d.get("user_id"), field_name="user_id"),
                content=content,
                order_id=as_id(tid, field_name="tid") if tid is not None else "",
                raw=d,
            ))
        return out

    async def tmc_confirm(self, message_ids: Sequence[str], *, group: str = "") -> None:
        """``taobao.tmc.messages.confirm`` (≤200 ids per call)."""
        for i in range(0, len(message_ids), 200):
            await self.call("taobao.tmc.messages.confirm",
                            {"s_message_ids": ",".join(message_ids[i:i + 200]),
                             "group_name": group or None}, needs_token=False)


def _top_list_or_empty(value: Any, element: str) -> list[Any]:
    """:func:`top_list`, a missing list read as empty."""
    return top_list(value if value is not None else [], element)


def routing_of(print_data: Any) -> dict[str, str]:
    """Sort code (大头笔) and package centre (集包地) from ``print_data``'s plain form
    (``data``, §2.6.5), when it is there; encrypted or unreadable print data gives none.
    The inner field names (``routingInfo.sortation.name``, ``.consolidation.name``) are
    [unverified]; the print data itself is forwarded unchanged either way."""
    try:
        data = json.loads(print_data)["data"]["routingInfo"]
        sort_code = str(data.get("sortation", {}).get("name", ""))
        centre = str(data.get("consolidation", {}).get("name", ""))
    except (ValueError, TypeError, KeyError, AttributeError):
        return {}
    return {"sort_code": sort_code, "package_centre": centre}


def _numeric(value: str) -> int | str:
    """LONG ids go out as numbers when they are numeric."""
    return int(value) if value.isdigit() else value


async def oauth_token(
    config: TopConfig, http: httpx.AsyncClient, grant: Mapping[str, str], *,
    clock: Callable[[], float] = time.time,
) -> Token:
    """POST a grant form (``authorization_code`` or ``refresh_token``) to the OAuth URL."""
    form = {"client_id": config.app_key, "client_secret": config.app_secret, **grant}
    try:
        response = await http.post(config.oauth_url, data=form, timeout=TOKEN_TIMEOUT)
    except httpx.HTTPError as err:
        raise transport_error(err, platform=PLATFORM, api="oauth/token") from err
    data = as_dict(loads(response.content), field_name="token")
    if data.get("error") == "invalid_grant":
        # the code or refresh token is used, expired, or the seller cancelled the app:
        # only a new consent helps (the worker marks the shop so)
        raise AuthorizationRefused("invalid_grant", str(data.get("error_description") or
                                                        "invalid_grant"),
                                   platform=PLATFORM, api="oauth/token")
    if "access_token" not in data:
        raise TokenExpired(f"获取 token 失败: {data.get('error_description', data)}",
                           platform=PLATFORM, api="oauth/token")
    now = clock()
    return Token(
        access_token=as_str(data.get("access_token")),
        refresh_token=as_str(data.get("refresh_token")),
        expires_at=now + as_int(data.get("expires_in"), default=0),
        refresh_expires_at=now + as_int(data.get("re_expires_in"), default=0),
        owner_id=as_str(data.get("taobao_user_id")),
    )


async def exchange_code(
    config: TopConfig, http: httpx.AsyncClient, code: str, redirect_uri: str = "", *,
    clock: Callable[[], float] = time.time,
) -> Token:
    """Exchange an authorization ``code`` for a token (``view=web``)."""
    return await oauth_token(config, http, {"grant_type": "authorization_code", "code": code,
                                            "redirect_uri": redirect_uri, "view": "web"},
                             clock=clock)


if TYPE_CHECKING:  # structural check: the client satisfies the port
    _PORT_CHECK: type[MarketplaceClient] = TaobaoClient
