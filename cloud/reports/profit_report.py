"""The profit report (利润报表) read from its summaries (``profit_daily``, ``profit_orders``;
see :mod:`cloud.reports.profit` for what counts and on which day): totals, the series by
period, per shop (with its fee rate), per SKU and per order, with the sales report's
filters plus the warehouse.

Per order the figures are the order's whole life (refunds whenever they came) for the
orders of the range's days; the other tables book refunds on the refund's day, so the
orders' rows need not add up to the totals when a refund came after the range or for an
order before it. With a SKU or category filter, "orders" counts orders holding those SKUs
and the per-order table lists them with all their SKUs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud.db.schema import shops, skus
from cloud.db.schema_reports import (
    profit_daily,
    profit_daily_shop,
    profit_monthly,
    profit_monthly_sku,
    profit_orders,
)
from cloud.errors import InputError, Problem
from cloud.reports.sales import PERIODS, bucket, month_split, range_problems

ORDER_LIMIT: Final = 200
"""Orders listed at most (lowest profit first)."""
SKU_LIMIT: Final = 500
"""SKUs listed at most (highest profit first)."""


@dataclass(frozen=True, slots=True)
class Filters:
    """Days ``start``..``end`` (inclusive, CST), the period of the series and the filters."""

    start: date
    end: date
    period: str = "day"
    shop_id: str = ""
    platform: str = ""
    warehouse: str = ""
    sku: str = ""
    category: str = ""

    @property
    def by_sku(self) -> bool:
        """Whether only some SKUs count."""
        return bool(self.sku or self.category)


@dataclass(slots=True)
class Figures:
    """The money of one row (fen) and its counts."""

    orders: int = 0
    units: int = 0
    revenue_fen: int = 0
    cogs_fen: int = 0
    courier_fen: int = 0
    fee_fen: int = 0
    refund_fen: int = 0
    uncosted: int = 0

    @property
    def profit_fen(self) -> int:
        """Revenue − cost of goods − courier − platform fee − refunds."""
        return (self.revenue_fen - self.cogs_fen - self.courier_fen - self.fee_fen
                - self.refund_fen)

    @property
    def margin(self) -> float | None:
        """Profit ÷ revenue (None without revenue)."""
        return self.profit_fen / self.revenue_fen if self.revenue_fen else None

    def add(self, other: Figures) -> None:
        """Add another row's figures."""
        for name in ("orders", "units", "revenue_fen", "cogs_fen", "courier_fen", "fee_fen",
                     "refund_fen", "uncosted"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True, slots=True)
class Row:
    """A labelled row: a period, shop, SKU or order with its figures."""

    key: str
    label: str
    figures: Figures
    extra: str = ""
    """Shop: its platform; SKU: its category; order: its shop."""
    fee_bp: int | None = None
    """Shop: its commission rate in basis points (None: not set)."""
    day: date | None = None
    """Order: its day."""
    unbilled: int = 0
    """Order: parcels without a courier charge."""


@dataclass(slots=True)
class ProfitReport:
    """The whole report for :attr:`filters`."""

    filters: Filters
    totals: Figures
    series: list[Row] = field(default_factory=list)
    by_shop: list[Row] = field(default_factory=list)
    by_sku: list[Row] = field(default_factory=list)
    orders: list[Row] = field(default_factory=list)
    orders_total: int = 0
    """Orders of the range (the list shows at most :data:`ORDER_LIMIT`)."""

    @property
    def unset_shops(self) -> list[Row]:
        """Shops in the report without a platform fee rate (未设置平台费率)."""
        return [r for r in self.by_shop if r.fee_bp is None]


def check(f: Filters) -> None:
    """Refuse a range the wrong way round or too long, or an unknown period."""
    problems = range_problems(f.start, f.end)
    if f.period not in PERIODS:
        problems.append(Problem("period", "请选择周期", "choose a period"))
    if problems:
        raise InputError(problems)


