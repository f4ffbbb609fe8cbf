"""Seeded, platform-neutral order streams over a simulated clock, for the fake platforms.

The generator owns the ground truth of a fake shop: catalog and stock, orders and
their lifecycle (new orders, multi-item orders, gifts, buyer notes, risk review,
address changes, refunds before and after shipping) and the push messages each
change produces. Platform fakes render these neutral records into PDD or TOP JSON.
"""

from __future__ import annotations

import enum
import hashlib
import random
import threading
import time
from dataclasses import dataclass, field

PROVINCES = (
    ("浙江省", "杭州市", "西湖区"), ("广东省", "深圳市", "南山区"), ("江苏省", "苏州市", "工业园区"),
    ("上海市", "上海市", "浦东新区"), ("北京市", "北京市", "朝阳区"), ("四川省", "成都市", "武侯区"),
    ("湖北省", "武汉市", "洪山区"), ("山东省", "青岛市", "崂山区"),
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛")
STREETS = ("文三路", "科技园南路", "星湖街", "张江路", "建国路", "天府大道", "珞喻路", "香港东路")
TAOBAO_ITEM_BASE = 600_000_000_000
"""Taobao ``num_iid`` of the first listing (twelve digits, as real item ids are; far below
2^53, so JavaScript clients read them exactly)."""
TAOBAO_GIFT_ITEM = "600000099999"
"""``num_iid`` of the gift (赠品) listing on the Taobao fake."""
NICK_STEMS = ("tb", "小", "爱购物的", "快乐", "阿")
"""How generated Taobao buyer nicknames start (``tb1234567`` is the platform's default
nick; the rest are the kind buyers pick)."""
NICK_DIGITS = 10_000_000
"""Generated nicknames end in a number below this."""

NOTES = ("请尽快发货", "不要放快递柜", "送人的，不要放发票", "周末送货", "包装结实一点", "")
GOODS = (
    ("保温杯", ("白色 500ml", "黑色 500ml", "粉色 350ml"), 3990),
    ("数据线", ("1米", "2米"), 990),
    ("手机壳", ("iPhone 15", "iPhone 15 Pro", "华为 Mate 60"), 1590),
    ("收纳盒", ("小号", "中号", "大号"), 2490),
    ("毛巾", ("蓝色", "灰色"), 1290),
    ("洗碗布", ("10片装",), 590),
    ("蓝牙耳机", ("白色", "黑色"), 8900),
    ("雨伞", ("折叠", "长柄"), 2990),
)
GIFT = ("赠品 钥匙扣", 0)


class Phase(enum.StrEnum):
    """Neutral order phase."""

    AWAITING = "awaiting"
    """Paid, waiting for shipment."""
    SHIPPED = "shipped"
    """Shipped, not signed for."""
    DELIVERED = "delivered"
    """Signed for / finished."""
    CLOSED = "closed"
    """Closed (refunded before shipping or cancelled)."""


RETURN_WAYBILL_PREFIX = "YT"
"""Return parcels go back by YTO in the fakes: ``YT`` + the refund id."""
RETURN_CARRIER_NAME = "圆通速递"
"""The return courier's name the fakes report."""
REFUND_REASON = "不想要了"
"""The reason of a refund before shipping in the fakes."""
RETURN_REASON = "七天无理由退货"
"""The reason of a return after shipping in the fakes."""


class RefundPhase(enum.StrEnum):
    """Neutral refund status."""

    PENDING = "pending"
    """Buyer asked, seller has not acted."""
    SUCCESS = "success"
    """Money returned."""
    CLOSED = "closed"
    """Withdrawn or refused."""


@dataclass
class Sku:
    """A catalog SKU with its platform ids and stock."""

    item_id: str
    """Platform goods id (PDD goods_id, TOP num_iid)."""
    sku_id: str
    """Platform SKU id."""
    outer_id: str
    """Merchant SKU code."""
    title: str
    """Goods title."""
    spec: str
    """Specification."""
    price_fen: int
    """Unit price in fen."""
    quantity: int
    """Stock on the platform (changed only by stock pushes)."""


@dataclass
class Line:
    """One order line."""

    sku: Sku
    """The SKU."""
    qty: int
    """Quantity."""
    price_fen: int
    """Unit price in fen (0 for gifts)."""
    line_id: str
    """Sub-order id (TOP oid)."""
    is_gift: bool = False
    """Gift line."""


@dataclass
class Person:
    """A receiver, in plain text (the fake encrypts or masks it on the way out)."""

    name: str
    """Name."""
    phone: str
    """Mobile."""
    province: str
    """Province."""
    city: str
    """City."""
    district: str
    """District."""
    detail: str
    """Street address."""


@dataclass
class Order:
    """A fake platform order (mutable ground truth)."""

    order_id: str
    """PDD order_sn or TOP tid (as a string; TOP tids exceed 2^53)."""
    shop_id: str
    """Owning shop."""
    created_at: int
    """Epoch seconds."""
    updated_at: int
    """Epoch seconds of the last change."""
    lines: list[Line]
    """Lines, gifts included."""
    receiver: Person
    """Receiver (plain)."""
    phase: Phase = Phase.AWAITING
    """Lifecycle phase."""
    risk_review: bool = False
    """Under risk review (PDD risk_control_status=1; TOP PAID_FORBID_CONSIGN)."""
    buyer_note: str = ""
    """Buyer memo."""
    seller_note: str = ""
    """Seller remark (PDD ``remark``, TOP ``seller_memo``), set through the note APIs."""
    seller_flag: int = 0
    """Seller flag: PDD ``remark_tag`` 1–5, TOP ``seller_flag`` 0–5 (0: none / grey)."""
    carrier: str = ""
    """Logistics id (PDD) or company code (TOP) once shipped."""
    tracking_number: str = ""
    """Tracking number once shipped."""
    shipped_at: int = 0
    """Epoch seconds of shipment."""
    refund: RefundPhase | None = None
    """Order-level refund state, if any."""

    @property
    def pay_fen(self) -> int:
        """Sum of line totals."""
        return sum(line.price_fen * line.qty for line in self.lines)


@dataclass
class Refund:
    """A fake after-sales record."""

    refund_id: str
    """After-sales id."""
    order: Order
    """The order."""
    line: Line
    """Refunded line."""
    created_at: int
    """Epoch seconds."""
    updated_at: int
    """Epoch seconds."""
    status: RefundPhase
    """Status."""
    amount_fen: int
    """Refund amount in fen."""
    after_shipping: bool
    """True for after-sales on shipped orders (退货退款)."""

    @property
    def return_waybill(self) -> str:
        """The buyer's return parcel tracking number (退货运单号) for an after-shipping
        refund, derived from the refund id so it costs no random draw; '' otherwise."""
        return f"{RETURN_WAYBILL_PREFIX}{self.refund_id}" if self.after_shipping else ""

    @property
    def reason(self) -> str:
        """Why the buyer asked (the fakes word it as the platforms' buyers usually do)."""
        return RETURN_REASON if self.after_shipping else REFUND_REASON

    @property
    def return_carrier(self) -> str:
        """The courier of the return parcel as the platforms name it ('' without one)."""
        return RETURN_CARRIER_NAME if self.after_shipping else ""


@dataclass
class Event:
    """A change worth a push message."""

    kind: str
    """``created``, ``risk_changed``, ``address_changed``, ``shipped``, ``refund_created``,
    ``refund_success``, ``refund_closed``."""
    order_id: str
    """Order concerned."""
    shop_id: str
    """Shop concerned."""
    at: int
    """Epoch seconds."""
    refund_id: str = ""
    """After-sales id for refund events."""
    refund_fen: int = 0
    """Refund amount for refund events."""


class SimClock:
    """Real time plus a manual offset: ``advance()`` jumps the simulated clock forward."""

    def __init__(self, start: float | None = None) -> None:
        self._offset = 0.0 if start is None else start - time.time()
        self._lock = threading.Lock()

    def now(self) -> float:
        """Simulated epoch seconds."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the simulated clock forward."""
        with self._lock:
            self._offset += seconds


@dataclass
class GeneratorSettings:
    """Shape of the generated stream."""

    orders_per_hour: float = 40.0
    """Mean new orders per simulated hour."""
    multi_item_rate: float = 0.3
    """Share of orders with 2–4 lines."""
    gift_rate: float = 0.1
    """Share of orders with a gift line."""
    note_rate: float = 0.2
    """Share of orders with a buyer note."""
    risk_rate: float = 0.05
    """Share of orders starting under risk review."""
    address_change_rate: float = 0.03
    """Per order, chance of an address change while awaiting shipment."""
    refund_before_ship_rate: float = 0.04
    """Per order, chance of a refund (closing it) before shipment."""
    refund_after_ship_rate: float = 0.08
    """Per shipped order, chance of a later return/refund."""
    skus: int = 12
    """Catalog size."""
    initial_stock: int = 50
    """Initial platform stock per SKU."""
    outer_ids: tuple[str, ...] = ()
    """The 商家编码 (outer id) of the catalog's SKUs in catalog order, as a seller types
    its own SKU codes into the listings; SKUs beyond the tuple get ``SKU-0001``…"""


class OrderGenerator:
    """Deterministic order stream for one platform and shop (same seed → same stream)."""

    def __init__(
        self, platform: str, shop_id: str, seed: int, settings: GeneratorSettings | None = None
    ) -> None:
        self.platform = platform
        """``pdd`` or ``taobao`` (id formats differ)."""
        self.shop_id = shop_id
        """Shop the orders belong to."""
        self.settings = settings or GeneratorSettings()
        """Stream shape."""
        self.rng = random.Random(seed)
        """The only randomness source."""
        self.catalog: list[Sku] = self._catalog()
        """SKUs on sale."""
        self.orders: dict[str, Order] = {}
        """All orders by id."""
        self.refunds: dict[str, Refund] = {}
        self.refunds_by_order: dict[str, list[Refund]] = {}
        """Each order's after-sales records, oldest first."""
        """All refunds by id."""
        self.events: list[Event] = []
        """Every change, in order (the fakes turn them into push messages)."""
        self._pending: list[tuple[int, str, str]] = []
        self._seq = 0
        self._now = 0

    # --------------------------------------------------------------- ids

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def _order_id(self, at: int) -> str:
        if self.platform == "pdd":
            day = time.strftime("%y%m%d", time.gmtime(at + 8 * 3600))
            return f"{day}-{self.rng.randrange(10**14, 10**15)}"
        return str(4_100_000_000_000_000_000 + self._next() * 1_000_003 + self.rng.randrange(999))

    def _catalog(self) -> list[Sku]:
        out = []
        big = self.platform != "pdd"
        for n in range(self.settings.skus):
            title, specs, price = GOODS[n % len(GOODS)]
            spec = specs[(n // len(GOODS)) % len(specs)]
            item = (TAOBAO_ITEM_BASE + n * 10) if big else 100_000_000 + n
            sku = (5_000_000_000_000 + n) if big else 1_000_000_000 + n
            outer = self.settings.outer_ids[n] if n < len(self.settings.outer_ids) \
                else f"SKU-{n + 1:04d}"
            out.append(Sku(item_id=str(item), sku_id=str(sku), outer_id=outer,
                           title=title, spec=spec, price_fen=price,
                           quantity=self.settings.initial_stock))
        return out

    @staticmethod
    def buyer_nick(order: Order) -> str:
        """The order's buyer nickname: derived from the receiver (one buyer, one nick, so
        orders to merge share it), without drawing from the stream's random generator."""
        r = order.receiver
        digest = int(hashlib.sha256(f"{r.name}|{r.phone}".encode()).hexdigest(), 16)
        stem = NICK_STEMS[digest % len(NICK_STEMS)]
        return f"{stem}{r.name[0]}{digest % NICK_DIGITS}"

    def _person(self) -> Person:
        province, city, district = self.rng.choice(PROVINCES)
        return Person(
            name=self.rng.choice(SURNAMES) + self.rng.choice(GIVEN),
            phone=f"1{self.rng.choice('3578')}{self.rng.randrange(10**8, 10**9)}",
            province=province, city=city, district=district,
            detail=f"{self.rng.choice(STREETS)}{self.rng.randrange(1, 999)}号"
                   f"{self.rng.randrange(1, 30)}栋{self.rng.randrange(101, 2999)}室",
        )

    # ------------------------------------------------------------ stream

    def new_order(self, at: int) -> Order:
        """Create one order at ``at`` and schedule its later lifecycle events."""
        s, rng = self.settings, self.rng
        count = rng.randint(2, 4) if rng.random() < s.multi_item_rate else 1
        skus = rng.sample(self.catalog, min(count, len(self.catalog)))
        lines = [Line(sku=k, qty=rng.choice((1, 1, 1, 2, 3)), price_fen=k.price_fen,
                      line_id=str(int(self._order_id(at)) + i) if self.platform != "pdd" else "")
                 for i, k in enumerate(skus)]
        if rng.random() < s.gift_rate:
            gift = Sku(item_id="100099999" if self.platform == "pdd" else TAOBAO_GIFT_ITEM,
                       sku_id="1000099999" if self.platform == "pdd" else "5000000099999",
                       outer_id="GIFT-001", title=GIFT[0], spec="", price_fen=0, quantity=0)
            lines.append(Line(sku=gift, qty=1, price_fen=0, line_id="", is_gift=True))
        order = Order(
            order_id=self._order_id(at), shop_id=self.shop_id, created_at=at, updated_at=at,
            lines=lines, receiver=self._person(),
            risk_review=rng.random() < s.risk_rate,
            buyer_note=rng.choice(NOTES) if rng.random() < s.note_rate else "",
        )
        self.orders[order.order_id] = order
        self.events.append(Event("created", order.order_id, self.shop_id, at))
        if order.risk_review:
            self._schedule(at + rng.randrange(300, 3600), "risk_clear", order.order_id)
        if rng.random() < s.address_change_rate:
            self._schedule(at + rng.randrange(120, 7200), "address", order.order_id)
        if rng.random() < s.refund_before_ship_rate:
            self._schedule(at + rng.randrange(60, 3600), "refund_before", order.order_id)
        return order

    def _schedule(self, at: int, kind: str, order_id: str) -> None:
        self._pending.append((at, kind, order_id))
        self._pending.sort()

    def touch(self, order: Order, at: int) -> None:
        """Bump ``updated_at`` (never backwards)."""
        order.updated_at = max(order.updated_at + 1, at)

    def on_shipped(self, order: Order, at: int) -> None:
        """Called by a fake when the seller ships: maybe schedule an after-sales refund."""
        self.events.append(Event("shipped", order.order_id, self.shop_id, at))
        if self.rng.random() < self.settings.refund_after_ship_rate:
            self._schedule(at + self.rng.randrange(3600, 3 * 86400), "refund_after", order.order_id)

    def _refund(self, order: Order, at: int, *, after_shipping: bool) -> Refund:
        line = self.rng.choice([ln for ln in order.lines if not ln.is_gift] or order.lines)
        refund = Refund(
            refund_id=str(7_000_000_000 + self._next() * 97 + self.rng.randrange(97)),
            order=order, line=line, created_at=at, updated_at=at,
            status=RefundPhase.PENDING, amount_fen=line.price_fen * line.qty,
            after_shipping=after_shipping,
        )
        self.refunds[refund.refund_id] = refund
        self.refunds_by_order.setdefault(order.order_id, []).append(refund)
        order.refund = RefundPhase.PENDING
        self.touch(order, at)
        self.events.append(Event("refund_created", order.order_id, self.shop_id, at,
                                 refund.refund_id, refund.amount_fen))
        self._schedule(at + self.rng.randrange(600, 86400), "refund_done:" + refund.refund_id,
                       order.order_id)
        return refund

    def _apply(self, at: int, kind: str, order_id: str) -> None:
        order = self.orders[order_id]
        if kind == "risk_clear" and order.risk_review:
            order.risk_review = False
            self.touch(order, at)
            self.events.append(Event("risk_changed", order_id, self.shop_id, at))
        elif kind == "address" and order.phase is Phase.AWAITING:
            order.receiver = self._person()
            self.touch(order, at)
            self.events.append(Event("address_changed", order_id, self.shop_id, at))
        elif kind == "refund_before" and order.phase is Phase.AWAITING and order.refund is None:
            self._refund(order, at, after_shipping=False)
        elif kind == "refund_after" and order.phase in (Phase.SHIPPED, Phase.DELIVERED):
            self._refund(order, at, after_shipping=True)
        elif kind.startswith("refund_done:"):
            refund = self.refunds[kind.split(":", 1)[1]]
            if refund.status is not RefundPhase.PENDING:
                return
            success = self.rng.random() < 0.8
            refund.status = RefundPhase.SUCCESS if success else RefundPhase.CLOSED
            refund.updated_at = at
            order.refund = refund.status
            if success and order.phase is Phase.AWAITING:
                order.phase = Phase.CLOSED
            self.touch(order, at)
            self.events.append(Event("refund_success" if success else "refund_closed",
                                     order_id, self.shop_id, at, refund.refund_id,
                                     refund.amount_fen))

    def run_until(self, end: int) -> None:
        """Generate new orders and apply scheduled changes up to ``end`` (epoch seconds)."""
        rate = self.settings.orders_per_hour / 3600.0
        t = self._now
        while True:
            gap = self.rng.expovariate(rate) if rate > 0 else float("inf")
            nxt = t + max(1, int(gap))
            while self._pending and self._pending[0][0] <= min(nxt, end):
                at, kind, order_id = self._pending.pop(0)
                self._apply(at, kind, order_id)
            if nxt > end:
                break
            self.new_order(nxt)
            t = nxt
        self._now = end

    def populate(self, start: int, end: int, *, ship_older_than: int = 6 * 3600,
                 deliver_older_than: int = 2 * 86400, carrier: str = "", prefix: str = "ZT"
                 ) -> None:
        """History from ``start`` to ``end``: old orders were shipped/delivered by another
        tool, so ground truth has every phase."""
        self._now = start
        self.run_until(end)
        for order in list(self.orders.values()):
            if order.phase is not Phase.AWAITING or order.risk_review:
                continue
            age = end - order.created_at
            if age > ship_older_than:
                at = order.created_at + ship_older_than // 2
                order.phase = Phase.SHIPPED
                order.carrier = carrier
                order.tracking_number = f"{prefix}{self.rng.randrange(10**11, 10**12)}"
                order.shipped_at = at
                self.touch(order, at)
                if age > deliver_older_than:
                    order.phase = Phase.DELIVERED
                    self.touch(order, at + 2 * 86400)
                if self.rng.random() < self.settings.refund_after_ship_rate:
                    when = max(at + self.rng.randrange(3600, 2 * 86400), order.updated_at + 1)
                    if when < end:
                        self._refund(order, when, after_shipping=True)
        while self._pending and self._pending[0][0] <= end:
            due, kind, order_id = self._pending.pop(0)
            self._apply(due, kind, order_id)

    def sku_by(self, item_id: str, sku_id: str = "", outer_id: str = "") -> Sku | None:
        """Find a catalog SKU by goods id and sku id (or merchant code)."""
        for sku in self.catalog:
            if sku.item_id == item_id and (
                (sku_id and sku.sku_id == sku_id) or (not sku_id and sku.outer_id == outer_id)
            ):
                return sku
        return None


@dataclass
class Shipment:
    """Ground truth: one shipping write-back accepted by a fake."""

    order_id: str
    """Order shipped."""
    carrier: str
    """Logistics id / company code."""
    tracking_number: str
    """Tracking number."""
    at: int
    """Simulated epoch seconds."""
    modification: bool = False
    """True when it overwrote an earlier shipment."""


@dataclass
class StockPush:
    """Ground truth: one accepted stock quantity update."""

    item_id: str
    """Goods id."""
    sku_id: str
    """SKU id."""
    quantity: int
    """Value sent (absolute or delta)."""
    incremental: bool
    """Incremental update."""
    result: int
    """Stock after the update."""
    at: int
    """Simulated epoch seconds."""


@dataclass
class IssuedWaybill:
    """Ground truth: one e-waybill issued by a fake."""

    number: str
    """Waybill number."""
    carrier: str
    """Carrier code."""
    order_ids: tuple[str, ...]
    """Orders in the package."""
    object_id: str
    """Caller's request id."""
    recipient: dict[str, object] = field(default_factory=dict)
    """Recipient as sent."""
    sender: dict[str, object] = field(default_factory=dict)
    """Sender as sent."""
    template_url: str = ""
    """Template URL as sent."""
    cancelled: bool = False
    """Cancelled by the seller (``pdd.waybill.cancel``): the number is dead."""
