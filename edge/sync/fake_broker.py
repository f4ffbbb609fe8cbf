"""An in-memory broker and a :class:`~edge.sync.broker.Broker` client for tests and demos.

``FakeBrokerServer`` plays mosquitto: persistent sessions per client id, topic filters
with ``+`` and ``#``, QoS 1 redelivery (``dup=True``) of unacknowledged messages on
reconnect, a per-client queue limit past which messages are dropped *silently* (as
``max_queued_messages`` does), an optional ACL and password table, and ``stop()`` /
``start()`` to simulate an outage. ``FakeBroker`` is the client side, holding offline
publishes in RAM like paho (lost if the instance is dropped)::

    server = FakeBrokerServer(acl=packline_acl())
    cloud = server.client("cloud", username="cloud")
    station = server.client("st-01", username="st-01")
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from edge.errors import BrokerRefused, BrokerUnavailable
from edge.sync.broker import ConnectionListener, ConnectionState, Delivery, Message

AclCheck = Callable[[str | None, str, str], bool]
"""``(username, "read" | "write", topic) -> allowed``."""


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT filter matching with ``+`` (one level) and ``#`` (rest, including the parent)."""
    f_parts, t_parts = topic_filter.split("/"), topic.split("/")
    if topic.startswith("$") and f_parts[0] in ("+", "#"):
        return False
    for i, part in enumerate(f_parts):
        if part == "#":
            return True
        if i >= len(t_parts):
            return False
        if part != "+" and part != t_parts[i]:
            return False
    return len(f_parts) == len(t_parts)


def packline_acl(cloud_user: str = "cloud", root: str = "packline/v1") -> AclCheck:
    """The ACL provisioning writes: the cloud reads and writes ``root/#``; any other user
    ``S`` may write only ``root/st/S/up/#`` and read only ``root/st/S/down/#``."""

    def check(username: str | None, access: str, topic: str) -> bool:
        if username is None:
            return False
        if username == cloud_user:
            return topic_matches(f"{root}/#", topic)
        direction = "up" if access == "write" else "down"
        return topic_matches(f"{root}/st/{username}/{direction}/#", topic)

    return check


@dataclass
class _Queued:
    topic: str
    payload: bytes
    qos: int
    user_properties: tuple[tuple[str, str], ...]


@dataclass
class _Session:
    client_id: str
    username: str | None
    subscriptions: dict[str, int] = field(default_factory=dict)
    inflight: dict[int, _Queued] = field(default_factory=dict)
    queued: deque[_Queued] = field(default_factory=deque)
    next_mid: int = 1
    client: FakeBroker | None = None


@dataclass(frozen=True)
class DroppedMessage:
    """A message the fake broker discarded without telling the publisher."""

    client_id: str
    """Whose queue it was dropped from."""
    topic: str
    """Its topic."""
    payload: bytes
    """Its payload."""


