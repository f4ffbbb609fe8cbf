"""The spine, end to end: one order from the fake Pinduoduo to a shipped parcel and back.

Everything real except the hardware: the fake PDD serves real HTTP, the station and the
cloud talk through a real mosquitto (TLS, ACLs), cloud ingest and the station's sync
daemon run in threads, and the kiosk is the production app driven by Textual's Pilot with
fake scanner / scale / printers on the station's database.

The order is synced, allocated (stock reserved), gets its e-waybill from the fake, reaches
station ST1 as a pack task, is packed at the kiosk (badge, waybill, items, weight, label),
its shipment and SHIP move flow up through the broker, the worker writes the tracking
number back, and after every step the last quantity pushed to the fake for the SKU equals
available-to-sell computed here from the cloud's tables (on-hand − reserved − buffer).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine

from cloud.crypto import Sealer
from cloud.db import make_engine, migrate
from cloud.db.schema import station_shipments, stock_balances, stock_moves
from cloud.db.schema_orders import orders, reservations, stock_pushes, waybills
from cloud.marketplaces.fake_server import RunningFake, run_fake_platform
from cloud.marketplaces.generator import Line, SimClock
from cloud.orders.worker import Worker, WorkerSettings
from cloud.sync.ingest import Ingest, IngestSettings
from edge.domain.models import MoveReason, MoveRequest, NegativeStockPolicy
from edge.hardware.fakes import FakePrinter, FakeScale
from edge.store import Store, open_store
from edge.sync.broker import MqttBroker
from edge.sync.daemon import DaemonSettings, SyncDaemon
from edge.sync.outbox import OutboxSettings
from edge.ui.app import PacklineApp, make_app
from edge.ui.i18n import I18n
from edge.ui.services import Devices, KioskSettings, Services
from tests.cloud.orders.support import connect_shop, fast_retry, seed_warehouses
from tests.edge.ui.conftest import SIZE, banner_text, scan, sign_in_by_badge
from tests.fixtures.mosquitto import MosquittoBroker, MosquittoFactory
from tests.fixtures.pack_orders import seed_operators
from tests.sync.harness import cloud_balances, cloud_move_ids, own_move_ids, station_balances

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]

STATION, WAREHOUSE = "st1", "WH1"  # provisioning ids are lower case
OPENING = 10
"""Opening stock of the SKU at the station."""
QTY = 2
"""Units of the SKU in the order."""
BUFFER = 1
"""Safety buffer (units) on the shop's mappings."""
UNIT_G = 250
"""Unit weight of the SKU at the station."""
PARCEL_G = QTY * UNIT_G + 30 + 8
"""What the scale reads: items + the default 30 g packaging + 8 g, inside the tolerance."""
BARCODE = "6912345000019"
LOCATION = "A-01-01"
SYNC_LAG = 4 * 60
"""Simulated seconds between placing the order and the sync that reads it."""
WAIT = 20.0
"""Upper bound of every wait, seconds."""


# ----------------------------------------------------------------------- plumbing


@contextmanager
def running_ingest(broker: MosquittoBroker, engine: Engine) -> Iterator[Ingest]:
    """Cloud ingest in a thread on the real broker."""
    client = MqttBroker(broker.settings("cloud", client_id="cloud-ingest"))
    ingest = Ingest(engine, client, IngestSettings(resend_after=1.0, max_resend_after=4.0))
    thread = threading.Thread(target=ingest.run, name="ingest", daemon=True)
    thread.start()
    try:
        yield ingest
    finally:
        ingest.stop_event.set()
        thread.join(10)
        client.disconnect()


@contextmanager
def running_daemon(broker: MosquittoBroker, store: Store) -> Iterator[SyncDaemon]:
    """The station's sync daemon in a thread, on its own connection to the station DB."""
    client = MqttBroker(broker.settings(STATION))
    daemon = SyncDaemon(store, client, DaemonSettings(
        outbox=OutboxSettings(resend_after=1.0, max_resend_after=4.0)))
    thread = threading.Thread(target=daemon.run, name="sync-st1", daemon=True)
    thread.start()
    try:
        yield daemon
    finally:
        daemon.stop_event.set()
        thread.join(10)
        client.disconnect()


