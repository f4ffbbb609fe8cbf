"""The demo seller: sizes, shapes and determinism of the generated data."""

from __future__ import annotations

import re
from collections import Counter

from edge.domain.barcodes import is_gtin
from edge.domain.demo import INTERCEPT_REASONS, generate

WAYBILL = {
    "ZTO": r"7\d{11}", "YTO": r"YT\d{13}", "YUNDA": r"\d{13}", "JT": r"JT\d{13}",
    "STO": r"77\d{13}", "JD": r"JDV\d{12}",
}
ORDER_NO = {"pdd": r"\d{6}-\d{15}", "taobao": r"\d{19}", "jd": r"\d{12}"}


def test_catalog_shape() -> None:
    data = generate(7, orders=300)
    assert 180 <= len(data.skus) <= 220
    skus = {s["sku"] for s in data.skus}
    assert len(skus) == len(data.skus)
    locations = {loc["code"] for loc in data.locations}
    assert len(locations) == len(data.locations) == 121  # 5 zones × 24 bins + DMG-01
    assert {loc["zone"] for loc in data.locations} == {*"ABCDE", "DMG"}
    codes = [(c, u) for s in data.skus for c, u in s["barcodes"]]
    assert len({c for c, _ in codes}) == len(codes)
    assert all(is_gtin(c) for c, _ in codes)
    singles = [c for c, u in codes if u == 1]
    cases = [(c, u) for c, u in codes if u > 1]
    assert len(singles) == len(data.skus) and all(len(c) == 13 and c.startswith("69") for c in singles)
    assert len(cases) >= 20 and {u for _, u in cases} <= {6, 12, 24}
    assert all(len(c) == 14 and c.startswith("169") for c, _ in cases)
    for s in data.skus:
        assert s["default_location"] in locations
        assert s["unit_weight_g"] > 0 and s["cost_fen"] > 0 and isinstance(s["cost_fen"], int)
    assert {s["sku"] for s, in [(r,) for r in data.skus]} == {sku for sku, _, _ in data.stock}
    assert all(qty > 0 for _, _, qty in data.stock)


def test_operators() -> None:
    ops = generate(7, orders=0).operators
    assert Counter(o.role for o in ops) == {"packer": 3, "warehouse_lead": 1, "manager": 1}
    assert len({o.badge for o in ops}) == len(ops)
    assert all(o.pin.isdigit() and len(o.pin) >= 4 for o in ops)


def test_orders_shape() -> None:
    data = generate(11, orders=400)
    skus = {s["sku"] for s in data.skus}
    assert len(data.orders) == 400
    assert len({o.order["order_id"] for o in data.orders}) == 400
    assert len({o.order["waybill_no"] for o in data.orders}) == 400
    single = sum(1 for o in data.orders if len(o.lines) == 1)
    assert 0.5 <= single / 400 <= 0.7
    assert any(len(o.lines) >= 3 for o in data.orders)
    assert any(ln["qty"] > 1 for o in data.orders for ln in o.lines)
    intercepted = [o for o in data.orders if o.order["status"] == "intercepted"]
    assert 3 <= len(intercepted) <= 40
    assert {o.order["intercept_reason"] for o in intercepted} <= set(INTERCEPT_REASONS)
    assert all(o.order["intercept_reason"] is None for o in data.orders if o not in intercepted)
    assert {o.order["platform"] for o in data.orders} == {"pdd", "taobao", "jd"}
    assert any(o.order["buyer_note"] for o in data.orders)
    for o in data.orders:
        assert re.fullmatch(WAYBILL[o.order["carrier"]], o.order["waybill_no"]), o.order
        assert re.fullmatch(ORDER_NO[o.order["platform"]], o.order["platform_order_no"])
        assert o.order["print_data"]["waybill_no"] == o.order["waybill_no"]
        assert all(ln["sku"] in skus and ln["qty"] >= 1 for ln in o.lines)
        assert [ln["line_no"] for ln in o.lines] == list(range(1, len(o.lines) + 1))
        assert len({ln["sku"] for ln in o.lines}) == len(o.lines)
        assert re.fullmatch(r"1[3-9]\d{9}", o.receiver["phone"])
        assert o.order["platform"] != "jd" or o.order["carrier"] == "JD"


def test_same_seed_same_data_other_seed_other_data() -> None:
    a, b, c = generate(3, orders=50), generate(3, orders=50), generate(4, orders=50)
    assert a == b
    assert a.orders != c.orders
