"""Ten stations syncing into one cloud on PostgreSQL at once, beside one station alone, in
the same run (issue #12 item 10).

    python -m bench fleet [--stations 10] [--moves 2000]

Each station records ``--moves`` moves offline (receipts and picks, 1,000 per transaction);
then ``packline-cloud ingest`` (one process, PostgreSQL 15 on loopback) and one
``packline-edge sync`` process per station start, all through the provisioned TLS mosquitto.
Measured: moves applied in the cloud per second from the first applied move until every
move is in the cloud and acked at its station.

The stations all serve one warehouse, the heaviest case: the cloud relays every move to
the warehouse's other stations (nine down-messages per move with ten stations), and each
station applies what the others recorded. Prints moves/s for one and for N stations, and
the ratio N / one (1.0: the cloud keeps up with N stations as with one; the machine's
cores are shared by every process, so on a 2-core box the ratio also measures them), and
the cloud ingest's CPU seconds per 1,000 moves in both runs — what the cloud alone spends,
where each real station is its own machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]


def _cloud(url: str, station_ids: tuple[str, ...]) -> sa.Engine:
    from cloud.db import make_engine, migrate
    from cloud.db.schema import stations, warehouses

    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(warehouses).values(id="WH1", name="杭州主仓"))
        conn.execute(sa.insert(stations), [
            {"id": s, "warehouse_id": "WH1", "name": s, "status": "active",
             "created_at": datetime.now(UTC)} for s in station_ids])
    return engine


def run_fleet(broker, root: Path, url: str, station_ids: tuple[str, ...], n: int,  # type: ignore[no-untyped-def]
              tag: str) -> tuple[float, float, float]:
    """(steady moves/s, seconds, ingest CPU seconds) for ``station_ids`` each draining ``n``
    offline moves."""
    from cloud.db.schema import stock_moves
    from cloud.sync.ingest import UP_FILTER
    from edge.sync.broker import MqttBroker
    from tests.sync.harness import make_station, record_moves

    stores = {}
    for i, sid in enumerate(station_ids):
        store = make_station(root / f"{tag}-{sid}.db", sid)
        record_moves(store, n, start=i * n, per_tx=1000)
        stores[sid] = store
    total = n * len(station_ids)
    engine = _cloud(url, station_ids)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    session = MqttBroker(broker.settings("cloud", client_id=f"ingest-{tag}"))
    session.connect()
    session.subscribe(UP_FILTER, qos=1)
    session.disconnect()
    procs = [subprocess.Popen(
        [sys.executable, "-m", "cloud", "--db", url, "ingest", "--host", broker.host,
         "--port", str(broker.cloud_port), "--password", str(broker.cloud.password),
         "--ca-file", broker.ca_file, "--client-id", f"ingest-{tag}"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    time.sleep(1.0)
    start = time.perf_counter()
    for sid in station_ids:
        creds = broker.stations[sid]
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "edge", "--db", str(root / f"{tag}-{sid}.db"), "sync",
             "--host", broker.host, "--port", str(broker.port), "--station", sid,
             "--password", str(creds.password), "--ca-file", broker.ca_file],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        first: tuple[float, int] | None = None
        in_cloud = 0
        while time.perf_counter() - start < 900:
            with engine.connect() as conn:
                in_cloud = conn.execute(sa.select(sa.func.count()).select_from(stock_moves)).scalar_one()
            if first is None and in_cloud:
                first = (time.perf_counter() - start, in_cloud)
            pending = sum(s.queries.outbox_stats().pending for s in stores.values())
            if in_cloud >= total and pending == 0:
                break
            time.sleep(0.2)
        elapsed = time.perf_counter() - start
        t0, c0 = first or (0.0, 0)
        steady = (in_cloud - c0) / max(elapsed - t0, 1e-9)
        if in_cloud < total:
            print(f"  [{tag}] timed out: {in_cloud}/{total} moves in the cloud", flush=True)
        cpu = [_cpu_seconds(p.pid) for p in procs]
        print(f"  [{tag}] cpu: ingest {cpu[0]:.1f}s, sync daemons {sum(cpu[1:]):.1f}s "
              f"over {elapsed:.1f}s wall", flush=True)
    finally:
        for p in procs:
            os.kill(p.pid, signal.SIGTERM)
            p.wait(30)
        for s in stores.values():
            s.close()
        engine.dispose()
    return steady, elapsed, cpu[0]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> None:
    from bench.sync import start_broker
    from tests.fixtures.postgres import start_postgres

    ap = argparse.ArgumentParser(prog="python -m bench fleet")
    ap.add_argument("--stations", type=int, default=10)
    ap.add_argument("--moves", type=int, default=2000, help="moves per station")
    args = ap.parse_args([] if argv is None else argv)
    fleet = tuple(f"st-{i:02d}" for i in range(1, args.stations + 1))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        broker = start_broker(root, fleet)
        server = start_postgres()
        try:
            one, secs1, cpu1 = run_fleet(broker, root, server.create_database(), fleet[:1],
                                   args.moves * len(fleet), "one")
            print(f"one station, {args.moves * len(fleet):,} moves: {one:,.0f} moves/s steady "
                  f"({secs1:.1f}s)", flush=True)
            many, secsn, cpun = run_fleet(broker, root, server.create_database(), fleet, args.moves,
                                    "fleet")
            print(f"{len(fleet)} stations, {args.moves:,} moves each: {many:,.0f} moves/s steady "
                  f"({secsn:.1f}s)")
            total = args.moves * len(fleet)
            print(f"ratio {len(fleet)} stations / one: {many / one:.2f} (moves/s, every process "
                  "on this machine's cores)")
            print(f"cloud ingest CPU per 1,000 moves: one {cpu1 / total * 1000:.2f}s, "
                  f"{len(fleet)} stations {cpun / total * 1000:.2f}s (relay fan-out included); "
                  f"ratio {cpu1 / cpun:.2f}")
        finally:
            server.stop()
            shutil.rmtree(server.root, ignore_errors=True)
            broker.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
