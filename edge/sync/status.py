"""The link to the cloud as the kiosk's status bar shows it: a pure function of the
outbox statistics and the state the sync daemon records.

    status = read_status(queries, now=datetime.now(UTC))
    status.online, status.backlog, status.oldest_age, status.last_ack_at, status.label("zh")
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from edge.store.queries import OutboxStats, Queries

STALE_AFTER = timedelta(seconds=150)
"""A daemon heartbeat older than this means the daemon is not running: offline. The daemon
writes one at least every ``DaemonSettings.heartbeat_every`` (60 s) and on every change."""


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """What the status bar needs about sync."""

    online: bool
    """The daemon runs and is connected to the broker."""
    daemon_running: bool
    """The daemon wrote a heartbeat recently."""
    backlog: int
    """Messages not yet acked by the cloud."""
    oldest_age: timedelta | None
    """Age of the oldest unacked message (None when the backlog is empty)."""
    last_ack_at: datetime | None
    """When the cloud last acked one of this station's messages."""
    last_error: str | None
    """The daemon's last problem, one line."""

    def label(self, lang: str = "zh") -> str:
        """One short line for the status bar, e.g. ``在线 · 待同步 3 条 (2 分钟)``."""
        zh = lang == "zh"
        if not self.daemon_running:
            head = "同步未运行" if zh else "sync not running"
        else:
            head = ("在线" if zh else "online") if self.online else ("离线" if zh else "offline")
        if not self.backlog:
            return f"{head} · " + ("已全部同步" if zh else "all synced")
        age = _human(self.oldest_age, zh)
        if zh:
            return f"{head} · 待同步 {self.backlog} 条 ({age})"
        return f"{head} · {self.backlog} waiting ({age})"


def _human(age: timedelta | None, zh: bool) -> str:
    seconds = int(age.total_seconds()) if age is not None else 0
    if seconds < 60:
        return f"{seconds} 秒" if zh else f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60} 分钟" if zh else f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} 小时" if zh else f"{seconds // 3600} h"
    return f"{seconds // 86400} 天" if zh else f"{seconds // 86400} d"


def compute_status(stats: OutboxStats, state: dict[str, str], now: datetime) -> SyncStatus:
    """Pure: combine outbox statistics and the daemon's recorded state at time ``now``."""
    heartbeat = _parse(state.get("heartbeat_at"))
    running = (
        state.get("daemon") == "running"
        and heartbeat is not None
        and now - heartbeat <= STALE_AFTER
    )
    last_ack = max(
        (t for t in (stats.last_acked_at, _parse(state.get("last_ack_at"))) if t is not None),
        default=None,
    )
    return SyncStatus(
        online=running and state.get("connected") == "1",
        daemon_running=running,
        backlog=stats.pending,
        oldest_age=(now - stats.oldest_created_at) if stats.oldest_created_at else None,
        last_ack_at=last_ack,
        last_error=state.get("last_error") or None,
    )


def read_status(queries: Queries, now: datetime) -> SyncStatus:
    """Read both sources and compute the status."""
    return compute_status(queries.outbox_stats(), queries.sync_state(), now)


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
