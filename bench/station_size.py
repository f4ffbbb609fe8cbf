"""A station at real size: 100,000 SKUs, 1,000,000 moves, 50,000 orders.

    python -m bench station_size [--db PATH] [--idle-s 20] [--rounds 2]

Builds the station database once (cached at ``var/bench/station-real.db``, git-ignored;
``--db PATH`` builds or reuses another path) through the store's own migrations
(``open_store``), then bulk inserts: 200 locations, 100,000 SKUs with a barcode each,
1,000,000 moves (a receipt per SKU, then ships of 1–3 units) each with its acked outbox
row as the writer leaves them, and 50,000 orders with their lines (most shipped, 2,000
waiting). The balance cache comes from ``Writer.rebuild_balances`` and ``balance_after``
is the running sum per (SKU, location), so ``check`` must find nothing to report. A copy
with an empty outbox (``-empty-outbox.db``) is made beside it for the idle comparison.

Then, side by side in one run (processes started by this bench, measured from
``/proc``):

* start-up to first frame of the kiosk (headless, 120×40) vs a one-widget Textual app;
* the kiosk's idle CPU (status worker every 2 s) at 1,000,000 acked outbox rows vs 0,
  alternating, ``--rounds`` times, as a ratio (flat in the outbox's size: ≈ 1.0);
* resident memory (VmRSS, and VmHWM = peak) of the kiosk, the sync daemon (connected
  to a local mosquitto) and the backup (``backup run --once`` to a ``file://`` replica,
  its first full snapshot) — each should stay under 150 MB;
* ``stock --all`` and ``check`` wall time and peak RSS.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DB = ROOT / "var" / "bench" / "station-real.db"
STATION = "st-01"
_SCALE = float(os.environ.get("BENCH_STATION_SCALE", "1"))  # < 1: a quick try of the bench
SKUS, MOVES, ORDERS, WAITING = (int(n * _SCALE) for n in (100_000, 1_000_000, 50_000, 2_000))
SIZE = (120, 40)
LIMIT_MB = 150


# ------------------------------------------------------------------------ build


def build(path: Path) -> None:
    """Create the real-size station at ``path`` (minutes, once)."""
    from edge.store import open_store

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".building")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    t0 = time.perf_counter()
    open_store(tmp, station_id=STATION).close()  # the schema, by the store's migrations
    db = sqlite3.connect(tmp, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    rnd = random.Random(12)
    stamp = "2026-06-01T08:00:00+00:00"
    db.execute("BEGIN")
    db.execute("INSERT INTO warehouses VALUES ('WH1', '主仓', 'refuse')")
    locs = [f"A-{i:03d}" for i in range(200)]
    db.executemany("INSERT INTO locations VALUES (?, 'WH1', 'A', ?, '')",
                   [(c, c[2:]) for c in locs])
    db.executemany(
        "INSERT INTO skus (sku, name_zh, spec, unit_weight_g, default_location, updated_at) "
        "VALUES (?, ?, '', ?, ?, ?)",
        ((f"SKU-{i:06d}", f"商品 {i}", 50 + i % 900, locs[i % 200], stamp) for i in range(SKUS)))
    db.executemany("INSERT INTO barcodes VALUES (?, ?, 1)",
                   ((f"69{i:011d}", f"SKU-{i:06d}") for i in range(SKUS)))
    db.execute("INSERT INTO operators (operator_id, name, role, badge) "
               "VALUES ('P1', '打包员', 'packer', 'B-P1')")
    db.execute("COMMIT")
    balance: dict[int, int] = {}

    def moves() -> Any:
        for n in range(MOVES):
            if n < SKUS:
                i, qty, reason, src = n, 200, 10, ("po", f"PO-{n // 100:05d}")
            else:
                i, qty, reason = rnd.randrange(SKUS), -rnd.randint(1, 3), 31
                src = ("order", f"O{n % ORDERS:06d}")
            balance[i] = balance.get(i, 0) + qty
            at = f"2026-{1 + n * 12 // MOVES:02d}-{1 + n % 28:02d}T{n % 24:02d}:00:00+00:00"
            mid = str(uuid.UUID(int=rnd.getrandbits(128)))
            yield (mid, f"SKU-{i:06d}", locs[i % 200], qty, balance[i], reason, src[0], src[1],
                   at, at)

    t1 = time.perf_counter()
    rows = moves()
    while True:
        chunk = list(itertools.islice(rows, 50_000))
        if not chunk:
            break
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO stock_moves (move_id, warehouse_id, sku, location, qty_delta, "
            "balance_after, reason, source_type, source_id, operator_id, station_id, "
            f"occurred_at, recorded_at) VALUES (?, 'WH1', ?, ?, ?, ?, ?, ?, ?, 'P1', '{STATION}', "
            "?, ?)", chunk)
        db.executemany(
            "INSERT INTO outbox (msg_id, kind, payload, created_at, attempts, last_sent_at, "
            "acked_at) VALUES (?, 'move', ?, ?, 1, ?, ?)",
            ((c[0], _payload(c), c[8], c[8], c[8]) for c in chunk))
        db.execute("COMMIT")
    print(f"  moves + outbox: {time.perf_counter() - t1:.0f}s", flush=True)
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO orders (order_id, platform, shop_id, platform_order_no, status, waybill_no, "
        "carrier, receiver_masked, ordered_at, updated_at, shipped_at, shipped_by) "
        "VALUES (?, 'pdd', 'S1', ?, ?, ?, 'SF', ?, ?, ?, ?, ?)",
        ((f"O{n:06d}", f"PDD-{n:09d}", "waiting" if n >= ORDERS - WAITING else "shipped",
          f"SF{n:012d}", '{"name": "张*", "city": "杭州市"}', stamp, stamp,
          None if n >= ORDERS - WAITING else stamp, None if n >= ORDERS - WAITING else "P1")
         for n in range(ORDERS)))
    db.executemany("INSERT INTO order_lines VALUES (?, ?, ?, ?)",
                   ((f"O{n:06d}", k + 1, f"SKU-{(n * 7 + k) % SKUS:06d}", 1 + k)
                    for n in range(ORDERS) for k in range(1 + n % 2)))
    db.execute("COMMIT")
    db.close()
    store = open_store(tmp, station_id=STATION)
    store.writer.rebuild_balances()
    store.close()
    os.replace(tmp, path)
    empty = empty_outbox_copy(path)
    shutil.copyfile(path, empty)
    e = sqlite3.connect(empty)
    e.execute("DELETE FROM outbox")
    e.commit()
    e.execute("VACUUM")
    e.close()
    print(f"  built {path} ({path.stat().st_size / 2**20:,.0f} MiB) in "
          f"{time.perf_counter() - t0:.0f}s", flush=True)


def _payload(c: tuple[Any, ...]) -> str:
    """An outbox payload of the size and shape the writer stores for a move."""
    return json.dumps({
        "move_id": c[0], "warehouse_id": "WH1", "sku": c[1], "location": c[2],
        "qty_delta": c[3], "balance_after": c[4], "reason": c[5], "source_type": c[6],
        "source_id": c[7], "source_line": None, "operator_id": "P1", "station_id": STATION,
        "device_id": None, "occurred_at": c[8].replace("+00:00", "Z"),
        "recorded_at": c[9].replace("+00:00", "Z"), "reverses_move_id": None, "note": None,
    }, separators=(",", ":"))


def empty_outbox_copy(path: Path) -> Path:
    return path.with_name(path.stem + "-empty-outbox.db")


# --------------------------------------------------------------- child processes


def _child(kind: str, db: str) -> None:
    """``python -m bench.station_size --child kiosk|echo DB``: run headless, print READY
    on the first frame, then idle until killed."""
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    app: Any
    if kind == "kiosk":
        from edge.ui.app import make_app
        from edge.ui.services import KioskSettings

        app = make_app(KioskSettings(db_path=Path(db)))
    else:
        class Echo(App[None]):
            def compose(self) -> ComposeResult:
                yield Static("echo")

        app = Echo()
    original = app._display
    done = [False]

    def display(screen: Any, renderable: Any) -> None:
        original(screen, renderable)
        if renderable is not None and not done[0]:
            done[0] = True
            print("READY", flush=True)

    app._display = display
    app.run(headless=True, size=SIZE)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _mem_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB."""
    got = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            got[key] = int(value.split()[0]) / 1024
    return got["VmRSS"], got["VmHWM"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def app_run(kind: str, db: Path, idle_s: float) -> tuple[float, float, float, float]:
    """(start-up s, idle CPU % of a core, VmRSS MB, VmHWM MB) of one headless app."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "bench.station_size", "--child", kind, str(db)],
                            cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        startup = time.perf_counter() - t0
        if "READY" not in line:
            raise RuntimeError(f"{kind} did not start (exit {proc.poll()})")
        time.sleep(3.0)  # settle: the first status reads, lazy imports
        c0, w0 = _cpu_s(proc.pid), time.perf_counter()
        time.sleep(idle_s)
        cpu = (_cpu_s(proc.pid) - c0) / (time.perf_counter() - w0) * 100
        rss, hwm = _mem_mb(proc.pid)
        return startup, cpu, rss, hwm
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cli_run(db: Path, *args: str) -> tuple[float, float]:
    """(wall s, peak RSS MB) of ``python -m edge --db DB ARGS``. The peak is the child's
    VmHWM polled every 20 ms (``ru_maxrss`` would count this process's pages at fork)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "edge", "--db", str(db), *args], cwd=ROOT,
                            env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0.0
    while proc.poll() is None:
        try:
            peak = max(peak, _mem_mb(proc.pid)[1])
        except (OSError, KeyError):
            pass  # exiting: VmHWM is gone with its memory
        time.sleep(0.02)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise RuntimeError(f"edge {' '.join(args)} exited {proc.returncode}: {err[-300:]}")
    return wall, peak


def sync_daemon_mem(db: Path, run_s: float = 8.0) -> tuple[float, float]:
    """(VmRSS, VmHWM) MB of ``packline-edge sync`` connected to a local mosquitto."""
    from bench.sync import start_broker

    with tempfile.TemporaryDirectory() as tmp:
        broker = start_broker(Path(tmp), (STATION,))
        try:
            creds = broker.stations[STATION]
            proc = subprocess.Popen(
                [sys.executable, "-m", "edge", "--db", str(db), "sync", "--host", broker.host,
                 "--port", str(broker.port), "--station", STATION, "--password",
                 str(creds.password), "--ca-file", broker.ca_file],
                cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                time.sleep(run_s)
                if proc.poll() is not None:
                    raise RuntimeError(f"sync daemon exited {proc.returncode}")
                return _mem_mb(proc.pid)
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(20)
        finally:
            broker.stop()


def backup_mem(db: Path) -> tuple[float, float]:
    """(wall s, peak RSS MB) of ``backup run --once`` (first full snapshot) to file://."""
    with tempfile.TemporaryDirectory(dir=db.parent) as tmp:
        return cli_run(db, "backup", "run", "--target", f"file://{tmp}/replica", "--once")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench station_size")
    ap.add_argument("--db", type=Path, default=DEFAULT_DB, help=f"default {DEFAULT_DB}")
    ap.add_argument("--idle-s", type=float, default=20.0, help="idle CPU window (s)")
    ap.add_argument("--rounds", type=int, default=2, help="alternating idle rounds")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "DB"), help=argparse.SUPPRESS)
    args = ap.parse_args([] if argv is None else argv)
    if args.child:
        _child(*args.child)
        return
    db: Path = args.db
    if not db.exists() or not empty_outbox_copy(db).exists():
        print(f"building {db} …", flush=True)
        build(db)
    empty = empty_outbox_copy(db)
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    counts = {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
              for t in ("skus", "stock_moves", "orders", "outbox")}
    con.close()
    print(f"station {db} ({db.stat().st_size / 2**20:,.0f} MiB): "
          + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
    full: list[tuple[float, float, float, float]] = []
    bare: list[tuple[float, float, float, float]] = []
    echo: list[tuple[float, float, float, float]] = []
    for _ in range(args.rounds):
        echo.append(app_run("echo", db, args.idle_s))
        full.append(app_run("kiosk", db, args.idle_s))
        bare.append(app_run("kiosk", empty, args.idle_s))
    print(f"{'':34}{'start-up s':>11}{'idle CPU %':>11}{'RSS MB':>8}{'peak MB':>8}  (per round)")
    for name, runs in (("echo app", echo), ("kiosk, 1,000,000 outbox rows", full),
                       ("kiosk, 0 outbox rows", bare)):
        for r in runs:
            print(f"{name:34}{r[0]:11.2f}{r[1]:11.2f}{r[2]:8.0f}{r[3]:8.0f}")
    for i, (f, b, e) in enumerate(zip(full, bare, echo, strict=True)):
        print(f"round {i + 1}: idle CPU 1M/0 outbox = {f[1] / max(b[1], 1e-9):.2f}x; "
              f"kiosk start-up / echo start-up = {f[0] / e[0]:.2f}x")
    sync_rss, sync_hwm = sync_daemon_mem(db)
    print(f"sync daemon: RSS {sync_rss:.0f} MB, peak {sync_hwm:.0f} MB")
    wall, backup_peak = backup_mem(db)
    print(f"backup run --once (first snapshot): {wall:.1f}s, peak RSS {backup_peak:.0f} MB")
    for cmd in (("stock", "--all"), ("check",)):
        wall, peak = cli_run(db, *cmd)
        print(f"{' '.join(cmd)}: {wall:.2f}s, peak RSS {peak:.0f} MB")
    worst = max([r[3] for r in full + bare] + [sync_hwm, backup_peak])
    print(f"largest peak of a long-running process: {worst:.0f} MB (limit {LIMIT_MB} MB)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[1:])
