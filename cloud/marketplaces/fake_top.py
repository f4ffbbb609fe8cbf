"""Fake Taobao/Tmall TOP platform (docs/specs/marketplaces.md §2, checklist §6.2, settings §7).

``FakeTop`` is an ASGI callable: ``POST /router/rest`` (gateway, both ``simplify``
shapes), ``POST /token`` (OAuth refresh / code exchange). TMC is HTTP only
(``taobao.tmc.messages.consume`` / ``confirm``), as the spec prescribes.
Sub-codes of business failures (``isv.*``) are fake inventions, documented here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from cloud.marketplaces.base import BEIJING, format_beijing
from cloud.marketplaces.fake_server import (
    MALFORMED_BODIES,
    FakeBase,
    FakeSettings,
    read_params,
    routing_of,
    standard_templates,
)
from cloud.marketplaces.generator import (
    Event,
    IssuedWaybill,
    Line,
    Order,
    Phase,
    RefundPhase,
    Shipment,
    SimClock,
    StockPush,
)
from cloud.marketplaces.taobao import root_key, top_sign

CARRIERS: list[tuple[int, str, str, str]] = [
    (500, "ZTO", "中通快递", r"^[0-9]{12,15}$"), (101, "YTO", "圆通速递", r"^YT[0-9]{13}$"),
    (100, "STO", "申通快递", r"^[0-9]{12,15}$"), (102, "YUNDA", "韵达快递", r"^[0-9]{13,15}$"),
    (505, "SF", "顺丰速运", r"^SF[0-9]{13}$"), (2, "EMS", "EMS", r"^[0-9A-Z]{13}$"),
    (3, "POST", "中国邮政", r"^[0-9A-Z]{13}$"), (107, "ZJS", "宅急送", r"^[0-9]{10}$"),
]
"""(id, code, name, reg_mail_no)."""

NO_SESSION = frozenset({"taobao.time.get", "taobao.logistics.companies.get",
                        "taobao.tmc.messages.consume", "taobao.tmc.messages.confirm"})
"""Methods that need no ``session``."""

TRADE_STATUS = {Phase.SHIPPED: "WAIT_BUYER_CONFIRM_GOODS", Phase.DELIVERED: "TRADE_FINISHED",
                Phase.CLOSED: "TRADE_CLOSED"}
REFUND_STATUS = {RefundPhase.PENDING: "WAIT_SELLER_AGREE", RefundPhase.SUCCESS: "SUCCESS",
                 RefundPhase.CLOSED: "CLOSED"}
LIMIT_SUB_CODES = {"api": "accesscontrol.limited-by-api-access-count",
                   "app": "accesscontrol.limited-by-app-access-count",
                   "shop": "accesscontrol.limited-by-app-api-access-count"}
OAID_FIELDS = ("receiver_name", "receiver_address", "created", "receiver_mobile",
               "receiver_phone")


class TopFakeSettings(FakeSettings):
    """TOP fake settings; every §7 open question is a field."""

    app_key: str = "12345678"
    """TOP app_key."""
    app_secret: str = "helloworld"  # noqa: S105 - fake credentials
    """TOP app secret."""
    shop_id: str = "2200012345678"
    """Seller user id."""
    window_error: str = "41"
    """Error for an increment window over 1 day: ``41`` or ``15`` (+ isv.invalid-parameter)."""
    max_window_seconds: int = 86400
    """Increment window limit."""
    refund_max_window_seconds: int | None = None
    """Maximum window of ``taobao.refunds.receive.get`` (undocumented; None = none)."""
    ban_seconds: int = 2
    """Seconds quoted in "This ban will last for N more seconds"."""
    refresh_allowed: bool = True
    """Whether tokens can be refreshed (service-market apps only)."""
    carriers: list[tuple[int, str, str, str]] = Field(default_factory=lambda: list(CARRIERS))
    """Carrier list (id, code, name, reg_mail_no)."""
    oaid_batch_max: int = 20
    """Max entries per ``taobao.top.oaid.decrypt``."""
    oaid_daily_quota: int = 5000
    """Receivers a seller may decrypt per day (undocumented; configurable)."""


TOP_MEMO_MAX_BYTES = 1000
"""Longest seller memo ``taobao.trade.memo.update`` takes (bytes)."""
TOP_FLAG_MAX = 5
"""Highest seller flag (0 grey, 1 red, 2 yellow, 3 green, 4 blue, 5 pink)."""


TOP_ITEMS_PAGE_MAX = 200
"""Largest ``page_size`` of ``taobao.items.onsale.get`` / ``taobao.items.inventory.get``."""


class TopFail(Exception):
    """A TOP error reply."""

    def __init__(self, code: int, msg: str, sub_code: str = "", sub_msg: str = "") -> None:
        super().__init__(code, msg)
        self.code = code
        self.msg = msg
        self.sub_code = sub_code
        self.sub_msg = sub_msg


def _money(fen: int) -> str:
    return f"{fen / 100:.2f}"


def _mask(v: str, keep: int = 1) -> str:
    return v[:keep] + "*" * max(1, len(v) - keep)


class FakeTop(FakeBase):
    """Fake TOP gateway, OAuth endpoint and TMC (HTTP) — an ASGI callable."""

    platform = "taobao"
    gateway_path = "/router/rest"
    """Gateway path (the client's ``gateway_url`` is base_url + this)."""

    def __init__(self, settings: TopFakeSettings | None = None, *, seed: int = 0,
                 clock: SimClock | None = None) -> None:
        self.settings: TopFakeSettings = settings or TopFakeSettings()
        super().__init__(self.settings, seed, clock)
        self.tmc_pending: dict[int, list[Any]] = {}
        """Unconfirmed TMC messages: id → [message, next delivery (monotonic)]."""
        self.tmc_confirmed: list[int] = []
        """Ground truth: confirmed message ids, in order."""
        self.tmc_deliveries: Counter[int] = Counter()
        """How often each message was handed out."""
        self._msg_seq = 9_007_199_254_740_993 * 3
        self.oaid_used: Counter[str] = Counter()
        """Receivers decrypted per Beijing day."""
        self._handlers: dict[str, Callable[[dict[str, str], bool], dict[str, Any]]] = {
            "taobao.time.get": self._time,
            "taobao.trades.sold.increment.get": self._increment,
            "taobao.trade.fullinfo.get": self._fullinfo,
            "taobao.logistics.companies.get": self._companies,
            "taobao.logistics.offline.send": self._offline_send,
            "taobao.trade.memo.update": self._memo_update,
            "taobao.logistics.consign.resend": self._resend,
            "cainiao.waybill.ii.get": self._waybill,
            "cainiao.waybill.ii.search": self._waybill_search,
            "cainiao.waybill.ii.cancel": self._waybill_cancel,
            "cainiao.cloudprint.stdtemplates.get": self._stdtemplates,
            "taobao.item.quantity.update": self._quantity,
            "taobao.items.onsale.get": self._items_onsale,
            "taobao.items.inventory.get": self._items_inventory,
            "taobao.item.seller.get": self._item_seller,
            "taobao.refunds.receive.get": self._refunds,
            "taobao.top.oaid.decrypt": self._oaid_decrypt,
            "taobao.tmc.messages.consume": self._consume,
            "taobao.tmc.messages.confirm": self._confirm,
        }
        self.app = Starlette(routes=[
            Route(self.gateway_path, self._router, methods=["POST", "GET"]),
            Route("/token", self._oauth, methods=["POST"]),
            *self.consent_routes(),
        ])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def _history_carrier(self) -> str:
        return "ZTO"

    # ------------------------------------------------------------- render

    @staticmethod
    def _t(epoch: int) -> str:
        return format_beijing(datetime.fromtimestamp(epoch, UTC)) if epoch else ""

    def oaid(self, order: Order) -> str:
        """Stable OAID of an order's receiver (changes when the address changes)."""
        r = order.receiver
        digest = hashlib.sha256(f"{self.seed}|{r.name}|{r.phone}|{r.detail}".encode())
        return digest.hexdigest()[:32]

    def trade_status(self, order: Order) -> str:
        """TOP trade status."""
        if order.phase is Phase.AWAITING:
            return "PAID_FORBID_CONSIGN" if order.risk_review else "WAIT_SELLER_SEND_GOODS"
        return TRADE_STATUS[order.phase]

    def _line_refund(self, order: Order, line: Line) -> str:
        status = "NO_REFUND"
        for refund in self.gen.refunds.values():
            if refund.order is order and refund.line is line:
                status = REFUND_STATUS[refund.status]
        return status

    def render_trade(self, o: Order, simplify: bool, fields: set[str] | None) -> dict[str, Any]:
        """Trade JSON; receivers masked, ``oaid`` only when the five fields are asked."""
        r = o.receiver
        status = self.trade_status(o)
        orders = [{
            "oid": int(ln.line_id) if ln.line_id else int(o.order_id) + 99,
            "oid_str": ln.line_id or str(int(o.order_id) + 99),
            "num_iid": int(ln.sku.item_id), "sku_id": ln.sku.sku_id,
            "outer_sku_id": ln.sku.outer_id, "outer_iid": ln.sku.outer_id.split("-")[0],
            "title": ln.sku.title, "sku_properties_name": f"规格:{ln.sku.spec}",
            "num": ln.qty, "price": _money(ln.price_fen), "payment": _money(ln.price_fen * ln.qty),
            "total_fee": _money(ln.price_fen * ln.qty), "status": status,
            "refund_status": self._line_refund(o, ln),
            "logistics_company": o.carrier, "invoice_no": o.tracking_number,
            "consign_time": self._t(o.shipped_at),
        } for ln in o.lines]
        trade: dict[str, Any] = {
            "tid": int(o.order_id), "tid_str": o.order_id, "status": status, "type": "fixed",
            "created": self._t(o.created_at), "pay_time": self._t(o.created_at),
            "modified": self._t(o.updated_at), "consign_time": self._t(o.shipped_at),
            "payment": _money(o.pay_fen), "total_fee": _money(o.pay_fen), "post_fee": "0.00",
            "buyer_message": o.buyer_note, "buyer_nick": self.gen.buyer_nick(o),
            "seller_memo": o.seller_note,
            "seller_flag": o.seller_flag, "buyer_open_uid": f"AAH{o.created_at}",
            "receiver_name": _mask(r.name), "receiver_mobile": r.phone[:3] + "****" + r.phone[-4:],
            "receiver_phone": "", "receiver_address": _mask(r.detail, 3),
            "receiver_state": r.province, "receiver_city": r.city,
            "receiver_district": r.district, "receiver_zip": "000000",
            "orders": orders if simplify else {"order": orders},
        }
        if fields is not None:
            keep = set(fields) | ({"tid_str"} if "tid" in fields else set())
            trade = {k: v for k, v in trade.items() if k in keep}
            if all(f in fields for f in OAID_FIELDS):
                trade["oaid"] = self.oaid(o)
        else:
            trade["oaid"] = self.oaid(o)
        return trade

    @staticmethod
    def _fields(params: dict[str, str]) -> set[str]:
        raw = params.get("fields", "")
        if not raw:
            raise TopFail(40, "Missing Required Arguments", "isv.missing-parameter:fields",
                          "fields 不能为空")
        return {f.strip() for f in raw.split(",") if f.strip()}

    @staticmethod
    def _need(params: dict[str, str], *names: str) -> None:
        for name in names:
            if params.get(name, "") == "":
                raise TopFail(40, "Missing Required Arguments", f"isv.missing-parameter:{name}",
                              f"{name} 不能为空")

    @staticmethod
    def _int(params: dict[str, str], name: str, default: int | None = None) -> int:
        raw = params.get(name, "")
        if raw == "" and default is not None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise TopFail(41, "Invalid Arguments", f"isv.invalid-parameter:{name}",
                          f"{name} 不是整数") from None

    def _when(self, params: dict[str, str], name: str) -> int:
        try:
            naive = datetime.strptime(params[name], "%Y-%m-%d %H:%M:%S")
        except (KeyError, ValueError):
            raise TopFail(41, "Invalid Arguments", f"isv.invalid-parameter:{name}",
                          f"{name} 格式应为 yyyy-MM-dd HH:mm:ss") from None
        return int(naive.replace(tzinfo=BEIJING).timestamp())

    def _window_fail(self, detail: str) -> TopFail:
        if self.settings.window_error == "15":
            return TopFail(15, "Remote service error", "isv.invalid-parameter", detail)
        return TopFail(41, "Invalid Arguments", "isv.invalid-parameter", detail)

    def _page(self, params: dict[str, str]) -> tuple[int, int]:
        page = self._int(params, "page_no", 1)
        size = self._int(params, "page_size", 40)
        if page < 1 or not 1 <= size <= 100:
            raise TopFail(41, "Invalid Arguments", "isv.invalid-parameter:page_size",
                          "page_size 取值 1~100")
        return page, size

    # ----------------------------------------------------------- handlers

    def _time(self, params: dict[str, str], simplify: bool) -> dict[str, Any]:
        return {"time": self._t(self.now())}

    def _increment(self, params: dict[str, str], simplify: bool) -> dict[str, Any]:
        fields = self._fields(params)
        self._need(params, "start_modified", "end_modified")
        start, end = self._when(params, "start_modified"), self._when(params, "end_modified")
        if end < start or end - start > self.settings.max_window_seconds:
            raise self._window_fail("start_modified 与 end_modified 间隔不能超过一天")
        page, size = self._page(params)
        want = params.get("status", "")
        oldest = self.now() - self.settings.max_order_age_days * 86400
        rows = [o for o in self.gen.orders.values()
                if start <= o.updated_at <= end and o.created_at >= oldest
                and (not want or self.trade_status(o) == want)]
        rows.sort(key=lambda o: (o.updated_at, o.order_id), reverse=True)
        trades = [self.render_trade(o, simplify, fields)
                  for o in rows[(page - 1) * size: page * size]]
        body: dict[str, Any] = {"trades": trades if simplify else {"trade": trades},
                                "has_next": page * size < len(rows)}
        if params.get("use_has_next") != "true":
            body["total_results"] = len(rows)
        return body

    def _order(self, params: dict[str, str]) -> Order:
        self._need(params, "tid")
        order = self.gen.orders.get(params["tid"])
        if order is None:
            raise TopFail(15, "Remote service error", "isv.trade-not-exist", "交易不存在")
        return order

    def _fullinfo(self, params: dict[str, str], simplify: bool) -> dict[str, Any]:
        fields = self._fields(params)
        return {"trade": self.render_trade(self._order(params), simplify, fields)}

    def _companies(self, params: dict[str, str], simplify: bool) -> dict[str, Any]:
        items = [{"id": cid, "code": code, "name": name, "reg_mail_no": reg}
                 for cid, code, name, reg in self.settings.carriers]
        return {"logistics_companies": items if simplify else {"logistics_company": items}}

    def _ship_common(self, params: dict[str, str]) -> Order:
        self._need(params, "tid", "out_sid", "company_code")
        order = self._order(params)
        patterns = {c[1]: c[3] for c in self.settings.carriers}
        if params["company_code"] not in patterns:
            raise TopFail(15, "Remote service error", "isv.logistics-company-not-exist",
                          "物流公司不存在")
        pattern = patterns[params["company_code"]]
        if pattern and not re.fullmatch(pattern, params["out_sid"]):
            # docs/specs/marketplaces.md §2.7: out_sid is "validated for official carriers" against the company's
            # reg_mail_no; the sub_code and wording are [unverified]
            raise TopFail(15, "Remote service error", "isv.invalid-parameter:out_sid",
                          f"运单号 {params['out_sid']} 不符合{params['company_code']}的规则")
        return order

    def _record_ship(self, order: Order, params: dict[str, str], modify: bool) -> dict[str, Any]:
        now = self.now()
        order.carrier = params["company_code"]
        order.tracking_number = params["out_sid"]
        if not modify:
            order.phase = Phase.SHIPPED
            order.shipped_at = now
            self.gen.on_shipped(order, now)
        self.gen.touch(order, now)
        self.shipments.append(Shipment(order.order_id, order.carrier, order.tracking_number,
                                       now, modification=modify))
        self._publish_events()
        return {"shipping": {"is_success": True}}

    def _offline_send(self, params: dict[str, str], simplify: bool) -> dict[str, Any]:
        order = self._ship_common(params)
        status = self.trade_status(order)
        if status != "WAIT_SELLER_SEND_GOODS":
            reason = {"PAID_FORBID_CONSIGN": "当前交易状态不允许发货",
                      "TRADE_CLOSED": "交易已关闭，不能发货"}.get(status, "订单已发货")
            raise TopFail(15, "Remote service error", "isv.logistics-offline-service-error",
                          reason)
        return self._record_ship(order, params, modify=False)

    def _memo_update(self, params: dict[str, str], simplify: bool) -> dict[str, Any]:
        """``taobao.trade.memo.update`` (修改交易备注): ``memo`` at most 1000 bytes, ``flag``
        0 (grey) to 5; ``reset=true`` clears the memo; an empty memo without reset keeps it."""
        order = self._order(params)
        memo = params.get("memo", "")
        if len(memo.encode()) > TOP_MEMO_MAX_BYTES:
            raise TopFail(41, "Invalid Arguments", "isv.invalid-parameter:memo",
                          f"memo 最长 {TOP_MEMO_MAX_BYTES} 字节")
        try:
            flag = int(params.get("flag") or order.seller_flag)
        except ValueError:
            flag = -1
        if not 0 <= flag <= TOP_FLAG_MAX:
            raise TopFail(41, "Invalid Arguments", "isv.invalid-parameter:flag",
                          "flag 取值 0-5")
        if params.get("reset", "").lower() == "true":
            order.seller_note = ""
        elif memo:
            order.seller_note = memo
        order.seller_flag = flag
        now = self.now()
        self.gen.touch(order, now)
        return {"trade_memo_update_response": {"trade": {
            "tid": int(order.order_id), "modified": self._t(now)}}}

    def _resend(self, params: dict[str, str], simplify: bool) -> dict[str, Any]:
        order = self._ship_common(params)
        if order.phase not in (Phase.SHIPPED, Phase.DELIVERED):
            raise TopFail(15, "Remote service error", "isv.logistics-resend-service-error",
                          "订单未发货，不能修改运单")
        return self._record_ship(order, params, modify=True)

    def _waybill(self, params: dict[str, str], simplify: bool) -> dict[str, Any]:
        self._need(params, "param_waybill_cloud_print_apply_new_request")
        try:
            req = json.loads(params["param_waybill_cloud_print_apply_new_request"])
            cp_code = str(req["cp_code"])
            dtos = list(req["trade_order_info_dtos"])
        except (ValueError, KeyError, TypeError):
            raise TopFail(41, "Invalid Arguments", "isv.invalid-parameter",
                          "param_waybill_cloud_print_apply_new_request 无效") from None
        if cp_code not in {c[1] for c in self.settings.carriers}:
            raise TopFail(15, "Remote service error", "isv.cp-code-not-subscribed",
                          f"未订购 {cp_code} 电子面单")
        if not 1 <= len(dtos) <= 10:
            raise TopFail(41, "Invalid Arguments", "isv.invalid-parameter",
                          "trade_order_info_dtos 需 1~10 个")
        # Every package is checked before any number is taken: a refused request issues
        # nothing (a number taken for a package of a request that then fails would be an
        # orphan the caller never hears of).
        checked: list[tuple[list[str], Any, str, dict[str, Any]]] = []
        for dto in dtos:
            try:
                orders = [str(x) for x in dto["order_info"]["trade_order_list"]]
                recipient = dto["recipient"]
                object_id = str(dto["object_id"])
            except (KeyError, TypeError):
                raise TopFail(41, "Invalid Arguments", "isv.invalid-parameter",
                              "trade_order_info_dto 缺少字段") from None
            if not isinstance(recipient, dict) or not isinstance(
                    recipient.get("address", {}), dict):
                raise TopFail(41, "Invalid Arguments", "isv.invalid-parameter",
                              "recipient 应为对象 (含 address 对象)")
            if not orders or len(orders) > 100 or any(o not in self.gen.orders for o in orders):
                raise TopFail(15, "Remote service error", "isv.trade-not-exist", "交易不存在")
            oaid, tid = recipient.get("oaid"), str(recipient.get("tid", ""))
            if oaid:
                order = self.gen.orders.get(tid)
                if order is None or self.oaid(order) != oaid:
                    raise TopFail(15, "Remote service error", "isv.oaid-invalid",
                                  "oaid 与订单不匹配")
            elif not (recipient.get("name") and recipient.get("address", {}).get("detail")):
                raise TopFail(41, "Invalid Arguments", "isv.invalid-parameter",
                              "收件人信息不完整")
            checked.append((orders, recipient, object_id, dto))
        short = self.waybill_book.short_of(cp_code, req.get("sender"), len(checked))
        if short:
            raise TopFail(15, "Remote service error", "isv.waybill-balance-insufficient", short)
        modules = []
        for orders, recipient, object_id, dto in checked:
            n = 10**11 + len(self.waybills) * 7919 + self.gen.rng.randrange(7919)
            number = {"SF": f"SF{n:013d}", "YTO": f"YT{n:013d}"}.get(cp_code, f"7{n:014d}")
            self.waybill_book.take(cp_code, req.get("sender"))  # short_of said there are enough
            content: dict[str, Any] = {
                "encryptedData": base64.b64encode(hashlib.sha256(
                    f"{number}|{self.seed}".encode()).digest()).decode(),
                "signature": hashlib.md5(number.encode(), usedforsecurity=False).hexdigest(),
                "templateURL": str(dto.get("template_url", "")),
                "ver": "fake_waybill_print_v1"}
            if not req.get("need_encrypt"):
                # §2.6.5: ``data`` is print_data's plain form. Its inner fields are not in
                # the spec: the fake's (routingInfo.sortation / consolidation, as Cainiao's
                # plain print data is commonly read) are [unverified].
                province = str((recipient.get("address") or {}).get("province", ""))
                sort_code, centre = routing_of(province)
                content["data"] = {"waybillCode": number, "cpCode": cp_code, "routingInfo": {
                    "sortation": {"name": sort_code},
                    "consolidation": {"name": centre}}}
            print_data = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
            sender = req.get("sender")
            self.waybills.append(IssuedWaybill(
                number, cp_code, tuple(orders), object_id, dict(recipient),
                dict(sender) if isinstance(sender, dict) else {},
                str(dto.get("template_url", ""))))
            modules.append({"object_id": object_id, "waybill_code": number,
                            "print_data": print_data, "parent_waybill_code": "",
                            "cp_code": cp_code, "real_cp_code": cp_code})
        return {"modules": modules if simplify else {"waybill_cloud_print_response": modules}}

    def _cp_code(self, params: dict[str, str]) -> str:
        """The optional ``cp_code`` filter: empty, or a known carrier code."""
        cp_code = params.get("cp_code", "")
        if cp_code and cp_code not in {c[1] for c in self.settings.carriers}:
            raise TopFail(41, "Invalid Arguments", "isv.invalid-parameter:cp_code",
                          f"cp_code 无效: {cp_code}")
        return cp_code

    def _waybill_cancel(self, params: dict[str, str], simplify: bool) -> dict[str, Any]:
        """``cainiao.waybill.ii.cancel`` (``cp_code``, ``waybill_code``) → ``cancel_result``.
        The spec has no section for it: named as Cainiao's other waybill APIs are, shaped
        like ``pdd.waybill.cancel`` (§1.7.8) [unverified]; refusals as the fake PDD's."""
        self._need(params, "cp_code", "waybill_code")
        number = params["waybill_code"]
        issued = next((w for w in self.waybills if w.number == number
                       and w.carrier == params["cp_code"]), None)
        if issued is None:
            raise TopFail(15, "Remote service error", "isv.waybill-not-exist", "面单号不存在")
        if issued.cancelled:
            raise TopFail(15, "Remote service error", "isv.waybill-cancelled", "面单号已取消")
        if any(self.gen.orders[o].tracking_number == number for o in issued.order_ids
               if o in self.gen.orders):
            raise TopFail(15, "Remote service error", "isv.waybill-used", "面单号已发货, 不能取消")
        issued.cancelled = True
        self.waybill_book.give_back(issued.carrier, issued.sender)
        return {"cainiao_waybill_ii_cancel_response": {"cancel_result": True}}

    def _waybill_search(self, params: dict[str, str], simplify: bool) -> dict[str, Any]:
        """``cainiao.waybill.ii.search``. The spec has no section for it: the fields follow
        ``pdd.waybill.search`` (§1.7.8) with ``cp_code`` for ``wp_code``; lists are wrapped
        the TOP way (§2.4) under element names of the fake's choosing
        (``waybill_apply_subscription_info``, ``waybill_branch_account``, ``address_dto``)."""
        cols = []
        for sub in self.waybill_book.of(self._cp_code(params)):
            branches = []
            for b in sub.branch_account_cols:
                acc = b.model_dump()
                addrs = acc.pop("shipp_address_cols")
                acc["shipp_address_cols"] = addrs if simplify else {"address_dto": addrs}
                branches.append(acc)
            cols.append({"cp_code": sub.wp_code, "branch_account_cols":
                         branches if simplify else {"waybill_branch_account": branches}})
        return {"waybill_apply_subscription_cols":
                cols if simplify else {"waybill_apply_subscription_info": cols}}

    def _stdtemplates(self, params: dict[str, str], simplify: bool) -> dict[str, Any]:
        """``cainiao.cloudprint.stdtemplates.get``. Not in the spec: the shape follows
        ``pdd.cloudprint.stdtemplates.get`` (§1.7.8, ``result.datas[]``) with ``cp_code``;
        URLs take §2.6.5's form ``http://cloudprint.cainiao.com/template/standard/${id}``;
        lists wrapped the TOP way (element names the fake's own)."""
        cp_code = self._cp_code(params)
        codes = [(i, c[1]) for i, c in enumerate(self.settings.carriers) if cp_code in ("", c[1])]
        datas = []
        for d in standard_templates(codes, "http://cloudprint.cainiao.com/template/standard/"):
            temps = d["standard_templates"]
            datas.append({"cp_code": d["wp_code"], "standard_templates":
                          temps if simplify else {"standard_template_do": temps}})
        return {"result": {"datas": datas if simplify else {"standard_template_result": datas}}}

    def _quantity(self, params: dict[str, str], simplify: bool) -> dict[str, Any]:
        self._need(params, "num_iid", "quantity")
        sku_id, outer = params.get("sku_id", ""), params.get("outer_id", "")
        quantity = self._int(params, "quantity")
        kind = self._int(params, "type", 1)
        if kind not in (1, 2):
            raise TopFail(41, "Invalid Arguments", "isv.invalid-parameter:type", "type 只能是1或2")
        sku = self.gen.sku_by(params["num_iid"], sku_id, outer)
        if sku is None:
            raise TopFail(15, "Remote service error", "isv.item-not-exist", "商品或SKU不存在")
        if kind == 1 and quantity < 0:
            raise TopFail(41, "Invalid Arguments", "isv.invalid-parameter:quantity",
                          "quantity 不能小于0")
        result = quantity if kind == 1 else sku.quantity + quantity
        if result < 0:
            raise TopFail(15, "Remote service error", "isv.item-quantity-update-error",
                          "库存不能小于0")
        sku.quantity = result
        now = self.now()
        self.stock_pushes.append(StockPush(sku.item_id, sku.sku_id, quantity, kind == 2,
                                           result, now))
        skus = [{"sku_id": int(k.sku_id), "quantity": k.quantity, "modified": self._t(now)}
                for k in self.gen.catalog if k.item_id == sku.item_id]
        return {"item": {"num_iid": int(sku.item_id), "num": sum(k["quantity"] for k in skus),
                         "modified": self._t(now),
                         "skus": skus if simplify else {"sku": skus}}}

    # ------------------------------------------------------------ items

    def _items(self) -> dict[str, list[Any]]:
        """The catalog grouped by num_iid (ascending)."""
        items: dict[str, list[Any]] = {}
        for sku in sorted(self.gen.catalog, key=lambda k: (int(k.item_id), int(k.sku_id))):
            items.setdefault(sku.item_id, []).append(sku)
        return items

    @staticmethod
    def _pick(row: dict[str, Any], fields: set[str]) -> dict[str, Any]:
        return {k: v for k, v in row.items() if k in fields}

    def _item_row(self, skus: list[Any], simplify: bool) -> dict[str, Any]:
        head = skus[0]
        sku_rows = [{"sku_id": int(k.sku_id), "outer_id": k.outer_id, "quantity": k.quantity,
                     "properties_name": f"1627207:1:规格:{k.spec}", "price": f"{k.price_fen / 100:.2f}"}
                    for k in skus]
        return {"num_iid": int(head.item_id), "title": head.title,
                "num": sum(k.quantity for k in skus), "outer_id": head.outer_id.split("-")[0],
                "approve_status": "onsale", "price": f"{head.price_fen / 100:.2f}",
                "skus": sku_rows if simplify else {"sku": sku_rows}}

    def _item_page(self, params: dict[str, str], simplify: bool, *,
                   on_sale: bool) -> dict[str, Any]:
        fields = self._fields(params)
        page = self._int(params, "page_no", 1)
        size = self._int(params, "page_size", 40)
        if page < 1 or not 1 <= size <= TOP_ITEMS_PAGE_MAX:
            raise TopFail(41, "Invalid Arguments", "isv.invalid-parameter:page_size",
                          f"page_size 取值 1~{TOP_ITEMS_PAGE_MAX}")
        q = params.get("q", "")
        rows = [skus for skus in self._items().values()
                if on_sale and (not q or q in skus[0].title)]  # every item of the fake is on sale
        items = [self._pick(self._item_row(skus, simplify), fields - {"skus"})
                 for skus in rows[(page - 1) * size: page * size]]
        return {"items": items if simplify else {"item": items}, "total_results": len(rows)}

    def _items_onsale(self, params: dict[str, str], simplify: bool) -> dict[str, Any]:
        """``taobao.items.onsale.get``: items on sale (出售中), by page; no SKUs (those come
        from ``taobao.item.seller.get``)."""
        return self._item_page(params, simplify, on_sale=True)

    def _items_inventory(self, params: dict[str, str], simplify: bool) -> dict[str, Any]:
        """``taobao.items.inventory.get``: items in the warehouse (仓库中, not on sale)."""
        return self._item_page(params, simplify, on_sale=False)

    def _item_seller(self, params: dict[str, str], simplify: bool) -> dict[str, Any]:
        """``taobao.item.seller.get``: one item of the seller with the fields asked for,
        ``sku`` included (sku_id, outer_id, quantity, properties_name)."""
        fields = self._fields(params)
        self._need(params, "num_iid")
        self._int(params, "num_iid")
        skus = self._items().get(params["num_iid"])
        if skus is None:
            raise TopFail(15, "Remote service error", "isv.item-not-exist", "商品不存在")
        row = self._item_row(skus, simplify)
        picked = self._pick(row, fields)
        if "sku" in fields:
            picked["skus"] = row["skus"]
        return {"item": picked}

    def _refunds(self, params: dict[str, str], simplify: bool) -> dict[str, Any]:
        fields = self._fields(params)
        start = self._when(params, "start_modified") if params.get("start_modified") else 0
        end = self._when(params, "end_modified") if params.get("end_modified") else self.now()
        limit = self.settings.refund_max_window_seconds
        if limit is not None and end - start > limit:
            raise self._window_fail("退款查询时间跨度过大")
        page, size = self._page(params)
        want = params.get("status", "")
        rows = [r for r in self.gen.refunds.values()
                if start <= r.updated_at <= end and (not want or REFUND_STATUS[r.status] == want)]
        rows.sort(key=lambda r: (r.updated_at, r.refund_id), reverse=True)
        items = [{
            "refund_id": r.refund_id, "tid": int(r.order.order_id),
            "oid": int(r.line.line_id) if r.line.line_id else int(r.order.order_id) + 99,
            "status": REFUND_STATUS[r.status], "refund_fee": _money(r.amount_fen),
            "payment": _money(r.order.pay_fen), "total_fee": _money(r.order.pay_fen),
            "created": self._t(r.created_at), "modified": self._t(r.updated_at),
            "num": r.line.qty, "sku": r.line.sku.sku_id, "outer_id": r.line.sku.outer_id,
            "title": r.line.sku.title, "refund_phase": "aftersale" if r.after_shipping
            else "onsale", "good_status": "BUYER_RETURNED_GOODS" if r.after_shipping
            else "BUYER_NOT_RECEIVED", "has_good_return": r.after_shipping,
            **({"sid": r.return_waybill} if "sid" in fields and r.return_waybill else {}),
            **({"reason": r.reason} if "reason" in fields else {}),
            **({"company_name": r.return_carrier}
               if "company_name" in fields and r.return_carrier else {}),
        } for r in rows[(page - 1) * size: page * size]]
        body: dict[str, Any] = {"refunds": items if simplify else {"refund": items},
                                "has_next": page * size < len(rows)}
        if params.get("use_has_next") != "true":
            body["total_results"] = len(rows)
        return body

    def _oaid_decrypt(self, params: dict[str, str], simplify: bool) -> dict[str, Any]:
        self._need(params, "query_list")
        try:
            query = json.loads(params["query_list"])
        except ValueError:
            query = None
        if not isinstance(query, list) or not query:
            raise TopFail(41, "Invalid Arguments", "isv.invalid-parameter:query_list",
                          "query_list 无效")
        if len(query) > self.settings.oaid_batch_max:
            raise TopFail(41, "Invalid Arguments", "isv.invalid-parameter:query_list",
                          f"query_list 最多 {self.settings.oaid_batch_max} 条")
        day = self._t(self.now())[:10]
        if self.oaid_used[day] + len(query) > self.settings.oaid_daily_quota:
            raise TopFail(15, "Remote service error", "isv.oaid-decrypt-quota-exceeded",
                          "今日解密额度已用完")
        self.oaid_used[day] += len(query)
        out = []
        for q in query:
            tid = str(q.get("tid", "")) if isinstance(q, dict) else ""
            oaid = str(q.get("oaid", "")) if isinstance(q, dict) else ""
            order = self.gen.orders.get(tid)
            matched = order is not None and self.oaid(order) == oaid
            r = order.receiver if order is not None and matched else None
            out.append({"tid": int(tid) if tid.isdigit() else tid, "oaid": oaid,
                        "matched": matched, "name": r.name if r else "",
                        "mobile": r.phone if r else "", "phone": "",
                        "state": r.province if r else "", "city": r.city if r else "",
                        "district": r.district if r else "",
                        "address_detail": r.detail if r else "", "privacy_protection": False})
        return {"receiver_list": out if simplify else {"receiver": out}}

    def _consume(self, params: dict[str, str], simplify: bool) -> dict[str, Any]:
        quantity = self._int(params, "quantity", 100)
        if not 10 <= quantity <= 200:
            raise TopFail(41, "Invalid Arguments", "isv.invalid-parameter:quantity",
                          "quantity 取值 10~200")
        now = time.monotonic()
        out = []
        for entry in self.tmc_pending.values():
            if entry[1] <= now:
                entry[1] = now + self.settings.redelivery_seconds
                self.tmc_deliveries[entry[0]["id"]] += 1
                out.append(entry[0])
                if len(out) >= quantity:
                    break
        return {"messages": out if simplify else {"tmc_message": out}}

    def _confirm(self, params: dict[str, str], simplify: bool) -> dict[str, Any]:
        self._need(params, "s_message_ids")
        ids = [x for x in params["s_message_ids"].split(",") if x]
        if len(ids) > 200:
            raise TopFail(41, "Invalid Arguments", "isv.invalid-parameter:s_message_ids",
                          "最多200个")
        for raw in ids:
            try:
                mid = int(raw)
            except ValueError:
                continue
            if self.tmc_pending.pop(mid, None) is not None:
                self.tmc_confirmed.append(mid)
        return {"is_success": True}

    def publish(self, event: Event) -> None:
        """Queue a TMC message for a generator event."""
        topic = {
            "created": "taobao_trade_TradeBuyerPay", "risk_changed": "taobao_trade_TradeChanged",
            "address_changed": "taobao_trade_TradeLogisticsAddressChanged",
            "shipped": "taobao_trade_TradeSellerShip",
            "refund_created": "taobao_refund_RefundCreated",
            "refund_success": "taobao_refund_RefundSuccess",
            "refund_closed": "taobao_refund_RefundClosed",
        }[event.kind]
        content: dict[str, Any] = {"tid": int(event.order_id), "seller_nick": "模拟店铺"}
        if event.refund_id:
            content.update(refund_id=int(event.refund_id), refund_fee=_money(event.refund_fen))
        self._msg_seq += 1
        message = {"id": self._msg_seq, "topic": topic, "pub_time": self._t(event.at),
                   "pub_app_key": self.settings.app_key, "user_id": int(event.shop_id),
                   "user_nick": "模拟店铺", "content": json.dumps(content, ensure_ascii=False)}
        self.tmc_pending[self._msg_seq] = [message, 0.0]

    # ------------------------------------------------------------- router

    def _reply(self, body: dict[str, Any], status: int = 200) -> Response:
        return Response(json.dumps(body, ensure_ascii=False), status_code=status,
                        media_type="application/json")

    def _error(self, api: str, fail: TopFail) -> Response:
        self.rejections.append((api, str(fail.code)))
        err: dict[str, Any] = {"code": fail.code, "msg": fail.msg,
                               "request_id": f"{time.time_ns():x}"}
        if fail.sub_code:
            err.update(sub_code=fail.sub_code, sub_msg=fail.sub_msg)
        return self._reply({"error_response": err}, self.settings.error_http_status)

    def _timestamp_ok(self, raw: str) -> bool:
        if raw.isdigit():
            moment = int(raw) / 1000
        else:
            try:
                naive = datetime.strptime(raw, "%Y-%m-%d %H:%M:%S")
            except ValueError:
                return False
            moment = naive.replace(tzinfo=BEIJING).timestamp()
        return abs(self.clock.now() - moment) <= self.settings.timestamp_tolerance

    def _check(self, method: str, params: dict[str, str]) -> str:
        s = self.settings
        if not method:
            raise TopFail(21, "Missing Method")
        if not params.get("app_key"):
            raise TopFail(28, "Missing App Key")
        if params["app_key"] != s.app_key:
            raise TopFail(29, "Invalid App Key")
        if method not in self._handlers:
            raise TopFail(22, "Invalid Method")
        if not params.get("timestamp"):
            raise TopFail(30, "Missing Timestamp")
        if not self._timestamp_ok(params["timestamp"]):
            raise TopFail(31, "Invalid Timestamp")
        if not params.get("v"):
            raise TopFail(32, "Missing Version")
        if params["v"] != "2.0":
            raise TopFail(34, "Unsupported Version")
        if not params.get("sign"):
            raise TopFail(24, "Missing Signature")
        sign_method = params.get("sign_method", "md5")
        if sign_method not in ("md5", "hmac", "hmac-sha256"):
            raise TopFail(25, "Invalid Signature", "isv.invalid-sign-method", sign_method)
        if top_sign(params, s.app_secret, sign_method) != params["sign"].upper():
            raise TopFail(25, "Invalid Signature")
        if params.get("format", "xml") != "json":
            raise TopFail(23, "Invalid Format", "isv.invalid-format", "模拟平台只支持 format=json")
        if method in NO_SESSION:
            return "*"
        session = params.get("session", "")
        if not session:
            raise TopFail(26, "Missing Session")
        if self.tokens.check(session) != "ok":
            raise TopFail(27, "Invalid session", "invalid-sessionkey", "SessionKey非法")
        return self.tokens.by_access[session].shop_id

    async def _router(self, request: Request) -> Response:
        params = await read_params(request)
        method = params.get("method", "")
        simplify = params.get("simplify") == "true"
        with self.lock:
            self.calls[method or "?"] += 1
            try:
                shop = self._check(method, params)
                scope = self.limiter.hit(shop, self.settings.app_key, method)
                if scope is not None:
                    raise TopFail(7, "App Call Limited", LIMIT_SUB_CODES.get(scope, "isp.call-limited"),
                                  f"This ban will last for {self.settings.ban_seconds} more seconds")
            except TopFail as fail:
                return self._error(method, fail)
            fault = self.faults.pick()
        if fault == "timeout":
            await self.stall()
        with self.lock:
            if fault == "timeout" and not self.settings.timeout_applies_effect:
                return self._error(method, TopFail(10, "Service Currently Unavailable"))
            if fault == "rate_limit":
                return self._error(method, TopFail(
                    7, "App Call Limited", LIMIT_SUB_CODES["app"],
                    f"This ban will last for {self.settings.ban_seconds} more seconds"))
            if fault == "token_expired":
                return self._error(method, TopFail(27, "Invalid session", "invalid-sessionkey",
                                                   "SessionKey非法"))
            if fault == "business":
                return self._error(method, TopFail(15, "Remote service error",
                                                   "isp.top-remote-connection-timeout", "超时"))
            if fault == "malformed":
                self.rejections.append((method, "malformed"))
                junk = MALFORMED_BODIES[self.faults.injected["malformed"] % len(MALFORMED_BODIES)]
                return Response(junk, media_type="application/json")
            try:
                body = self._handlers[method](params, simplify)
            except TopFail as fail:
                return self._error(method, fail)
            body.setdefault("request_id", f"{time.time_ns():x}")
            return self._reply(body if simplify else {root_key(method): body})

    async def _oauth(self, request: Request) -> Response:
        form = await read_params(request)
        with self.lock:
            if form.get("client_id") != self.settings.app_key or form.get(
                    "client_secret") != self.settings.app_secret:
                return self._reply({"error": "invalid_client",
                                    "error_description": "client_id 或 client_secret 错误"}, 401)
            grant = form.get("grant_type")
            if grant == "refresh_token":
                if not self.settings.refresh_allowed:
                    return self._reply({"error": "invalid_grant",
                                        "error_description": "该应用不支持刷新授权"}, 400)
                problem = self.tokens.refresh_problem(form.get("refresh_token", ""))
                token = self.tokens.refresh(form.get("refresh_token", ""))
                if problem == "revoked":  # the wording is the fake's [unverified]
                    return self._reply({"error": "invalid_grant",
                                        "error_description": "用户已取消对应用的授权"}, 400)
            elif grant == "authorization_code":
                token = self.tokens.issue_for_code(form.get("code", ""), self.settings.shop_id)
            else:
                token = None
            if token is None:
                return self._reply({"error": "invalid_grant", "error_description": (
                    "code 无效、已使用或已过期" if grant == "authorization_code"
                    else "refresh_token 无效或已过期")}, 400)
            now = self.now()
            ttl = int(token.expires_at - now)
            return self._reply({
                "access_token": token.access_token, "token_type": "Bearer", "expires_in": ttl,
                "refresh_token": token.refresh_token,
                "re_expires_in": int(token.refresh_expires_at - now),
                "r1_expires_in": ttl, "r2_expires_in": ttl, "w1_expires_in": ttl,
                "w2_expires_in": ttl, "taobao_user_id": token.shop_id,
                "taobao_user_nick": urllib.parse.quote("模拟店铺")})