async def wait_until(cond: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Poll ``cond`` (without blocking the event loop) for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.05)


def seed_station(path: Path, sku: str, title: str) -> Store:
    """Station st1 of WH1: one location, the SKU with its barcode, the operators."""
    store = open_store(path, station_id=STATION)
    w = store.writer
    w.upsert_warehouse(WAREHOUSE, "杭州主仓", NegativeStockPolicy.REFUSE)
    w.upsert_locations([{"code": LOCATION, "warehouse_id": WAREHOUSE, "zone": "A",
                         "bin": "01-01", "name": ""}])
    w.upsert_skus([{"sku": sku, "name_zh": title, "unit_weight_g": UNIT_G,
                    "default_location": LOCATION, "barcodes": [(BARCODE, 1)]}])
    seed_operators(store)
    return store


@dataclass
class Ledger:
    """The availability check: every step's expected value and the fake's pushes so far."""

    engine: Engine
    fake: Any
    shop_id: str
    sku: str
    sku_id: str
    seen: int = 0
    """Fake pushes of the SKU already checked."""

    def available(self) -> int:
        """Available-to-sell from the cloud's raw tables: on-hand − reserved − buffer.

        Reserved is what allocated orders still have to take off the shelf: an open
        reservation whose SHIP move is already in the ledger has left on-hand, and is not
        counted twice (the worker releases it on its next tick)."""
        r, m = reservations.c, stock_moves.c
        shipped = sa.exists().where(m.source_id == r.order_id, m.sku == r.sku,
                                    m.warehouse_id == r.warehouse_id,
                                    m.reason == int(MoveReason.SHIP))
        with self.engine.connect() as conn:
            on_hand = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(stock_balances.c.qty), 0))
                                   .where(stock_balances.c.sku == self.sku,
                                          stock_balances.c.warehouse_id == WAREHOUSE)).scalar_one()
            reserved = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(r.qty), 0)).where(
                r.sku == self.sku, r.warehouse_id == WAREHOUSE, r.released_at.is_(None),
                ~shipped)).scalar_one()
        return max(0, int(on_hand) - int(reserved) - BUFFER)

    def pushes(self) -> list[int]:
        with self.fake.lock:
            return [p.quantity for p in self.fake.stock_pushes
                    if p.sku_id == self.sku_id and not p.incremental]

    def check(self, step: str, expected: int) -> None:
        """After ``step``: availability is ``expected``, the last push equals it, and every
        push made during the step (there is nothing else moving meanwhile) equals it too."""
        available = self.available()
        assert available == expected, f"{step}: available-to-sell {available}, expected {expected}"
        pushed = self.pushes()
        assert pushed, f"{step}: nothing pushed for {self.sku} yet"
        new = pushed[self.seen:]
        assert all(q == available for q in new), f"{step}: pushed {new}, available {available}"
        assert pushed[-1] == available, f"{step}: last push {pushed[-1]}, available {available}"
        self.seen = len(pushed)
        with self.fake.lock:
            on_platform = next(s.quantity for s in self.fake.gen.catalog if s.sku_id == self.sku_id)
        assert on_platform == available, f"{step}: platform shows {on_platform}"


# ----------------------------------------------------------------------------- test


async def test_order_from_fake_pdd_packed_at_the_kiosk_and_written_back(
    mosquitto_factory: MosquittoFactory, tmp_path: Path,
) -> None:
    broker = mosquitto_factory(stations=(STATION,), cert_stations=())
    engine = make_engine(f"sqlite:///{tmp_path / 'cloud.db'}")
    migrate(engine)
    seed_warehouses(engine, stations_per={WAREHOUSE: [STATION]})
    sealer = Sealer(Fernet.generate_key())
    running: RunningFake = run_fake_platform(
        "pdd", 0, 5, clock=SimClock(time.time()), history_hours=0, orders_per_hour=0.0001,
        timeout_delay=1.5)
    try:
        await spine(broker, engine, sealer, running, tmp_path)
    finally:
        running.stop()
        engine.dispose()


