"""Sales summaries kept current as orders and refunds arrive (the issue's "Scale" point).

Every platform order contributes to ``sales_daily`` (day × shop × buyer province),
``sales_daily_sku`` (day × shop × SKU) and ``sales_monthly_sku`` (the same per month, so a
year by SKU reads thousands of rows, not millions). What it last contributed is stored in
``report_order_facts``; :func:`touch` recomputes an order's contribution from the source
tables (``orders``, ``order_lines``, ``refunds``), applies *new − old* to the summaries and
stores the new one, in the caller's transaction. Because the contribution is always
recomputed from the current rows, the order of events does not matter: an order updated
twice, a stale copy, a refund that arrives before its order or days after it all end in
the same numbers as :func:`rebuild`, which recomputes everything from the source tables.

The rules (documented in ``docs/reports.md``):

* A **sale** is a platform order that is not ``cancelled`` (closed before shipping: unpaid,
  or refunded before it left — it never sold). A second parcel (``…#2``, 拆单) is part of
  its original order; gift lines Packline added (``promotion_id``) are not sales.
* It is booked on the **order's day**: the China Standard Time day of ``ordered_at``
  (``first_seen_at`` when the platform sent none), in the shop, platform and buyer province
  of the order. GMV is Σ line price × quantity; units are Packline units (platform units
  for a line not mapped to a SKU yet, under SKU ``""``).
* A **refund** (after-sales money that went back to the buyer, ``refunds.succeeded``) of a
  sold order is booked on the **refund's day** (CST day of its ``platform_updated_at``), in
  the order's shop and province: a closed day's GMV never changes when a refund comes
  late, and the refund shows on the day the money left. A refund whose order was
  cancelled is not booked (the order is not a sale: counting both would take it off twice).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from cloud.config import DISPLAY_TZ
from cloud.db.engine import in_chunks
from cloud.db.schema_orders import order_lines, orders, refunds
from cloud.db.schema_reports import (
    report_order_facts,
    sales_daily,
    sales_daily_city,
    sales_daily_sku,
    sales_monthly_geo_sku,
    sales_monthly_sku,
)
from cloud.reports import profit

UNMAPPED: Final = ""
"""``sales_daily_sku.sku`` of lines not mapped to a Packline SKU yet."""
UNKNOWN_PROVINCE: Final = ""
"""``sales_daily.province`` when the platform sent none."""
PROVINCE_MAX: Final = 32
"""Longest province name kept (the column's width)."""
REBUILD_BATCH: Final = 2000
"""Orders read and written per step of :func:`rebuild`."""

DAILY_MEASURES: Final = ("orders", "units", "gmv_fen", "refunds", "refund_fen")
"""The summed columns of ``sales_daily``, in the order of the delta vectors."""
SKU_MEASURES: Final = ("orders", "units", "gmv_fen")
"""The summed columns of ``sales_daily_sku``."""

SUMMARY_TABLES: Final = (report_order_facts, sales_daily, sales_daily_sku, sales_monthly_sku,
                         sales_daily_city, sales_monthly_geo_sku)
"""What :func:`rebuild` recomputes."""

Facts = dict[str, Any]
"""One order's contribution (see ``report_order_facts``)."""
DailyKey = tuple[date, str, str, str]
"""(day, shop, province, platform)."""
SkuKey = tuple[date, str, str, str]
"""(day, shop, sku, platform)."""
GeoKey = tuple[date, str, str, str, str]
"""(day, shop, province, city, platform) or (month, shop, province, sku, platform)."""
UNKNOWN_CITY: Final = ""
"""``sales_daily_city.city`` when the platform sent none."""


@dataclass(slots=True)
class Deltas:
    """What a set of contributions adds to each summary, per key (vectors of measures)."""

    daily: dict[DailyKey, list[int]] = field(default_factory=dict)
    by_sku: dict[SkuKey, list[int]] = field(default_factory=dict)
    by_city: dict[GeoKey, list[int]] = field(default_factory=dict)
    geo_sku: dict[GeoKey, list[int]] = field(default_factory=dict)

    def tables(self) -> list[tuple[sa.Table, tuple[str, ...], tuple[str, ...],
                                   dict[Any, list[int]]]]:
        """(table, key columns, measures, deltas) of every summary."""
        return [(sales_daily, ("day", "shop_id", "province"), DAILY_MEASURES, self.daily),
                (sales_daily_sku, ("day", "shop_id", "sku"), SKU_MEASURES, self.by_sku),
                (sales_monthly_sku, ("month", "shop_id", "sku"), SKU_MEASURES,
                 monthly(self.by_sku)),
                (sales_daily_city, ("day", "shop_id", "province", "city"), SKU_MEASURES,
                 self.by_city),
                (sales_monthly_geo_sku, ("month", "shop_id", "province", "sku"), SKU_MEASURES,
                 self.geo_sku)]


def local_day(at: datetime) -> date:
    """The China Standard Time day of a UTC instant."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(DISPLAY_TZ).date()


def _root(order_id: str, split_from: str | None) -> str:
    return split_from or order_id


def contributions(conn: Connection, root_ids: Iterable[str]) -> dict[str, Facts]:
    """What each of these platform orders contributes now (absent: nothing), read from the
    source tables with three queries per chunk."""
    out: dict[str, Facts] = {}
    o, ln, rf = orders.c, order_lines.c, refunds.c
    for chunk in in_chunks(list(dict.fromkeys(root_ids))):
        heads = conn.execute(sa.select(
            o.id, o.shop_id, o.platform, o.platform_order_id, o.state, o.ordered_at,
            o.first_seen_at, o.receiver_masked).where(o.id.in_(chunk))).all()
        sold = {r.id: r for r in heads if r.state != "cancelled"}
        if not sold:
            continue
        parts: dict[str, str] = {oid: oid for oid in sold}
        for cid, parent in conn.execute(sa.select(o.id, o.split_from).where(
                o.split_from.in_(list(sold)))):
            parts[cid] = parent
        skus: dict[str, dict[str, list[int]]] = {oid: {} for oid in sold}
        for oid, sku, qty, sku_qty, price in conn.execute(sa.select(
                ln.order_id, ln.sku, ln.qty, ln.sku_qty, ln.price_fen).where(
                ln.order_id.in_(list(parts)), ln.promotion_id.is_(None))):
            key = sku if sku is not None else UNMAPPED
            units = int(sku_qty) if sku is not None and sku_qty is not None else int(qty)
            acc = skus[parts[oid]].setdefault(key, [1, 0, 0])
            acc[1] += units
            acc[2] += int(qty) * int(price)
        by_platform_id = {(r.shop_id, r.platform_order_id): r.id for r in sold.values()}
        refunds_of: dict[str, dict[str, list[int]]] = defaultdict(dict)
        for shop, poid, fen, at in conn.execute(sa.select(
                rf.shop_id, rf.platform_order_id, rf.amount_fen, rf.platform_updated_at).where(
                rf.succeeded.is_(True), rf.shop_id.in_({r.shop_id for r in sold.values()}),
                rf.platform_order_id.in_([r.platform_order_id for r in sold.values()]))):
            oid = by_platform_id.get((shop, poid))
            if oid is None:
                continue
            acc = refunds_of[oid].setdefault(local_day(at).isoformat(), [0, 0])
            acc[0] += 1
            acc[1] += int(fen)
        for oid, r in sold.items():
            masked = r.receiver_masked or {}
            province = str(masked.get("province") or UNKNOWN_PROVINCE)[:PROVINCE_MAX]
            city = str(masked.get("city") or UNKNOWN_CITY)[:PROVINCE_MAX]
            lines = skus[oid]
            out[oid] = {
                "day": local_day(r.ordered_at or r.first_seen_at).isoformat(),
                "shop": r.shop_id, "platform": r.platform, "province": province, "city": city,
                "units": sum(v[1] for v in lines.values()),
                "gmv": sum(v[2] for v in lines.values()),
                "skus": lines, "refunds": dict(refunds_of.get(oid, {})),
            }
    return out


def _bump(deltas: dict[Any, list[int]], key: Any, size: int, sign: int,
          values: Iterable[int]) -> None:
    vec = deltas.setdefault(key, [0] * size)
    for n, v in enumerate(values):
        vec[n] += sign * int(v)


def _add(d: Deltas, facts: Facts, sign: int) -> None:
    day = date.fromisoformat(facts["day"])
    shop, platform, province = facts["shop"], facts["platform"], facts["province"]
    _bump(d.daily, (day, shop, province, platform), len(DAILY_MEASURES), sign,
          (1, facts["units"], facts["gmv"]))
    for rday, (n, fen) in facts["refunds"].items():
        _bump(d.daily, (date.fromisoformat(rday), shop, province, platform),
              len(DAILY_MEASURES), sign, (0, 0, 0, n, fen))
    for sku, vec in facts["skus"].items():
        _bump(d.by_sku, (day, shop, sku, platform), len(SKU_MEASURES), sign, vec)
    if "city" not in facts:  # recorded before 0050: never added to the geography tables
        return
    _bump(d.by_city, (day, shop, province, facts["city"], platform), len(SKU_MEASURES), sign,
          (1, facts["units"], facts["gmv"]))
    for sku, vec in facts["skus"].items():
        _bump(d.geo_sku, (day.replace(day=1), shop, province, sku, platform),
              len(SKU_MEASURES), sign, vec)


def _upsert_add(conn: Connection, table: sa.Table, key_cols: tuple[str, ...],
                measures: tuple[str, ...], deltas: dict[Any, list[int]]) -> None:
    """Add each delta vector to its row (created when missing); rows left all zero go."""
    rows = [{**dict(zip((*key_cols, "platform"), key, strict=True)),
             **dict(zip(measures, vec, strict=True))}
            for key, vec in sorted(deltas.items()) if any(vec)]  # one lock order: no deadlock
    if not rows:
        return
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c[k] for k in key_cols],
        set_={m: table.c[m] + stmt.excluded[m] for m in measures})
    conn.execute(stmt, rows)  # one executemany for the lot
    for row in rows:
        if any(row[m] < 0 for m in measures):
            conn.execute(sa.delete(table).where(
                *(table.c[k] == row[k] for k in key_cols),
                *(table.c[m] == 0 for m in measures)))


def monthly(by_sku: dict[SkuKey, list[int]]) -> dict[SkuKey, list[int]]:
    """The per-day SKU vectors summed per month (keyed by the month's first day)."""
    out: dict[SkuKey, list[int]] = {}
    for (day, shop, sku, platform), vec in by_sku.items():
        acc = out.setdefault((day.replace(day=1), shop, sku, platform), [0] * len(vec))
        for n, v in enumerate(vec):
            acc[n] += v
    return out


def _apply(conn: Connection, d: Deltas) -> None:
    for table, key_cols, measures, deltas in d.tables():
        _upsert_add(conn, table, key_cols, measures, deltas)


def roots_of(conn: Connection, order_ids: Iterable[str]) -> list[str]:
    """The platform orders these orders belong to (a second parcel → its original)."""
    out: list[str] = []
    for chunk in in_chunks(list(dict.fromkeys(order_ids))):
        found = dict(conn.execute(sa.select(orders.c.id, orders.c.split_from).where(
            orders.c.id.in_(chunk))).all())
        out += [_root(oid, found.get(oid)) for oid in chunk]
    return list(dict.fromkeys(out))


def touch(conn: Connection, order_ids: Iterable[str], *, now: datetime) -> None:
    """Bring the summaries up to date with these orders (and their refunds) as they are now.

    Call it in the transaction that changed them: after order lines arrive or change
    (order sync), after a refund is stored, after a line is mapped to a SKU."""
    roots = roots_of(conn, order_ids)
    if not roots:
        return
    old: dict[str, Facts] = {}
    for chunk in in_chunks(roots):
        old.update(conn.execute(sa.select(report_order_facts.c.order_id,
                                          report_order_facts.c.facts)
                                .where(report_order_facts.c.order_id.in_(chunk))).all())
    new = contributions(conn, roots)
    d = Deltas()
    f = report_order_facts.c
    inserts: list[dict[str, Any]] = []
    for oid in roots:
        before, after = old.get(oid), new.get(oid)
        if before == after:
            continue
        if before is not None:
            _add(d, before, -1)
        if after is not None:
            _add(d, after, +1)
        if after is None:
            conn.execute(sa.delete(report_order_facts).where(f.order_id == oid))
        elif before is None:
            inserts.append({"order_id": oid, "facts": after, "updated_at": now})
        else:
            conn.execute(sa.update(report_order_facts).where(f.order_id == oid).values(
                facts=after, updated_at=now))
    if inserts:
        conn.execute(sa.insert(report_order_facts), inserts)
    _apply(conn, d)
    profit.touch(conn, roots, now=now)  # the profit report reads the same orders and refunds


def touch_refund(conn: Connection, shop_id: str, platform_order_id: str, *,
                 now: datetime) -> None:
    """After a refund of the shop's platform order was stored: book it (nothing when the
    order has not arrived yet — it is booked with the order)."""
    oid = conn.execute(sa.select(orders.c.id).where(
        orders.c.shop_id == shop_id, orders.c.platform_order_id == platform_order_id)).scalar()
    if oid is not None:
        touch(conn, [str(oid)], now=now)


def _root_batches(conn: Connection) -> Iterator[list[str]]:
    o = orders.c
    last = ""
    while True:
        batch = list(conn.execute(sa.select(o.id).where(o.split_from.is_(None), o.id > last)
                                  .order_by(o.id).limit(REBUILD_BATCH)).scalars())
        if not batch:
            return
        yield batch
        last = batch[-1]


def rebuild(conn: Connection, *, now: datetime,
            progress: Callable[[int, int], None] | None = None) -> int:
    """Recompute every summary from the source tables (in the caller's transaction);
    ``progress(done, total)`` after each batch. Returns the number of orders read."""
    total = int(conn.execute(sa.select(sa.func.count()).select_from(orders)
                             .where(orders.c.split_from.is_(None))).scalar_one())
    for table in SUMMARY_TABLES:
        conn.execute(sa.delete(table))
    d = Deltas()
    done = 0
    for batch in _root_batches(conn):
        facts = contributions(conn, batch)
        if facts:
            conn.execute(sa.insert(report_order_facts), [
                {"order_id": oid, "facts": f, "updated_at": now} for oid, f in facts.items()])
        for f in facts.values():
            _add(d, f, +1)
        done += len(batch)
        if progress is not None:
            progress(done, total)
    for table, key_cols, measures, deltas in d.tables():
        rows = [{**dict(zip((*key_cols, "platform"), key, strict=True)),
                 **dict(zip(measures, vec, strict=True))}
                for key, vec in deltas.items() if any(vec)]
        for chunk_start in range(0, len(rows), REBUILD_BATCH):
            conn.execute(sa.insert(table), rows[chunk_start:chunk_start + REBUILD_BATCH])
    return done