class FakeBrokerServer:
    """In-memory stand-in for mosquitto (see module docstring)."""

    def __init__(
        self,
        *,
        max_queued_messages: int = 1000,
        max_inflight_messages: int = 20,
        acl: AclCheck | None = None,
        passwords: dict[str, str] | None = None,
    ) -> None:
        self.max_queued_messages = max_queued_messages
        """Per-session queue beyond in-flight; overflow is dropped silently."""
        self.max_inflight_messages = max_inflight_messages
        """QoS 1 messages delivered but not yet acked, per session."""
        self.acl = acl
        """Access check, or None to allow everything."""
        self.passwords = passwords
        """``{username: password}``, or None to accept any credentials."""
        self.dropped: list[DroppedMessage] = []
        """Every message dropped by queue overflow or :meth:`drop_next`."""
        self.running = True
        """False between :meth:`stop` and :meth:`start`."""
        self._lock = threading.RLock()
        self._sessions: dict[str, _Session] = {}
        self._clients: list[FakeBroker] = []
        self._drop_next = 0

    def client(self, client_id: str, username: str | None = None, password: str | None = None) -> FakeBroker:
        """A new client instance (a new "process") for ``client_id``."""
        return FakeBroker(self, client_id, username, password)

    def drop_next(self, count: int) -> None:
        """Silently drop the next ``count`` messages routed to any subscriber."""
        with self._lock:
            self._drop_next += count

    def queued_count(self, client_id: str) -> int:
        """Messages waiting for ``client_id`` (queued plus in flight)."""
        with self._lock:
            s = self._sessions.get(client_id)
            return 0 if s is None else len(s.queued) + len(s.inflight)

    def stop(self) -> None:
        """Simulate the broker going down: every client loses its connection."""
        with self._lock:
            self.running = False
            clients = [c for c in self._clients if c.connected]
        for c in clients:
            c._lost("broker stopped")

    def start(self) -> None:
        """Bring the broker back; clients that want a connection reconnect."""
        with self._lock:
            self.running = True
            clients = [c for c in self._clients if c._wanted]
        for c in clients:
            c._try_connect()

    # -- used by FakeBroker --------------------------------------------------------------
    def _attach(self, client: FakeBroker) -> ConnectionState:
        """Connect ``client``; returns the state (refused / session_present)."""
        with self._lock:
            if not self.running:
                return ConnectionState(False, reason="ConnectionRefusedError: broker down")
            if self.passwords is not None and self.passwords.get(client.username or "") != client.password:
                return ConnectionState(False, reason="refused: Not authorized")
            session = self._sessions.get(client.client_id)
            present = session is not None
            if session is None:
                session = _Session(client.client_id, client.username)
                self._sessions[client.client_id] = session
            old = session.client
            session.client = client
            session.username = client.username
            if client not in self._clients:
                self._clients.append(client)
        if old is not None and old is not client:
            old._lost("session taken over")
        return ConnectionState(True, session_present=present, reason="Success")

    def _resume(self, client: FakeBroker) -> None:
        """After connect: redeliver unacked messages (dup) and flush the queue."""
        with self._lock:
            session = self._sessions[client.client_id]
            for mid, item in sorted(session.inflight.items()):
                client._deliver(item, mid, dup=True)
            self._flush(session)

    def _flush(self, session: _Session) -> None:
        client = session.client
        while session.queued and client is not None and client.connected:
            if len(session.inflight) >= self.max_inflight_messages:
                return
            item = session.queued.popleft()
            mid = 0
            if item.qos > 0:
                mid = session.next_mid
                session.next_mid = session.next_mid % 65535 + 1
                session.inflight[mid] = item
            client._deliver(item, mid, dup=False)

    def _detach(self, client: FakeBroker) -> None:
        with self._lock:
            session = self._sessions.get(client.client_id)
            if session is not None and session.client is client:
                session.client = None

    def _subscribe(self, client: FakeBroker, topic_filter: str, qos: int) -> None:
        with self._lock:
            self._sessions[client.client_id].subscriptions[topic_filter] = qos

    def _publish(self, client: FakeBroker, item: _Queued) -> tuple[bool, str]:
        with self._lock:
            if self.acl is not None and not self.acl(client.username, "write", item.topic):
                return False, "Not authorized"
            matched = False
            for session in self._sessions.values():
                qos = max(
                    (q for f, q in session.subscriptions.items() if topic_matches(f, item.topic)),
                    default=None,
                )
                if qos is None:
                    continue
                if self.acl is not None and not self.acl(session.username, "read", item.topic):
                    continue
                matched = True
                copy = _Queued(item.topic, item.payload, min(qos, item.qos), item.user_properties)
                if self._drop_next > 0 or len(session.queued) >= self.max_queued_messages:
                    self._drop_next = max(0, self._drop_next - 1)
                    self.dropped.append(DroppedMessage(session.client_id, item.topic, item.payload))
                    continue
                session.queued.append(copy)
                self._flush(session)
            return True, "Success" if matched else "No matching subscribers"

    def _ack(self, client: FakeBroker, mid: int) -> None:
        with self._lock:
            session = self._sessions.get(client.client_id)
            if session is None or session.client is not client:
                return
            session.inflight.pop(mid, None)
            self._flush(session)


