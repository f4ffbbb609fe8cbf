"""库存报表 (stock report): per warehouse and SKU, what is on hand and what it is worth,
how fast it leaves and how long it lasts.

* on hand, reserved, in transit to the warehouse and safety stock: as ``cloud.stock.levels``
  has them now (the ledger's balances);
* value: on hand × the SKU's moving-average cost (``skus.cost_fen``, set by purchase
  receipts); a SKU without a cost is valued at nothing and flagged;
* shipped in the last ``days`` days: the SHIP moves of that warehouse in the window, less
  the ones reversed (a REVERSAL of a SHIP move puts the units back), so it counts what the
  stations really sent out;
* days of cover: on hand ÷ (shipped ÷ days), one decimal; none when nothing shipped;
* turnover over the window: shipped ÷ on hand (how many times the stock on hand left);
* ageing (库龄): the units on hand split by how long ago they came in — first in, first out,
  so the units on hand are the latest to arrive: walking the warehouse's inflows (receipts,
  returns, transfers in, counted or hand adjustments up) newest first until they cover what
  is on hand, each unit takes its inflow's age; units no inflow covers (stock older than the
  ledger) count as the oldest. Buckets: ≤30, 31–60, 61–90 and over 90 days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud.db.schema import shipped_daily, skus, stock_balances, stock_moves
from cloud.stock import levels
from edge.domain.models import MoveReason

DEFAULT_DAYS: Final = 30
"""The sales window of the report unless asked otherwise."""
MAX_DAYS: Final = 365
"""The longest window the page takes."""
IN_CHUNK: Final = 500
"""Most SKUs the ageing names in an ``IN (…)``; for more it reads every inflow once."""
ROW_LIMIT: Final = 5000
"""Warehouse × SKU rows read at most."""
AGE_BUCKETS: Final = (30, 60, 90)
"""Upper bounds (days, inclusive) of the ageing buckets; older stock falls in a fourth."""
INFLOWS: Final = (MoveReason.RECEIVE, MoveReason.RETURN, MoveReason.TRANSFER_IN,
                  MoveReason.COUNT_ADJUST, MoveReason.MANUAL_ADJUST)
"""Reasons whose positive moves bring units into a warehouse (a PICK only moves them)."""


@dataclass(frozen=True, slots=True)
class StockValueRow:
    """One SKU in one warehouse."""

    warehouse_id: str
    sku: str
    name: str
    on_hand: int
    reserved: int
    in_transit: int
    safety: int | None
    cost_fen: int | None
    """Moving-average unit cost (None: never received with a cost)."""
    shipped: int
    """Units shipped from the warehouse in the window (net of reversed shipments)."""
    days: int
    """The window in days."""
    ages: tuple[int, ...] = (0, 0, 0, 0)
    """Units on hand by age: ≤30, 31–60, 61–90, over 90 days (see the module's notes)."""

    @property
    def value_fen(self) -> int:
        """On hand at cost (a negative on hand is worth nothing)."""
        return max(self.on_hand, 0) * (self.cost_fen or 0)

    @property
    def days_of_cover(self) -> float | None:
        """How many days the stock on hand lasts at the window's pace (None: none sold)."""
        if self.shipped <= 0:
            return None
        return round(max(self.on_hand, 0) * self.days / self.shipped, 1)

    @property
    def turnover(self) -> float | None:
        """Units shipped in the window per unit on hand (None: nothing on hand)."""
        if self.on_hand <= 0:
            return None
        return round(self.shipped / self.on_hand, 2)

    @property
    def below_safety(self) -> bool:
        """Available (on hand − reserved) is below the safety stock."""
        return self.safety is not None and self.on_hand - self.reserved < self.safety


def shipped_units(conn: Connection, since: datetime, until: datetime,
                  warehouse_id: str | None) -> dict[tuple[str, str], int]:
    """Units shipped per (warehouse, SKU) in [since, until), less reversed shipments: the
    whole UTC days inside from ``shipped_daily``, the partial days at either end from the
    ledger (a year of SHIP moves is millions of rows; a window's days are a few thousand)."""
    since, until = since.astimezone(UTC), until.astimezone(UTC)
    midnight = datetime.min.time()
    first = since.date() + timedelta(days=0 if since.time() == midnight else 1)
    last = until.date() - timedelta(days=1)  # the last day that ends by ``until``
    if first > last:
        return _shipped_moves(conn, since, until, warehouse_id)
    out = _shipped_moves(conn, since, datetime.combine(first, midnight, UTC), warehouse_id)
    for key, units in _shipped_moves(conn, datetime.combine(last + timedelta(days=1), midnight,
                                                            UTC), until, warehouse_id).items():
        out[key] = out.get(key, 0) + units
    d = shipped_daily.c
    days = (sa.select(d.warehouse_id, d.sku, sa.func.sum(d.units))
            .where(d.day >= first, d.day <= last).group_by(d.warehouse_id, d.sku))
    if warehouse_id is not None:
        days = days.where(d.warehouse_id == warehouse_id)
    for wh, sku, units in conn.execute(days):
        out[(wh, sku)] = out.get((wh, sku), 0) + int(units or 0)
    return out


def _shipped_moves(conn: Connection, since: datetime, until: datetime,
                   warehouse_id: str | None) -> dict[tuple[str, str], int]:
    """:func:`shipped_units` read from the ledger itself (for part of a day)."""
    out: dict[tuple[str, str], int] = {}
    if since >= until:
        return out
    m = stock_moves.c
    ships = (sa.select(m.warehouse_id, m.sku, sa.func.sum(-m.qty_delta).label("units"))
             .where(m.reason == int(MoveReason.SHIP), m.occurred_at >= since,
                    m.occurred_at < until)
             .group_by(m.warehouse_id, m.sku))
    original = stock_moves.alias("original")
    undone = (sa.select(m.warehouse_id, m.sku, sa.func.sum(m.qty_delta).label("units"))
              .join(original, original.c.move_id == m.reverses_move_id)
              .where(m.reason == int(MoveReason.REVERSAL),
                     original.c.reason == int(MoveReason.SHIP),
                     original.c.occurred_at >= since, original.c.occurred_at < until)
              .group_by(m.warehouse_id, m.sku))
    if warehouse_id is not None:
        ships = ships.where(m.warehouse_id == warehouse_id)
        undone = undone.where(m.warehouse_id == warehouse_id)
    for wh, sku, units in conn.execute(ships):
        out[(wh, sku)] = out.get((wh, sku), 0) + int(units or 0)
    for wh, sku, units in conn.execute(undone):
        out[(wh, sku)] = out.get((wh, sku), 0) - int(units or 0)
    return out


def ageing(conn: Connection, on_hand: dict[tuple[str, str], int], *, now: datetime
           ) -> dict[tuple[str, str], tuple[int, ...]]:
    """Units on hand per (warehouse, SKU) by age bucket, first in first out (the module's
    notes); only keys with something on hand. ``on_hand`` is as the balances have it: the
    inflows are walked in SQL (a running sum, newest first, cut where it covers the
    balance) and only each bucket's units come back; what no inflow covers is the oldest."""
    wanted = {k: q for k, q in on_hand.items() if q > 0}
    if not wanted:
        return {}
    m, b = stock_moves.c, stock_balances.c
    out = {k: [0] * (len(AGE_BUCKETS) + 1) for k in wanted}
    # age in whole days ≤ bound ⟺ it came in less than bound + 1 days before ``now``
    bucket = sa.case(*((m.occurred_at > now - timedelta(days=bound + 1), n)
                       for n, bound in enumerate(AGE_BUCKETS)), else_=len(AGE_BUCKETS))
    running = sa.func.sum(m.qty_delta).over(partition_by=(m.warehouse_id, m.sku),
                                            order_by=(m.occurred_at.desc(), m.move_id.desc()))
    # the balance each inflow's running sum is cut at: looked up per inflow by the balances'
    # key (a join to summed balances made SQLite re-scan the inflows per key: 6 s)
    held = (sa.select(sa.func.sum(b.qty)).where(b.warehouse_id == m.warehouse_id,
                                                b.sku == m.sku).scalar_subquery())
    inflows = (sa.select(m.warehouse_id, m.sku, m.qty_delta, bucket.label("bucket"),
                         running.label("running"), held.label("on_hand"))
               .where(m.qty_delta > 0, m.reason.in_([int(r) for r in INFLOWS])))
    skus_wanted = sorted({sku for _w, sku in wanted})
    if len(skus_wanted) <= IN_CHUNK:  # a few SKUs: theirs; many: one pass over every inflow
        inflows = inflows.where(m.sku.in_(skus_wanted))
    i = inflows.subquery("inflows").c
    before = i.running - i.qty_delta  # units newer than this inflow
    take = sa.case((i.running <= i.on_hand, i.qty_delta), else_=i.on_hand - before)
    for wh, sku, age, units in conn.execute(
            sa.select(i.warehouse_id, i.sku, i.bucket, sa.func.sum(take))
            .where(before < i.on_hand)
            .group_by(i.warehouse_id, i.sku, i.bucket)):
        if (wh, sku) in out:
            out[(wh, sku)][int(age)] += int(units)
    for key, vec in out.items():
        rest = wanted[key] - sum(vec)
        if rest > 0:
            vec[-1] += rest  # older than anything the ledger shows
    return {k: tuple(v) for k, v in out.items()}


def report(conn: Connection, *, now: datetime, days: int = DEFAULT_DAYS,
           warehouse_id: str | None = None, sku: str = "", category: str = "",
           below_only: bool = False) -> list[StockValueRow]:
    """The stock report at ``now`` with a sales window of ``days`` days ending then:
    every warehouse × SKU with stock, a reservation, units in transit or a shipment in the
    window, by warehouse and SKU; only SKUs whose code contains ``sku`` (any case) and of
    ``category`` when given, and only the rows below their safety stock if ``below_only``."""
    shipped = shipped_units(conn, now - timedelta(days=days), now, warehouse_id)
    lv = {(x.warehouse_id, x.sku): x for x in levels(conn, warehouse_id=warehouse_id,
                                                       limit=ROW_LIMIT)}
    keys = sorted(set(lv) | {k for k, units in shipped.items() if units})
    names = {r.sku: (r.name_zh, r.cost_fen) for r in conn.execute(
        sa.select(skus.c.sku, skus.c.name_zh, skus.c.cost_fen))}
    if sku:
        keys = [k for k in keys if sku.casefold() in k[1].casefold()]
    if category:
        of = set(conn.execute(sa.select(skus.c.sku).where(skus.c.category == category))
                 .scalars())
        keys = [k for k in keys if k[1] in of]
    shown = set(keys)  # built once: in the comprehension it was rebuilt per row (quadratic)
    lv = {k: v for k, v in lv.items() if k in shown}
    ages = ageing(conn, {k: x.on_hand for k, x in lv.items()}, now=now)
    rows = []
    for wh, code in keys:
        level = lv.get((wh, code))
        name, cost = names.get(code, (code, None))
        rows.append(StockValueRow(
            wh, code, name or code, level.on_hand if level else 0,
            level.reserved if level else 0, level.in_transit if level else 0,
            level.safety if level else None, None if cost is None else int(cost),
            shipped.get((wh, code), 0), days,
            ages.get((wh, code), (0,) * (len(AGE_BUCKETS) + 1))))
    return [r for r in rows if r.below_safety] if below_only else rows
