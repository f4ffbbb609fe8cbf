"""Snapshots of 波次拣货 — the list of waves, the pick list while picking, the put wall with
a slot in large digits — in Chinese and English, at the kiosk's 120×40 and at 80×24 (the
smallest terminal a station runs). Review the SVGs by eye before ``--snapshot-update``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.edge.ui.conftest import Rig, fresh_health, scan, wait_for
from tests.edge.ui.test_wave import CUP, TOWEL
from tests.fixtures.waves import WAVE_ID, seed_wave

Steps = Callable[[Rig, Pilot[Any]], Awaitable[None]]
SIZES = {"120x40": (120, 40), "80x24": (80, 24)}
"""Terminal sizes the screens are pictured at."""


def name(pilot: Pilot[Any]) -> str:
    return type(pilot.app.screen).__name__


async def wave_list(rig: Rig, pilot: Pilot[Any]) -> None:
    seed_wave(rig.store)
    await scan(pilot, "B-P01")
    await wait_for(pilot, lambda: name(pilot) == "HomeScreen")
    pilot.app.open_wave()  # type: ignore[attr-defined]  # the home button, at any size
    await wait_for(pilot, lambda: name(pilot) == "WaveScreen")


async def wave_picking(rig: Rig, pilot: Pilot[Any]) -> None:
    await wave_list(rig, pilot)
    await scan(pilot, WAVE_ID)
    await scan(pilot, "A-01-01")
    await scan(pilot, CUP)
    await scan(pilot, CUP)
    await scan(pilot, "A-01-02")
    await scan(pilot, TOWEL)


async def wave_put_wall(rig: Rig, pilot: Pilot[Any]) -> None:
    await wave_picking(rig, pilot)
    await scan(pilot, TOWEL)
    await scan(pilot, TOWEL)
    await scan(pilot, "Y-01-01")
    await pilot.press("f6")
    await wait_for(pilot, lambda: getattr(pilot.app.screen, "mode", "") == "put")
    await scan(pilot, TOWEL)


STATES: dict[str, Steps] = {
    "wave_list": wave_list, "wave_picking": wave_picking, "wave_put_wall": wave_put_wall,
}


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("state", list(STATES))
def test_screen(snap_compare: Any, rig: Rig, state: str, lang: str, size: str) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await STATES[state](rig, pilot)
        await fresh_health(pilot)
        await pilot.pause(0.05)

    assert snap_compare(rig.app(lang=lang), terminal_size=SIZES[size], run_before=run_before)
