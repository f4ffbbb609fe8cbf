"""每日概况 (daily summary): the page a manager opens first — for one China Standard Time
day (yesterday by default): orders and sales, parcels shipped, orders that missed their
ship-by deadline, exceptions, and SKUs below their safety stock.

Sales come from the summaries (``sales_daily``); shipped and late from the stations'
shipments (``station_shipments``) and the platform's ship-by deadlines (``orders.ship_by``);
station alerts raised that day; open order exceptions and low stock are as they are when the
summary is made (neither keeps a history).

Each day's summary is kept (:func:`keep`, table ``daily_summaries``): the worker makes it at
its first pass after the day ended (China time), so a past day shows its exceptions and low
stock as they stood that night, not as they are when someone looks. A day not kept (today,
or before the worker ran) is computed when asked, and the page says which it shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from cloud.config import DISPLAY_TZ
from cloud.db.schema import (
    sku_safety_stock,
    skus,
    station_alerts,
    station_shipments,
    stock_balances,
)
from cloud.db.schema_orders import orders
from cloud.db.schema_reports import daily_summaries, sales_daily
from cloud.reports.sales import Figures

LIST_LIMIT: Final = 200
"""Late orders and low-stock rows listed at most (the counts are exact)."""


@dataclass(frozen=True, slots=True)
class LateOrder:
    """An order whose ship-by deadline fell on the day and which was not shipped by then."""

    order_id: str
    shop_id: str
    ship_by: datetime
    shipped_at: datetime | None
    state: str


@dataclass(frozen=True, slots=True)
class LowStock:
    """A SKU in a warehouse with less on hand than its safety stock."""

    warehouse_id: str
    sku: str
    name: str
    on_hand: int
    safety: int


@dataclass(slots=True)
class DailySummary:
    """Everything on the page for :attr:`day`."""

    day: date
    sales: Figures
    parcels: int = 0
    shipped_orders: int = 0
    late_count: int = 0
    late: list[LateOrder] = field(default_factory=list)
    exceptions: dict[str, int] = field(default_factory=dict)
    """Open order exceptions now, by code."""
    alerts: dict[str, int] = field(default_factory=dict)
    """Station alerts raised on the day, by kind."""
    low_stock: list[LowStock] = field(default_factory=list)
    kept_at: datetime | None = None
    """When this summary was kept (None: computed now, not a kept one)."""


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants a China Standard Time day starts and ends (exclusive)."""
    start = datetime.combine(day, time(0), DISPLAY_TZ).astimezone(UTC)
    return start, start + timedelta(days=1)


def summary(conn: Connection, day: date) -> DailySummary:
    """The daily summary of ``day``."""
    lo, hi = day_bounds(day)
    s = sales_daily.c
    r = conn.execute(sa.select(sa.func.sum(s.orders), sa.func.sum(s.units),
                               sa.func.sum(s.gmv_fen), sa.func.sum(s.refund_fen))
                     .where(s.day == day)).one()
    out = DailySummary(day, Figures(*(int(v or 0) for v in r)))
    sh = station_shipments.c
    parcels, shipped = conn.execute(sa.select(
        sa.func.count(), sa.func.count(sa.distinct(sh.order_id))).where(
        sh.shipped_at >= lo, sh.shipped_at < hi)).one()
    out.parcels, out.shipped_orders = int(parcels), int(shipped)
    o = orders.c
    first_ship = (sa.select(sa.func.min(sh.shipped_at)).where(sh.order_id == o.id)
                  .correlate(orders).scalar_subquery())  # by the order_id index
    late_q = (sa.select(o.id, o.shop_id, o.ship_by, o.state, first_ship.label("at"))
              .where(o.ship_by >= lo, o.ship_by < hi, o.state != "cancelled")
              .subquery())
    late = conn.execute(sa.select(late_q).where(sa.or_(
        late_q.c.at > late_q.c.ship_by, sa.and_(late_q.c.at.is_(None), late_q.c.state != "shipped")))
        .order_by(late_q.c.ship_by, late_q.c.id)).all()
    out.late_count = len(late)
    out.late = [LateOrder(x.id, x.shop_id, x.ship_by, x.at, x.state) for x in late[:LIST_LIMIT]]
    out.exceptions = {str(code or ""): int(n) for code, n in conn.execute(
        sa.select(o.exception_code, sa.func.count()).where(o.state == "exception")
        .group_by(o.exception_code).order_by(o.exception_code))}
    a = station_alerts.c
    out.alerts = {str(kind): int(n) for kind, n in conn.execute(
        sa.select(a.kind, sa.func.count()).where(a.raised_at >= lo, a.raised_at < hi)
        .group_by(a.kind).order_by(a.kind))}
    out.low_stock = low_stock(conn)
    return out


