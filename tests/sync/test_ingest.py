"""Cloud ingest in isolation: every message is answered, bad ones land in dead letters."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud import ledger_store
from cloud.db.schema import dead_letters, downlink_outbox
from cloud.sync.ingest import Ingest, IngestSettings
from cloud.sync.outbound import enqueue_down, send_catalog
from edge.domain.models import MoveReason, MoveRequest
from edge.sync.schema import (
    AckWire,
    CatalogWire,
    Envelope,
    InterceptWire,
    MoveWire,
    Rejected,
    up_topic,
)
from tests.sync.harness import make_cloud, make_station, record_moves
from tests.sync.helpers import envelope

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@dataclass
class Msg:
    topic: str
    payload: bytes


class RecordingBus:
    """Just enough of the Broker port to drive ingest by hand."""

    def __init__(self) -> None:
        self.connected = True
        self.published: list[tuple[str, bytes]] = []
        self.acked: list[Any] = []

    def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        self.subscribed = topic_filter

    def add_connection_listener(self, listener: Any) -> None:
        pass

    def publish(self, topic: str, payload: bytes, qos: int = 1, user_properties: Any = ()) -> None:
        self.published.append((topic, payload))

    def ack(self, message: Any) -> None:
        self.acked.append(message)

    def receive(self, timeout: float) -> None:
        return None

    def start(self) -> None:
        pass

    def disconnect(self) -> None:
        pass


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    e = make_cloud(tmp_path_factory.mktemp("ingest") / "cloud.db", ("st-01", "st-02"))
    yield e
    e.dispose()


def acks_for(bus: RecordingBus, station: str) -> AckWire:
    out = AckWire()
    for topic, raw in bus.published:
        if topic == f"packline/v1/st/{station}/down/ack":
            a = AckWire.model_validate(Envelope.model_validate_json(raw).payload)
            out = AckWire(msg_ids=out.msg_ids + a.msg_ids, rejected=out.rejected + a.rejected)
    return out


def test_moves_are_acked_to_their_station_and_relayed_to_the_others(engine, tmp_path) -> None:
    store = make_station(tmp_path / "st.db", "st-01")
    record_moves(store, 3)
    rows = store.queries.outbox_pending(10)
    msgs = [Msg(up_topic("st-01", "move"), envelope("move", "st-01", r.payload, r.msg_id)) for r in rows]
    bus = RecordingBus()
    ingest = Ingest(engine, bus, IngestSettings())
    assert bus.subscribed == "packline/v1/st/+/up/#"
    ingest.handle_batch(msgs + msgs[:1])  # a duplicate in the same batch
    assert acks_for(bus, "st-01").msg_ids == [r.msg_id for r in rows] + [rows[0].msg_id]
    assert bus.acked == msgs + msgs[:1]
    with engine.connect() as conn:
        relay = conn.execute(sa.select(downlink_outbox.c.station_id, downlink_outbox.c.kind,
                                       downlink_outbox.c.payload)).all()
    assert [(r.station_id, r.kind) for r in relay] == [("st-02", "moves")]
    assert [m["move_id"] for m in relay[0].payload["moves"]] == [r.msg_id for r in rows]
    ingest.pump_downlink()
    down = [t for t, _ in bus.published if t.endswith("/down/moves")]
    assert down == ["packline/v1/st/st-02/down/moves"]


def test_station_acks_and_rejections_close_downlink_rows(engine) -> None:
    bus = RecordingBus()
    ingest = Ingest(engine, bus, IngestSettings())
    with engine.begin() as conn:
        a, b = send_catalog(conn, ["st-01", "st-02"], CatalogWire(), now=NOW)
        c = enqueue_down(conn, "st-01", "intercept", InterceptWire(order_id="O-1", reason="退款"),
                         now=NOW)
    ack = AckWire(msg_ids=[a, b], rejected=[Rejected(msg_id=c, reason="bad")])
    # st-01 acks its own row and (wrongly) st-02's: only its own is closed
    ingest.handle_batch([Msg(up_topic("st-01", "ack"),
                             envelope("ack", "st-01", ack.model_dump(mode="json")))])
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.select(downlink_outbox.c.msg_id, downlink_outbox.c.acked_at.is_not(None))
                                 .where(downlink_outbox.c.msg_id.in_([a, b, c]))).all())
        reason = conn.execute(sa.select(downlink_outbox.c.rejected_reason)
                              .where(downlink_outbox.c.msg_id == c)).scalar_one()
    assert rows == {a: True, b: False, c: True}
    assert reason == "bad"


def test_enqueue_down_refuses_unknown_kinds(engine) -> None:
    with engine.begin() as conn, pytest.raises(ValueError, match="not a down-message kind"):
        enqueue_down(conn, "st-01", "ack", CatalogWire(), now=NOW)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
    max_leaves=12,
)
_kinds = st.sampled_from(["move", "alert", "shipment", "sign_in", "ack", "nope", ""])
_stations = st.sampled_from(["st-01", "st-02", "x" * 70, ""])
_messages = st.builds(
    Msg,
    st.one_of(st.builds(lambda s, k: f"packline/v1/st/{s}/up/{k}", _stations, _kinds), st.text(max_size=30)),
    st.one_of(
        st.binary(max_size=100),
        _json.map(lambda v: json.dumps(v).encode()),
        st.builds(lambda k, s, p, mid: json.dumps({
            "v": 1, "msg_id": mid, "kind": k, "station_id": s,
            "created_at": "2026-11-23T08:00:00Z", "payload": p}).encode(),
            _kinds, _stations, st.dictionaries(st.text(max_size=12), _json, max_size=5),
            st.text(min_size=1, max_size=70)),
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_messages, min_size=1, max_size=5))
def test_fuzzed_up_messages_never_crash_ingest_and_are_always_acked(engine, msgs) -> None:
    bus = RecordingBus()
    ingest = Ingest(engine, bus, IngestSettings())
    with engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(dead_letters)).scalar_one()
    ingest.handle_batch(msgs)
    assert bus.acked == msgs
    with engine.connect() as conn:
        after = conn.execute(sa.select(sa.func.count()).select_from(dead_letters)).scalar_one()
    assert after - before == ingest.counters.dead_letters


@pytest.mark.parametrize(("module", "command"), [("edge", "sync"), ("cloud", "ingest")])
def test_commands_are_registered(module: str, command: str) -> None:
    out = subprocess.run([sys.executable, "-m", module, command, "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "--host" in out.stdout and "--password" in out.stdout


def test_a_topic_naming_no_real_station_is_dead_lettered_without_an_ack_reply(engine) -> None:
    bus = RecordingBus()
    ingest = Ingest(engine, bus, IngestSettings())
    raw = envelope("move", "st-01", {}, "00000000")
    ingest.handle_batch([Msg(up_topic("x" * 70, "move"), raw)])
    assert bus.acked and not [t for t, _ in bus.published if t.endswith("/down/ack")]
    with engine.connect() as conn:
        last = conn.execute(sa.select(dead_letters.c.station_id, dead_letters.c.reason)
                            .order_by(dead_letters.c.id.desc()).limit(1)).one()
    assert last.station_id == "x" * 64
    assert "does not match topic station" in last.reason


def test_a_message_that_trips_a_bug_is_isolated_and_dead_lettered(engine, tmp_path, monkeypatch) -> None:
    store = make_station(tmp_path / "st.db", "st-01")
    record_moves(store, 2)
    rows = store.queries.outbox_pending(10)
    msgs = [Msg(up_topic("st-01", "move"), envelope("move", "st-01", r.payload, r.msg_id)) for r in rows]
    bus = RecordingBus()
    ingest = Ingest(engine, bus, IngestSettings())
    real = ingest._insert_moves

    def buggy(conn, batch, now):  # type: ignore[no-untyped-def]
        if any(w.move_id == rows[1].msg_id for _, w in batch.moves):
            raise RuntimeError("boom")
        return real(conn, batch, now)

    monkeypatch.setattr(ingest, "_insert_moves", buggy)
    ingest._handle_with_retry(msgs)
    assert bus.acked == [msgs[0], msgs[1]]  # the batch attempt acked nothing; then one by one
    assert acks_for(bus, "st-01").msg_ids == [rows[0].msg_id]
    with engine.connect() as conn:
        last = conn.execute(sa.select(dead_letters.c.reason).order_by(dead_letters.c.id.desc()).limit(1)).one()
    assert last.reason == "internal error: RuntimeError: boom"


def test_a_message_dead_lettered_by_a_bug_keeps_its_id_and_re_sends_add_no_row(
        engine, tmp_path, monkeypatch) -> None:
    store = make_station(tmp_path / "st.db", "st-01")
    record_moves(store, 1)
    (row,) = store.queries.outbox_pending(10)
    msg = Msg(up_topic("st-01", "move"), envelope("move", "st-01", row.payload, row.msg_id))
    bus = RecordingBus()
    ingest = Ingest(engine, bus, IngestSettings())

    def buggy(conn, batch, now):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    monkeypatch.setattr(ingest, "_insert_moves", buggy)
    mine = sa.select(sa.func.count()).select_from(dead_letters).where(
        dead_letters.c.station_id == "st-01", dead_letters.c.msg_id == row.msg_id)
    with engine.connect() as conn:  # the engine is shared: count this message's rows only
        before = conn.execute(mine).scalar_one()
        conn.execute(sa.delete(dead_letters).where(dead_letters.c.msg_id == row.msg_id))
        conn.commit()
    for _ in range(3):  # the station re-sends until it hears back
        ingest._handle_with_retry([msg])
    with engine.connect() as conn:
        assert conn.execute(mine).scalar_one() == 1
    assert ingest.counters.dead_letters == 1 and before in (0, 1)
    rejected = acks_for(bus, "st-01").rejected
    assert {r.msg_id for r in rejected} == {row.msg_id}  # told, so it stops re-sending
    assert rejected[0].reason == "internal error: RuntimeError: boom"


def test_a_station_cannot_move_stock_of_another_warehouse(engine, tmp_path) -> None:
    store = make_station(tmp_path / "st.db", "st-01")
    record_moves(store, 1)
    row = store.queries.outbox_pending(1)[0]
    payload = {**row.payload, "warehouse_id": "WH2", "location": "Y-01-01"}
    bus = RecordingBus()
    ingest = Ingest(engine, bus, IngestSettings())
    ingest.handle_batch([Msg(up_topic("st-01", "move"), envelope("move", "st-01", payload, row.msg_id))])
    ack = acks_for(bus, "st-01")
    assert ack.msg_ids == []
    assert [(r.msg_id, r.reason) for r in ack.rejected] == [
        (row.msg_id, "station st-01 belongs to WH1, not WH2")]
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(ledger_store.stock_moves)
                            .where(ledger_store.stock_moves.c.move_id == row.msg_id)).scalar_one() == 0


def test_kiosk_shipment_and_sign_in_messages_are_stored(engine, tmp_path) -> None:
    """What the kiosk's packing writes enqueue (telemetry included) is what ingest takes."""
    from cloud.db.schema import station_shipments, station_sign_ins
    from edge.store.packing import PackingWriter, StoreOrderSource
    from tests.fixtures.pack_orders import seed_packing

    store = make_station(tmp_path / "kiosk.db", "st-02")
    seed_packing(store)
    packing = PackingWriter(store.writer)
    packing.sign_in("P01", method="badge")
    order = StoreOrderSource(store.queries).order("O1")
    assert order is not None
    packing.ship(order, operator_id="P01", weight_g=352,
                 kpis={"rejected_scans": 1, "weighings": 2, "pack_seconds": 7.5,
                       "weight_overrides": 1})
    rows = [r for r in store.queries.outbox_pending(100) if r.kind in ("shipment", "sign_in")]
    assert [r.kind for r in rows] == ["sign_in", "shipment"]
    bus = RecordingBus()
    Ingest(engine, bus, IngestSettings()).handle_batch(
        [Msg(up_topic("st-02", r.kind), envelope(r.kind, "st-02", r.payload, r.msg_id))
         for r in rows])
    ack = acks_for(bus, "st-02")
    assert (ack.msg_ids, ack.rejected) == ([r.msg_id for r in rows], [])
    with engine.connect() as conn:
        ship = conn.execute(sa.select(station_shipments).where(
            station_shipments.c.msg_id == rows[1].msg_id)).one()
        sign = conn.execute(sa.select(station_sign_ins).where(
            station_sign_ins.c.msg_id == rows[0].msg_id)).one()
    assert (ship.station_id, ship.order_id, ship.waybill_no, ship.carrier, ship.weight_g,
            ship.operator_id) == ("st-02", "O1", "SF1001", "SF", 352, "P01")
    assert (sign.station_id, sign.operator_id, sign.event) == ("st-02", "P01", "sign_in")
    assert (ship.rejected_scans, ship.weighings, ship.pack_seconds, ship.weight_overrides) == (
        1, 2, 7.5, 1)


