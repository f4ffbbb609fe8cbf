"""Fixtures for order tests: fakes on free ports, a migrated database, a sealer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet

from cloud.crypto import Sealer
from cloud.marketplaces.fake_server import RunningFake, run_fake_platform


@pytest.fixture
def sealer() -> Sealer:
    """A sealer with a fresh key."""
    return Sealer(Fernet.generate_key())


@pytest.fixture
def serve() -> Iterator[Callable[..., RunningFake]]:
    """Start fake platforms on free ports (stopped at teardown)."""
    started: list[RunningFake] = []

    def start(platform: str, seed: int = 7, **settings: Any) -> RunningFake:
        settings.setdefault("history_hours", 0)
        settings.setdefault("orders_per_hour", 0.0001)  # 0 trips a generator bug
        settings.setdefault("timeout_delay", 1.5)
        running = run_fake_platform(platform, 0, seed, **settings)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
