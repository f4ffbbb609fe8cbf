"""Failures in the kiosk's background workers reach the packer: a red banner saying what to
do, a logged traceback, and an order left where the packer can resume it.

A failing writer is injected: the station's one writer raises "database is locked" (what
SQLite says when another process holds the write lock past the busy timeout) on a chosen
statement, once."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from edge.ui.app import PacklineApp
from tests.edge.ui.conftest import (
    SIZE,
    Rig,
    banner_kind,
    banner_text,
    scan,
    sign_in_by_badge,
    wait_for,
)

CUP = "6901234567892"


def step(app: PacklineApp) -> str:
    return str(getattr(app.screen, "step", ""))


def fail_once(monkeypatch: pytest.MonkeyPatch, obj: Any, name: str,
              when: Callable[..., bool] = lambda *a, **k: True) -> list[int]:
    """Make ``obj.name`` raise ``database is locked`` the first time ``when`` holds."""
    real = getattr(obj, name)
    failures: list[int] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if not failures and when(*args, **kwargs):
            failures.append(1)
            raise sqlite3.OperationalError("database is locked")
        return real(*args, **kwargs)

    monkeypatch.setattr(obj, name, flaky)
    return failures


async def test_a_locked_database_during_ship_shows_a_banner_and_retry_ships(
        rig: Rig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    # The shipment's outbox row is the last statement of the ship transaction.
    failed = fail_once(monkeypatch, rig.store.writer, "enqueue", lambda kind, *a, **k: kind == "shipment")
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)
        await pilot.click("#go-pack")
        await scan(pilot, "SF1001")
        await scan(pilot, CUP)
        rig.scale.put(350)
        await wait_for(pilot, lambda: step(app) == "ship_failed")
        assert failed == [1]
        assert banner_kind(app) == "error"
        assert "database is locked" in banner_text(app) and "重试发货" in banner_text(app)
        assert app.screen.query_one("#retry-ship").display
        # Nothing of the shipment was kept; the label was printed and logged once.
        assert rig.status("O1") == "waiting" and rig.ship_moves("O1") == []
        assert rig.outbox("shipment") == []
        assert len(rig.label.jobs) == 1
        await pilot.click("#retry-ship")
        await wait_for(pilot, lambda: step(app) == "shipped")
    assert rig.status("O1") == "shipped" and rig.ship_moves("O1") == [("CUP-350", "A-01-01", -1)]
    assert len(rig.outbox("shipment")) == 1 and len(rig.label.jobs) == 1
    assert rig.rows("SELECT COUNT(*) FROM print_log") == [(1,)]
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert logged and logged[0].exc_info is not None
    assert "database is locked" in str(logged[0].exc_info[1])


async def test_a_weight_override_is_written_with_the_shipment_not_before(
        rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    fail_once(monkeypatch, rig.store.writer, "enqueue", lambda kind, *a, **k: kind == "shipment")
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot, "B-L01")
        await pilot.click("#go-pack")
        await scan(pilot, "SF1001")
        await scan(pilot, CUP)
        rig.scale.put(480)
        await wait_for(pilot, lambda: step(app) == "weigh_failed")
        await pilot.click("#override")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ReasonDialog")
        await pilot.click("#reason-gift")
        await wait_for(pilot, lambda: step(app) == "ship_failed")
        # The failed shipment took its override with it: no approval for an unshipped order.
        assert rig.store.queries.audit_log("pack.weight_override") == []
        assert rig.rows("SELECT COUNT(*) FROM weigh_log WHERE override_by IS NOT NULL") == [(0,)]
        await pilot.click("#retry-ship")
        await wait_for(pilot, lambda: step(app) == "shipped")
    (audit,) = rig.store.queries.audit_log("pack.weight_override")
    assert audit["actor"] == "L01" and audit["subject"] == "O1"
    assert rig.rows("SELECT grams, override_by, override_reason FROM weigh_log "
                    "WHERE override_by IS NOT NULL") == [(480, "L01", "加了赠品 / Gift added")]


async def test_a_label_printed_but_not_logged_is_logged_on_retry_not_printed_twice(
        rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    app = rig.app()
    fail_once(monkeypatch, app.services.packing, "record_print")
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)
        await pilot.click("#go-pack")
        await scan(pilot, "SF1001")
        await scan(pilot, CUP)
        rig.scale.put(350)
        await wait_for(pilot, lambda: step(app) == "print_failed")
        assert banner_kind(app) == "error" and "未能记录" in banner_text(app)
        assert "database is locked" in banner_text(app)
        assert len(rig.label.jobs) == 1 and rig.rows("SELECT COUNT(*) FROM print_log") == [(0,)]
        await pilot.click("#retry-print")
        await wait_for(pilot, lambda: step(app) == "shipped")
    assert len(rig.label.jobs) == 1
    assert rig.rows("SELECT is_reprint FROM print_log") == [(0,)]
    assert rig.status("O1") == "shipped"


async def test_an_unexpected_error_while_rendering_goes_to_retry_print(
        rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    app = rig.app()
    renderers = app.services.renderers
    real = renderers.label
    calls: list[int] = []

    def broken(order: Any, facts: Any) -> bytes:
        calls.append(1)
        if len(calls) == 1:
            raise KeyError("sender_name")
        return real(order, facts)

    monkeypatch.setattr(renderers, "label", broken)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)
        await pilot.click("#go-pack")
        await scan(pilot, "SF1001")
        await scan(pilot, CUP)
        rig.scale.put(350)
        await wait_for(pilot, lambda: step(app) == "print_failed")
        assert banner_kind(app) == "error" and "KeyError" in banner_text(app)
        assert "重试打印" in banner_text(app)
        await pilot.click("#retry-print")
        await wait_for(pilot, lambda: step(app) == "shipped")
    assert len(rig.label.jobs) == 1 and rig.status("O1") == "shipped"


async def test_any_uncaught_worker_error_is_a_red_banner_and_logged(
        rig: Rig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    app = rig.app(lang="en")
    fail_once(monkeypatch, app.services.packing, "sign_in")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "B-P01")
        await wait_for(pilot, lambda: banner_kind(app) == "error")
        assert "Something went wrong: OperationalError: database is locked" in banner_text(app)
        assert "Try again" in banner_text(app) and app.bells == 1
        assert type(app.screen).__name__ == "SignInScreen"
        await sign_in_by_badge(pilot)  # the packer scans again and gets in
    assert any(r.exc_info and "database is locked" in str(r.exc_info[1]) for r in caplog.records)
