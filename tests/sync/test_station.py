"""Station side over the FakeBroker: outbox re-sends until the app ack, inbox applies once."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from edge.store import Store, open_store
from edge.sync.broker import Message
from edge.sync.daemon import DaemonSettings, SyncDaemon
from edge.sync.fake_broker import FakeBroker, FakeBrokerServer, packline_acl
from edge.sync.outbox import OutboxSettings
from edge.sync.schema import AckWire, Envelope, Rejected, down_topic
from tests.fixtures.edge_store import StepClock, seed_small_catalog
from tests.sync.helpers import envelope, pending, receive_moves

STATION = "st1"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def server() -> FakeBrokerServer:
    return FakeBrokerServer(acl=packline_acl(), max_queued_messages=100_000)


@pytest.fixture
def station_store() -> Iterator[Store]:
    s = open_store(":memory:", station_id=STATION, clock=StepClock())
    seed_small_catalog(s)
    yield s
    s.close()


@pytest.fixture
def cloud(server: FakeBrokerServer) -> FakeBroker:
    c = server.client("cloud", username="cloud")
    c.subscribe("packline/v1/st/+/up/#")
    c.connect()
    return c


def make_daemon(server: FakeBrokerServer, store: Store, clock: Clock | None = None,
                **outbox: float) -> SyncDaemon:
    broker = server.client(STATION, username=STATION)
    daemon = SyncDaemon(store, broker, DaemonSettings(tick=0, health_every=None, outbox=OutboxSettings(**outbox)))  # type: ignore[arg-type]
    if clock is not None:
        daemon.outbox._monotonic = clock
    daemon.start()
    return daemon


def drain(client: FakeBroker) -> list[Message]:
    out = []
    while (m := client.receive(0)) is not None:
        client.ack(m)
        out.append(m)
    return out


def ack(cloud: FakeBroker, ids: list[str], rejected: list[Rejected] | None = None) -> None:
    payload = AckWire(msg_ids=ids, rejected=rejected or []).model_dump(mode="json")
    cloud.publish(down_topic(STATION, "ack"), envelope("ack", STATION, payload))


def test_each_move_is_published_as_an_envelope_keyed_by_its_move_id(server, station_store, cloud):
    ids = receive_moves(station_store, 3)
    daemon = make_daemon(server, station_store)
    daemon.step()
    got = drain(cloud)
    assert [m.topic for m in got] == [f"packline/v1/st/{STATION}/up/move"] * 3
    envs = [Envelope.model_validate_json(m.payload) for m in got]
    assert [e.msg_id for e in envs] == ids
    assert [e.payload["move_id"] for e in envs] == ids
    assert all(e.kind == "move" and e.station_id == STATION for e in envs)
    # a broker PUBACK is not an ack: still pending
    assert pending(station_store) == 3
    ack(cloud, ids[:2])
    daemon.step()
    assert pending(station_store) == 1
    row = station_store.writer.db.execute(
        "SELECT attempts, acked_at IS NOT NULL FROM outbox WHERE msg_id = ?", [ids[0]]).fetchone()
    assert row == (1, 1)


def test_unacked_rows_are_resent_with_backoff_until_acked(server, station_store, cloud):
    ids = receive_moves(station_store, 2)
    clock = Clock()
    daemon = make_daemon(server, station_store, clock, resend_after=10.0)
    daemon.step()
    assert len(drain(cloud)) == 2
    clock.t += 9
    daemon.step()
    assert drain(cloud) == []
    clock.t += 2  # 11 s: first re-send
    daemon.step()
    assert [Envelope.model_validate_json(m.payload).msg_id for m in drain(cloud)] == ids
    clock.t += 11  # backoff doubled to 20 s: nothing yet
    daemon.step()
    assert drain(cloud) == []
    clock.t += 10
    daemon.step()
    assert len(drain(cloud)) == 2
    ack(cloud, ids)
    daemon.step()
    clock.t += 1000
    daemon.step()
    assert drain(cloud) == []
    assert pending(station_store) == 0
    assert daemon.outbox.counters.resent == 4


def test_window_bounds_messages_in_flight(server, station_store, cloud):
    ids = receive_moves(station_store, 25)
    daemon = make_daemon(server, station_store, window=10)
    daemon.step()
    first = [Envelope.model_validate_json(m.payload).msg_id for m in drain(cloud)]
    assert first == ids[:10]
    daemon.step()
    assert drain(cloud) == []
    ack(cloud, first[:4])
    daemon.step()
    assert [Envelope.model_validate_json(m.payload).msg_id for m in drain(cloud)] == ids[10:14]


def test_silently_dropped_messages_are_resent(server, station_store, cloud):
    ids = receive_moves(station_store, 5)
    clock = Clock()
    daemon = make_daemon(server, station_store, clock, resend_after=5.0)
    server.drop_next(3)
    daemon.step()
    got = [Envelope.model_validate_json(m.payload).msg_id for m in drain(cloud)]
    assert got == ids[3:]
    ack(cloud, got)
    daemon.step()
    clock.t += 6
    daemon.step()
    again = [Envelope.model_validate_json(m.payload).msg_id for m in drain(cloud)]
    assert again == ids[:3]
    ack(cloud, again)
    daemon.step()
    assert pending(station_store) == 0


def test_a_restarted_daemon_resends_every_unacked_row(server, station_store, cloud):
    ids = receive_moves(station_store, 4)
    first = make_daemon(server, station_store)
    first.step()
    drain(cloud)
    ack(cloud, ids[:1])
    first.step()
    first.broker.disconnect()  # the process dies; paho's RAM queue is gone
    second = make_daemon(server, station_store)
    second.step()
    assert [Envelope.model_validate_json(m.payload).msg_id for m in drain(cloud)] == ids[1:]


def test_nothing_is_published_while_offline_and_all_is_sent_on_reconnect(server, station_store, cloud):
    daemon = make_daemon(server, station_store, resend_after=3600)
    server.stop()
    ids = receive_moves(station_store, 3)
    daemon.step()
    assert daemon.outbox.counters.published == 0
    server.start()
    daemon.step()
    assert [Envelope.model_validate_json(m.payload).msg_id for m in drain(cloud)] == ids
    # a reconnect makes the window due again at once (the broker may have lost them)
    server.stop()
    server.start()
    daemon.step()
    assert [Envelope.model_validate_json(m.payload).msg_id for m in drain(cloud)] == ids


def test_rejected_rows_stop_and_raise_an_alert(server, station_store, cloud):
    ids = receive_moves(station_store, 2)
    daemon = make_daemon(server, station_store)
    daemon.step()
    drain(cloud)
    ack(cloud, [ids[0]], [Rejected(msg_id=ids[1], reason="unknown warehouse")])
    daemon.step()
    assert pending(station_store) == 1  # the alert row about the refusal
    alerts = station_store.queries.alerts("sync_rejected")
    assert [(a["subject"], json.loads(a["detail"])["reason"]) for a in alerts] == [
        (ids[1], "unknown warehouse")]


def test_status_row_tracks_the_link(server, station_store, cloud):
    from edge.sync.status import read_status

    daemon = make_daemon(server, station_store)
    daemon.step()
    status = read_status(station_store.queries, station_store.writer.clock())
    assert status.online and status.daemon_running and status.backlog == 0
    server.stop()
    receive_moves(station_store, 2)
    daemon.step()
    status = read_status(station_store.queries, station_store.writer.clock())
    assert not status.online and status.daemon_running and status.backlog == 2
    assert status.label("en").startswith("offline · 2 waiting")


def test_congestion_window_halves_on_time_outs_and_grows_with_acks(server, station_store, cloud):
    ids = receive_moves(station_store, 60)
    clock = Clock()
    daemon = make_daemon(server, station_store, clock, window=50, initial_window=40,
                         min_window=10, resend_after=5.0)
    daemon.step()
    assert len(drain(cloud)) == 40  # the congestion window, not the 50-row window
    clock.t += 6  # all 40 time out: one cut, to 20, and only 20 are re-sent
    daemon.step()
    assert len(drain(cloud)) == 20
    assert daemon.outbox.cwnd == 20
    ack(cloud, ids[:40])
    daemon.step()
    assert daemon.outbox.cwnd == 50  # +1 per acked row, capped at the window
    assert [Envelope.model_validate_json(m.payload).msg_id for m in drain(cloud)] == ids[40:60]


def test_an_idle_daemon_does_not_write_the_database(server: FakeBrokerServer, station_store: Store,
                                                    cloud: FakeBroker) -> None:
    """Every database write is a backup upload: an idle, connected station writes nothing
    between heartbeats; a change of link state is written at once."""
    broker = server.client(STATION, username=STATION)
    daemon = SyncDaemon(station_store, broker,
                        DaemonSettings(tick=0, health_every=None, status_every=0.0, heartbeat_every=3600))
    daemon.start()
    for _ in range(5):
        daemon.step(0)
    conn = station_store.writer.db.conn
    before = conn.total_changes
    for _ in range(50):
        daemon.step(0)
    assert conn.total_changes == before
    broker.disconnect()
    for _ in range(5):
        daemon.step(0)
    assert conn.total_changes > before
    state = dict(conn.execute("SELECT key, value FROM sync_state").fetchall())
    assert state["connected"] == "0"
