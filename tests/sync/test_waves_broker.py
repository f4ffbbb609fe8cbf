"""波次拣货 end to end through the real Mosquitto broker: two orders tasked to st-01 in the
cloud (w1: CUP-350 ×1 + TOWEL-W ×1, due first; w2: CUP-350 ×2) are built into one multi-item
wave (w1 slot 1, w2 slot 2) that reaches the station. The picker takes 3 cups at A-01-01
and finds no towel at A-01-02 (short): w1 is left short — intercepted at the station, and in
the cloud once (``order_events`` 拣货缺货, an intercept, the wave's page) — and w2's two
cups fill slot 2 (``wave_put``). Replaying every message the station sent changes nothing.
Picking moves no stock: the cloud ledger holds only the station's receipts. Then w2, put
to the wall, is packed at the station and its SHIP move reaches the cloud."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from cloud.db import write_transaction
from cloud.db.schema import shops, skus, stock_moves
from cloud.db.schema_orders import (
    order_events,
    order_intercepts,
    order_lines,
    orders,
    wave_orders,
    waybills,
)
from cloud.db.schema_orders import waves as waves_table
from cloud.orders import waves
from cloud.orders.waybills import build_task
from cloud.sync.ingest import Ingest, IngestSettings
from cloud.sync.outbound import send_task
from edge.domain.models import MoveReason, MoveRequest
from edge.store import Store
from edge.store.packing import PackingWriter, StoreOrderSource
from edge.store.waves import WaveWriter, members, wave_row
from edge.sync.schema import up_topic, wave_pick_msg_id
from tests.fixtures.mosquitto import MosquittoFactory
from tests.sync.harness import make_cloud
from tests.sync.helpers import envelope, wait_until
from tests.sync.test_faults import running_daemon, running_ingest
from tests.sync.test_faults import stations as make_stations
from tests.sync.test_ingest import Msg, RecordingBus

pytestmark = [pytest.mark.broker, pytest.mark.slow, pytest.mark.timeout(120)]

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
"""The cloud's clock: 2026-12-04 16:00 CST, so the wave is WV20261204-001."""
WAVE = "WV20261204-001"
"""The one wave built."""
TASKS = {"w1": ([("CUP-350", 1), ("TOWEL-W", 1)], 2), "w2": ([("CUP-350", 2)], 5)}
"""Order → (lines, ship-by hours after NOW)."""


def _seed_cloud(engine: sa.Engine) -> None:
    """The two orders, tasked to st-01 with their waybills, and their tasks queued."""
    with write_transaction(engine) as conn:
        conn.execute(sa.insert(skus), [{"sku": "CUP-350", "name_zh": "保温杯 350ml"},
                                       {"sku": "TOWEL-W", "name_zh": "纯棉毛巾"}])
        conn.execute(sa.insert(shops).values(id="shop", platform="pdd", name="店",
                                             created_at=NOW))
        for oid, (lines, hours) in TASKS.items():
            conn.execute(sa.insert(orders).values(
                id=oid, shop_id="shop", platform="pdd", platform_order_id=f"P-{oid}",
                platform_status="paid", raw_status="1", platform_updated_at=NOW,
                first_seen_at=NOW, updated_at=NOW, ordered_at=NOW, receiver_masked={},
                state="tasked", warehouse_id="WH1", station_id="st-01",
                ship_by=NOW + timedelta(hours=hours)))
            conn.execute(sa.insert(order_lines), [
                {"order_id": oid, "line_no": n, "qty": q, "price_fen": 100, "sku": sku,
                 "sku_qty": q} for n, (sku, q) in enumerate(lines, 1)])
            conn.execute(sa.insert(waybills).values(
                order_id=oid, waybill_no=f"ZT-{oid}", carrier_code="ZTO", print_data="{}",
                issued_at=NOW))
            row = conn.execute(sa.select(orders).where(orders.c.id == oid)).one()
            send_task(conn, "st-01", build_task(conn, row, f"ZT-{oid}", "ZTO", "{}"), now=NOW)


def _status(store: Store, order_id: str) -> str | None:
    row = store.writer.db.execute("SELECT status FROM orders WHERE order_id = ?",
                                  [order_id]).fetchone()
    return None if row is None else str(row[0])


