"""The kiosk's sync indicator: a pure function of outbox stats and the daemon's state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from edge.store.queries import OutboxStats
from edge.sync.status import compute_status

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def state(connected: bool = True, beat: timedelta = timedelta(seconds=1), **extra: str) -> dict[str, str]:
    return {"connected": "1" if connected else "0", "daemon": "running",
            "heartbeat_at": (NOW - beat).isoformat(), **extra}


def test_online_and_all_synced() -> None:
    s = compute_status(OutboxStats(0, None, NOW - timedelta(minutes=3)), state(), NOW)
    assert (s.online, s.daemon_running, s.backlog, s.oldest_age) == (True, True, 0, None)
    assert s.last_ack_at == NOW - timedelta(minutes=3)
    assert s.label("zh") == "在线 · 已全部同步"
    assert s.label("en") == "online · all synced"


def test_offline_with_a_backlog_shows_its_age() -> None:
    stats = OutboxStats(42, NOW - timedelta(minutes=2, seconds=5), None)
    s = compute_status(stats, state(connected=False, last_error="ConnectionRefusedError"), NOW)
    assert not s.online and s.daemon_running
    assert s.oldest_age == timedelta(minutes=2, seconds=5)
    assert s.label("zh") == "离线 · 待同步 42 条 (2 分钟)"
    assert s.label("en") == "offline · 42 waiting (2 min)"
    assert s.last_error == "ConnectionRefusedError"


def test_a_stale_heartbeat_means_the_daemon_is_not_running() -> None:
    s = compute_status(OutboxStats(3, NOW - timedelta(days=2), None), state(beat=timedelta(seconds=151)), NOW)
    assert (s.online, s.daemon_running) == (False, False)
    assert s.label("zh") == "同步未运行 · 待同步 3 条 (2 天)"


def test_a_stopped_daemon_and_no_state_at_all() -> None:
    assert not compute_status(OutboxStats(0, None, None), {**state(), "daemon": "stopped"}, NOW).daemon_running
    s = compute_status(OutboxStats(1, NOW - timedelta(hours=5), None), {}, NOW)
    assert (s.online, s.daemon_running, s.last_ack_at) == (False, False, None)
    assert s.label("en") == "sync not running · 1 waiting (5 h)"


def test_last_ack_is_the_latest_of_both_sources() -> None:
    later = NOW - timedelta(seconds=5)
    s = compute_status(OutboxStats(0, None, NOW - timedelta(hours=1)),
                       state(last_ack_at=later.isoformat()), NOW)
    assert s.last_ack_at == later
