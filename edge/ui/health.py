"""What the kiosk shows about the station's links: sync (from the station DB) and backup
(from the backup runner's sidecar files), read without writing anything.

The sync daemon and the backup runner are other processes; the kiosk only reads what they
leave behind. ``read_health(queries, db_path, now)`` runs in the kiosk's status worker on
its own read connection, never on the UI thread.

    health = read_health(queries, "edge.db", now=datetime.now(UTC))
    health.sync.backlog, health.sync_level(), health.backup.ok if health.backup else None
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from edge.backup.replicator import BackupHealth
from edge.backup.replicator import read_health as backup_read_health
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
    """The backup runner's state as the sidecar records it (read-only)."""
    return backup_read_health(db_path, now.timestamp())


def read_health(queries: Queries, db_path: str, now: dt.datetime) -> StationHealth:
    """Sync and backup state at ``now`` (``db_path`` ``:memory:`` has no backup)."""
    sync, current = read_sync(queries, now)
    backup = None if db_path == ":memory:" else read_backup_health(db_path, now)
    return StationHealth(at=now, sync=sync, sync_error_current=current, backup=backup)
