"""The sales report (销售报表): GMV, orders, units, 客单价 and refunds for a date range, by
period (day, week, month, quarter), shop, platform, SKU and buyer province, with the change
against the period before; best sellers and slow movers (滞销).

Read from the summaries (``sales_daily``, ``sales_daily_sku``; see
:mod:`cloud.reports.summaries` for what counts and on which day), never from order lines.
With a SKU or category filter the figures come from ``sales_daily_sku``: "orders" is then
orders containing those SKUs, refunds (not per SKU) and provinces are not shown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud.db.engine import in_chunks
from cloud.db.schema import shops, skus, stock_balances
from cloud.db.schema_reports import (
    sales_daily,
    sales_daily_city,
    sales_daily_sku,
    sales_monthly_geo_sku,
    sales_monthly_sku,
)
from cloud.errors import InputError, Problem

PERIODS: Final = ("day", "week", "month", "quarter")
"""How the series is bucketed."""
MAX_DAYS: Final = 366 * 3
"""Longest range a report covers (three years of days)."""
TOP_SKUS: Final = 20
"""Best sellers shown."""
TOP_CITIES: Final = 50
"""Cities shown."""
SLOW_DAYS: Final = 30
"""A SKU on hand with no sale in this many days (up to the range's end) is slow (滞销)."""
MAX_SLOW_DAYS: Final = 365
"""Longest "no sale in N days" asked."""
SLOW_LIMIT: Final = 200
"""Slow movers listed at most."""
PERCENT: Final = 100
"""Fractions are shown as percentages."""


@dataclass(frozen=True, slots=True)
class Filters:
    """What the report covers: days ``start``..``end`` (inclusive, CST) and optional filters."""

    start: date
    end: date
    period: str = "day"
    shop_id: str = ""
    platform: str = ""
    sku: str = ""
    category: str = ""
    slow_days: int = SLOW_DAYS
    province: str = ""
    """Buyers of one province only (not with a SKU or category: the SKU tables have no
    province)."""

    @property
    def by_sku(self) -> bool:
        """Whether the figures come from the per-SKU summary."""
        return bool(self.sku or self.category)

    def previous(self) -> Filters:
        """The same filters over the same number of days just before."""
        span = (self.end - self.start).days + 1
        return Filters(self.start - timedelta(days=span), self.start - timedelta(days=1),
                       self.period, self.shop_id, self.platform, self.sku, self.category,
                       self.slow_days, self.province)


@dataclass(slots=True)
class Figures:
    """Orders, units, GMV and refunds (fen) of one row of the report."""

    orders: int = 0
    units: int = 0
    gmv_fen: int = 0
    refund_fen: int = 0

    @property
    def aov_fen(self) -> int:
        """客单价: GMV per order, rounded to the fen (0 without orders)."""
        return round(self.gmv_fen / self.orders) if self.orders else 0

    @property
    def net_fen(self) -> int:
        """GMV less refunds."""
        return self.gmv_fen - self.refund_fen

    def add(self, orders: int, units: int, gmv_fen: int, refund_fen: int = 0) -> None:
        """Add a summary row's measures."""
        self.orders += orders
        self.units += units
        self.gmv_fen += gmv_fen
        self.refund_fen += refund_fen


@dataclass(frozen=True, slots=True)
class Row:
    """A labelled row: a period, shop, platform, SKU or province with its figures and, for
    the series, the change of GMV against the row before (``None``: nothing to compare)."""

    key: str
    label: str
    figures: Figures
    change: float | None = None
    extra: str = ""
    """SKU: its category; shop: its platform."""


@dataclass(frozen=True, slots=True)
class SlowMover:
    """A SKU on hand that did not sell in the last ``slow_days`` days of the range."""

    sku: str
    name: str
    on_hand: int
    last_sold: date | None


@dataclass(slots=True)
class SalesReport:
    """The whole report for :attr:`filters`."""

    filters: Filters
    totals: Figures
    previous: Figures
    series: list[Row] = field(default_factory=list)
    by_shop: list[Row] = field(default_factory=list)
    by_platform: list[Row] = field(default_factory=list)
    by_sku: list[Row] = field(default_factory=list)
    by_province: list[Row] = field(default_factory=list)
    by_city: list[Row] = field(default_factory=list)
    """Cities by GMV (key ``province|city``), at most :data:`TOP_CITIES`; not with a SKU."""
    where_sold: list[Row] = field(default_factory=list)
    """With a SKU or category: the provinces its buyers are in, over :attr:`geo_months`."""
    sold_there: list[Row] = field(default_factory=list)
    """With a province: its best sellers, over :attr:`geo_months` (instead of ``by_sku``)."""
    geo_months: tuple[date, date] | None = None
    """The whole months (first days) ``where_sold`` / ``sold_there`` cover: those tables are
    kept per month, so they cover the months the range touches."""
    slow: list[SlowMover] = field(default_factory=list)

    @property
    def gmv_change(self) -> float | None:
        """GMV against the period before, as a fraction (``None`` when that was 0)."""
        return change(self.totals.gmv_fen, self.previous.gmv_fen)

    @property
    def orders_change(self) -> float | None:
        """Orders against the period before."""
        return change(self.totals.orders, self.previous.orders)


def change(now: int, before: int) -> float | None:
    """``now`` against ``before`` as a fraction (0.25 = +25 %), ``None`` when ``before`` is 0."""
    return (now - before) / before if before else None


def bucket(day: date, period: str) -> tuple[str, date]:
    """The label and first day of the period ``day`` falls in."""
    if period == "week":
        first = day - timedelta(days=day.weekday())
        year, week, _ = first.isocalendar()
        return f"{year}-W{week:02d}", first
    if period == "month":
        return f"{day.year}-{day.month:02d}", day.replace(day=1)
    if period == "quarter":
        q = (day.month - 1) // 3
        return f"{day.year}-Q{q + 1}", date(day.year, q * 3 + 1, 1)
    return day.isoformat(), day


def range_problems(start: date, end: date) -> list[Problem]:
    """A date range the wrong way round, or longer than :data:`MAX_DAYS` (both ends count),
    as a problem next to ``to`` (the fulfilment and purchasing reports' check)."""
    if end < start:
        return [Problem("to", "结束日期早于开始日期", "the end is before the start")]
    if (end - start).days + 1 > MAX_DAYS:
        return [Problem("to", f"最长 {MAX_DAYS} 天", f"at most {MAX_DAYS} days")]
    return []


def check(f: Filters) -> None:
    """Problems with the filters, all at once (:class:`InputError`)."""
    problems: list[Problem] = []
    if f.end < f.start:
        problems.append(Problem("to", "结束日期不能早于开始日期", "the end is before the start"))
    elif (f.end - f.start).days >= MAX_DAYS:
        problems.append(Problem("to", "报表期间最长三年", "a report covers at most three years"))
    if f.period not in PERIODS:
        problems.append(Problem("period", "请选择周期", "choose a period"))
    if f.province and f.by_sku:
        problems.append(Problem("province", "省份不能与 SKU 或类目同时筛选 (选 SKU 时可看各省销量)",
                                "a province cannot be combined with a SKU or category (a SKU "
                                "shows its sales by province)"))
    if not 1 <= f.slow_days <= MAX_SLOW_DAYS:
        problems.append(Problem("slow_days", f"天数应为 1 到 {MAX_SLOW_DAYS}",
                                f"between 1 and {MAX_SLOW_DAYS} days"))
    if problems:
        raise InputError(problems)


def _sku_filter(conn: Connection, f: Filters) -> list[str] | None:
    """The SKUs the filter names (``None``: no SKU filter)."""
    if not f.by_sku:
        return None
    if f.sku:
        return [f.sku]
    return list(conn.execute(sa.select(skus.c.sku).where(skus.c.category == f.category))
                .scalars())


def _where(table: sa.Table, f: Filters, sku_list: list[str] | None
           ) -> list[sa.ColumnElement[bool]]:
    c = table.c
    out: list[sa.ColumnElement[bool]] = [c.day >= f.start, c.day <= f.end]
    if f.shop_id:
        out.append(c.shop_id == f.shop_id)
    if f.platform:
        out.append(c.platform == f.platform)
    if sku_list is not None:
        out.append(c.sku.in_(sku_list))
    if f.province and "province" in c:
        out.append(c.province == f.province)
    return out


def _grouped(conn: Connection, f: Filters, sku_list: list[str] | None,
             *group: str) -> list[Any]:
    """Σ measures grouped by ``group`` columns over the filtered summary rows."""
    table = sales_daily_sku if sku_list is not None else sales_daily
    c = table.c
    refunds = (sa.func.sum(c.refund_fen) if table is sales_daily
               else sa.literal(0, sa.BigInteger()))
    q = (sa.select(*(c[g] for g in group), sa.func.sum(c.orders).label("orders"),
                   sa.func.sum(c.units).label("units"), sa.func.sum(c.gmv_fen).label("gmv"),
                   refunds.label("refund"))
         .where(*_where(table, f, sku_list)))
    if group:
        q = q.group_by(*(c[g] for g in group))
    return list(conn.execute(q).all())


def by_day(conn: Connection, f: Filters) -> list[tuple[date, Figures]]:
    """Orders, units, GMV and refunds per day over the filters (days with any)."""
    return sorted((r.day, _figures(r)) for r in _grouped(conn, f, _sku_filter(conn, f), "day"))


def _figures(r: Any) -> Figures:
    return Figures(int(r.orders or 0), int(r.units or 0), int(r.gmv or 0), int(r.refund or 0))


def totals(conn: Connection, f: Filters) -> Figures:
    """Orders, units, GMV and refunds over the filters."""
    rows = _grouped(conn, f, _sku_filter(conn, f))
    return _figures(rows[0]) if rows else Figures()


def _ranked(rows: Iterable[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: (-r.figures.gmv_fen, -r.figures.units, r.key))


def report(conn: Connection, f: Filters) -> SalesReport:
    """The sales report for the filters (checked first)."""
    check(f)
    sku_list = _sku_filter(conn, f)
    out = SalesReport(f, totals(conn, f), totals(conn, f.previous()))
    buckets: dict[str, tuple[date, Figures]] = {}
    for r in _grouped(conn, f, sku_list, "day"):
        label, first = bucket(r.day, f.period)
        buckets.setdefault(label, (first, Figures()))[1].add(
            int(r.orders), int(r.units), int(r.gmv), int(r.refund))
    before: Figures | None = None
    for label, (_first, figs) in sorted(buckets.items(), key=lambda kv: kv[1][0]):
        out.series.append(Row(label, label, figs,
                              change(figs.gmv_fen, before.gmv_fen) if before else None))
        before = figs
    names = dict(conn.execute(sa.select(shops.c.id, shops.c.name)).all())
    out.by_shop = _ranked(Row(r.shop_id, names.get(r.shop_id, r.shop_id), _figures(r),
                              extra=r.platform)
                          for r in _grouped(conn, f, sku_list, "shop_id", "platform"))
    platforms: dict[str, Figures] = defaultdict(Figures)
    for row in out.by_shop:
        fig = row.figures
        platforms[row.extra].add(fig.orders, fig.units, fig.gmv_fen, fig.refund_fen)
    out.by_platform = _ranked(Row(p, p, fig) for p, fig in platforms.items())
    top = _ranked(Row(s, s, fig) for s, fig in sku_sums(conn, f, sku_list).items())[:TOP_SKUS]
    info = _sku_info(conn, [r.key for r in top])
    out.by_sku = [Row(r.key, info.get(r.key, ("", ""))[0] or r.key, r.figures,
                      extra=info.get(r.key, ("", ""))[1]) for r in top]
    if sku_list is None:
        out.by_province = _ranked(Row(r.province, r.province, _figures(r))
                                  for r in _grouped(conn, f, None, "province"))
        out.by_city = by_city(conn, f)
    out.geo_months = (f.start.replace(day=1), f.end.replace(day=1))
    if sku_list is not None:
        out.where_sold = _ranked(Row(p, p, fig) for p, fig in _geo(conn, f, sku_list,
                                                                    "province").items())
    elif f.province:
        top = _ranked(Row(s, s, fig) for s, fig in _geo(conn, f, None, "sku").items())
        info = _sku_info(conn, [r.key for r in top[:TOP_SKUS]])
        out.sold_there = [Row(r.key, info.get(r.key, ("", ""))[0] or r.key, r.figures,
                              extra=info.get(r.key, ("", ""))[1]) for r in top[:TOP_SKUS]]
        out.by_sku = []
    out.slow = slow_movers(conn, f)
    return out


def by_city(conn: Connection, f: Filters) -> list[Row]:
    """Orders, units and GMV per buyer city over the filters (not per SKU), best first, at
    most :data:`TOP_CITIES`; key ``province|city``, label "province city"."""
    c = sales_daily_city.c
    q = (sa.select(c.province, c.city, sa.func.sum(c.orders).label("orders"),
                   sa.func.sum(c.units).label("units"), sa.func.sum(c.gmv_fen).label("gmv"),
                   sa.literal(0, sa.BigInteger()).label("refund"))
         .where(*_where(sales_daily_city, f, None)).group_by(c.province, c.city))
    rows = _ranked(Row(f"{r.province}|{r.city}", f"{r.province} {r.city}".strip(),
                       _figures(r)) for r in conn.execute(q))
    return rows[:TOP_CITIES]


def _geo(conn: Connection, f: Filters, sku_list: list[str] | None,
         by: str) -> dict[str, Figures]:
    """Orders, units and GMV per ``by`` (province or sku) from the province × SKU table over
    the whole months the range touches, with the shop, platform, SKU and province filters."""
    out: dict[str, Figures] = defaultdict(Figures)
    _sum_into(out, conn, sales_monthly_geo_sku, by, "month",
              (f.start.replace(day=1), f.end.replace(day=1)), f, sku_list)
    return dict(out)


def _sum_into(out: dict[str, Figures], conn: Connection, table: sa.Table, by: str, when: str,
              span: tuple[date, date], f: Filters, sku_list: list[str] | None) -> None:
    """Add a summary table's orders, units and GMV per ``by`` over ``span`` (inclusive, in
    its ``when`` column) to ``out``, with the shop, platform, province (where the table has
    one) and SKU filters — the SKU ids a chunk at a time."""
    c = table.c
    q = (sa.select(c[by], sa.func.sum(c.orders), sa.func.sum(c.units), sa.func.sum(c.gmv_fen))
         .where(c[when] >= span[0], c[when] <= span[1]).group_by(c[by]))
    if f.shop_id:
        q = q.where(c.shop_id == f.shop_id)
    if f.platform:
        q = q.where(c.platform == f.platform)
    if f.province and "province" in c:
        q = q.where(c.province == f.province)
    for chunk in ([None] if sku_list is None else list(in_chunks(sku_list)) or [[]]):
        qq = q if chunk is None else q.where(c.sku.in_(chunk))
        for key, orders, units, gmv in conn.execute(qq):
            out[key].add(int(orders or 0), int(units or 0), int(gmv or 0))


def month_split(start: date, end: date) -> tuple[list[tuple[date, date]], tuple[date, date] | None]:
    """``start``..``end`` as the day ranges to read per day (the partial months at either
    end) and the whole months in between (first days of the first and last), if any."""
    first = start if start.day == 1 else (start.replace(day=1) + timedelta(days=32)).replace(day=1)
    after = end + timedelta(days=1)
    last = after.replace(day=1) - timedelta(days=1) if after.day != 1 else end
    if first > last:
        return [(start, end)], None
    days = [(a, b) for a, b in ((start, first - timedelta(days=1)),
                                (last + timedelta(days=1), end)) if a <= b]
    return days, (first, last.replace(day=1))


def sku_sums(conn: Connection, f: Filters, sku_list: list[str] | None,
             start: date | None = None) -> dict[str, Figures]:
    """Orders, units and GMV per SKU over the filters (from ``start`` instead of the range's
    start when given): whole months from ``sales_monthly_sku``, the rest per day."""
    days, months = month_split(start or f.start, f.end)
    out: dict[str, Figures] = defaultdict(Figures)
    for span in days:
        _sum_into(out, conn, sales_daily_sku, "sku", "day", span, f, sku_list)
    if months is not None:
        _sum_into(out, conn, sales_monthly_sku, "sku", "month", months, f, sku_list)
    return dict(out)


def _sku_info(conn: Connection, sku_ids: list[str]) -> dict[str, tuple[str, str]]:
    if not sku_ids:
        return {}
    return {r.sku: (r.name_zh, r.category or "") for r in conn.execute(
        sa.select(skus.c.sku, skus.c.name_zh, skus.c.category).where(skus.c.sku.in_(sku_ids)))}


def slow_movers(conn: Connection, f: Filters) -> list[SlowMover]:
    """SKUs with stock on hand (every warehouse) and no sale in the ``slow_days`` days up to
    the range's end (in the filtered shop/platform), longest unsold first."""
    b = stock_balances.c
    on_hand = {s: int(q) for s, q in conn.execute(
        sa.select(b.sku, sa.func.sum(b.qty)).group_by(b.sku).having(sa.func.sum(b.qty) > 0))}
    if f.by_sku:
        wanted = set(_sku_filter(conn, f) or [])
        on_hand = {s: q for s, q in on_hand.items() if s in wanted}
    if not on_hand:
        return []
    since = f.end - timedelta(days=f.slow_days - 1)
    sold = {s for s, fig in sku_sums(conn, f, None, start=since).items() if fig.units > 0}
    slow = [s for s in on_hand if s not in sold]
    c = sales_daily_sku.c
    last: dict[str, date] = {}
    for chunk in in_chunks(slow):
        q = sa.select(c.sku, sa.func.max(c.day)).where(c.day <= f.end, c.sku.in_(chunk))
        if f.shop_id:
            q = q.where(c.shop_id == f.shop_id)
        if f.platform:
            q = q.where(c.platform == f.platform)
        last.update(conn.execute(q.group_by(c.sku)).all())
    info = _sku_info(conn, slow)
    out = [SlowMover(s, info.get(s, (s, ""))[0], on_hand[s], last.get(s)) for s in slow]
    out.sort(key=lambda m: (m.last_sold or date.min, -m.on_hand, m.sku))
    return out[:SLOW_LIMIT]
