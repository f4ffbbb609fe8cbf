"""Bounded growth on the station: acked outbox rows leave after the retention and only once
the backup holds them; the kiosk's status read costs the same whatever the outbox's size."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import edge.sync.daemon as daemon_module
from edge.backup.replicator import BackupHealth
from edge.store import Store, open_store
from edge.sync.daemon import DaemonSettings, SyncDaemon, backed_up_until
from edge.sync.fake_broker import FakeBrokerServer, packline_acl

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
DAY, HOUR = timedelta(days=1), timedelta(hours=1)


class SetClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> SetClock:
    return SetClock()


@pytest.fixture
def store(tmp_path: Path, clock: SetClock) -> Iterator[Store]:
    s = open_store(tmp_path / "edge.db", station_id="st1", clock=clock)
    yield s
    s.close()


def ids(store: Store) -> list[str]:
    return [r[0] for r in store.writer.db.execute("SELECT msg_id FROM outbox ORDER BY seq")]


def fill(store: Store, clock: SetClock) -> None:
    """a, b, c acked at T0+1h, +2h, +3h; d never acked."""
    w = store.writer
    for name in "abcd":
        w.enqueue("alert", {"n": name}, msg_id=f"msg-{name}-0001")
    for hours, name in ((1, "a"), (2, "b"), (3, "c")):
        clock.now = T0 + hours * HOUR
        w.mark_acked([f"msg-{name}-0001"])


def test_acked_rows_go_after_the_retention_and_only_once_backed_up(store: Store, clock: SetClock) -> None:
    fill(store, clock)
    w = store.writer
    clock.now = T0 + 40 * DAY
    assert w.prune_outbox(timedelta(days=30), None) == 0  # never backed up: keep everything
    assert w.prune_outbox(timedelta(days=30), T0 + 90 * 60 * timedelta(seconds=1)) == 1  # a only
    assert ids(store) == ["msg-b-0001", "msg-c-0001", "msg-d-0001"]
    clock.now = T0 + 30 * DAY + 150 * timedelta(minutes=1)  # 30 days after 02:30
    assert w.prune_outbox(timedelta(days=30), T0 + 40 * DAY) == 1  # b (acked 02:00), not c (03:00)
    clock.now = T0 + 400 * DAY
    assert w.prune_outbox(timedelta(days=30), T0 + 400 * DAY) == 0
    # c is the newest ack (the status bar's "last ack"); d was never acked
    assert ids(store) == ["msg-c-0001", "msg-d-0001"]
    assert store.queries.outbox_stats().last_acked_at == T0 + 3 * HOUR


def health(last: datetime | None, lag_txids: int = 0, lag_seconds: float = 0.0) -> BackupHealth:
    return BackupHealth(target="file:///r", last_success_at=last, lag_seconds=lag_seconds,
                        lag_txids=lag_txids, last_error=None, txid=10, uploaded_txid=10 - lag_txids)


def test_the_backup_point_is_the_last_upload_or_before_the_oldest_change_waiting(
        monkeypatch: pytest.MonkeyPatch) -> None:
    now = T0 + DAY
    cases = {None: None, "never": health(None), "clean": health(now - HOUR),
             "lagging": health(now - HOUR, lag_txids=3, lag_seconds=7200.0),
             "lag after upload": health(now - 4 * HOUR, lag_txids=1, lag_seconds=60.0)}
    got = {}
    for name, h in cases.items():
        monkeypatch.setattr(daemon_module, "read_backup_health", lambda _p, _n, h=h: h)
        got[name] = backed_up_until("/var/lib/packline/edge.db", now)
    assert got == {None: None, "never": None, "clean": now - HOUR, "lagging": now - 2 * HOUR,
                   "lag after upload": now - 4 * HOUR}
    assert backed_up_until(":memory:", now) is None


def test_the_daemon_prunes_up_to_the_backup_point(store: Store, clock: SetClock,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    fill(store, clock)
    clock.now = T0 + 60 * DAY
    seen: list[str] = []

    def read(path: str, now_s: float) -> BackupHealth:
        seen.append(path)
        return health(T0 + 150 * timedelta(minutes=1))  # holds a and b

    monkeypatch.setattr(daemon_module, "read_backup_health", read)
    server = FakeBrokerServer(acl=packline_acl())
    d = SyncDaemon(store, server.client("st1", username="st1"), DaemonSettings(tick=0, health_every=None))
    d.start()
    d.step()
    assert seen == [store.path]
    assert ids(store) == ["msg-c-0001", "msg-d-0001"]


def test_the_kiosk_status_read_never_scans_the_outbox(tmp_path: Path) -> None:
    statements: list[str] = []
    s = open_store(tmp_path / "edge.db", station_id="st1",
                   tracer=lambda sql, params: statements.append(sql))
    statements.clear()
    s.queries.outbox_stats()
    conn = sqlite3.connect(tmp_path / "edge.db")
    plans = {sql: " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
             for sql in statements if "outbox" in sql}
    conn.close()
    s.close()
    assert len(plans) == 2
    for sql, plan in plans.items():
        assert "INDEX" in plan and "SCAN outbox" not in plan.replace("SCAN outbox USING", ""), (sql, plan)
