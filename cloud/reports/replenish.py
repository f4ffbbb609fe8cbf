"""补货建议 (replenishment suggestions): per warehouse and SKU, how many to buy so the stock
lasts until the next order arrives, explained, and drafts of purchase orders made from a
selection — one per supplier and warehouse.

For each warehouse × SKU that has stock, a reservation, units in transit or on order, a
safety stock or a shipment in the last :data:`WINDOW_DAYS` days:

* **daily pace** = the average of the last :data:`RECENT_DAYS` days' pace and the last
  :data:`WINDOW_DAYS` days' pace (units shipped from the warehouse, net of reversed
  shipments), so a recent rise or fall counts half;
* **lead time** = the supplier's stated lead days (:data:`DEFAULT_LEAD_DAYS` when none is
  known), plus a review period of :data:`REVIEW_DAYS` days until the next order;
* **need** = ⌈pace × (lead + review)⌉ + safety stock;
* **position** = on hand − held by open orders + in transit to the warehouse + on order
  (purchase order lines not received yet, drafts included, so a drafted order is not
  suggested twice);
* **suggested** = need − position when positive.

The supplier of a SKU is the one of its latest purchase order (not cancelled), at that
order's unit cost; a SKU never bought has none and cannot be drafted (the page says so).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud import purchasing
from cloud.db.schema import sku_safety_stock, skus
from cloud.db.schema_purchasing import purchase_order_lines, purchase_orders, suppliers
from cloud.errors import InputError, Problem
from cloud.reports.stock_value import shipped_units
from cloud.stock import levels

WINDOW_DAYS: Final = 28
"""The long sales window (four whole weeks: every weekday counts the same)."""
RECENT_DAYS: Final = 7
"""The recent sales window (the last week)."""
REVIEW_DAYS: Final = 7
"""Days until the next replenishment run: the order covers them too."""
DEFAULT_LEAD_DAYS: Final = 7
"""Lead time assumed when the supplier states none (or the SKU has no supplier)."""
ON_ORDER_STATES: Final = ("draft", "approved", "sent", "partial")
"""Purchase orders whose open units count as coming."""
FEN_PER_YUAN: Final = 100
"""Unit costs are written in yuan on a purchase order's lines."""
LEVELS_LIMIT: Final = 100_000
"""Warehouse × SKU rows read at most."""


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One warehouse × SKU with its figures and the suggested quantity."""

    warehouse_id: str
    sku: str
    name: str
    recent: int
    """Units shipped in the last :data:`RECENT_DAYS` days."""
    window: int
    """Units shipped in the last :data:`WINDOW_DAYS` days."""
    lead_days: int
    lead_stated: bool
    """The lead time is the supplier's (False: the default)."""
    safety: int
    on_hand: int
    reserved: int
    in_transit: int
    on_order: int
    supplier_id: str | None
    supplier_name: str
    unit_cost_fen: int | None

    @property
    def daily(self) -> float:
        """Units a day: the mean of the recent and the long pace."""
        return (self.recent / RECENT_DAYS + self.window / WINDOW_DAYS) / 2

    @property
    def need(self) -> int:
        """Units to hold: the pace over lead time and review period, plus safety stock."""
        return math.ceil(round(self.daily * (self.lead_days + REVIEW_DAYS), 6)) + self.safety

    @property
    def position(self) -> int:
        """What the warehouse has or will get: on hand − held + in transit + on order."""
        return self.on_hand - self.reserved + self.in_transit + self.on_order

    @property
    def qty(self) -> int:
        """The suggested quantity (0: enough)."""
        return max(0, self.need - self.position)


def _on_order(conn: Connection) -> dict[tuple[str, str], int]:
    po, ln = purchase_orders.c, purchase_order_lines.c
    open_units = sa.case((ln.qty_received < ln.qty_ordered, ln.qty_ordered - ln.qty_received),
                         else_=0)
    return {(r.warehouse_id, r.sku): int(r.n) for r in conn.execute(
        sa.select(po.warehouse_id, ln.sku, sa.func.sum(open_units).label("n"))
        .select_from(purchase_orders.join(purchase_order_lines, ln.po_id == po.id))
        .where(po.status.in_(ON_ORDER_STATES)).group_by(po.warehouse_id, ln.sku))}