def _sku_list(conn: Connection, f: Filters) -> list[str] | None:
    if not f.by_sku:
        return None
    if f.sku:
        return [f.sku]
    return list(conn.execute(sa.select(skus.c.sku).where(skus.c.category == f.category))
                .scalars())


def _where(table: sa.Table, f: Filters, sku_list: list[str] | None,
           span: tuple[str, date, date] | None = None) -> list[sa.ColumnElement[bool]]:
    """The filters on a summary table; ``span`` = (date column, first, last) instead of
    the range's days."""
    d = table.c
    when, first, last = span or ("day", f.start, f.end)
    out: list[sa.ColumnElement[bool]] = [d[when] >= first, d[when] <= last]
    if f.shop_id:
        out.append(d.shop_id == f.shop_id)
    if f.platform:
        out.append(d.platform == f.platform)
    if f.warehouse:
        out.append(d.warehouse_id == f.warehouse)
    if sku_list is not None:
        out.append(d.sku.in_(sku_list) if sku_list else sa.false())
    return out


SUMMED: Final = ("units", "revenue_fen", "cogs_fen", "courier_fen", "fee_fen", "refund_fen",
                 "uncosted")
"""The measures summed besides the order count."""


def _grouped(conn: Connection, f: Filters, sku_list: list[str] | None,
             *group: str, monthly: bool = True) -> list[Any]:
    """Σ measures grouped by ``group`` over the filtered summary rows: per SKU from
    ``profit_daily`` — whole months from ``profit_monthly`` when the grouping has no day, from
    ``profit_monthly_sku`` when nothing asks for a shop, platform or warehouse either —
    otherwise from ``profit_daily_shop`` (no SKU in its key)."""
    per_sku = sku_list is not None or "sku" in group
    if not per_sku:
        return _summed(conn, profit_daily_shop, f, sku_list, group, None)
    if "day" in group or not monthly:
        return _summed(conn, profit_daily, f, sku_list, group, None)
    days, months = month_split(f.start, f.end)
    parts = [_summed(conn, profit_daily, f, sku_list, group, ("day", a, b)) for a, b in days]
    if months is not None:
        # no shop, platform or warehouse in the filters or the grouping: the month × SKU rows
        narrow = not (f.shop_id or f.platform or f.warehouse) and set(group) <= {"sku"}
        parts.append(_summed(conn, profit_monthly_sku if narrow else profit_monthly, f,
                             sku_list, group, ("month", *months)))
    if len(parts) == 1:
        return parts[0]
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for rows in parts:
        for r in rows:
            key = tuple(getattr(r, g) for g in group)
            acc = merged.setdefault(key, {**dict(zip(group, key, strict=True)), "orders": 0,
                                          **dict.fromkeys(SUMMED, 0)})
            for m in ("orders", *SUMMED):
                acc[m] += int(getattr(r, m) or 0)
    return [SimpleNamespace(**v) for v in merged.values()]


def _summed(conn: Connection, table: sa.Table, f: Filters, sku_list: list[str] | None,
            group: tuple[str, ...], span: tuple[str, date, date] | None) -> list[Any]:
    d = table.c
    orders = d.orders if table is profit_daily_shop else d.lines
    q = sa.select(*(d[g] for g in group), sa.func.sum(orders).label("orders"),
                  *(sa.func.sum(d[m]).label(m) for m in SUMMED)
                  ).where(*_where(table, f, sku_list, span))
    if group:
        q = q.group_by(*(d[g] for g in group))
    return list(conn.execute(q).all())


def _figures(r: Any) -> Figures:
    return Figures(int(r.orders or 0), int(r.units or 0), int(r.revenue_fen or 0),
                   int(r.cogs_fen or 0), int(r.courier_fen or 0), int(r.fee_fen or 0),
                   int(r.refund_fen or 0), int(r.uncosted or 0))


