"""发货绩效 (fulfilment and packers report): what the stations shipped over a range of China
Standard Time days, per packer and per station, from the stations' own events.

* **parcels** are ``station_shipments`` rows shipped in the range; **orders** the distinct
  orders among them (a split order's second parcel is an order of its own);
* **hours** are the packer's time signed in at the kiosk (``station_sign_ins``): a shift
  runs from a sign-in to the station's next sign-in or sign-out, at most
  :data:`SHIFT_CAP`; a shift never closed (the kiosk lost power) ends at the operator's last
  parcel in it. Only the part inside the range counts. **Parcels per hour** = parcels ÷
  hours (none without hours);
* **pack seconds** are the stations' own measure from the first scan to the ship; the
  average is over the parcels that carry one;
* **wrong scans** are the items scanned that were not in the order (refused at the kiosk),
  **reweighed** the parcels weighed more than once (a weight out of tolerance first),
  **overrides** the parcels a lead let ship outside the tolerance;
* **reprints** are label prints after the first (``station_label_prints.n`` > 1) made in
  the range, with the operator who printed;
* **late** are parcels shipped after their order's platform ship-by deadline;
* parcels by **courier and weight band** (:data:`WEIGHT_BANDS`), ``—`` for no weight.

The station and courier filters apply to every figure that has them (a label print and a
shift carry no courier). Per-day counts are grouped by the database in China Standard Time
(UTC+8 all year), so a year's range reads a few hundred rows, not every shipment.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud.db.schema import (
    station_label_prints,
    station_operators,
    station_shipments,
    station_sign_ins,
)
from cloud.db.schema_orders import orders
from cloud.errors import InputError, Problem
from cloud.payables import day_start
from cloud.reports.sales import MAX_DAYS, PERIODS, bucket

SHIFT_CAP: Final = timedelta(hours=12)
"""Longest a shift counts: a kiosk left signed in overnight is not a night's work."""
WEIGHT_BANDS: Final = (500, 1000, 2000, 3000, 5000, 10000)
"""Upper bounds (grams, inclusive) of the weight bands; heavier parcels fall in the last
band, "over 10 kg"."""
SECONDS_PER_HOUR: Final = 3600
"""Seconds in an hour."""
CST_OFFSET_HOURS: Final = 8
"""China Standard Time is UTC+8 all year (no daylight saving)."""


@dataclass(frozen=True, slots=True)
class Filters:
    """What the report covers: China Standard Time days ``start``..``end`` (inclusive), one
    station or all, one courier (carrier code) or all, and the period of the series."""

    start: date
    end: date
    station: str = ""
    carrier: str = ""
    period: str = "day"


@dataclass(slots=True)
class Figures:
    """One packer's (or station's, or the whole range's) figures."""

    key: str
    name: str = ""
    parcels: int = 0
    orders: int = 0
    seconds_signed_in: float = 0.0
    pack_seconds: float = 0.0
    timed_parcels: int = 0
    wrong_scans: int = 0
    reweighed: int = 0
    overrides: int = 0
    reprints: int = 0
    late: int = 0

    @property
    def hours(self) -> float:
        """Hours signed in, one decimal."""
        return round(self.seconds_signed_in / SECONDS_PER_HOUR, 1)

    @property
    def per_hour(self) -> float | None:
        """Parcels per hour signed in (None: no time signed in)."""
        if self.seconds_signed_in <= 0:
            return None
        return round(self.parcels * SECONDS_PER_HOUR / self.seconds_signed_in, 1)

    @property
    def avg_pack_seconds(self) -> float | None:
        """Average seconds from first scan to ship (None: no parcel carried one)."""
        if self.timed_parcels == 0:
            return None
        return round(self.pack_seconds / self.timed_parcels, 1)


@dataclass(frozen=True, slots=True)
class BandRow:
    """Parcels of one courier in one weight band."""

    carrier: str
    band: str
    parcels: int


@dataclass(frozen=True, slots=True)
class PeriodRow:
    """Parcels, orders and late parcels in one period of the series."""

    label: str
    first_day: date
    parcels: int
    late: int


@dataclass(slots=True)
class FulfilmentReport:
    """The report for :attr:`filters`."""

    filters: Filters
    total: Figures
    packers: list[Figures] = field(default_factory=list)
    stations: list[Figures] = field(default_factory=list)
    bands: list[BandRow] = field(default_factory=list)
    series: list[PeriodRow] = field(default_factory=list)


