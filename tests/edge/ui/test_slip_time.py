"""The packing slip prints the kiosk's clock in the configured zone (default Asia/Shanghai),
never the machine's naive local time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from edge.ui.app import PacklineApp
from edge.ui.printouts import local_time
from edge.ui.services import KioskSettings
from tests.edge.ui.conftest import SIZE, Rig, scan, sign_in_by_badge, wait_for

CUP = "6901234567892"


def step(app: PacklineApp) -> str:
    return str(getattr(app.screen, "step", ""))


async def test_the_slip_shows_the_kiosk_clock_in_shanghai_time(rig: Rig) -> None:
    app = rig.app(print_slip=True)
    app.services.display_tz = None  # as production: the configured zone (default Shanghai)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)
        await scan(pilot, CUP)
        await wait_for(pilot, lambda: step(app) == "weigh")
        rig.scale.put(350)
        await wait_for(pilot, lambda: step(app) == "shipped")
    (job,) = rig.slip.jobs
    # the kiosk clock is 2026-11-23 08:10 UTC = 16:10 in Beijing time (UTC+8, no DST)
    assert "时间: 2026-11-23 16:10".encode("gb18030") in job


def test_local_time_converts_the_packed_time_or_now_and_never_guesses() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    now = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)
    assert local_time({"now": now, "tz": tz}) == "2027-01-01 01:30"
    assert local_time({"now": now, "tz": tz, "packed_at": "2026-06-01T23:05:00+00:00"}) == "2026-06-02 07:05"
    assert local_time({"now": now, "tz": ZoneInfo("Europe/Berlin")}) == "2026-12-31 18:30"
    assert local_time({"now": datetime(2026, 1, 1, 8, 0), "tz": tz}) == "-"  # naive: no guess
    assert local_time({"tz": tz}) == "-"


def test_the_zone_is_a_setting_checked_up_front(rig: Rig) -> None:
    assert KioskSettings().timezone == "Asia/Shanghai"
    with pytest.raises(ValueError, match="unknown time zone"):
        KioskSettings(timezone="Mars/Olympus")
    from edge.__main__ import cli

    out = CliRunner().invoke(cli, ["--db", str(rig.db_path), "kiosk", "--timezone", "Mars/Olympus"])
    assert out.exit_code == 2 and "unknown time zone 'Mars/Olympus'" in out.output
