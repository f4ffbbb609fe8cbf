"""Station health for the cloud: backup state and outbox backlog, on ``up/health``.

Published by the sync daemon directly (QoS 1), **not** through the outbox: a health report
is ephemeral and only the latest matters, and writing it to the station database would
itself be a change for the backup to upload. The cloud keeps the latest per station
(``station_health``) and acks it like any message; a lost report is replaced by the next.

The backup state is read from the backup service's sidecar beside the database
(``edge.backup.replicator.read_health``: no target, no side effects), as
``packline-edge backup status`` shows it without ``--target``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime

from edge.backup.replicator import read_health
from edge.store.queries import Queries
from edge.sync.schema import Envelope, HealthWire, encode, up_topic

HEALTH_EVERY = 60.0
"""Seconds between reports when nothing changes."""
CHECK_EVERY = 5.0
"""Seconds between looks for a change (a change is reported at once)."""


def build_health(db_path: str, queries: Queries, now: datetime) -> HealthWire:
    """The station's health at ``now`` (the backup lag is measured to it)."""
    backup = read_health(db_path, now.timestamp()) if db_path != ":memory:" else None
    stats = queries.outbox_stats()
    return HealthWire(
        backup_configured=backup is not None,
        backup_last_success_at=backup.last_success_at if backup else None,
        backup_lag_seconds=round(backup.lag_seconds, 1) if backup else 0.0,
        backup_lag_txids=backup.lag_txids if backup else 0,
        backup_txid=backup.txid if backup else 0,
        backup_last_error=backup.problem[:500] if backup and backup.problem else None,
        outbox_backlog=stats.pending,
        outbox_oldest_at=stats.oldest_created_at,
    )


def _signature(h: HealthWire) -> tuple[object, ...]:
    """What counts as a change (not the growing lag seconds)."""
    return (h.backup_configured, h.backup_last_success_at, h.backup_lag_txids, h.backup_txid,
            h.backup_last_error, h.outbox_backlog)


class HealthReporter:
    """Decides when to publish a report; :meth:`maybe_publish` is called every loop turn."""

    def __init__(
        self, station_id: str, db_path: str, queries: Queries,
        publish: Callable[[str, bytes], object], *, every: float = HEALTH_EVERY,
        clock: Callable[[], datetime], check_every: float = CHECK_EVERY,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.station_id = station_id
        """Sender."""
        self.db_path = db_path
        """The station database (its backup sidecar sits beside it)."""
        self.queries = queries
        """Reads the outbox backlog."""
        self.publish = publish
        """``(topic, payload)``: the broker's QoS 1 publish."""
        self.every = every
        """Seconds between reports when nothing changes."""
        self.check_every = check_every
        """Seconds between looks for a change."""
        self.sent = 0
        """Reports published."""
        self.last: HealthWire | None = None
        """The last report published."""
        self.clock = clock
        """The station's clock (UTC): report times and the backup lag."""
        self._monotonic = monotonic
        self._last_sent = -1e18
        self._last_check = -1e18

    def maybe_publish(self, connected: bool) -> bool:
        """Publish if the last report is ``every`` seconds old or the health changed."""
        now = self._monotonic()
        if not connected or now - self._last_check < self.check_every:
            return False
        self._last_check = now
        at = self.clock()
        health = build_health(self.db_path, self.queries, at)
        changed = self.last is None or _signature(health) != _signature(self.last)
        if not changed and now - self._last_sent < self.every:
            return False
        env = Envelope(msg_id=str(uuid.uuid4()), kind="health", station_id=self.station_id,
                       created_at=at, payload=health.model_dump(mode="json"))
        self.publish(up_topic(self.station_id, "health"), encode(env))
        self.last, self._last_sent = health, now
        self.sent += 1
        return True
