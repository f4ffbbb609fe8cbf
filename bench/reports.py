"""Report speed: a generated year of orders (and their parcels, shifts, reprints and SHIP move costs), the sales, fulfilment and profit summaries rebuilt from it, then each
report timed (p50/p95) beside the naive way (scanning every order line per request).

    python -m bench reports                          # 20,000 orders on SQLite in a temp dir
    python -m bench reports --orders 1000000         # the issue's year (3,000,000 lines)
    python -m bench reports --postgres               # also on a throwaway PostgreSQL
    python -m bench reports --db URL                 # any empty database
    python -m bench reports --db URL --reuse         # time again what an earlier run made

Prints generation and rebuild time, the cost of keeping the summaries current per order
(``touch``), every report's p50/p95 (and the order list's first page), the naive scan's p50
and the ratio, the XLSX export time of the year's report, and the order export (订单导出)
of every order of the year as XLSX and CSV: time, rows per second, size, memory growth. Not a test: numbers for the closing note.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bench import reports_floor
from cloud.db import make_engine, migrate, write_transaction
from cloud.db.schema import (
    shops,
    sku_safety_stock,
    skus,
    station_label_prints,
    station_shipments,
    station_sign_ins,
    stock_balances,
    warehouses,
)
from cloud.db.schema_orders import order_lines, orders, refunds
from cloud.db.schema_reports import profit_ship_costs
from cloud.reports import daily, export, fulfilment, profit, profit_report, sales, summaries
from cloud.web import order_export, queries

YEAR_START = datetime(2025, 12, 1, tzinfo=UTC)
"""The first instant of the generated year."""
DAYS = 365
"""Days generated."""
BATCH = 5000
"""Rows per insert."""
PROVINCES = ("浙江", "江苏", "广东", "上海", "北京", "四川", "山东", "河南", "湖北", "福建")
"""Buyer provinces drawn from."""
CITIES = 10
"""Cities per province (so 100 buyer cities)."""
REFUND_SHARE = 0.03
"""Share of orders with a successful refund."""
CANCEL_SHARE = 0.02
"""Share of orders cancelled before shipping."""
MAX_LINES = 5
"""Lines per order are drawn from 1..5 (three on average)."""
SECONDS_PER_DAY = 86400
"""For spreading orders over a day."""
PERCENTILE_95 = 0.95
"""The slow end reported."""
PACKERS = 20
"""Packers shipping the year's parcels."""
STATIONS = 6
"""Stations they ship at (two per warehouse)."""
REPRINT_SHARE = 0.03
"""Share of parcels whose label was printed twice."""
CARRIERS = ("ZTO", "YTO", "STO", "YUNDA", "JT", "SF")
"""Couriers drawn from."""
SHIFT_HOURS = (8, 18)
"""Every packer signs in at 08:00 and out at 18:00 (UTC, for the benchmark) each day."""


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


FEE_BP = 600
"""The platform fee of the pdd shops (6 %); the taobao shops have none set."""


def _cost(k: int) -> int:
    """SKU ``k``'s moving-average cost (fen)."""
    return 200 + (k % 50) * 50


