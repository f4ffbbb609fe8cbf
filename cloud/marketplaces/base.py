"""The marketplace port: normalized models and the ``MarketplaceClient`` protocol.

Platform modules (``pdd``, ``taobao``) translate wire payloads into these frozen
dataclasses at the boundary. Ids are always strings (Taobao ``tid`` and PDD message
ids exceed 2^53), money is integer fen, times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, runtime_checkable

from cloud.marketplaces.errors import MalformedResponse

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
"""Every platform writes string times in Beijing time (GMT+8)."""

_PADDED_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", re.ASCII)
"""``yyyy-MM-dd HH:mm:ss`` zero-padded, ASCII digits (the fast path of :func:`parse_time`)."""


class OrderStatus(enum.StrEnum):
    """Platform order status normalized across platforms."""

    PENDING_PAYMENT = "pending_payment"
    """Not paid yet, or paid but not shippable yet (e.g. group buy in progress)."""
    AWAITING_SHIPMENT = "awaiting_shipment"
    """Paid, waiting for the seller to ship (PDD 1, TOP WAIT_SELLER_SEND_GOODS)."""
    SHIPPED = "shipped"
    """Shipped, not yet signed for."""
    DELIVERED = "delivered"
    """Signed for or finished."""
    CLOSED = "closed"
    """Closed or cancelled: never ship."""
    UNKNOWN = "unknown"
    """A status this client does not know."""


@dataclass(frozen=True)
class Receiver:
    """Receiver PII exactly as the platform returned it: ciphertext and masks only."""

    name_cipher: str = ""
    """Encrypted name (PDD ciphertext) or empty when hidden by the platform."""
    phone_cipher: str = ""
    """Encrypted phone or empty."""
    address_cipher: str = ""
    """Encrypted detailed address or empty."""
    name_mask: str = ""
    """Masked name for display."""
    phone_mask: str = ""
    """Masked phone for display."""
    address_mask: str = ""
    """Masked address for display."""
    province: str = ""
    """Province (plain text)."""
    city: str = ""
    """City (plain text)."""
    district: str = ""
    """District/county (plain text)."""
    oaid: str = ""
    """Taobao OAID (use with ``tid`` for waybills); empty on PDD."""
    merge_key: str = ""
    """PDD ``open_address_id_2`` (合单ID): the same for every order of one buyer to one
    address, where the ciphertext differs per order; empty elsewhere (Taobao's ``oaid``
    already is)."""

    @property
    def has_ciphertext(self) -> bool:
        """True when the platform returned encrypted receiver fields."""
        return bool(self.name_cipher or self.phone_cipher or self.address_cipher)


@dataclass(frozen=True)
class OrderLine:
    """One line (sub-order) of a platform order."""

    sku_id: str
    """Platform SKU id (string)."""
    outer_id: str
    """Merchant SKU code (``outer_id`` / ``outer_sku_id``), empty if unset."""
    qty: int
    """Quantity ordered."""
    price_fen: int
    """Unit price in fen."""
    title: str = ""
    """Goods title."""
    item_id: str = ""
    """Platform goods id (PDD ``goods_id``, TOP ``num_iid``)."""
    line_id: str = ""
    """Sub-order id (TOP ``oid``); empty on PDD."""
    spec: str = ""
    """Specification text (``goods_spec`` / ``sku_properties_name``)."""
    is_gift: bool = False
    """True for gift lines (PDD ``gift_list``)."""


@dataclass(frozen=True)
class PlatformOrder:
    """A normalized platform order."""

    platform: str
    """``pdd`` or ``taobao``."""
    order_id: str
    """Platform order id as a string (PDD ``order_sn``, TOP ``tid``)."""
    status: OrderStatus
    """Normalized status."""
    raw_status: str
    """Platform status as sent."""
    updated_at: datetime
    """Last platform modification (UTC)."""
    lines: tuple[OrderLine, ...]
    """Order lines, gifts included (``is_gift``)."""
    created_at: datetime | None = None
    """Creation time (UTC) if known."""
    ship_by: datetime | None = None
    """The platform's ship-by deadline (PDD ``last_ship_time``; Taobao: paid + 48 h)."""
    refund_status: str = ""
    """Platform refund status as sent."""
    buyer_note: str = ""
    """Buyer message / memo."""
    buyer_nick: str = ""
    """The buyer's platform nickname (Taobao ``buyer_nick``; PDD sends none): personal
    data, stored only masked and as a keyed search index (``cloud.orders.order_sync``)."""
    seller_note: str = ""
    """Seller remark."""
    risk_review: bool = False
    """True while the platform holds the order for risk review: do not ship."""
    receiver: Receiver = field(default_factory=Receiver)
    """Receiver ciphertext and masks."""
    pay_fen: int = 0
    """Amount paid in fen."""
    carrier: str = ""
    """Carrier (logistics id or code) once shipped."""
    tracking_number: str = ""
    """Tracking number once shipped."""


