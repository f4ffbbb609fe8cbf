"""The backup sees every write: CLI-only stations, WAL resets, new databases, verification.

Issue #10 item 1: when the last connection closes, SQLite checkpoints and deletes the WAL;
a backup that trusted the WAL's salts alone then saw "nothing changed" and the replica
silently missed moves. These tests drive the real ``packline-edge`` commands as separate
processes (each one opens, writes and closes the database: the case that lost data), and
check the replica with our restore and with the real ``litestream restore``. Expected
contents are read from the live database with plain ``sqlite3`` at each point, never from
the backup's own records.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge.backup import BackupRunner, Replicator, ltx, open_target
from edge.backup.replicator import read_health
from tests.edge.backup.helpers import (
    ROOT,
    integrity,
    litestream_restore,
    open_station_db,
    rows,
    write_moves,
)

pytestmark = pytest.mark.timeout(240)


def edge(db: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``packline-edge --db DB ARGS`` as its own process (opens, writes, closes the DB)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PACKLINE_", "AWS_CA"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    proc = subprocess.run([sys.executable, "-m", "edge", "--db", str(db), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def move_ids(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT move_id FROM stock_moves")}
    finally:
        conn.close()


def adjust(db: Path, qty: int) -> None:
    edge(db, "adjust", "--sku", "CF001-350", "--location", "B-02-03", "--qty", f"{qty:+d}",
         "--reason", "盘点 / count", "--operator", "P01")


def once(db: Path, url: str, *extra: str) -> int:
    out = edge(db, "backup", "run", "--once", "--target", url, *extra)
    assert "正常 / OK" in out.stdout, out.stdout
    h = read_health(str(db))
    assert h is not None
    return h.txid


def ours(url: str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return edge(out.parent / "unused.db", "restore", "--no-resync-mark", "--target", url, *extra, str(out))


def test_cli_only_writes_all_restore_with_ours_and_litestream(tmp_path: Path) -> None:
    db = tmp_path / "edge.db"
    url = f"file://{tmp_path}/replica"
    edge(db, "init", "--station", "st-01", "--warehouse", "WH1")
    edge(db, "seed-demo")
    once(db, url)
    seeded = move_ids(db)
    for q in (5, -2, 7):                       # three separate processes, each closes the DB
        adjust(db, q)
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0  # the case
    txid_mid = once(db, url)
    at_mid = move_ids(db)
    assert len(at_mid) == len(seeded) + 3
    time.sleep(0.05)
    between = dt.datetime.now(dt.UTC)           # after the second backup, before more writes
    time.sleep(0.05)
    for q in (1, 2, 3):
        adjust(db, q)
    txid_last = once(db, url)
    latest = move_ids(db)
    assert len(latest) == len(seeded) + 6 and txid_last > txid_mid

    stamp = between.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for name, extra_ours, extra_lt, want in (
        ("latest", (), (), latest),
        ("txid", ("--txid", f"{txid_mid:016x}"), ("-txid", f"{txid_mid:016x}"), at_mid),
        ("time", ("--at", stamp), ("-timestamp", stamp), at_mid),
    ):
        mine = tmp_path / f"ours-{name}.db"
        ours(url, mine, *extra_ours)
        assert move_ids(mine) == want, name
        lt = tmp_path / f"litestream-{name}.db"
        proc = litestream_restore(url, lt, *extra_lt)
        assert proc.returncode == 0, (name, proc.stderr)
        assert move_ids(lt) == want, name
        assert integrity(lt) == "ok"
    check = edge(tmp_path / "ours-latest.db", "check")
    assert check.returncode == 0


WRITER = """
import sqlite3, sys
from tests.edge.backup.helpers import open_station_db, write_moves
for k in range(int(sys.argv[2])):
    conn = open_station_db(sys.argv[1])    # a CLI-like process: open, write, close
    write_moves(conn, 3, start=int(sys.argv[3]) + 3 * k)
    conn.close()