def generate(engine: Engine, n_orders: int, n_skus: int, n_shops: int, seed: int = 7) -> None:
    """A year of orders (about three lines each), refunds, stock and safety levels."""
    rnd = random.Random(seed)
    now = YEAR_START + timedelta(days=DAYS)
    with write_transaction(engine) as conn:
        conn.execute(sa.insert(warehouses), [{"id": f"WH{w}", "name": f"仓 {w}"} for w in range(3)])
        conn.execute(sa.insert(shops), [
            {"id": f"shop{s}", "platform": "pdd" if s % 2 == 0 else "taobao",
             "name": f"店铺 {s}", "seller_id": f"seller{s}", "created_at": YEAR_START,
             "fee_bp": FEE_BP if s % 2 == 0 else None}
            for s in range(n_shops)])
        for i in range(0, n_skus, BATCH):
            conn.execute(sa.insert(skus), [
                {"sku": f"SKU{k:05d}", "name_zh": f"商品 {k}", "category": f"类目{k % 40}",
                 "cost_fen": _cost(k)}
                for k in range(i, min(n_skus, i + BATCH))])
            conn.execute(sa.insert(stock_balances), [
                {"warehouse_id": f"WH{k % 3}", "sku": f"SKU{k:05d}", "location": "A-01",
                 "qty": rnd.randint(0, 200)} for k in range(i, min(n_skus, i + BATCH))])
            conn.execute(sa.insert(sku_safety_stock), [
                {"sku": f"SKU{k:05d}", "warehouse_id": f"WH{k % 3}", "qty": 20}
                for k in range(i, min(n_skus, i + BATCH))])
    with write_transaction(engine) as conn:  # a shift per packer and day
        rows = []
        for d in range(DAYS):
            day = YEAR_START + timedelta(days=d)
            for p in range(PACKERS):
                for ev, hour in zip(("sign_in", "sign_out"), SHIFT_HOURS, strict=True):
                    rows.append({"msg_id": f"si-{d}-{p}-{ev}", "station_id": f"st{p % STATIONS}",
                                 "operator_id": f"P{p:02d}", "event": ev,
                                 "at": day + timedelta(hours=hour), "received_at": day})
        for i in range(0, len(rows), BATCH):
            conn.execute(sa.insert(station_sign_ins), rows[i:i + BATCH])
    weights = [1.0 / (k + 1) for k in range(n_skus)]  # a long tail: few SKUs sell most
    for start in range(0, n_orders, BATCH):
        order_rows: list[dict[str, Any]] = []
        line_rows: list[dict[str, Any]] = []
        refund_rows: list[dict[str, Any]] = []
        ship_rows: list[dict[str, Any]] = []
        print_rows: list[dict[str, Any]] = []
        cost_rows: list[dict[str, Any]] = []
        for i in range(start, min(n_orders, start + BATCH)):
            at = YEAR_START + timedelta(seconds=rnd.randrange(DAYS * SECONDS_PER_DAY))
            shop = f"shop{i % n_shops}"
            platform = "pdd" if i % n_shops % 2 == 0 else "taobao"
            oid = f"{platform}-{i:09d}"
            cancelled = rnd.random() < CANCEL_SHARE
            order_rows.append({
                "id": oid, "shop_id": shop, "platform": platform,
                "platform_order_id": f"{i:09d}", "platform_status": "shipped",
                "raw_status": "2", "platform_updated_at": at, "ordered_at": at,
                "receiver_masked": {"province": (prov := rnd.choice(PROVINCES)),
                                    "city": f"{prov}{i % CITIES}市"},
                "state": "cancelled" if cancelled else "shipped", "first_seen_at": at,
                "updated_at": at, "ship_by": at + timedelta(hours=48)})
            for n, k in enumerate(rnd.choices(range(n_skus), weights, k=rnd.randint(1, MAX_LINES)),
                                  start=1):
                qty = rnd.randint(1, 3)
                line_rows.append({"order_id": oid, "line_no": n, "qty": qty,
                                  "price_fen": 500 + (k % 97) * 100, "sku": f"SKU{k:05d}",
                                  "sku_qty": qty})
                if not cancelled:  # the SHIP move's cost, as ingest keeps it
                    cost_rows.append({
                        "move_id": f"mv-{i}-{n}", "order_id": oid, "sku": f"SKU{k:05d}",
                        "warehouse_id": f"WH{i % 3}", "units": qty, "unit_cost_fen": _cost(k),
                        "occurred_at": at, "recorded_at": at})
            if not cancelled:
                p = rnd.randrange(PACKERS)
                shipped = min(now, at + timedelta(minutes=rnd.randint(30, 60 * 60)))
                ship_rows.append({
                    "msg_id": f"sh-{i}", "station_id": f"st{p % STATIONS}", "order_id": oid,
                    "waybill_no": f"WB{i:012d}", "carrier": rnd.choice(CARRIERS),
                    "weight_g": rnd.randint(80, 6000), "operator_id": f"P{p:02d}",
                    "shipped_at": shipped, "received_at": shipped,
                    "rejected_scans": rnd.choice((0, 0, 0, 1)), "weighings": rnd.choice((1, 1, 2)),
                    "pack_seconds": rnd.uniform(10, 90), "weight_overrides": 0})
                if rnd.random() < REPRINT_SHARE:
                    print_rows.append({
                        "msg_id": f"lp-{i}", "station_id": f"st{p % STATIONS}", "order_id": oid,
                        "n": 2, "operator_id": f"P{p:02d}", "reason": "卡纸",
                        "printed_at": shipped, "received_at": shipped})
            if not cancelled and rnd.random() < REFUND_SHARE:
                refund_rows.append({
                    "shop_id": shop, "refund_id": f"R{i}", "platform_order_id": f"{i:09d}",
                    "status": "10", "succeeded": True, "amount_fen": 1000,
                    "platform_updated_at": min(now, at + timedelta(days=rnd.randint(1, 20))),
                    "seen_at": now})
        with write_transaction(engine) as conn:
            conn.execute(sa.insert(orders), order_rows)
            conn.execute(sa.insert(order_lines), line_rows)
            if refund_rows:
                conn.execute(sa.insert(refunds), refund_rows)
            conn.execute(sa.insert(station_shipments), ship_rows)
            conn.execute(sa.insert(profit_ship_costs), cost_rows)
            if print_rows:
                conn.execute(sa.insert(station_label_prints), print_rows)


