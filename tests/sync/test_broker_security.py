"""Security of the provisioned mosquitto broker: TLS, passwords, per-station ACLs, revocation.

Negative delivery checks never sleep-and-hope: the forbidden publish completes first (its
PUBACK means the broker has routed or refused it), then an allowed "sentinel" is sent to
the same subscriber. A subscriber's queue is FIFO, so if the forbidden message had been
routed it would arrive before the sentinel.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.errors import BrokerRefused, BrokerUnavailable
from edge.sync.broker import Broker, ConnectionState, Message, MqttBroker
from provisioning.pki import create_ca
from tests.fixtures.mosquitto import MosquittoBroker

pytestmark = pytest.mark.broker

WAIT = 5.0


@pytest.fixture
def clients() -> Iterator[list[MqttBroker]]:
    made: list[MqttBroker] = []
    yield made
    for c in made:
        c.disconnect()


Connect = Callable[..., MqttBroker]
"""``connect(who, **settings_overrides)``: a connected client, disconnected at teardown."""


@pytest.fixture
def connect(mosquitto_broker: MosquittoBroker, clients: list[MqttBroker]) -> Connect:
    def make(who: str, **overrides: Any) -> MqttBroker:
        client = MqttBroker(mosquitto_broker.settings(who, **overrides))
        clients.append(client)
        client.connect(timeout=WAIT)
        return client

    return make


def next_message(client: Broker) -> Message:
    msg = client.receive(WAIT)
    assert msg is not None, "expected a message"
    client.ack(msg)
    return msg


def test_cloud_reads_every_up_and_writes_every_down(connect: Connect) -> None:
    cloud, st1, st2 = connect("cloud"), connect("st-01"), connect("st-02")
    cloud.subscribe("packline/v1/#")
    st1.subscribe("packline/v1/st/st-01/down/#")
    st2.subscribe("packline/v1/st/st-02/down/#")
    assert st1.publish("packline/v1/st/st-01/up/moves", b"1").wait(WAIT)
    assert st2.publish("packline/v1/st/st-02/up/moves", b"2").wait(WAIT)
    assert sorted(next_message(cloud).payload for _ in range(2)) == [b"1", b"2"]
    for station, client in (("st-01", st1), ("st-02", st2)):
        d = cloud.publish(f"packline/v1/st/{station}/down/tasks", station.encode())
        assert d.wait(WAIT) and d.ok
        assert next_message(client).payload == station.encode()


def test_station_cannot_publish_to_another_stations_topics(connect: Connect) -> None:
    cloud, st1, st2 = connect("cloud"), connect("st-01"), connect("st-02")
    cloud.subscribe("packline/v1/#")
    st2.subscribe("packline/v1/st/st-02/down/#")
    for topic in ("packline/v1/st/st-02/up/moves", "packline/v1/st/st-02/down/tasks", "packline/v1/other"):
        d = st1.publish(topic, b"forged")
        assert d.wait(WAIT)
        assert (d.ok, d.reason) == (False, "Not authorized")
    assert st1.publish("packline/v1/st/st-01/up/moves", b"sentinel").wait(WAIT)
    assert next_message(cloud).payload == b"sentinel"
    assert cloud.publish("packline/v1/st/st-02/down/tasks", b"sentinel-2").wait(WAIT)
    assert next_message(st2).payload == b"sentinel-2"


def test_station_cannot_read_another_stations_down(connect: Connect) -> None:
    cloud, st1, st2 = connect("cloud"), connect("st-01"), connect("st-02")
    st1.subscribe("packline/v1/st/st-01/down/#")
    st2.subscribe("packline/v1/st/st-01/down/#")  # someone else's
    st2.subscribe("packline/v1/#")  # everything
    st2.subscribe("packline/v1/st/st-02/down/#")
    assert cloud.publish("packline/v1/st/st-01/down/tasks", b"for-st-01").wait(WAIT)
    assert next_message(st1).payload == b"for-st-01"  # positive control
    assert cloud.publish("packline/v1/st/st-02/down/tasks", b"sentinel").wait(WAIT)
    msg = next_message(st2)
    assert (msg.topic, msg.payload) == ("packline/v1/st/st-02/down/tasks", b"sentinel")
    # mosquitto sends one copy per matching subscription (two here); none is st-01's
    extra = st2.receive(1.0)
    assert extra is not None and (extra.topic, extra.payload) == (msg.topic, msg.payload)


def test_station_cannot_write_its_own_down_nor_read_its_own_up(connect: Connect) -> None:
    cloud, st1 = connect("cloud"), connect("st-01")
    cloud.subscribe("packline/v1/st/st-01/#")
    st1.subscribe("packline/v1/st/st-01/#")
    d = st1.publish("packline/v1/st/st-01/down/tasks", b"self-task")
    assert d.wait(WAIT) and (d.ok, d.reason) == (False, "Not authorized")
    d = st1.publish("packline/v1/st/st-01/up/moves", b"own-up")
    assert d.wait(WAIT) and d.ok
    assert next_message(cloud).payload == b"own-up"  # the cloud got the up, not the forged down
    assert cloud.publish("packline/v1/st/st-01/down/tasks", b"sentinel").wait(WAIT)
    assert next_message(st1).payload == b"sentinel"  # not its own up, not its own forged down


def test_wrong_password_and_unknown_user_are_refused(mosquitto_broker: MosquittoBroker) -> None:
    for overrides in ({"password": "not-the-password"}, {"username": "st-99"}, {"username": None}):
        client = MqttBroker(mosquitto_broker.settings("st-01", **overrides))
        with pytest.raises(BrokerRefused, match="Not authorized"):
            client.connect(timeout=WAIT)


def test_tls_with_the_generated_ca_works_for_ip_and_name(connect: Connect) -> None:
    assert connect("st-01").connected
    assert connect("st-02", host="localhost").connected


def test_a_client_that_does_not_trust_the_ca_is_refused(
    mosquitto_broker: MosquittoBroker, tmp_path: Path
) -> None:
    other_ca = tmp_path / "other-ca.crt"
    other_ca.write_bytes(create_ca("Some other CA").cert_pem())
    client = MqttBroker(mosquitto_broker.settings("st-01", ca_file=str(other_ca)))
    with pytest.raises(BrokerUnavailable, match="certificate verify failed"):
        client.connect(timeout=2)
    # and the system trust store does not know our CA either
    with socket.create_connection((mosquitto_broker.host, mosquitto_broker.port), timeout=WAIT) as raw:
        with pytest.raises(ssl.SSLCertVerificationError):
            ssl.create_default_context().wrap_socket(raw, server_hostname="localhost")


def test_plain_tcp_is_refused(mosquitto_broker: MosquittoBroker) -> None:
    client = MqttBroker(mosquitto_broker.settings("st-01", ca_file=None))
    with pytest.raises(BrokerUnavailable, match="before CONNACK"):
        client.connect(timeout=2)


def test_revoked_station_is_refused_after_reload(
    mosquitto_broker: MosquittoBroker, connect: Connect
) -> None:
    live = connect("st-03")
    client = MqttBroker(mosquitto_broker.settings("st-03", client_id="st-03-again"))
    mosquitto_broker.revoke("st-03")
    with pytest.raises(BrokerRefused, match="Not authorized"):
        client.connect(timeout=WAIT)
    for _ in range(50):  # mosquitto re-checks connected clients on reload and drops it
        if not live.connected:
            break
        live.receive(0.1)
    assert not live.connected
    assert connect("st-01").connected  # others are unaffected


def test_revoked_certificate_station_loses_acl_and_is_refused_by_the_crl(
    mosquitto_broker: MosquittoBroker, connect: Connect
) -> None:
    live = connect("st-cert")
    assert live.connected  # the cert works before revocation
    mosquitto_broker.revoke("st-cert")
    d = live.publish("packline/v1/st/st-cert/up/moves", b"after-revoke")
    assert d.wait(WAIT) and (d.ok, d.reason) == (False, "Not authorized")
    again = MqttBroker(mosquitto_broker.settings("st-cert", client_id="st-cert-again"))
    with pytest.raises(BrokerUnavailable, match="before CONNACK"):
        again.connect(timeout=WAIT)


def test_certificate_station_uses_its_cn_as_username(connect: Connect) -> None:
    cloud, st = connect("cloud"), connect("st-cert")
    cloud.subscribe("packline/v1/#")
    d = st.publish("packline/v1/st/st-01/up/moves", b"forged")
    assert d.wait(WAIT) and (d.ok, d.reason) == (False, "Not authorized")
    d = st.publish("packline/v1/st/st-cert/up/moves", b"by-cert")
    assert d.wait(WAIT) and d.ok
    assert next_message(cloud).payload == b"by-cert"


def test_certificate_listener_needs_a_certificate(mosquitto_broker: MosquittoBroker) -> None:
    client = MqttBroker(mosquitto_broker.settings("st-01", port=mosquitto_broker.mtls_port))
    with pytest.raises(BrokerUnavailable, match="before CONNACK"):
        client.connect(timeout=2)


@pytest.mark.parametrize("thief", ["st-01", "st-cert"])
def test_a_station_cannot_take_another_stations_session(
    mosquitto_broker: MosquittoBroker, connect: Connect, thief: str
) -> None:
    """st-01's password (or st-cert's certificate) with client id ``st-02`` must not resume
    st-02's persistent session (its queued down-messages stay queued for st-02), nor drop a
    live st-02: on the station listeners the client id is the authenticated username."""
    st2 = connect("st-02")
    st2.subscribe("packline/v1/st/st-02/down/#")
    st2.disconnect()
    cloud = connect("cloud")
    for i in range(3):
        d = cloud.publish(f"packline/v1/st/st-02/down/t{i}", str(i).encode())
        assert d.wait(WAIT) and d.ok
    impostor = connect(thief, client_id="st-02")
    impostor.subscribe("packline/v1/st/st-02/down/#")  # refused by the ACL in any case
    assert impostor.receive(1.0) is None
    impostor.disconnect()

    back = MqttBroker(mosquitto_broker.settings("st-02"))
    events: list[ConnectionState] = []
    back.add_connection_listener(events.append)
    assert back.connect(timeout=WAIT).session_present is True
    try:
        assert [next_message(back).payload for _ in range(3)] == [b"0", b"1", b"2"]
        # a live st-02 is not kicked off by another station connecting with its id
        again = connect(thief, client_id="st-02")
        assert again.connected
        d = cloud.publish("packline/v1/st/st-02/down/after", b"still-mine")
        assert d.wait(WAIT) and d.ok
        assert next_message(back).payload == b"still-mine"
        assert [e.connected for e in events] == [True], events
    finally:
        back.disconnect()


def test_the_cloud_listener_accepts_only_the_cloud_with_free_client_ids(
    mosquitto_broker: MosquittoBroker, connect: Connect
) -> None:
    """Several ingest processes share the ``cloud`` account with their own client ids (and
    do not drop each other); a station's password is refused on the cloud's listener."""
    a = connect("cloud", client_id="cloud-ingest-1")
    b = connect("cloud", client_id="cloud-ingest-2")
    a.subscribe("$share/ingest/packline/v1/st/+/up/#")
    b.subscribe("$share/ingest/packline/v1/st/+/up/#")
    st1 = connect("st-01")
    for i in range(4):
        assert st1.publish("packline/v1/st/st-01/up/moves", str(i).encode()).wait(WAIT)
    got = []
    for client in (a, b):
        while (msg := client.receive(1.0)) is not None:
            client.ack(msg)
            got.append(msg.payload)
    assert sorted(got) == [b"0", b"1", b"2", b"3"]
    assert a.connected and b.connected
    station = MqttBroker(mosquitto_broker.settings("st-01", port=mosquitto_broker.cloud_port))
    with pytest.raises(BrokerRefused, match="Not authorized"):
        station.connect(timeout=WAIT)
