"""Stock push against a reference model of the test's own, and an oversell guard that fires.

The model below knows only what the test did: units received and shipped per SKU, and which
paid orders are still open (not shipped, not cancelled) with their units. It never reads a
production table or calls production code to decide what may be sold (issue #11, "Done
when": every push ≤ the reference model's available-to-sell; a tampered availability makes
the guard fail).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
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
from cloud.db import audit_log, make_engine, migrate, write_transaction
from cloud.db import skus as skus_table
from cloud.db.schema_orders import orders, stock_pushes
from cloud.marketplaces.base import OrderLine, OrderStatus, PlatformOrder, StockUpdate
from cloud.orders import stock_push
from cloud.orders.allocation import allocate_pending
from cloud.orders.order_sync import upsert_order
from cloud.orders.stock_push import add_mapping, audit_pushes, confirm_pushes, push_stock
from cloud.shops import add_shop, load_shop
from tests.cloud.orders.support import receive, seed_warehouses, ship_at_station

NOW = datetime(2026, 11, 25, tzinfo=UTC)
"""The one clock of these tests (after every order's modified time)."""
SKUS = ("S0", "S1")


class RecordingClient:
    """The platform side of a push: keeps what each platform SKU was last set to."""

    def __init__(self) -> None:
        self.updates: list[StockUpdate] = []

    async def update_stock(self, update: StockUpdate) -> None:
        self.updates.append(update)

    def shows(self, sku_id: str) -> int | None:
        mine = [u.quantity for u in self.updates if u.sku_id == sku_id]
        return mine[-1] if mine else None


@dataclass
class _SC:
    shop: Any
    client: RecordingClient


@dataclass
class Model:
    """What may be sold, from the test's own bookkeeping only."""

    on_hand: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SKUS, 0))
    open_orders: dict[str, tuple[str, int]] = field(default_factory=dict)
    """Paid, unshipped, uncancelled orders → (SKU, units)."""

    def free(self, sku: str) -> int:
        return self.on_hand[sku] - sum(q for s, q in self.open_orders.values() if s == sku)


def _setup(engine: Engine, sealer: Sealer, buffer_units: int, buffer_percent: int) -> None:
    """Two shops drawing on WH1: pdd1 maps S0 (share 1) and S1 (two units per listing
    unit); pdd2 maps S0 with share 2 and no buffer."""
    migrate(engine)
    seed_warehouses(engine, stations_per={"WH1": ["ST1"]})
    with write_transaction(engine) as conn:
        for shop_id in ("pdd1", "pdd2"):
            add_shop(conn, sealer, platform="pdd", name=shop_id, app_key="k", app_secret="x",
                     shop_id=shop_id, default_warehouse_id="WH1")
            confirm_pushes(conn, shop_id, actor="test", now=NOW, trust=True)
        for sku in SKUS:
            conn.execute(sa.insert(skus_table).values(sku=sku, name_zh=sku))
        add_mapping(conn, "pdd1", item_id="I0", sku_id="A0", sku="S0", buffer_units=buffer_units,
                    buffer_percent=buffer_percent, now=NOW)
        add_mapping(conn, "pdd1", item_id="I1", sku_id="A1", sku="S1", units=2,
                    buffer_units=buffer_units, buffer_percent=buffer_percent, now=NOW)
        add_mapping(conn, "pdd2", item_id="J0", sku_id="B0", sku="S0", stock_share=2, now=NOW)


STEPS = st.lists(st.tuples(st.sampled_from(["order", "order", "ship", "cancel", "receive"]),
                           st.integers(0, 5), st.integers(1, 6)), min_size=1, max_size=20)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS, buffer_units=st.integers(0, 2), buffer_percent=st.integers(0, 30))
