"""A wave's pick and a full slot reaching ingest on both cloud engines (the orders of
tests/cloud/orders/wave_support.py): the ``wave_pick`` and ``wave_put`` messages are kept
once — the same batch delivered again, or in another order, changes nothing — the short
order is intercepted with one 拣货缺货 event, and a pick sent by another station is ignored."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema import dead_letters, downlink_outbox
from cloud.db.schema_orders import order_events, orders, wave_orders
from cloud.db.schema_orders import waves as waves_table
from cloud.orders import waves
from cloud.sync.ingest import Ingest, IngestSettings
from edge.sync.schema import (
    WavePickLineWire,
    WavePickWire,
    WavePutWire,
    up_topic,
    wave_pick_msg_id,
    wave_put_msg_id,
)
from tests.cloud.orders.wave_support import T0, seed
from tests.sync.helpers import envelope
from tests.sync.test_ingest import Msg, RecordingBus

NOW = T0 + timedelta(minutes=30)
"""The cloud's clock when the station's messages arrive."""


def test_pick_and_put_kept_once_on_both_engines(cloud_engine: Engine) -> None:
    seed(cloud_engine)
    with cloud_engine.begin() as conn:
        [wave_id] = waves.build_waves(conn, "WH1", "st-1", kind="multi", carrier=None,
                                      ship_by_before=None, zone=None, max_orders=30, now=T0)
    # o3 slot 1 (B×2), o4 slot 2 (A, C), o9 slot 3 (B, C): one C found, o9 short
    pick = WavePickWire(wave_id=wave_id, operator_id="P01", at=T0 + timedelta(minutes=20),
                        lines=[WavePickLineWire(location="A-01-01", sku="A", wanted=1, picked=1),
                               WavePickLineWire(location="A-02-03", sku="C", wanted=2, picked=1),
                               WavePickLineWire(location="B-02-01", sku="B", wanted=3, picked=3)],
                        short_orders=["o9"])
    put = WavePutWire(wave_id=wave_id, order_id="o4", slot=2, at=T0 + timedelta(minutes=25),
                      operator_id="P01")
    pick_id, put_id = wave_pick_msg_id(wave_id), wave_put_msg_id(wave_id, "o4")
    batch = [Msg(up_topic("st-1", "wave_pick"),
                 envelope("wave_pick", "st-1", pick.model_dump(mode="json"), pick_id)),
             Msg(up_topic("st-1", "wave_put"),
                 envelope("wave_put", "st-1", put.model_dump(mode="json"), put_id)),
             Msg(up_topic("st-2", "wave_pick"),  # not st-2's wave: ignored
                 envelope("wave_pick", "st-2", pick.model_dump(mode="json"),
                          "00000000-0000-4000-8000-000000000002"))]
    ingest = Ingest(cloud_engine, RecordingBus(), IngestSettings(), clock=lambda: NOW)
    ingest.handle_batch(batch)
    ingest.handle_batch(batch)
    ingest.handle_batch(batch[::-1])
    with cloud_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(dead_letters)).scalar_one() == 0
        assert tuple(conn.execute(sa.select(waves_table.c.status, waves_table.c.pick_msg_id,
                                            waves_table.c.picked_by)).one()) == (
            "picked", pick_id, "P01")
        assert dict(conn.execute(sa.select(orders.c.id, orders.c.state).where(
            orders.c.id.in_(["o3", "o4", "o9"]))).all()) == {
            "o3": "tasked", "o4": "tasked", "o9": "intercepted"}
        assert [tuple(r) for r in conn.execute(sa.select(
            order_events.c.order_id, order_events.c.action, order_events.c.at))] == [
            ("o9", "short_pick", NOW)]
        assert [tuple(r) for r in conn.execute(sa.select(
            wave_orders.c.order_id, wave_orders.c.short, wave_orders.c.put_at)
            .order_by(wave_orders.c.slot))] == [
            ("o3", False, None), ("o4", False, T0 + timedelta(minutes=25)), ("o9", True, None)]
        assert [p["order_id"] for p in conn.execute(sa.select(downlink_outbox.c.payload).where(
            downlink_outbox.c.kind == "intercept")).scalars()] == ["o9"]
