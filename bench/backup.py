"""Backup cost per 1,000 moves and restore time for a 1 GB database.

    python -m bench backup                    # file target, 1 GiB restore
    python -m bench backup --s3               # also through a local moto_server
    python -m bench.backup --size-mb 256      # smaller restore database

Part 1 writes move-like rows, one transaction each, into a station database that
already holds 100,000 moves, and backs up after every N moves (N = 10 and 100).  It
prints the replicator's CPU time and bytes uploaded per 1,000 moves, side by side
with (a) a page-perfect increment (changed pages x page size), and (b) what the
naive alternative costs: ``sqlite3 backup()`` of the whole database every cycle.

Part 2 builds a database of random 1 MiB blobs (> 1 GiB, so the SQLite lock page is
in play), snapshots it, and times our restore and ``litestream restore`` against a
plain file copy of the same bytes.

Part 3 (``--real``) runs at the real size of a station (``bench.station_size`` builds it,
cached in ``var/bench/``; ``BENCH_STATION_SCALE`` < 1 builds a smaller one): the same
packing work — ``--real-ships`` orders shipped through ``PackingWriter.ship`` at
``--real-rate`` per second — once under ``packline-edge backup run`` and once under
``litestream replicate`` (file replicas, each on its own copy of the database, one after
the other), and prints side by side the replicating process's CPU (``/proc``), its
replica's files and bytes, and the restore of each replica at the end.  Then the two
costs of ours that litestream does not have, at that size: one full comparison of every
page (after a WAL reset it did not see, or a restart of the service) and one full
snapshot (``--snapshot-interval``, hourly by default), each against the CPU litestream
spent on the whole run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edge.backup import BackupRunner, Replicator, open_target, restore

ROOT = Path(__file__).resolve().parents[1]

SCHEMA = """
CREATE TABLE stock_moves (
  move_id TEXT PRIMARY KEY, sku TEXT NOT NULL, location TEXT NOT NULL,
  qty_delta INTEGER NOT NULL, balance_after INTEGER NOT NULL, reason INTEGER NOT NULL,
  source_type TEXT, source_id TEXT, occurred_at TEXT NOT NULL,
  station_id TEXT, operator_id TEXT, note TEXT
);
CREATE INDEX stock_moves_sku ON stock_moves (sku, location, occurred_at);
CREATE TABLE balances (sku TEXT, location TEXT, qty INTEGER, PRIMARY KEY (sku, location));
CREATE TABLE outbox (id INTEGER PRIMARY KEY, move_id TEXT, body TEXT, sent INTEGER DEFAULT 0);
"""


def _move(conn: sqlite3.Connection, i: int) -> None:
    sku, loc = f"SKU-{i % 400:04d}", f"A-{i % 23:02d}-{i % 5}"
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "INSERT INTO stock_moves VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (f"{i:08d}-7f3e-4c1a-9b2d-5e6f7a8b9c0d", sku, loc, -1, 1000 - i % 1000, 30, "order",
         f"PDD-2611230{i:08d}", f"2026-11-23T08:{i // 60 % 60:02d}:{i % 60:02d}Z", "st-01", "u-7",
         f"拣货出库 订单 {i}"),
    )
    conn.execute(
        "INSERT INTO balances VALUES (?,?,1000) ON CONFLICT DO UPDATE SET qty = qty - 1", (sku, loc)
    )
    conn.execute("INSERT INTO outbox (move_id, body) VALUES (?, ?)", (str(i), '{"kind":"move"}' * 8))
    conn.execute("COMMIT")


def _station_db(path: Path, seed: int = 20_000) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(SCHEMA)
    conn.execute("BEGIN")
    for i in range(seed):
        conn.execute(
            "INSERT INTO stock_moves VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (f"seed-{i:08d}", f"SKU-{i % 400:04d}", f"A-{i % 23:02d}", 5, 5, 10, "po", f"PO-{i}",
             "2026-11-01T00:00:00Z", "st-01", "u-1", "入库"),
        )
    conn.execute("COMMIT")
    return conn


def bench_moves(
    work: Path, moves: int, every: int, target_url: str | None, client: Any = None, seed: int = 100_000
) -> dict[str, float]:
    db = work / f"moves-{every}-{'s3' if client else 'file'}.db"
    conn = _station_db(db, seed)
    url = target_url or f"file://{work}/rep-{every}-{os.path.basename(db)}"
    rep = Replicator(str(db), open_target(url, s3_client=client), snapshot_interval=1e9)
    rep.sync()  # initial snapshot, not counted
    base_uploaded = rep.bytes_uploaded
    cpu = 0.0
    changed_bytes = 0
    naive_cpu = 0.0
    naive_bytes = 0
    page_size = rep.meta.page_size
    for start in range(0, moves, every):
        for i in range(start, min(moves, start + every)):
            _move(conn, 100_000 + i)
        before_hashes = bytes(rep._hashes)
        t = time.process_time()
        rep.sync()
        cpu += time.process_time() - t
        after = rep._hashes
        n = max(len(before_hashes), len(after)) // 8
        changed_bytes += page_size * sum(
            1 for p in range(n) if before_hashes[p * 8 : p * 8 + 8] != after[p * 8 : p * 8 + 8]
        )
        # the naive way: copy the whole database with the backup API every cycle
        t = time.process_time()
        dst = sqlite3.connect(work / "naive.db")
        conn.backup(dst)
        dst.close()
        naive_cpu += time.process_time() - t
        naive_bytes += os.path.getsize(work / "naive.db")
        os.remove(work / "naive.db")
    per = 1000 / moves
    return {
        "cycles": moves / every,
        "cpu_s": cpu * per,
        "uploaded": (rep.bytes_uploaded - base_uploaded) * per,
        "changed": changed_bytes * per,
        "naive_cpu_s": naive_cpu * per,
        "naive_bytes": naive_bytes * per,
        "db_bytes": os.path.getsize(db),
    }


def bench_idle(work: Path, seconds: float = 5.0) -> float:
    """CPU % of an idle BackupRunner (default poll) over ``seconds``, after it caught up."""
    db = work / "idle.db"
    _station_db(db, 1000).close()
    runner = BackupRunner(str(db), f"file://{work}/idle-rep")
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while runner.health().uploaded_txid < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        t0, c0 = time.monotonic(), time.process_time()
        time.sleep(seconds)
        return 100 * (time.process_time() - c0) / (time.monotonic() - t0)
    finally:
        runner.stop()


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _big_db(path: Path, mib: int) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB)")
    step = 64
    for start in range(0, mib, step):
        n = min(step, mib - start)
        conn.execute(
            "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?) "
            "INSERT INTO blobs (b) SELECT randomblob(1048576) FROM c",
            (n,),
        )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def bench_restore(work: Path, mib: int, url: str | None, client: Any, label: str) -> dict[str, float]:
    db = work / f"big-{label}.db"
    t = time.perf_counter()
    _big_db(db, mib)
    gen = time.perf_counter() - t
    url = url or f"file://{work}/bigrep-{label}"
    rep = Replicator(str(db), open_target(url, s3_client=client))
    t = time.perf_counter()
    rep.sync()
    snap = time.perf_counter() - t
    out = work / f"ours-{label}.db"
    t = time.perf_counter()
    result = restore(open_target(url, s3_client=client), str(out), integrity_check=False)
    ours = time.perf_counter() - t
    lt_out = work / f"lt-{label}.db"
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    env.setdefault("AWS_ACCESS_KEY_ID", "test")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    lt_url = url + ("&forcePathStyle=true" if url.startswith("s3://") else "")
    t = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).parent / "litestream"), "restore", "-o", str(lt_out), lt_url],
        env=env, check=True, capture_output=True,
    )
    lts = time.perf_counter() - t
    copy = work / f"copy-{label}.db"
    t = time.perf_counter()
    with open(db, "rb") as src, open(copy, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 22)
        dst.flush()
        os.fsync(dst.fileno())
    cp = time.perf_counter() - t
    src_sha = _sha(db)
    same = _sha(out) == src_sha and _sha(lt_out) == src_sha
    size = os.path.getsize(db)
    for p in (out, lt_out, copy, db):
        p.unlink()
    return {"size": size, "gen_s": gen, "snapshot_s": snap, "ours_s": ours, "litestream_s": lts,
            "copy_s": cp, "identical": float(same), "txid": result.txid}


class _Moto:
    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        self.endpoint = f"http://127.0.0.1:{self.port}"
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
        from edge.backup.replica import make_s3_client

        self.client = make_s3_client(self.endpoint, "us-east-1")
        self.client.create_bucket(Bucket="bench")

    def url(self, prefix: str) -> str:
        return f"s3://bench/{prefix}?endpoint={self.endpoint}&region=us-east-1"

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)


# ----------------------------------------------------------------- part 3: real size


def _cpu_s(pid: int) -> float:
    """utime + stime of a process (seconds)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree(path: Path) -> tuple[int, int, dict[str, int]]:
    """(files, bytes, files per level directory) under a replica."""
    n, size, levels = 0, 0, {}  # type: ignore[var-annotated]
    for p in path.rglob("*.ltx"):
        n += 1
        size += p.stat().st_size
        levels[p.parent.name] = levels.get(p.parent.name, 0) + 1
    return n, size, levels