def test_every_push_is_within_the_reference_models_available_to_sell(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, int, int]],
    buffer_units: int, buffer_percent: int,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('g')}/g.db")
    sealer = Sealer(Fernet.generate_key())
    _setup(engine, sealer, buffer_units, buffer_percent)
    with engine.connect() as conn:
        shops = {s: load_shop(conn, sealer, s) for s in ("pdd1", "pdd2")}
    clients = {s: RecordingClient() for s in shops}
    model = Model()
    seq = 0
    for kind, k, qty in steps:
        if kind == "receive":
            receive(engine, "WH1", SKUS[k % 2], qty)
            model.on_hand[SKUS[k % 2]] += qty
        elif kind == "order":
            # k picks the shop and listing: pdd1's A0 (S0), pdd1's A1 (S1, 2 units each),
            # pdd2's B0 (S0).
            shop_id, sku_id, sku, units = [("pdd1", "A0", "S0", 1), ("pdd1", "A1", "S1", 2),
                                           ("pdd2", "B0", "S0", 1)][k % 3]
            seq += 1
            po = PlatformOrder(platform="pdd", order_id=f"261123-{seq:015d}",
                               status=OrderStatus.AWAITING_SHIPMENT, raw_status="1",
                               updated_at=datetime(2026, 11, 23, tzinfo=UTC) + timedelta(seconds=seq),
                               lines=(OrderLine(sku_id=sku_id, outer_id="", qty=qty, price_fen=1),))
            with write_transaction(engine) as conn:
                upsert_order(conn, shop_id, po, now=NOW)
            allocate_pending(engine, shop_id, "WH1", now=NOW)
            model.open_orders[f"pdd-{po.order_id}"] = (sku, qty * units)
        elif model.open_orders:
            oid = sorted(model.open_orders)[k % len(model.open_orders)]
            with engine.connect() as conn:
                state = conn.execute(sa.select(orders.c.state).where(orders.c.id == oid)
                                     ).scalar_one()
            if kind == "ship" and state == "allocated":
                ship_at_station(engine, oid, f"W{oid[-6:]}", now=NOW)
                sku, units = model.open_orders.pop(oid)
                model.on_hand[sku] -= units
            elif kind == "cancel":
                closed = PlatformOrder(platform="pdd", order_id=oid.split("-", 1)[1],
                                       status=OrderStatus.CLOSED, raw_status="1",
                                       updated_at=datetime(2026, 11, 24, tzinfo=UTC), lines=())
                with engine.connect() as conn:
                    shop_id = conn.execute(sa.select(orders.c.shop_id).where(
                        orders.c.id == oid)).scalar_one()
                with write_transaction(engine) as conn:
                    upsert_order(conn, shop_id, closed, now=NOW)
                del model.open_orders[oid]
        for shop_id, shop in shops.items():
            asyncio.run(push_stock(engine, _SC(shop, clients[shop_id]), now=NOW))

        # The model's available-to-sell, from docs/stock-model.md's definitions applied to
        # the test's own numbers: S0 is split 1:2 between pdd1 and pdd2.
        free0, free1 = model.free("S0"), model.free("S1")
        a0_share_on = Fraction(model.on_hand["S0"], 3)
        a0 = max(0, math.floor(Fraction(free0, 3)) - buffer_units
                 - math.ceil(max(a0_share_on, 0) * buffer_percent / 100))
        b0 = max(0, math.floor(Fraction(2 * free0, 3)))
        a1 = max(0, free1 - buffer_units
                 - math.ceil(max(model.on_hand["S1"], 0) * buffer_percent / 100)) // 2
        shown = {"A0": clients["pdd1"].shows("A0"), "A1": clients["pdd1"].shows("A1"),
                 "B0": clients["pdd2"].shows("B0")}
        # The platform shows exactly the model's number (every pass pushes a change).
        assert shown == {"A0": a0, "A1": a1, "B0": b0}, (model, steps)
        # Together the two shops never offer more S0 than is free, nor more S1.
        assert shown["A0"] + shown["B0"] <= max(free0, 0)
        assert 2 * shown["A1"] <= max(free1, 0)
    with engine.connect() as conn:
        assert audit_pushes(conn) == []
    engine.dispose()


