"""The single-item scan at real size: a best seller's order found by its item, vs the
previous query.

    python -m bench single_item [--db PATH] [--history 30000] [--repeat 20]

When the packer scans an item with no order open, the station looks for the oldest waiting
order made of exactly that item (爆款单品扫描即打印: one scan per parcel for a best seller),
on the kiosk's UI thread. This bench adds to the station at ``--db`` (default: a fresh
small one in a temporary directory; pass the real-size one of ``python -m bench
station_size``) a best seller ``BENCH-HOT`` with ``--history`` shipped single-item orders
and 50 waiting ones (the newest), once. Then, on one read connection, it times
``StoreOrderSource.oldest_single_item_order`` beside the previous query, which always
started from every line that ever held the SKU (``SINGLE_ITEM_BY_LINES_SQL``, now used only
for items on fewer than ``LINES_FIRST_LIMIT`` lines), for the best seller, for an item with
no waiting single-item order, and for an item with a single order of its own.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HOT = "BENCH-HOT"
STAMP = "2026-06-01T{:02d}:{:02d}:{:02d}+00:00"

def _at(n: int) -> str:
    return STAMP.format(n // 3600 % 24, n // 60 % 60, n % 60)


def seed(path: Path, history: int) -> None:
    """Add the best seller's orders (once) and a lone order of ``BENCH-LONE``."""
    from edge.store import open_store

    store = open_store(path, station_id="BENCH")
    db = store.writer.db
    if db.execute("SELECT 1 FROM orders WHERE order_id = 'HOT-000000'").fetchone() is None:
        with store.writer.transaction():
            n_orders = history + 50
            db.conn.executemany(
                "INSERT INTO orders (order_id, platform, platform_order_no, status, ordered_at, "
                "updated_at) VALUES (?, 'pdd', ?, ?, ?, ?)",
                [(f"HOT-{n:06d}", f"PDD-HOT-{n:06d}", "shipped" if n < history else "waiting",
                  _at(n), _at(n)) for n in range(n_orders)])
            db.conn.executemany(
                "INSERT INTO order_lines (order_id, line_no, sku, qty) VALUES (?, 1, ?, 1)",
                [(f"HOT-{n:06d}", HOT) for n in range(n_orders)])
            db.execute("INSERT INTO orders (order_id, platform, platform_order_no, ordered_at, "
                       "updated_at) VALUES ('LONE-1', 'pdd', 'PDD-LONE-1', ?, ?)",
                       [_at(1), _at(1)])
            db.execute("INSERT INTO order_lines VALUES ('LONE-1', 1, 'BENCH-LONE', 1)")
    store.close()


def timed(fn: Callable[[], Any], repeat: int) -> tuple[Any, list[float]]:
    fn()  # warm the page cache
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return result, times


def run(path: Path, history: int, repeat: int) -> None:
    from edge.store import open_store
    from edge.store.packing import SINGLE_ITEM_BY_LINES_SQL, StoreOrderSource

    seed(path, history)
    store = open_store(path, station_id="BENCH")
    reader = store.reader()
    src = StoreOrderSource(reader)
    waiting = reader.db.execute("SELECT COUNT(*) FROM orders WHERE status = 'waiting'").fetchone()[0]
    lines = reader.db.execute("SELECT COUNT(*) FROM order_lines WHERE sku = ?", [HOT]).fetchone()[0]
    print(f"station {path} ({path.stat().st_size / 2**20:,.0f} MiB): {waiting:,} waiting orders; "
          f"{HOT} is on {lines:,} order lines")
    print(f"{'item':32}{'now ms p50':>12}{'max':>8}{'before p50':>12}{'max':>8}{'before/now':>12}")
    for label, sku in ((f"best seller ({HOT})", HOT), ("no waiting single order", "BENCH-NONE"),
                       ("its own single order", "BENCH-LONE")):
        def current(sku: str = sku) -> Any:
            return src.oldest_single_item_order(sku, 1)

        def previous(sku: str = sku) -> Any:
            row = reader.db.execute(SINGLE_ITEM_BY_LINES_SQL, {"sku": sku, "units": 1}).fetchone()
            return src.order(row[0]) if row else None

        found, now = timed(current, repeat)
        was, before = timed(previous, repeat)
        same = (found.order_id if found else None) == (was.order_id if was else None)
        if not same:
            raise RuntimeError(f"{sku}: {found} vs previous {was}")
        p_now, p_before = statistics.median(now), statistics.median(before)
        print(f"{label:32}{p_now * 1e3:12.2f}{max(now) * 1e3:8.2f}{p_before * 1e3:12.2f}"
              f"{max(before) * 1e3:8.2f}{p_before / p_now:11.2f}x")
    reader.db.close()
    store.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench single_item", description=__doc__)
    ap.add_argument("--db", type=Path, default=None, help="station database (default: a small one)")
    ap.add_argument("--history", type=int, default=30_000,
                    help="shipped orders of the best seller (default 30000)")
    ap.add_argument("--repeat", type=int, default=20, help="timed lookups per case (default 20)")
    args = ap.parse_args([] if argv is None else argv)
    if args.db is not None:
        run(args.db, args.history, args.repeat)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(Path(tmp) / "bench.db", args.history, args.repeat)


if __name__ == "__main__":
    main(sys.argv[1:])