def check(f: Filters) -> None:
    """Refuse a range the wrong way round or too long, or an unknown period."""
    problems: list[Problem] = []
    if f.end < f.start:
        problems.append(Problem("to", "结束日期早于开始日期", "the end is before the start"))
    elif (f.end - f.start).days + 1 > MAX_DAYS:
        problems.append(Problem("to", f"最长 {MAX_DAYS} 天", f"at most {MAX_DAYS} days"))
    if f.period not in PERIODS:
        problems.append(Problem("period", "请选择周期", "choose a period"))
    if problems:
        raise InputError(problems)


def band_of(grams: int | None) -> str:
    """The weight band a parcel falls in: ``≤500g`` … ``>10kg``; ``—`` without a weight."""
    if grams is None:
        return "—"
    for bound in WEIGHT_BANDS:
        if grams <= bound:
            return f"≤{_show_grams(bound)}"
    return f">{_show_grams(WEIGHT_BANDS[-1])}"


def _show_grams(grams: int) -> str:
    if grams % 1000:
        return f"{grams}g"
    return f"{grams // 1000}kg"


def _band_order(band: str) -> int:
    labels = [f"≤{_show_grams(b)}" for b in WEIGHT_BANDS] + [f">{_show_grams(WEIGHT_BANDS[-1])}"]
    return labels.index(band) if band in labels else len(labels)


def _cst_day(conn: Connection, column: Any) -> Any:
    """The China Standard Time day of a UTC timestamp column, computed by the database."""
    if conn.dialect.name == "postgresql":
        return sa.cast(sa.func.timezone("Asia/Shanghai", column), sa.Date)
    return sa.func.date(column, f"+{CST_OFFSET_HOURS} hours")


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def report(conn: Connection, f: Filters) -> FulfilmentReport:
    """The fulfilment report of ``f`` (checked with :func:`check` first)."""
    check(f)
    lo, hi = day_start(f.start), day_start(f.end + timedelta(days=1))
    sh, o = station_shipments.c, orders.c
    where = [sh.shipped_at >= lo, sh.shipped_at < hi]
    if f.station:
        where.append(sh.station_id == f.station)
    if f.carrier:
        where.append(sh.carrier == f.carrier)
    late = sa.case((sa.and_(o.ship_by.is_not(None), sh.shipped_at > o.ship_by), 1), else_=0)
    reweighed = sa.case((sh.weighings > 1, 1), else_=0)
    timed = sa.case((sh.pack_seconds.is_not(None), 1), else_=0)
    measures = (sa.func.count().label("parcels"),
                sa.func.count(sa.distinct(sh.order_id)).label("orders"),
                sa.func.coalesce(sa.func.sum(sh.pack_seconds), 0.0).label("pack_seconds"),
                sa.func.coalesce(sa.func.sum(timed), 0).label("timed"),
                sa.func.coalesce(sa.func.sum(sh.rejected_scans), 0).label("wrong"),
                sa.func.coalesce(sa.func.sum(reweighed), 0).label("reweighed"),
                sa.func.coalesce(sa.func.sum(sh.weight_overrides), 0).label("overrides"),
                sa.func.coalesce(sa.func.sum(late), 0).label("late"))
    source = station_shipments.outerjoin(orders, o.id == sh.order_id)

    def grouped(column: Any) -> dict[str, Figures]:
        out: dict[str, Figures] = {}
        for r in conn.execute(sa.select(column.label("key"), *measures).select_from(source)
                              .where(*where).group_by(column)):
            out[str(r.key)] = Figures(
                str(r.key), parcels=int(r.parcels), orders=int(r.orders),
                pack_seconds=float(r.pack_seconds), timed_parcels=int(r.timed),
                wrong_scans=int(r.wrong), reweighed=int(r.reweighed),
                overrides=int(r.overrides), late=int(r.late))
        return out

    packers, stations = grouped(sh.operator_id), grouped(sh.station_id)
    total_row = conn.execute(sa.select(*measures).select_from(source).where(*where)).one()
    total = Figures("", parcels=int(total_row.parcels), orders=int(total_row.orders),
                    pack_seconds=float(total_row.pack_seconds),
                    timed_parcels=int(total_row.timed), wrong_scans=int(total_row.wrong),
                    reweighed=int(total_row.reweighed), overrides=int(total_row.overrides),
                    late=int(total_row.late))
    _add_reprints(conn, f, lo, hi, packers, stations, total)
    _add_shifts(conn, f, lo, hi, packers, stations, total)
    names = dict(conn.execute(sa.select(station_operators.c.id, station_operators.c.name)).all())
    for p in packers.values():
        p.name = str(names.get(p.key, ""))
    rep = FulfilmentReport(f, total,
                           sorted(packers.values(), key=lambda x: (-x.parcels, x.key)),
                           sorted(stations.values(), key=lambda x: x.key))
    rep.bands = _bands(conn, where)
    rep.series = _series(conn, f, where, source, late)
    return rep


