"""The ``Broker`` port and its MQTT v5 adapter on paho-mqtt 2.x.

The port is what the outbox and inbox use; it knows nothing about the database::

    broker.connect(timeout=10)                 # or start() and let it reconnect in the background
    broker.subscribe("packline/v1/st/st-01/down/#")
    delivery = broker.publish(topic, payload)  # QoS 1; delivery.wait(5); delivery.ok
    msg = broker.receive(timeout=1.0)          # Message or None
    ...commit the effect in SQLite...
    broker.ack(msg)                            # only then the PUBACK goes out
    broker.disconnect()

Facts the adapter relies on (docs/specs/edge-devices-sync-backup.md §4.1-4.3): ``CallbackAPIVersion.VERSION2``;
``clean_start=False`` on *every* connect plus a ``SessionExpiryInterval`` so the broker
keeps subscriptions and queued QoS 1 messages while the station is away;
``manual_ack=True`` so a message is acknowledged only after the caller's transaction;
``on_message`` is set before connecting (a resumed session redelivers right after
CONNACK); PUBACKs are tracked in ``on_publish`` because ``wait_for_publish()`` raises
for messages published while offline; a PUBACK is not end-to-end proof (mosquitto drops
silently past ``max_queued_messages``), so the outbox waits for the cloud's own ack.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge.errors import BrokerRefused, BrokerUnavailable, SyncError

log = logging.getLogger(__name__)

SESSION_EXPIRY_SECONDS = 7 * 24 * 3600
"""How long the broker keeps a station's session while it is away (capped broker-side)."""


@dataclass(frozen=True)
class Message:
    """One received message. Pass it back to :meth:`Broker.ack` once its effect is committed."""

    topic: str
    """The topic it was published to."""
    payload: bytes
    """The raw payload."""
    qos: int
    """QoS it was delivered with."""
    dup: bool = False
    """True when the broker is redelivering it (it may or may not have been seen before)."""
    user_properties: tuple[tuple[str, str], ...] = ()
    """MQTT v5 user properties, in order."""
    ack_token: tuple[int, int] = (0, 0)
    """(connection generation, packet id): internal, used by ``ack``."""


@dataclass(frozen=True)
class ConnectionState:
    """A change in the connection, passed to connection listeners."""

    connected: bool
    """Whether the client is now connected."""
    session_present: bool = False
    """On connect: the broker resumed a stored session (subscriptions, queued messages)."""
    reason: str = ""
    """Broker reason or local error text."""


class Delivery:
    """The outcome of one publish, completed when the broker answers (PUBACK for QoS 1)."""

    def __init__(self, mid: int) -> None:
        self.mid = mid
        """Packet id; only meaningful within one client instance."""
        self._event = threading.Event()
        self._ok: bool | None = None
        self._reason = ""

    def _complete(self, ok: bool, reason: str) -> None:
        self._ok, self._reason = ok, reason
        self._event.set()

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the broker's answer; True if it came."""
        return self._event.wait(timeout)

    @property
    def done(self) -> bool:
        """Whether the broker has answered."""
        return self._event.is_set()

    @property
    def ok(self) -> bool | None:
        """True if the broker accepted it, False if refused (e.g. not authorized), None if pending."""
        return self._ok

    @property
    def reason(self) -> str:
        """The broker's reason string ("Success", "No matching subscribers", "Not authorized")."""
        return self._reason


ConnectionListener = Callable[[ConnectionState], None]
"""Called from the client's network thread on every connect, disconnect and failed attempt."""


