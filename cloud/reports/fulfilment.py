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
shift carry no courier).

Scale: the report reads summaries (``fulfil_daily``, ``fulfil_bands``), kept in the
transaction that stores each shipment and label print (:func:`on_shipment`,
:func:`on_label_print`), so a year reads tens of thousands of summary rows rather than every
parcel. A parcel is booked on the day it shipped whenever it arrives; an order counts once,
on its first parcel (earliest ship), even when its parcels arrive out of order; late is
judged against the ship-by deadline known when the parcel arrived. :func:`rebuild`
recomputes both from the source tables (``packline-cloud reports rebuild``). Sign-ins are few
(two per shift) and are read per request.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from cloud.db.schema import (
    station_label_prints,
    station_operators,
    station_shipments,
    station_sign_ins,
)
from cloud.db.schema_orders import orders
from cloud.db.schema_reports import fulfil_bands, fulfil_daily
from cloud.errors import InputError, Problem
from cloud.payables import day_start, local_day
from cloud.reports.sales import PERIODS, bucket, range_problems

SHIFT_CAP: Final = timedelta(hours=12)
"""Longest a shift counts: a kiosk left signed in overnight is not a night's work."""
WEIGHT_BANDS: Final = (500, 1000, 2000, 3000, 5000, 10000)
"""Upper bounds (grams, inclusive) of the weight bands; heavier parcels fall in the last
band, "over 10 kg"."""
SECONDS_PER_HOUR: Final = 3600
"""Seconds in an hour."""
CST_OFFSET_HOURS: Final = 8
"""China Standard Time is UTC+8 all year (no daylight saving)."""
MS_PER_SECOND: Final = 1000
"""Pack time is summed in whole milliseconds (integers add up the same in any order)."""
REBUILD_BATCH: Final = 5000
"""Summary rows inserted per statement by :func:`rebuild`."""
DAILY_KEYS: Final = ("day", "station_id", "operator_id", "carrier")
"""Key columns of ``fulfil_daily``."""
DAILY_MEASURES: Final = ("parcels", "orders", "pack_ms", "timed", "wrong_scans", "reweighed",
                         "overrides", "late", "reprints")
"""Counters of ``fulfil_daily``."""
BAND_KEYS: Final = ("day", "station_id", "carrier", "band")
"""Key columns of ``fulfil_bands``."""


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
    problems = range_problems(f.start, f.end)
    if f.period not in PERIODS:
        problems.append(Problem("period", "请选择周期", "choose a period"))
    if problems:
        raise InputError(problems)


def _show_grams(grams: int) -> str:
    if grams % 1000:
        return f"{grams}g"
    return f"{grams // 1000}kg"


def _cst_day(conn: Connection, column: Any) -> Any:
    """The China Standard Time day of a UTC timestamp column, computed by the database."""
    if conn.dialect.name == "postgresql":
        return sa.cast(sa.func.timezone("Asia/Shanghai", column), sa.Date)
    return sa.func.date(column, f"+{CST_OFFSET_HOURS} hours")


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


# --------------------------------------------------------------------------- the summaries
def band_index(grams: int | None) -> int:
    """The ``fulfil_bands.band`` of a parcel: the first of :data:`WEIGHT_BANDS` it fits in,
    one past the end when heavier, −1 without a weight."""
    if grams is None:
        return -1
    for n, bound in enumerate(WEIGHT_BANDS):
        if grams <= bound:
            return n
    return len(WEIGHT_BANDS)


def _band_label(index: int) -> str:
    if index < 0:
        return "—"
    if index < len(WEIGHT_BANDS):
        return f"≤{_show_grams(WEIGHT_BANDS[index])}"
    return f">{_show_grams(WEIGHT_BANDS[-1])}"


DailyKey = tuple[date, str, str, str]
"""(CST day, station, operator, carrier) of a ``fulfil_daily`` row."""
BandKey = tuple[date, str, str, int]
"""(CST day, station, courier, band) of a ``fulfil_bands`` row."""


def _add(conn: Connection, table: sa.Table, key_cols: tuple[str, ...],
         deltas: dict[Any, dict[str, int]]) -> None:
    """Add each delta to its row (created when missing), in one lock order."""
    rows = [{**dict(zip(key_cols, key, strict=True)), **vec}
            for key, vec in sorted(deltas.items()) if any(vec.values())]
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    for row in rows:
        measures = [k for k in row if k not in key_cols]
        stmt = insert(table).values(**row)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=[table.c[k] for k in key_cols],
            set_={m: table.c[m] + stmt.excluded[m] for m in measures}))


def _first_parcel(conn: Connection, order_id: str, other_than: str) -> Any:
    """The order's first parcel among the stored ones but ``other_than`` (earliest ship,
    then message id), or None."""
    sh = station_shipments.c
    return conn.execute(sa.select(sh.msg_id, sh.station_id, sh.operator_id, sh.carrier,
                                  sh.shipped_at)
                        .where(sh.order_id == order_id, sh.msg_id != other_than)
                        .order_by(sh.shipped_at, sh.msg_id).limit(1)).first()