@dataclass(frozen=True)
class OrderPage:
    """One page of an incremental order query."""

    orders: tuple[PlatformOrder, ...]
    """Orders on this page, as sorted by the platform (newest first)."""
    total_count: int
    """Total matching orders (meaningful when ``use_has_next`` was false)."""
    has_next: bool
    """Whether a further page exists."""


@dataclass(frozen=True)
class RefundEvent:
    """A normalized after-sales / refund record."""

    platform: str
    """``pdd`` or ``taobao``."""
    refund_id: str
    """Platform after-sales id as a string."""
    order_id: str
    """Platform order id."""
    status: str
    """Platform refund status as sent."""
    amount_fen: int
    """Refund amount in fen."""
    updated_at: datetime
    """Last modification (UTC)."""
    sku_id: str = ""
    """Platform SKU id, when the refund is for one line."""
    outer_id: str = ""
    """Merchant SKU code, when known."""
    qty: int = 0
    """Goods count, when known."""
    kind: str = ""
    """Refund kind (PDD after_sales_type, TOP refund_phase)."""
    succeeded: bool = False
    """True when money went back to the buyer."""
    line_id: str = ""
    """TOP ``oid`` of the refunded line, empty on PDD."""
    returns_goods: bool = False
    """The buyer sends goods back (PDD 退货退款 or 换货; TOP ``has_good_return``)."""
    exchange: bool = False
    """An exchange (换货): the buyer wants another unit or variant instead of money."""
    return_waybill: str = ""
    """Tracking number of the buyer's return parcel (PDD ``tracking_number``, TOP ``sid``),
    empty until the buyer ships it."""
    reason: str = ""
    """Why the buyer asked, as the platform words it (PDD ``after_sale_reason``, TOP
    ``reason``)."""
    return_carrier: str = ""
    """The return parcel's courier as the platform names it (PDD ``shipping_name``, TOP
    ``company_name``)."""


@dataclass(frozen=True)
class Waybill:
    """An e-waybill issued by the platform."""

    number: str
    """Waybill / tracking number."""
    carrier: str
    """Carrier code (``wp_code`` / ``cp_code``)."""
    print_data: str
    """Opaque print payload; store and forward unchanged to the print component."""
    object_id: str = ""
    """The caller's request id echoed back."""
    parent_number: str = ""
    """Parent waybill number (快运母单号), empty if none."""
    sort_code: str = ""
    """Sort code (大头笔) when the reply gives it in plain form, else empty."""
    package_centre: str = ""
    """Package centre (集包地) when the reply gives it in plain form, else empty."""


@dataclass(frozen=True)
class SenderAddress:
    """A sender address registered with a courier branch (``shipp_address_cols[]``)."""

    province: str
    """Province."""
    city: str
    """City."""
    district: str
    """District."""
    detail: str
    """Street address."""


@dataclass(frozen=True)
class BranchAccount:
    """One branch account of a courier e-waybill subscription, with its balance."""

    carrier: str
    """Carrier code (``wp_code`` / ``cp_code``)."""
    branch_code: str
    """Branch (网点) code."""
    branch_name: str
    """Branch name."""
    quantity: int
    """Waybills left (余额)."""
    allocated: int
    """Waybills issued."""
    cancelled: int
    """Waybills cancelled."""
    recycled: int
    """Waybills recycled."""
    addresses: tuple[SenderAddress, ...]
    """Sender addresses of the branch."""


