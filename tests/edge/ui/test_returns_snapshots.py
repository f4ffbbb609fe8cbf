"""Snapshots of the 退货入库 screen, in Chinese and in English, at the kiosk's 120×40 and a
small 80×24 terminal. Review the SVGs by eye before ``--snapshot-update``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.edge.ui.conftest import Rig, fresh_health, scan, wait_for
from tests.edge.ui.test_returns import SOCK, TOWEL, seed_return

Steps = Callable[[Rig, Pilot[Any]], Awaitable[None]]
SIZES = {"120x40": (120, 40), "80x24": (80, 24)}
"""The terminal sizes each state is drawn at."""


def name(pilot: Pilot[Any]) -> str:
    return type(pilot.app.screen).__name__


async def _open(rig: Rig, pilot: Pilot[Any]) -> None:
    seed_return(rig)
    await scan(pilot, "B-P01")
    await wait_for(pilot, lambda: name(pilot) == "HomeScreen")
    await pilot.click("#go-returns")
    await wait_for(pilot, lambda: name(pilot) == "ReturnScreen")


async def returns_inspecting(rig: Rig, pilot: Pilot[Any]) -> None:
    """The parcel found by its return waybill; a towel restocked, one damaged, a sock that
    was never in the order flagged."""
    await _open(rig, pilot)
    await scan(pilot, "YT7000000001")
    await scan(pilot, TOWEL)
    await pilot.press("f6")
    await scan(pilot, TOWEL)
    await scan(pilot, SOCK)


async def returns_waiting(rig: Rig, pilot: Pilot[Any]) -> None:
    """Nothing open: the screen asks for the parcel."""
    await _open(rig, pilot)


STATES: dict[str, Steps] = {"returns_inspecting": returns_inspecting,
                            "returns_waiting": returns_waiting}


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("state", list(STATES))
def test_returns_screen(snap_compare: Any, rig: Rig, state: str, lang: str, size: str) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await STATES[state](rig, pilot)
        await fresh_health(pilot)
        await pilot.pause(0.05)

    assert snap_compare(rig.app(lang=lang), terminal_size=SIZES[size], run_before=run_before)
