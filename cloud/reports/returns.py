"""退货报表 (returns report): over a range of China Standard Time days, by SKU and by the
buyers' reasons — how much came back, in what condition, against how much sold.

* **sold**: Packline units of the SKU in orders placed in the range (the sales summaries
  ``sales_monthly_sku`` for whole months and ``sales_daily_sku`` for the rest, kept as orders
  arrive);
* **returned**: units of the SKU inspected at a station in the range (``station_returns``
  by the station's ``received_at``) that were in the order: **restocked** (good) plus
  **damaged**; **not ours**: units of the SKU that came back in a parcel of an order that
  did not contain it (or more than it shipped, recorded as such);
* **return rate**: returned ÷ sold (None when nothing sold in the range) — a period ratio:
  a unit returned in the range may have sold before it;
* **by reason**: the returns inspected in the range grouped by the after-sales request's
  reason as the platform words it ('' when the parcel matched no request): returns, units
  returned, restocked and damaged.

Returns are few (a few per hundred orders), so their rows are read per request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud.db.schema import skus
from cloud.db.schema_orders import refunds
from cloud.db.schema_returns import station_return_lines, station_returns
from cloud.errors import InputError
from cloud.payables import day_start
from cloud.reports.export import Sheet
from cloud.reports.sales import Filters as SalesFilters
from cloud.reports.sales import range_problems, sku_sums


@dataclass(frozen=True, slots=True)
class Filters:
    """China Standard Time days ``start``..``end`` (inclusive), one SKU or all."""

    start: date
    end: date
    sku: str = ""


@dataclass(slots=True)
class Figures:
    """Units of one SKU (or one reason, or all)."""

    sold: int = 0
    good: int = 0
    damaged: int = 0
    wrong: int = 0
    returns: int = 0
    """Return parcels (the by-reason table counts them)."""

    @property
    def returned(self) -> int:
        """Units of the order that came back (good + damaged)."""
        return self.good + self.damaged

    @property
    def rate(self) -> float | None:
        """Returned ÷ sold (None when nothing sold)."""
        return self.returned / self.sold if self.sold else None

    def add(self, other: Figures) -> None:
        """Add ``other`` into these figures."""
        self.sold += other.sold
        self.good += other.good
        self.damaged += other.damaged
        self.wrong += other.wrong
        self.returns += other.returns


@dataclass(frozen=True, slots=True)
class SkuRow:
    """One SKU's line."""

    sku: str
    name: str
    figures: Figures


@dataclass(frozen=True, slots=True)
class ReasonRow:
    """One reason's line."""

    reason: str
    figures: Figures


@dataclass(slots=True)
class ReturnsReport:
    """The report for :attr:`filters`."""

    filters: Filters
    skus: list[SkuRow] = field(default_factory=list)
    """SKUs that sold or came back, most returned first."""
    reasons: list[ReasonRow] = field(default_factory=list)
    """Reasons, most returns first."""

    def total(self) -> Figures:
        """Every SKU together."""
        t = Figures()
        for r in self.skus:
            t.add(r.figures)
        t.returns = sum(r.figures.returns for r in self.reasons)
        return t


NAMES_IN = 500
"""Most SKUs whose names are asked for by id; for more the whole catalogue is read."""


def check(f: Filters) -> None:
    """Refuse a range the wrong way round or too long."""
    problems = range_problems(f.start, f.end)
    if problems:
        raise InputError(problems)