def naive_sales(conn: Connection, start: date, end: date) -> list[Any]:
    """The report's totals by day the naive way: every order line of the range joined to
    its order, per request (what the summaries replace)."""
    o, ln = orders.c, order_lines.c
    lo = datetime.combine(start, datetime.min.time(), UTC) - timedelta(hours=8)
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC) - timedelta(hours=8)
    day = sa.func.date(o.ordered_at + sa.text("interval '8 hours'")) \
        if conn.dialect.name == "postgresql" else sa.func.date(o.ordered_at, "+8 hours")
    return list(conn.execute(
        sa.select(day, sa.func.count(sa.distinct(o.id)), sa.func.sum(ln.qty),
                  sa.func.sum(ln.qty * ln.price_fen))
        .select_from(orders.join(order_lines, ln.order_id == o.id))
        .where(o.ordered_at >= lo, o.ordered_at < hi, o.state != "cancelled")
        .group_by(day)).all())


def _timed(engine: Engine, fn: Callable[[Connection], object], repeat: int) -> list[float]:
    """``repeat`` timings of ``fn`` on a fresh connection each, after one untimed run (the
    first read of a table after a restart or a bulk load comes from disk, not the cache)."""
    with engine.connect() as conn:
        fn(conn)
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        with engine.connect() as conn:
            fn(conn)
        samples.append((time.perf_counter() - t) * 1000)
    return samples


def run_on(label: str, url: str, n_orders: int, n_skus: int, n_shops: int, repeat: int,
           *, reuse: bool = False) -> None:
    """Generate, rebuild and time every report on one database (``reuse``: time only)."""
    engine = make_engine(url)
    try:
        migrate(engine)
        if not reuse:
            _load(label, engine, n_orders, n_skus, n_shops)
        _time_reports(engine, repeat)
    finally:
        engine.dispose()


