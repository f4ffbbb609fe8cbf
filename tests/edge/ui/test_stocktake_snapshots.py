"""The 盘点 screen's states, in Chinese and in English, at the kiosk's 120×40 and at a small
80×24 terminal. Review the SVGs by eye before ``--snapshot-update``: no expected quantity
may show while counting."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.edge.ui.conftest import SIZE, Rig, fresh_health, scan, wait_for

SMALL = (80, 24)
"""The smallest terminal the kiosk screens are checked at."""
CUP, CUP_CASE = "6901234567892", "16901234567899"
Steps = Callable[[Rig, Pilot[Any]], Awaitable[None]]


def name(pilot: Pilot[Any]) -> str:
    return type(pilot.app.screen).__name__


async def start(rig: Rig, pilot: Pilot[Any]) -> None:
    await scan(pilot, "B-L01")
    await wait_for(pilot, lambda: name(pilot) == "HomeScreen")
    pilot.app.open_stocktake()  # type: ignore[attr-defined]  # the home button is off an 80-column screen
    await wait_for(pilot, lambda: name(pilot) == "StocktakeScreen")


async def counting(rig: Rig, pilot: Pilot[Any]) -> None:
    await start(rig, pilot)
    await pilot.click("#start-full")
    await wait_for(pilot, lambda: getattr(pilot.app.screen, "take", None) is not None)
    await scan(pilot, "A-01-01")
    await scan(pilot, CUP)
    await scan(pilot, CUP_CASE)


async def recount(rig: Rig, pilot: Pilot[Any]) -> None:
    await counting(rig, pilot)
    await pilot.click("#confirm")
    await wait_for(pilot, lambda: name(pilot) == "QuantityDialog")
    await pilot.press("enter")  # OK (the keypad's OK button is below an 80×24 screen)
    await wait_for(pilot, lambda: name(pilot) == "StocktakeScreen")
    await pilot.click("#finish")
    await wait_for(pilot, lambda: "复盘" in str(pilot.app.screen.query_one("#banner").render())
                   or "recount" in str(pilot.app.screen.query_one("#banner").render()))


STATES: dict[str, Steps] = {"stocktake_start": start, "stocktake_counting": counting,
                            "stocktake_recount": recount}


@pytest.mark.parametrize("size", [SIZE, SMALL], ids=["120x40", "80x24"])
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("state", list(STATES))
def test_stocktake_screen(snap_compare: Any, rig: Rig, state: str, lang: str,
                          size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await STATES[state](rig, pilot)
        await fresh_health(pilot)
        await pilot.pause(0.05)

    assert snap_compare(rig.app(lang=lang), terminal_size=size, run_before=run_before)