@dataclass(frozen=True)
class StandardTemplate:
    """A courier's standard print template (``standard_templates[]``)."""

    carrier: str
    """Carrier code."""
    template_id: str
    """``standard_template_id``."""
    name: str
    """``standard_template_name``."""
    url: str
    """``standard_template_url``: the ``template_url`` of waybill requests."""
    waybill_type: int
    """``standard_waybill_type``."""


@dataclass(frozen=True)
class LogisticsCompany:
    """A carrier known to the platform."""

    id: str
    """Platform id (PDD ``logistics_id``; TOP id)."""
    code: str
    """Carrier code such as ``ZTO``."""
    name: str
    """Carrier name."""
    available: bool = True
    """Whether shipping with it is allowed."""


@dataclass(frozen=True)
class Address:
    """A postal address for waybill requests (plain or platform ciphertext)."""

    name: str
    """Contact name."""
    mobile: str
    """Contact mobile."""
    province: str
    """Province."""
    city: str
    """City."""
    district: str
    """District."""
    detail: str
    """Street address."""
    oaid: str = ""
    """Taobao OAID for recipients (with ``tid``); empty otherwise."""


@dataclass(frozen=True)
class WaybillRequest:
    """One package to get an e-waybill for."""

    object_id: str
    """Caller's request id, echoed in the reply."""
    order_ids: tuple[str, ...]
    """Platform orders in the package (≤100)."""
    recipient: Address
    """Recipient (plaintext, PDD ciphertext or Taobao oaid)."""
    items: tuple[tuple[str, int], ...]
    """(name, count) pairs (≤100)."""
    template_url: str = ""
    """Standard template URL."""
    user_id: str = ""
    """Shop/mall id using the waybill."""
    weight_g: int | None = None
    """Package weight in grams, if known."""


@dataclass(frozen=True)
class Listing:
    """One SKU of a shop's listing as the platform shows it (商品匹配)."""

    item_id: str
    """Platform goods id (PDD ``goods_id``, TOP ``num_iid``)."""
    sku_id: str
    """Platform SKU id (empty for a TOP item without SKUs)."""
    outer_id: str
    """商家编码: the merchant's code for the SKU (empty when the merchant set none)."""
    title: str
    """Listing title."""
    spec: str
    """Specification (规格), empty when none."""
    quantity: int
    """The platform's quantity now."""
    on_sale: bool = True
    """Whether the listing (and the SKU) is on sale."""


@dataclass(frozen=True)
class StockUpdate:
    """A stock quantity push for one SKU."""

    item_id: str
    """Platform goods id (PDD ``goods_id``, TOP ``num_iid``)."""
    quantity: int
    """New quantity (full) or delta (incremental)."""
    sku_id: str = ""
    """Platform SKU id (preferred)."""
    outer_id: str = ""
    """Merchant SKU code, used when ``sku_id`` is empty."""
    incremental: bool = False
    """False: set to ``quantity``; True: add ``quantity`` (may be negative)."""


@dataclass(frozen=True)
class DecryptItem:
    """One decrypted PII value."""

    tag: str
    """The ``data_tag`` sent (the order id)."""
    ciphertext: str
    """Ciphertext that was sent."""
    plaintext: str
    """Decrypted value (empty on error)."""
    error_code: int = 0
    """0 = ok; otherwise the per-item error."""
    data_type: int = 0
    """PDD data type (5 name, 6 phone, 7 full address, 8 detailed address, ...)."""