def low_stock(conn: Connection) -> list[LowStock]:
    """SKUs below their safety stock in a warehouse now, furthest below first."""
    b, ss = stock_balances.c, sku_safety_stock.c
    on_hand = (sa.select(b.warehouse_id, b.sku, sa.func.sum(b.qty).label("qty"))
               .group_by(b.warehouse_id, b.sku).subquery())
    qty = sa.func.coalesce(on_hand.c.qty, 0)
    rows = conn.execute(
        sa.select(ss.warehouse_id, ss.sku, skus.c.name_zh, qty.label("on_hand"),
                  ss.qty.label("safety"))
        .select_from(sku_safety_stock.join(skus, skus.c.sku == ss.sku).outerjoin(
            on_hand, sa.and_(on_hand.c.warehouse_id == ss.warehouse_id,
                             on_hand.c.sku == ss.sku)))
        .where(qty < ss.qty)
        .order_by((qty - ss.qty), ss.warehouse_id, ss.sku).limit(LIST_LIMIT)).all()
    return [LowStock(r.warehouse_id, r.sku, r.name_zh, int(r.on_hand), int(r.safety))
            for r in rows]


def _to_json(d: DailySummary) -> dict[str, Any]:
    def when(at: datetime | None) -> str | None:
        return None if at is None else at.isoformat()

    return {"sales": [d.sales.orders, d.sales.units, d.sales.gmv_fen, d.sales.refund_fen],
            "parcels": d.parcels, "shipped_orders": d.shipped_orders,
            "late_count": d.late_count,
            "late": [[x.order_id, x.shop_id, when(x.ship_by), when(x.shipped_at), x.state]
                     for x in d.late],
            "exceptions": d.exceptions, "alerts": d.alerts,
            "low_stock": [[x.warehouse_id, x.sku, x.name, x.on_hand, x.safety]
                          for x in d.low_stock]}


def _from_json(day: date, data: dict[str, Any], kept_at: datetime) -> DailySummary:
    def when(text: str | None) -> datetime | None:
        return None if text is None else datetime.fromisoformat(text)

    return DailySummary(
        day, Figures(*(int(v) for v in data["sales"])), int(data["parcels"]),
        int(data["shipped_orders"]), int(data["late_count"]),
        [LateOrder(o, s, when(b) or datetime.min.replace(tzinfo=UTC), when(at), st)
         for o, s, b, at, st in data["late"]],
        {str(k): int(v) for k, v in data["exceptions"].items()},
        {str(k): int(v) for k, v in data["alerts"].items()},
        [LowStock(w, k, n, int(h), int(s)) for w, k, n, h, s in data["low_stock"]],
        kept_at)


def keep(conn: Connection, day: date, *, now: datetime) -> bool:
    """Keep the summary of ``day`` unless it is kept already (several workers may try at
    once: the first one wins); returns whether this call kept it."""
    if conn.execute(sa.select(daily_summaries.c.day).where(
            daily_summaries.c.day == day)).first() is not None:
        return False
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    done = conn.execute(insert(daily_summaries).values(
        day=day, data=_to_json(summary(conn, day)), made_at=now)
        .on_conflict_do_nothing().returning(daily_summaries.c.day)).first()
    return done is not None


def kept_or_now(conn: Connection, day: date) -> DailySummary:
    """The kept summary of ``day``, else the summary computed now."""
    row = conn.execute(sa.select(daily_summaries.c.data, daily_summaries.c.made_at).where(
        daily_summaries.c.day == day)).first()
    if row is None:
        return summary(conn, day)
    return _from_json(day, dict(row.data), row.made_at)
