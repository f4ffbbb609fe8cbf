"""A return, whole path, through the real broker: an order packed and shipped at a station;
the buyer's return request (with the return parcel's tracking number) reaches the station;
the parcel is found by that number and inspected there; the RETURN move and the inspection
result reach the cloud once, even when the station sends the result again (its ack lost)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from cloud import returns
from cloud.db import write_transaction
from cloud.db.schema import station_shipments
from cloud.db.schema_orders import order_events, orders
from cloud.marketplaces.base import OrderLine, OrderStatus, PlatformOrder, RefundEvent
from cloud.orders.allocation import allocate_pending
from cloud.orders.order_sync import upsert_order, upsert_refund
from cloud.orders.waybills import request_waybills
from edge.domain.models import MoveReason, MoveRequest
from edge.store import Store
from edge.store.packing import PackingWriter, StoreOrderSource
from edge.store.returns import Outcome, ReturnWriter, find
from tests.fixtures.mosquitto import MosquittoFactory
from tests.sync.harness import add_pdd_shop, make_cloud
from tests.sync.helpers import wait_until
from tests.sync.test_faults import running_daemon, running_ingest, stations

pytestmark = [pytest.mark.broker, pytest.mark.slow, pytest.mark.timeout(150)]

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
PID = "261204-000000000000007"
ORDER = f"pdd-{PID}"
TOWEL = "6909876543210"


def _status(store: Store) -> str | None:
    row = store.writer.db.execute("SELECT status FROM orders WHERE order_id = ?", [ORDER]).fetchone()
    return row[0] if row else None


def _on_hand(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(
            "SELECT COALESCE(SUM(qty_delta), 0) FROM stock_moves WHERE sku = 'TOWEL-W'")).scalar_one())


def _shipment_stored(engine: sa.Engine) -> bool:
    """The station's ``shipment`` message is in (it travels apart from the SHIP moves)."""
    with engine.connect() as conn:
        return conn.execute(sa.select(station_shipments.c.msg_id).where(
            station_shipments.c.order_id == ORDER)).first() is not None


def _cloud_state(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(sa.select(orders.c.state).where(orders.c.id == ORDER)).scalar_one())


def test_a_return_found_by_its_tracking_number_lands_in_the_cloud_once(
    mosquitto_factory: MosquittoFactory, tmp_path: Path,
) -> None:
    broker = mosquitto_factory(stations=("st-01",), cert_stations=())
    engine = make_cloud(tmp_path / "cloud.db", ("st-01",))
    sc = add_pdd_shop(engine, {"TOWEL-W": "A-TOWEL"}, now=NOW)
    (kiosk,), (syncer,) = stations(tmp_path, ("st-01",))
    with running_ingest(broker, engine) as ingest:
        with running_daemon(broker, syncer):
            kiosk.writer.record_move(MoveRequest(
                sku="TOWEL-W", location="A-01-02", qty_delta=5, reason=MoveReason.RECEIVE,
                source_type="po", source_id="PO-1", operator_id="op1"))
            wait_until(lambda: _on_hand(engine) == 5, 30, what="the receipt in the cloud")
            with write_transaction(engine) as conn:
                upsert_order(conn, "pdd1", PlatformOrder(
                    platform="pdd", order_id=PID, status=OrderStatus.AWAITING_SHIPMENT,
                    raw_status="1", updated_at=NOW, created_at=NOW,
                    lines=(OrderLine(sku_id="A-TOWEL", outer_id="", qty=2, price_fen=1990),)),
                    now=ingest.clock())
            allocate_pending(engine, "pdd1", "WH1", now=ingest.clock())
            asyncio.run(request_waybills(engine, sc, now=ingest.clock()))
            wait_until(lambda: _status(kiosk) == "waiting", 30, what="the pack task")
            task = StoreOrderSource(kiosk.queries).order(ORDER)
            assert task is not None
            PackingWriter(kiosk.writer).ship(task, operator_id="P01", weight_g=300)
            wait_until(lambda: _on_hand(engine) == 3 and _shipment_stored(engine), 30,
                       what="the shipment and its moves in the cloud")
            assert _cloud_state(engine) == "tasked"  # write-back marks it shipped later

            # the buyer sends one towel back by YTO: the request reaches the station
            with write_transaction(engine) as conn:
                upsert_refund(conn, "pdd1", RefundEvent(
                    platform="pdd", refund_id="R9", order_id=PID, status="3", amount_fen=1990,
                    updated_at=NOW + timedelta(days=2), sku_id="A-TOWEL", qty=1, kind="2",
                    returns_goods=True, return_waybill="YT9000000009",
                    return_carrier="圆通速递"), now=ingest.clock())
            # read on a connection of its own: the daemon thread writes on the writer's
            reader = kiosk.reader().db
            wait_until(lambda: find(reader, "YT9000000009") is not None, 30,
                       what="the return request at the station")
            assert _cloud_state(engine) == "tasked"  # goods coming back: nothing intercepted
            match = find(reader, "YT9000000009")
            assert match is not None and match.order_id == ORDER and match.refund is not None
            rw = ReturnWriter(kiosk.writer)
            rid = rw.open(match, "YT9000000009", operator_id="P01")
            assert rw.inspect(rid, TOWEL, "good", operator_id="P01").outcome is Outcome.RESTOCKED
            rw.finish(rid, operator_id="P01", warehouse_id="WH1")

            def landed() -> list[returns.ReceivedReturn]:
                with engine.connect() as conn:
                    return returns.received(conn, order_id=ORDER)

            wait_until(lambda: len(landed()) == 1 and _on_hand(engine) == 4, 30,
                       what="the return and its move in the cloud")
            wait_until(lambda: not [r for r in kiosk.queries.outbox_pending(50)
                                    if r.kind == "return"], 30, what="the return acked")
        seen = ingest.counters.messages
        with kiosk.writer.transaction() as db:  # the ack was lost: the station sends it again
            db.execute("UPDATE outbox SET acked_at = NULL, last_sent_at = NULL WHERE msg_id = ?",
                       [rid])
        with running_daemon(broker, syncer):
            wait_until(lambda: not [r for r in kiosk.queries.outbox_pending(50)
                                    if r.kind == "return"], 30, what="the replay acked")
        assert ingest.counters.messages > seen
    got = landed()
    assert [(r.return_id, r.station_id, r.refund_id, r.refund_status, r.good, r.damaged,
             r.wrong) for r in got] == [("st-01-RT00001", "st-01", "R9", "3", 1, 0, 0)]
    assert _on_hand(engine) == 4
    with engine.connect() as conn:
        events = conn.execute(sa.select(order_events.c.action, order_events.c.reason)
                              .where(order_events.c.order_id == ORDER,
                                     order_events.c.action == "return_received")).all()
        lines = returns.lines_of(conn, "st-01-RT00001")
    assert [(a, r.split(":")[0]) for a, r in events] == [("return_received",
                                                          "退货验收 st-01-RT00001")]
    assert [(ln["sku"], ln["qty"], ln["condition"], ln["location"]) for ln in lines] == [
        ("TOWEL-W", 1, "good", "A-01-02")]