def _quiet(pid: int, settle: float, timeout: float = 600.0) -> float:
    """Wait until the process used no CPU for ``settle`` seconds; its CPU then."""
    deadline = time.monotonic() + timeout
    last = _cpu_s(pid)
    while time.monotonic() < deadline:
        time.sleep(settle)
        now = _cpu_s(pid)
        if now - last < 0.02 * settle:
            return now
        last = now
    raise RuntimeError(f"process {pid} never went quiet")


def _ship_orders(db: Path, ships: int, rate: float) -> float:
    """Ship ``ships`` waiting orders through the kiosk's own writer, ``rate`` a second;
    returns the writer's wall time."""
    from edge.store import open_store
    from edge.store.packing import PackingWriter, StoreOrderSource

    store = open_store(db, station_id="st-01")
    try:
        ids = [r[0] for r in store.writer.db.execute(
            "SELECT order_id FROM orders WHERE status = 'waiting' ORDER BY order_id LIMIT ?", [ships])]
        source, packing = StoreOrderSource(store.queries), PackingWriter(store.writer)
        t0 = time.monotonic()
        for k, oid in enumerate(ids):
            order = source.order(oid)
            assert order is not None
            packing.ship(order, operator_id="P1", weight_g=400)
            time.sleep(max(0.0, t0 + (k + 1) / rate - time.monotonic()))
        return time.monotonic() - t0
    finally:
        store.close()