@pytest.fixture
def two_units(tmp_path: Any) -> Iterator[tuple[Engine, Any, RecordingClient]]:
    """pdd1 with S0 mapped (no buffer), 4 units received, one order of 1 open: ATP 3 for
    A0 — but pdd2's B0 shares S0 2:1, so A0 may offer floor(3 / 3) = 1."""
    engine = make_engine(f"sqlite:///{tmp_path}/t.db")
    sealer = Sealer(Fernet.generate_key())
    _setup(engine, sealer, 0, 0)
    receive(engine, "WH1", "S0", 4)
    po = PlatformOrder(platform="pdd", order_id="261123-000000000000001",
                       status=OrderStatus.AWAITING_SHIPMENT, raw_status="1",
                       updated_at=datetime(2026, 11, 23, tzinfo=UTC),
                       lines=(OrderLine(sku_id="A0", outer_id="", qty=1, price_fen=1),))
    with write_transaction(engine) as conn:
        upsert_order(conn, "pdd1", po, now=NOW)
    with engine.connect() as conn:
        shop = load_shop(conn, sealer, "pdd1")
    yield engine, shop, RecordingClient()
    engine.dispose()


def _guard_audits(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(sa.select(audit_log.c.subject, audit_log.c.detail).where(
            audit_log.c.action == "stock_push.guard")).all()


def test_an_inflated_availability_is_refused_by_the_guard_and_never_sent(
    two_units: tuple[Engine, Any, RecordingClient], monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine, shop, client = two_units
    real = stock_push.compute

    def inflated(*args: Any, **kwargs: Any) -> stock_push.Availability:
        avail = real(*args, **kwargs)
        return replace(avail, allotted=avail.allotted + 5, available=avail.available + 5)

    monkeypatch.setattr(stock_push, "compute", inflated)
    result = asyncio.run(push_stock(engine, _SC(shop, client), now=NOW))
    assert result.refused == 2  # A0 (6 > 1) and A1 (S1: nothing on hand, would offer 5)
    assert result.pushed == 0
    assert client.updates == []  # nothing reached the platform
    audits = _guard_audits(engine)
    assert len(audits) == 2
    by_sku = {a.detail["sku"]: a.detail for a in audits}
    assert by_sku["S0"]["would_push"] == 6 and by_sku["S0"]["guard_units"] == 1
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(stock_pushes)).scalar_one() == 0
    monkeypatch.setattr(stock_push, "compute", real)
    result = asyncio.run(push_stock(engine, _SC(shop, client), now=NOW))
    assert result.pushed == 2 and client.shows("A0") == 1 and client.shows("A1") == 0


def test_a_balance_cache_that_disagrees_with_the_moves_cannot_oversell(
    two_units: tuple[Engine, Any, RecordingClient],
) -> None:
    engine, shop, client = two_units
    with write_transaction(engine) as conn:  # the cache drifts: 30 more than the moves say
        conn.execute(sa.text("UPDATE stock_balances SET qty = qty + 30 WHERE sku = 'S0'"))
    result = asyncio.run(push_stock(engine, _SC(shop, client), now=NOW))
    assert result.refused == 1  # A0 would offer floor((34 − 1) / 3) = 11; the moves allow 1
    assert client.shows("A0") is None
    assert [a.detail["guard_units"] for a in _guard_audits(engine)] == [1]


def test_a_recorded_push_edited_afterwards_is_reported_by_the_audit(
    two_units: tuple[Engine, Any, RecordingClient],
) -> None:
    engine, shop, client = two_units
    asyncio.run(push_stock(engine, _SC(shop, client), now=NOW))
    with engine.connect() as conn:
        assert audit_pushes(conn) == []
        first = conn.execute(sa.select(sa.func.min(stock_pushes.c.id))).scalar_one()
    with write_transaction(engine) as conn:
        conn.execute(sa.update(stock_pushes).where(stock_pushes.c.id == first).values(
            available=stock_pushes.c.available + 1))
    with engine.connect() as conn:
        assert audit_pushes(conn) == [first]
    with pytest.raises(sa.exc.IntegrityError), write_transaction(engine) as conn:
        conn.execute(sa.update(stock_pushes).where(stock_pushes.c.id == first).values(
            pushed=stock_pushes.c.guard_units + 1))