def _dead_reasons(engine, msg_ids):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(dead_letters.c.msg_id, dead_letters.c.reason)
                                 .where(dead_letters.c.msg_id.in_(msg_ids))).all())


@pytest.mark.parametrize("station,status,reason", [
    ("st-77", None, "unknown station st-77: not enrolled (packline-provision enrol)"),
    ("st-rv", "revoked", "station st-rv is revoked"),
])
def test_moves_and_shipments_of_an_unenrolled_or_revoked_station_are_refused(
    engine, tmp_path, station, status, reason,
) -> None:
    from cloud.db.schema import station_shipments, stations

    if status is not None:
        with engine.begin() as conn:
            conn.execute(sa.insert(stations).values(id=station, warehouse_id="WH1", name=station,
                                                    status=status, created_at=NOW))
    store = make_station(tmp_path / "st.db", station)
    record_moves(store, 2)
    rows = store.queries.outbox_pending(10)
    ship = envelope("shipment", station, {"order_id": "O-9", "waybill_no": "SF9", "carrier": "SF",
                                          "operator_id": "P01", "shipped_at": NOW.isoformat()})
    ship_id = Envelope.model_validate_json(ship).msg_id
    bus = RecordingBus()
    Ingest(engine, bus, IngestSettings()).handle_batch(
        [Msg(up_topic(station, "move"), envelope("move", station, r.payload, r.msg_id)) for r in rows]
        + [Msg(up_topic(station, "shipment"), ship)])
    ack = acks_for(bus, station)
    assert ack.msg_ids == []
    assert [(r.msg_id, r.reason) for r in ack.rejected] == [
        (r.msg_id, reason) for r in rows] + [(ship_id, reason)]
    assert _dead_reasons(engine, [r.msg_id for r in rows] + [ship_id]) == {
        m: reason for m in [r.msg_id for r in rows] + [ship_id]}
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(ledger_store.stock_moves)
                            .where(ledger_store.stock_moves.c.station_id == station)).scalar_one() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(station_shipments)
                            .where(station_shipments.c.msg_id == ship_id)).scalar_one() == 0