@dataclass(frozen=True)
class PushMessage:
    """A platform push message (PDD PMC frame or TOP TMC message): only a hint."""

    id: str
    """Message id as a string (may exceed 2^53)."""
    topic: str
    """Topic, e.g. ``pdd_trade_TradeConfirmed``."""
    shop_id: str
    """Mall id / user id."""
    content: Mapping[str, Any]
    """Decoded ``content`` JSON."""
    order_id: str = ""
    """``tid`` from the content, when present."""
    raw: Mapping[str, Any] = field(default_factory=dict)
    """The frame as received (ids kept as ints/strings, never floats)."""


@dataclass(frozen=True)
class Token:
    """An OAuth access token for one shop."""

    access_token: str
    """The token sent as ``access_token`` / ``session``."""
    refresh_token: str = ""
    """Refresh token (empty if the app cannot refresh)."""
    expires_at: float = 0.0
    """Epoch seconds at which the access token expires (0 = unknown)."""
    refresh_expires_at: float = 0.0
    """Epoch seconds at which the refresh token expires (0 = unknown)."""
    owner_id: str = ""
    """Shop id the token belongs to."""


@runtime_checkable
class MarketplaceClient(Protocol):
    """What order sync, shipping and stock push need from a platform."""

    platform: str
    """``pdd`` or ``taobao``."""

    async def server_time(self) -> datetime:
        """Platform time (UTC) for window alignment."""
        ...

    async def list_orders(
        self, start: datetime, end: datetime, *, page: int = 1, page_size: int = 100,
        use_has_next: bool = False,
    ) -> OrderPage:
        """One page of orders modified in ``[start, end]`` (window ≤ platform max)."""
        ...

    async def orders_in_window(
        self, start: datetime, end: datetime, *, page_size: int = 100
    ) -> list[PlatformOrder]:
        """Every order of the window, read from the last page backwards."""
        ...

    async def get_order(self, order_id: str) -> PlatformOrder:
        """Order detail."""
        ...

    async def logistics_companies(self) -> list[LogisticsCompany]:
        """Carriers known to the platform."""
        ...

    async def ship(
        self, order_id: str, carrier: str, tracking_number: str, *, modify: bool = False
    ) -> None:
        """Write back a shipment (``modify=True`` overwrites an earlier one)."""
        ...

    async def get_waybills(
        self, carrier_code: str, sender: Address, packages: Sequence[WaybillRequest]
    ) -> list[Waybill]:
        """Request e-waybills (≤10 packages per call)."""
        ...

    async def waybill_accounts(self, carrier: str = "") -> list[BranchAccount]:
        """E-waybill subscriptions: branch accounts, balances and sender addresses."""
        ...

    async def cancel_waybill(self, carrier_code: str, waybill_no: str) -> None:
        """Cancel an unused e-waybill number (回收): it dies and its unit returns to the
        branch. A refusal raises :class:`~cloud.marketplaces.errors.BusinessError`."""
        ...

    async def standard_templates(self, carrier: str = "") -> list[StandardTemplate]:
        """Standard print templates, of every carrier or of one."""
        ...

    async def set_seller_note(self, order_id: str, note: str, flag: int) -> None:
        """Write the seller's note (卖家备注) and flag (旗帜: 0 none, 1 red, 2 yellow,
        3 green, 4 blue, 5 purple/pink) to the platform's order."""
        ...

    async def update_stock(self, update: StockUpdate) -> None:
        """Push a stock quantity (full or incremental)."""
        ...

    async def refunds_in_window(self, start: datetime, end: datetime) -> list[RefundEvent]:
        """Refunds modified in ``[start, end]``."""
        ...

    async def listings(self, *, progress: Callable[[int, int], None] | None = None
                       ) -> list[Listing]:
        """Every listing SKU of the shop with the platform's quantity (商品匹配)."""
        ...

    async def aclose(self) -> None:
        """Release the HTTP client if this client owns it."""
        ...


# ----------------------------------------------------------------- wire helpers


def plan_window(
    cursor: datetime,
    platform_now: datetime,
    *,
    max_span: timedelta,
    overlap: timedelta = timedelta(minutes=5),
    lag: timedelta = timedelta(minutes=3),
) -> tuple[datetime, datetime] | None:
    """Next polling window ``[cursor − overlap, min(now − lag, cursor + max_span)]``.

    Returns None when the window would bring nothing new (cursor already at ``now − lag``).
    The span never exceeds ``max_span`` (PDD 30 min, TOP 1 day).
    """
    start = cursor - overlap
    end = min(platform_now - lag, start + max_span)
    if end <= cursor:
        return None
    return start, end


