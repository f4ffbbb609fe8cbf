"""Scan-verify packing, pure: what an order expects, what each scan does, what it should weigh.

No database and no UI here. The store answers lookups through the small ``OrderSource``
protocol; the kiosk turns ``ScanResult`` codes into words (``edge.ui.i18n``).

The flow at a station (验货 → 称重 → 打印 → 发货):

1. The first scan picks the order: its waybill number, its platform order number, or, for
   single-item orders, just the item (爆款单品扫描即打印: the oldest waiting order that
   consists of exactly that item). Intercepted, shipped and cancelled orders are refused
   at this first scan, with the reason.
2. Every item scan is checked against the expected lines. A case barcode counts its
   ``units``. Items not on the order and items beyond the expected quantity are refused,
   and a count never exceeds what the order expects.
3. When every line is complete the parcel is weighed against
   Σ(unit weight × qty) + packaging, within a tolerance of max(grams, percent).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


class OrderStatus(enum.StrEnum):
    """``orders.status`` values."""

    WAITING = "waiting"
    PACKING = "packing"
    PACKED = "packed"
    SHIPPED = "shipped"
    INTERCEPTED = "intercepted"
    CANCELLED = "cancelled"


PACKABLE = frozenset({OrderStatus.WAITING, OrderStatus.PACKING, OrderStatus.PACKED})
"""Statuses an order may be packed from."""


@dataclass(frozen=True, slots=True)
class PackLine:
    """One expected line of an order, with the catalog facts the station needs."""

    line_no: int
    sku: str
    qty: int
    name: str
    unit_weight_g: int
    location: str | None = None
    name_en: str | None = None

    def label(self, lang: str) -> str:
        """The product name in ``lang`` (Chinese when there is no English name)."""
        return self.name_en if lang == "en" and self.name_en else self.name


@dataclass(frozen=True, slots=True)
class PackOrder:
    """An order as the pack station sees it."""

    order_id: str
    platform: str
    platform_order_no: str
    status: OrderStatus
    lines: tuple[PackLine, ...]
    waybill_no: str | None = None
    carrier: str | None = None
    intercept_reason: str | None = None
    packaging_weight_g: int = 0
    buyer_note: str | None = None
    ship_by: str | None = None
    """The platform's ship-by deadline (ISO UTC), or None."""

    def expected(self) -> dict[str, int]:
        """Expected units per SKU (lines of the same SKU added together)."""
        out: dict[str, int] = {}
        for line in self.lines:
            out[line.sku] = out.get(line.sku, 0) + line.qty
        return out

    @property
    def is_single_item(self) -> bool:
        """One SKU only (one line, any quantity)."""
        return len(self.expected()) == 1


