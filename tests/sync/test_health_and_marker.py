"""``packline-edge restore`` marks a station copy for one resync; the daemon reports backup
health and backlog on ``up/health`` (not through the outbox) and the cloud keeps the latest."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner

from cloud.db.schema import station_health
from cloud.sync.ingest import Ingest, IngestSettings
from edge.backup import Replicator, open_target
from edge.backup.cli import main as backup_cli
from edge.backup.replicator import read_health, sidecar_dir
from edge.backup.runner import BackupRunner
from edge.store import Store
from edge.sync.daemon import DaemonSettings, SyncDaemon
from edge.sync.fake_broker import FakeBrokerServer, packline_acl
from edge.sync.health import build_health
from edge.sync.resync import PENDING_KEY, mark_restored
from edge.sync.schema import HealthWire, up_topic
from tests.sync.harness import make_cloud, make_station, record_moves
from tests.sync.helpers import envelope, wait_until


def test_restore_command_marks_a_station_copy_once_and_only_a_station_copy(tmp_path: Path) -> None:
    store = make_station(tmp_path / "st.db", "st-01")
    record_moves(store, 5)
    url = f"file://{tmp_path}/rep"
    Replicator(str(tmp_path / "st.db"), open_target(url)).sync()
    cli = CliRunner()
    r = cli.invoke(backup_cli, ["restore", "--target", url, str(tmp_path / "new.db")])
    assert r.exit_code == 0, r.output
    assert "marked: the sync daemon resyncs with the cloud once" in r.output
    conn = sqlite3.connect(tmp_path / "new.db")
    (raw,) = conn.execute("SELECT value FROM settings WHERE key = ?", [PENDING_KEY]).fetchone()
    assert conn.execute("SELECT value FROM settings WHERE key = 'station_id'").fetchone() == \
        store.writer.db.execute("SELECT value FROM settings WHERE key = 'station_id'").fetchone()
    conn.close()
    marker = json.loads(raw)
    assert marker["txid"] == 1 and len(marker["msg_id"]) == 36
    assert datetime.fromisoformat(marker["restore_point"]) <= datetime.fromisoformat(marker["restored_at"])
    # inspection only: no marker
    r = cli.invoke(backup_cli, ["restore", "--no-resync-mark", "--target", url, str(tmp_path / "look.db")])
    assert r.exit_code == 0 and "marked" not in r.output
    conn = sqlite3.connect(tmp_path / "look.db")
    assert conn.execute("SELECT COUNT(*) FROM settings WHERE key = ?", [PENDING_KEY]).fetchone() == (0,)
    conn.close()
    # not a station database: left exactly as restored
    plain = tmp_path / "plain.db"
    c = sqlite3.connect(plain)
    c.execute("CREATE TABLE t (x)")
    c.execute("INSERT INTO t VALUES (1)")
    c.commit()
    c.close()
    assert mark_restored(str(plain), txid=1, restore_point=None) is False
    c = sqlite3.connect(plain)
    assert c.execute("SELECT name FROM sqlite_master").fetchall() == [("t",)]
    c.close()


def test_marker_without_a_backup_time_uses_the_newest_time_in_the_copy(tmp_path: Path) -> None:
    store = make_station(tmp_path / "st.db", "st-01")
    record_moves(store, 3)
    db = store.writer.db
    newest = max(db.execute("SELECT MAX(recorded_at) FROM stock_moves").fetchone()[0],
                 db.execute("SELECT MAX(created_at) FROM outbox").fetchone()[0])
    store.close()
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert mark_restored(str(tmp_path / "st.db"), txid=0, restore_point=None, now=now)
    c = sqlite3.connect(tmp_path / "st.db")
    marker = json.loads(c.execute("SELECT value FROM settings WHERE key = ?", [PENDING_KEY]).fetchone()[0])
    c.close()
    assert datetime.fromisoformat(marker["restore_point"]) == datetime.fromisoformat(newest)
    assert marker["restored_at"] == now.isoformat()


def test_backup_health_is_read_from_the_sidecar_without_touching_it(tmp_path: Path) -> None:
    db = tmp_path / "st.db"
    store = make_station(db, "st-01")
    assert read_health(str(db)) is None and build_health(str(db), store.queries, store.writer.clock()).backup_configured is False
    runner = BackupRunner(str(db), f"file://{tmp_path}/rep")
    runner.replicator.sync()
    before = sorted(p.name for p in Path(sidecar_dir(str(db))).rglob("*"))
    h = read_health(str(db))
    assert h is not None and h.last_error is None
    assert (h.txid, h.uploaded_txid, h.lag_txids) == (1, 1, 0)
    assert h.last_success_at == runner.health().last_success_at
    assert sorted(p.name for p in Path(sidecar_dir(str(db))).rglob("*")) == before
    # captured but not uploaded: lag in transactions; an error the runner recorded shows too
    record_moves(store, 2)
    runner.replicator.capture()
    runner._failed(RuntimeError("S3 unreachable"))
    h = read_health(str(db))
    assert h is not None and (h.txid, h.uploaded_txid, h.lag_txids) == (2, 1, 1)
    assert h.last_error == "RuntimeError: S3 unreachable"
    wire = build_health(str(db), store.queries, store.writer.clock())
    assert wire.backup_configured and wire.backup_lag_txids == 1 and wire.outbox_backlog == 2
    assert wire.backup_last_error == "RuntimeError: S3 unreachable"
    runner.replicator.upload()  # a success clears the recorded error
    h = read_health(str(db))
    assert h is not None and (h.lag_txids, h.last_error) == (0, None)


def _health_world(tmp_path: Path) -> tuple[sa.Engine, Ingest, Store, SyncDaemon]:
    server = FakeBrokerServer(acl=packline_acl())
    engine = make_cloud(tmp_path / "cloud.db", ("st-01",))
    ingest = Ingest(engine, server.client("cloud-ingest", username="cloud"), IngestSettings(tick=0))
    ingest.bus.start()
    store = make_station(tmp_path / "st-01.db", "st-01")
    daemon = SyncDaemon(store, server.client("st-01", username="st-01"),
                        DaemonSettings(tick=0, health_every=60.0, health_check_every=0.0))
    daemon.start()
    return engine, ingest, store, daemon


def _health_rows(engine: sa.Engine) -> list[sa.Row[tuple[object, ...]]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(station_health)).all())


def test_daemon_reports_health_on_change_and_the_cloud_keeps_the_latest(tmp_path: Path) -> None:
    engine, ingest, store, daemon = _health_world(tmp_path)
    BackupRunner(store.path, f"file://{tmp_path}/rep").replicator.sync()
    record_moves(store, 3)
    outbox_before = store.writer.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    daemon.step(0)  # publishes the moves and the first report
    assert daemon.health.sent == 1 and daemon.health.last is not None
    assert daemon.health.last.outbox_backlog == 3 and daemon.health.last.backup_txid == 1
    daemon.step(0)  # nothing changed: no new report within the minute
    assert daemon.health.sent == 1
    ingest.step(0)
    rows = _health_rows(engine)
    assert len(rows) == 1 and rows[0].station_id == "st-01"
    assert rows[0].outbox_backlog == 3 and rows[0].detail["backup_configured"] is True
    assert rows[0].backup_last_success_at is not None
    # the acks drain the backlog: a change, reported at once
    wait_until(lambda: store.queries.outbox_stats().pending == 0, 10,
               lambda: (daemon.step(0), ingest.step(0)), "acks")
    daemon.step(0)
    ingest.step(0)
    assert daemon.health.sent >= 2
    rows = _health_rows(engine)
    assert len(rows) == 1 and rows[0].outbox_backlog == 0
    # health never went into the station's outbox (only the 3 moves did)
    assert store.writer.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == outbox_before
    assert store.writer.db.execute(
        "SELECT COUNT(*) FROM outbox WHERE kind = 'health'").fetchone() == (0,)


def test_a_late_older_health_report_does_not_replace_a_newer_one(tmp_path: Path) -> None:
    engine, ingest, _store, daemon = _health_world(tmp_path)
    daemon.step(0)
    ingest.step(0)
    (latest,) = _health_rows(engine)
    old = HealthWire(backup_configured=True, backup_lag_seconds=99.0, outbox_backlog=42)
    raw = json.loads(envelope("health", "st-01", old.model_dump(mode="json"), "old-health-1"))
    raw["created_at"] = (latest.reported_at - timedelta(minutes=5)).isoformat()
    client = daemon.broker
    client.publish(up_topic("st-01", "health"), json.dumps(raw).encode())
    ingest.step(0)
    (row,) = _health_rows(engine)
    assert (row.msg_id, row.outbox_backlog) == (latest.msg_id, latest.outbox_backlog)
    newer = HealthWire(backup_configured=True, backup_lag_seconds=1.5, outbox_backlog=7)
    raw = json.loads(envelope("health", "st-01", newer.model_dump(mode="json"), "new-health-1"))
    raw["created_at"] = (latest.reported_at + timedelta(minutes=5)).isoformat()
    client.publish(up_topic("st-01", "health"), json.dumps(raw).encode())
    ingest.step(0)
    (row,) = _health_rows(engine)
    assert (row.msg_id, row.outbox_backlog, row.backup_lag_seconds) == ("new-health-1", 7, 1.5)
    assert ingest.counters.health_reports == 3 and ingest.counters.dead_letters == 0