async def spine(broker: MosquittoBroker, engine: Engine, sealer: Sealer, running: RunningFake,
                tmp_path: Path) -> None:
    fake = running.fake
    item = fake.gen.catalog[2]
    shop_id = await connect_shop(engine, sealer, running, stock=None, buffer_units=BUFFER)
    db_path = tmp_path / "station.db"
    kiosk_store = seed_station(db_path, item.outer_id, item.title)
    sync_store = open_store(db_path, station_id=STATION)
    ledger = Ledger(engine, fake, shop_id, item.outer_id, item.sku_id)
    settings = WorkerSettings(listen_push=False, poll_refunds=False, http_timeout=2.0)

    def converged() -> bool:
        return set(cloud_move_ids(engine)) == own_move_ids(kiosk_store)

    with running_ingest(broker, engine), running_daemon(broker, sync_store):
        async with Worker(engine, sealer, settings=settings, clock=fake.clock.now,
                          retry=fast_retry()) as worker:
            # 1. opening stock counted at the station reaches the cloud through the broker
            kiosk_store.writer.record_move(MoveRequest(
                sku=item.outer_id, location=LOCATION, qty_delta=OPENING,
                reason=MoveReason.RECEIVE, source_type="count", source_id="OPEN-1",
                operator_id="L01"))
            await wait_until(converged, "the opening stock move in the cloud")
            report = await worker.tick(shop_id)
            assert report.error == "", report.error
            ledger.check("opening stock", OPENING - BUFFER)

            # 2. an order on the fake: synced, allocated, e-waybill, pack task
            with fake.lock:
                order = fake.gen.new_order(int(fake.now()))
                order.lines = [Line(sku=item, qty=QTY, price_fen=item.price_fen, line_id="")]
                order.buyer_note, order.risk_review = "", False
            fake.clock.advance(SYNC_LAG)  # windows end 3 min before platform time
            oid = f"pdd-{order.order_id}"
            report = await worker.tick(shop_id)
            assert report.error == "", report.error
            with engine.connect() as conn:
                row = conn.execute(sa.select(orders).where(orders.c.id == oid)).one()
                assert (row.state, row.warehouse_id, row.station_id) == ("tasked", WAREHOUSE,
                                                                         STATION), row
                waybill_no = conn.execute(sa.select(waybills.c.waybill_no).where(
                    waybills.c.order_id == oid)).scalar_one()
            with fake.lock:
                issued = [w.number for w in fake.waybills]
            assert issued == [waybill_no]
            ledger.check("order allocated", OPENING - QTY - BUFFER)

            # 3. the task reaches the station through the broker
            def tasked() -> bool:
                return bool(kiosk_store.writer.db.execute(
                    "SELECT COUNT(*) FROM orders WHERE order_id = ? AND waybill_no = ?",
                    [oid, waybill_no]).fetchone()[0] == 1)

            await wait_until(tasked, "the pack task at the station")
            assert kiosk_store.writer.db.execute(
                "SELECT sku, qty FROM order_lines WHERE order_id = ?", [oid]).fetchall() == [
                (item.outer_id, QTY)]
            # the platform's ship-by deadline came with it: PDD's last_ship_time, 48 h on
            (ship_by,) = kiosk_store.writer.db.execute(
                "SELECT ship_by FROM orders WHERE order_id = ?", [oid]).fetchone()
            assert datetime.fromisoformat(ship_by) == datetime.fromtimestamp(
                order.created_at, UTC) + timedelta(hours=48)
            ledger.check("task at the station", OPENING - QTY - BUFFER)

            # 4. packed at the kiosk: badge, waybill, items, weight; the label prints
            label = await pack_at_kiosk(kiosk_store, db_path, waybill_no,
                                        order.order_id)
            assert kiosk_store.writer.db.execute(
                "SELECT status FROM orders WHERE order_id = ?", [oid]).fetchone() == ("shipped",)
            ledger.check("packed at the kiosk", OPENING - QTY - BUFFER)

            # 5. the shipment and the SHIP move reach the cloud
            def shipped_in_cloud() -> bool:
                with engine.connect() as conn:
                    n = conn.execute(sa.select(sa.func.count()).select_from(station_shipments)
                                     .where(station_shipments.c.order_id == oid)).scalar_one()
                return n == 1 and converged()

            await wait_until(shipped_in_cloud, "the shipment and SHIP move in the cloud")
            with engine.connect() as conn:
                ship = conn.execute(sa.select(station_shipments).where(
                    station_shipments.c.order_id == oid)).one()
            assert (ship.station_id, ship.waybill_no, ship.weight_g, ship.operator_id) == (
                STATION, waybill_no, PARCEL_G, "P01")
            assert kiosk_store.writer.db.execute(
                "SELECT kind, is_reprint FROM print_log WHERE order_id = ?", [oid]).fetchall() == [
                ("label", 0)]
            ledger.check("shipment in the cloud", OPENING - QTY - BUFFER)

            # 6. the worker writes the tracking number back and pushes stock
            report = await worker.tick(shop_id)
            assert report.error == "", report.error
            assert report.writeback is not None and report.writeback.done == 1
            ledger.check("shipped and written back", OPENING - QTY - BUFFER)

    # the fake's ground truth: shipped once, with the waybill number it issued
    with fake.lock:
        shipped = [(s.order_id, s.tracking_number, s.modification) for s in fake.shipments]
    assert shipped == [(order.order_id, waybill_no, False)]
    # the label printed at the station carries that number (CODE128 and QR)
    assert f',"{waybill_no}"'.encode() in label, label[:400]
    # no push of any SKU ever exceeded what the cloud computed as available at that time
    with engine.connect() as conn:
        recorded = conn.execute(sa.select(stock_pushes.c.pushed, stock_pushes.c.available,
                                          stock_pushes.c.ok)).all()
        assert conn.execute(sa.select(sa.func.count()).select_from(reservations).where(
            reservations.c.released_at.is_(None))).scalar_one() == 0
    assert recorded and all(p.pushed <= p.available for p in recorded)
    # the ledgers: the cloud holds exactly the station's moves, balances agree
    assert sorted(cloud_move_ids(engine)) == sorted(own_move_ids(kiosk_store))
    assert len(own_move_ids(kiosk_store)) == 2
    sku = item.outer_id
    station = {k: v for k, v in station_balances(kiosk_store).items() if k[0] == sku}
    cloud = {k: v for k, v in cloud_balances(engine).items() if k[0] == sku}
    assert station == cloud == {(sku, LOCATION): OPENING - QTY}
    kiosk_store.close()
    sync_store.close()