class OrderSource(Protocol):
    """Lookups the packing logic needs; ``edge.store.packing.StoreOrderSource`` implements it."""

    def order_by_waybill(self, waybill_no: str) -> PackOrder | None: ...
    def order_by_platform_no(self, platform_order_no: str) -> PackOrder | None: ...
    def barcode(self, code: str) -> tuple[str, int] | None: ...
    def kit(self, sku: str) -> list[tuple[str, int]]: ...
    def oldest_single_item_order(self, sku: str, units: int) -> PackOrder | None: ...


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How far a weighed parcel may be from its expected weight: max(grams, percent)."""

    grams: int = 50
    """Absolute allowance in grams."""
    percent: float = 5.0
    """Allowance as a percentage of the expected weight."""

    def allowed(self, expected_g: int) -> int:
        """Allowed difference in grams for a parcel expected to weigh ``expected_g``."""
        return max(self.grams, round(expected_g * self.percent / 100))

    def within(self, expected_g: int, grams: int) -> bool:
        return abs(grams - expected_g) <= self.allowed(expected_g)


@dataclass(frozen=True, slots=True)
class PackSettings:
    """Station packing settings (from the ``settings`` table or the command line)."""

    packaging_g: int = 30
    """Packaging weight added to every parcel unless the order carries its own."""
    tolerance: Tolerance = field(default_factory=Tolerance)
    """Weight tolerance."""
    require_weigh: bool = True
    """Weigh every parcel before its label prints."""


def expected_weight(order: PackOrder, settings: PackSettings) -> int:
    """Σ(unit weight × qty) + packaging (the order's own packaging weight if set)."""
    items = sum(line.unit_weight_g * line.qty for line in order.lines)
    packaging = order.packaging_weight_g or settings.packaging_g
    return items + packaging


class Outcome(enum.StrEnum):
    """What a scan did. The kiosk maps each to a sound, a colour and a sentence."""

    ORDER_OPENED = "order_opened"
    """A waybill or order number opened the order."""
    COUNTED = "counted"
    """An expected item was counted; more are expected."""
    COMPLETE = "complete"
    """The item completed the order."""
    WRONG_ITEM = "wrong_item"
    """The item is not on this order."""
    EXTRA_ITEM = "extra_item"
    """The item is on the order but would exceed its quantity."""
    UNKNOWN_CODE = "unknown_code"
    """Neither an order, a waybill nor a known barcode."""
    NO_ORDER_FOR_ITEM = "no_order_for_item"
    """An item scanned with no open order and no waiting single-item order for it."""
    INTERCEPTED = "intercepted"
    """The order is intercepted (refund, address change...): do not pack."""
    NOT_PACKABLE = "not_packable"
    """The order is already shipped or cancelled."""
    BUSY = "busy"
    """Another order's code while the current one has items counted (cancel it first)."""


ERRORS = frozenset({
    Outcome.WRONG_ITEM, Outcome.EXTRA_ITEM, Outcome.UNKNOWN_CODE, Outcome.NO_ORDER_FOR_ITEM,
    Outcome.INTERCEPTED, Outcome.NOT_PACKABLE, Outcome.BUSY,
})
"""Outcomes that are refusals (loud red banner and bell)."""


@dataclass(frozen=True, slots=True)
class ScanResult:
    """The answer to one scan: an outcome plus the facts to show."""

    outcome: Outcome
    code: str
    sku: str | None = None
    units: int = 0
    order: PackOrder | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome not in ERRORS


class PackSession:
    """Counts scans against one order. Counts never exceed the expected quantities."""

    def __init__(self, order: PackOrder) -> None:
        self.order = order
        """The order being packed."""
        self.expected: Mapping[str, int] = order.expected()
        """Units expected per SKU."""
        self.counts: dict[str, int] = dict.fromkeys(self.expected, 0)
        """Units counted so far per SKU."""
        self.rejected = 0
        """Refused item scans in this session (wrong or extra), for packer KPIs."""

    @property
    def complete(self) -> bool:
        return all(self.counts[s] == q for s, q in self.expected.items())

    @property
    def started(self) -> bool:
        """At least one unit counted."""
        return any(self.counts.values())

    def remaining(self, sku: str) -> int:
        return self.expected.get(sku, 0) - self.counts.get(sku, 0)

    def count(self, code: str, sku: str, units: int) -> ScanResult:
        """Count ``units`` of ``sku`` (scanned as ``code``) or refuse with a reason."""
        if sku not in self.expected:
            self.rejected += 1
            return ScanResult(Outcome.WRONG_ITEM, code, sku, units, self.order)
        if units > self.remaining(sku):
            self.rejected += 1
            return ScanResult(Outcome.EXTRA_ITEM, code, sku, units, self.order,
                              detail=f"{self.counts[sku]}/{self.expected[sku]}")
        self.counts[sku] += units
        outcome = Outcome.COMPLETE if self.complete else Outcome.COUNTED
        return ScanResult(outcome, code, sku, units, self.order)


    def count_kit(self, code: str, kit: str, kits: int, parts: list[tuple[str, int]]
                  ) -> ScanResult:
        """Count ``kits`` of the kit ``kit`` (scanned as ``code``): each component
        (SKU, units per kit) × ``kits`` at once, or nothing — a component the order does not
        have is a wrong item, one that would go over its quantity an extra item."""
        shown = " + ".join(f"{sku}×{per * kits}" for sku, per in parts)
        if any(sku not in self.expected for sku, _per in parts):
            self.rejected += 1
            return ScanResult(Outcome.WRONG_ITEM, code, kit, kits, self.order, detail=shown)
        if any(per * kits > self.remaining(sku) for sku, per in parts):
            self.rejected += 1
            return ScanResult(Outcome.EXTRA_ITEM, code, kit, kits, self.order, detail=shown)
        for sku, per in parts:
            self.counts[sku] += per * kits
        outcome = Outcome.COMPLETE if self.complete else Outcome.COUNTED
        return ScanResult(outcome, code, kit, kits, self.order, detail=shown)


def blocked(order: PackOrder, code: str) -> ScanResult | None:
    """The refusal for an order that must not be packed, or None."""
    if order.status is OrderStatus.INTERCEPTED:
        return ScanResult(Outcome.INTERCEPTED, code, order=order, detail=order.intercept_reason or "")
    if order.status not in PACKABLE:
        return ScanResult(Outcome.NOT_PACKABLE, code, order=order, detail=order.status.value)
    return None


class Packer:
    """Routes scans: opens orders, counts items, keeps the current ``PackSession``."""

    def __init__(self, source: OrderSource) -> None:
        self.source = source
        """Where orders and barcodes are looked up."""
        self.session: PackSession | None = None
        """The order being packed, if any."""

    def reset(self) -> None:
        """Drop the current order (after it shipped, or the packer cancelled)."""
        self.session = None

    def scan(self, raw: str) -> ScanResult:
        """Handle one scan."""
        code = raw.strip()
        order = self.source.order_by_waybill(code) or self.source.order_by_platform_no(code)
        if order is not None:
            return self._open(order, code)
        item = self.source.barcode(code)
        if item is None:
            return ScanResult(Outcome.UNKNOWN_CODE, code)
        sku, units = item
        parts = self.source.kit(sku)
        if len(parts) == 1:  # N × one SKU: a case of it
            sku, units = parts[0][0], parts[0][1] * units
        elif parts:  # a kit (组合商品) counts all its components, in an open order only
            if self.session is None:
                return ScanResult(Outcome.NO_ORDER_FOR_ITEM, code, sku, units)
            return self.session.count_kit(code, sku, units, parts)
        if self.session is not None:
            # An open order (complete or not) owns every item scan until it ships or is
            # dropped: a complete order refuses one more item as extra.
            return self.session.count(code, sku, units)
        single = self.source.oldest_single_item_order(sku, units)
        if single is None:
            return ScanResult(Outcome.NO_ORDER_FOR_ITEM, code, sku, units)
        refusal = blocked(single, code)
        if refusal is not None:
            return refusal
        self.session = PackSession(single)
        return self.session.count(code, sku, units)

    def _open(self, order: PackOrder, code: str) -> ScanResult:
        refusal = blocked(order, code)
        if refusal is not None:
            return refusal
        current = self.session
        if current is not None and current.order.order_id == order.order_id:
            return ScanResult(Outcome.ORDER_OPENED, code, order=current.order)
        if current is not None and current.started:
            return ScanResult(Outcome.BUSY, code, order=order, detail=current.order.platform_order_no)
        self.session = PackSession(order)
        return ScanResult(Outcome.ORDER_OPENED, code, order=order)
