"""Kits (组合商品) through orders and stock push, on both engines.

The catalog: KIT-A = 2 × SKU1 + 1 × SKU2, KIT-B = 3 × SKU3 + 1 × SKU1. A platform line
mapped to a kit keeps the kit on the order line (what the buyer bought) and is allocated,
reserved and packed as its components. Stock push offers a kit as the least over its
components of free ÷ units per kit; :func:`kit_reference` is that rule written again, apart
from the code, and every expected number below is worked out by hand next to its case.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from cloud.crypto import Sealer
from cloud.db import make_engine, migrate, write_transaction
from cloud.db.schema import kit_components, skus
from cloud.db.schema_orders import order_lines, orders, reservations, sku_mappings, stock_pushes
from cloud.marketplaces.base import OrderLine, OrderStatus, PlatformOrder, StockUpdate
from cloud.orders.allocation import allocate_pending
from cloud.orders.order_sync import upsert_order
from cloud.orders.stock_push import (
    add_mapping,
    audit_pushes,
    compute,
    confirm_pushes,
    guard_units,
    push_stock,
)
from cloud.orders.waybills import build_task
from cloud.shops import add_shop
from edge.domain.models import MoveReason
from tests.cloud.orders.support import move, receive, seed_warehouses, ship_at_station

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
SHOP = "pdd1"
RECIPES = {"KIT-A": {"SKU1": 2, "SKU2": 1}, "KIT-B": {"SKU3": 3, "SKU1": 1}}
"""The kits of these tests: component → units per kit."""


def kit_reference(free: dict[str, int], recipe: dict[str, int]) -> int:
    """The reference model: whole kits the free units of the components make (never below 0)."""
    return max(0, min(free.get(comp, 0) // per for comp, per in recipe.items()))


def _world(engine: Engine, listings: dict[str, tuple[str, bool]]) -> None:
    """WH1 with station ST1, shop pdd1 on it (pushes confirmed and trusted), the SKUs and
    kits of :data:`RECIPES`, and ``listings``: platform SKU id → (Packline SKU, pushed?)."""
    seed_warehouses(engine, stations_per={"WH1": ["ST1"]})
    with write_transaction(engine) as conn:
        conn.execute(sa.insert(skus), [{"sku": s, "name_zh": s} for s in (
            "SKU1", "SKU2", "SKU3", "KIT-A", "KIT-B")])
        conn.execute(sa.insert(kit_components), [
            {"kit_sku": kit, "component_sku": comp, "qty": per}
            for kit, recipe in RECIPES.items() for comp, per in recipe.items()])
        add_shop(conn, Sealer(Fernet.generate_key()), platform="pdd", name=SHOP, app_key="k",
                 app_secret="x", shop_id=SHOP, default_warehouse_id="WH1", now=NOW)
        for sku_id, (sku, push) in listings.items():
            conn.execute(sa.insert(sku_mappings).values(
                shop_id=SHOP, platform_item_id=f"I-{sku_id}", platform_sku_id=sku_id, sku=sku,
                push_stock=push))
        confirm_pushes(conn, SHOP, actor="test", now=NOW, trust=True)


def _order(engine: Engine, n: int, lines: list[tuple[str, int]]) -> str:
    po = PlatformOrder(platform="pdd", order_id=f"261204-{n:06d}",
                       status=OrderStatus.AWAITING_SHIPMENT, raw_status="1",
                       updated_at=NOW - timedelta(hours=1) + timedelta(seconds=n),
                       lines=tuple(OrderLine(sku_id=s, outer_id="", qty=q, price_fen=100)
                                   for s, q in lines))
    with write_transaction(engine) as conn:
        return upsert_order(conn, SHOP, po, now=NOW + timedelta(seconds=n))[1]


def _held(engine: Engine, order_id: str) -> dict[str, int]:
    with engine.connect() as conn:
        r = reservations.c
        return {sku: int(q) for sku, q in conn.execute(sa.select(r.sku, r.qty).where(
            r.order_id == order_id, r.released_at.is_(None)).order_by(r.sku))}


# ---------------------------------------------------------------------------- orders
def test_a_kit_line_is_allocated_reserved_and_packed_as_its_components(
        cloud_engine: Engine) -> None:
    engine = cloud_engine
    _world(engine, {"P-KITA": ("KIT-A", True), "P-SKU1": ("SKU1", True)})
    receive(engine, "WH1", "SKU1", 10)
    receive(engine, "WH1", "SKU2", 5)
    first = _order(engine, 1, [("P-KITA", 2), ("P-SKU1", 1)])
    second = _order(engine, 2, [("P-KITA", 2)])
    third = _order(engine, 3, [("P-KITA", 1)])
    result = allocate_pending(engine, SHOP, "WH1", now=NOW)
    # first: SKU1 2×2 + 1 = 5, SKU2 2×1 = 2 → free after (5, 3)
    # second: SKU1 4 ≤ 5, SKU2 2 ≤ 3 → free after (1, 1)
    # third: SKU1 2 > 1 → out of stock (its units are held provisionally all the same)
    assert result.allocated == [first, second]
    assert result.exceptions == {third: "out_of_stock"}
    assert _held(engine, first) == {"SKU1": 5, "SKU2": 2}
    assert _held(engine, second) == {"SKU1": 4, "SKU2": 2}
    assert _held(engine, third) == {"SKU1": 2, "SKU2": 1}
    with engine.connect() as conn:
        ln = order_lines.c
        kept = conn.execute(sa.select(ln.line_no, ln.platform_sku_id, ln.qty, ln.sku, ln.sku_qty)
                            .where(ln.order_id == first).order_by(ln.line_no)).all()
        assert [tuple(r) for r in kept] == [(1, "P-KITA", 2, "KIT-A", 2),
                                            (2, "P-SKU1", 1, "SKU1", 1)]
        row = conn.execute(sa.select(orders).where(orders.c.id == first)).one()
        assert (row.state, row.warehouse_id, row.station_id) == ("allocated", "WH1", "ST1")
        task = build_task(conn, row, "WB-1", "ZTO", "{}")
        assert [(t.line_no, t.sku, t.qty) for t in task.lines] == [
            (1, "SKU1", 4), (2, "SKU2", 2), (3, "SKU1", 1)]
        plain = conn.execute(sa.select(orders).where(orders.c.id == second)).one()
        assert [(t.line_no, t.sku, t.qty) for t in build_task(
            conn, plain, "WB-2", "ZTO", "{}").lines] == [(1, "SKU1", 4), (2, "SKU2", 2)]
    # more SKU1 arrives: the third is allocated on the next pass
    receive(engine, "WH1", "SKU1", 1, source="PO-2")
    assert allocate_pending(engine, SHOP, "WH1", now=NOW).allocated == [third]


def test_a_line_mapped_after_the_order_arrived_reserves_the_components(
        cloud_engine: Engine) -> None:
    engine = cloud_engine
    _world(engine, {})
    receive(engine, "WH1", "SKU1", 10)
    receive(engine, "WH1", "SKU3", 9)
    order = _order(engine, 1, [("P-KITB", 2)])
    assert allocate_pending(engine, SHOP, "WH1", now=NOW).exceptions == {order: "unmapped"}
    assert _held(engine, order) == {}
    with write_transaction(engine) as conn:
        add_mapping(conn, SHOP, item_id="I-KITB", sku_id="P-KITB", sku="KIT-B", now=NOW)
    # 2 kits B: SKU3 2×3 = 6, SKU1 2×1 = 2 — reserved as soon as the mapping exists
    assert _held(engine, order) == {"SKU1": 2, "SKU3": 6}
    assert allocate_pending(engine, SHOP, "WH1", now=NOW).allocated == [order]
    assert _held(engine, order) == {"SKU1": 2, "SKU3": 6}


# ---------------------------------------------------------------------------- stock push
@pytest.mark.parametrize(("recipe", "free", "kits"), [
    (RECIPES["KIT-A"], {"SKU1": 10, "SKU2": 5}, 5),   # min(10 // 2, 5 // 1) = min(5, 5)
    (RECIPES["KIT-A"], {"SKU1": 9, "SKU2": 5}, 4),    # min(4, 5)
    (RECIPES["KIT-A"], {"SKU1": 10, "SKU2": 0}, 0),   # a component at 0
    (RECIPES["KIT-B"], {"SKU3": 7, "SKU1": 10}, 2),   # min(7 // 3, 10) = min(2, 10)
    (RECIPES["KIT-B"], {"SKU3": 2, "SKU1": 10}, 0),   # 2 // 3 = 0
    (RECIPES["KIT-B"], {"SKU3": 9, "SKU1": 1}, 1),    # min(3, 1)
    (RECIPES["KIT-B"], {"SKU3": -4, "SKU1": 1}, 0),   # oversold component: never below 0
])
def test_the_reference_model_by_hand(recipe: dict[str, int], free: dict[str, int],
                                     kits: int) -> None:
    assert kit_reference(free, recipe) == kits


def _mapping(engine: Engine, sku_id: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.select(sku_mappings).where(
            sku_mappings.c.platform_sku_id == sku_id)).one()


def _offered(engine: Engine, sku_id: str) -> int:
    with engine.connect() as conn:
        return compute(conn, SHOP, "WH1", _mapping(engine, sku_id)).available


def test_a_kit_offers_the_least_of_its_components_against_the_reference(
        cloud_engine: Engine) -> None:
    """Only the kits' listings push (each the sole claimant of its components' stock)."""
    engine = cloud_engine
    _world(engine, {"P-KITA": ("KIT-A", True), "P-KITB": ("KIT-B", False)})
    receive(engine, "WH1", "SKU1", 9)
    receive(engine, "WH1", "SKU2", 5)
    assert _offered(engine, "P-KITA") == kit_reference({"SKU1": 9, "SKU2": 5}, RECIPES["KIT-A"]) == 4
    with engine.connect() as conn:
        a = compute(conn, SHOP, "WH1", _mapping(engine, "P-KITA"))
    # kits on hand min(9 // 2, 5 // 1) = 4, none held; per warehouse and component
    assert (a.sku, a.on_hand, a.reserved, a.allotted, a.buffer, a.available) == (
        "KIT-A", 4, 0, 4, 0, 4)
    assert a.detail == {"WH1 SKU1×2": {"on_hand": 9, "reserved": 0, "share": "1/1"},
                        "WH1 SKU2×1": {"on_hand": 5, "reserved": 0, "share": "1/1"}}
    move(engine, "WH1", "SKU2", -5, MoveReason.MANUAL_ADJUST, "adjust", "ADJ-1")  # SKU2 at 0
    assert _offered(engine, "P-KITA") == kit_reference({"SKU1": 9, "SKU2": 0}, RECIPES["KIT-A"]) == 0
    # KIT-B (3 × SKU3): 8 SKU3 and 9 SKU1 → min(8 // 3, 9 // 1) = 2
    with write_transaction(engine) as conn:
        conn.execute(sa.update(sku_mappings).where(sku_mappings.c.sku == "KIT-A").values(
            push_stock=False))
        conn.execute(sa.update(sku_mappings).where(sku_mappings.c.sku == "KIT-B").values(
            push_stock=True))
    receive(engine, "WH1", "SKU3", 8)
    assert _offered(engine, "P-KITB") == kit_reference({"SKU3": 8, "SKU1": 9}, RECIPES["KIT-B"]) == 2
    for sku3, sku1 in ((1, 0), (3, 1), (4, 6), (9, 2)):  # more stock, step by step
        receive(engine, "WH1", "SKU3", sku3, source=f"PO-3-{sku3}")
        receive(engine, "WH1", "SKU1", sku1, source=f"PO-1-{sku1}")
    # SKU3 8+1+3+4+9 = 25, SKU1 9+0+1+6+2 = 18 → min(25 // 3, 18) = 8
    assert _offered(engine, "P-KITB") == kit_reference({"SKU3": 25, "SKU1": 18}, RECIPES["KIT-B"]) == 8
    # an order of 2 KIT-B holds SKU3 6 and SKU1 2 → free (19, 16) → min(6, 16) = 6
    order = _order(engine, 1, [("P-KITB", 2)])
    assert _held(engine, order) == {"SKU1": 2, "SKU3": 6}
    assert _offered(engine, "P-KITB") == kit_reference({"SKU3": 19, "SKU1": 16}, RECIPES["KIT-B"]) == 6


def test_a_kit_shares_its_components_with_their_own_listings(cloud_engine: Engine) -> None:
    """SKU1's listing and KIT-A's each claim half of SKU1 (share 1 each); SKU2 is KIT-A's alone."""
    engine = cloud_engine
    _world(engine, {"P-KITA": ("KIT-A", True), "P-SKU1": ("SKU1", True)})
    receive(engine, "WH1", "SKU1", 11)
    receive(engine, "WH1", "SKU2", 5)
    # SKU1's listing: floor(11 × 1/2) = 5; KIT-A: min(floor(11/2 / 2) = 2, 5 // 1) = 2,
    # so together they never offer more SKU1 than there is: 5 + 2 × 2 = 9 ≤ 11
    assert _offered(engine, "P-SKU1") == 5
    assert _offered(engine, "P-KITA") == 2
    with engine.connect() as conn:
        assert guard_units(conn, int(_mapping(engine, "P-SKU1").id)) == 5
        assert guard_units(conn, int(_mapping(engine, "P-KITA").id)) == 2


