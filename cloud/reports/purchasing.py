"""采购报表 (purchasing report): per supplier over a range of China Standard Time days — what
was ordered and received, what is still on order, how long suppliers take and how much of
an order they deliver.

* **POs sent** and **ordered**: purchase orders sent in the range (``sent_at``), and their
  lines' quantity × unit cost;
* **received** (spend): the receipts against purchase orders (``cost_changes``, one per
  RECEIVE move) whose goods were received in the range (the move's ``occurred_at`` at the
  station), units and quantity × unit cost;
* **on order** (now, whatever the range): the open purchase orders' (sent or partial) units
  not received yet × unit cost;
* **lead time**: for the POs sent in the range that have had a receipt, days from sending to
  the first receipt (average, one decimal, and the longest), beside the supplier's stated
  lead time;
* **on time**: of those with an expected date, the share whose first receipt came on or
  before it (China time);
* **fill rate**: of the POs sent in the range and finished (received or closed), units
  received (at most the units ordered, per line) ÷ units ordered.

Purchase orders are few (hundreds a month), so the report reads them per request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud.db.schema import stock_moves
from cloud.db.schema_purchasing import (
    cost_changes,
    purchase_order_lines,
    purchase_orders,
    suppliers,
)
from cloud.errors import InputError
from cloud.payables import day_start, local_day
from cloud.reports.sales import range_problems
from edge.domain.models import MoveReason

OPEN: Final = ("sent", "partial")
"""Purchase order states with goods still to come."""
FINISHED: Final = ("received", "closed")
"""Purchase order states counted in the fill rate."""
SECONDS_PER_DAY: Final = 86400
"""Lead times are in days."""
IN_CHUNK: Final = 500
"""Purchase order ids per ``IN (…)`` when looking up first receipts."""


@dataclass(frozen=True, slots=True)
class Filters:
    """China Standard Time days ``start``..``end`` (inclusive) and one supplier or all."""

    start: date
    end: date
    supplier: str = ""


@dataclass(slots=True)
class SupplierRow:
    """One supplier's figures."""

    supplier_id: str
    name: str
    stated_lead_days: int | None = None
    pos_sent: int = 0
    ordered_units: int = 0
    ordered_fen: int = 0
    received_units: int = 0
    received_fen: int = 0
    on_order_units: int = 0
    on_order_fen: int = 0
    lead_days: list[float] = field(default_factory=list)
    """Days from sending to the first receipt, one per PO sent in the range with a receipt."""
    due: int = 0
    """POs with an expected date and a receipt."""
    on_time: int = 0
    fill_ordered: int = 0
    fill_received: int = 0

    @property
    def avg_lead_days(self) -> float | None:
        """Average days to the first receipt (None: no receipt yet)."""
        if not self.lead_days:
            return None
        return round(sum(self.lead_days) / len(self.lead_days), 1)

    @property
    def max_lead_days(self) -> float | None:
        """The longest wait for a first receipt."""
        return round(max(self.lead_days), 1) if self.lead_days else None

    @property
    def on_time_rate(self) -> float | None:
        """Share of first receipts on or before the expected day."""
        return self.on_time / self.due if self.due else None

    @property
    def fill_rate(self) -> float | None:
        """Units received ÷ ordered over the finished POs."""
        return self.fill_received / self.fill_ordered if self.fill_ordered else None


@dataclass(slots=True)
class PurchasingReport:
    """The report for :attr:`filters`, one row per supplier with anything to show."""

    filters: Filters
    rows: list[SupplierRow] = field(default_factory=list)

    def total(self) -> SupplierRow:
        """Every supplier together."""
        t = SupplierRow("", "")
        for r in self.rows:
            for name in ("pos_sent", "ordered_units", "ordered_fen", "received_units",
                         "received_fen", "on_order_units", "on_order_fen", "due", "on_time",
                         "fill_ordered", "fill_received"):
                setattr(t, name, getattr(t, name) + getattr(r, name))
            t.lead_days += r.lead_days
        return t


def check(f: Filters) -> None:
    """Refuse a range the wrong way round or too long."""
    problems = range_problems(f.start, f.end)
    if problems:
        raise InputError(problems)