def report(conn: Connection, f: Filters) -> ReturnsReport:
    """The returns report of ``f``."""
    check(f)
    lo, hi = day_start(f.start), day_start(f.end + timedelta(days=1))
    r, ln, rf = station_returns.c, station_return_lines.c, refunds.c
    figures: dict[str, Figures] = {}
    # whole months from the monthly SKU summary, the partial ones by day (as the sales report)
    for sku, sold in sku_sums(conn, SalesFilters(f.start, f.end),
                              [f.sku] if f.sku else None).items():
        if sku and sold.units:
            figures.setdefault(str(sku), Figures()).sold += sold.units
    only_back = [ln.sku == f.sku] if f.sku else []
    for sku, condition, units in conn.execute(
            sa.select(ln.sku, ln.condition, sa.func.sum(ln.qty))
            .select_from(station_return_lines.join(station_returns, r.msg_id == ln.msg_id))
            .where(r.received_at >= lo, r.received_at < hi, ln.sku.is_not(None), *only_back)
            .group_by(ln.sku, ln.condition)):
        row = figures.setdefault(str(sku), Figures())
        setattr(row, str(condition), getattr(row, str(condition)) + int(units or 0))
    names: dict[str, str] = {}
    if figures:  # thousands of SKUs: read the catalogue once rather than name each one
        query = sa.select(skus.c.sku, skus.c.name_zh)
        if len(figures) <= NAMES_IN:
            query = query.where(skus.c.sku.in_(sorted(figures)))
        names = {str(k): str(v or "") for k, v in conn.execute(query)}
    by_reason: dict[str, Figures] = {}
    reason = sa.func.coalesce(rf.reason, "")
    joined = (station_returns.join(station_return_lines, ln.msg_id == r.msg_id)
              .outerjoin(refunds, sa.and_(rf.shop_id == r.shop_id, rf.refund_id == r.refund_id)))
    within = [r.received_at >= lo, r.received_at < hi, *only_back]
    for why, condition, units in conn.execute(  # units by reason and condition
            sa.select(reason, ln.condition, sa.func.sum(ln.qty)).select_from(joined)
            .where(*within).group_by(reason, ln.condition)):
        row = by_reason.setdefault(str(why), Figures())
        setattr(row, str(condition), getattr(row, str(condition)) + int(units or 0))
    has_lines = sa.exists().where(ln.msg_id == r.msg_id, *only_back)
    for why, n in conn.execute(  # parcels by reason (one row each: no lines joined)
            sa.select(reason, sa.func.count())
            .select_from(station_returns.outerjoin(refunds, sa.and_(
                rf.shop_id == r.shop_id, rf.refund_id == r.refund_id)))
            .where(r.received_at >= lo, r.received_at < hi, has_lines).group_by(reason)):
        by_reason.setdefault(str(why), Figures()).returns += int(n)
    return ReturnsReport(
        f,
        sorted((SkuRow(k, str(names.get(k, "")), v) for k, v in figures.items()),
               key=lambda x: (-x.figures.returned, -x.figures.wrong, x.sku)),
        sorted((ReasonRow(k, v) for k, v in by_reason.items()),
               key=lambda x: (-x.figures.returns, x.reason)))


def sheets(rep: ReturnsReport, lang_zh: bool = True) -> list[Sheet]:
    """The report as two export tables: by SKU (with totals) and by reason."""
    zh = lang_zh
    counts = [("良品" if zh else "Restocked", "int"), ("残次" if zh else "Damaged", "int"),
              ("非本单" if zh else "Not ours", "int")]
    by_sku = Sheet("按商品" if zh else "By SKU", [
        ("SKU", "text"), ("名称" if zh else "Name", "text"), ("销售件数" if zh else "Sold", "int"),
        ("退回件数" if zh else "Returned", "int"), *counts,
        ("退货率" if zh else "Return rate", "percent")])
    for r in rep.skus:
        x = r.figures
        by_sku.rows.append([r.sku, r.name, x.sold, x.returned, x.good, x.damaged, x.wrong,
                            x.rate])
    t = rep.total()
    by_sku.totals = ["合计" if zh else "Total", "", t.sold, t.returned, t.good, t.damaged,
                     t.wrong, t.rate]
    by_reason = Sheet("按原因" if zh else "By reason", [
        ("退货原因" if zh else "Reason", "text"), ("退货包裹" if zh else "Parcels", "int"),
        ("退回件数" if zh else "Returned", "int"), *counts])
    for g in rep.reasons:
        x = g.figures
        by_reason.rows.append([g.reason or ("无售后单" if zh else "no request known"),
                               x.returns, x.returned, x.good, x.damaged, x.wrong])
    return [by_sku, by_reason]
