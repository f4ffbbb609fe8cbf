"""The restore drill (docs/restore-drill.md), end to end with real processes.

A real mosquitto (TLS, ACLs, accounts from provisioning), moto's S3 on loopback, the cloud's
``packline-cloud ingest`` and station A's ``packline-edge sync`` and ``packline-edge backup
run`` as processes configured only by provisioning's ``cloud.env`` and ``station.env``
(the CA path and ``PACKLINE_HOME`` stand in for ``/etc/packline`` and ``/var/lib/packline``,
as ``setup-station.sh --root`` does). Station B of the same warehouse syncs in a thread.

Station A's card dies after it recorded moves that reached the cloud but not the backup,
after the cloud sent it a task and an intercept it acked, and while moves it recorded before
the backup point were still unacked in the backup, and after it packed and shipped an order
the backup had as waiting. A new machine restores with
``packline-edge restore`` (and the real ``litestream restore`` reads the same replica), starts
sync with the same ``station.env`` and ends with: the cloud holds exactly the moves both
stations wrote, once each; A's balances equal the cloud's; A has the task and the intercept
again, and the order it shipped is shipped again (same time and packer, no new shipment,
refused if scanned again); the resync ran once; the backup goes on in the same replica.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from cloud.db.schema import station_health, station_shipments
from cloud.sync.outbound import pending_count, send_intercept, send_task
from cloud.sync.resync import resync_count
from edge.backup.replicator import read_health, sidecar_dir
from edge.store import Store
from edge.store.packing import PackingWriter, ShipRefused, StoreOrderSource
from edge.sync.broker import MqttBroker
from edge.sync.daemon import DaemonSettings, SyncDaemon
from edge.sync.outbox import OutboxSettings
from edge.sync.resync import PENDING_KEY, REQUESTED_KEY
from edge.sync.schema import TaskLineWire, TaskWire
from provisioning.core import read_env_file
from tests.edge.backup.helpers import Moto, litestream_restore
from tests.fixtures.mosquitto import MosquittoFactory
from tests.sync.harness import (
    assert_converged,
    cloud_move_ids,
    converged,
    make_cloud,
    make_station,
    own_move_ids,
    record_moves,
)
from tests.sync.helpers import wait_until

pytestmark = [pytest.mark.broker, pytest.mark.slow, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]


class Processes:
    """Started processes, each stopped by its pid at teardown."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with open(self.logs / f"{name}.log", "ab") as log:  # the child keeps its own descriptor
            proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=log,
                                    stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    @staticmethod
    def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
        if proc.poll() is None:
            os.kill(proc.pid, sig)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(5)

    def stop_all(self) -> None:
        for proc in self.procs:
            self.stop(proc)
        for log in sorted(self.logs.glob("*.log")):  # shown by pytest when the test failed
            print(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:]))


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    p = Processes(tmp_path)
    try:
        yield p
    finally:
        p.stop_all()