def on_shipment(conn: Connection, row: dict[str, Any]) -> None:
    """A new ``station_shipments`` row (just inserted, in the same transaction) adds to the
    summaries. It takes over its order's count when it shipped before the order's parcel
    counted so far (parcels may arrive in any order)."""
    day = local_day(row["shipped_at"])
    key: DailyKey = (day, row["station_id"], row["operator_id"], row["carrier"])
    o = orders.c
    ship_by = conn.execute(sa.select(o.ship_by).where(o.id == row["order_id"])).scalar()
    weighings, seconds = row.get("weighings"), row.get("pack_seconds")
    vec = {"parcels": 1, "orders": 0,
           "pack_ms": 0 if seconds is None else round(float(seconds) * MS_PER_SECOND),
           "timed": 0 if seconds is None else 1,
           "wrong_scans": int(row.get("rejected_scans") or 0),
           "reweighed": 1 if weighings is not None and weighings > 1 else 0,
           "overrides": int(row.get("weight_overrides") or 0),
           "late": 1 if ship_by is not None and row["shipped_at"] > ship_by else 0}
    deltas: dict[DailyKey, dict[str, int]] = {key: vec}
    first = _first_parcel(conn, row["order_id"], row["msg_id"])
    if first is None:
        vec["orders"] = 1
    elif (row["shipped_at"], row["msg_id"]) < (first.shipped_at, first.msg_id):
        vec["orders"] = 1
        other: DailyKey = (local_day(first.shipped_at), first.station_id, first.operator_id,
                           first.carrier)
        deltas.setdefault(other, {})["orders"] = deltas.get(other, {}).get("orders", 0) - 1
    _add(conn, fulfil_daily, DAILY_KEYS, deltas)
    band: BandKey = (day, row["station_id"], row["carrier"], band_index(row.get("weight_g")))
    _add(conn, fulfil_bands, BAND_KEYS, {band: {"parcels": 1}})


def on_label_print(conn: Connection, row: dict[str, Any]) -> None:
    """A new ``station_label_prints`` row: a print after the first is a reprint."""
    if int(row["n"]) <= 1:
        return
    _add(conn, fulfil_daily, DAILY_KEYS, {
        (local_day(row["printed_at"]), row["station_id"], row["operator_id"], ""):
        {"reprints": 1}})


def rebuild(conn: Connection) -> int:
    """Recompute both summaries from the shipments and label prints (in the caller's
    transaction), the days grouped by the database. Returns the parcels read."""
    conn.execute(sa.delete(fulfil_daily))
    conn.execute(sa.delete(fulfil_bands))
    sh, o = station_shipments.c, orders.c
    first = sa.func.row_number().over(partition_by=sh.order_id,
                                      order_by=(sh.shipped_at, sh.msg_id))
    late = sa.case((sa.and_(o.ship_by.is_not(None), sh.shipped_at > o.ship_by), 1), else_=0)
    parcels = (sa.select(_cst_day(conn, sh.shipped_at).label("day"), sh.station_id,
                         sh.operator_id, sh.carrier, sh.pack_seconds, sh.rejected_scans,
                         sh.weighings, sh.weight_overrides, first.label("nth"),
                         late.label("late"))
               .select_from(station_shipments.outerjoin(orders, o.id == sh.order_id))
               .subquery())
    p = parcels.c
    keys = (p.day, p.station_id, p.operator_id, p.carrier)
    measures = {
        "parcels": sa.func.count(),
        "orders": sa.func.sum(sa.case((p.nth == 1, 1), else_=0)),
        "pack_ms": sa.func.sum(sa.func.coalesce(sa.func.round(p.pack_seconds * MS_PER_SECOND), 0)),
        "timed": sa.func.sum(sa.case((p.pack_seconds.is_not(None), 1), else_=0)),
        "wrong_scans": sa.func.sum(sa.func.coalesce(p.rejected_scans, 0)),
        "reweighed": sa.func.sum(sa.case((p.weighings > 1, 1), else_=0)),
        "overrides": sa.func.sum(sa.func.coalesce(p.weight_overrides, 0)),
        "late": sa.func.sum(p.late)}
    merged: dict[DailyKey, dict[str, int]] = {}
    n = 0
    for r in conn.execute(sa.select(*keys, *(v.label(k) for k, v in measures.items()))
                          .group_by(*keys)):
        acc = merged.setdefault((_as_date(r.day), r.station_id, r.operator_id, r.carrier),
                                dict.fromkeys(DAILY_MEASURES, 0))
        for m in measures:
            acc[m] += int(getattr(r, m) or 0)
        n += int(r.parcels)
    lp = station_label_prints.c
    lday = _cst_day(conn, lp.printed_at)
    for r in conn.execute(sa.select(lday.label("day"), lp.station_id, lp.operator_id,
                                    sa.func.count().label("n"))
                          .where(lp.n > 1).group_by(lday, lp.station_id, lp.operator_id)):
        acc = merged.setdefault((_as_date(r.day), r.station_id, r.operator_id, ""),
                                dict.fromkeys(DAILY_MEASURES, 0))
        acc["reprints"] += int(r.n)
    out = [{**dict(zip(DAILY_KEYS, k, strict=True)), **v} for k, v in merged.items()]
    for i in range(0, len(out), REBUILD_BATCH):
        conn.execute(sa.insert(fulfil_daily), out[i:i + REBUILD_BATCH])
    band = sa.case(*((sh.weight_g <= bound, i) for i, bound in enumerate(WEIGHT_BANDS)),
                   (sh.weight_g.is_(None), -1), else_=len(WEIGHT_BANDS))
    day = _cst_day(conn, sh.shipped_at)
    bands = [{"day": _as_date(r.day), "station_id": r.station_id, "carrier": r.carrier,
              "band": int(r.band), "parcels": int(r.n)}
             for r in conn.execute(sa.select(day.label("day"), sh.station_id, sh.carrier,
                                             band.label("band"), sa.func.count().label("n"))
                                   .group_by(day, sh.station_id, sh.carrier, band))]
    for i in range(0, len(bands), REBUILD_BATCH):
        conn.execute(sa.insert(fulfil_bands), bands[i:i + REBUILD_BATCH])
    return n