def bench_real(work: Path, station: Path, ships: int, rate: float) -> dict[str, dict[str, float]]:
    """The same packing work under our backup service and under ``litestream replicate``."""
    out: dict[str, dict[str, float]] = {}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PACKLINE_", "AWS_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    litestream = str(Path(sys.executable).parent / "litestream")
    for name in ("ours", "litestream"):
        db, rep = work / f"real-{name}.db", work / f"real-rep-{name}"
        shutil.copyfile(station, db)
        if name == "ours":
            cmd = [sys.executable, "-m", "edge", "backup", "run", "--db", str(db), "--target", f"file://{rep}"]
        else:
            cfg = work / "litestream.yml"
            cfg.write_text(f"dbs:\n  - path: {db}\n    replicas:\n      - type: file\n        path: {rep}\n")
            cmd = [litestream, "replicate", "-config", str(cfg)]
        log = open(work / f"{name}.log", "wb")  # kept open for the child
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            t = time.monotonic()
            while not _tree(rep)[0]:
                time.sleep(0.2)
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited: {(work / f'{name}.log').read_text()[-2000:]}")
            start_cpu = _quiet(proc.pid, 3.0)  # first snapshot (and our verification restore)
            start_wall = time.monotonic() - t
            files0 = _tree(rep)
            writer_s = _ship_orders(db, ships, rate)
            time.sleep(5.0)  # both ship within a few seconds of the last write
            cpu = _quiet(proc.pid, 3.0) - start_cpu
            files1 = _tree(rep)
            if name == "ours":
                meta = json.loads((work / ".real-ours.db-backup" / "meta.json").read_text())
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
            log.close()
        restored = work / f"real-restored-{name}.db"
        t = time.perf_counter()
        if name == "ours":
            restore(open_target(f"file://{rep}"), str(restored), integrity_check=False)
        else:
            subprocess.run([litestream, "restore", "-o", str(restored), f"file://{rep}"], env=env,
                           check=True, capture_output=True)
        restore_s = time.perf_counter() - t
        probe = sqlite3.connect(restored)
        shipped = probe.execute("SELECT COUNT(*) FROM orders WHERE status = 'shipped'").fetchone()[0]
        probe.close()
        out[name] = {
            "start_cpu_s": start_cpu, "start_wall_s": start_wall, "cpu_s": cpu, "writer_s": writer_s,
            "files": files1[0] - files0[0], "bytes": files1[1] - files0[1], "restore_s": restore_s,
            "shipped": shipped, "levels": files1[2],  # type: ignore[dict-item]
        }
        restored.unlink()
    # ours only: one full comparison of every page and one full snapshot at this size
    db = work / "real-ours.db"
    rep_obj = Replicator(str(db), open_target(f"file://{work}/real-rep-ours"))
    from edge.backup.dbread import PageView
    from edge.backup.replicator import page_hash

    view = PageView(str(db)).open()
    try:
        t = time.process_time()
        n = sum(1 for _p, data in view.pages(1, view.page_count) if page_hash(data))
        out["ours"]["compare_cpu_s"] = time.process_time() - t
        out["ours"]["pages"] = n
        t = time.process_time()
        size = rep_obj._write_spool(view, 9, 1, rep_obj.meta.txid, range(1, view.page_count + 1), 0)
        out["ours"]["snapshot_cpu_s"] = time.process_time() - t
        out["ours"]["snapshot_bytes"] = size
        out["ours"]["resets"] = meta["resets"]
    finally:
        view.close()
    for p in work.glob("real-*"):
        if p.is_file():
            p.unlink()
        else:
            shutil.rmtree(p)
    return out


