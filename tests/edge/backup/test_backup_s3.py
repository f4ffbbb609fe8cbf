"""Replicate to moto S3, then restore with the real ``litestream restore`` and with ours."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from edge.backup import Replicator, open_target, restore
from edge.backup.ltx import Header
from tests.edge.backup.helpers import (
    Moto,
    integrity,
    litestream_restore,
    open_station_db,
    rows,
    s3_url,
    write_moves,
)


def test_litestream_restores_latest_and_two_points_in_time(tmp_path: Path, moto: Moto, bucket: str) -> None:
    db = tmp_path / "station.db"
    conn = open_station_db(db)
    url = s3_url(moto, bucket)
    rep = Replicator(str(db), open_target(url, s3_client=moto.client()))

    write_moves(conn, 150)
    assert rep.sync() == 1                      # full snapshot L0 1 + L9 1-1
    write_moves(conn, 60, start=150)
    assert rep.sync() == 2                      # increment
    at2 = rows(db)
    conn.execute("DELETE FROM stock_moves WHERE move_id < 'm-000040'")
    conn.execute("UPDATE stock_moves SET note = note || ' 已复核' WHERE move_id LIKE 'm-0001%'")
    assert rep.sync(force_snapshot=True) == 3   # increment + snapshot L9 1-3
    at3 = rows(db)
    write_moves(conn, 80, start=210)
    conn.execute("VACUUM")                      # the database shrinks: commit goes down
    assert rep.sync() == 4
    latest = rows(db)
    assert rep.sync() is None                   # nothing changed, nothing written

    listing = sorted(o["Key"] for o in moto.client().list_objects_v2(Bucket=bucket)["Contents"])
    # L0 1-1 is covered by the snapshot L9 1-1; retention dropped it after snapshot 1-3.
    assert listing == [
        "station-01/app.db/0000/0000000000000002-0000000000000002.ltx",
        "station-01/app.db/0000/0000000000000003-0000000000000003.ltx",
        "station-01/app.db/0000/0000000000000004-0000000000000004.ltx",
        "station-01/app.db/0009/0000000000000001-0000000000000001.ltx",
        "station-01/app.db/0009/0000000000000001-0000000000000003.ltx",
    ]
    head = moto.client().head_object(Bucket=bucket, Key=listing[1])
    body = moto.client().get_object(Bucket=bucket, Key=listing[1])["Body"].read()
    ts = Header.unpack(body[:100]).timestamp_ms
    stamp = head["Metadata"]["litestream-timestamp"]
    assert stamp.endswith("Z") and len(stamp) == 24
    assert stamp[-4:-1] == f"{ts % 1000:03d}"

    for txid, want in ((None, latest), (2, at2), (3, at3)):
        out = tmp_path / f"litestream-{txid}.db"
        extra = ("-txid", f"{txid:016x}") if txid else ()
        proc = litestream_restore(url, out, *extra)
        assert proc.returncode == 0, proc.stderr
        assert "integrity check passed" in proc.stdout + proc.stderr
        assert rows(out) == want
        assert integrity(out) == "ok"

        ours = tmp_path / f"ours-{txid}.db"
        result = restore(open_target(url, s3_client=moto.client()), str(ours), txid=txid)
        assert result.complete and result.warnings == []
        assert result.txid == (txid or 4)
        assert rows(ours) == want
        assert integrity(ours) == "ok"
    # The real litestream and ours produce the same bytes.
    assert (tmp_path / "ours-None.db").read_bytes() == (tmp_path / "litestream-None.db").read_bytes()
    assert len(latest) == 150 + 60 - 40 + 80


def test_restore_by_timestamp(tmp_path: Path, moto: Moto, bucket: str) -> None:
    db = tmp_path / "station.db"
    conn = open_station_db(db)
    url = s3_url(moto, bucket, "st-02/app.db")
    rep = Replicator(str(db), open_target(url, s3_client=moto.client()))
    write_moves(conn, 20)
    rep.sync()
    first = rows(db)
    time.sleep(1.1)
    cut = dt.datetime.now(dt.UTC)
    time.sleep(1.1)
    write_moves(conn, 20, start=20)
    rep.sync()
    result = restore(open_target(url, s3_client=moto.client()), str(tmp_path / "t.db"), timestamp=cut)
    assert result.txid == 1
    assert rows(tmp_path / "t.db") == first
    proc = litestream_restore(url, tmp_path / "lt.db", "-timestamp", cut.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert proc.returncode == 0, proc.stderr
    assert rows(tmp_path / "lt.db") == first
    latest = restore(open_target(url, s3_client=moto.client()), str(tmp_path / "l.db"))
    assert latest.txid == 2 and rows(tmp_path / "l.db") == rows(db)


def test_our_restore_reads_what_litestream_itself_wrote(tmp_path: Path) -> None:
    """The decoder is checked against Go-written LTX files (real LZ4 blocks, WAL fields)."""
    import subprocess

    from tests.edge.backup.helpers import LITESTREAM, litestream_env

    db = tmp_path / "s.db"
    conn = open_station_db(db)
    write_moves(conn, 120)
    cfg = tmp_path / "ls.yml"
    cfg.write_text(f"dbs:\n  - path: {db}\n    replica:\n      type: file\n      path: {tmp_path}/ltrep\n")
    cmd = [LITESTREAM, "replicate", "-config", str(cfg), "-once"]
    subprocess.run([*cmd, "-force-snapshot"], env=litestream_env(), check=True, capture_output=True, timeout=60)
    first = rows(db)
    conn.execute("DELETE FROM stock_moves WHERE move_id LIKE 'm-00000%'")
    write_moves(conn, 30, start=120)
    subprocess.run(cmd, env=litestream_env(), check=True, capture_output=True, timeout=60)
    target = open_target(f"file://{tmp_path}/ltrep")
    assert [i.max_txid for i in target.files(0)] == [1, 2]
    latest = restore(target, str(tmp_path / "latest.db"))
    assert latest.txid == 2 and rows(tmp_path / "latest.db") == rows(db)
    one = restore(target, str(tmp_path / "one.db"), txid=1)
    assert one.txid == 1 and rows(tmp_path / "one.db") == first
    assert integrity(tmp_path / "one.db") == "ok"
