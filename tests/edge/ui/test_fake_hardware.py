"""``kiosk --fake-hardware`` end to end: the real SerialScale reads a pty ScaleSimulator and
the real TSPL adapter prints to a FakeNetPrinter socket. Also the CLI command and i18n table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from edge.__main__ import cli
from edge.store import Store, open_store
from edge.ui.app import make_app
from edge.ui.devices import open_devices
from edge.ui.i18n import TEXT, I18n
from edge.ui.services import KioskSettings
from tests.edge.ui.conftest import SIZE, scan, wait_for
from tests.fixtures.edge_store import seed_small_catalog
from tests.fixtures.pack_orders import seed_packing


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "edge.db"
    store: Store = open_store(path, station_id="ST1")
    seed_small_catalog(store)
    seed_packing(store)
    store.close()
    return path


async def test_fake_hardware_packs_through_the_real_adapters(db_path: Path) -> None:
    settings = KioskSettings(db_path=db_path, fake_hardware=True, scan_debounce_s=0.0,
                             scale_poll_s=0.05)
    devices = open_devices(settings)
    assert devices.errors == {}
    label_fake = devices.fake_printers["label_printer"]
    app = make_app(settings, devices=devices)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await scan(pilot, "B-P01")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "HomeScreen")
            await pilot.click("#go-pack")
            devices.fake_scanner.feed("SF1001")  # the scriptable scanner beside the keyboard
            await wait_for(pilot, lambda: str(getattr(app.screen, "step", "")) == "verify")
            await scan(pilot, "6901234567892")
            label_fake.set_out_of_paper(True)
            await pilot.click("#put-parcel")  # the simulated scale gets 350 g ± noise
            await wait_for(pilot, lambda: str(getattr(app.screen, "step", "")) == "print_failed",
                           timeout=10)
            assert "out of paper" in str(app.screen.query_one("#banner").render())
            label_fake.set_out_of_paper(False)
            await pilot.click("#retry-print")
            await wait_for(pilot, lambda: str(getattr(app.screen, "step", "")) == "shipped",
                           timeout=10)
            store = app.services.store
            (grams,) = store.writer.db.execute("SELECT grams FROM weigh_log").fetchone()
            assert abs(grams - 350) <= 16
            assert store.writer.db.execute(
                "SELECT status FROM orders WHERE order_id = 'O1'").fetchone() == ("shipped",)
    finally:
        app.services.close()
    jobs = label_fake.jobs
    assert len(jobs) == 1 and b"SF1001" in jobs[0] and jobs[0].startswith(b"SIZE 100 mm,180 mm")


async def test_missing_scale_shows_as_a_fault_not_a_crash(db_path: Path) -> None:
    settings = KioskSettings(db_path=db_path, scale_url="serial:///nonexistent/tty?protocol=yaohua",
                             scale_poll_s=0.05)
    app = make_app(settings)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.device_states["scale"] == "error", timeout=10)
            assert app.device_states["label_printer"] == "off"
            await scan(pilot, "B-P01")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "HomeScreen")
            assert "秤✗" in "".join(
                str(w.render()) for w in app.screen.query("StatusBar Label"))
    finally:
        app.services.close()


def test_kiosk_command_is_registered_and_refuses_a_missing_database(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0 and "kiosk" in result.output and "启动打包工作站界面" in result.output
    result = runner.invoke(cli, ["--db", str(tmp_path / "none.db"), "kiosk", "--fake-hardware"])
    assert result.exit_code != 0
    assert "数据库不存在" in str(result.exception) or "数据库不存在" in result.output


def test_i18n_table_is_complete_and_placeholders_match() -> None:
    for key, (zh, en) in TEXT.items():
        assert zh.strip() and en.strip(), key
        assert set(re.findall(r"{(\w+)}", zh)) == set(re.findall(r"{(\w+)}", en)), key
    i18n = I18n()
    assert i18n.t("pack.weight", grams=5, state="稳定") == "秤: 5 g 稳定"
    assert i18n.toggle() == "en" and i18n.t("pack.step.weigh") == "Weigh"
    with pytest.raises(KeyError):
        i18n.t("no.such.key")