"""


def test_runner_keeps_the_wal_and_misses_nothing_beside_short_lived_writers(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    open_station_db(db).close()
    runner = BackupRunner(str(db), f"file://{tmp_path}/rep", interval=0.05, poll=0.02, checkpoint_pages=40)
    runner.start()
    try:
        deadline = time.monotonic() + 20
        while runner.health().uploaded_txid < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        for batch in range(4):
            subprocess.run([sys.executable, "-c", WRITER, str(db), "15", str(45 * batch)], cwd=ROOT,
                           check=True, timeout=60)
            # the runner's connection is open: the writers' close left the WAL in place
            assert Path(f"{db}-wal").exists()
        want = rows(db)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            h = runner.health()
            if h.lag_txids == 0 and h.txid > 1 and not list((tmp_path / ".s.db-backup" / "spool").glob("*.ltx")):
                r = open_target(f"file://{tmp_path}/rep")
                probe = tmp_path / f"probe-{time.monotonic_ns()}.db"
                from edge.backup import restore

                restore(r, str(probe))
                if rows(probe) == want:
                    break
            time.sleep(0.1)
        wal_frames = (os.path.getsize(f"{db}-wal") - 32) // (4096 + 24)
        with open(f"{db}-wal", "rb") as f:
            restarts = int.from_bytes(f.read(16)[12:16], "big")  # WAL header: checkpoint sequence
    finally:
        runner.stop()
    meta = json.loads((tmp_path / ".s.db-backup" / "meta.json").read_text())
    # the WAL restarted under the runner's read transaction, and the runner followed every
    # restart from the WAL alone (no full comparison, no extra snapshot)
    assert restarts >= 1 and meta["resets"] == 0, (restarts, meta)
    assert len(want) == 180
    proc = litestream_restore(f"file://{tmp_path}/rep", tmp_path / "lt.db")
    assert proc.returncode == 0, proc.stderr
    assert rows(tmp_path / "lt.db") == want
    assert wal_frames < 400                      # the runner checkpointed (passive) as it went


def snapshots(target_root: Path) -> list[str]:
    d = target_root / "ltx" / "9"
    return sorted(p.name for p in d.glob("*.ltx")) if d.exists() else []


def test_a_wal_reset_between_two_cycles_ships_a_snapshot(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    conn = open_station_db(db)
    target = open_target(f"file://{tmp_path}/rep")
    rep = Replicator(str(db), target)
    write_moves(conn, 20)
    assert rep.sync() == 1
    assert snapshots(tmp_path / "rep") == ["0000000000000001-0000000000000001.ltx"]
    # another connection writes, checkpoints and truncates the WAL, then writes again:
    # the WAL the backup saw is gone (new salts) and the database file changed
    write_moves(conn, 20, start=20)
    assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    write_moves(conn, 5, start=40)
    assert rep.sync() == 2
    assert snapshots(tmp_path / "rep")[-1] == "0000000000000001-0000000000000002.ltx"
    assert "reset" in json.loads((tmp_path / ".s.db-backup" / "meta.json").read_text())["last_reset"]
    # the last connection closes: SQLite checkpoints and deletes the WAL (no salts at all)
    write_moves(conn, 7, start=45)
    conn.close()
    assert not Path(f"{db}-wal").exists()
    assert rep.sync() == 3
    assert snapshots(tmp_path / "rep")[-1] == "0000000000000001-0000000000000003.ltx"
    from edge.backup import restore

    res = restore(target, str(tmp_path / "out.db"))
    assert res.txid == 3 and rows(tmp_path / "out.db") == rows(db) and len(rows(db)) == 52
    # nothing changed: no TXID, no snapshot (the missing WAL is not taken for a change)
    assert rep.sync() is None and len(snapshots(tmp_path / "rep")) == 3


def test_a_new_database_never_publishes_over_another_history(tmp_path: Path) -> None:
    old = tmp_path / "machine-1" / "edge.db"
    url = f"file://{tmp_path}/replica"
    edge(old, "init", "--station", "st-01", "--warehouse", "WH1")
    adjust_ok = edge(old, "seed-demo")
    assert adjust_ok.returncode == 0
    once(old, url)
    adjust(old, 4)
    once(old, url)
    listing = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "replica").rglob("*"))

    new = tmp_path / "machine-2" / "edge.db"      # a new machine: init before the restore
    edge(new, "init", "--station", "st-01", "--warehouse", "WH1")
    for args in (("backup", "run", "--once", "--target", url),
                 ("backup", "run", "--target", url, "--interval", "0.1")):
        proc = edge(new, *args, check=False)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "packline-edge restore" in proc.stderr and "请先" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    assert sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "replica").rglob("*")) == listing

    restored = tmp_path / "machine-3" / "edge.db"  # restored first: the backup goes on
    restored.parent.mkdir()
    edge(restored, "restore", "--target", url, str(restored))
    before = move_ids(restored)
    adjust(restored, 1)
    txid = once(restored, url)
    assert txid == 3
    out = tmp_path / "lt.db"
    assert litestream_restore(url, out).returncode == 0
    assert move_ids(out) == move_ids(restored) and len(move_ids(out)) == len(before) + 1


def forge_latest(root: Path) -> None:
    """Rewrite the newest L0 file as a valid LTX whose pages differ from what was shipped."""
    l0 = sorted((root / "ltx" / "0").glob("*.ltx"))[-1]
    hdr, pages = ltx.decode(l0.read_bytes())
    forged = [(p, d[:-16] + b"\xa5" * 16) if p == pages[-1][0] else (p, d) for p, d in pages]
    l0.write_bytes(ltx.encode(hdr, forged))
    for snap in (root / "ltx" / "9").glob(f"*-{l0.name[17:]}"):
        snap.unlink()                           # the forged increment is the restore path


def test_status_goes_red_when_the_verification_restore_differs(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    conn = open_station_db(db)
    url = f"file://{tmp_path}/rep"
    write_moves(conn, 30)
    now = [time.time()]                           # `backup status` (another process) reads the wall clock
    rep = Replicator(str(db), open_target(url), verify_interval=600, clock=lambda: now[0])
    rep.sync()
    write_moves(conn, 5, start=30)
    rep.sync()
    h = read_health(str(db), now[0])
    assert h is not None and h.ok and h.verified_txid == 1
    status = edge(db, "backup", "status", check=False)
    assert status.returncode == 0 and "正常 / OK" in status.stdout
    now[0] += 601                                 # due again: verifies TXID 2 against the DB
    assert rep.verify_due()
    forge_latest(tmp_path / "rep")
    assert rep.verify() is False
    now[0] -= 601
    h = read_health(str(db), now[0])
    assert h is not None and not h.ok and h.level == "error" and h.verified_txid == 1
    assert h.verify_error is not None and "txid 2" in h.verify_error
    status = edge(db, "backup", "status", check=False)
    assert status.returncode == 1 and "验证失败 / verification failed" in status.stdout, status.stdout
    # stale: a verification older than twice the interval turns amber, never green
    h = read_health(str(db), now[0] + 3 * 600 + 700)
    assert h is not None and h.level == "error"
    conn.close()


def test_verification_that_is_stale_or_missing_is_not_green(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    conn = open_station_db(db)
    write_moves(conn, 10)
    now = [1_790_000_000.0]
    rep = Replicator(str(db), open_target(f"file://{tmp_path}/rep"), verify_interval=600,
                     clock=lambda: now[0])
    rep.capture()
    rep.upload()
    h = read_health(str(db), now[0])
    assert h is not None and h.lag_txids == 0 and h.level == "warn" and "未验证" in h.summary()
    assert rep.verify() is True
    assert read_health(str(db), now[0]).level == "ok"  # type: ignore[union-attr]
    h = read_health(str(db), now[0] + 2 * 600 + 601)
    assert h is not None and h.level == "warn" and not h.ok
    conn.close()


def wal_salt1(db: Path) -> int:
    with open(f"{db}-wal", "rb") as f:
        return int.from_bytes(f.read(32)[16:20], "big")


def test_held_replicator_checkpoints_and_follows_the_wal_restarts_it_can_prove(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    conn = open_station_db(db)                    # the application's connection (autocheckpoint on)
    target = open_target(f"file://{tmp_path}/rep")
    rep = Replicator(str(db), target, hold=True, checkpoint_pages=10, truncate_pages=10**6)
    write_moves(conn, 30)
    assert rep.capture() == 1
    write_moves(conn, 30, start=30)
    assert rep.capture() == 2
    assert rep.maybe_checkpoint() == "PASSIVE"    # all copied; a fresh read transaction
    before = wal_salt1(db)
    write_moves(conn, 5, start=60)                # this writer restarts the WAL
    assert wal_salt1(db) == before + 1
    assert rep.capture() == 3
    assert rep.meta.resets == 0                   # followed from the WAL alone
    rep.truncate_pages = 1
    write_moves(conn, 5, start=65)
    assert rep.capture() == 4
    assert rep.maybe_checkpoint() == "TRUNCATE"   # our own reset, after the capture
    assert os.path.getsize(f"{db}-wal") == 0
    write_moves(conn, 5, start=70)
    assert rep.capture() == 5                     # every page compared; not a foreign reset
    assert rep.meta.resets == 0 and snapshots(tmp_path / "rep") == []
    rep.upload()
    rep.close()
    assert snapshots(tmp_path / "rep") == ["0000000000000001-0000000000000001.ltx"]
    from edge.backup import restore

    res = restore(target, str(tmp_path / "out.db"))
    assert res.txid == 5 and rows(tmp_path / "out.db") == rows(db) and len(rows(db)) == 75
    proc = litestream_restore(f"file://{tmp_path}/rep", tmp_path / "lt.db")
    assert proc.returncode == 0, proc.stderr
    assert rows(tmp_path / "lt.db") == rows(db)
    conn.close()