@runtime_checkable
class Broker(Protocol):
    """A long-lived MQTT client: publish, subscribe, receive, acknowledge."""

    @property
    def connected(self) -> bool:
        """Whether the client is connected right now."""
        ...

    def start(self) -> None:
        """Begin connecting in the background, reconnecting with backoff forever."""
        ...

    def connect(self, timeout: float = 10.0) -> ConnectionState:
        """Start and wait for the first connection; raise BrokerRefused/BrokerUnavailable."""
        ...

    def disconnect(self) -> None:
        """Disconnect cleanly and stop reconnecting (the broker keeps the session)."""
        ...

    def publish(
        self, topic: str, payload: bytes, qos: int = 1,
        user_properties: tuple[tuple[str, str], ...] = (),
    ) -> Delivery:
        """Publish; offline publishes are held in RAM and sent on reconnect."""
        ...

    def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        """Subscribe now and again on every reconnect."""
        ...

    def receive(self, timeout: float) -> Message | None:
        """The next received message, or None after ``timeout`` seconds."""
        ...

    def ack(self, message: Message) -> None:
        """Acknowledge a QoS 1 message (after its effect is committed)."""
        ...

    def add_connection_listener(self, listener: ConnectionListener) -> None:
        """Call ``listener`` on every connection change."""
        ...


def iter_messages(broker: Broker, timeout: float, limit: int | None = None) -> Iterator[Message]:
    """Yield received messages until none arrives for ``timeout`` seconds (or ``limit`` seen)."""
    count = 0
    while limit is None or count < limit:
        msg = broker.receive(timeout)
        if msg is None:
            return
        count += 1
        yield msg


def _no_op_register_write(client: mqtt.Client, userdata: Any, sock: Any) -> None:
    """paho external-loop hook; its presence is what matters (see MqttBroker.__init__)."""


@dataclass(frozen=True)
class MqttSettings:
    """Where and how to connect; filled from the station config written by provisioning."""

    host: str
    """Broker host (must match the server certificate)."""
    port: int
    """Broker TLS port."""
    client_id: str
    """Client id; the station id, so the broker resumes its session."""
    username: str | None = None
    """Broker username (None with client-certificate auth)."""
    password: str | None = None
    """Broker password."""
    ca_file: str | None = None
    """CA to verify the broker with; None means plain TCP (tests of refusal only)."""
    client_cert: str | None = None
    """Client certificate for the mTLS listener."""
    client_key: str | None = None
    """Its key."""
    keepalive: int = 30
    """MQTT keepalive seconds."""
    session_expiry: int = SESSION_EXPIRY_SECONDS
    """Session expiry interval requested at connect."""
    min_backoff: float = 0.5
    """First reconnect delay, doubled after each failure."""
    max_backoff: float = 30.0
    """Longest reconnect delay."""
    max_queued_in_ram: int = 1000
    """paho's in-RAM backlog limit; the SQLite outbox holds the rest."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Reserved for adapter options; unused."""


