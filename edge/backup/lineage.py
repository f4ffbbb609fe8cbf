"""Which database a replica belongs to, so a new database never continues another's history.

A *lineage id* (a random non-zero 64-bit number) names one database and everything restored
from it.  It lives in three places:

- in the database itself, table ``_packline_backup`` (key ``lineage``), written once by the
  backup through its own connection, as litestream keeps its ``_litestream_seq`` table.
  Being in the pages, it comes back with every restore (ours or ``litestream restore``);
- in the NodeID field of every LTX header the backup writes (``litestream restore``
  ignores the field);
- in the sidecar's ``meta.json``.

Before a backup publishes into a replica that already holds files, the newest file's
NodeID must equal the database's lineage id.  A new, empty database (a replacement SD
card started before the restore) has none, so it is refused with a message that says to
restore first.
"""

from __future__ import annotations

import secrets
import sqlite3

from edge.backup import ltx
from edge.backup.replica import FileInfo, Target, iter_levels
from edge.errors import BackupError

TABLE = "_packline_backup"


class ReplicaMismatch(BackupError):
    """The replica holds another database's history; nothing was published."""


def new_id() -> int:
    """A random non-zero 64-bit lineage id."""
    while True:
        value = secrets.randbits(64)
        if value:
            return value


def read_db(conn: sqlite3.Connection) -> int | None:
    """The database's lineage id, or None when it has none."""
    try:
        row = conn.execute(f"SELECT value FROM {TABLE} WHERE key = 'lineage'").fetchone()
    except sqlite3.OperationalError:  # no such table
        return None
    try:
        return int(str(row[0]), 16) if row else None
    except ValueError:
        return None


def write_db(conn: sqlite3.Connection, value: int) -> None:
    """Record the lineage id in the database (its own small table, one write)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute(
            f"INSERT INTO {TABLE} (key, value) VALUES ('lineage', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value", [f"{value:016x}"])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def newest(target: Target) -> FileInfo | None:
    """The replica's file with the highest MaxTXID (a snapshot before an increment)."""
    best: FileInfo | None = None
    for info in iter_levels(target, range(0, ltx.SNAPSHOT_LEVEL + 1)):
        if best is None or (info.max_txid, info.level) > (best.max_txid, best.level):
            best = info
    return best


def replica_id(target: Target, info: FileInfo) -> int:
    """The lineage id in a replica file's header (0: written without one)."""
    return ltx.Header.unpack(target.read_header(info)).node_id


def refusal(target_url: str, info: FileInfo, db_path: str) -> ReplicaMismatch:
    """The one-line message for a database that is not the replica's."""
    return ReplicaMismatch(
        f"备份目标已保存另一个数据库的历史（最新 txid {info.max_txid}），本数据库不是从它恢复的，"
        f"未上传任何内容：请先恢复（packline-edge restore --target … {db_path}），或使用新的备份地址 / "
        f"the replica {target_url} holds another database's history (latest TXID {info.max_txid}) "
        f"and {db_path} was not restored from it; nothing was published: restore first with "
        f"`packline-edge restore`, or back up to a new, empty location"
    )


def decide(
    conn: sqlite3.Connection, target: Target, meta_id: int | None, *, fresh: bool, shipped: int,
    target_url: str, db_path: str,
) -> tuple[int, int] | None:
    """The lineage id this database publishes under and the replica's highest TXID, or None
    when the sidecar already ships this database (nothing asked of the target).  Writes the
    id into the database when it has none; raises :class:`ReplicaMismatch`.

    ``shipped`` is the sidecar's last TXID: a replica whose files carry no id (written before
    lineage ids existed) is continued only by the sidecar that wrote it.
    """
    db_id = read_db(conn)
    if not fresh and db_id is not None and db_id == meta_id:
        return None
    info = newest(target)
    if info is not None:
        rid = replica_id(target, info)
        legacy = rid == 0 and db_id is None and not fresh and shipped > 0
        if not legacy and (db_id is None or rid != db_id):
            raise refusal(target_url, info, db_path)
    lid = db_id or new_id()
    if db_id != lid:
        write_db(conn, lid)
    return lid, info.max_txid if info is not None else 0