def _order_where(f: Filters, sku_list: list[str] | None) -> list[sa.ColumnElement[bool]]:
    po = profit_orders.c
    out: list[sa.ColumnElement[bool]] = [po.day >= f.start, po.day <= f.end]
    if f.shop_id:
        out.append(po.shop_id == f.shop_id)
    if f.platform:
        out.append(po.platform == f.platform)
    if f.warehouse:
        out.append(po.warehouse_id == f.warehouse)
    if sku_list is not None:
        out.append(sa.or_(sa.false(), *(po.skus.contains(f"|{s}|", autoescape=True)
                                        for s in sku_list)))
    return out


def _orders(conn: Connection, f: Filters, sku_list: list[str] | None,
            counted: int | None = None) -> tuple[list[Row], int]:
    """The lowest-profit orders of the range, and how many orders it has (``counted`` when
    the caller knows it: the totals count each order once, on its day)."""
    po = profit_orders.c
    where = _order_where(f, sku_list)
    total = counted if counted is not None else int(conn.execute(
        sa.select(sa.func.count()).select_from(profit_orders).where(*where)).scalar_one())
    rows = [Row(r.order_id, r.order_id, Figures(1, int(r.units), int(r.revenue_fen),
                                                int(r.cogs_fen), int(r.courier_fen),
                                                int(r.fee_fen), int(r.refund_fen),
                                                int(r.uncosted)),
                extra=r.shop_id, day=r.day, unbilled=int(r.unbilled))
            for r in conn.execute(sa.select(profit_orders).where(*where)
                                  .order_by(po.profit_fen, po.order_id).limit(ORDER_LIMIT))]
    return rows, total


def report(conn: Connection, f: Filters, *, monthly: bool = True) -> ProfitReport:
    """The profit report for the filters (checked first); ``monthly=False`` reads the SKU
    table day by day, as before ``profit_monthly`` (the benchmark compares the two)."""
    check(f)
    sku_list = _sku_list(conn, f)
    totals = _grouped(conn, f, sku_list)
    out = ProfitReport(f, _figures(totals[0]) if totals else Figures())
    buckets: dict[str, tuple[date, Figures]] = {}
    for r in _grouped(conn, f, sku_list, "day"):
        day = r.day if isinstance(r.day, date) else date.fromisoformat(str(r.day))
        label, first = bucket(day, f.period)
        buckets.setdefault(label, (first, Figures()))[1].add(_figures(r))
    out.series = [Row(label, label, figs)
                  for label, (_first, figs) in sorted(buckets.items(), key=lambda kv: kv[1][0])]
    info = {r.id: (r.name, r.fee_bp) for r in conn.execute(
        sa.select(shops.c.id, shops.c.name, shops.c.fee_bp))}
    out.by_shop = sorted((Row(r.shop_id, info.get(r.shop_id, (r.shop_id, None))[0],
                              _figures(r), extra=r.platform,
                              fee_bp=info.get(r.shop_id, ("", None))[1])
                          for r in _grouped(conn, f, sku_list, "shop_id", "platform")),
                         key=lambda r: (-r.figures.profit_fen, r.key))
    by_sku = sorted(((str(r.sku), _figures(r)) for r in _grouped(conn, f, sku_list, "sku",
                                                                 monthly=monthly)),
                    key=lambda kv: (-kv[1].profit_fen, kv[0]))[:SKU_LIMIT]
    names = _names(conn, [s for s, _ in by_sku])
    out.by_sku = [Row(s, names.get(s, ("", ""))[0] or s, figs, extra=names.get(s, ("", ""))[1])
                  for s, figs in by_sku]
    # without a SKU filter the totals' order count is the orders' (one per order, its day)
    out.orders, out.orders_total = _orders(
        conn, f, sku_list, out.totals.orders if sku_list is None else None)
    return out


def _names(conn: Connection, codes: Sequence[str]) -> dict[str, tuple[str, str]]:
    if not codes:
        return {}
    return {r.sku: (r.name_zh, r.category or "") for r in conn.execute(
        sa.select(skus.c.sku, skus.c.name_zh, skus.c.category).where(skus.c.sku.in_(codes)))}