def base_env(values: dict[str, str], **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PACKLINE_", "AWS_"))}
    env.update(values)
    env.update(overrides)
    # ROOT first; the rest kept (tests/timetravel moves the child processes' clock too)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def run_edge(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``packline-edge ARGS`` as the operator runs it, with ``station.env`` in the environment."""
    return subprocess.run([sys.executable, "-m", "edge", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def task(order_id: str) -> TaskWire:
    return TaskWire(order_id=order_id, platform="pdd", platform_order_no=f"PDD-{order_id}",
                    waybill_no=f"YT{order_id}", carrier="YTO", ordered_at=datetime(2026, 11, 23, 7, 0, tzinfo=UTC),
                    lines=[TaskLineWire(line_no=1, sku="CUP-350", qty=1)])


def order_state(store: Store, order_id: str) -> tuple[Any, ...] | None:
    row = store.writer.db.execute(
        "SELECT status, intercept_reason FROM orders WHERE order_id = ?", [order_id]).fetchone()
    return tuple(row) if row else None


def shipped_row(store: Store, order_id: str) -> tuple[Any, ...] | None:
    row = store.writer.db.execute(
        "SELECT status, shipped_at, shipped_by FROM orders WHERE order_id = ?", [order_id]).fetchone()
    return tuple(row) if row else None


def moves_rows(path: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT * FROM stock_moves ORDER BY move_id").fetchall()
    finally:
        conn.close()


def backed_up_since(db: Path, t: float) -> bool:
    """The backup captured a change after ``t`` and uploaded everything it captured."""
    try:
        meta = json.loads((Path(sidecar_dir(str(db))) / "meta.json").read_text())
    except (OSError, ValueError):
        return False
    health = read_health(str(db))
    return meta.get("last_capture_ms", 0) > t * 1000 and health is not None and health.lag_txids == 0


def shipments(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(station_shipments)).scalar_one())


def test_restore_drill(
    mosquitto_factory: MosquittoFactory, moto: Moto, bucket: str, processes: Processes, tmp_path: Path,
) -> None:
    t_start = time.monotonic()
    # -- provisioning: station B from the fixture, station A enrolled with its S3 prefix
    broker = mosquitto_factory(stations=("st-02",), cert_stations=())
    prov = broker.provisioner
    enrolment = prov.enrol("st-01", "WH1", s3_endpoint=moto.endpoint, s3_bucket=bucket)
    broker.reload()  # enrol rewrote passwd and ACL
    station_env = read_env_file(enrolment.env_file)
    cloud_env = read_env_file(prov.state_dir / "cloud.env")
    assert cloud_env["PACKLINE_CLOUD_BROKER_PORT"] == str(broker.cloud_port)
    machine1, machine2 = tmp_path / "machine-1", tmp_path / "machine-2"
    a_env = base_env(station_env, PACKLINE_BROKER_CA=broker.ca_file, PACKLINE_HOME=str(machine1))
    url = station_env["PACKLINE_BACKUP_URL"]
    assert url.startswith(f"s3://{bucket}/stations/WH1/st-01/edge.db?endpoint=")

    engine = make_cloud(tmp_path / "cloud.db", ("st-01", "st-02"))
    cloud_args = ["-m", "cloud", "--db", f"sqlite:///{tmp_path / 'cloud.db'}", "ingest", "--resend-after", "1"]
    processes.start("ingest", cloud_args, base_env(cloud_env))
    a_db = machine1 / "edge.db"
    a = make_station(a_db, "st-01")  # the kiosk's connection
    sync_args = ["-m", "edge", "sync", "--resend-after", "1"]
    backup_args = ["-m", "edge", "backup", "run", "--interval", "0.3"]
    a_sync = processes.start("a-sync-1", sync_args, a_env)
    a_backup = processes.start("a-backup-1", backup_args, a_env)

    b_db = tmp_path / "st-02.db"
    b = make_station(b_db, "st-02")
    b_sync_store = make_station(b_db, "st-02")
    b_client = MqttBroker(broker.settings("st-02"))
    b_daemon = SyncDaemon(b_sync_store, b_client, DaemonSettings(
        outbox=OutboxSettings(resend_after=1.0, max_resend_after=4.0)))
    b_thread = threading.Thread(target=b_daemon.run, name="sync-st-02", daemon=True)
    b_thread.start()
    try:
        def idle() -> bool:
            with engine.connect() as conn:
                return pending_count(conn) == 0

        # -- 1. both stations record and sync while A's backup replicates to S3
        a_ids = record_moves(a, 30, per_tx=3)
        b_ids = record_moves(b, 20, per_tx=2)
        with engine.begin() as conn:
            send_task(conn, "st-01", task("O-1"), now=datetime.now(UTC))
            send_task(conn, "st-01", task("O-3"), now=datetime.now(UTC))
        wait_until(lambda: converged(engine, [a, b]) and idle() and order_state(a, "O-1") is not None
                   and order_state(a, "O-3") is not None,
                   40, what="phase 1 convergence")

        # -- 2. moves recorded while A's link is down reach the backup but not the cloud yet
        processes.stop(a_sync)
        t_backup = time.time()
        unacked_in_backup = record_moves(a, 10, start=30, per_tx=5)
        a_ids += unacked_in_backup
        wait_until(lambda: backed_up_since(a_db, t_backup), 30, what="the backup of phase 2")
        processes.stop(a_backup)
        # the last upload before the card dies: one more pass, so the point surely holds all 10
        once = run_edge(["backup", "run", "--once"], a_env)
        assert once.returncode == 0 and "正常 / OK" in once.stdout, once.stdout + once.stderr
        backup_txid = read_health(str(a_db)).txid  # type: ignore[union-attr]

        # -- 3. after the backup point: A's link is back, everything reaches the cloud and is acked
        a_sync = processes.start("a-sync-2", sync_args, a_env)
        lost_own = record_moves(a, 15, start=40, per_tx=5)
        a_ids += lost_own
        o3 = StoreOrderSource(a.queries).order("O-3")
        assert o3 is not None
        ship_ids = list(PackingWriter(a.writer).ship(o3, operator_id="P07", weight_g=400).move_ids)
        a_ids += ship_ids
        lost_own += ship_ids
        b_ids += record_moves(b, 10, start=20, per_tx=2)
        with engine.begin() as conn:
            send_task(conn, "st-01", task("O-2"), now=datetime.now(UTC))
            send_intercept(conn, "st-01", "O-1", "买家申请退款", now=datetime.now(UTC))
        wait_until(lambda: converged(engine, [a, b]) and idle()
                   and order_state(a, "O-1") == ("intercepted", "买家申请退款")
                   and order_state(a, "O-2") is not None and shipments(engine) == 1, 40,
                   what="phase 3 convergence")
        balances_before = a.queries.cached_balances()
        orders_before = [order_state(a, o) for o in ("O-1", "O-2")]
        shipped_before = shipped_row(a, "O-3")
        assert shipped_before is not None and shipped_before[0] == "shipped"
        with engine.connect() as conn:
            health = conn.execute(sa.select(station_health).where(station_health.c.station_id == "st-01")).one()
        assert health.detail["backup_configured"] is True and health.backup_last_success_at is not None

        # -- 4. the card dies: processes killed, database and backup sidecar gone
        processes.stop(a_sync, signal.SIGKILL)
        a.close()
        shutil.rmtree(machine1)

        # -- 5. the new machine: same station.env, restore from S3
        a2_env = base_env(station_env, PACKLINE_BROKER_CA=broker.ca_file, PACKLINE_HOME=str(machine2))
        machine2.mkdir()
        a2_db = machine2 / "edge.db"
        out = run_edge(["restore", "--target", url, str(a2_db)], a2_env)
        assert out.returncode == 0, out.stderr
        assert f"txid {backup_txid} " in out.stdout and "marked: the sync daemon resyncs" in out.stdout
        lt = litestream_restore(url, tmp_path / "litestream.db")
        assert lt.returncode == 0, lt.stderr
        assert moves_rows(tmp_path / "litestream.db") == moves_rows(a2_db)  # before the daemon touches it
        check = run_edge(["check"], a2_env)
        assert check.returncode == 0, check.stdout + check.stderr
        a2 = make_station(a2_db, "st-01")
        assert a2.queries.setting(PENDING_KEY) is not None
        assert own_move_ids(a2) == set(a_ids) - set(lost_own)  # behind the crash
        assert {r[0] for r in a2.writer.db.execute(
            "SELECT msg_id FROM outbox WHERE acked_at IS NULL AND kind = 'move'")} == set(unacked_in_backup)
        assert order_state(a2, "O-1") is not None and order_state(a2, "O-1") != orders_before[0]
        assert order_state(a2, "O-2") is None
        assert shipped_row(a2, "O-3") == ("waiting", None, None)

        # -- 6. services start on the new machine: sync resyncs once, the backup goes on
        a_sync = processes.start("a-sync-3", sync_args, a2_env)
        a_backup = processes.start("a-backup-2", backup_args, a2_env)
        wait_until(lambda: converged(engine, [a2, b]) and idle()
                   and [order_state(a2, o) for o in ("O-1", "O-2")] == orders_before
                   and shipped_row(a2, "O-3") == shipped_before,
                   40, what="convergence after the restore")
        # shipped again as it was: no new shipment message, and it cannot be shipped twice
        assert a2.writer.db.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'shipment'").fetchone() == (0,)
        o3_again = StoreOrderSource(a2.queries).order("O-3")
        assert o3_again is not None
        with pytest.raises(ShipRefused):
            PackingWriter(a2.writer).ship(o3_again, operator_id="P07", weight_g=400)

        in_cloud = cloud_move_ids(engine)
        assert [m for m, c in Counter(in_cloud).items() if c > 1] == []
        assert set(in_cloud) == set(a_ids) | set(b_ids) and len(in_cloud) == 30 + 10 + 15 + 1 + 30
        assert own_move_ids(a2) == set(a_ids)
        assert a2.queries.cached_balances() == balances_before
        assert_converged(engine, [a2, b])
        request = a2.queries.setting(REQUESTED_KEY)
        assert request and a2.queries.setting(PENDING_KEY) is None
        with engine.connect() as conn:
            assert resync_count(conn, "st-01") == 1
        assert shipments(engine) == 1

        # a restart of the sync service does not resync again
        processes.stop(a_sync)
        a_sync = processes.start("a-sync-4", sync_args, a2_env)
        record_moves(a2, 3, start=55)
        wait_until(lambda: converged(engine, [a2, b]) and idle(), 30, what="after a restart")
        assert a2.writer.db.execute(
            "SELECT COUNT(*), COUNT(acked_at) FROM outbox WHERE kind = 'resync'").fetchone() == (1, 1)
        with engine.connect() as conn:
            assert resync_count(conn, "st-01") == 1

        # the new machine's backup continues the same replica: litestream restores its state
        t_new = time.time()
        wait_until(lambda: backed_up_since(a2_db, t_new), 30, what="the new machine's backup")
        h = read_health(str(a2_db))
        assert h is not None and h.txid > backup_txid
        processes.stop(a_backup)
        status = run_edge(["backup", "status"], a2_env)
        assert status.returncode == 0 and "正常 / OK" in status.stdout, status.stdout + status.stderr
        check = run_edge(["check"], a2_env)
        assert check.returncode == 0, check.stdout + check.stderr
        lt2 = litestream_restore(url, tmp_path / "litestream-2.db")
        assert lt2.returncode == 0, lt2.stderr
        assert {r[0] for r in moves_rows(tmp_path / "litestream-2.db")} == {
            r[0] for r in moves_rows(a2_db)}
        a2.close()
    finally:
        b_daemon.stop_event.set()
        b_thread.join(10)
        b_client.disconnect()
        b.close()
    assert time.monotonic() - t_start < 120
