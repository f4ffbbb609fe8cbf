"""Fixtures: fake platforms served by uvicorn on 127.0.0.1 and an injected HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from cloud.marketplaces.fake_server import RunningFake, run_fake_platform
from cloud.marketplaces.http import build_client
from cloud.marketplaces.pdd import LIMITS as PDD_LIMITS
from tests.cloud.marketplaces.mp_support import FAST_DECRYPT


@pytest.fixture
def serve() -> Iterator[Callable[..., RunningFake]]:
    """Start fakes on free ports; all stopped at teardown."""
    started: list[RunningFake] = []

    def start(platform: str, seed: int = 7, **settings: Any) -> RunningFake:
        settings.setdefault("history_hours", 6)
        if platform == "pdd":
            limits = {k: [(x.calls, x.period, x.scope) for x in v] for k, v in PDD_LIMITS.items()}
            limits["pdd.open.decrypt.batch"] = FAST_DECRYPT
            settings.setdefault("limits", limits)
        running = run_fake_platform(platform, 0, seed, **settings)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """Injected HTTP client with a short timeout."""
    async with build_client(timeout=2.0) as client:
        yield client