async def pack_at_kiosk(store: Store, db_path: Path, waybill_no: str, platform_order_no: str
                        ) -> bytes:
    """Pack the order like a packer; returns the label bytes the printer received."""
    scale, label, slip = FakeScale(), FakePrinter(), FakePrinter()
    settings = KioskSettings(db_path=db_path, scan_debounce_s=0.0, scale_poll_s=0.02)
    devices = Devices(scanner=None, scale=scale, label_printer=label, slip_printer=slip,
                      put_parcel=scale.put, remove_parcel=scale.remove)
    app: PacklineApp = make_app(settings, services=Services(
        store=store, devices=devices, settings=settings, i18n=I18n("zh")))

    def step() -> str:
        return str(getattr(app.screen, "step", ""))

    async def until(cond: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT
        while not cond():
            if time.monotonic() > deadline:
                raise AssertionError(f"kiosk: timed out waiting for {what}; "
                                     f"step {step()!r}, banner {banner_text(app)!r}")
            await pilot.pause(0.02)

    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)
        await pilot.click("#go-pack")
        await scan(pilot, waybill_no)
        await until(lambda: step() == "verify", "the order to open")
        assert platform_order_no in banner_text(app), banner_text(app)
        for _ in range(QTY):
            await scan(pilot, BARCODE)
        await until(lambda: step() == "weigh", "verification to complete")
        scale.put(PARCEL_G)
        await until(lambda: step() == "shipped", "the parcel to ship")
    assert len(label.jobs) == 1, label.jobs
    return label.jobs[0]
