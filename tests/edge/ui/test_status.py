"""The status bar and the devices screen show sync and backup state read from the
database and the backup sidecar, as the sync daemon and the backup runner leave them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from textual.widgets import Label

from edge.backup.replica import open_target
from edge.backup.replicator import Replicator
from edge.ui.app import PacklineApp
from edge.ui.health import read_backup_health
from tests.edge.ui.conftest import NOW, SIZE, Rig, fresh_health, scan, wait_for


def iso(t: Any) -> str:
    return str(t.isoformat())


def daemon_writes(rig: Rig, *, connected: bool, error: str | None = None,
                  ack_age_s: int | None = None) -> None:
    """What ``SyncDaemon.write_status`` records (one ``set_sync_state`` call)."""
    values = {"connected": "1" if connected else "0", "heartbeat_at": iso(NOW - timedelta(seconds=2)),
              "in_flight": "0", "daemon": "running"}
    if ack_age_s is not None:
        values["last_ack_at"] = iso(NOW - timedelta(seconds=ack_age_s))
    if error:
        values["last_error"] = error
    rig.store.writer.set_sync_state(values)


def ack_all(rig: Rig, seconds_ago: int) -> None:
    rig.store.writer.db.execute("UPDATE outbox SET acked_at = ? WHERE acked_at IS NULL",
                                [iso(NOW - timedelta(seconds=seconds_ago))])


def backlog(rig: Rig) -> int:
    return int(rig.rows("SELECT COUNT(*) FROM outbox WHERE acked_at IS NULL")[0][0])


def sync_label(app: PacklineApp) -> tuple[str, set[str]]:
    label = app.screen.query_one("StatusBar #sync", Label)
    return str(label.render()), set(label.classes)


def row(app: PacklineApp, wid: str) -> tuple[str, set[str]]:
    label = app.screen.query_one(f"#{wid}", Label)
    return str(label.render()), set(label.classes)


async def signed_in(rig: Rig, app: PacklineApp, pilot: Any) -> None:
    await scan(pilot, "B-P01")
    await wait_for(pilot, lambda: type(app.screen).__name__ == "HomeScreen")
    await fresh_health(pilot)


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_no_daemon_old_backlog_is_amber_offline(rig: Rig, lang: str) -> None:
    app = rig.app(lang=lang)
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(rig, app, pilot)
        n = backlog(rig)
        assert n >= 1
        text, classes = sync_label(app)
        # the oldest row was written by the seeding StepClock at 08:00:xx; the kiosk's now is 08:10
        want = {"zh": f"离线 · 待同步 {n} 条 · 最早 9分钟", "en": f"offline · {n} waiting · oldest 9m"}
        assert text == want[lang]
        assert "sync-warn" in classes


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_online_all_synced_is_green_with_ack_time(rig: Rig, lang: str) -> None:
    ack_all(rig, seconds_ago=30)
    daemon_writes(rig, connected=True, ack_age_s=40)
    app = rig.app(lang=lang)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.health is not None)
        ack_all(rig, seconds_ago=30)  # the sign-in wrote one more row: acked too
        await signed_in(rig, app, pilot)
        ack_all(rig, seconds_ago=30)
        await fresh_health(pilot)
        text, classes = sync_label(app)
        want = {"zh": "在线 · 已全部同步 · 确认 08:09:30", "en": "online · all synced · ack 08:09:30"}
        assert text == want[lang]
        assert "sync-ok" in classes


async def test_young_backlog_offline_is_not_amber_and_counts_grow(rig: Rig) -> None:
    ack_all(rig, seconds_ago=60)
    daemon_writes(rig, connected=False)
    app = rig.app(lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(rig, app, pilot)  # writes one sign-in row, created by the StepClock
        rig.store.writer.db.execute("UPDATE outbox SET created_at = ? WHERE acked_at IS NULL",
                                    [iso(NOW - timedelta(seconds=45))])
        await fresh_health(pilot)
        text, classes = sync_label(app)
        assert text == "offline · 1 waiting · oldest 45s · ack 08:09:00"
        assert classes == {"sync-idle"}
        rig.store.writer.db.execute("UPDATE outbox SET created_at = ? WHERE acked_at IS NULL",
                                    [iso(NOW - timedelta(minutes=4))])
        await fresh_health(pilot)
        assert sync_label(app) == ("offline · 1 waiting · oldest 4m · ack 08:09:00", {"sync-warn"})


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_current_daemon_error_is_red_and_a_later_heartbeat_clears_it(rig: Rig, lang: str) -> None:
    daemon_writes(rig, connected=False, error="broker refused: not authorised")
    app = rig.app(lang=lang)
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(rig, app, pilot)
        text, classes = sync_label(app)
        assert text.startswith({"zh": "离线 · 出错 · 待同步 ", "en": "offline · error · "}[lang])
        assert "sync-error" in classes
        await pilot.click("#go-devices")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "DevicesScreen")
        await fresh_health(pilot)
        want = {"zh": "最近错误: broker refused: not authorised",
                "en": "Last error: broker refused: not authorised"}
        assert row(app, "sync-error") == (want[lang], {"health-row", "sync-error"})
        # the daemon reconnects: a new heartbeat without an error (the key itself stays)
        daemon_writes(rig, connected=True)
        await fresh_health(pilot)
        text, classes = sync_label(app)
        assert text.startswith({"zh": "在线 · 待同步 ", "en": "online · "}[lang])
        assert "sync-ok" in classes
        assert row(app, "sync-error")[0] == {"zh": "最近错误: 无", "en": "Last error: none"}[lang]


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_devices_screen_shows_sync_details_and_real_backup_health(
        rig: Rig, lang: str, tmp_path: Path) -> None:
    target = open_target(f"file://{tmp_path / 'replica'}")
    rep = Replicator(str(rig.db_path), target, clock=lambda: NOW.timestamp())
    rep.sync()
    app = rig.app(lang=lang)
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(rig, app, pilot)
        await pilot.click("#go-devices")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "DevicesScreen")
        await fresh_health(pilot)
        n = backlog(rig)
        zh = lang == "zh"
        assert row(app, "sync-state")[0] == ("状态: 离线(同步未运行)" if zh
                                             else "State: offline (sync not running)")
        assert row(app, "sync-backlog") == (f"待同步: {n} 条" if zh else f"Waiting: {n}",
                                            {"health-row", "sync-warn"})
        assert row(app, "sync-oldest")[0] == ("最早未发送: 9分钟前" if zh else "Oldest unsent: 9m ago")
        assert row(app, "sync-last_ack")[0] == ("最近确认: 从未" if zh else "Last ack: never")
        assert row(app, "backup-state") == ("状态: 正常" if zh else "State: OK",
                                            {"health-row", "sync-ok"})
        assert row(app, "backup-last_success")[0] == (
            "最近上传成功: 2026-11-23 08:10:00" if zh else "Last upload: 2026-11-23 08:10:00")
        assert row(app, "backup-lag")[0] == ("落后: 0 个事务，0秒" if zh else "Lag: 0 transactions, 0s")
        # a write the runner has captured but not uploaded (S3 unreachable, say)
        rig.store.writer.upsert_operator("X01", "新人", "packer", badge="B-X01")
        rep.clock = lambda: (NOW - timedelta(seconds=125)).timestamp()
        assert rep.capture() is not None
        await fresh_health(pilot)
        assert row(app, "backup-state") == ("状态: 落后" if zh else "State: behind",
                                            {"health-row", "sync-warn"})
        assert row(app, "backup-lag")[0] == ("落后: 1 个事务，2分钟" if zh else "Lag: 1 transactions, 2m")
        await pilot.press("f12")  # the panels follow the language switch at once
        assert row(app, "backup-state")[0] == ("State: behind" if zh else "状态: 落后")


async def test_devices_screen_without_any_backup(rig: Rig) -> None:
    app = rig.app(lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(rig, app, pilot)
        await pilot.click("#go-devices")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "DevicesScreen")
        await fresh_health(pilot)
        assert row(app, "backup-state") == ("State: never ran", {"health-row", "sync-warn"})


def test_reading_backup_health_writes_nothing(rig: Rig, tmp_path: Path) -> None:
    side = rig.db_path.parent / f".{rig.db_path.name}-backup"
    assert read_backup_health(str(rig.db_path), NOW) is None
    assert not side.exists()  # a Replicator would have created it
    rep = Replicator(str(rig.db_path), open_target(f"file://{tmp_path / 'r'}"),
                     clock=lambda: NOW.timestamp())
    rep.capture()
    tmp = side / "spool" / "0_in-progress.ltx.tmp"
    tmp.write_bytes(b"half an upload")
    h = read_backup_health(str(rig.db_path), NOW)
    assert h is not None and h.lag_txids == 1 and h.uploaded_txid == 0 and not h.ok
    assert tmp.exists()  # the runner's file in progress is left alone
    assert rep.health().lag_txids == h.lag_txids and rep.health().txid == h.txid


@pytest.mark.parametrize("size", [(120, 40), (128, 37), (160, 50)])
@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_status_bar_fits_kiosk_terminals(rig: Rig, lang: str, size: tuple[int, int]) -> None:
    """The widest realistic line (error, 5-digit backlog, hours, ack time, an operator)
    is shown whole: every label's text fits its region and nothing overlaps the button."""
    rig.store.writer.db.execute("UPDATE outbox SET created_at = ?", [iso(NOW - timedelta(hours=23))])
    ack_all(rig, seconds_ago=10)
    rig.store.writer.db.execute(
        "INSERT INTO outbox (msg_id, kind, payload, created_at) WITH RECURSIVE c(i) AS "
        "(SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 12000) "
        "SELECT 'fill-' || i, 'move', '{}', ? FROM c", [iso(NOW - timedelta(hours=23))])
    daemon_writes(rig, connected=False, error="timeout", ack_age_s=3600)
    app = rig.app(lang=lang)
    async with app.run_test(size=size) as pilot:
        await signed_in(rig, app, pilot)
        bar = app.screen.query_one("StatusBar")
        right = bar.query_one("#lang").region.x
        for label in bar.query(Label):
            if label.id == "spacer":
                continue
            text = str(label.render())
            assert label.region.width >= cell_len(text), (label.id, text, label.region)
            assert label.region.right <= right, (label.id, label.region, right)
        text, classes = sync_label(app)
        want = {"zh": "离线 · 出错 · 待同步 12001 条 · 最早 23小时 · 确认 08:09:50",
                "en": "offline · error · 12001 waiting · oldest 23h · ack 08:09:50"}
        assert (text, classes) == (want[lang], {"sync-error"})  # the later of the two acks
