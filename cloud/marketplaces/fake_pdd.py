"""Fake Pinduoduo open platform (docs/specs/marketplaces.md §1, checklist §6.1, settings §7).

``FakePdd`` is an ASGI callable: ``POST /api/router`` (gateway), ``POST /oauth/token``
and the PMC WebSocket ``/message/{client_id}/{timestamp_ms}/{sign}``.
Receiver ciphertext is a fake-only format: ``~<base64(nonce + AES-GCM(type|plain))>~``
with the order_sn as associated data.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from cloud.marketplaces.base import format_beijing
from cloud.marketplaces.fake_server import (
    MALFORMED_BODIES,
    FakeBase,
    FakeSettings,
    IssuedToken,
    read_params,
    standard_templates,
)
from cloud.marketplaces.generator import (
    Event,
    IssuedWaybill,
    Order,
    Phase,
    Refund,
    RefundPhase,
    Shipment,
    SimClock,
    StockPush,
)
from cloud.marketplaces.pdd import LIMITS, pdd_sign, pmc_sign

CARRIERS: list[tuple[int, str, str, int]] = [
    (1, "STO", "申通快递", 1), (3, "HT", "百世快递", 1), (44, "SF", "顺丰快递", 1),
    (85, "YTO", "圆通快递", 1), (115, "ZTO", "中通快递", 1), (117, "YS", "优速快递", 1),
    (118, "EMS", "邮政EMS", 1), (119, "TT", "天天快递", 0), (120, "JD", "京东配送", 1),
    (121, "YUNDA", "韵达快递", 1), (124, "GTO", "国通快递", 0), (129, "ZJS", "宅急送快递", 1),
    (131, "DB", "德邦快递", 1), (132, "YZXB", "邮政快递包裹", 1), (180, "SELF", "其他", 1),
    (183, "KYE", "跨越速运", 1), (208, "ANNENG", "安能快递", 1), (230, "DEBANGWULIU", "德邦物流", 1),
]
"""(id, code, name, available) from §1.7.6; 天天 and 国通 marked unavailable in the fake."""

NO_TOKEN_APIS = frozenset({"pdd.time.get", "pdd.logistics.companies.get",
                           "pdd.pop.auth.token.create", "pdd.pop.auth.token.refresh"})
"""APIs that do not need a user token (the token APIs make one from a code or refresh token)."""

TOKEN_APIS = frozenset({"pdd.pop.auth.token.create", "pdd.pop.auth.token.refresh"})
"""The gateway's token APIs (§1.6)."""

ORDER_LIST_MAX_WINDOW = 86400
"""``pdd.order.list.get``: longest confirm-time window, seconds (one day)."""

OWNER_NAME = "模拟店铺"
"""``owner_name`` in token replies (the fake's one shop)."""

REFUND_STATUS = {RefundPhase.SUCCESS: 10, RefundPhase.CLOSED: 11}
"""Neutral refund phase → after_sales_status (pending depends on shipping)."""


def _default_limits() -> dict[str, list[tuple[int, float, str]]]:
    return {api: [(lim.calls, lim.period, lim.scope) for lim in limits]
            for api, limits in LIMITS.items()}


class PddFakeSettings(FakeSettings):
    """PDD fake settings; every §7 open question is a field."""

    limits: dict[str, list[tuple[int, float, str]]] = Field(default_factory=_default_limits)
    """Per API (calls, period, scope); defaults to the published limits (§1.5)."""
    limit_codes: dict[str, int] = Field(
        default_factory=lambda: {"shop": 52101, "app": 52101, "api": 52101})
    """Error code per limiter level (52101 for all; 70031 selectable)."""
    window_error_code: int = 10000
    """Error for an increment window over 30 min."""
    max_window_seconds: int = 1800
    """Increment window limit."""
    logistics_error_code: int = 50001
    """Error for shipping business failures (sub_msg says why)."""
    accept_empty_signed: bool = False
    """Also accept signatures computed with ``""``-valued params included."""
    missing_token_code: int = 10001
    """Error when an authorised API is called without a token (10001 or 20032)."""
    decrypt_batch_max: int = 100
    """Max items per ``pdd.open.decrypt.batch``."""
    decrypt_daily_quota: int = 10000
    """Items a shop may decrypt per (Beijing) day."""
    decrypt_quota_code: int = 50001
    """Error once the daily quota is used up."""
    time_format: str = "datetime"
    """``pdd.time.get`` format: ``datetime`` (yyyy-MM-dd HH:mm:ss) or ``epoch``."""
    accept_cipher_recipient: bool = True
    """Whether ``pdd.waybill.get`` accepts PDD ciphertext as the recipient."""
    refund_sort_desc: bool = True
    """Sort order of ``pdd.refund.list.increment.get`` (newest first)."""
    refund_time_epoch: bool = False
    """Refund times as epoch strings instead of datetime strings."""
    end_lag_seconds: int = 0
    """If > 0, reject ``end_updated_at > now − end_lag_seconds`` (the "3-minute" rule)."""
    index_lag_seconds: int = 0
    """Changes become visible to the increment APIs this many seconds late."""
    carriers: list[tuple[int, str, str, int]] = Field(default_factory=lambda: list(CARRIERS))
    """Carrier list (id, code, name, available); J&T etc. can be added."""
    bad_code_error_code: int = 20032
    """Error for an unknown, used or expired authorisation code (``/oauth/token`` and
    ``pdd.pop.auth.token.create``; the real code is unpublished)."""
    bad_refresh_error_code: int = 20032
    """Error for a refresh token that is unknown, used, expired or revoked (unpublished)."""


PDD_TAG_NAMES: dict[int, str] = {1: "红色", 2: "黄色", 3: "绿色", 4: "蓝色", 5: "紫色"}
"""``remark_tag`` values and the colour each names."""
PDD_TAG_NAME_MAX = 3
"""Longest ``tag_name`` ``pdd.order.note.update`` takes."""
PDD_OUTER_GOODS_MAX = 10
"""Most ``outer_goods_id`` values ``pdd.goods.list.get`` takes at once (§1.7.9)."""
PDD_NOTE_MAX = 500
"""Longest note this fake takes (PDD does not publish its limit)."""