def _load(label: str, engine: Engine, n_orders: int, n_skus: int, n_shops: int) -> None:
    """Generate the year and rebuild its summaries; print how long each took."""
    t = time.perf_counter()
    generate(engine, n_orders, n_skus, n_shops)
    reports_floor.generate(engine, n_orders, n_skus, start=YEAR_START, days=DAYS, cost=_cost)
    gen = time.perf_counter() - t
    t = time.perf_counter()
    with write_transaction(engine) as conn:
        summaries.rebuild(conn, now=YEAR_START)
        fulfilment.rebuild(conn)
    rebuild = time.perf_counter() - t
    t = time.perf_counter()
    with write_transaction(engine) as conn:
        profit.rebuild(conn, now=YEAR_START)
    profit_rebuild = time.perf_counter() - t
    with engine.connect() as conn:
        n_lines = conn.execute(sa.select(sa.func.count()).select_from(order_lines)).scalar()
        ids = list(conn.execute(sa.select(orders.c.id).limit(1000)).scalars())
    t = time.perf_counter()
    for oid in ids:
        with write_transaction(engine) as conn:
            conn.execute(sa.update(order_lines).where(order_lines.c.order_id == oid,
                                                      order_lines.c.line_no == 1)
                         .values(qty=order_lines.c.qty + 1))
            summaries.touch(conn, [oid], now=YEAR_START)
    touch_ms = (time.perf_counter() - t) * 1000 / max(1, len(ids))
    print(f"{label}: {n_orders:,} orders, {n_lines:,} lines, {n_skus:,} SKUs generated in "
          f"{gen:.1f} s; summaries rebuilt in {rebuild:.1f} s; a line change + touch "
          f"{touch_ms:.2f} ms per order (sales and profit); profit summaries rebuilt in "
          f"{profit_rebuild:.1f} s", flush=True)
    if engine.dialect.name == "postgresql":  # what autovacuum does soon after a bulk load
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))


