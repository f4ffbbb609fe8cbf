"""``./packline demo``'s whole system, as a newcomer would run it, in real processes.

``python -m provisioning.demo --no-kiosk`` sets up and starts mosquitto, the fake PDD and
Taobao shops, cloud ingest, worker and web app, and the station's sync daemon — each its
own process, as in production. The test then plays the packer on the production kiosk app
(Textual's Pilot, the station's own database, simulated scale and printers): an order that
the fake PDD produced reaches the kiosk, is packed, its waybill prints through a
Cainiao-protocol print component carrying the fake's print_data unchanged (the real
WebSocket adapter, a fake component), its tracking number reaches the fake
(read back through the platform API) and the web app shows the order shipped with it.
Stopping the supervisor (SIGTERM) stops every process it started.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from cloud.config import CloudSettings
from cloud.crypto import sealer_for
from cloud.db import make_engine
from cloud.db.schema_orders import orders, waybills
from cloud.orders.worker import Worker, WorkerSettings
from edge.hardware.fakes import FakePrinter, FakeScale
from edge.hardware.print_component import FakePrintComponent, PrintComponent
from edge.store import open_store
from edge.ui.app import PacklineApp, make_app
from edge.ui.i18n import I18n
from edge.ui.services import Devices, KioskSettings, Services
from tests.edge.ui.conftest import SIZE, banner_text, scan, sign_in_by_badge

pytestmark = [pytest.mark.broker, pytest.mark.timeout(420)]

REPO = Path(__file__).resolve().parents[2]
"""The repository (the demo runs from it, as ``./packline demo`` does)."""
WAIT = 150.0
"""Longest wait for one step of the flow (the worker passes every 5 s)."""
PACKAGING_G = 30
"""The kiosk's default packaging weight, added to the items' weight."""


def wait_for(cond: Callable[[], object], what: str, proc: subprocess.Popen[str],
             timeout: float = WAIT) -> object:
    """Poll ``cond`` until it returns something truthy; fail early if the demo died."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if proc.poll() is not None:
            raise AssertionError(f"the demo exited ({proc.returncode}) waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def station_order(db: Path) -> tuple[str, str, list[tuple[str, int]]] | None:
    """A PDD order waiting at the station: (order id, waybill, [(barcode, qty)])."""
    with sqlite3.connect(db, timeout=10) as conn:
        rows = conn.execute(
            "SELECT order_id, waybill_no FROM orders WHERE status = 'waiting' AND "
            "order_id LIKE 'pdd-%' ORDER BY order_id").fetchall()
        for order_id, waybill in rows:
            lines = conn.execute(
                "SELECT b.barcode, l.qty FROM order_lines l JOIN barcodes b ON b.sku = l.sku "
                "AND b.units = 1 WHERE l.order_id = ? ORDER BY l.line_no",
                [order_id]).fetchall()
            if lines:
                return str(order_id), str(waybill), [(str(b), int(q)) for b, q in lines]
    return None


def expected_weight(db: Path, order_id: str) -> int:
    """What the kiosk expects on the scale: the items' weight plus the packaging."""
    with sqlite3.connect(db, timeout=10) as conn:
        items = conn.execute(
            "SELECT SUM(s.unit_weight_g * l.qty) FROM order_lines l JOIN skus s ON s.sku = l.sku "
            "WHERE l.order_id = ?", [order_id]).fetchone()[0]
    return int(items) + PACKAGING_G


async def pack(db: Path, order_id: str, waybill: str,
               lines: list[tuple[str, int]]) -> list[list[object]]:
    """The packer at the kiosk: badge, waybill, each item, the scale; the waybill prints
    through a print component (the real WebSocket adapter to a fake Cainiao-protocol
    component). Returns the contents of each document the component printed."""
    store = open_store(db)
    scale, label = FakeScale(), FakePrinter()
    component = FakePrintComponent()
    component.start()
    client = PrintComponent(component.url())
    client.open()
    settings = KioskSettings(db_path=db, scan_debounce_s=0.0, scale_poll_s=0.02,
                             component_carriers=frozenset({"*"}))
    devices = Devices(scanner=None, scale=scale, label_printer=label, slip_printer=FakePrinter(),
                      print_component=client, put_parcel=scale.put, remove_parcel=scale.remove)
    app: PacklineApp = make_app(settings, services=Services(
        store=store, devices=devices, settings=settings, i18n=I18n("zh")))

    def step() -> str:
        return str(getattr(app.screen, "step", ""))

    async with app.run_test(size=SIZE) as pilot:
        async def until(value: str) -> None:
            deadline = time.monotonic() + 30
            while step() != value:
                assert time.monotonic() < deadline, (step(), banner_text(app))
                await pilot.pause(0.05)

        await sign_in_by_badge(pilot, "BADGE-P01")
        await pilot.click("#go-pack")
        await scan(pilot, waybill)
        await until("verify")
        assert order_id.removeprefix("pdd-") in banner_text(app), banner_text(app)
        for barcode, qty in lines:
            for _ in range(qty):
                await scan(pilot, barcode)
        await until("weigh")
        scale.put(expected_weight(db, order_id))
        await until("shipped")
    store.close()
    client.close()
    component.stop()
    assert label.jobs == []  # a platform e-waybill: rendered by the component, not here
    assert [doc for _, doc, _ in component.printed] == [waybill]
    return [contents for _, _, contents in component.printed]


def web_order_page(port: int, order_id: str) -> str:
    """Sign in to the web app as the demo manager and open the order's page."""
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, follow_redirects=True, timeout=10) as web:
        page = web.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token, page[:500]
        signed_in = web.post("/login", data={"username": "manager", "password": "packline-demo",
                                             "csrf_token": token.group(1)})
        assert signed_in.status_code == 200 and "/login" not in str(signed_in.url), signed_in.text[:500]
        return web.get(f"/orders/{order_id}").text