def test_wave_built_picked_short_and_put_reaches_the_cloud_once(
    mosquitto_factory: MosquittoFactory, tmp_path: Path,
) -> None:
    broker = mosquitto_factory(stations=("st-01",), cert_stations=())
    engine = make_cloud(tmp_path / "cloud.db", ("st-01",))
    _seed_cloud(engine)
    (station,), (syncer,) = make_stations(tmp_path, ("st-01",))
    station.writer.record_moves([
        MoveRequest(sku=sku, location=loc, qty_delta=10, reason=MoveReason.RECEIVE,
                    source_type="po", source_id="PO-1", operator_id="L01")
        for sku, loc in (("CUP-350", "A-01-01"), ("TOWEL-W", "A-01-02"))])

    def cloud_state() -> tuple[object, ...]:
        with engine.connect() as conn:
            return (
                conn.execute(sa.select(waves_table.c.status)).scalar_one(),
                dict(conn.execute(sa.select(orders.c.id, orders.c.state)).all()),
                [tuple(r) for r in conn.execute(sa.select(
                    order_events.c.order_id, order_events.c.actor, order_events.c.action,
                    order_events.c.reason))],
                conn.execute(sa.select(order_intercepts.c.order_id,
                                       order_intercepts.c.cause)).all(),
                dict(conn.execute(sa.select(wave_orders.c.order_id,
                                            wave_orders.c.put_at.isnot(None))).all()),
            )

    with running_ingest(broker, engine), running_daemon(broker, syncer):
        wait_until(lambda: _status(station, "w1") == "waiting"
                   and _status(station, "w2") == "waiting", 30, what="the tasks at st-01")
        with write_transaction(engine) as conn:
            assert waves.build_waves(conn, "WH1", "st-01", kind="multi", carrier="ZTO",
                                     ship_by_before=None, zone=None, max_orders=30, now=NOW,
                                     actor="lead") == [WAVE]
        wait_until(lambda: wave_row(station.writer.db, WAVE) is not None, 30,
                   what="the wave at st-01")
        assert [(m.order_id, m.slot) for m in members(station.writer.db, WAVE)] == [
            ("w1", 1), ("w2", 2)]
        ww = WaveWriter(station.writer)
        assert [(ln.location, ln.sku, ln.wanted) for ln in ww.start(WAVE)] == [
            ("A-01-01", "CUP-350", 3), ("A-01-02", "TOWEL-W", 1)]
        for _ in range(3):
            ww.pick(WAVE, "A-01-01", "CUP-350", 1)
        ww.short(WAVE, 2, operator_id="P01")
        assert ww.finish(WAVE, operator_id="P01").short_orders == ["w1"]
        assert _status(station, "w1") == "intercepted"
        for _ in range(2):
            put = ww.put(WAVE, "CUP-350", 1, operator_id="P01")
        assert put.member is not None and (put.member.slot, put.full) == (2, True)
        expected = ("picked", {"w1": "intercepted", "w2": "tasked"},
                    [("w1", "P01", "short_pick", f"拣货缺货 (波次 {WAVE})")],
                    [("w1", f"short_pick:{WAVE}")], {"w1": False, "w2": True})
        wait_until(lambda: cloud_state() == expected, 30, what="the pick and put in the cloud")

    # replay: every wave message the station sent, twice, in both orders
    sent = station.writer.db.execute("SELECT msg_id, kind, payload FROM outbox "
                                     "WHERE kind LIKE 'wave%' ORDER BY seq").fetchall()
    assert [(m, k) for m, k, _ in sent][:1] == [(wave_pick_msg_id(WAVE), "wave_pick")]
    assert [k for _, k, _ in sent] == ["wave_pick", "wave_put"]
    batch = [Msg(up_topic("st-01", kind), envelope(kind, "st-01", json.loads(payload), msg_id))
             for msg_id, kind, payload in sent]
    ingest = Ingest(engine, RecordingBus(), IngestSettings(), clock=lambda: NOW)
    ingest.handle_batch(batch)
    ingest.handle_batch(batch[::-1])
    assert cloud_state() == expected
    with engine.connect() as conn:
        got = waves.get(conn, WAVE)
        assert got is not None and [ln["picked"] for ln in got.pick_lines] == [3, 0]
        # the ledger holds the station's two receipts and nothing from picking
        assert conn.execute(sa.select(stock_moves.c.reason, stock_moves.c.qty_delta)
                            .order_by(stock_moves.c.sku)).all() == [
            (MoveReason.RECEIVE, 10), (MoveReason.RECEIVE, 10)]

    # the put-walled order is packed at the station: its SHIP move reaches the cloud once
    source = StoreOrderSource(station.queries)
    packed = source.order("w2")
    assert packed is not None
    shipment = PackingWriter(station.writer).ship(packed, operator_id="P01", weight_g=700)

    def ships() -> list[tuple[object, ...]]:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                sa.select(stock_moves.c.sku, stock_moves.c.qty_delta, stock_moves.c.source_id)
                .where(stock_moves.c.reason == int(MoveReason.SHIP)))]

    with running_ingest(broker, engine), running_daemon(broker, syncer):
        wait_until(lambda: ships() == [("CUP-350", -2, "w2")], 30,
                   what="the put order's shipment in the cloud")
    assert shipment.order_id == "w2"
