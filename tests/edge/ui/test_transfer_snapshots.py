"""Snapshots of 调拨出库 and 调拨入库 while scanning, in Chinese and English, at the kiosk's
120×40 and at 80×24 (the smallest terminal a station runs). Review the SVGs by eye before
``--snapshot-update``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.edge.ui.conftest import Rig, fresh_health, scan, wait_for
from tests.edge.ui.test_transfer import CUP, CUP_CASE, TR_IN, TR_OUT, seed_transfers

Steps = Callable[[Rig, Pilot[Any]], Awaitable[None]]
SIZES = {"120x40": (120, 40), "80x24": (80, 24)}
"""Terminal sizes the screens are pictured at."""


def name(pilot: Pilot[Any]) -> str:
    return type(pilot.app.screen).__name__


async def _open(rig: Rig, pilot: Pilot[Any], side: str) -> None:
    seed_transfers(rig)
    await scan(pilot, "B-L01")
    await wait_for(pilot, lambda: name(pilot) == "HomeScreen")
    pilot.app.open_transfer(side)  # type: ignore[attr-defined]  # the home button, at any size
    await wait_for(pilot, lambda: name(pilot) == "TransferScreen")


async def transfer_out_list(rig: Rig, pilot: Pilot[Any]) -> None:
    await _open(rig, pilot, "out")


async def transfer_out_scanning(rig: Rig, pilot: Pilot[Any]) -> None:
    await _open(rig, pilot, "out")
    await scan(pilot, TR_OUT)
    await scan(pilot, CUP)
    await scan(pilot, CUP_CASE)


async def transfer_in_scanning(rig: Rig, pilot: Pilot[Any]) -> None:
    await _open(rig, pilot, "in")
    await scan(pilot, TR_IN)
    await scan(pilot, "Y-01-01")
    await scan(pilot, CUP_CASE)


STATES: dict[str, Steps] = {
    "transfer_out_list": transfer_out_list, "transfer_out_scanning": transfer_out_scanning,
    "transfer_in_scanning": transfer_in_scanning,
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
