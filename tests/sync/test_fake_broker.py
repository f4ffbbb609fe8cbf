"""FakeBroker specifics beyond the shared contract: matching, scripted drops, outages."""

from __future__ import annotations

import pytest

from edge.errors import BrokerUnavailable
from edge.sync.broker import Broker, ConnectionState, iter_messages
from edge.sync.fake_broker import FakeBrokerServer, packline_acl, topic_matches


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        ("a/b/c", "a/b/c", True),
        ("a/b/c", "a/b", False),
        ("a/+/c", "a/x/c", True),
        ("a/+/c", "a/x/y/c", False),
        ("a/+", "a/", True),
        ("a/#", "a", True),
        ("a/#", "a/b/c", True),
        ("#", "a/b", True),
        ("#", "$SYS/x", False),
        ("+/b", "$SYS/b", False),
        ("packline/v1/st/+/up/#", "packline/v1/st/st-01/up/moves", True),
        ("packline/v1/st/+/up/#", "packline/v1/st/st-01/down/moves", False),
    ],
)
def test_topic_matching(topic_filter: str, topic: str, expected: bool) -> None:
    assert topic_matches(topic_filter, topic) is expected


def test_packline_acl() -> None:
    acl = packline_acl()
    assert acl("cloud", "write", "packline/v1/st/st-01/down/x")
    assert acl("st-01", "write", "packline/v1/st/st-01/up/x")
    assert not acl("st-01", "read", "packline/v1/st/st-01/up/x")
    assert acl("st-01", "read", "packline/v1/st/st-01/down/x")
    assert not acl("st-01", "write", "packline/v1/st/st-01/down/x")
    assert not acl("st-01", "write", "packline/v1/st/st-02/up/x")
    assert not acl(None, "read", "packline/v1/st/st-01/down/x")


def test_drop_next_discards_silently_and_records() -> None:
    server = FakeBrokerServer()
    sub, pub = server.client("sub"), server.client("pub")
    sub.connect()
    sub.subscribe("t/#")
    pub.connect()
    server.drop_next(2)
    deliveries = [pub.publish(f"t/{i}", str(i).encode()) for i in range(4)]
    assert [(d.ok, d.reason) for d in deliveries] == [(True, "Success")] * 4
    assert [m.payload for m in iter_messages(sub, timeout=0.05)] == [b"2", b"3"]
    assert [(d.client_id, d.topic) for d in server.dropped] == [("sub", "t/0"), ("sub", "t/1")]


def test_outage_reconnects_started_clients_and_flushes_ram_backlog() -> None:
    server = FakeBrokerServer()
    cloud, station = server.client("cloud"), server.client("st-01")
    cloud.connect()
    cloud.subscribe("up/#")
    events: list[ConnectionState] = []
    station.add_connection_listener(events.append)
    station.start()
    server.stop()
    assert not station.connected and not cloud.connected
    d = station.publish("up/1", b"x")
    assert not d.done
    with pytest.raises(BrokerUnavailable):
        server.client("other").connect()
    server.start()
    assert station.connected and d.ok
    assert [e.connected for e in events] == [True, False, True]
    assert events[-1].session_present
    msg = cloud.receive(0.1)
    assert msg is not None and msg.payload == b"x"


def test_new_instance_takes_over_the_session() -> None:
    server = FakeBrokerServer()
    first = server.client("st-01")
    first.connect()
    second = server.client("st-01")
    assert second.connect().session_present
    assert not first.connected and second.connected


def test_fake_implements_the_port() -> None:
    assert isinstance(FakeBrokerServer().client("x"), Broker)


def test_mqtt_adapter_implements_the_port() -> None:
    from edge.sync.broker import MqttBroker, MqttSettings

    assert isinstance(MqttBroker(MqttSettings(host="127.0.0.1", port=1, client_id="x")), Broker)
