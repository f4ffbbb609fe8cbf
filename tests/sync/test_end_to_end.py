"""Stations and cloud over the FakeBroker: moves up, acks and relays down, downlink API."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from cloud.db.schema import dead_letters, downlink_outbox, station_alerts, station_shipments
from cloud.ingest import Ingest, IngestSettings
from cloud.outbound import pending_count, send_intercept, send_task
from edge.store import Store
from edge.sync.daemon import DaemonSettings, SyncDaemon
from edge.sync.fake_broker import FakeBrokerServer, packline_acl
from edge.sync.schema import ShipmentWire, TaskLineWire, TaskWire, up_topic
from tests.sync.harness import assert_converged, converged, make_cloud, make_station, record_moves
from tests.sync.helpers import envelope, wait_until

STATIONS = ("st-01", "st-02")


def pending(engine) -> int:
    with engine.connect() as conn:
        return pending_count(conn)


def world(tmp_path: Path, server: FakeBrokerServer, resend_after: float = 0.2):
    engine = make_cloud(tmp_path / "cloud.db", STATIONS)
    ingest = Ingest(engine, server.client("cloud-ingest", username="cloud"),
                    IngestSettings(tick=0, resend_after=resend_after))
    ingest.bus.start()
    stores: list[Store] = []
    daemons: list[SyncDaemon] = []
    for s in STATIONS:
        store = make_station(tmp_path / f"{s}.db", s)
        d = SyncDaemon(store, server.client(s, username=s), DaemonSettings(tick=0))
        d.outbox.settings = type(d.outbox.settings)(resend_after=resend_after)
        d.start()
        stores.append(store)
        daemons.append(d)
    return engine, ingest, stores, daemons


def turn(ingest: Ingest, daemons: list[SyncDaemon]) -> None:
    for d in daemons:
        d.step(0)
    ingest.step(0)
    for d in daemons:
        d.step(0)


def test_two_stations_converge_through_the_cloud(tmp_path: Path) -> None:
    server = FakeBrokerServer(acl=packline_acl(), max_queued_messages=100_000)
    engine, ingest, stores, daemons = world(tmp_path, server)
    record_moves(stores[0], 60)
    record_moves(stores[1], 40)
    wait_until(lambda: converged(engine, stores), 20, lambda: turn(ingest, daemons), "convergence")
    assert_converged(engine, stores)
    assert ingest.counters.relayed == 100  # each move relayed to the one other station
    wait_until(lambda: pending(engine) == 0, 10, lambda: turn(ingest, daemons), "relay acks")


def test_dropped_messages_both_ways_are_resent_until_acked(tmp_path: Path) -> None:
    server = FakeBrokerServer(acl=packline_acl(), max_queued_messages=15)
    engine, ingest, stores, daemons = world(tmp_path, server, resend_after=0.05)
    record_moves(stores[0], 80)
    record_moves(stores[1], 80)
    wait_until(lambda: converged(engine, stores), 60, lambda: turn(ingest, daemons), "convergence")
    assert server.dropped, "the queue limit should have dropped messages"
    assert_converged(engine, stores)


def test_downlink_task_and_intercept_reach_the_station_and_are_acked(tmp_path: Path) -> None:
    server = FakeBrokerServer(acl=packline_acl())
    engine, ingest, stores, daemons = world(tmp_path, server)
    task = TaskWire(order_id="O-7", platform="jd", platform_order_no="JD-7", waybill_no="SF1",
                    carrier="SF", lines=[TaskLineWire(line_no=1, sku="CUP-350", qty=1)],
                    ordered_at="2026-11-23T07:00:00Z", print_data={"tpl": "sf"})
    with engine.begin() as conn:
        send_task(conn, "st-02", task, now=ingest.clock())
        send_intercept(conn, "st-02", "O-7", "买家申请退款", now=ingest.clock())
    wait_until(lambda: pending(engine) == 0, 10, lambda: turn(ingest, daemons), "downlink acks")
    row = stores[1].writer.db.execute(
        "SELECT status, intercept_reason, waybill_no FROM orders WHERE order_id = 'O-7'").fetchone()
    assert row == ("intercepted", "买家申请退款", "SF1")
    assert stores[0].writer.db.execute("SELECT COUNT(*) FROM orders").fetchone() == (0,)


def test_malformed_and_invalid_messages_go_to_dead_letters_and_are_acked(tmp_path: Path) -> None:
    server = FakeBrokerServer(acl=packline_acl())
    engine, ingest, stores, _daemons = world(tmp_path, server)
    station = server.client("st-01-raw", username="st-01")
    station.connect()
    station.publish(up_topic("st-01", "move"), b"\x00garbage")
    station.publish(up_topic("st-01", "teleport"), envelope("teleport", "st-01", {}, "m-teleport-1"))
    station.publish(up_topic("st-01", "shipment"), envelope("shipment", "st-02", {}, "m-spoofed-01"))
    ship = ShipmentWire(order_id="O-1", waybill_no="YT9", carrier="YTO", operator_id="op1",
                        shipped_at="2026-11-23T09:00:00Z", weight_g=530)
    station.publish(up_topic("st-01", "shipment"),
                    envelope("shipment", "st-01", ship.model_dump(mode="json"), "m-ship-0001"))
    station.publish(up_topic("st-01", "shipment"),
                    envelope("shipment", "st-01", ship.model_dump(mode="json"), "m-ship-0001"))
    bad_move = json.loads(envelope("move", "st-01", {}, "not-a-uuid-move"))
    record_moves(stores[0], 1)
    good = json.loads(stores[0].writer.db.execute("SELECT payload FROM outbox").fetchone()[0])
    bad_move["payload"] = {**good, "move_id": "not-a-uuid-move"}
    station.publish(up_topic("st-01", "move"), json.dumps(bad_move).encode())
    ingest.step(0)
    with engine.connect() as conn:
        dead = conn.execute(sa.select(dead_letters.c.msg_id, dead_letters.c.reason)
                            .order_by(dead_letters.c.id)).all()
        ships = conn.execute(sa.select(station_shipments.c.msg_id, station_shipments.c.weight_g)).all()
    assert [d.msg_id for d in dead] == [None, "m-teleport-1", "m-spoofed-01", "not-a-uuid-move"]
    assert "bad envelope" in dead[0].reason
    assert "unknown kind 'teleport'" in dead[1].reason
    assert "does not match topic station" in dead[2].reason
    assert "not a UUID" in dead[3].reason
    assert ships == [("m-ship-0001", 530)]
    assert server.queued_count("cloud-ingest") == 0  # everything PUBACKed, nothing blocks


def test_station_alerts_arrive_in_the_cloud(tmp_path: Path) -> None:
    server = FakeBrokerServer(acl=packline_acl())
    engine, ingest, stores, daemons = world(tmp_path, server)
    stores[0].writer.alert("negative_stock", "CUP-350@A-01-01", {"balance": -2})
    def arrived() -> bool:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(station_alerts)).scalar_one() == 1

    wait_until(arrived, 10, lambda: turn(ingest, daemons), "alert")
    with engine.connect() as conn:
        row = conn.execute(sa.select(station_alerts.c.station_id, station_alerts.c.detail)).one()
    assert tuple(row) == ("st-01", {"balance": -2})
    assert stores[0].queries.outbox_stats().pending == 0
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(downlink_outbox)).scalar_one() == 0
