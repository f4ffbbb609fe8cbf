"""Pure packing logic: scan routing, counting, refusals, expected weight and tolerance."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from edge.domain.packing import (
    OrderStatus,
    Outcome,
    Packer,
    PackLine,
    PackOrder,
    PackSession,
    PackSettings,
    Tolerance,
    expected_weight,
)

CUP = PackLine(1, "CUP", 1, "保温杯", 320, "A-01-01")


def order(oid: str, lines: list[tuple[str, int]], status: OrderStatus = OrderStatus.WAITING,
          reason: str | None = None) -> PackOrder:
    return PackOrder(
        order_id=oid, platform="pdd", platform_order_no=f"PDD-{oid}", status=status,
        waybill_no=f"SF-{oid}", carrier="SF", intercept_reason=reason,
        lines=tuple(PackLine(i, sku, qty, sku, {"CUP": 320, "TOWEL": 110}.get(sku, 45))
                    for i, (sku, qty) in enumerate(lines, start=1)),
    )


class DictSource:
    """An in-memory OrderSource."""

    def __init__(self, orders: list[PackOrder], barcodes: dict[str, tuple[str, int]],
                 kits: dict[str, list[tuple[str, int]]] | None = None) -> None:
        self.orders = orders
        self.barcodes = barcodes
        self.kits = kits or {}

    def order_by_waybill(self, waybill_no: str) -> PackOrder | None:
        return next((o for o in self.orders if o.waybill_no == waybill_no), None)

    def order_by_platform_no(self, platform_order_no: str) -> PackOrder | None:
        return next((o for o in self.orders if o.platform_order_no == platform_order_no), None)

    def barcode(self, code: str) -> tuple[str, int] | None:
        return self.barcodes.get(code)

    def kit(self, sku: str) -> list[tuple[str, int]]:
        return self.kits.get(sku, [])

    def oldest_single_item_order(self, sku: str, units: int) -> PackOrder | None:
        return next((o for o in self.orders if o.status is OrderStatus.WAITING
                     and o.expected() == {sku: units}), None)


BARCODES = {"690CUP": ("CUP", 1), "CASE12": ("CUP", 12), "690TOWEL": ("TOWEL", 1),
            "690SOCK": ("SOCK", 1)}


def test_waybill_opens_order_and_items_count_to_completion() -> None:
    p = Packer(DictSource([order("1", [("CUP", 1), ("TOWEL", 2)])], BARCODES))
    assert p.scan("SF-1\r").outcome is Outcome.ORDER_OPENED
    assert p.scan("690TOWEL").outcome is Outcome.COUNTED
    assert p.scan("690CUP").outcome is Outcome.COUNTED
    r = p.scan("690TOWEL")
    assert r.outcome is Outcome.COMPLETE and r.ok
    assert p.session is not None and p.session.counts == {"CUP": 1, "TOWEL": 2}


def test_platform_order_number_opens_order() -> None:
    p = Packer(DictSource([order("1", [("CUP", 1)])], BARCODES))
    r = p.scan("PDD-1")
    assert r.outcome is Outcome.ORDER_OPENED and r.order is not None and r.order.order_id == "1"


def test_wrong_and_extra_items_are_refused_and_not_counted() -> None:
    p = Packer(DictSource([order("1", [("CUP", 1), ("TOWEL", 1)])], BARCODES))
    p.scan("SF-1")
    wrong = p.scan("690SOCK")
    assert (wrong.outcome, wrong.ok, wrong.sku) == (Outcome.WRONG_ITEM, False, "SOCK")
    assert p.scan("690CUP").outcome is Outcome.COUNTED
    extra = p.scan("690CUP")
    assert (extra.outcome, extra.detail) == (Outcome.EXTRA_ITEM, "1/1")
    assert p.session is not None and p.session.counts == {"CUP": 1, "TOWEL": 0}
    assert p.session.rejected == 2


def test_single_item_scan_opens_the_oldest_waiting_order_and_completes_it() -> None:
    older, newer = order("1", [("CUP", 1)]), order("2", [("CUP", 1)])
    p = Packer(DictSource([older, newer, order("3", [("CUP", 1), ("TOWEL", 1)])], BARCODES))
    r = p.scan("690CUP")
    assert r.outcome is Outcome.COMPLETE and r.order is not None and r.order.order_id == "1"
    # The open order owns the next item scan: it is extra, not the next order.
    assert p.scan("690CUP").outcome is Outcome.EXTRA_ITEM
    p.reset()
    assert p.scan("690TOWEL").outcome is Outcome.NO_ORDER_FOR_ITEM


def test_case_barcode_counts_its_units() -> None:
    p = Packer(DictSource([order("1", [("CUP", 12)]), order("2", [("CUP", 13)])], BARCODES))
    assert p.scan("CASE12").outcome is Outcome.COMPLETE  # single-item order of 12 opens by the case
    p.reset()
    p.scan("SF-2")
    assert p.scan("690CUP").outcome is Outcome.COUNTED
    assert p.scan("CASE12").outcome is Outcome.COMPLETE
    p.reset()
    p.scan("SF-2")
    p.scan("690CUP")
    p.scan("690CUP")
    assert p.scan("CASE12").outcome is Outcome.EXTRA_ITEM  # 2 + 12 > 13
    assert p.session is not None and p.session.counts == {"CUP": 2}


def test_intercepted_order_is_blocked_at_first_scan_with_its_reason() -> None:
    o = order("1", [("CUP", 1)], OrderStatus.INTERCEPTED, "买家退款")
    p = Packer(DictSource([o], BARCODES))
    r = p.scan("SF-1")
    assert (r.outcome, r.detail, r.ok) == (Outcome.INTERCEPTED, "买家退款", False)
    assert p.session is None
    shipped = replace(o, status=OrderStatus.SHIPPED)
    p2 = Packer(DictSource([shipped], BARCODES))
    assert p2.scan("PDD-1").outcome is Outcome.NOT_PACKABLE


def test_unknown_code_and_busy() -> None:
    p = Packer(DictSource([order("1", [("CUP", 2)]), order("2", [("TOWEL", 1)])], BARCODES))
    assert p.scan("NOPE").outcome is Outcome.UNKNOWN_CODE
    p.scan("SF-1")
    assert p.scan("SF-2").outcome is Outcome.ORDER_OPENED  # nothing counted yet: switch
    p.scan("690TOWEL")
    p.reset()
    p.scan("SF-1")
    p.scan("690CUP")
    busy = p.scan("SF-2")
    assert (busy.outcome, busy.detail) == (Outcome.BUSY, "PDD-1")
    assert p.session is not None and p.session.order.order_id == "1"
    assert p.scan("SF-1").outcome is Outcome.ORDER_OPENED  # rescanning its own waybill is fine


def test_expected_weight_and_tolerance() -> None:
    o = order("1", [("CUP", 2), ("TOWEL", 1)])
    assert expected_weight(o, PackSettings(packaging_g=30)) == 320 * 2 + 110 + 30
    assert expected_weight(replace(o, packaging_weight_g=80), PackSettings(packaging_g=30)) == 830
    t = Tolerance(grams=50, percent=5.0)
    assert t.allowed(400) == 50 and t.allowed(2000) == 100
    assert t.within(2000, 2100) and not t.within(2000, 2101) and t.within(2000, 1900)
    assert t.within(400, 450) and not t.within(400, 451) and not t.within(400, 349)


@given(
    expected=st.dictionaries(st.sampled_from(["CUP", "TOWEL", "SOCK"]), st.integers(1, 15),
                             min_size=1),
    scans=st.lists(st.sampled_from(["CUP", "TOWEL", "SOCK", "BOOK"]).flatmap(
        lambda s: st.tuples(st.just(s), st.integers(1, 12))), max_size=60),
)
def test_counts_never_exceed_expected_and_extras_are_always_refused(
    expected: dict[str, int], scans: list[tuple[str, int]]
) -> None:
    s = PackSession(order("1", list(expected.items())))
    for sku, units in scans:
        before = dict(s.counts)
        r = s.count(sku, sku, units)
        if sku not in expected or before[sku] + units > expected[sku]:
            assert not r.ok and s.counts == before
        else:
            assert r.ok and s.counts[sku] == before[sku] + units
        assert all(0 <= s.counts[k] <= expected[k] for k in expected)
    assert s.complete == (s.counts == expected)


KIT_CODES = {**BARCODES, "690KIT": ("KIT", 1), "690PAIR": ("PAIR", 1)}
KITS = {"KIT": [("CUP", 1), ("TOWEL", 2)], "PAIR": [("SOCK", 2)]}
"""KIT = 1 CUP + 2 TOWEL; PAIR = 2 SOCK (a kit of one SKU counts like a case)."""


def test_a_kit_barcode_counts_all_its_components_or_none() -> None:
    p = Packer(DictSource([order("1", [("CUP", 2), ("TOWEL", 3)])], KIT_CODES, KITS))
    assert p.scan("690KIT").outcome is Outcome.NO_ORDER_FOR_ITEM  # no order open
    p.scan("SF-1")
    r = p.scan("690KIT")
    assert (r.outcome, r.sku, r.units, r.detail) == (Outcome.COUNTED, "KIT", 1, "CUP×1 + TOWEL×2")
    assert p.session is not None and p.session.counts == {"CUP": 1, "TOWEL": 2}
    extra = p.scan("690KIT")  # TOWEL 2 more with 1 left: refused, CUP not counted either
    assert extra.outcome is Outcome.EXTRA_ITEM
    assert p.session.counts == {"CUP": 1, "TOWEL": 2} and p.session.rejected == 1
    assert p.scan("690CUP").outcome is Outcome.COUNTED
    assert p.scan("690TOWEL").outcome is Outcome.COMPLETE


def test_a_kit_of_one_sku_opens_a_single_item_order_like_a_case() -> None:
    p = Packer(DictSource([order("1", [("SOCK", 2)])], KIT_CODES, KITS))
    r = p.scan("690PAIR")
    assert (r.outcome, r.sku, r.units) == (Outcome.COMPLETE, "SOCK", 2)
    assert r.order is not None and r.order.order_id == "1"