def report(conn: Connection, f: Filters) -> PurchasingReport:
    """The purchasing report of ``f``."""
    check(f)
    lo, hi = day_start(f.start), day_start(f.end + timedelta(days=1))
    po, ln, cc, m = purchase_orders.c, purchase_order_lines.c, cost_changes.c, stock_moves.c
    rows: dict[str, SupplierRow] = {}
    for s in conn.execute(sa.select(suppliers.c.id, suppliers.c.name, suppliers.c.lead_days)):
        rows[s.id] = SupplierRow(s.id, s.name, s.lead_days)

    def row(supplier_id: str) -> SupplierRow:
        return rows.setdefault(supplier_id, SupplierRow(supplier_id, supplier_id))

    only = [po.supplier_id == f.supplier] if f.supplier else []
    sent = conn.execute(
        sa.select(po.id, po.supplier_id, po.status, po.sent_at, po.expected_on,
                  sa.func.sum(ln.qty_ordered).label("units"),
                  sa.func.sum(ln.qty_ordered * ln.unit_cost_fen).label("fen"),
                  sa.func.sum(sa.case((ln.qty_received < ln.qty_ordered, ln.qty_received),
                                      else_=ln.qty_ordered)).label("filled"))
        .select_from(purchase_orders.join(purchase_order_lines, ln.po_id == po.id))
        .where(po.sent_at >= lo, po.sent_at < hi, *only)
        .group_by(po.id, po.supplier_id, po.status, po.sent_at, po.expected_on)).all()
    first = _first_receipts(conn, [p.id for p in sent])
    for p in sent:
        r = row(p.supplier_id)
        r.pos_sent += 1
        r.ordered_units += int(p.units)
        r.ordered_fen += int(p.fen)
        if p.status in FINISHED:
            r.fill_ordered += int(p.units)
            r.fill_received += int(p.filled)
        got = first.get(p.id)
        if got is not None:
            r.lead_days.append(max(0.0, (got - p.sent_at).total_seconds() / SECONDS_PER_DAY))
            if p.expected_on is not None:
                r.due += 1
                r.on_time += 1 if local_day(got) <= p.expected_on else 0
    for x in conn.execute(
            sa.select(po.supplier_id, sa.func.sum(cc.qty).label("units"),
                      sa.func.sum(cc.qty * cc.unit_cost_fen).label("fen"))
            .select_from(cost_changes.join(purchase_orders, po.id == cc.po_id)
                         .join(stock_moves, m.move_id == cc.move_id))
            # every receipt is a RECEIVE move: naming the reason lets the ledger's (reason,
            # time) index find the range's receipts instead of scanning a year of moves
            .where(m.reason == int(MoveReason.RECEIVE), m.occurred_at >= lo,
                   m.occurred_at < hi, *only)
            .group_by(po.supplier_id)):
        r = row(x.supplier_id)
        r.received_units += int(x.units or 0)
        r.received_fen += int(x.fen or 0)
    open_units = sa.case((ln.qty_received < ln.qty_ordered, ln.qty_ordered - ln.qty_received),
                         else_=0)
    for x in conn.execute(
            sa.select(po.supplier_id, sa.func.sum(open_units).label("units"),
                      sa.func.sum(open_units * ln.unit_cost_fen).label("fen"))
            .select_from(purchase_orders.join(purchase_order_lines, ln.po_id == po.id))
            .where(po.status.in_(OPEN), *only).group_by(po.supplier_id)):
        r = row(x.supplier_id)
        r.on_order_units += int(x.units or 0)
        r.on_order_fen += int(x.fen or 0)
    shown = [r for r in rows.values() if (not f.supplier or r.supplier_id == f.supplier) and (
        r.pos_sent or r.received_units or r.on_order_units)]
    return PurchasingReport(f, sorted(shown, key=lambda r: (-r.received_fen, r.supplier_id)))


def _first_receipts(conn: Connection, po_ids: list[str]) -> dict[str, datetime]:
    """When each PO's goods first arrived at a station (its earliest receipt move)."""
    if not po_ids:
        return {}
    cc, m = cost_changes.c, stock_moves.c
    out: dict[str, datetime] = {}
    for chunk in range(0, len(po_ids), IN_CHUNK):
        for r in conn.execute(sa.select(cc.po_id, sa.func.min(m.occurred_at).label("at"))
                              .select_from(cost_changes.join(stock_moves,
                                                             m.move_id == cc.move_id))
                              .where(cc.po_id.in_(po_ids[chunk:chunk + IN_CHUNK]))
                              .group_by(cc.po_id)):
            at: Any = r.at
            out[r.po_id] = at
    return out
