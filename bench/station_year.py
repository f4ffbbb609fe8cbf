"""A station's SD-card writes per parcel and its database size after a year.

    python -m bench station_year                 # 2,000 parcels (two simulated days)
    python -m bench.station_year --parcels 5000 --dir /var/tmp/pl

One process plays the station's three writers on a file database under ``--dir`` (keep
it on a real disk: tmpfs writes reach no storage): for each parcel the sync daemon applies
the pack task (with its inbox row), the kiosk logs the weighing and the label and ships
(SHIP moves, status, outbox rows), the daemon publishes and gets the cloud's ack and
writes its heartbeat once a simulated minute, and the backup replicator captures and
uploads the change (to a ``file://`` replica in another directory, standing in for S3).
The clock is simulated at 1,000 parcels a day, and once a simulated day the daemon's
retention prune runs with the point the backup holds.

Printed: bytes written per parcel (``/proc/self/io``: ``write_bytes`` reached storage,
``wchar`` passed to write(2)); the replica's bytes are subtracted, as on a station they go
over the network. Then the year: the database is compacted (``VACUUM INTO``) with and
without its transport rows (outbox, inbox), giving bytes per parcel kept for ever and
bytes per parcel kept only for the retention window; one year at 1,000 parcels a day =
starting size + 365,000 × kept + (retention days × 1,000) × transport.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from edge.backup import Replicator, open_target
from edge.domain.models import NegativeStockPolicy
from edge.store import Store, Writer, open_store
from edge.store.packing import PackingWriter, StoreOrderSource
from edge.sync.daemon import DaemonSettings, backed_up_until
from edge.sync.inbox import apply_task
from edge.sync.schema import TaskLineWire, TaskWire

PER_DAY = 1000
"""Parcels a day at the target size."""
SKUS = 2000
"""SKUs in the catalog."""


class SimClock:
    """Simulated wall clock: advanced by the script, 86.4 s per parcel at 1,000 a day."""

    def __init__(self) -> None:
        self.now = datetime(2027, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def io_counters() -> dict[str, int]:
    with open("/proc/self/io") as f:
        return {k: int(v) for k, v in (line.split(": ") for line in f)}


def tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def compact_size(db: Path, out: Path, *, drop_transport: bool) -> int:
    """Bytes of a ``VACUUM INTO`` copy (optionally without outbox and inbox rows)."""
    out.unlink(missing_ok=True)
    conn = sqlite3.connect(db)
    conn.execute(f"VACUUM INTO '{out}'")
    conn.close()
    if drop_transport:
        c = sqlite3.connect(out)
        c.execute("DELETE FROM outbox")
        c.execute("DELETE FROM inbox")
        c.commit()
        c.execute("VACUUM")
        c.close()
    size = out.stat().st_size
    out.unlink()
    return size


def seed(store: Store) -> None:
    w = store.writer
    w.upsert_warehouse("WH1", "杭州主仓", NegativeStockPolicy.ALLOW_WITH_ALERT)
    w.upsert_locations([{"code": f"A-{i // 40:02d}-{i % 40:02d}", "warehouse_id": "WH1",
                         "zone": "A", "bin": f"{i:03d}", "name": ""} for i in range(SKUS // 4)])
    w.upsert_skus([{"sku": f"SKU-{i:05d}", "name_zh": f"商品 {i} 保温杯 350ml 不锈钢",
                    "unit_weight_g": 100 + i % 900, "default_location": f"A-{i // 4 // 40:02d}-{i // 4 % 40:02d}",
                    "barcodes": [(f"69{i:011d}", 1)]} for i in range(SKUS)])
    for i in range(SKUS):
        w.adjust(sku=f"SKU-{i:05d}", location=f"A-{i // 4 // 40:02d}-{i // 4 % 40:02d}",
                 qty_delta=100_000, operator_id="bench", note="期初 / opening")


def task(n: int, rng: random.Random, at: datetime) -> TaskWire:
    """A pack task shaped like the cloud's (1-3 lines, carrier print data, masked receiver)."""
    lines = [TaskLineWire(line_no=i + 1, sku=f"SKU-{rng.randrange(SKUS):05d}", qty=rng.randint(1, 3))
             for i in range(rng.choice((1, 1, 1, 2, 3)))]
    waybill = f"YT{7_000_000_000 + n}"
    return TaskWire(
        order_id=f"pdd:{n:012d}", platform="pdd", shop_id="pdd1",
        platform_order_no=f"270101-{n:015d}", lines=lines, waybill_no=waybill, carrier="YTO",
        print_data={"template": "yto-76x130", "waybill_no": waybill, "sort_code": "310-021 07",
                    "route": "杭州转运中心 → 上海浦东", "package_center": "上海浦东集散",
                    "encrypted": "x" * 400, "signature": "s" * 88},
        receiver_masked={"name": "王*", "phone": "138****5678",
                         "address": "浙江省杭州市西湖区****", "province": "浙江省",
                         "city": "杭州市", "district": "西湖区"},
        buyer_note="请放快递柜" if n % 7 == 0 else None, packaging_weight_g=30, ordered_at=at)


def _apply(t: TaskWire, w: Writer) -> None:
    apply_task(w, t)