def test_a_station_enrolled_after_ingest_started_is_accepted_at_once(engine, tmp_path) -> None:
    from cloud.db.schema import stations

    bus = RecordingBus()
    ingest = Ingest(engine, bus, IngestSettings(station_cache_seconds=3600))
    known = make_station(tmp_path / "known.db", "st-01")
    record_moves(known, 1)
    first = known.queries.outbox_pending(1)[0]
    ingest.handle_batch([Msg(up_topic("st-01", "move"), envelope("move", "st-01", first.payload, first.msg_id))])
    assert acks_for(bus, "st-01").msg_ids == [first.msg_id]  # registry loaded, cached for an hour
    with engine.begin() as conn:
        conn.execute(sa.insert(stations).values(id="st-new", warehouse_id="WH1", name="新工作站",
                                                status="pending", created_at=NOW))
    store = make_station(tmp_path / "st.db", "st-new")
    record_moves(store, 1)
    row = store.queries.outbox_pending(1)[0]
    ingest.handle_batch([Msg(up_topic("st-new", "move"), envelope("move", "st-new", row.payload, row.msg_id))])
    assert acks_for(bus, "st-new").msg_ids == [row.msg_id]


def test_two_stations_reversing_one_move_the_second_is_a_conflict_with_an_alert(tmp_path) -> None:
    """The cloud applies one reversal; the other is refused with its reason, dead-lettered
    and raised as an alert, and the moves beside it in the batch are applied."""
    from cloud.db.schema import station_alerts

    engine = make_cloud(tmp_path / "cloud.db", ("st-01", "st-02"))

    a, b = make_station(tmp_path / "a.db", "st-01"), make_station(tmp_path / "b.db", "st-02")
    original = a.writer.record_move(MoveRequest(
        sku="CUP-350", location="A-01-01", qty_delta=10, reason=MoveReason.RECEIVE,
        source_type="po", source_id="PO-R", operator_id="op1"))
    b.writer.apply_remote_moves([original])
    first = a.writer.reverse_move(original.move_id, operator_id="op1", note="录错")
    second = b.writer.reverse_move(original.move_id, operator_id="op2", note="录错了")
    beside = b.writer.record_move(MoveRequest(
        sku="TOWEL-W", location="A-01-02", qty_delta=4, reason=MoveReason.RECEIVE,
        source_type="po", source_id="PO-S", operator_id="op2"))
    bus = RecordingBus()
    ingest = Ingest(engine, bus, IngestSettings())

    def up(store, moves):  # type: ignore[no-untyped-def]
        sid = store.writer.station_id
        return [Msg(up_topic(sid, "move"), envelope("move", sid, MoveWire.from_move(m).model_dump(mode="json"),
                                                     m.move_id)) for m in moves]

    ingest.handle_batch(up(a, [original, first]))
    ingest.handle_batch(up(b, [second, beside]) + up(b, [second]))  # and a redelivery
    ack = acks_for(bus, "st-02")
    assert ack.msg_ids == [beside.move_id]
    why = f"already reversed by {first.move_id}"
    assert [r.msg_id for r in ack.rejected] == [second.move_id, second.move_id]
    assert all(why in r.reason for r in ack.rejected)
    assert why in _dead_reasons(engine, [second.move_id])[second.move_id]
    with engine.connect() as conn:
        alerts = conn.execute(sa.select(station_alerts).where(
            station_alerts.c.kind == "reversal_conflict")).mappings().all()
        cloud = {(x.sku, x.location): x.qty for x in ledger_store.balances(conn, warehouse_id="WH1")
                 if x.sku in ("CUP-350", "TOWEL-W") and x.qty}
        ids = set(conn.execute(sa.select(ledger_store.stock_moves.c.move_id)).scalars())
    assert [(x["station_id"], x["subject"], x["detail"]["winner_move_id"], x["detail"]["winner_station_id"])
            for x in alerts] == [("st-02", original.move_id, first.move_id, "st-01")]
    assert {first.move_id, beside.move_id} <= ids and second.move_id not in ids
    assert cloud == {("TOWEL-W", "A-01-02"): 4}  # CUP-350: +10 -10 = 0, not -10 below the truth
    engine.dispose()
