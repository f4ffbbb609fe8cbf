"""Kiosk fixtures: a seeded station database on disk, in-process fake devices, the app as
production builds it (``make_app``), and helpers that act like a packer."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.keys import _character_to_key
from textual.pilot import Pilot

from edge.hardware.fakes import FakePrinter, FakeScale, FakeScanner
from edge.store import Store, open_store
from edge.ui.app import PacklineApp, make_app
from edge.ui.i18n import I18n
from edge.ui.services import Devices, KioskSettings, Services
from tests.fixtures.edge_store import StepClock, seed_small_catalog
from tests.fixtures.pack_orders import seed_packing

SIZE = (120, 40)
"""Terminal size for Pilot and snapshot tests."""

NOW = datetime(2026, 11, 23, 8, 10, tzinfo=UTC)
"""The kiosk's wall clock in tests (the store's StepClock starts at 08:00), so the ages the
status bar shows are fixed."""


@dataclass
class Rig:
    """What a kiosk test holds: the store, the fakes and a way to build the app."""

    store: Store
    scale: FakeScale
    label: FakePrinter
    slip: FakePrinter
    scanner: FakeScanner
    db_path: Path

    def settings(self, **overrides: Any) -> KioskSettings:
        base: dict[str, Any] = {"db_path": self.db_path, "scan_debounce_s": 0.0,
                                "scale_poll_s": 0.02}
        base.update(overrides)
        return KioskSettings(**base)

    def app(self, *, lang: str = "zh", with_scanner: bool = False, **overrides: Any) -> PacklineApp:
        settings = self.settings(lang=lang, **overrides)
        devices = Devices(scanner=self.scanner if with_scanner else None, scale=self.scale,
                          label_printer=self.label, slip_printer=self.slip,
                          put_parcel=self.scale.put, remove_parcel=self.scale.remove)
        services = Services(store=self.store, devices=devices, settings=settings,
                            i18n=I18n(lang), wall_clock=lambda: NOW, display_tz=UTC)
        return make_app(settings, services=services)

    # database views ---------------------------------------------------------
    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        return list(self.store.writer.db.execute(sql, params or []).fetchall())

    def outbox(self, kind: str) -> list[dict[str, Any]]:
        return [json.loads(p) for (p,) in self.rows(
            "SELECT payload FROM outbox WHERE kind = ? ORDER BY seq", [kind])]

    def status(self, order_id: str) -> str:
        return str(self.rows("SELECT status FROM orders WHERE order_id = ?", [order_id])[0][0])

    def ship_moves(self, order_id: str) -> list[tuple[str, str, int]]:
        return [tuple(r) for r in self.rows(  # type: ignore[misc]
            "SELECT sku, location, qty_delta FROM stock_moves WHERE reason = 31 AND source_id = ? "
            "ORDER BY seq", [order_id])]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    db_path = tmp_path / "edge.db"
    store = open_store(db_path, station_id="ST1", clock=StepClock())
    seed_small_catalog(store)
    seed_packing(store)
    scale = FakeScale()
    yield Rig(store, scale, FakePrinter(), FakePrinter(), FakeScanner(), db_path)
    store.close()


async def wait_for(pilot: Pilot[Any], predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the app run until ``predicate()`` holds (bounded in time)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.02)
    await pilot.pause()


async def fresh_health(pilot: Pilot[Any]) -> None:
    """Make the status worker read the database now and wait until the UI has it."""
    app = pilot.app
    assert isinstance(app, PacklineApp)
    seen = app.health_reads
    app.refresh_health()
    await wait_for(pilot, lambda: app.health_reads > seen)


def type_keys(app: PacklineApp, code: str) -> None:
    """Queue the key events a keyboard-wedge scanner sends: the characters, then Enter.

    They go through the app's normal key path (bindings, then the focused widget) like
    ``pilot.press``, without its idle wait after every key (~60 ms each).
    """
    for ch in code:
        key = ch if ch.isalnum() else _character_to_key(ch)
        app.post_message(events.Key(key, ch))
    app.post_message(events.Key("enter", "\r"))


async def scan(pilot: Pilot[Any], code: str) -> None:
    """Scan ``code`` with the keyboard wedge and let the app settle."""
    type_keys(pilot.app, code)  # type: ignore[arg-type]
    await pilot.pause()


async def sign_in_by_badge(pilot: Pilot[Any], badge: str = "B-P01") -> None:
    app = pilot.app
    assert isinstance(app, PacklineApp)
    await scan(pilot, badge)
    await wait_for(pilot, lambda: app.operator is not None and type(app.screen).__name__ == "HomeScreen")


def banner_text(app: PacklineApp) -> str:
    from textual.widgets import Static

    return str(app.screen.query_one("#banner", Static).render())


def banner_kind(app: PacklineApp) -> str:
    from textual.widgets import Static

    classes = app.screen.query_one("#banner", Static).classes
    return next((c.removeprefix("banner-") for c in classes if c.startswith("banner-")), "")