def _last_supplier(conn: Connection) -> dict[str, tuple[str, str, int | None, int]]:
    """SKU → (supplier id, name, stated lead days, unit cost) of its latest purchase order."""
    po, ln, s = purchase_orders.c, purchase_order_lines.c, suppliers.c
    out: dict[str, tuple[str, str, int | None, int]] = {}
    for r in conn.execute(
            sa.select(ln.sku, po.supplier_id, s.name, s.lead_days, ln.unit_cost_fen)
            .select_from(purchase_order_lines.join(purchase_orders, po.id == ln.po_id)
                         .join(suppliers, s.id == po.supplier_id))
            .where(po.status != "cancelled")
            .order_by(po.created_at, po.id, ln.line_no)):
        out[r.sku] = (r.supplier_id, r.name, r.lead_days, int(r.unit_cost_fen))
    return out


def suggestions(conn: Connection, *, now: datetime, warehouse_id: str | None = None,
                only_needed: bool = True) -> list[Suggestion]:
    """The suggestions at ``now``, by warehouse, supplier and SKU (only the ones to buy
    unless ``only_needed`` is False)."""
    recent = shipped_units(conn, now - timedelta(days=RECENT_DAYS), now, warehouse_id)
    window = shipped_units(conn, now - timedelta(days=WINDOW_DAYS), now, warehouse_id)
    lv = {(x.warehouse_id, x.sku): x for x in levels(conn, warehouse_id=warehouse_id,
                                                       limit=LEVELS_LIMIT)}
    on_order = _on_order(conn)
    ss = sku_safety_stock.c
    safety_q = sa.select(ss.warehouse_id, ss.sku, ss.qty)
    if warehouse_id is not None:
        safety_q = safety_q.where(ss.warehouse_id == warehouse_id)
    safety = {(r.warehouse_id, r.sku): int(r.qty) for r in conn.execute(safety_q)}
    keys = set(lv) | set(window) | set(safety) | {
        k for k in on_order if warehouse_id is None or k[0] == warehouse_id}
    names = dict(conn.execute(sa.select(skus.c.sku, skus.c.name_zh)).all())
    last = _last_supplier(conn)
    out = []
    for wh, sku in keys:
        if sku not in names:
            continue  # a move for a SKU the catalog does not know yet
        level = lv.get((wh, sku))
        sup = last.get(sku)
        out.append(Suggestion(
            wh, sku, str(names[sku]), max(0, recent.get((wh, sku), 0)),
            max(0, window.get((wh, sku), 0)),
            sup[2] if sup is not None and sup[2] is not None else DEFAULT_LEAD_DAYS,
            sup is not None and sup[2] is not None, safety.get((wh, sku), 0),
            level.on_hand if level else 0, level.reserved if level else 0,
            level.in_transit if level else 0, on_order.get((wh, sku), 0),
            sup[0] if sup else None, sup[1] if sup else "", sup[3] if sup else None))
    if only_needed:
        out = [x for x in out if x.qty > 0]
    return sorted(out, key=lambda x: (x.warehouse_id, x.supplier_name, x.sku))


def draft_orders(conn: Connection, picks: dict[tuple[str, str], int], *, now: datetime,
                 actor: str) -> list[str]:
    """Draft purchase orders for the picked warehouse × SKU quantities: one per supplier and
    warehouse, at the supplier's last unit cost. Refuses (nothing written) a pick without a
    supplier, a quantity below 1 or a SKU not suggested any more."""
    known = {(x.warehouse_id, x.sku): x for x in suggestions(conn, now=now, only_needed=False)}
    problems: list[Problem] = []
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for (wh, sku), qty in sorted(picks.items()):
        x = known.get((wh, sku))
        if x is None or x.supplier_id is None or x.unit_cost_fen is None:
            problems.append(Problem("picks", f"{sku}: 没有供应商, 请手工下采购单",
                                    f"{sku}: no supplier known; write the purchase order by hand"))
            continue
        if qty < 1:
            problems.append(Problem("picks", f"{sku}: 数量至少为 1", f"{sku}: at least 1"))
            continue
        cost = Decimal(x.unit_cost_fen) / FEN_PER_YUAN
        groups[(x.supplier_id, wh)].append(f"{sku} {qty} {cost:.2f}")
    if not picks:
        problems.append(Problem("picks", "请至少选择一行", "pick at least one row"))
    if problems:
        raise InputError(problems)
    return [purchasing.create_po(conn, supplier_id=supplier, warehouse_id=wh,
                                 lines="\n".join(lines), expected_on="",
                                 note="补货建议 / replenishment", actor=actor, now=now)
            for (supplier, wh), lines in sorted(groups.items())]