def run(parcels: int, root: Path, keep_days: int) -> None:
    db, replica = root / "station" / "edge.db", root / "replica"
    db.parent.mkdir(parents=True)
    clock = SimClock()
    rng = random.Random(7)
    store = open_store(db, station_id="ST-BENCH", clock=clock)
    seed(store)
    rep = Replicator(str(db), open_target(f"file://{replica}"), clock=lambda: clock.now.timestamp())
    w0 = store.writer
    w0.mark_acked([r.msg_id for r in store.queries.outbox_pending(10 * SKUS)])  # synced
    rep.sync(force_snapshot=True)
    start_full = compact_size(db, root / "c.db", drop_transport=False)
    start_kept = compact_size(db, root / "c.db", drop_transport=True)
    w, packing, orders = store.writer, PackingWriter(store.writer), StoreOrderSource(store.queries)
    settings = DaemonSettings(outbox_keep=timedelta(days=keep_days))
    step = timedelta(seconds=86_400 / PER_DAY)
    replica_before, io_before, t0 = tree_bytes(replica), io_counters(), time.perf_counter()
    last_heartbeat = clock.now
    pruned = 0
    backup_wb = backup_wc = 0
    for n in range(parcels):
        clock.now += step
        t = task(n, rng, clock.now - timedelta(hours=2))
        w.apply_once(str(uuid.uuid4()), "task", partial(_apply, t))
        order = orders.order(t.order_id)
        assert order is not None
        grams = sum(ln.unit_weight_g * ln.qty for ln in order.lines) + 30
        packing.record_weigh(order.order_id, grams=grams, expected_g=grams, within=True,
                             operator_id="P01")
        packing.record_print(order.order_id, "label", operator_id="P01")
        packing.ship(order, operator_id="P01", weight_g=grams,
                     kpis={"rejected_scans": 0, "weighings": 1, "pack_seconds": 41.5})
        ids = [r.msg_id for r in store.queries.outbox_pending(100)]
        w.mark_sent(ids)
        w.mark_acked(ids)
        while clock.now - last_heartbeat >= timedelta(seconds=60):
            last_heartbeat += timedelta(seconds=60)
            w.set_sync_state({"heartbeat_at": last_heartbeat.isoformat()})
        before = io_counters()
        rep.sync()
        after = io_counters()
        backup_wb += after["write_bytes"] - before["write_bytes"]
        backup_wc += after["wchar"] - before["wchar"]
        if (n + 1) % PER_DAY == 0:  # the daemon's daily prune, up to the backup point
            w.prune_inbox((clock.now - settings.inbox_keep).isoformat())
            pruned += w.prune_outbox(settings.outbox_keep, backed_up_until(str(db), clock.now))
    elapsed = time.perf_counter() - t0
    io_after = io_counters()
    replica_bytes = tree_bytes(replica) - replica_before
    store.close()
    wal = Path(f"{db}-wal")
    on_disk = db.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    full = compact_size(db, root / "c.db", drop_transport=False)
    kept = compact_size(db, root / "c.db", drop_transport=True)
    per_kept = (kept - start_kept) / parcels
    per_transport = ((full - kept) - (start_full - start_kept)) / parcels
    year = start_kept + 365 * PER_DAY * per_kept + min(365, keep_days) * PER_DAY * per_transport
    wb = io_after["write_bytes"] - io_before["write_bytes"]
    wc = io_after["wchar"] - io_before["wchar"]
    print(f"parcels                      {parcels:>12,}   ({elapsed:.1f} s, {parcels / elapsed:.0f}/s)")
    print(f"write_bytes per parcel       {(wb - replica_bytes) / parcels:>12,.0f} B   "
          f"(storage; replica {replica_bytes / parcels:,.0f} B/parcel subtracted)")
    print(f"  of which backup            {(backup_wb - replica_bytes) / parcels:>12,.0f} B   "
          f"(sidecar spool, hashes, meta)")
    print(f"wchar per parcel             {(wc - replica_bytes) / parcels:>12,.0f} B   (write(2) calls; "
          f"backup {(backup_wc - replica_bytes) / parcels:,.0f} B)")
    print(f"per day at {PER_DAY:,}/day           {(wb - replica_bytes) / parcels * PER_DAY / 2**20:>12,.1f} MiB")
    print(f"database now (db + wal)      {on_disk / 2**20:>12,.1f} MiB   (start {start_kept / 2**20:.1f} MiB compacted)")
    print(f"kept per parcel              {per_kept:>12,.0f} B   (orders, lines, moves, logs, audit)")
    print(f"transport per parcel         {per_transport:>12,.0f} B   (outbox + inbox, kept {keep_days} d)")
    print(f"outbox rows pruned           {pruned:>12,}")
    print(f"database after a year        {year / 2**30:>12,.2f} GiB   (aim <= 2 GB; 365,000 parcels)")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench station_year")
    ap.add_argument("--parcels", type=int, default=2000)
    ap.add_argument("--dir", type=Path, default=None, help="work directory on a real disk")
    ap.add_argument("--keep-days", type=int, default=DaemonSettings().outbox_keep.days,
                    help="outbox retention (days)")
    args, _ = ap.parse_known_args(argv)  # `python -m bench station_year` passes its name too
    base = args.dir or Path(os.environ.get("TMPDIR", "/var/tmp"))
    base.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="station-year-", dir=base))
    try:
        run(args.parcels, root, args.keep_days)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
