"""CLI commands, retention, progress, health and the runner's idle behaviour."""

from __future__ import annotations

import os
import time
from pathlib import Path

from click.testing import CliRunner

from edge.backup import BackupRunner, Replicator, open_target, restore
from edge.backup.cli import main as cli_main
from edge.backup.cli import parse_txid
from tests.edge.backup.helpers import (
    integrity,
    litestream_restore,
    open_station_db,
    rows,
    write_moves,
)


def test_cli_run_once_status_and_restore(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    conn = open_station_db(db)
    write_moves(conn, 25)
    url = f"file://{tmp_path}/rep"
    cli = CliRunner()
    r = cli.invoke(cli_main, ["backup", "run", "--once", "--db", str(db), "--target", url])
    assert r.exit_code == 0, r.output
    assert "正常 / OK" in r.output and "新 txid 1" in r.output
    write_moves(conn, 25, start=25)
    r = cli.invoke(cli_main, ["backup", "run", "--once", "--db", str(db)], env={"PACKLINE_BACKUP_URL": url})
    assert r.exit_code == 0 and "txid 2/2" in r.output
    r = cli.invoke(cli_main, ["backup", "status", "--db", str(db), "--target", url])
    assert r.exit_code == 0
    assert "已上传 txid 2/2" in r.output and "最新 txid latest 2" in r.output
    r = cli.invoke(cli_main, ["restore", "--target", url, "--txid", "0000000000000001", str(tmp_path / "one.db")])
    assert r.exit_code == 0, r.output
    assert "已恢复 / restored" in r.output and "txid 1 (0000000000000001)" in r.output
    assert len(rows(tmp_path / "one.db")) == 25
    r = cli.invoke(cli_main, ["restore", "--target", url, "--txid", "1", "--at", "2026-01-01", str(tmp_path / "x.db")])
    assert r.exit_code == 2 and "--txid" in r.output
    r = cli.invoke(cli_main, ["restore", "--target", "ftp://nope", str(tmp_path / "y.db")])
    assert r.exit_code == 1 and "不支持的备份地址 / unsupported replica URL" in r.output
    assert "Traceback" not in r.output
    r = cli.invoke(cli_main, ["restore", "--target", url, "--at", "2000-01-01T00:00:00Z", str(tmp_path / "z.db")])
    assert r.exit_code == 1 and "错误 / error:" in r.output
    assert parse_txid("0x10") == 16 and parse_txid("10") == 10 and parse_txid("0000000000000010") == 16


def test_retention_drops_old_snapshots_without_breaking_the_chain(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    conn = open_station_db(db)
    now = [1_790_000_000.0]
    target = open_target(f"file://{tmp_path}/rep")
    rep = Replicator(str(db), target, snapshot_interval=3600, retention=2 * 3600, clock=lambda: now[0])
    states = {}
    for k in range(12):                          # one sync every 30 minutes for 6 hours
        write_moves(conn, 10, start=10 * k)
        txid = rep.sync()
        assert txid is not None
        states[txid] = rows(db)
        now[0] += 1800
    snaps = [(i.min_txid, i.max_txid) for i in target.files(9)]
    l0 = [i.max_txid for i in target.files(0)]
    oldest = snaps[0][1]
    assert len(snaps) == 3 and all(lo == 1 for lo, _ in snaps)      # ~2 h of hourly snapshots
    assert l0 == list(range(oldest + 1, 13))                      # contiguous from the oldest kept
    for txid in (oldest, oldest + 1, 12):
        out = tmp_path / f"r{txid}.db"
        res = restore(target, str(out), txid=txid)
        assert res.complete and rows(out) == states[txid] and integrity(out) == "ok"
    proc = litestream_restore(f"file://{tmp_path}/rep", tmp_path / "lt.db")
    assert proc.returncode == 0, proc.stderr
    assert rows(tmp_path / "lt.db") == states[12]


def test_restore_reports_progress(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    conn = open_station_db(db)
    conn.execute("CREATE TABLE b (x BLOB)")
    conn.execute("INSERT INTO b SELECT randomblob(100000) FROM (SELECT 1 UNION SELECT 2 UNION SELECT 3)")
    rep = Replicator(str(db), open_target(f"file://{tmp_path}/rep"))
    rep.sync()
    write_moves(conn, 10)
    rep.sync()
    seen: list[tuple[int, int]] = []
    restore(open_target(f"file://{tmp_path}/rep"), str(tmp_path / "o.db"), progress=lambda d, t: seen.append((d, t)))
    assert len(seen) > 10
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1][0] == seen[-1][1]


def test_runner_idles_without_writing_and_reacts_to_a_write(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    conn = open_station_db(db)
    runner = BackupRunner(str(db), f"file://{tmp_path}/rep", interval=0.2, poll=0.05)
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while runner.health().uploaded_txid < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        cycles = runner.cycles
        cpu = time.process_time()
        time.sleep(1.0)
        assert runner.cycles == cycles            # idle: no captures at all
        assert time.process_time() - cpu < 0.5
        write_moves(conn, 5)
        while runner.health().uploaded_txid < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        h = runner.health()
        assert h.uploaded_txid == 2 and h.ok and h.lag_seconds == 0
    finally:
        runner.stop()
    assert os.listdir(tmp_path / ".s.db-backup" / "spool") == []
