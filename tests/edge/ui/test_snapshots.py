"""One snapshot per screen state, in Chinese and in English, at a fixed terminal size.

Review the SVGs by eye before ``--snapshot-update``. The store clock is a StepClock, the
scale a FakeScale, and nothing on these screens blinks or shows the wall clock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.edge.ui.conftest import SIZE, Rig, fresh_health, scan, wait_for

CUP, SOCK = "6901234567892", "6905555000017"
Steps = Callable[[Rig, Pilot[Any]], Awaitable[None]]


def name(pilot: Pilot[Any]) -> str:
    return type(pilot.app.screen).__name__


async def signin(rig: Rig, pilot: Pilot[Any]) -> None:
    await scan(pilot, "B-NOPE")  # the error banner is part of the picture


async def home(rig: Rig, pilot: Pilot[Any]) -> None:
    await scan(pilot, "B-P01")
    await wait_for(pilot, lambda: name(pilot) == "HomeScreen")


async def pack_verify_wrong_item(rig: Rig, pilot: Pilot[Any]) -> None:
    await home(rig, pilot)
    await pilot.click("#go-pack")
    await scan(pilot, "SF1003")
    await scan(pilot, CUP)
    await scan(pilot, SOCK)


async def pack_weight_mismatch(rig: Rig, pilot: Pilot[Any]) -> None:
    await home(rig, pilot)
    await pilot.click("#go-pack")
    await scan(pilot, "SF1001")
    await scan(pilot, CUP)
    rig.scale.put(512)
    await wait_for(pilot, lambda: str(getattr(pilot.app.screen, "step", "")) == "weigh_failed")


async def pack_shipped(rig: Rig, pilot: Pilot[Any]) -> None:
    await home(rig, pilot)
    await scan(pilot, CUP)
    await wait_for(pilot, lambda: name(pilot) == "PackScreen")
    rig.scale.put(348)
    await wait_for(pilot, lambda: str(getattr(pilot.app.screen, "step", "")) == "shipped")


async def pack_intercepted(rig: Rig, pilot: Pilot[Any]) -> None:
    await home(rig, pilot)
    await pilot.click("#go-pack")
    await scan(pilot, "SF1005")


async def lead_dialog(rig: Rig, pilot: Pilot[Any]) -> None:
    await pack_weight_mismatch(rig, pilot)
    await pilot.click("#override")
    await wait_for(pilot, lambda: name(pilot) == "LeadOverrideDialog")


async def reason_dialog(rig: Rig, pilot: Pilot[Any]) -> None:
    await lead_dialog(rig, pilot)
    await scan(pilot, "B-L01")
    await wait_for(pilot, lambda: name(pilot) == "ReasonDialog")


async def pin_dialog(rig: Rig, pilot: Pilot[Any]) -> None:
    await pilot.click("#op-P01")
    await wait_for(pilot, lambda: name(pilot) == "PinDialog")
    await pilot.click("#key-1")
    await pilot.click("#key-2")


async def devices(rig: Rig, pilot: Pilot[Any]) -> None:
    await home(rig, pilot)
    await pilot.click("#go-devices")
    await scan(pilot, "6909876543210")
    rig.scale.put(1250)
    await wait_for(pilot, lambda: "1250" in str(pilot.app.screen.query_one("#scale-reading").render()))


async def receive_scanning(rig: Rig, pilot: Pilot[Any]) -> None:
    from tests.edge.ui.test_receive import PO, seed_po

    seed_po(rig)
    await scan(pilot, "B-L01")
    await wait_for(pilot, lambda: name(pilot) == "HomeScreen")
    await pilot.click("#go-receive")
    await wait_for(pilot, lambda: name(pilot) == "ReceiveScreen")
    await scan(pilot, PO)
    await scan(pilot, CUP)
    await scan(pilot, "16901234567899")  # a case of 12


STATES: dict[str, Steps] = {
    "signin": signin, "home": home, "pack_verify_wrong_item": pack_verify_wrong_item,
    "pack_weight_mismatch": pack_weight_mismatch, "pack_shipped": pack_shipped,
    "pack_intercepted": pack_intercepted, "lead_dialog": lead_dialog,
    "reason_dialog": reason_dialog, "pin_dialog": pin_dialog, "devices": devices,
    "receive_scanning": receive_scanning,
}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("state", list(STATES))
def test_screen(snap_compare: Any, rig: Rig, state: str, lang: str) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await STATES[state](rig, pilot)
        await fresh_health(pilot)
        await pilot.pause(0.05)

    assert snap_compare(rig.app(lang=lang), terminal_size=SIZE, run_before=run_before)