@dataclass
class _Client:
    """The platform side of a push: records what it was sent."""

    sent: list[StockUpdate] = field(default_factory=list)

    async def update_stock(self, update: StockUpdate) -> None:
        """Accept the update."""
        self.sent.append(update)


@dataclass
class _Shop:
    id: str = SHOP
    default_warehouse_id: str = "WH1"


@dataclass
class _ShopClient:
    shop: _Shop = field(default_factory=_Shop)
    client: _Client = field(default_factory=_Client)


def test_a_kit_push_is_recorded_in_kits_within_its_guard(cloud_engine: Engine) -> None:
    engine = cloud_engine
    _world(engine, {"P-KITB": ("KIT-B", True)})
    receive(engine, "WH1", "SKU3", 10)
    receive(engine, "WH1", "SKU1", 2)
    sc = _ShopClient()
    result = asyncio.run(push_stock(engine, sc, now=NOW))
    assert (result.pushed, result.refused) == (1, 0)
    # min(10 // 3, 2 // 1) = min(3, 2) = 2 kits
    assert [(u.sku_id, u.quantity) for u in sc.client.sent] == [("P-KITB", 2)]
    with engine.connect() as conn:
        p = conn.execute(sa.select(stock_pushes)).one()
        assert (p.sku, p.pushed, p.units, p.allotted, p.guard_units, p.ok) == (
            "KIT-B", 2, 1, 2, 2, True)
        assert audit_pushes(conn, SHOP) == []