def print_real(station: Path, r: dict[str, dict[str, Any]], ships: int, rate: float) -> None:
    o, lt = r["ours"], r["litestream"]
    print(f"== real size: {station.name} ({station.stat().st_size / 2**20:,.0f} MiB), {ships} orders "
          f"shipped at {rate:g}/s ==")
    print(f"{'':12}{'start cpu s':>12}{'run cpu s':>10}{'cpu/1k ships':>13}{'files':>7}{'bytes':>12}"
          f"{'restore s':>10}  shipped  levels")
    for name, x in (("ours", o), ("litestream", lt)):
        print(f"{name:12}{x['start_cpu_s']:>12.2f}{x['cpu_s']:>10.2f}{x['cpu_s'] * 1000 / ships:>13.2f}"
              f"{x['files']:>7.0f}{_mb(x['bytes']):>12}{x['restore_s']:>10.2f}  {x['shipped']:>7}  "
              f"{x['levels']}")
    print(f"ours/litestream: run cpu {o['cpu_s'] / max(lt['cpu_s'], 1e-9):.2f}x, start-up cpu "
          f"{o['start_cpu_s'] / max(lt['start_cpu_s'], 1e-9):.2f}x, files {o['files'] / max(lt['files'], 1):.2f}x, "
          f"restore {o['restore_s'] / max(lt['restore_s'], 1e-9):.2f}x")
    print(f"ours, once per WAL reset or service restart: compare every page ({o['pages']:,.0f} pages) "
          f"{o['compare_cpu_s']:.2f} cpu s = {o['compare_cpu_s'] / max(lt['cpu_s'], 1e-9):.1f}x litestream's "
          f"whole run")
    print(f"ours, once per snapshot interval: full snapshot {o['snapshot_cpu_s']:.2f} cpu s, "
          f"{_mb(o['snapshot_bytes'])} = {o['snapshot_cpu_s'] / max(lt['cpu_s'], 1e-9):.1f}x litestream's whole run; "
          f"full comparisons during the run: {o['resets']:.0f}")
    print(f"snapshots a day at the defaults (ours hourly, litestream daily, its start-up ≈ a snapshot): "
          f"ours {24 * o['snapshot_cpu_s']:.0f} cpu s {_mb(24 * o['snapshot_bytes'])}, litestream "
          f"{lt['start_cpu_s']:.0f} cpu s")