# --------------------------------------------------------------------------- the report
def report(conn: Connection, f: Filters) -> FulfilmentReport:
    """The fulfilment report of ``f`` (checked with :func:`check` first), read from the
    summaries and the sign-ins."""
    check(f)
    lo, hi = day_start(f.start), day_start(f.end + timedelta(days=1))
    d = fulfil_daily.c
    where = [d.day >= f.start, d.day <= f.end]
    if f.station:
        where.append(d.station_id == f.station)
    if f.carrier:
        where.append(d.carrier == f.carrier)
    measures = [sa.func.sum(d[m]).label(m) for m in DAILY_MEASURES]

    def figures(key: str, r: Any) -> Figures:
        return Figures(key, parcels=int(r.parcels or 0), orders=int(r.orders or 0),
                       pack_seconds=int(r.pack_ms or 0) / MS_PER_SECOND,
                       timed_parcels=int(r.timed or 0), wrong_scans=int(r.wrong_scans or 0),
                       reweighed=int(r.reweighed or 0), overrides=int(r.overrides or 0),
                       late=int(r.late or 0), reprints=int(r.reprints or 0))

    def grouped(column: Any) -> dict[str, Figures]:
        return {str(r.key): figures(str(r.key), r) for r in conn.execute(
            sa.select(column.label("key"), *measures).where(*where).group_by(column))}

    packers, stations = grouped(d.operator_id), grouped(d.station_id)
    total = figures("", conn.execute(sa.select(*measures).where(*where)).one())
    _add_shifts(conn, f, lo, hi, packers, stations, total)
    names = dict(conn.execute(sa.select(station_operators.c.id, station_operators.c.name)).all())
    for p in packers.values():
        p.name = str(names.get(p.key, ""))
    rep = FulfilmentReport(f, total,
                           sorted(packers.values(), key=lambda x: (-x.parcels, x.key)),
                           sorted(stations.values(), key=lambda x: x.key))
    b = fulfil_bands.c
    bwhere = [b.day >= f.start, b.day <= f.end]
    if f.station:
        bwhere.append(b.station_id == f.station)
    if f.carrier:
        bwhere.append(b.carrier == f.carrier)
    last = sa.case((b.band < 0, len(WEIGHT_BANDS) + 1), else_=b.band)
    rep.bands = [BandRow(str(r.carrier), _band_label(int(r.band)), int(r.n)) for r in conn.execute(
        sa.select(b.carrier, b.band, sa.func.sum(b.parcels).label("n")).where(*bwhere)
        .group_by(b.carrier, b.band).order_by(b.carrier, last))]
    per: dict[tuple[str, date], list[int]] = {}
    for r in conn.execute(sa.select(d.day, sa.func.sum(d.parcels).label("n"),
                                    sa.func.sum(d.late).label("late"))
                          .where(*where).group_by(d.day)):
        got = per.setdefault(bucket(_as_date(r.day), f.period), [0, 0])
        got[0] += int(r.n or 0)
        got[1] += int(r.late or 0)
    rep.series = [PeriodRow(label, first, v[0], v[1])
                  for (label, first), v in sorted(per.items(), key=lambda kv: kv[0][1])
                  if v[0]]
    return rep


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
