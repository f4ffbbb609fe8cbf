"""One suite over the Broker port: the in-memory FakeBroker and MqttBroker on real mosquitto."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from edge.errors import BrokerRefused
from edge.sync.broker import Broker, ConnectionState, Message, MqttBroker
from edge.sync.fake_broker import FakeBrokerServer, packline_acl
from tests.fixtures.mosquitto import MosquittoFactory

WAIT = 5.0
"""Upper bound for anything that is expected to arrive."""


@dataclass
class Env:
    """How a test gets clients and outages, whatever the backend."""

    make: Callable[..., Broker]
    """``make(who, client_id=None)``: a new, unconnected client ("who" = cloud or station id)."""
    broker_down: Callable[[], None]
    """Take the broker away (every client loses its connection)."""
    broker_up: Callable[[], None]
    """Bring it back (same address; sessions restored)."""
    clients: list[Broker]
    """Made so far, disconnected at teardown."""


@pytest.fixture(params=["fake", pytest.param("real", marks=pytest.mark.broker)])
def env(request: pytest.FixtureRequest) -> Iterator[Env]:
    clients: list[Broker] = []
    if request.param == "fake":
        server = FakeBrokerServer(
            acl=packline_acl(), passwords={"cloud": "pw", "st-01": "pw", "st-02": "pw"}
        )

        def make_fake(who: str, client_id: str | None = None, password: str = "pw") -> Broker:
            client = server.client(client_id or who, username=who, password=password)
            clients.append(client)
            return client

        yield Env(make_fake, server.stop, server.start, clients)
    else:
        factory: MosquittoFactory = request.getfixturevalue("mosquitto_factory")
        broker = factory(stations=("st-01", "st-02"), cert_stations=())

        def make_real(who: str, client_id: str | None = None, password: str | None = None) -> Broker:
            settings = broker.settings(who, client_id)
            if password is not None:
                settings = broker.settings(who, client_id, password=password)
            client = MqttBroker(settings)
            clients.append(client)
            return client

        yield Env(make_real, broker.stop, broker.start, clients)
    for client in clients:
        client.disconnect()


def receive(client: Broker) -> Message:
    msg = client.receive(WAIT)
    assert msg is not None, "expected a message"
    return msg


def test_station_up_reaches_cloud_with_qos1_and_properties(env: Env) -> None:
    cloud, station = env.make("cloud"), env.make("st-01")
    cloud.connect()
    cloud.subscribe("packline/v1/st/+/up/#")
    station.connect()
    delivery = station.publish("packline/v1/st/st-01/up/moves", b'{"n":1}', user_properties=(("msg_id", "m1"),))
    assert delivery.wait(WAIT)
    assert (delivery.ok, delivery.reason) == (True, "Success")
    msg = receive(cloud)
    assert (msg.topic, msg.payload, msg.qos, msg.dup) == ("packline/v1/st/st-01/up/moves", b'{"n":1}', 1, False)
    assert msg.user_properties == (("msg_id", "m1"),)
    cloud.ack(msg)


def test_publish_without_subscribers_is_a_success_code(env: Env) -> None:
    station = env.make("st-01")
    station.connect()
    delivery = station.publish("packline/v1/st/st-01/up/nobody", b"x")
    assert delivery.wait(WAIT)
    assert (delivery.ok, delivery.reason) == (True, "No matching subscribers")


def test_publish_outside_own_up_is_not_authorized(env: Env) -> None:
    station = env.make("st-01")
    station.connect()
    delivery = station.publish("packline/v1/st/st-02/up/moves", b"x")
    assert delivery.wait(WAIT)
    assert (delivery.ok, delivery.reason) == (False, "Not authorized")


def test_wrong_password_is_refused(env: Env) -> None:
    station = env.make("st-01", password="wrong-password")
    with pytest.raises(BrokerRefused, match="Not authorized"):
        station.connect(timeout=WAIT)
    assert not station.connected


def test_unacked_message_is_redelivered_after_reconnect_then_not_again(env: Env) -> None:
    cloud, station = env.make("cloud"), env.make("st-01")
    station.connect()
    station.subscribe("packline/v1/st/st-01/down/#")
    cloud.connect()
    assert cloud.publish("packline/v1/st/st-01/down/tasks", b"task-1").wait(WAIT)
    first = receive(station)
    assert (first.payload, first.dup) == (b"task-1", False)
    station.disconnect()  # "crash" before the transaction commits: no ack

    again = env.make("st-01")  # a new process with the same client id
    again.connect()
    second = receive(again)
    assert (second.topic, second.payload, second.dup) == ("packline/v1/st/st-01/down/tasks", b"task-1", True)
    again.ack(second)
    # After the ack, a further reconnect brings nothing back; a fresh message proves the link.
    again.disconnect()
    third = env.make("st-01")
    third.connect()
    assert cloud.publish("packline/v1/st/st-01/down/tasks", b"task-2").wait(WAIT)
    assert receive(third).payload == b"task-2"


def test_stale_ack_from_previous_connection_is_ignored(env: Env) -> None:
    cloud, station = env.make("cloud"), env.make("st-01")
    station.connect()
    station.subscribe("packline/v1/st/st-01/down/#")
    cloud.connect()
    assert cloud.publish("packline/v1/st/st-01/down/a", b"a").wait(WAIT)
    old = receive(station)
    station.disconnect()
    station.connect()
    redelivered = receive(station)
    station.ack(old)  # stale: must not acknowledge the redelivered copy
    assert redelivered.payload == b"a" and redelivered.dup
    station.disconnect()
    station.connect()
    assert receive(station).payload == b"a"  # still unacked, so it comes back once more


def test_persistent_session_keeps_messages_while_offline_in_order(env: Env) -> None:
    station = env.make("st-02")
    station.connect()
    station.subscribe("packline/v1/st/st-02/down/#")
    station.disconnect()
    cloud = env.make("cloud")
    cloud.connect()
    for i in range(5):
        assert cloud.publish(f"packline/v1/st/st-02/down/t{i}", str(i).encode()).wait(WAIT)

    back = env.make("st-02")
    state = back.connect()
    assert state.session_present is True
    got = []
    for _ in range(5):
        msg = receive(back)
        back.ack(msg)
        got.append(msg.payload)
    assert got == [b"0", b"1", b"2", b"3", b"4"]


def test_offline_publish_is_sent_when_the_broker_returns(env: Env) -> None:
    cloud, station = env.make("cloud"), env.make("st-01")
    cloud.connect()
    cloud.subscribe("packline/v1/st/st-01/up/#")
    events: list[ConnectionState] = []
    station.add_connection_listener(events.append)
    station.connect()
    env.broker_down()
    for _ in range(100):  # the real client notices the closed socket asynchronously
        if not station.connected:
            break
        station.receive(0.05)
    assert not station.connected
    delivery = station.publish("packline/v1/st/st-01/up/moves", b"while-down")
    assert not delivery.done
    env.broker_up()
    assert delivery.wait(WAIT * 2)
    assert delivery.ok is True
    msg = receive(cloud)
    assert msg.payload == b"while-down"
    assert [e.connected for e in events][:2] == [True, False]
    assert events[-1].connected is True


@pytest.fixture(params=["fake", pytest.param("real", marks=pytest.mark.broker)])
def small_queue_env(request: pytest.FixtureRequest) -> Iterator[Env]:
    """Like ``env`` but the broker queues at most 5 messages per client."""
    clients: list[Broker] = []
    if request.param == "fake":
        server = FakeBrokerServer(max_queued_messages=5)

        def make_fake(who: str, client_id: str | None = None) -> Broker:
            clients.append(server.client(client_id or who, who))
            return clients[-1]

        yield Env(make_fake, server.stop, server.start, clients)
    else:
        factory: MosquittoFactory = request.getfixturevalue("mosquitto_factory")
        broker = factory(stations=("st-01",), cert_stations=(), max_queued_messages=5)

        def make_real(who: str, client_id: str | None = None) -> Broker:
            clients.append(MqttBroker(broker.settings(who, client_id)))
            return clients[-1]

        yield Env(make_real, broker.stop, broker.start, clients)
    for client in clients:
        client.disconnect()


def test_queue_overflow_is_dropped_silently_despite_successful_pubacks(small_queue_env: Env) -> None:
    env = small_queue_env
    station = env.make("st-01")
    station.connect()
    station.subscribe("packline/v1/st/st-01/down/#")
    station.disconnect()
    cloud = env.make("cloud")
    cloud.connect()
    deliveries = [cloud.publish("packline/v1/st/st-01/down/t", str(i).encode()) for i in range(12)]
    assert all(d.wait(WAIT) and d.ok for d in deliveries)  # the publisher hears nothing of the drop
    back = env.make("st-01")
    back.connect()
    got = []
    while (msg := back.receive(1.0)) is not None:
        back.ack(msg)
        got.append(int(msg.payload))
    assert got == [0, 1, 2, 3, 4]  # max_queued_messages 5: the oldest kept, the rest gone


def test_queued_downlink_survives_a_broker_restart(env: Env) -> None:
    station = env.make("st-02")
    station.connect()
    station.subscribe("packline/v1/st/st-02/down/#")
    station.disconnect()
    cloud = env.make("cloud")
    cloud.connect()
    assert cloud.publish("packline/v1/st/st-02/down/tasks", b"queued").wait(WAIT)
    env.broker_down()  # mosquitto saves its persistence file on SIGTERM
    env.broker_up()
    back = env.make("st-02")
    assert back.connect().session_present
    assert receive(back).payload == b"queued"