class MqttBroker:
    """The :class:`Broker` port on paho-mqtt 2.x, MQTT v5, QoS 1, TLS, manual acks."""

    def __init__(self, settings: MqttSettings) -> None:
        self.settings = settings
        """Connection settings."""
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=settings.client_id, protocol=mqtt.MQTTv5,
            reconnect_on_failure=False, manual_ack=True,
        )
        if settings.username is not None:
            client.username_pw_set(settings.username, settings.password)
        if settings.ca_file is not None:
            client.tls_set(
                ca_certs=settings.ca_file, certfile=settings.client_cert, keyfile=settings.client_key
            )
        client.max_queued_messages_set(settings.max_queued_in_ram)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        # All socket I/O happens on our network thread (``_pump``). Without this hook paho,
        # seeing no loop_start() thread, writes from the *caller's* thread inside publish()
        # and ack(), racing the network thread on the same TLS socket. With it, paho only
        # queues the packet and wakes our select() through its socket pair.
        client.on_socket_register_write = _no_op_register_write
        self._client = client
        self._lock = threading.Lock()
        self._deliveries: dict[int, Delivery] = {}
        self._early: dict[int, tuple[bool, str]] = {}
        self._subacks: dict[int, threading.Event] = {}
        self._early_subacks: set[int] = set()
        self._subscriptions: dict[str, int] = {}
        self._inbox: queue.Queue[Message] = queue.Queue()
        self._listeners: list[ConnectionListener] = []
        self._generation = 0
        self._connected = threading.Event()
        self._first_result = threading.Event()
        self._last_state = ConnectionState(False, reason="no answer from the broker")
        self._answered = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        """Whether the client is connected right now."""
        return self._connected.is_set()

    def add_connection_listener(self, listener: ConnectionListener) -> None:
        """Call ``listener`` on every connection change (from the network thread)."""
        self._listeners.append(listener)

    def start(self) -> None:
        """Run the reconnect loop in a daemon thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._first_result.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"mqtt-{self.settings.client_id}", daemon=True
        )
        self._thread.start()

    def connect(self, timeout: float = 10.0) -> ConnectionState:
        """Start and wait for the first connection attempt's outcome.

        Raises :class:`BrokerRefused` when the broker answers with a failure (bad
        credentials, revoked) and :class:`BrokerUnavailable` when no connection is made
        within ``timeout`` (the last network/TLS error is in the message). On failure the
        background loop is stopped.
        """
        self.start()
        if self._first_result.wait(timeout) and self._connected.is_set():
            return self._last_state
        state = self._last_state
        self.disconnect()
        if state.reason.startswith("refused:"):
            raise BrokerRefused(f"代理拒绝连接 / broker refused the connection: {state.reason[9:]}")
        raise BrokerUnavailable(
            f"无法连接代理 / cannot reach the broker at {self.settings.host}:{self.settings.port}: "
            f"{state.reason or 'timeout'}"
        )

    def disconnect(self) -> None:
        """Disconnect cleanly and stop the loop; the broker keeps the session until expiry.
        Pending acks are flushed before the DISCONNECT."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> MqttBroker:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()

    def _run(self) -> None:
        delay = self.settings.min_backoff
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.settings.session_expiry
        while not self._stop.is_set():
            try:
                self._client.connect(
                    self.settings.host, self.settings.port, self.settings.keepalive,
                    clean_start=False, properties=props,
                )
            except OSError as err:  # refused, unreachable, TLS verification failure
                self._set_state(ConnectionState(False, reason=f"{type(err).__name__}: {err}"))
                self._first_result.set()
                self._stop.wait(delay)
                delay = min(delay * 2, self.settings.max_backoff)
                continue
            self._answered = False
            self._pump()
            if not self._answered:  # e.g. our client certificate or plain TCP was rejected
                self._set_state(
                    ConnectionState(False, reason="connection closed by the broker before CONNACK")
                )
                self._first_result.set()
            if self._last_state.connected:
                self._connected.clear()
                self._set_state(ConnectionState(False, reason="connection lost"))
                delay = self.settings.min_backoff
            if not self._stop.is_set():
                self._stop.wait(delay)
                delay = min(delay * 2, self.settings.max_backoff)

    def _pump(self) -> None:
        """Run paho's network loop on this thread until the connection ends or we stop;
        on stop, send DISCONNECT after whatever is queued (acks) and let it close."""
        ok = MQTTErrorCode.MQTT_ERR_SUCCESS
        while not self._stop.is_set():
            if self._client.loop(timeout=0.2) != ok:
                return
        self._client.disconnect()
        for _ in range(20):  # bounded: a few round trips to flush and close
            if self._client.loop(timeout=0.1) != ok:
                break
        if self._last_state.connected:
            self._connected.clear()
            self._set_state(ConnectionState(False, reason="disconnected"))

    def _set_state(self, state: ConnectionState) -> None:
        self._last_state = state
        for listener in list(self._listeners):
            try:
                listener(state)
            except Exception:  # a listener must not kill the network thread
                log.exception("connection listener failed")

    # -- paho callbacks (network thread) ------------------------------------------------
    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags,
        reason_code: ReasonCode, properties: Properties | None,
    ) -> None:
        self._answered = True
        if reason_code.is_failure:
            self._set_state(ConnectionState(False, reason=f"refused: {reason_code.getName()}"))
            self._first_result.set()
            return
        with self._lock:
            self._generation += 1
            subs = dict(self._subscriptions)
        for topic, qos in subs.items():
            client.subscribe(topic, qos)
        self._connected.set()
        self._set_state(ConnectionState(True, session_present=flags.session_present, reason="Success"))
        self._first_result.set()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode, properties: Properties | None,
    ) -> None:
        self._connected.clear()

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int,
        reason_code: ReasonCode, properties: Properties | None,
    ) -> None:
        ok, reason = not reason_code.is_failure, reason_code.getName()
        with self._lock:
            delivery = self._deliveries.pop(mid, None)
            if delivery is None:
                self._early[mid] = (ok, reason)
        if delivery is not None:
            delivery._complete(ok, reason)

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int,
        reason_codes: list[ReasonCode], properties: Properties | None,
    ) -> None:
        for rc in reason_codes:
            if rc.is_failure:
                log.warning("subscription refused: %s", rc.getName())
        with self._lock:
            event = self._subacks.pop(mid, None)
            if event is None:
                self._early_subacks.add(mid)
        if event is not None:
            event.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        props = getattr(msg, "properties", None)
        user_props = tuple(getattr(props, "UserProperty", ()) or ())
        with self._lock:
            generation = self._generation
        self._inbox.put(
            Message(
                topic=msg.topic, payload=bytes(msg.payload), qos=msg.qos, dup=bool(msg.dup),
                user_properties=user_props, ack_token=(generation, msg.mid),
            )
        )

    # -- operations -----------------------------------------------------------------------
    def publish(
        self, topic: str, payload: bytes, qos: int = 1,
        user_properties: tuple[tuple[str, str], ...] = (),
    ) -> Delivery:
        """Publish. While offline paho keeps the message in RAM and sends it on reconnect;
        the returned :class:`Delivery` completes on the broker's PUBACK."""
        props = None
        if user_properties:
            props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            props.UserProperty = list(user_properties)
        info = self._client.publish(topic, payload, qos=qos, properties=props)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            raise SyncError(f"发布失败 / publish failed: {mqtt.error_string(info.rc)}")
        delivery = Delivery(info.mid)
        with self._lock:
            early = self._early.pop(info.mid, None)
            if early is None:
                self._deliveries[info.mid] = delivery
        if early is not None:
            delivery._complete(*early)
        return delivery

    def subscribe(self, topic_filter: str, qos: int = 1, timeout: float = 5.0) -> None:
        """Subscribe on every (re)connect; when connected now, wait up to ``timeout`` for
        the broker's SUBACK so messages published after this call are routed to us."""
        with self._lock:
            self._subscriptions[topic_filter] = qos
        if not self._connected.is_set():
            return
        rc, mid = self._client.subscribe(topic_filter, qos)
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
            return  # not connected after all: the reconnect subscribes
        if threading.current_thread() is self._thread:
            return  # called from a listener on the network thread: waiting would deadlock
        event = threading.Event()
        with self._lock:
            if mid in self._early_subacks:
                self._early_subacks.discard(mid)
                return
            self._subacks[mid] = event
        event.wait(timeout)

    def receive(self, timeout: float) -> Message | None:
        """The next received message, or None after ``timeout`` seconds."""
        try:
            return self._inbox.get(timeout=timeout)
        except queue.Empty:
            return None

    def ack(self, message: Message) -> None:
        """Send the PUBACK for ``message``. A message received on an earlier connection is
        not acked (its packet id may now name another message); the broker redelivers it."""
        generation, mid = message.ack_token
        if message.qos == 0:
            return
        with self._lock:
            current = self._generation
        if generation != current or not self._connected.is_set():
            return
        self._client.ack(mid, message.qos)