def _add_reprints(conn: Connection, f: Filters, lo: datetime, hi: datetime,
                  packers: dict[str, Figures], stations: dict[str, Figures],
                  total: Figures) -> None:
    """Label prints after the first, by who printed and where (a print has no courier, so
    the courier filter leaves them out entirely)."""
    if f.carrier:
        return
    lp = station_label_prints.c
    q = (sa.select(lp.operator_id, lp.station_id, sa.func.count().label("n"))
         .where(lp.printed_at >= lo, lp.printed_at < hi, lp.n > 1)
         .group_by(lp.operator_id, lp.station_id))
    if f.station:
        q = q.where(lp.station_id == f.station)
    for r in conn.execute(q):
        n = int(r.n)
        packers.setdefault(r.operator_id, Figures(r.operator_id)).reprints += n
        stations.setdefault(r.station_id, Figures(r.station_id)).reprints += n
        total.reprints += n


def _add_shifts(conn: Connection, f: Filters, lo: datetime, hi: datetime,
                packers: dict[str, Figures], stations: dict[str, Figures],
                total: Figures) -> None:
    """Time signed in, clipped to the range (see the module's notes)."""
    si = station_sign_ins.c
    q = (sa.select(si.station_id, si.operator_id, si.event, si.at)
         .where(si.at >= lo - SHIFT_CAP, si.at < hi + SHIFT_CAP)
         .order_by(si.station_id, si.at, si.msg_id))
    if f.station:
        q = q.where(si.station_id == f.station)
    by_station: dict[str, list[Any]] = defaultdict(list)
    for r in conn.execute(q):
        by_station[r.station_id].append(r)
    for station_id, events in by_station.items():
        for n, ev in enumerate(events):
            if ev.event != "sign_in":
                continue
            cap = ev.at + SHIFT_CAP
            if n + 1 < len(events):
                end = min(events[n + 1].at, cap)
            else:
                end = _last_parcel(conn, station_id, ev.operator_id, ev.at, cap) or ev.at
            seconds = (min(end, hi) - max(ev.at, lo)).total_seconds()
            if seconds <= 0:
                continue
            packers.setdefault(ev.operator_id, Figures(ev.operator_id)).seconds_signed_in += seconds
            stations.setdefault(station_id, Figures(station_id)).seconds_signed_in += seconds
            total.seconds_signed_in += seconds


def _last_parcel(conn: Connection, station_id: str, operator_id: str, start: datetime,
                 cap: datetime) -> datetime | None:
    """When the operator last shipped at the station in [start, cap] (an open shift's end)."""
    sh = station_shipments.c
    at = conn.execute(sa.select(sa.func.max(sh.shipped_at)).where(
        sh.station_id == station_id, sh.operator_id == operator_id,
        sh.shipped_at >= start, sh.shipped_at <= cap)).scalar()
    if at is None:
        return None
    return at if isinstance(at, datetime) else None


def _bands(conn: Connection, where: list[Any]) -> list[BandRow]:
    """Parcels per courier and weight band; the bands are grouped by the database."""
    sh = station_shipments.c
    band = sa.case(*((sh.weight_g <= bound, i) for i, bound in enumerate(WEIGHT_BANDS)),
                   (sh.weight_g.is_(None), -1), else_=len(WEIGHT_BANDS))
    rows = conn.execute(sa.select(sh.carrier, band.label("band"), sa.func.count().label("n"))
                        .where(*where).group_by(sh.carrier, band)).all()
    labels = [f"≤{_show_grams(b)}" for b in WEIGHT_BANDS] + [f">{_show_grams(WEIGHT_BANDS[-1])}"]
    out = [BandRow(str(r.carrier), "—" if r.band == -1 else labels[int(r.band)], int(r.n))
           for r in rows]
    return sorted(out, key=lambda b: (b.carrier, _band_order(b.band)))


def _series(conn: Connection, f: Filters, where: list[Any], source: Any,
            late: Any) -> list[PeriodRow]:
    """Parcels and late parcels per period (days grouped by the database, then bucketed)."""
    sh = station_shipments.c
    day = _cst_day(conn, sh.shipped_at)
    per: dict[tuple[str, date], list[int]] = {}
    for r in conn.execute(sa.select(day.label("day"), sa.func.count().label("n"),
                                    sa.func.coalesce(sa.func.sum(late), 0).label("late"))
                          .select_from(source).where(*where).group_by(day)):
        key = bucket(_as_date(r.day), f.period)
        got = per.setdefault(key, [0, 0])
        got[0] += int(r.n)
        got[1] += int(r.late)
    return [PeriodRow(label, first, v[0], v[1])
            for (label, first), v in sorted(per.items(), key=lambda kv: kv[0][1])]
