"""Tasks spread over two stations and moved off one that went dark, through a real
mosquitto (issue #12 item 9).

st-01 goes offline holding two tasks and packs one of them (X) offline. Past the offline
limit the cloud moves both to st-02, which packs the other (Y). When st-01 comes back it is
told to stop both: Y is stopped, X was already gone (its intercept-after-ship alert goes
up), and X's shipment arriving in the cloud stops X at st-02 before it is packed twice.
Every order ships exactly once; stock and reservations end where the hand count says.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from cloud.db import write_transaction
from cloud.db.schema import station_alerts, station_health, station_shipments
from cloud.db.schema_orders import orders, reservations
from cloud.marketplaces.base import OrderLine, OrderStatus, PlatformOrder
from cloud.orders.allocation import allocate_pending
from cloud.orders.order_sync import upsert_order
from cloud.orders.stations import OFFLINE_AFTER, move_offline_tasks
from cloud.orders.waybills import request_waybills
from cloud.stock import record_cloud_move
from edge.domain.models import MoveReason
from edge.store import Store
from edge.store.packing import PackingWriter, ShipRefused, StoreOrderSource
from tests.fixtures.mosquitto import MosquittoFactory
from tests.sync.harness import add_pdd_shop, make_cloud
from tests.sync.helpers import wait_until
from tests.sync.test_faults import STATIONS, running_daemon, running_ingest, stations

pytestmark = [pytest.mark.broker, pytest.mark.slow, pytest.mark.timeout(180)]


def _status(store: Store, order_id: str) -> str | None:
    row = store.writer.db.execute("SELECT status FROM orders WHERE order_id = ?",
                                  [order_id]).fetchone()
    return row[0] if row else None


def _ship(store: Store, order_id: str) -> str:
    order = StoreOrderSource(store.queries).order(order_id)
    assert order is not None
    return PackingWriter(store.writer).ship(order, operator_id="P01", weight_g=400).msg_id


def _holders(engine: sa.Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(orders.c.id, orders.c.station_id)).all())


def test_tasks_of_a_dark_station_move_and_nothing_ships_twice(
    mosquitto_factory: MosquittoFactory, tmp_path: Path,
) -> None:
    broker = mosquitto_factory(stations=STATIONS, cert_stations=())
    engine = make_cloud(tmp_path / "cloud.db", STATIONS)
    (one, two), syncers = stations(tmp_path)
    with running_ingest(broker, engine) as ingest:
        now = ingest.clock()
        sc = add_pdd_shop(engine, {"CUP-350": "A-CUP"}, now=now)
        with write_transaction(engine) as conn:
            record_cloud_move(conn, warehouse_id="WH1", sku="CUP-350", location="A-01-01",
                              qty_delta=10, reason=MoveReason.RECEIVE, operator_id="M01",
                              note="入库", source_type="po", source_id="PO-1", now=now)
            for k in range(1, 5):
                upsert_order(conn, "pdd1", PlatformOrder(
                    platform="pdd", order_id=f"261204-{k:015d}",
                    status=OrderStatus.AWAITING_SHIPMENT, raw_status="1",
                    updated_at=now - timedelta(minutes=10 - k),
                    lines=(OrderLine(sku_id="A-CUP", outer_id="", qty=1, price_fen=990),)),
                    now=now + timedelta(seconds=k))
        allocate_pending(engine, "pdd1", "WH1", now=now)
        asyncio.run(request_waybills(engine, sc, now=now))
        held = _holders(engine)
        x, y = sorted(o for o, s in held.items() if s == "st-01")
        assert sorted(held.values()) == ["st-01", "st-01", "st-02", "st-02"]  # spread by load
        with running_daemon(broker, syncers[0]), running_daemon(broker, syncers[1]):
            wait_until(lambda: _status(one, x) == _status(one, y) == "waiting"
                       and one.queries.balance("CUP-350", "A-01-01") == 10, 30,
                       what="st-01's tasks and stock")
        # st-01 is dark now: it packs X offline; its last report is older than the limit
        x_msg = _ship(one, x)
        later = ingest.clock() + OFFLINE_AFTER + timedelta(minutes=1)
        with write_transaction(engine) as conn:
            conn.execute(sa.delete(station_health))
            conn.execute(sa.insert(station_health), [
                {"station_id": "st-01", "msg_id": "h1", "reported_at": now, "received_at": now,
                 "backup_lag_seconds": 0, "outbox_backlog": 0, "detail": {}},
                {"station_id": "st-02", "msg_id": "h2", "reported_at": later,
                 "received_at": later, "backup_lag_seconds": 0, "outbox_backlog": 0,
                 "detail": {}}])
        assert move_offline_tasks(engine, "pdd1", now=later).moved == {
            x: ("st-01", "st-02"), y: ("st-01", "st-02")}
        with running_daemon(broker, syncers[1]):
            wait_until(lambda: _status(two, x) == _status(two, y) == "waiting", 30,
                       what="the moved tasks at st-02")
            y_msg = _ship(two, y)
            with running_daemon(broker, syncers[0]):  # st-01 is back
                wait_until(lambda: _status(one, y) == "intercepted" and _status(two, x) == "intercepted",
                           30, what="Y stopped at st-01, X stopped at st-02")
                with pytest.raises(ShipRefused):
                    _ship(two, x)
                with pytest.raises(ShipRefused):
                    _ship(one, y)

                def settled() -> bool:
                    with engine.connect() as conn:
                        got = set(conn.execute(sa.select(station_shipments.c.msg_id)).scalars())
                        kinds = set(conn.execute(sa.select(station_alerts.c.kind)).scalars())
                    return {x_msg, y_msg} <= got and "intercept_after_ship" in kinds

                wait_until(settled, 30, what="both shipments and st-01's alert in the cloud")
    with engine.connect() as conn:
        shipments = conn.execute(sa.select(station_shipments.c.order_id,
                                           station_shipments.c.station_id)).all()
        alerts = {(a.station_id, a.kind, a.subject) for a in conn.execute(sa.select(station_alerts))}
        open_units = conn.execute(sa.select(sa.func.sum(
            reservations.c.qty - reservations.c.shipped_qty)).where(
            reservations.c.released_at.is_(None))).scalar_one()
        on_hand = conn.execute(sa.text(
            "SELECT SUM(qty_delta) FROM stock_moves WHERE sku = 'CUP-350'")).scalar_one()
    assert sorted(shipments) == sorted([(x, "st-01"), (y, "st-02")])  # each once
    assert ("st-01", "intercept_after_ship", x) in alerts
    assert ("st-01", "shipped_after_move", x) in alerts
    assert on_hand == 10 - 2
    assert open_units == 2  # the two orders nobody packed yet, one unit each
