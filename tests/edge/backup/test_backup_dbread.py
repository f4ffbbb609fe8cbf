"""The page view is consistent while another process writes (and checkpoints)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from edge.backup.dbread import PageView, _read_shm_header
from tests.edge.backup.helpers import ROOT, open_station_db, write_moves

WRITER = """
import sys, time
from tests.edge.backup.helpers import open_station_db, write_moves
conn = open_station_db(sys.argv[1])
conn.execute("CREATE TABLE IF NOT EXISTS blobs (id INTEGER PRIMARY KEY, b BLOB)")
n, t = 0, time.time()
while time.time() - t < float(sys.argv[2]):
    write_moves(conn, 5, start=n)
    conn.execute("INSERT INTO blobs(b) VALUES (randomblob(120000))")
    n += 5
"""


def image_ok(view: PageView, out: Path) -> str:
    out.write_bytes(b"".join(view.page(p) for p in range(1, view.page_count + 1)))
    conn = sqlite3.connect(out)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(f"{out}{suffix}"):
                os.remove(f"{out}{suffix}")


def test_views_taken_during_writes_from_another_process_are_consistent(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    open_station_db(db).close()
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db), "3"], cwd=ROOT)
    try:
        views = 0
        deadline = time.monotonic() + 30
        while writer.poll() is None and time.monotonic() < deadline:
            with PageView(str(db)) as view:
                assert image_ok(view, tmp_path / "img.db") == "ok"
            views += 1
        assert views >= 3
    finally:
        writer.kill()
        writer.wait(10)


def checkpoint_elsewhere(db: Path) -> tuple[int, int]:
    """PRAGMA wal_checkpoint(PASSIVE) from another process: (frames in WAL, frames copied)."""
    code = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
        "print(*c.execute('PRAGMA wal_checkpoint(PASSIVE)').fetchone()[1:])"
    )
    out = subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True, text=True, check=True)
    log, done = out.stdout.split()
    return int(log), int(done)


def test_the_read_lock_survives_the_view_reading_the_shm(tmp_path: Path) -> None:
    """Closing a descriptor of -shm would drop SQLite's WAL read lock (POSIX locks are
    per process); with the lock held, another process's checkpoint cannot pass our view."""
    db = tmp_path / "s.db"
    conn = open_station_db(db)
    conn.execute("PRAGMA wal_autocheckpoint=0")
    write_moves(conn, 50)
    with PageView(str(db)) as view:
        write_moves(conn, 50, start=50)
        assert _read_shm_header(str(db) + "-shm") is not None
        log, done = checkpoint_elsewhere(db)
        assert done < log                          # our reader still pins the WAL
        assert view.page_count > 0
    log, done = checkpoint_elsewhere(db)
    assert log == done > 0
