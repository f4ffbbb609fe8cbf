"""Orders, allocation, packing and stock pushes on top of the one-ledger machine (issue #11).

``StockWorld`` extends ``LedgerWorld`` (tests/sync/test_ledger_model.py: two stations of one
warehouse and the cloud over the in-memory broker, moves and reversals at either station,
cloud adjustments, offline periods, dropped, redelivered and reordered messages) with the
order side of the system, all through production code:

* paid orders arrive from a PDD shop (``upsert_order``), some held for a buyer note;
* a later version of a held order without the note releases it back to allocation;
* allocation and e-waybills (``allocate_pending``, ``request_waybills``) send pack tasks
  down to the stations through the broker;
* a station packs a task it holds (``PackingWriter.ship``: any location of the warehouse
  that holds the goods, default location first) — or is refused because the order was
  intercepted meanwhile;
* the buyer cancels (a closed order), intercepting it at the station;
* the buyer requests a refund, intercepting the order at its station, and withdraws it,
  releasing the order to be packed again (the release may overtake its intercept);
* the shop pushes stock (``push_stock``) to a recording platform.

The reference model knows only what the rules did: the moves recorded (with their SKU and
units), each order's SKU and units, whether the buyer cancelled it, and the SHIP moves its
packing produced. From that alone, for the cloud at any instant:

    on hand(SKU)        = Σ units of the model's moves that the cloud holds
    open(SKU)           = Σ units of orders not cancelled whose SHIP moves have not all
                          reached the cloud, less the units of those that have
    available to sell   = max(0, on hand − open)

(docs/stock-model.md; every mapping here is one unit per listing unit, no buffer, and no
other shop shares the SKU, so the push is exactly the available-to-sell). Checked after
every step: the cloud's open reservations never hold less than ``open`` (a paid order is
never left unreserved), and every push is ≤ the model's available-to-sell. After settling
(everyone online, every message acked) the reservations equal ``open`` exactly, a push
shows exactly the model's number, and no recorded push fails the push audit. The parent's
invariants (balances equal the fold of moves everywhere, no reversal applied twice, the
same move ids everywhere) hold throughout.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from cloud.db import stock_moves
from cloud.db.schema_orders import reservations
from cloud.marketplaces.base import (
    OrderLine,
    OrderStatus,
    PlatformOrder,
)
from cloud.orders.allocation import allocate_pending
from cloud.orders.order_sync import order_key, upsert_order
from cloud.orders.stock_push import audit_pushes, push_stock
from cloud.orders.waybills import request_waybills
from edge.store.packing import PackingWriter, ShipRefused, StoreOrderSource
from tests.sync.harness import add_pdd_shop
from tests.sync.test_ledger_model import STATIONS, LedgerWorld, ModelMove

LISTINGS = {"CUP-350": "A-CUP", "TOWEL-W": "A-TOWEL"}
"""Packline SKU → the shop's platform SKU id (one unit per listing unit, no buffer)."""


@dataclass
class ModelOrder:
    """What the model remembers of an order (nothing read back from the cloud)."""

    platform_no: str
    sku: str
    units: int
    note: str
    version: int = 0
    refund: str = "1"
    """PDD order-level refund status: 1 none (or withdrawn), 2 requested."""
    refunded_once: bool = False
    cancelled: bool = False
    ship_moves: set[str] = field(default_factory=set)
    """SHIP move ids its packing recorded (empty until a station ships it)."""


