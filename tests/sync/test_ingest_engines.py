"""Ingest's SQL on both cloud engines (SQLite and PostgreSQL): idempotent inserts of every
up kind, relays, the downlink window query, acks closing downlink rows, dead letters."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud import ledger_store
from cloud.db.schema import (
    dead_letters,
    downlink_outbox,
    station_alerts,
    station_health,
    station_resyncs,
    station_shipments,
    station_sign_ins,
    stations,
    warehouses,
)
from cloud.sync.ingest import Ingest, IngestSettings
from edge.sync.schema import (
    AckWire,
    AlertWire,
    Envelope,
    HealthWire,
    MovesWire,
    ResyncWire,
    ShipmentWire,
    SignInWire,
    up_topic,
)
from tests.sync.harness import make_station, record_moves
from tests.sync.helpers import envelope
from tests.sync.test_ingest import Msg, RecordingBus

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def seed(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.insert(warehouses).values(id="WH1", name="杭州主仓"))
        conn.execute(sa.insert(stations), [
            {"id": s, "warehouse_id": "WH1", "name": s, "status": st, "created_at": NOW}
            for s, st in (("st-01", "pending"), ("st-02", "active"), ("st-03", "revoked"))
        ])


def test_ingest_on_both_engines(cloud_engine: Engine, tmp_path) -> None:
    seed(cloud_engine)
    store = make_station(tmp_path / "st.db", "st-01")
    record_moves(store, 4)
    rows = store.queries.outbox_pending(10)
    moves = [Msg(up_topic("st-01", "move"), envelope("move", "st-01", r.payload, r.msg_id)) for r in rows]
    other = [
        Msg(up_topic("st-01", "alert"), envelope("alert", "st-01", AlertWire(
            kind="negative_stock", subject="CUP-350@A-01-01", detail={"balance": -1}).model_dump(mode="json"),
            "alert-00001")),
        Msg(up_topic("st-01", "shipment"), envelope("shipment", "st-01", ShipmentWire(
            order_id="O-1", waybill_no="YT1", carrier="YTO", operator_id="op1", shipped_at=NOW,
            weight_g=410).model_dump(mode="json"), "ship-00001")),
        Msg(up_topic("st-01", "sign_in"), envelope("sign_in", "st-01", SignInWire(
            operator_id="op1", event="sign_in", at=NOW).model_dump(mode="json"), "sign-00001")),
        Msg(up_topic("st-01", "move"), b"\x00{nope"),
    ]
    bus = RecordingBus()
    ingest = Ingest(cloud_engine, bus, IngestSettings(), clock=lambda: NOW)
    ingest.handle_batch(moves + other)
    ingest.handle_batch(moves + other[:3])  # everything again: nothing changes
    with cloud_engine.connect() as conn:
        assert sorted(m.move.move_id for m in ledger_store.move_history(conn, limit=100)) == sorted(
            r.msg_id for r in rows)
        assert ledger_store.check_balances(conn) == []
        counts = [conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                  for t in (station_alerts, station_shipments, station_sign_ins, dead_letters)]
        assert counts == [1, 1, 1, 1]
        relay = conn.execute(sa.select(downlink_outbox.c.station_id, downlink_outbox.c.msg_id,
                                       downlink_outbox.c.payload)).all()
        status = dict(conn.execute(sa.select(stations.c.id, stations.c.status)).all())
    # st-01 was enrolled and had never sent anything: its first message puts it in use
    assert status == {"st-01": "active", "st-02": "active", "st-03": "revoked"}
    # relayed once, to the other active station only (not the sender, not the revoked one)
    assert [r.station_id for r in relay] == ["st-02"]
    assert len(MovesWire.model_validate(relay[0].payload).moves) == 4
    assert ingest.pump_downlink() == 1
    assert ingest.pump_downlink() == 0  # not due again before resend_after
    sent = [Envelope.model_validate_json(p) for t, p in bus.published if t.endswith("/down/moves")]
    assert [e.msg_id for e in sent] == [relay[0].msg_id]
    ingest.handle_batch([Msg(up_topic("st-02", "ack"), envelope(
        "ack", "st-02", AckWire(msg_ids=[relay[0].msg_id]).model_dump(mode="json")))])
    with cloud_engine.connect() as conn:
        acked = conn.execute(sa.select(downlink_outbox.c.acked_at)).scalar_one()
    assert acked == NOW


def test_health_and_resync_on_both_engines(cloud_engine: Engine, tmp_path) -> None:
    seed(cloud_engine)
    store = make_station(tmp_path / "st.db", "st-01")
    record_moves(store, 3)
    rows = store.queries.outbox_pending(10)
    bus = RecordingBus()
    ingest = Ingest(cloud_engine, bus, IngestSettings(), clock=lambda: NOW)
    ingest.handle_batch([Msg(up_topic("st-01", "move"), envelope("move", "st-01", r.payload, r.msg_id))
                         for r in rows])

    def health(msg_id: str, at: datetime, backlog: int) -> Msg:
        wire = HealthWire(backup_configured=True, backup_last_success_at=NOW, backup_lag_seconds=2.5,
                          backup_lag_txids=1, outbox_backlog=backlog)
        env = Envelope(msg_id=msg_id, kind="health", station_id="st-01", created_at=at,
                       payload=wire.model_dump(mode="json"))
        return Msg(up_topic("st-01", "health"), env.model_dump_json().encode())

    resync = ResyncWire(restore_point=NOW, restored_txid=12, restored_at=NOW)
    req = Msg(up_topic("st-01", "resync"), envelope("resync", "st-01", resync.model_dump(mode="json"),
                                                    "resync-00001"))
    ingest.handle_batch([health("health-0002", NOW, 5), health("health-0001", NOW.replace(hour=8), 9), req])
    ingest.handle_batch([req])  # the outbox re-sent it: acked again, nothing re-sent
    with cloud_engine.connect() as conn:
        h = conn.execute(sa.select(station_health)).one()
        r = conn.execute(sa.select(station_resyncs)).one()
        down = conn.execute(sa.select(downlink_outbox.c.station_id, downlink_outbox.c.kind,
                                      downlink_outbox.c.payload)
                            .where(downlink_outbox.c.station_id == "st-01")).all()
    assert (h.station_id, h.msg_id, h.outbox_backlog, h.backup_lag_seconds, h.backup_last_success_at) == (
        "st-01", "health-0002", 5, 2.5, NOW)
    assert (r.station_id, r.restored_txid, r.moves_sent, r.downlinks_resent) == ("st-01", 12, 3, 0)
    assert [(d.kind, len(d.payload["moves"])) for d in down] == [("moves", 3)]
    acks = [AckWire.model_validate(Envelope.model_validate_json(p).payload) for t, p in bus.published
            if t.endswith("st-01/down/ack")]
    assert acks[1].msg_ids == ["health-0002", "health-0001", "resync-00001"]
    assert acks[2].msg_ids == ["resync-00001"]
