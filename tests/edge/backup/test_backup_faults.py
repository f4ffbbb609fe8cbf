"""Fault tests: S3 unreachable, station killed mid-upload, corrupt objects, dirty sidecar."""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edge.backup import BackupRunner, Replicator, ltx, open_target, restore
from edge.backup.cli import main as cli_main
from edge.backup.replica import FileInfo
from edge.backup.replicator import read_health
from edge.errors import BackupError
from tests.edge.backup.helpers import (
    ROOT,
    Moto,
    free_port,
    integrity,
    litestream_restore,
    open_station_db,
    rows,
    s3_url,
    stop_pid,
    wait_port,
    write_moves,
)


def wait_for(cond: Any, timeout: float = 20.0, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(step)
    raise AssertionError("condition not reached in time")


def l0_txids(moto: Moto, bucket: str, prefix: str) -> list[int]:
    out = []
    for page in moto.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/0000/"):
        for o in page.get("Contents", []):
            out.append(int(o["Key"].rsplit("/", 1)[1][17:33], 16))
    return sorted(out)


class Proxy:
    """socat in front of moto; stopping it makes S3 unreachable (its process group is killed)."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self.target_port = target_port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["socat", f"TCP-LISTEN:{self.port},bind=127.0.0.1,fork,reuseaddr", f"TCP:127.0.0.1:{self.target_port}"],
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            stop_pid(self.proc, group=True)
            self.proc = None


@pytest.fixture()
def proxy(moto: Moto) -> Any:
    p = Proxy(moto.port)
    p.start()
    yield p
    p.stop()


def test_s3_unreachable_then_catches_up(tmp_path: Path, moto: Moto, bucket: str, proxy: Proxy) -> None:
    db = tmp_path / "station.db"
    conn = open_station_db(db)
    endpoint = f"http://127.0.0.1:{proxy.port}"
    url = s3_url(moto, bucket, endpoint=endpoint)
    runner = BackupRunner(
        str(db), open_target(url, s3_client=moto.client(endpoint)), interval=0.2, poll=0.05, max_backoff=0.4
    )
    runner.start()
    try:
        write_moves(conn, 50)
        wait_for(lambda: runner.health().uploaded_txid >= 1 and runner.health().lag_txids == 0)
        proxy.stop()                                   # S3 gone
        for k in range(3):                             # three separate bursts while offline
            write_moves(conn, 30, start=50 + 30 * k)
            before = runner.health().txid
            wait_for(lambda b=before: runner.health().txid > b)
        wait_for(lambda: runner.health().last_error is not None)
        h = runner.health()
        assert h.lag_txids >= 3 and h.lag_seconds > 0 and not h.ok
        assert "S3" in (h.last_error or "")
        # another process (the kiosk, the sync daemon) sees the same state from the sidecar
        seen = read_health(str(db))
        assert seen is not None and "S3" in (seen.last_error or "") and seen.lag_txids >= 3
        proxy.start()                                  # S3 back on the same port
        wait_for(lambda: runner.health().lag_txids == 0 and runner.health().last_error is None, timeout=30)
        wait_for(lambda: runner.health().ok, timeout=30)  # a verification restore matched
    finally:
        runner.stop()
    seen = read_health(str(db))
    assert seen is not None and seen.last_error is None and seen.lag_txids == 0
    h = runner.health()
    assert h.ok and h.last_success_at is not None
    txids = l0_txids(moto, bucket, "station-01/app.db")
    assert txids == list(range(txids[0], h.txid + 1))   # contiguous, nothing lost
    out = tmp_path / "restored.db"
    proc = litestream_restore(s3_url(moto, bucket), out)
    assert proc.returncode == 0, proc.stderr
    assert rows(out) == rows(db)
    assert len(rows(out)) == 140


RUNNER_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}


def start_runner(db: Path, url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, **RUNNER_ENV}
    env.pop("AWS_CA_BUNDLE", None)
    return subprocess.Popen(
        [sys.executable, "-m", "edge.backup", "backup", "run", "--db", str(db), "--target", url,
         "--interval", "0.05", "--snapshot-interval", "0.7"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_station_killed_mid_upload_then_restarted(tmp_path: Path, moto: Moto, bucket: str) -> None:
    db = tmp_path / "station.db"
    conn = open_station_db(db)
    conn.execute("CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB)")
    url = s3_url(moto, bucket)
    rnd = random.Random(7)
    n = 0
    for _round in range(4):
        proc = start_runner(db, url)
        try:
            deadline = time.monotonic() + rnd.uniform(0.8, 1.6)
            while time.monotonic() < deadline:             # big-ish increments keep uploads busy
                write_moves(conn, 5, start=n)
                conn.execute("INSERT INTO blobs(b) VALUES (randomblob(100000))")
                n += 5
        finally:
            proc.kill()                                    # SIGKILL: no cleanup at all
            proc.wait(10)
    proc = start_runner(db, url)
    try:
        meta = tmp_path / ".station.db-backup" / "meta.json"

        def caught_up() -> bool:
            import json

            try:
                m = json.loads(meta.read_text())
            except (OSError, ValueError):
                return False
            spool = tmp_path / ".station.db-backup" / "spool"
            return m["uploaded_txid"] == m["txid"] > 0 and not list(spool.glob("*.ltx"))

        want = rows(db)
        probes = iter(range(1_000_000))

        def restores_all() -> bool:
            # meta.json left by the killed runner already reads "caught up" before the new runner
            # has looked at the WAL, so "caught up" alone is not enough: the target must hold
            # every row the station wrote
            if not caught_up():
                return False
            probe = tmp_path / f"probe-{next(probes)}.db"
            restore(open_target(url, s3_client=moto.client()), str(probe))
            return rows(probe) == want

        wait_for(restores_all, timeout=60, step=0.2)
    finally:
        stop_pid(proc)
    txids = l0_txids(moto, bucket, "station-01/app.db")
    assert txids == list(range(txids[0], txids[-1] + 1))
    out = tmp_path / "lt.db"
    res = litestream_restore(url, out)
    assert res.returncode == 0, res.stderr
    assert rows(out) == rows(db)
    ours = restore(open_target(url, s3_client=moto.client()), str(tmp_path / "ours.db"))
    assert ours.complete and rows(tmp_path / "ours.db") == rows(db)
    # every point in the chain restores to a sound database
    for txid in txids[:: max(1, len(txids) // 5)]:
        r = restore(open_target(url, s3_client=moto.client()), str(tmp_path / f"p{txid}.db"), txid=txid)
        assert r.txid == txid and integrity(tmp_path / f"p{txid}.db") == "ok"


class CrashAfterPut:
    """A target wrapper that 'dies' right after the object landed (before the sidecar knows)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.url = inner.url

    def put(self, *a: Any) -> None:
        self.inner.put(*a)
        raise KeyboardInterrupt("killed")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_orphaned_upload_and_dirty_sidecar_keep_the_chain(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    conn = open_station_db(db)
    target = open_target(f"file://{tmp_path}/rep")
    Replicator(str(db), target).sync()
    write_moves(conn, 30)
    rep = Replicator(str(db), CrashAfterPut(target))
    with pytest.raises(KeyboardInterrupt):
        rep.sync()                                    # object 2 exists, sidecar says not uploaded
    (tmp_path / "rep" / "ltx" / "0" / "0000000000000003-0000000000000003.ltx.tmp").write_bytes(b"partial")
    write_moves(conn, 30, start=30)
    rep2 = Replicator(str(db), target)               # restart
    assert rep2.sync() == 3
    # crash while patching the hash table: meta left dirty
    write_moves(conn, 30, start=60)
    meta = tmp_path / ".s.db-backup" / "meta.json"
    import json

    m = json.loads(meta.read_text())
    m["clean"] = False
    meta.write_text(json.dumps(m))
    (tmp_path / ".s.db-backup" / "hashes.bin").write_bytes(b"\x00" * 64)   # garbage
    rep3 = Replicator(str(db), target)
    assert rep3.sync() == 4                          # a full increment: every page
    with target.open(FileInfo(0, 4, 4, 0)) as f:          # a full increment: every page
        hdr, pages = ltx.decode(f.read())
    assert [p for p, _ in pages] == list(range(1, hdr.commit + 1))
    assert hdr.commit == os.path.getsize(db) // 4096 or hdr.commit > 1
    res = restore(target, str(tmp_path / "out.db"))
    assert res.complete and res.txid == 4
    assert rows(tmp_path / "out.db") == rows(db)
    proc = litestream_restore(f"file://{tmp_path}/rep", tmp_path / "lt.db")
    assert proc.returncode == 0, proc.stderr
    assert rows(tmp_path / "lt.db") == rows(db)


def corrupt(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x40
    path.write_bytes(bytes(data))


def test_corrupt_increment_falls_back_to_last_good_point(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    conn = open_station_db(db)
    target = open_target(f"file://{tmp_path}/rep")
    rep = Replicator(str(db), target)
    states = {}
    for k in range(5):
        write_moves(conn, 20, start=20 * k)
        txid = rep.sync()
        assert txid is not None
        states[txid] = rows(db)
    corrupt(tmp_path / "rep/ltx/0/0000000000000004-0000000000000004.ltx", 150)
    res = restore(target, str(tmp_path / "out.db"))
    assert res.txid == 3 and not res.complete
    assert any("0000000000000004-0000000000000004.ltx" in w and "checksum" in w for w in res.warnings)
    assert any("last good point, TXID 3" in w for w in res.warnings)
    assert rows(tmp_path / "out.db") == states[3]
    assert integrity(tmp_path / "out.db") == "ok"
    # the CLI says so and exits non-zero
    result = CliRunner().invoke(
        cli_main, ["restore", "--target", f"file://{tmp_path}/rep", str(tmp_path / "cli.db")]
    )
    assert result.exit_code == 3
    assert "损坏" in result.output and "fell back" in result.output
    assert rows(tmp_path / "cli.db") == states[3]


def test_corrupt_snapshot_falls_back_to_an_older_one(tmp_path: Path, moto: Moto, bucket: str) -> None:
    db = tmp_path / "s.db"
    conn = open_station_db(db)
    url = s3_url(moto, bucket)
    rep = Replicator(str(db), open_target(url, s3_client=moto.client()))
    write_moves(conn, 40)
    rep.sync()
    write_moves(conn, 40, start=40)
    rep.sync(force_snapshot=True)                    # L9 1-2
    write_moves(conn, 40, start=80)
    rep.sync()
    key = "station-01/app.db/0009/0000000000000001-0000000000000002.ltx"
    s3 = moto.client()
    body = bytearray(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    body[-3] ^= 0x01                                 # checksum byte
    s3.put_object(Bucket=bucket, Key=key, Body=bytes(body))
    res = restore(open_target(url, s3_client=moto.client()), str(tmp_path / "out.db"))
    assert res.files[0] == "L9/0000000000000001-0000000000000001.ltx"
    assert res.txid == 3 and res.complete
    assert any("corrupt snapshot" in w for w in res.warnings)
    assert rows(tmp_path / "out.db") == rows(db)


def test_restore_errors_are_clear(tmp_path: Path) -> None:
    target = open_target(f"file://{tmp_path}/empty")
    with pytest.raises(BackupError, match="empty"):
        restore(target, str(tmp_path / "x.db"))
    db = tmp_path / "s.db"
    open_station_db(db)
    rep = Replicator(str(db), open_target(f"file://{tmp_path}/rep"))
    rep.sync()
    with pytest.raises(BackupError, match="TXID 9"):
        restore(open_target(f"file://{tmp_path}/rep"), str(tmp_path / "y.db"), txid=9)
    assert not list(tmp_path.glob("y.db*"))          # no half-restored file left behind
    with pytest.raises(BackupError, match="exists"):
        restore(open_target(f"file://{tmp_path}/rep"), str(db))
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone() == ("ok",)