# ---------------------------------------------------------------------------- the model
@dataclass
class KitModel:
    """What may be sold, from the test's own bookkeeping only: units on hand per SKU and the
    open orders' component units (a kit order holds 2 × S0 + 1 × S1 per kit)."""

    on_hand: dict[str, int] = field(default_factory=lambda: {"S0": 0, "S1": 0})
    open_orders: dict[str, dict[str, int]] = field(default_factory=dict)

    def free(self, sku: str) -> int:
        """On hand less what open orders hold."""
        return self.on_hand[sku] - sum(o.get(sku, 0) for o in self.open_orders.values())


KIT_STEPS = st.lists(st.tuples(st.sampled_from(["order", "order", "ship", "cancel", "receive"]),
                               st.integers(0, 5), st.integers(1, 6)), min_size=1, max_size=16)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=KIT_STEPS)
def test_no_kit_push_exceeds_the_least_of_its_components(
        tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, int, int]]) -> None:
    """Listings A0 (S0), A1 (S1, 2 units per listing unit) and K0 (kit K = 2 × S0 + 1 × S1),
    share 1 each, no buffer: S0 is split between A0 and K0, S1 between A1 and K0. After every
    step the platform shows the model's numbers and the listings together never offer more
    of a component than is free (SQLite: a fresh database per example)."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('k')}/k.db")
    migrate(engine)
    seed_warehouses(engine, stations_per={"WH1": ["ST1"]})
    with write_transaction(engine) as conn:
        conn.execute(sa.insert(skus), [{"sku": s, "name_zh": s} for s in ("S0", "S1", "K")])
        conn.execute(sa.insert(kit_components), [
            {"kit_sku": "K", "component_sku": "S0", "qty": 2},
            {"kit_sku": "K", "component_sku": "S1", "qty": 1}])
        add_shop(conn, Sealer(Fernet.generate_key()), platform="pdd", name=SHOP, app_key="k",
                 app_secret="x", shop_id=SHOP, default_warehouse_id="WH1", now=NOW)
        confirm_pushes(conn, SHOP, actor="test", now=NOW, trust=True)
        add_mapping(conn, SHOP, item_id="I0", sku_id="A0", sku="S0", now=NOW)
        add_mapping(conn, SHOP, item_id="I1", sku_id="A1", sku="S1", units=2, now=NOW)
        add_mapping(conn, SHOP, item_id="IK", sku_id="K0", sku="K", now=NOW)
    sc = _ShopClient()
    model = KitModel()
    seq = 0
    for kind, k, qty in steps:
        if kind == "receive":
            sku = ("S0", "S1")[k % 2]
            receive(engine, "WH1", sku, qty, source=f"PO-{seq}-{k}")
            model.on_hand[sku] += qty
        elif kind == "order":
            sku_id, units = [("A0", {"S0": 1}), ("A1", {"S1": 2}), ("K0", {"S0": 2, "S1": 1})][k % 3]
            seq += 1
            oid = _order(engine, seq, [(sku_id, qty)])
            allocate_pending(engine, SHOP, "WH1", now=NOW)
            model.open_orders[oid] = {s: u * qty for s, u in units.items()}
        elif model.open_orders:
            oid = sorted(model.open_orders)[k % len(model.open_orders)]
            with engine.connect() as conn:
                state = conn.execute(sa.select(orders.c.state).where(orders.c.id == oid)
                                     ).scalar_one()
            if kind == "ship" and state == "allocated":
                ship_at_station(engine, oid, f"W{oid[-6:]}", now=NOW)
                for sku, units_out in model.open_orders.pop(oid).items():
                    model.on_hand[sku] -= units_out
            elif kind == "cancel":
                closed = PlatformOrder(platform="pdd", order_id=oid.split("-", 1)[1],
                                       status=OrderStatus.CLOSED, raw_status="1",
                                       updated_at=NOW, lines=())
                with write_transaction(engine) as conn:
                    upsert_order(conn, SHOP, closed, now=NOW)
                del model.open_orders[oid]
        asyncio.run(push_stock(engine, sc, now=NOW))
        free0, free1 = model.free("S0"), model.free("S1")
        a0 = max(0, math.floor(Fraction(free0, 2)))          # half of S0
        a1 = max(0, math.floor(Fraction(free1, 2))) // 2     # half of S1, 2 per listing unit
        k0 = max(0, min(math.floor(Fraction(free0, 2) / 2),  # half of S0, 2 per kit
                        math.floor(Fraction(free1, 2))))     # half of S1, 1 per kit
        shown = {u.sku_id: u.quantity for u in sc.client.sent}
        assert {s: shown.get(s, 0) for s in ("A0", "A1", "K0")} == {
            "A0": a0, "A1": a1, "K0": k0}, (model, steps)
        assert shown.get("K0", 0) <= kit_reference({"S0": free0, "S1": free1}, {"S0": 2, "S1": 1})
        assert shown.get("A0", 0) + 2 * shown.get("K0", 0) <= max(free0, 0)
        assert 2 * shown.get("A1", 0) + shown.get("K0", 0) <= max(free1, 0)
    with engine.connect() as conn:
        assert audit_pushes(conn) == []
    engine.dispose()
