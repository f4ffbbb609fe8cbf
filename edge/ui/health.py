"""What the kiosk shows about the station's links: sync (from the station DB) and backup
(from the backup runner's sidecar files), read without writing anything.

The sync daemon and the backup runner are other processes; the kiosk only reads what they
leave behind. ``read_health(queries, db_path, now)`` runs in the kiosk's status worker on
its own read connection, never on the UI thread.

    health = read_health(queries, "edge.db", now=datetime.now(UTC))
    health.sync.backlog, health.sync_level(), health.backup.ok if health.backup else None
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from dataclasses import dataclass
from typing import Final

from edge.backup import ltx
from edge.backup.replicator import BackupHealth, Meta, sidecar_dir
from edge.errors import BackupError
from edge.store.queries import Queries
from edge.sync.status import SyncStatus, compute_status

STALE_BACKLOG: Final = dt.timedelta(minutes=3)
"""Offline with an unsent message older than this: the status bar turns amber."""


@dataclass(frozen=True, slots=True)
class StationHealth:
    """One reading of the station's sync and backup state."""

    at: dt.datetime
    """When it was read (the kiosk's clock, UTC)."""
    sync: SyncStatus
    """Online/offline, backlog, oldest unsent, last ack, the daemon's last error."""
    sync_error_current: bool
    """The daemon's ``last_error`` was written with its latest heartbeat (the daemon never
    clears the key, so an older error is history, not the present state)."""
    backup: BackupHealth | None
    """The backup runner's state, or None when this station has never been backed up."""

    def sync_level(self) -> str:
        """``error`` (a current daemon error), ``warn`` (offline with a backlog older than
        ``STALE_BACKLOG``), ``ok`` (online) or ``idle`` (offline, nothing old waiting)."""
        s = self.sync
        if s.last_error and self.sync_error_current:
            return "error"
        if not s.online and s.backlog and s.oldest_age is not None and s.oldest_age > STALE_BACKLOG:
            return "warn"
        return "ok" if s.online else "idle"


def read_sync(queries: Queries, now: dt.datetime) -> tuple[SyncStatus, bool]:
    """The sync status at ``now`` and whether its last error is current."""
    rows = queries.db.execute("SELECT key, value, updated_at FROM sync_state").fetchall()
    state = {str(k): str(v) for k, v, _ in rows}
    written = {str(k): str(u) for k, _, u in rows}
    status = compute_status(queries.outbox_stats(), state, now)
    current = "last_error" in written and written["last_error"] == written.get("heartbeat_at")
    return status, current


def read_backup_health(db_path: str, now: dt.datetime) -> BackupHealth | None:
    """Backup health from the sidecar (``meta.json`` and the spool), as
    ``Replicator.health()`` computes it, but read-only: constructing a ``Replicator``
    would create directories and delete the running backup's ``.tmp`` spool files.

    ``last_error`` is always None here: the runner keeps it in memory only.
    """
    side = sidecar_dir(db_path)
    try:
        with open(os.path.join(side, "meta.json")) as f:
            raw = json.load(f)
        meta = Meta(**{k: v for k, v in raw.items() if k in Meta.__dataclass_fields__})
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as err:
        return BackupHealth(target="-", last_success_at=None, lag_seconds=0.0, lag_txids=0,
                            last_error=f"meta.json: {err}", txid=0, uploaded_txid=0)
    spool = os.path.join(side, "spool")
    pending: list[tuple[int, str]] = []
    spool_max = 0
    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir(spool):
            if not name.endswith(".ltx") or "_" not in name:
                continue
            level_s, rest = name.split("_", 1)
            parsed = ltx.parse_filename(rest)
            if parsed is None or not level_s.isdigit():
                continue
            spool_max = max(spool_max, parsed[1])
            if int(level_s) == 0 and parsed[1] > meta.uploaded_txid:
                pending.append((parsed[1], os.path.join(spool, name)))
    txid = max(meta.txid, spool_max)
    lag_s = 0.0
    if pending:
        pending.sort()
        # The runner may upload and delete the file between listdir and open.
        with contextlib.suppress(OSError, BackupError), open(pending[0][1], "rb") as f:
            ts = ltx.Header.unpack(f.read(ltx.HEADER_SIZE)).timestamp_ms
            lag_s = max(0.0, now.timestamp() - ts / 1000)
    last = (dt.datetime.fromtimestamp(meta.last_success_ms / 1000, tz=dt.UTC)
            if meta.last_success_ms else None)
    return BackupHealth(target="-", last_success_at=last, lag_seconds=lag_s,
                        lag_txids=max(0, txid - meta.uploaded_txid), last_error=None,
                        txid=txid, uploaded_txid=meta.uploaded_txid)


def read_health(queries: Queries, db_path: str, now: dt.datetime) -> StationHealth:
    """Sync and backup state at ``now`` (``db_path`` ``:memory:`` has no backup)."""
    sync, current = read_sync(queries, now)
    backup = None if db_path == ":memory:" else read_backup_health(db_path, now)
    return StationHealth(at=now, sync=sync, sync_error_current=current, backup=backup)