async def tracking_on_platform(cloud_dir: Path, shop_id: str, platform_order_id: str) -> str:
    """The tracking number the fake platform has for the order, through its API."""
    settings = CloudSettings(data_dir=cloud_dir, database_url="")
    engine = make_engine(settings.database_url)
    try:
        async with Worker(engine, sealer_for(settings), settings=WorkerSettings(
                listen_push=False)) as worker:
            found = await worker.client(shop_id).client.get_order(platform_order_id)
        return found.tracking_number
    finally:
        engine.dispose()


def test_demo_runs_the_whole_system(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [
        str(REPO), os.environ.get("PYTHONPATH")]))}
    env.pop("PACKLINE_CLOUD_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "provisioning.demo", "--home", str(home), "--no-kiosk",
         "--lang", "en"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    output: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # set-up, then the banner with the web address and logins
            output.append(line)
            if "stops everything" in line:
                break
        text = "".join(output)
        assert proc.poll() is None, text
        state = json.loads((home / "demo.json").read_text())
        web_port = state["ports"]["web"]
        assert f"http://127.0.0.1:{web_port}/" in text and "manager" in text, text
        # --no-kiosk: the banner does not point at a kiosk that is not there
        assert "Ctrl-C stops everything" in text and "the kiosk below" not in text, text
        station_db = home / "station" / "edge.db"

        # an order of the fake PDD reaches the station as a pack task
        found = wait_for(lambda: station_order(station_db), "a PDD order at the kiosk", proc)
        assert isinstance(found, tuple)
        order_id, waybill, lines = found
        printed = asyncio.run(pack(station_db, order_id, waybill, lines))
        # the fake PDD's print_data reached the component unchanged, with our custom area
        engine = make_engine(f"sqlite:///{home / 'cloud' / 'cloud.db'}")
        try:
            with engine.connect() as conn:
                print_data, platform_no = conn.execute(
                    sa.select(waybills.c.print_data, orders.c.platform_order_id).join(
                        orders, orders.c.id == waybills.c.order_id).where(
                        waybills.c.waybill_no == waybill)).one()
        finally:
            engine.dispose()
        [[platform_part, custom]] = printed
        assert platform_part == json.loads(print_data) and "encryptedData" in platform_part
        assert custom["data"]["orderNo"] == platform_no  # type: ignore[index]

        # the shipment goes up, the worker writes the tracking number back to the platform
        engine = make_engine(f"sqlite:///{home / 'cloud' / 'cloud.db'}")
        try:
            def shipped() -> object:
                with engine.connect() as conn:
                    row = conn.execute(sa.select(orders.c.state, orders.c.shop_id,
                                                 orders.c.platform_order_id).where(
                        orders.c.id == order_id)).one()
                return row if row.state == "shipped" else None

            row = wait_for(shipped, "the order shipped in the cloud", proc)
        finally:
            engine.dispose()
        assert isinstance(row, sa.Row)
        platform_tracking = wait_for(lambda: asyncio.run(tracking_on_platform(
            home / "cloud", row.shop_id, row.platform_order_id)), "the tracking on the fake", proc)
        assert platform_tracking == waybill
        page = web_order_page(web_port, order_id)
        assert waybill in page and row.platform_order_id in page, page[:2000]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
        output.append(rest or "")
    assert proc.returncode == 0, "".join(output)[-3000:]
    # every process the demo started is gone (by PID; the supervisor stopped them)
    left = subprocess.run(["pgrep", "-f", str(home)], capture_output=True, text=True).stdout
    assert left.strip() == "", left
