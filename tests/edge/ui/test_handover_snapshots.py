"""Snapshots of the 快递交接 screen, in Chinese and in English, at the kiosk's 120×40 and a
small 80×24 terminal. Review the SVGs by eye before ``--snapshot-update``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.edge.ui.conftest import Rig, fresh_health, scan, wait_for
from tests.edge.ui.test_handover import seed_shipped

Steps = Callable[[Rig, Pilot[Any]], Awaitable[None]]
SIZES = {"120x40": (120, 40), "80x24": (80, 24)}
"""The terminal sizes each state is drawn at."""


def name(pilot: Pilot[Any]) -> str:
    return type(pilot.app.screen).__name__


async def _open(rig: Rig, pilot: Pilot[Any]) -> None:
    seed_shipped(rig)
    await scan(pilot, "B-P01")
    await wait_for(pilot, lambda: name(pilot) == "HomeScreen")
    await pilot.click("#go-handover")
    await wait_for(pilot, lambda: name(pilot) == "HandoverScreen")


async def handover_wrong_courier(rig: Rig, pilot: Pilot[Any]) -> None:
    """顺丰 batch with SF1001 scanned, SF1002 flagged, a 中通 parcel refused."""
    await _open(rig, pilot)
    await scan(pilot, "SF")
    await scan(pilot, "SF1001")
    await scan(pilot, "SF1003")


async def handover_closed(rig: Rig, pilot: Pilot[Any]) -> None:
    """Both 中通 parcels scanned and the batch closed (list printed)."""
    await _open(rig, pilot)
    await scan(pilot, "ZTO")
    await scan(pilot, "SF1003")
    await scan(pilot, "SF1006")
    await pilot.click("#close-batch")
    await wait_for(pilot, lambda: getattr(pilot.app.screen, "last_closed", None) is not None)


STATES: dict[str, Steps] = {"handover_wrong_courier": handover_wrong_courier,
                            "handover_closed": handover_closed}


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("state", list(STATES))
def test_handover_screen(snap_compare: Any, rig: Rig, state: str, lang: str, size: str) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await STATES[state](rig, pilot)
        await fresh_health(pilot)
        await pilot.pause(0.05)

    assert snap_compare(rig.app(lang=lang), terminal_size=SIZES[size], run_before=run_before)