class FakeBroker:
    """A :class:`~edge.sync.broker.Broker` client attached to a :class:`FakeBrokerServer`."""

    def __init__(
        self, server: FakeBrokerServer, client_id: str, username: str | None, password: str | None
    ) -> None:
        self.server = server
        """The in-memory broker."""
        self.client_id = client_id
        """Client id (its session key)."""
        self.username = username
        """Username for ACL and password checks."""
        self.password = password
        """Password."""
        self._connected = False
        self._wanted = False
        self._generation = 0
        self._inbox: queue.Queue[Message] = queue.Queue()
        self._pending: list[tuple[_Queued, Delivery]] = []
        self._subscriptions: dict[str, int] = {}
        self._listeners: list[ConnectionListener] = []
        self._next_mid = 1
        self._lock = threading.RLock()

    @property
    def connected(self) -> bool:
        """Whether the client is connected right now."""
        return self._connected

    def add_connection_listener(self, listener: ConnectionListener) -> None:
        """Call ``listener`` on every connection change."""
        self._listeners.append(listener)

    def _notify(self, state: ConnectionState) -> None:
        for listener in list(self._listeners):
            listener(state)

    def start(self) -> None:
        """Connect now if the server is up, else as soon as it starts."""
        self._wanted = True
        self._try_connect()

    def _try_connect(self) -> ConnectionState:
        with self._lock:
            if self._connected:
                return ConnectionState(True, reason="Success")
            state = self.server._attach(self)
            if state.connected:
                self._connected = True
                self._generation += 1
        self._notify(state)
        if not state.connected:
            return state
        for topic, qos in self._subscriptions.items():
            self.server._subscribe(self, topic, qos)
        self.server._resume(self)
        with self._lock:
            pending, self._pending = self._pending, []
        for item, delivery in pending:
            delivery._complete(*self.server._publish(self, item))
        return state

    def connect(self, timeout: float = 10.0) -> ConnectionState:
        """Connect; raise :class:`BrokerRefused` or :class:`BrokerUnavailable` on failure."""
        self._wanted = True
        state = self._try_connect()
        if state.connected:
            return state
        self._wanted = False
        if state.reason.startswith("refused:"):
            raise BrokerRefused(f"代理拒绝连接 / broker refused the connection: {state.reason[9:]}")
        raise BrokerUnavailable(f"无法连接代理 / cannot reach the broker: {state.reason}")

    def _lost(self, reason: str) -> None:
        with self._lock:
            if not self._connected:
                return
            self._connected = False
        self.server._detach(self)
        self._notify(ConnectionState(False, reason=reason))

    def disconnect(self) -> None:
        """Disconnect and stop reconnecting; the session stays on the server."""
        self._wanted = False
        self._lost("disconnected")

    def __enter__(self) -> FakeBroker:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()

    def publish(
        self, topic: str, payload: bytes, qos: int = 1,
        user_properties: tuple[tuple[str, str], ...] = (),
    ) -> Delivery:
        """Publish; while offline the message waits in RAM until reconnect."""
        item = _Queued(topic, bytes(payload), qos, tuple(user_properties))
        with self._lock:
            delivery = Delivery(self._next_mid)
            self._next_mid = self._next_mid % 65535 + 1
            if not self._connected:
                self._pending.append((item, delivery))
                return delivery
        delivery._complete(*self.server._publish(self, item))
        return delivery

    def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        """Subscribe now (if connected) and on every reconnect."""
        self._subscriptions[topic_filter] = qos
        if self._connected:
            self.server._subscribe(self, topic_filter, qos)

    def _deliver(self, item: _Queued, mid: int, *, dup: bool) -> None:
        self._inbox.put(
            Message(
                topic=item.topic, payload=item.payload, qos=item.qos, dup=dup,
                user_properties=item.user_properties, ack_token=(self._generation, mid),
            )
        )

    def receive(self, timeout: float) -> Message | None:
        """The next received message, or None after ``timeout`` seconds."""
        try:
            return self._inbox.get(timeout=timeout)
        except queue.Empty:
            return None

    def ack(self, message: Message) -> None:
        """Acknowledge; stale acks (from an earlier connection) are ignored."""
        generation, mid = message.ack_token
        if message.qos == 0 or generation != self._generation or not self._connected:
            return
        self.server._ack(self, mid)