def parse_time(value: Any, *, field_name: str = "time") -> datetime:
    """Parse a platform time: ``yyyy-MM-dd HH:mm:ss`` (GMT+8), epoch s or ms (str or int)."""
    if isinstance(value, bool):
        raise MalformedResponse(f"{field_name}: not a time: {value!r}")
    if isinstance(value, int | Decimal | float):
        return _from_epoch(Decimal(str(value)), field_name)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return _from_epoch(Decimal(text), field_name)
        try:
            # The usual zero-padded form parses ~20x faster without strptime (a window of
            # orders carries two times per order); strptime keeps the lenient rest.
            naive = (datetime.fromisoformat(text) if _PADDED_TIME.fullmatch(text)
                     else datetime.strptime(text, "%Y-%m-%d %H:%M:%S"))
        except ValueError as err:
            raise MalformedResponse(f"{field_name}: not a time: {value!r}") from err
        return naive.replace(tzinfo=BEIJING).astimezone(UTC)
    raise MalformedResponse(f"{field_name}: not a time: {value!r}")


def _from_epoch(value: Decimal, field_name: str) -> datetime:
    if not value.is_finite() or not 0 <= value < Decimal(10) ** 14:
        raise MalformedResponse(f"{field_name}: epoch out of range: {value}")
    seconds = value / 1000 if value > 10**11 else value
    try:
        return datetime.fromtimestamp(float(seconds), UTC)
    except (OverflowError, ValueError, OSError) as err:
        raise MalformedResponse(f"{field_name}: epoch out of range: {value}") from err


def format_beijing(moment: datetime) -> str:
    """Format a datetime as ``yyyy-MM-dd HH:mm:ss`` in GMT+8."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def yuan_to_fen(value: Any, *, field_name: str = "amount") -> int:
    """Convert a yuan amount (string, int or Decimal; never via float) to integer fen."""
    if isinstance(value, bool) or value is None:
        raise MalformedResponse(f"{field_name}: not an amount: {value!r}")
    if value == "":
        return 0
    try:
        amount = Decimal(str(value))
    except InvalidOperation as err:
        raise MalformedResponse(f"{field_name}: not an amount: {value!r}") from err
    if not amount.is_finite() or abs(amount) > Decimal(10) ** 12:
        raise MalformedResponse(f"{field_name}: not an amount: {value!r}")
    return int((amount * 100).quantize(Decimal(1)))


def as_id(value: Any, *, field_name: str = "id") -> str:
    """An id as a string: accepts str or int, never a float (precision loss)."""
    if isinstance(value, bool) or value is None:
        raise MalformedResponse(f"{field_name}: not an id: {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    raise MalformedResponse(f"{field_name}: not an id: {value!r}")


def as_int(value: Any, *, field_name: str = "int", default: int | None = None) -> int:
    """An integer from an int or digit string."""
    if value is None and default is not None:
        return default
    if isinstance(value, bool):
        raise MalformedResponse(f"{field_name}: not an integer: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError as err:
            raise MalformedResponse(f"{field_name}: not an integer: {value!r}") from err
    raise MalformedResponse(f"{field_name}: not an integer: {value!r}")


def as_str(value: Any, *, field_name: str = "str") -> str:
    """A string field; None becomes ``""``; numbers are stringified."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    raise MalformedResponse(f"{field_name}: not a string: {value!r}")


def as_dict(value: Any, *, field_name: str = "object") -> dict[str, Any]:
    """A JSON object or MalformedResponse."""
    if not isinstance(value, dict):
        raise MalformedResponse(f"{field_name}: expected an object, got {type(value).__name__}")
    return value