def _mb(n: float) -> str:
    return f"{n / 1e6:8.2f} MB"


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print a table with ratios."""
    ap = argparse.ArgumentParser(prog="python -m bench backup", description=__doc__.splitlines()[0])
    ap.add_argument("--moves", type=int, default=1000)
    ap.add_argument("--seed-moves", type=int, default=100_000, help="moves already in the station db")
    ap.add_argument("--size-mb", type=int, default=1040, help="restore database size in MiB (default > 1 GiB)")
    ap.add_argument("--s3", action="store_true", help="also back up / restore through a local moto_server")
    ap.add_argument("--s3-size-mb", type=int, default=128)
    ap.add_argument("--real", action="store_true", help="part 3 only: ours vs litestream replicate at real size")
    ap.add_argument("--station-db", type=Path, default=None, help="real-size station (default: bench.station_size's)")
    ap.add_argument("--real-ships", type=int, default=600, help="orders shipped during part 3")
    ap.add_argument("--real-rate", type=float, default=10.0, help="ships per second during part 3")
    args = ap.parse_args(argv)
    if args.real:
        from bench import station_size

        station = args.station_db or station_size.DEFAULT_DB
        if not station.exists():
            print(f"building {station} …", flush=True)
            station_size.build(station)
        with tempfile.TemporaryDirectory(prefix="bench-backup-real-", dir=station.parent) as tmp:
            print_real(station, bench_real(Path(tmp), station, args.real_ships, args.real_rate),
                       args.real_ships, args.real_rate)
        return
    moto = _Moto() if args.s3 else None
    try:
        with tempfile.TemporaryDirectory(prefix="bench-backup-") as tmp:
            work = Path(tmp)
            print(f"== backup per 1,000 moves (one transaction each; station db seeded with {args.seed_moves:,} moves) ==")
            print(f"{'target':8} {'every':>6} {'cycles':>6} {'cpu s':>7} {'uploaded':>11} {'changed':>11} "
                  f"{'up/chg':>6} {'naive cpu':>9} {'naive bytes':>12} {'naive/ours cpu':>14} {'naive/ours bytes':>16}")
            targets: list[tuple[str, str | None, Any]] = [("file", None, None)]
            if moto:
                targets.append(("s3", "", moto.client))
            for name, _url, client in targets:
                for every in (10, 100):
                    url = moto.url(f"moves-{every}/app.db") if (moto and name == "s3") else None
                    r = bench_moves(work, args.moves, every, url, client, args.seed_moves)
                    print(f"{name:8} {every:>6} {r['cycles']:>6.0f} {r['cpu_s']:>7.3f} {_mb(r['uploaded'])} "
                          f"{_mb(r['changed'])} {r['uploaded'] / r['changed']:>6.2f} {r['naive_cpu_s']:>9.3f} "
                          f"{_mb(r['naive_bytes']):>12} {r['naive_cpu_s'] / r['cpu_s']:>14.1f} "
                          f"{r['naive_bytes'] / r['uploaded']:>16.0f}")
            print(f"(database size at the end: {_mb(r['db_bytes'])}; 'changed' = changed pages x page size)")
            print(f"idle runner (poll 0.5 s, no writes): {bench_idle(work):.3f}% of one core")
            print()
            print("== restore (random 1 MiB blobs: incompressible, worst case) ==")
            print(f"{'target':8} {'size':>11} {'generate':>9} {'snapshot':>9} {'ours':>7} {'litestream':>10} "
                  f"{'file copy':>9} {'ours/copy':>9} {'lt/copy':>7} {'ours MB/s':>9} identical")
            runs: list[tuple[str, int, str | None, Any]] = [("file", args.size_mb, None, None)]
            if moto:
                runs.append(("s3", args.s3_size_mb, moto.url("big/app.db"), moto.client))
            for name, mib, url, client in runs:
                r = bench_restore(work, mib, url, client, name)
                print(f"{name:8} {_mb(r['size'])} {r['gen_s']:>8.1f}s {r['snapshot_s']:>8.1f}s {r['ours_s']:>6.1f}s "
                      f"{r['litestream_s']:>9.1f}s {r['copy_s']:>8.1f}s {r['ours_s'] / r['copy_s']:>9.1f} "
                      f"{r['litestream_s'] / r['copy_s']:>7.1f} {r['size'] / 1e6 / r['ours_s']:>9.0f} "
                      f"{'yes' if r['identical'] else 'NO'}")
    finally:
        if moto:
            moto.stop()


if __name__ == "__main__":
    main()