class StockWorld(LedgerWorld):
    def __init__(self) -> None:
        super().__init__()
        self.sc = add_pdd_shop(self.engine, LISTINGS, now=self.clock.now())
        self.platform = self.sc.client
        self.orders: dict[str, ModelOrder] = {}
        self.seq = 0

    # ------------------------------------------------------------------ the model
    def _cloud_ids(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(stock_moves.c.move_id)).scalars())

    def _open(self, cloud_ids: set[str]) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for o in self.orders.values():
            if o.cancelled or (o.ship_moves and o.ship_moves <= cloud_ids):
                continue
            # SHIP moves consume the order's units as each arrives (a two-location ship
            # is two moves, which may arrive apart)
            taken = sum(-self.moves[m].qty for m in o.ship_moves & cloud_ids)
            out[o.sku] += o.units - min(o.units, taken)
        return out

    def _available(self, cloud_ids: set[str]) -> dict[str, int]:
        on_hand: dict[str, int] = defaultdict(int)
        for move_id, m in self.moves.items():
            if move_id in cloud_ids:
                on_hand[m.sku] += m.qty
        held = self._open(cloud_ids)
        return {sku: max(0, on_hand[sku] - held[sku]) for sku in LISTINGS}

    def _reserved(self) -> dict[str, int]:
        r = reservations.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(r.sku, sa.func.sum(r.qty - r.shipped_qty)).where(
                r.released_at.is_(None)).group_by(r.sku)).all()
        return {sku: int(q) for sku, q in rows if q}

    # ------------------------------------------------------------------ helpers
    def _send(self, o: ModelOrder, status: OrderStatus) -> None:
        o.version += 1
        po = PlatformOrder(
            platform="pdd", order_id=o.platform_no, status=status,
            raw_status="1" if status is OrderStatus.AWAITING_SHIPMENT else "0",
            updated_at=self.clock.now() - timedelta(days=1) + timedelta(seconds=self.seq * 10 + o.version),
            created_at=self.clock.now() - timedelta(days=1),
            lines=(OrderLine(sku_id=LISTINGS[o.sku], outer_id="", qty=o.units, price_fen=990),)
            if status is OrderStatus.AWAITING_SHIPMENT else (),
            buyer_note=o.note, refund_status=o.refund)
        with self.engine.begin() as conn:
            upsert_order(conn, "pdd1", po, now=self.clock.now())

    def _at(self, station: str, statuses: tuple[str, ...]) -> list[str]:
        marks = ",".join("?" * len(statuses))
        return [r[0] for r in self.stores[station].writer.db.execute(
            f"SELECT order_id FROM orders WHERE status IN ({marks}) ORDER BY order_id",
            list(statuses)).fetchall()]

    # ------------------------------------------------------------------ rules
    @rule(sku=st.sampled_from(sorted(LISTINGS)), units=st.integers(1, 4), noted=st.booleans(),
          rush=st.sampled_from(["", "task", "ship"]))
    def order_arrives(self, sku: str, units: int, noted: bool, rush: str) -> None:
        """A paid order; ``rush``: allocated and tasked at once (restocked first), and
        packed at once where the task arrived (``ship``)."""
        self.seq += 1
        o = ModelOrder(f"261203-{self.seq:015d}", sku, units, "请发顺丰" if noted else "")
        self.orders[order_key("pdd", o.platform_no)] = o
        self._send(o, OrderStatus.AWAITING_SHIPMENT)
        if rush:
            self.allocate_and_task(restock=True, turns=2)
        if rush == "ship":
            self.pack(STATIONS[0], self.seq)

    @rule(pick=st.integers(0, 1000))
    def note_resolved(self, pick: int) -> None:
        """The buyer's note is dealt with on the platform: a new version without it."""
        noted = sorted(k for k, o in self.orders.items() if o.note and not o.cancelled)
        if noted:
            o = self.orders[noted[pick % len(noted)]]
            o.note = ""
            self._send(o, OrderStatus.AWAITING_SHIPMENT)

    @rule(pick=st.integers(0, 1000))
    def buyer_cancels(self, pick: int) -> None:
        live = sorted(k for k, o in self.orders.items() if not o.cancelled)
        if live:
            o = self.orders[live[pick % len(live)]]
            o.cancelled = True
            self._send(o, OrderStatus.CLOSED)

    @rule(pick=st.integers(0, 1000), requested=st.booleans())
    def refund_request(self, pick: int, requested: bool) -> None:
        """The buyer asks for a refund (``requested``) or withdraws the request: the order
        stays paid and reserved; at a station it is intercepted, and released again on
        withdrawal."""
        want = "1" if requested else "2"
        live = sorted(k for k, o in self.orders.items() if not o.cancelled and o.refund == want)
        if live:
            o = self.orders[live[pick % len(live)]]
            o.refund = "2" if requested else "1"
            o.refunded_once |= requested
            self._send(o, OrderStatus.AWAITING_SHIPMENT)

    @rule(restock=st.booleans(), turns=st.integers(0, 2))
    def allocate_and_task(self, restock: bool, turns: int) -> None:
        """Allocation and waybills; ``restock``: the cloud records a receipt of every
        mapped SKU first (so there is something to allocate); then ``turns`` sync turns."""
        if restock:
            for sku in LISTINGS:
                self.cloud_adjust((sku, "A-01-02"), 6)
        now = self.clock.now()
        allocate_pending(self.engine, "pdd1", "WH1", now=now)
        asyncio.run(request_waybills(self.engine, self.sc, now=now))
        for _ in range(turns):
            self.turn()

    @rule(station=st.sampled_from(STATIONS), pick=st.integers(0, 1000))
    def pack(self, station: str, pick: int) -> None:
        states = ("waiting", "packing", "packed", "intercepted")
        waiting = self._at(station, states)
        if not waiting:  # the other station, then
            station = next(s for s in STATIONS if s != station)
            waiting = self._at(station, states)
        if not waiting:
            return
        order_id = waiting[pick % len(waiting)]
        store = self.stores[station]
        scanned = StoreOrderSource(store.queries).order(order_id)
        assert scanned is not None
        try:
            shipment = PackingWriter(store.writer).ship(scanned, operator_id="op1", weight_g=400)
        except ShipRefused:
            event("pack refused (intercepted)")
            assert self._at(station, ("intercepted",)).count(order_id) == 1
            return
        o = self.orders[order_id]
        assert not o.ship_moves, f"{order_id} shipped twice"
        rows = store.writer.db.execute(
            f"SELECT move_id, sku, location, qty_delta FROM stock_moves WHERE move_id IN "
            f"({','.join('?' * len(shipment.move_ids))})", list(shipment.move_ids)).fetchall()
        # The station took exactly the order's units of its SKU, wherever they lay.
        assert {r[1] for r in rows} == {o.sku} and sum(r[3] for r in rows) == -o.units, rows
        for move_id, sku, location, qty in rows:
            self.moves[move_id] = ModelMove(sku, location, qty, station)
        o.ship_moves = set(shipment.move_ids)
        event(f"shipped from {len(rows)} location(s)")
        event(f"shipped at {station}")

    @rule()
    def push(self) -> None:
        result = asyncio.run(push_stock(self.engine, self.sc, now=self.clock.now()))
        assert result.refused == 0 and result.failed == 0, result
        available = self._available(self._cloud_ids())
        for sku, sku_id in LISTINGS.items():
            shown = self.platform.shows(sku_id)
            assert shown is None or shown <= available[sku], (sku, shown, available)

    # ------------------------------------------------------------------ invariants
    @invariant()
    def every_open_order_is_reserved(self) -> None:
        held, reserved = self._open(self._cloud_ids()), self._reserved()
        for sku in LISTINGS:
            assert reserved.get(sku, 0) >= held.get(sku, 0), (sku, reserved, dict(held))

    @invariant()
    def each_order_holds_exactly_its_units(self) -> None:
        """Per order, where the model can say exactly: an order not packed holds all its
        units until cancelled, then none; an order whose SHIP moves all reached the cloud
        (none reversed) holds none — shipped units are never counted twice."""
        cloud_ids = self._cloud_ids()
        reversed_ = {m.reverses for m in self.moves.values() if m.reverses}
        r = reservations.c
        with self.engine.connect() as conn:
            held = dict(conn.execute(sa.select(r.order_id, sa.func.sum(r.qty - r.shipped_qty))
                                     .where(r.released_at.is_(None)).group_by(r.order_id)).all())
        for oid, o in self.orders.items():
            if not o.ship_moves:
                assert held.get(oid, 0) == (0 if o.cancelled else o.units), (oid, o, held.get(oid))
            elif o.ship_moves <= cloud_ids and not o.ship_moves & reversed_:
                assert held.get(oid, 0) == 0, (oid, o, held.get(oid))

    # ------------------------------------------------------------------ convergence
    def check_against_the_model(self) -> None:
        super().check_against_the_model()
        cloud_ids = self._cloud_ids()
        held = {k: v for k, v in self._open(cloud_ids).items() if v}
        assert self._reserved() == held
        asyncio.run(push_stock(self.engine, self.sc, now=self.clock.now()))
        available = self._available(cloud_ids)
        for sku, sku_id in LISTINGS.items():
            assert self.platform.shows(sku_id) == available[sku], (sku, available)
        with self.engine.connect() as conn:
            assert audit_pushes(conn) == []
        # An order nothing holds any more (paid, no refund requested) can be packed where
        # it is: a withdrawn refund released its intercept.
        for sid in STATIONS:
            for oid in self._at(sid, ("intercepted",)):
                o = self.orders[oid]
                assert o.cancelled or o.refund == "2", (sid, oid, o)
        released = [o for o in self.orders.values() if o.refunded_once and o.refund == "1"
                    and not o.cancelled]
        event(f"orders released after a withdrawn refund: {min(len(released), 2)}")
        shipped = sum(1 for o in self.orders.values() if o.ship_moves)
        event(f"orders shipped: {min(shipped, 3)}{'+' if shipped >= 3 else ''}")


StockWorld.TestCase.settings = settings(
    max_examples=60, stateful_step_count=50, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TestStockWorld = StockWorld.TestCase