class PddFail(Exception):
    """A gateway error reply."""

    def __init__(self, code: int, msg: str, sub_msg: str = "", sub_code: str | None = None):
        super().__init__(code, msg)
        self.code = code
        self.msg = msg
        self.sub_msg = sub_msg
        self.sub_code = sub_code


def _mask_name(v: str) -> str:
    return v[:1] + "*" * max(1, len(v) - 1)


def _mask_phone(v: str) -> str:
    return v[:3] + "****" + v[-4:]


def _mask_addr(v: str) -> str:
    return v[:4] + "****"


def _yuan(fen: int) -> float:
    return round(fen / 100, 2)


class FakePdd(FakeBase):
    """Fake PDD gateway, OAuth endpoint and PMC push server (ASGI callable)."""

    platform = "pdd"
    gateway_path = "/api/router"
    """Gateway path (the client's ``gateway_url`` is base_url + this)."""

    def __init__(self, settings: PddFakeSettings | None = None, *, seed: int = 0,
                 clock: SimClock | None = None) -> None:
        self.settings: PddFakeSettings = settings or PddFakeSettings()
        super().__init__(self.settings, seed, clock)
        self._key = AESGCM(hashlib.sha256(f"fake-pdd-{seed}".encode()).digest()[:16])
        self.decrypt_used: Counter[tuple[str, str]] = Counter()
        """Items decrypted per (shop, Beijing day)."""
        self.pmc_pending: dict[int, list[Any]] = {}
        """Unacked push frames: id → [frame, next delivery (monotonic)]."""
        self.pmc_acked: list[int] = []
        """Ground truth: ACKed message ids, in order."""
        self.pmc_deliveries: Counter[int] = Counter()
        """How often each message id was sent (redelivery > 1)."""
        self.pmc_connections = 0
        """Accepted PMC connections."""
        self._msg_seq = 9_007_199_254_740_993
        self._handlers: dict[str, Callable[[dict[str, str]], dict[str, Any]]] = {
            "pdd.time.get": self._time,
            "pdd.order.number.list.increment.get": self._increment,
            "pdd.order.information.get": self._information,
            "pdd.order.list.get": self._order_list,
            "pdd.open.decrypt.batch": self._decrypt,
            "pdd.logistics.companies.get": self._companies,
            "pdd.logistics.online.send": self._online_send,
            "pdd.order.note.update": self._note_update,
            "pdd.waybill.get": self._waybill,
            "pdd.waybill.search": self._waybill_search,
            "pdd.waybill.cancel": self._waybill_cancel,
            "pdd.cloudprint.stdtemplates.get": self._stdtemplates,
            "pdd.goods.quantity.update": self._quantity,
            "pdd.refund.list.increment.get": self._refunds,
            "pdd.goods.list.get": self._goods_list,
            "pdd.goods.sku.list.get": self._goods_sku_list,
            "pdd.goods.skus.get": self._goods_skus_get,
            "pdd.pop.auth.token.create": self._token_create,
            "pdd.pop.auth.token.refresh": self._token_refresh,
        }
        self.app = Starlette(routes=[
            Route(self.gateway_path, self._router, methods=["POST"]),
            Route("/oauth/token", self._oauth, methods=["POST"]),
            *self.consent_routes(),
            WebSocketRoute("/message/{client_id}/{ts}/{sign:path}", self._pmc),
        ])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def _history_carrier(self) -> str:
        return "115"

    # ------------------------------------------------------------ crypto

    def encrypt(self, order_sn: str, data_type: int, plain: str) -> str:
        """Fake ciphertext (deterministic per seed, order and value)."""
        nonce = hashlib.sha256(f"{order_sn}|{data_type}|{plain}".encode()).digest()[:12]
        blob = nonce + self._key.encrypt(nonce, f"{data_type}|{plain}".encode(),
                                         order_sn.encode())
        return "~" + base64.b64encode(blob).decode() + "~"

    def decrypt_value(self, order_sn: str, cipher: str) -> tuple[int, str] | None:
        """(data_type, plain) or None if ``cipher`` is not ours for that order."""
        if len(cipher) < 3 or not (cipher.startswith("~") and cipher.endswith("~")):
            return None
        try:
            blob = base64.b64decode(cipher[1:-1], validate=True)
            plain = self._key.decrypt(blob[:12], blob[12:], order_sn.encode()).decode()
        except (ValueError, InvalidTag):
            return None
        kind, _, value = plain.partition("|")
        return int(kind), value

    # ------------------------------------------------------------- render

    def _time(self, params: dict[str, str]) -> dict[str, Any]:
        now = self.now()
        value = str(now) if self.settings.time_format == "epoch" else format_beijing(
            datetime.fromtimestamp(now, UTC))
        return {"time_get_response": {"time": value}}

    @staticmethod
    def _t(epoch: int) -> str:
        return format_beijing(datetime.fromtimestamp(epoch, UTC)) if epoch else ""

    @staticmethod
    def order_status(o: Order) -> int:
        """PDD order_status (发货状态)."""
        return {Phase.AWAITING: 1, Phase.CLOSED: 1, Phase.SHIPPED: 2, Phase.DELIVERED: 3}[o.phase]

    @staticmethod
    def order_refund_status(o: Order) -> int:
        """PDD order-level refund_status."""
        return {None: 1, RefundPhase.PENDING: 2, RefundPhase.SUCCESS: 4,
                RefundPhase.CLOSED: 1}[o.refund]

    def render_order(self, o: Order) -> dict[str, Any]:
        """PDD order JSON: ciphertext only while 待发货 and not under review."""
        refund = self.order_refund_status(o)
        visible = o.phase is Phase.AWAITING and not o.risk_review and refund != 4
        r = o.receiver
        full_addr = f"{r.province}{r.city}{r.district}{r.detail}"

        def item(line: Any) -> dict[str, Any]:
            return {"goods_id": int(line.sku.item_id), "goods_name": line.sku.title,
                    "goods_img": "", "sku_id": int(line.sku.sku_id),
                    "outer_id": line.sku.outer_id,
                    "outer_goods_id": line.sku.outer_id.split("-")[0],
                    "goods_spec": line.sku.spec, "goods_count": line.qty,
                    "goods_price": _yuan(line.price_fen)}

        return {
            "order_sn": o.order_id, "order_status": self.order_status(o),
            "refund_status": refund,
            "after_sales_status": self.order_after_sales(o),
            "confirm_status": 1, "group_status": 1,
            "risk_control_status": 1 if o.risk_review else 0, "trade_type": 0,
            "is_lucky_flag": 1, "created_time": self._t(o.created_at),
            "confirm_time": self._t(o.created_at), "pay_time": self._t(o.created_at),
            "updated_at": self._t(o.updated_at), "shipping_time": self._t(o.shipped_at),
            "last_ship_time": self._t(o.created_at + 48 * 3600),
            "goods_amount": _yuan(o.pay_fen), "pay_amount": _yuan(o.pay_fen),
            "discount_amount": 0, "postage": 0,
            "item_list": [item(ln) for ln in o.lines if not ln.is_gift],
            "gift_list": [{**item(ln), "order_sn": o.order_id} for ln in o.lines if ln.is_gift],
            "receiver_name": self.encrypt(o.order_id, 5, r.name) if visible else "",
            "receiver_phone": self.encrypt(o.order_id, 6, r.phone) if visible else "",
            "receiver_address": self.encrypt(o.order_id, 8, r.detail) if visible else "",
            "address": self.encrypt(o.order_id, 7, full_addr) if visible else "",
            "receiver_name_mask": _mask_name(r.name),
            "receiver_phone_mask": _mask_phone(r.phone),
            "receiver_address_mask": _mask_addr(r.detail), "address_mask": _mask_addr(full_addr),
            "country": "中国", "province": r.province, "city": r.city, "town": r.district,
            # 合单ID: one value per buyer and address (the ciphertexts differ per order)
            "open_address_id_2": self._open_address_id(o) if visible else "",
            "logistics_id": int(o.carrier) if o.carrier else 0,
            "tracking_number": o.tracking_number, "buyer_memo": o.buyer_note,
            "remark": o.seller_note, "remark_tag": o.seller_flag or None,
            "remark_tag_name": PDD_TAG_NAMES.get(o.seller_flag, ""),
        }

    # ----------------------------------------------------------- handlers

    @staticmethod
    def _need(params: dict[str, str], *names: str) -> None:
        for name in names:
            if params.get(name, "") == "":
                raise PddFail(10000, "参数错误", f"{name} 不能为空")

    @staticmethod
    def _int(params: dict[str, str], name: str, default: int | None = None) -> int:
        raw = params.get(name)
        if raw in (None, "") and default is not None:
            return default
        try:
            return int(str(raw))
        except ValueError:
            raise PddFail(10000, "参数错误", f"{name} 必须是整数") from None

    def _window(self, params: dict[str, str]) -> tuple[int, int]:
        self._need(params, "start_updated_at", "end_updated_at")
        start = self._int(params, "start_updated_at")
        end = self._int(params, "end_updated_at")
        if end < start or end - start > self.settings.max_window_seconds:
            raise PddFail(self.settings.window_error_code, "参数错误",
                          "查询时间跨度不能超过30分钟")
        lag = self.settings.end_lag_seconds
        if lag and end > self.now() - lag:
            raise PddFail(10000, "参数错误", f"结束时间需早于系统时间{lag}秒")
        return start, end

    def _page(self, params: dict[str, str]) -> tuple[int, int]:
        page = self._int(params, "page", 1)
        size = min(self._int(params, "page_size", 100), 100)
        if page < 1 or size < 1:
            raise PddFail(10000, "参数错误", "page/page_size 无效")
        return page, size

    def _order_list(self, params: dict[str, str]) -> dict[str, Any]:
        """``pdd.order.list.get``: orders by the time they were confirmed (paid and grouped),
        ``start_confirm_at``..``end_confirm_at`` in epoch seconds, at most a day apart, with
        the same status filters and order bodies as the increment API (root
        ``order_list_get_response``: ``total_count``, ``has_next``, ``order_list``). Public
        SDKs call it; Packline reads the increment API. The one-day limit and its wording
        are as the open platform's page gives them [unverified]."""
        self._need(params, "order_status", "refund_status", "start_confirm_at",
                   "end_confirm_at")
        start = self._int(params, "start_confirm_at")
        end = self._int(params, "end_confirm_at")
        if end < start or end - start > ORDER_LIST_MAX_WINDOW:
            raise PddFail(10000, "参数错误", "start_confirm_at 与 end_confirm_at 的时间跨度不能超过24小时")
        page, size = self._page(params)
        want_state = self._int(params, "order_status")
        want_refund = self._int(params, "refund_status")
        rows = [o for o in self.gen.orders.values()
                if start <= o.created_at <= end
                and (want_state == 5 or self.order_status(o) == want_state)
                and (want_refund == 5 or self.order_refund_status(o) == want_refund)]
        rows.sort(key=lambda o: (o.created_at, o.order_id))
        chunk = [self.render_order(o) for o in rows[(page - 1) * size: page * size]]
        return {"order_list_get_response": {
            "total_count": len(rows), "has_next": page * size < len(rows),
            "order_list": chunk}}

    def _increment(self, params: dict[str, str]) -> dict[str, Any]:
        self._need(params, "order_status", "refund_status", "is_lucky_flag", "page")
        start, end = self._window(params)
        page, size = self._page(params)
        want_state = self._int(params, "order_status")
        want_refund = self._int(params, "refund_status")
        visible_before = self.now() - self.settings.index_lag_seconds
        oldest = self.now() - self.settings.max_order_age_days * 86400
        rows = []
        for o in self.gen.orders.values():
            if not (start <= o.updated_at <= end) or o.updated_at > visible_before:
                continue
            if o.created_at < oldest:
                continue
            if want_state != 5 and self.order_status(o) != want_state:
                continue
            if want_refund != 5 and self.order_refund_status(o) != want_refund:
                continue
            rows.append(o)
        rows.sort(key=lambda o: (o.updated_at, o.order_id), reverse=True)
        chunk = [self.render_order(o) for o in rows[(page - 1) * size: page * size]]
        use_has_next = params.get("use_has_next") == "true"
        return {"order_sn_increment_get_response": {
            "total_count": 0 if use_has_next else len(rows),
            "has_next": page * size < len(rows), "order_sn_list": chunk}}

    def _get_order(self, order_sn: str) -> Order:
        order = self.gen.orders.get(order_sn)
        if order is None:
            raise PddFail(50001, "业务服务错误", "订单不存在")
        return order

    def _information(self, params: dict[str, str]) -> dict[str, Any]:
        self._need(params, "order_sn")
        order = self._get_order(params["order_sn"])
        return {"order_info_get_response": {"order_info": self.render_order(order)}}

    def _decrypt(self, params: dict[str, str]) -> dict[str, Any]:
        self._need(params, "data_list")
        try:
            items = json.loads(params["data_list"])
        except ValueError:
            raise PddFail(10000, "参数错误", "data_list 不是合法 JSON") from None
        if not isinstance(items, list) or not items:
            raise PddFail(10000, "参数错误", "data_list 不能为空")
        if len(items) > self.settings.decrypt_batch_max:
            raise PddFail(10000, "参数错误",
                          f"data_list 最多 {self.settings.decrypt_batch_max} 条")
        day = format_beijing(datetime.fromtimestamp(self.now(), UTC))[:10]
        key = (self.settings.shop_id, day)
        if self.decrypt_used[key] + len(items) > self.settings.decrypt_daily_quota:
            raise PddFail(self.settings.decrypt_quota_code, "业务服务错误", "今日解密额度已用完")
        self.decrypt_used[key] += len(items)
        out = []
        for entry in items:
            tag = str(entry.get("data_tag", "")) if isinstance(entry, dict) else ""
            cipher = str(entry.get("encrypted_data", "")) if isinstance(entry, dict) else ""
            result = self.decrypt_value(tag, cipher)
            out.append({
                "data_tag": tag, "encrypted_data": cipher,
                "data_type": result[0] if result else 0,
                "decrypted_data": result[1] if result else "",
                "error_code": 0 if result else 1000,
                "error_msg": "" if result else "解密失败",
                "virtual_number_type": 0, "virtual_identify_number": "",
            })
        return {"open_decrypt_batch_response": {"data_decrypt_list": out}}

    def _companies(self, params: dict[str, str]) -> dict[str, Any]:
        return {"logistics_companies_get_response": {"logistics_companies": [
            {"id": cid, "code": code, "logistics_company": name, "available": avail}
            for cid, code, name, avail in self.settings.carriers]}}

    def _online_send(self, params: dict[str, str]) -> dict[str, Any]:
        self._need(params, "order_sn", "logistics_id", "tracking_number")
        order = self._get_order(params["order_sn"])
        code = self.settings.logistics_error_code
        carrier = {str(c[0]): c for c in self.settings.carriers}.get(params["logistics_id"])
        if carrier is None or carrier[3] != 1:
            raise PddFail(code, "业务服务错误", "物流公司不可用")
        modify = self._int(params, "redelivery_type", 1) == 2
        if modify:
            if order.phase not in (Phase.SHIPPED, Phase.DELIVERED):
                raise PddFail(code, "业务服务错误", "订单未发货，不能修改物流")
        else:
            if order.phase is Phase.CLOSED or order.refund is RefundPhase.SUCCESS:
                raise PddFail(code, "业务服务错误", "订单已取消或已退款，不能发货")
            if order.phase is not Phase.AWAITING:
                raise PddFail(code, "业务服务错误", "订单已发货")
            if order.risk_review:
                raise PddFail(code, "业务服务错误", "订单审核中，暂不能发货")
        now = self.now()
        order.carrier = params["logistics_id"]
        order.tracking_number = params["tracking_number"]
        if not modify:
            order.phase = Phase.SHIPPED
            order.shipped_at = now
            self.gen.on_shipped(order, now)
        self.gen.touch(order, now)
        self.shipments.append(Shipment(order.order_id, order.carrier, order.tracking_number,
                                       now, modification=modify))
        self._publish_events()
        return {"logistics_online_send_response": {"is_success": True}}

    def _open_address_id(self, o: Order) -> str:
        """``open_address_id_2``: stable for one shop's buyer and address."""
        r = o.receiver
        key = "|".join((o.shop_id, r.name, r.phone, r.province, r.city, r.district, r.detail))
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    def _note_update(self, params: dict[str, str]) -> dict[str, Any]:
        """``pdd.order.note.update`` (编辑商家订单备注): ``note``; ``tag`` (1 红 … 5 紫) and
        ``tag_name`` (at most 3 characters) together or not at all. The note's length limit
        is not published: this fake takes ``PDD_NOTE_MAX`` characters (unverified)."""
        self._need(params, "order_sn")
        order = self._get_order(params["order_sn"])
        note = params.get("note", "")
        tag_given, name_given = params.get("tag", "") != "", params.get("tag_name", "") != ""
        if tag_given != name_given:
            raise PddFail(10000, "参数错误", "tag 与 tag_name 须同时传入或同时不传")
        tag = self._int(params, "tag") if tag_given else order.seller_flag
        if tag_given and (tag not in PDD_TAG_NAMES or len(params["tag_name"]) > PDD_TAG_NAME_MAX):
            raise PddFail(10000, "参数错误", "tag 取值 1-5, tag_name 最长 3 个字符")
        if len(note) > PDD_NOTE_MAX:
            raise PddFail(10000, "参数错误", f"note 最长 {PDD_NOTE_MAX} 个字符")
        order.seller_note, order.seller_flag = note, tag
        self.gen.touch(order, self.now())
        return {"response": {"success": True}}

    def _waybill(self, params: dict[str, str]) -> dict[str, Any]:
        self._need(params, "param_waybill_cloud_print_apply_new_request")
        try:
            req = json.loads(params["param_waybill_cloud_print_apply_new_request"])
            wp_code = str(req["wp_code"])
            dtos = list(req["trade_order_info_dtos"])
        except (ValueError, KeyError, TypeError):
            raise PddFail(10000, "参数错误", "param_waybill_cloud_print_apply_new_request 无效"
                          ) from None
        if wp_code not in {c[1] for c in self.settings.carriers}:
            raise PddFail(50001, "业务服务错误", f"未开通 {wp_code} 电子面单")
        if not 1 <= len(dtos) <= 10:
            raise PddFail(10000, "参数错误", "trade_order_info_dtos 需 1~10 个")
        # Every package is checked before any number is taken: a refused request issues
        # nothing (a number taken for a package of a request that then fails would be an
        # orphan the caller never hears of).
        checked: list[tuple[list[str], str, dict[str, Any]]] = []
        for dto in dtos:
            try:
                orders = [str(x) for x in dto["order_info"]["trade_order_list"]]
                recipient = dto["recipient"]
                name, mobile = str(recipient["name"]), str(recipient.get("mobile", ""))
                detail = str(recipient["address"]["detail"])
                object_id = str(dto["object_id"])
            except (KeyError, TypeError):
                raise PddFail(10000, "参数错误", "trade_order_info_dto 缺少字段") from None
            if not orders or len(orders) > 100 or any(o not in self.gen.orders for o in orders):
                raise PddFail(50001, "业务服务错误", "订单不存在")
            for value in (name, mobile, detail):
                if value.startswith("~") and (not self.settings.accept_cipher_recipient
                                              or self.decrypt_value(orders[0], value) is None):
                    raise PddFail(50001, "业务服务错误", "收件人密文无效")
            checked.append((orders, object_id, dto))
        refused = self.waybill_book.short_of(wp_code, req.get("sender"), len(checked))
        if refused:
            raise PddFail(50001, "业务服务错误", refused)
        modules = []
        for orders, object_id, dto in checked:
            self.waybill_book.take(wp_code, req.get("sender"))
            recipient = dto["recipient"]
            number = self._waybill_number(wp_code)
            print_data = json.dumps({
                "encryptedData": base64.b64encode(hashlib.sha256(
                    f"{number}|{self.seed}".encode()).digest()).decode(),
                "signature": hashlib.md5(number.encode(), usedforsecurity=False).hexdigest(),
                "templateUrl": str(dto.get("template_url", "")),
                "ver": "fake_waybill_print_v1"}, separators=(",", ":"))
            sender = req.get("sender")
            self.waybills.append(IssuedWaybill(
                number, wp_code, tuple(orders), object_id, dict(recipient),
                dict(sender) if isinstance(sender, dict) else {},
                str(dto.get("template_url", ""))))
            modules.append({"object_id": object_id, "waybill_code": number,
                            "print_data": print_data, "parent_waybill_code": ""})
        return {"pdd_waybill_get_response": {"modules": modules}}

    def _waybill_cancel(self, params: dict[str, str]) -> dict[str, Any]:
        """``pdd.waybill.cancel`` (``wp_code``, ``waybill_code``) → ``cancel_result``: the
        number dies and its unit returns to the branch. Refused: a number this app never
        took for that courier, one already cancelled, one a parcel shipped with (the
        refusal texts are the fake's own; the spec publishes none)."""
        self._need(params, "wp_code", "waybill_code")
        number = params["waybill_code"]
        issued = next((w for w in self.waybills if w.number == number
                       and w.carrier == params["wp_code"]), None)
        if issued is None:
            raise PddFail(50001, "业务服务错误", "面单号不存在")
        if issued.cancelled:
            raise PddFail(50001, "业务服务错误", "面单号已取消")
        if any(self.gen.orders[o].tracking_number == number for o in issued.order_ids
               if o in self.gen.orders):
            raise PddFail(50001, "业务服务错误", "面单号已发货, 不能取消")
        issued.cancelled = True
        self.waybill_book.give_back(issued.carrier, issued.sender)
        return {"pdd_waybill_cancel_response": {"cancel_result": True}}

    def _wp_code(self, params: dict[str, str]) -> str:
        """The optional ``wp_code`` filter: empty, or a known carrier code."""
        wp_code = params.get("wp_code", "")
        if wp_code and wp_code not in {c[1] for c in self.settings.carriers}:
            raise PddFail(10000, "参数错误", f"wp_code 无效: {wp_code}")
        return wp_code

    def _waybill_search(self, params: dict[str, str]) -> dict[str, Any]:
        """``pdd.waybill.search`` (§1.7.8): subscriptions per courier with their branch
        accounts, balances and sender addresses. The spec gives the branch fields; the
        root key and the subscription's ``wp_code`` follow the API's naming."""
        cols = [sub.model_dump() for sub in self.waybill_book.of(self._wp_code(params))]
        return {"pdd_waybill_search_response": {"waybill_apply_subscription_cols": cols}}

    def _stdtemplates(self, params: dict[str, str]) -> dict[str, Any]:
        """``pdd.cloudprint.stdtemplates.get`` (§1.7.8): every available carrier's standard
        templates (76×130 and 100×180), or one carrier's with ``wp_code``."""
        wp_code = self._wp_code(params)
        codes = [(i, c[1]) for i, c in enumerate(self.settings.carriers) if c[3] and wp_code in ("", c[1])]
        return {"pdd_cloudprint_stdtemplates_get_response": {"result": {"datas": standard_templates(
            codes, "https://file-link.pinduoduo.com/fake_std_template_")}}}

    def _waybill_number(self, wp_code: str) -> str:
        n = 10**11 + len(self.waybills) * 7919 + self.gen.rng.randrange(7919)
        return {"SF": f"SF{n:013d}", "YTO": f"YT{n:013d}", "JD": f"JDV{n:012d}"}.get(
            wp_code, f"7{n:014d}")

    def _quantity(self, params: dict[str, str]) -> dict[str, Any]:
        self._need(params, "goods_id", "quantity")
        sku_id, outer = params.get("sku_id", ""), params.get("outer_id", "")
        if not sku_id and not outer:
            raise PddFail(10000, "参数错误", "sku_id 与 outer_id 不能同时为空")
        quantity = self._int(params, "quantity")
        kind = self._int(params, "update_type", 1)
        if kind not in (1, 2):
            raise PddFail(10000, "参数错误", "update_type 只能是 1 或 2")
        sku = self.gen.sku_by(params["goods_id"], sku_id, outer)
        if sku is None:
            raise PddFail(50001, "业务服务错误", "商品或SKU不存在")
        result = quantity if kind == 1 else sku.quantity + quantity
        if kind == 1 and quantity < 0:
            raise PddFail(10000, "参数错误", "quantity 不能小于0")
        if result < 0:
            raise PddFail(50001, "业务服务错误", "库存不能小于0")
        sku.quantity = result
        self.stock_pushes.append(StockPush(sku.item_id, sku.sku_id, quantity, kind == 2,
                                           result, self.now()))
        return {"goods_quantity_update_response": {"is_success": True}}

    # ------------------------------------------------------------ goods

    def _goods(self) -> dict[str, list[Any]]:
        """The catalog grouped by goods id (ascending), each with its SKUs."""
        goods: dict[str, list[Any]] = {}
        for sku in sorted(self.gen.catalog, key=lambda k: (int(k.item_id), int(k.sku_id))):
            goods.setdefault(sku.item_id, []).append(sku)
        return goods

    def _render_sku(self, sku: Any) -> dict[str, Any]:
        return {"sku_id": int(sku.sku_id), "outer_id": sku.outer_id,
                "outer_goods_id": sku.outer_id.split("-")[0], "spec": sku.spec,
                "sku_quantity": sku.quantity, "is_sku_onsale": 1, "reserve_quantity": 0}

    def _goods_list(self, params: dict[str, str]) -> dict[str, Any]:
        """``pdd.goods.list.get`` (§1.7.9): the shop's goods with their SKUs, by page;
        filters ``is_onsale`` (1 on sale, 0 off), ``outer_id``, ``goods_name``,
        ``outer_goods_id`` (≤ 10, comma-separated)."""
        page, size = self._page(params)
        onsale = params.get("is_onsale", "")
        if onsale not in ("", "0", "1"):
            raise PddFail(10000, "参数错误", "is_onsale 只能是 0 或 1")
        outer_goods = [v for v in params.get("outer_goods_id", "").split(",") if v]
        if len(outer_goods) > PDD_OUTER_GOODS_MAX:
            raise PddFail(10000, "参数错误", "outer_goods_id 最多 10 个")
        name, outer = params.get("goods_name", ""), params.get("outer_id", "")
        rows = []
        for goods_id, skus in self._goods().items():
            if onsale == "0":  # every goods of the fake is on sale
                continue
            if name and name not in skus[0].title:
                continue
            if outer and all(k.outer_id != outer for k in skus):
                continue
            if outer_goods and all(k.outer_id.split("-")[0] not in outer_goods for k in skus):
                continue
            rows.append((goods_id, skus))
        out = [{"goods_id": int(goods_id), "goods_name": skus[0].title, "is_onsale": 1,
                "goods_quantity": sum(k.quantity for k in skus), "goods_reserve_quantity": 0,
                "image_url": "", "thumb_url": "", "sku_list": [self._render_sku(k) for k in skus]}
               for goods_id, skus in rows[(page - 1) * size: page * size]]
        return {"goods_list_get_response": {"goods_list": out, "total_count": len(rows)}}

    def _one_goods(self, params: dict[str, str]) -> list[Any]:
        self._need(params, "goods_id")
        self._int(params, "goods_id")
        skus = self._goods().get(params["goods_id"])
        if skus is None:
            raise PddFail(50001, "业务服务错误", "商品不存在")
        return skus

    def _goods_sku_list(self, params: dict[str, str]) -> dict[str, Any]:
        """``pdd.goods.sku.list.get``: the SKUs of one goods id."""
        skus = self._one_goods(params)
        return {"goods_sku_list_get_response": {
            "goods_id": int(params["goods_id"]),
            "sku_list": [self._render_sku(k) for k in skus]}}

    def _goods_skus_get(self, params: dict[str, str]) -> dict[str, Any]:
        """``pdd.goods.skus.get`` (§1.7.9): one SKU's quantity and 商家编码 (``out_sku_sn``)."""
        self._need(params, "sku_id")
        self._int(params, "sku_id")
        sku = next((k for k in self._one_goods(params) if k.sku_id == params["sku_id"]), None)
        if sku is None:
            raise PddFail(50001, "业务服务错误", "SKU不存在")
        return {"goods_sku_get_response": {
            "goods_id": int(sku.item_id), "sku_id": int(sku.sku_id), "quantity": sku.quantity,
            "reserve_quantity": 0, "out_sku_sn": sku.outer_id, "spec": sku.spec,
            "is_onsale": 1}}

    def order_after_sales(self, order: Any) -> int:
        """The order's ``after_sales_status``: 0 without an after-sales request, else its
        latest request's status in the documented enum (2 待商家处理, 3 退货退款, 10 退款成功,
        11 买家撤销 …), as the refund API reports it."""
        if order.refund is None:
            return 0
        records = self.gen.refunds_by_order.get(order.order_id, [])
        latest = max(records, key=lambda r: r.updated_at, default=None)
        return 0 if latest is None else self.refund_status(latest)

    def refund_status(self, refund: Refund) -> int:
        """after_sales_status of a refund."""
        if refund.status is RefundPhase.PENDING:
            return 3 if refund.after_shipping else 2
        return REFUND_STATUS[refund.status]

    def _refunds(self, params: dict[str, str]) -> dict[str, Any]:
        self._need(params, "after_sales_status", "after_sales_type")
        start, end = self._window(params)
        page, size = self._page(params)
        status = self._int(params, "after_sales_status")
        kind = self._int(params, "after_sales_type")
        rows = []
        for r in self.gen.refunds.values():
            if not start <= r.updated_at <= end or self.refund_status(r) != status:
                continue
            if (kind == 2 and r.after_shipping) or (kind == 3 and not r.after_shipping):
                continue
            if kind not in (1, 2, 3):
                continue
            rows.append(r)
        rows.sort(key=lambda r: (r.updated_at, r.refund_id),
                  reverse=self.settings.refund_sort_desc)

        def t(epoch: int) -> str:
            return str(epoch) if self.settings.refund_time_epoch else self._t(epoch)

        out = [{
            "id": int(r.refund_id), "order_sn": r.order.order_id,
            "after_sales_status": self.refund_status(r),
            "after_sales_type": 2 if r.after_shipping else 1,
            "after_sale_reason": r.reason, "refund_amount": f"{r.amount_fen / 100:.2f}",
            "order_amount": f"{r.order.pay_fen / 100:.2f}", "goods_id": int(r.line.sku.item_id),
            "goods_name": r.line.sku.title, "goods_number": str(r.line.qty),
            "goods_price": f"{r.line.price_fen / 100:.2f}", "sku_id": r.line.sku.sku_id,
            "outer_id": r.line.sku.outer_id, "tracking_number": r.return_waybill,
            "shipping_name": r.return_carrier,
            "created_time": t(r.created_at), "updated_time": t(r.updated_at),
        } for r in rows[(page - 1) * size: page * size]]
        return {"refund_increment_get_response": {"total_count": len(rows), "refund_list": out}}

    # ------------------------------------------------------------- router

    def _reply(self, api: str, body: dict[str, Any], status: int = 200) -> Response:
        return Response(json.dumps(body, ensure_ascii=False), status_code=status,
                        media_type="application/json")

    def _error(self, api: str, fail: PddFail) -> Response:
        self.rejections.append((api, str(fail.code)))
        return self._reply(api, {"error_response": {
            "error_code": fail.code, "error_msg": fail.msg, "sub_code": fail.sub_code,
            "sub_msg": fail.sub_msg, "request_id": str(time.time_ns())}},
            self.settings.error_http_status)

    def _check(self, api: str, params: dict[str, str]) -> None:
        s = self.settings
        if not api:
            raise PddFail(10001, "公共参数错误:type")
        if not params.get("client_id"):
            raise PddFail(10001, "公共参数错误:client_id")
        if params["client_id"] != s.app_key:
            raise PddFail(10016, "client下线或者clientId不正确")
        try:
            ts = int(params.get("timestamp", ""))
        except ValueError:
            raise PddFail(10001, "公共参数错误:timestamp") from None
        if abs(self.now() - ts) > s.timestamp_tolerance:
            raise PddFail(10001, "公共参数错误:timestamp", "timestamp 与服务器时间相差超过10分钟")
        sign = params.get("sign", "")
        if not sign:
            raise PddFail(10001, "公共参数错误:sign")
        without_empty = {k: v for k, v in params.items() if v != ""}
        ok = pdd_sign(without_empty, s.app_secret) == sign
        if not ok and s.accept_empty_signed:
            ok = pdd_sign(params, s.app_secret) == sign
        if not ok:
            raise PddFail(20004, "签名sign校验失败")
        if api not in self._handlers:
            raise PddFail(10017, "type不正确")

    def _shop_of(self, api: str, params: dict[str, str]) -> str:
        if api in NO_TOKEN_APIS:
            return "*"
        token = params.get("access_token", "")
        if not token:
            code = self.settings.missing_token_code
            raise PddFail(code, "公共参数错误:access_token" if code == 10001
                          else "access_token或client_id错误")
        state = self.tokens.check(token)
        if state == "unknown":
            raise PddFail(20032, "access_token或client_id错误")
        if state == "expired":
            raise PddFail(10019, "access_token已过期")
        return self.tokens.by_access[token].shop_id

    async def _router(self, request: Request) -> Response:
        params = await read_params(request)
        api = params.get("type", "")
        with self.lock:
            self.calls[api or "?"] += 1
            try:
                self._check(api, params)
                shop = self._shop_of(api, params)
                scope = self.limiter.hit(shop, self.settings.app_key, api)
                if scope is not None:
                    code = self.settings.limit_codes.get(scope, 52101)
                    raise PddFail(code, "当前接口被限流，请稍后重试" if code == 52101
                                  else "调用过于频繁，请调整调用频率")
            except PddFail as fail:
                return self._error(api, fail)
            # the token APIs are spared injected faults, as /oauth/token is: a refresh whose
            # reply is lost leaves the shop with a used refresh token (re-authorise)
            fault = None if api in TOKEN_APIS else self.faults.pick()
        if fault == "timeout":
            await self.stall()
        with self.lock:
            if fault == "timeout" and not self.settings.timeout_applies_effect:
                return self._error(api, PddFail(50000, "系统内部错误"))
            if fault == "rate_limit":
                return self._error(api, PddFail(52101, "当前接口被限流，请稍后重试"))
            if fault == "token_expired":
                return self._error(api, PddFail(10019, "access_token已过期"))
            if fault == "business":
                return self._error(api, PddFail(50002, "业务系统内部异常"))
            if fault == "malformed":
                self.rejections.append((api, "malformed"))
                body = MALFORMED_BODIES[self.faults.injected["malformed"] % len(MALFORMED_BODIES)]
                return Response(body, media_type="application/json")
            try:
                return self._reply(api, self._handlers[api](params))
            except PddFail as fail:
                return self._error(api, fail)

    async def _oauth(self, request: Request) -> Response:
        try:
            data = json.loads(await request.body())
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return self._reply("oauth", {"error_response": {
                "error_code": 10000, "error_msg": "参数错误"}})
        with self.lock:
            if data.get("client_id") != self.settings.app_key or data.get(
                    "client_secret") != self.settings.app_secret:
                return self._reply("oauth", {"error_response": {
                    "error_code": 10016, "error_msg": "client下线或者clientId不正确"}})
            grant = data.get("grant_type")
            try:
                if grant == "refresh_token":
                    body = self._refreshed(str(data.get("refresh_token") or ""))
                elif grant == "authorization_code":
                    body = self._redeemed(str(data.get("code") or ""))
                else:
                    raise PddFail(10000, "参数错误", "grant_type 只能是 authorization_code 或 "
                                  "refresh_token")
            except PddFail as fail:
                return self._reply("oauth", {"error_response": {
                    "error_code": fail.code, "error_msg": fail.msg, "sub_msg": fail.sub_msg}})
            return self._reply("oauth", body)

    def _token_body(self, token: IssuedToken) -> dict[str, Any]:
        """The token fields of §1.6 (the same in ``/oauth/token`` and the gateway APIs)."""
        now = self.now()
        expires_at, refresh_at = int(token.expires_at), int(token.refresh_expires_at)
        levels = {f"{level}_expires_{unit}": value for level in ("r1", "r2", "w1", "w2")
                  for unit, value in (("at", expires_at), ("in", expires_at - now))}
        return {"access_token": token.access_token, "expires_at": expires_at,
                "expires_in": expires_at - now, "refresh_token": token.refresh_token,
                "refresh_token_expires_at": refresh_at,
                "refresh_token_expires_in": refresh_at - now, "owner_id": token.shop_id,
                "owner_name": OWNER_NAME, "scope": sorted(self._handlers), **levels}

    def _redeemed(self, code: str) -> dict[str, Any]:
        token = self.tokens.issue_for_code(code, self.settings.shop_id) if code else None
        if token is None:
            raise PddFail(self.settings.bad_code_error_code, "access_token或client_id错误",
                          "授权码无效、已使用或已过期")
        return self._token_body(token)

    def _refreshed(self, refresh_token: str) -> dict[str, Any]:
        problem = self.tokens.refresh_problem(refresh_token)
        token = self.tokens.refresh(refresh_token) if problem is None else None
        if token is None:
            raise PddFail(self.settings.bad_refresh_error_code, "access_token或client_id错误", {
                "revoked": "商家已取消授权, 需重新授权", "expired": "refresh_token 已过期",
            }.get(problem or "", "refresh_token 无效或已使用"))
        return self._token_body(token)

    def _token_create(self, params: dict[str, str]) -> dict[str, Any]:
        """``pdd.pop.auth.token.create``: a code from the consent page → a token pair."""
        self._need(params, "code")
        return {"pop_auth_token_create_response": self._redeemed(params["code"])}

    def _token_refresh(self, params: dict[str, str]) -> dict[str, Any]:
        """``pdd.pop.auth.token.refresh``: a refresh token → a new pair (the old one is used)."""
        self._need(params, "refresh_token")
        return {"pop_auth_token_refresh_response": self._refreshed(params["refresh_token"])}

    # --------------------------------------------------------------- push

    def publish(self, event: Event) -> None:
        """Queue a PMC frame for a generator event."""
        topic = {
            "created": "pdd_trade_TradeConfirmed", "risk_changed": "pdd_trade_TradeRiskChanged",
            "address_changed": "pdd_trade_TradeLogisticsAddressChanged",
            "shipped": "pdd_trade_TradeSellerShip", "refund_created": "pdd_refund_RefundCreated",
            "refund_success": "pdd_refund_RefundAgreeAgreement",
            "refund_closed": "pdd_refund_RefundClosed",
        }[event.kind]
        content: dict[str, Any] = {"mall_id": int(event.shop_id), "tid": event.order_id}
        if event.refund_id:
            content.update(refund_id=int(event.refund_id), refund_fee=event.refund_fen,
                           modified=event.at * 1000)
        self._msg_seq += 1
        frame = {"id": self._msg_seq, "commandType": "Common", "time": event.at * 1000,
                 "sendTime": event.at * 1000 + 123,
                 "message": {"type": topic, "mallID": int(event.shop_id),
                             "content": json.dumps(content, separators=(",", ":"))}}
        self.pmc_pending[self._msg_seq] = [frame, 0.0]

    def _verify_pmc(self, client_id: str, ts: str, sign: str) -> bool:
        try:
            ts_ms = int(ts)
        except ValueError:
            return False
        if client_id != self.settings.app_key:
            return False
        if abs(self.clock.now() * 1000 - ts_ms) > self.settings.timestamp_tolerance * 1000:
            return False
        expected = pmc_sign(client_id, ts_ms, self.settings.app_secret)
        return sign in (expected, urllib.parse.quote(expected, safe=""))

    async def _pmc(self, ws: WebSocket) -> None:
        p = ws.path_params
        if not self._verify_pmc(p["client_id"], p["ts"], p["sign"]):
            await ws.close(code=4001)
            return
        await ws.accept()
        with self.lock:
            self.pmc_connections += 1
            for entry in self.pmc_pending.values():
                entry[1] = 0.0

        async def reader() -> None:
            while True:
                text = await ws.receive_text()
                try:
                    frame = json.loads(text)
                except ValueError:
                    continue
                if not isinstance(frame, dict) or frame.get("commandType") != "Ack":
                    continue
                ack_id = frame.get("id")
                if isinstance(ack_id, int):
                    with self.lock:
                        if self.pmc_pending.pop(ack_id, None) is not None:
                            self.pmc_acked.append(ack_id)

        task = asyncio.create_task(reader())
        try:
            while not task.done():
                now = time.monotonic()
                with self.lock:
                    due = [e for e in self.pmc_pending.values() if e[1] <= now]
                    for entry in due:
                        entry[1] = now + self.settings.redelivery_seconds
                        self.pmc_deliveries[entry[0]["id"]] += 1
                for entry in due:
                    await ws.send_text(json.dumps(entry[0], ensure_ascii=False))
                await asyncio.sleep(0.05)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task