def _time_reports(engine: Engine, repeat: int) -> None:
    """Every report's p50/p95 on the generated year, and the XLSX of the year's report."""
    end = (YEAR_START + timedelta(days=DAYS - 1)).date()
    year = sales.Filters(YEAR_START.date() + timedelta(days=1), end, period="month")
    month = sales.Filters(end - timedelta(days=29), end)
    cases: list[tuple[str, Callable[[Connection], object],
                      Callable[[Connection], object] | None, sales.Filters]] = [
        ("sales, a year by month", lambda c: sales.report(c, year),
         lambda c: naive_sales(c, year.start, year.end), year),
        ("sales, 30 days by day", lambda c: sales.report(c, month),
         lambda c: naive_sales(c, month.start, month.end), month),
        ("sales, a year, one shop", lambda c: sales.report(c, sales.Filters(
            year.start, year.end, "month", shop_id="shop1")), None, year),
        ("sales, a year, one SKU", lambda c: sales.report(c, sales.Filters(
            year.start, year.end, "week", sku="SKU00003")), None, year),
        ("sales, a year, a category", lambda c: sales.report(c, sales.Filters(
            year.start, year.end, "quarter", category="类目3")), None, year),
        ("sales, a year, one province", lambda c: sales.report(c, sales.Filters(
            year.start, year.end, "month", province="浙江")), None, year),
        ("daily summary", lambda c: daily.summary(c, end), None, year),
        ("fulfilment, a year by month", lambda c: fulfilment.report(c, fulfilment.Filters(
            year.start, year.end, period="month")), None, year),
        ("fulfilment, 30 days by day", lambda c: fulfilment.report(c, fulfilment.Filters(
            month.start, month.end)), None, year),
        ("fulfilment, a year, 1 station", lambda c: fulfilment.report(c, fulfilment.Filters(
            year.start, year.end, station="st1", period="week")), None, year),
        ("profit, a year by month", lambda c: profit_report.report(c, profit_report.Filters(
            year.start, year.end, period="month")), None, year),
        ("profit, 30 days by day", lambda c: profit_report.report(c, profit_report.Filters(
            month.start, month.end)), None, year),
        ("profit, a year, one shop", lambda c: profit_report.report(c, profit_report.Filters(
            year.start, year.end, "month", shop_id="shop1")), None, year),
        ("profit, a year, one SKU", lambda c: profit_report.report(c, profit_report.Filters(
            year.start, year.end, "week", sku="SKU00003")), None, year),
        ("order list, first page", lambda c: queries.order_rows(c, queries.OrderFilter(),
                                                                 limit=101), None, year),
        ("order list, one day", lambda c: queries.order_rows(c, queries.OrderFilter(
            since=YEAR_START + timedelta(days=100), until=YEAR_START + timedelta(days=101)),
            limit=101), None, year),
        ("profit, a year, SKU table by day", lambda c: profit_report.report(
            c, profit_report.Filters(year.start, year.end, period="month"), monthly=False),
         None, year),
    ]
    cases += [(name, fn, None, year) for name, fn in reports_floor.cases(
        year.start, year.end, YEAR_START + timedelta(days=DAYS))]
    for name, fn, naive, filters in cases:
        s = _timed(engine, fn, repeat)
        line = (f"  {name:28s} p50 {statistics.median(s):8.1f} ms  "
                f"p95 {_pct(s, PERCENTILE_95):8.1f} ms")
        if naive is not None:  # the same figures (totals by day), both ways
            ns = _timed(engine, naive, max(1, repeat // 4))
            ss = _timed(engine, lambda c, ff=filters: sales.by_day(c, ff), repeat)
            line += (f"\n  {'':28s} by day: summary p50 {statistics.median(ss):7.1f} ms, "
                     f"naive scan of order lines p50 {statistics.median(ns):8.1f} ms "
                     f"({statistics.median(ns) / statistics.median(ss):.1f}x)")
        print(line, flush=True)
    t = time.perf_counter()
    with engine.connect() as conn:
        rep = sales.report(conn, year)
    body = export.xlsx(list(export.sales_sheets(rep).values()))
    print(f"  XLSX of the year's report: {(time.perf_counter() - t) * 1000:.0f} ms, "
          f"{len(body):,} bytes", flush=True)
    for fmt in order_export.FORMATS:
        _export_orders(engine, fmt)


def _export_orders(engine: Engine, fmt: str) -> None:
    """订单导出 of every order of the year, as the background job writes it; time, speed,
    size and how much the process's peak memory grew."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        path = Path(tmp) / f"orders.{fmt}"
        t = time.perf_counter()
        with engine.connect() as conn, conn.begin():
            n = order_export.write_file(path, fmt, order_export.columns("zh"), order_export.rows(
                conn, queries.OrderFilter(), "zh"))
        took = time.perf_counter() - t
        size = path.stat().st_size
    grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(f"  {fmt.upper()} of the year's orders (订单导出): {n:,} rows in {took:.1f} s "
          f"({n / took:,.0f} rows/s), {size / 1e6:,.1f} MB; peak memory grew {grew:,.0f} MB",
          flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(prog="bench reports")
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--skus", type=int, default=5_000)
    parser.add_argument("--shops", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per report")
    parser.add_argument("--db", help="an empty database URL instead of SQLite in a temp dir")
    parser.add_argument("--reuse", action="store_true",
                        help="time the reports on --db as an earlier run left it, no generating")
    parser.add_argument("--postgres", action="store_true",
                        help="also run on a throwaway PostgreSQL")
    args = parser.parse_args(argv)
    if args.reuse and not args.db:
        parser.error("--reuse needs --db (the database an earlier run generated)")
    tmp = tempfile.mkdtemp(prefix="bench-reports-")
    try:
        run_on(args.db or "sqlite", args.db or f"sqlite:///{tmp}/r.db", args.orders, args.skus,
               args.shops, args.repeat, reuse=args.reuse)
        if args.postgres:
            from tests.fixtures.postgres import start_postgres

            server = start_postgres()
            try:
                run_on("postgresql", server.create_database(), args.orders, args.skus,
                       args.shops, args.repeat)
            finally:
                server.stop()
                shutil.rmtree(server.root, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