def as_list(value: Any, *, field_name: str = "list") -> list[Any]:
    """A JSON array (None → empty) or MalformedResponse."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedResponse(f"{field_name}: expected a list, got {type(value).__name__}")
    return value


ListOrders = Callable[..., Awaitable[OrderPage]]
"""A client's ``list_orders(start, end, *, page, page_size, use_has_next=False)``."""


async def read_window(
    list_orders: ListOrders, start: datetime, end: datetime, *, page_size: int = 100
) -> list[PlatformOrder]:
    """Every order of a window, the way the platforms say avoids missed orders (docs/specs/marketplaces.md §1.7.1, §5.4):
    count first, then every page from the last back to the first; newest version wins.

    Results are sorted newest first, and an order changed while we page leaves the window
    (its new ``updated_at`` is after ``end``), moving older ones towards page 1. Read
    backwards, each page is fetched after the ones behind it, so nothing slips past: page 1
    is fetched again at the end rather than reused from the count call.
    """
    first = await list_orders(start, end, page=1, page_size=page_size)
    pages = max(1, -(-first.total_count // page_size))
    seen: dict[str, PlatformOrder] = {}
    for page in range(pages, 0, -1):
        got = first if pages == 1 else await list_orders(
            start, end, page=page, page_size=page_size, use_has_next=True)
        for order in got.orders:
            old = seen.get(order.order_id)
            if old is None or order.updated_at >= old.updated_at:
                seen[order.order_id] = order
    return list(seen.values())


def parse_branch_accounts(
    subscriptions: list[Any], carrier_key: str, unwrap: Callable[[Any, str], list[Any]]
) -> list[BranchAccount]:
    """Branch accounts of ``waybill_apply_subscription_cols[]`` (PDD §1.7.8; Cainiao in the
    same shape, ``unwrap`` reading TOP's wrapped lists)."""
    out = []
    for sub in subscriptions:
        s = as_dict(sub, field_name="waybill_apply_subscription_col")
        carrier = as_str(s.get(carrier_key), field_name=carrier_key)
        for acc in unwrap(s.get("branch_account_cols"), "waybill_branch_account"):
            a = as_dict(acc, field_name="branch_account_col")
            addresses = tuple(SenderAddress(
                province=as_str(d.get("province")), city=as_str(d.get("city")),
                district=as_str(d.get("district")), detail=as_str(d.get("detail")))
                for d in (as_dict(x, field_name="shipp_address_col")
                          for x in unwrap(a.get("shipp_address_cols"), "address_dto")))
            out.append(BranchAccount(
                carrier=carrier, branch_code=as_str(a.get("branch_code")),
                branch_name=as_str(a.get("branch_name")),
                quantity=as_int(a.get("quantity"), field_name="quantity", default=0),
                allocated=as_int(a.get("allocated_quantity"), field_name="allocated_quantity",
                                 default=0),
                cancelled=as_int(a.get("cancel_quantity"), field_name="cancel_quantity",
                                 default=0),
                recycled=as_int(a.get("recycled_quantity"), field_name="recycled_quantity",
                                default=0),
                addresses=addresses))
    return out


def parse_standard_templates(
    datas: list[Any], carrier_key: str, unwrap: Callable[[Any, str], list[Any]]
) -> list[StandardTemplate]:
    """Templates of ``result.datas[]`` (``pdd.cloudprint.stdtemplates.get`` §1.7.8; Cainiao
    in the same shape)."""
    out = []
    for data in datas:
        d = as_dict(data, field_name="datas[]")
        carrier = as_str(d.get(carrier_key), field_name=carrier_key)
        for t in unwrap(d.get("standard_templates"), "standard_template_do"):
            e = as_dict(t, field_name="standard_template")
            out.append(StandardTemplate(
                carrier=carrier, template_id=as_id(e.get("standard_template_id"),
                                                   field_name="standard_template_id"),
                name=as_str(e.get("standard_template_name")),
                url=as_str(e.get("standard_template_url"), field_name="standard_template_url"),
                waybill_type=as_int(e.get("standard_waybill_type"),
                                    field_name="standard_waybill_type", default=0)))
    return out
