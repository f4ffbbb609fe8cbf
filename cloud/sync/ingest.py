"""``packline-cloud ingest``: apply what stations send, ack it, relay it, publish downlink.

One loop, top to bottom (house style 18):

1. take a batch of messages from ``packline/v1/st/+/up/#`` (manual acks);
2. validate each (``edge.sync.schema.decode``); a malformed, unknown or invalid message
   goes to ``dead_letters`` with its reason — it never raises, never blocks;
3. in **one** transaction: insert moves once by ``move_id`` (``ledger_store.insert_moves``),
   alerts/shipments/sign-ins once by ``msg_id``, mark down-messages the stations acked,
   write dead letters, queue the *new* moves for the other stations of the same
   warehouse (``downlink_outbox``, kind ``moves``) so every station's balances converge,
   and let new SHIP moves consume their orders' reservations
   (``cloud.orders.reservations.on_ingest``: on-hand and reserved drop together);
4. after the commit: publish one application ack per station on ``down/ack`` (accepted
   ids, duplicates included, and rejected ids with reasons), then PUBACK every message;
5. publish due ``downlink_outbox`` rows (new ones and re-sends with backoff, at most
   ``window`` unacked per station).

Killed anywhere, nothing is lost: un-PUBACKed messages are redelivered from the broker
session, an app ack that never went out makes the station re-send, and re-applying is a
no-op. Several ingest processes may run (``--shared``: a shared subscription); they
insert idempotently and at worst publish a down-message twice.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Connection, Engine

from cloud import ledger_store, purchasing, returns, stocktakes, transfers
from cloud.db import in_chunks, write_transaction
from cloud.db.schema import (
    dead_letters,
    downlink_outbox,
)
from cloud.errors import DatabaseError, InvalidMove, ReversalConflict
from cloud.orders import reservations, return_notices, waves
from cloud.orders import stations as stations_of_orders
from cloud.reports import profit
from cloud.sync.dead_letter import msg_id_of, unseen
from cloud.sync.directory import StationDirectory
from cloud.sync.downlink import make_all_due, publish_due
from cloud.sync.outbound import relay_moves
from cloud.sync.reports import (
    clean,
    record_conflict,
    record_handover,
    record_health,
    record_report,
)
from cloud.sync.resync import RESYNC_MARGIN, apply_resync
from edge.sync.schema import (
    TOPIC_ROOT,
    AckWire,
    BadMessage,
    Envelope,
    HandoverWire,
    HealthWire,
    MoveWire,
    Rejected,
    ResyncWire,
    ReturnWire,
    ShipmentWire,
    StocktakeWire,
    TransferDiffWire,
    WavePickWire,
    WavePutWire,
    decode,
    down_topic,
    encode,
    parse_topic,
)

log = logging.getLogger(__name__)

UP_FILTER = f"{TOPIC_ROOT}/st/+/up/#"
"""What the cloud subscribes to."""


class ReceivedMessage(Protocol):
    """A received MQTT message (``edge.sync.broker.Message`` satisfies it)."""

    @property
    def topic(self) -> str: ...
    @property
    def payload(self) -> bytes: ...


class Bus(Protocol):
    """The part of the MQTT client port ingest uses (``MqttBroker``/``FakeBroker`` fit)."""

    @property
    def connected(self) -> bool: ...
    def start(self) -> None: ...
    def disconnect(self) -> None: ...
    def subscribe(self, topic_filter: str, qos: int = 1) -> None: ...
    def publish(
        self, topic: str, payload: bytes, qos: int = 1,
        user_properties: tuple[tuple[str, str], ...] = (),
    ) -> Any: ...
    def receive(self, timeout: float) -> Any: ...
    def ack(self, message: Any) -> None: ...
    def add_connection_listener(self, listener: Callable[[Any], None]) -> None: ...


KEEP_REASONS = 20
"""Dead-letter reasons ``IngestCounters.reasons`` keeps for the status line (the table
``dead_letters`` has them all): enough to see a pattern, bounded for a process that runs
for months."""
ACK_IDS_PER_MESSAGE = 5000
"""Most ids (and most rejections) in one ``down/ack`` message: what ``AckWire`` takes
(``edge.sync.schema``); a larger batch is acked in several messages."""
STATION_ID_MAX = 64
"""Longest station id (``Envelope.station_id`` in ``edge.sync.schema``): a dead letter
from a longer "station" names no real station, so no ack can go back to it."""
DEAD_PAYLOAD_BYTES = 65536
"""Bytes of a dead letter's payload kept: enough to read what a rejected message was (one
move is well under 1 KB of JSON), while junk or an oversized message cannot bloat the
table."""


@dataclass(frozen=True)
class IngestSettings:
    """Batching and re-send timing."""

    max_batch: int = 1000
    """Most messages applied in one transaction."""
    tick: float = 0.05
    """Longest wait for the first message of a batch (seconds)."""
    linger: float = 0.002
    """After the first message, how long to wait for each next one before applying the
    batch: fewer, larger transactions while mosquitto hands out 20 at a time."""
    resend_after: float = 10.0
    """Seconds before an unacked down-message is re-sent (doubles each time)."""
    max_resend_after: float = 300.0
    """Longest wait between re-sends."""
    window: int = 10
    """Down-messages published and unacked per station at once (a relayed ``moves``
    message carries up to ``outbound.MOVES_PER_MESSAGE``, 500, moves, so a few in flight
    keep a station busy; more only overflow its broker queue while it is offline)."""
    publish_batch: int = 1000
    """Most down-messages published per turn."""
    downlink_poll: float = 0.2
    """Seconds between looks at ``downlink_outbox`` for rows other processes queued
    (rows this process queues, relays, are published on the next turn)."""
    puback_on_receipt: bool = False
    """PUBACK each message as soon as it is received instead of after the commit. Safe
    (stations re-send until the *application* ack, and applying twice is a no-op) and it
    lets mosquitto stream past its 20-message in-flight window, at the price of waiting
    for the station's re-send timer if ingest dies between receipt and commit."""
    station_cache_seconds: float = 5.0
    """How long the list of a warehouse's stations (relay targets) is reused."""
    shared_group: str | None = None
    """Subscribe as ``$share/{group}/…`` so several ingest processes split the load."""
    resync_margin: timedelta = RESYNC_MARGIN
    """How far before a restored station's restore point a resync looks (``cloud.sync.resync``)."""
    db_attempts: int = 5
    """Tries of a batch the database refuses (busy, restarting) before ingest exits; the
    broker session keeps the un-PUBACKed messages and systemd starts ingest again."""
    db_retry_pause: float = 0.2
    """Seconds before the n-th retry of such a batch, times n: 0.2 + 0.4 + 0.6 + 0.8 = 2 s
    in all with the defaults, on top of each try's own wait for the lock (SQLite's busy
    timeout, ``CloudSettings.sqlite_busy_timeout_ms``). Short on purpose: a database away
    for longer is left to the restart (``Restart=always`` in the ingest unit)."""


@dataclass
class IngestCounters:
    """What ingest did since it started."""

    messages: int = 0
    moves_new: int = 0
    moves_duplicate: int = 0
    dead_letters: int = 0
    relayed: int = 0
    resyncs: int = 0
    health_reports: int = 0
    down_published: int = 0
    down_acked: int = 0
    batches: int = 0
    reasons: list[str] = field(default_factory=list)
    """The last :data:`KEEP_REASONS` dead-letter reasons, oldest first."""


@dataclass
class _Batch:
    moves: list[tuple[str, MoveWire]] = field(default_factory=list)
    others: list[tuple[str, Envelope, BaseModel]] = field(default_factory=list)
    station_acks: list[tuple[str, AckWire]] = field(default_factory=list)
    dead: list[dict[str, Any]] = field(default_factory=list)
    accepted: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    rejected: dict[str, list[Rejected]] = field(default_factory=lambda: defaultdict(list))


class Ingest:
    """The cloud end of sync over one database and one MQTT client."""

    def __init__(
        self, engine: Engine, bus: Bus, settings: IngestSettings | None = None,
        *, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        """The cloud database (migrated)."""
        self.bus = bus
        """The MQTT client (user ``cloud``)."""
        self.settings = settings or IngestSettings()
        """Batching and re-send timing."""
        self.counters = IngestCounters()
        """Running totals."""
        self.stop_event = threading.Event()
        """Set to end :meth:`run`."""
        self.clock = clock
        """The ingest's one clock: every timestamp it writes and every "is it due"."""
        self._reconnected = threading.Event()
        self._next_poll = 0.0
        self._queued_here = False
        self.directory = StationDirectory(self.settings.station_cache_seconds)
        """Enrolled stations and each warehouse's stations, cached."""
        bus.add_connection_listener(self._on_connection)
        group = self.settings.shared_group
        bus.subscribe(f"$share/{group}/{UP_FILTER}" if group else UP_FILTER, qos=1)

    def _on_connection(self, state: Any) -> None:  # network thread
        if getattr(state, "connected", False):
            self._reconnected.set()

    # ------------------------------------------------------------------ loop
    def run(self, max_seconds: float | None = None) -> None:
        """Connect and loop until :attr:`stop_event` is set (or ``max_seconds`` pass)."""
        self.bus.start()
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        while not self.stop_event.is_set():
            if deadline is not None and time.monotonic() > deadline:
                break
            self.step()

    def step(self, timeout: float | None = None) -> int:
        """Receive and apply one batch, then publish due down-messages; returns batch size."""
        if self._reconnected.is_set():
            self._reconnected.clear()
            self.reconnected()
        msgs: list[Any] = []
        msg = self.bus.receive(self.settings.tick if timeout is None else timeout)
        while msg is not None:
            msgs.append(msg)
            if self.settings.puback_on_receipt:
                self.bus.ack(msg)
            if len(msgs) >= self.settings.max_batch:
                break
            msg = self.bus.receive(self.settings.linger)
        if msgs:
            self._handle_with_retry(msgs)
        if self._queued_here or time.monotonic() >= self._next_poll:
            published = self.pump_downlink()
            self._queued_here = False
            if published < self.settings.publish_batch:
                self._next_poll = time.monotonic() + self.settings.downlink_poll
        return len(msgs)

    def _handle_with_retry(self, msgs: Sequence[ReceivedMessage]) -> None:
        attempts = self.settings.db_attempts
        for attempt in range(1, attempts + 1):
            try:
                self.handle_batch(msgs)
                return
            except (DatabaseError, sa.exc.OperationalError) as err:  # database busy or away
                if attempt == attempts:
                    raise  # exit: un-PUBACKed messages come back from the session after restart
                log.warning("database trouble (%s); retrying the batch", err)
                time.sleep(self.settings.db_retry_pause * attempt)
            except Exception as err:  # a bug must not turn into a crash loop
                log.exception("batch failed; applying its messages one by one")
                self._isolate(msgs, err)
                return

    def _isolate(self, msgs: Sequence[ReceivedMessage], err: Exception) -> None:
        """Apply each message alone; one that still fails goes to the dead letters, so a
        message that trips a bug never blocks (or crash-loops) everything behind it."""
        for m in msgs:
            try:
                self.handle_batch([m])
            except (DatabaseError, sa.exc.OperationalError):
                raise
            except Exception as one:  # noqa: BLE001 - see _handle_with_retry
                now = self.clock()
                batch = _Batch()
                where = parse_topic(m.topic)
                self._dead(batch, m.topic, where[0] if where else None, msg_id_of(m.payload),
                           f"internal error: {type(one).__name__}: {one}"[:500], m.payload, now)
                with write_transaction(self.engine) as conn:
                    if rows := unseen(conn, batch.dead):
                        conn.execute(sa.insert(dead_letters), rows)
                self.counters.dead_letters -= len(batch.dead) - len(rows)
                self._send_acks(batch, now)  # the station stops re-sending it
                if not self.settings.puback_on_receipt:
                    self.bus.ack(m)

    # ------------------------------------------------------------------ uplink
    def handle_batch(self, messages: Sequence[ReceivedMessage]) -> None:
        """Apply a batch in one transaction, then ack it (app ack, then PUBACK)."""
        now = self.clock()
        batch = _Batch()
        for m in messages:
            self._classify(m, batch, now)
        with write_transaction(self.engine) as conn:
            self._apply(conn, batch, now)
        self._send_acks(batch, now)
        if not self.settings.puback_on_receipt:
            for m in messages:
                self.bus.ack(m)
        self.counters.messages += len(messages)
        self.counters.batches += 1

    def _classify(self, m: ReceivedMessage, batch: _Batch, now: datetime) -> None:
        try:
            station, env, payload = decode(m.topic, m.payload, "up")
        except BadMessage as err:
            where = parse_topic(m.topic)
            self._dead(batch, m.topic, where[0] if where else None, err.msg_id, err.reason,
                       m.payload, now)
            return
        if isinstance(payload, MoveWire):
            batch.moves.append((station, payload))
        elif isinstance(payload, AckWire):
            batch.station_acks.append((station, payload))
        else:
            batch.others.append((station, env, payload))

    def _dead(
        self, batch: _Batch, topic: str, station: str | None, msg_id: str | None,
        reason: str, raw: bytes, now: datetime,
    ) -> None:
        batch.dead.append({
            "received_at": now, "topic": clean(topic[:300]),
            "station_id": clean(station[:64]) if station else None, "msg_id": msg_id,
            "reason": clean(reason), "payload": clean(raw[:DEAD_PAYLOAD_BYTES].decode("utf-8", "replace")),
        })
        self.counters.dead_letters += 1
        self.counters.reasons = [*self.counters.reasons[-(KEEP_REASONS - 1):], reason]
        if station and msg_id and len(station) <= STATION_ID_MAX:  # a real station is told
            batch.rejected[station].append(Rejected(msg_id=msg_id, reason=reason[:500]))

    def _apply(self, conn: Connection, batch: _Batch, now: datetime) -> None:
        self._refuse_unenrolled(conn, batch, now)
        new_ids = self._insert_moves(conn, batch, now)
        self._relay(conn, batch, new_ids, now)
        for station, env, payload in batch.others:
            self._insert_other(conn, station, env, payload, now)
            batch.accepted[station].append(env.msg_id)
        # SHIP moves consume their orders' reservations in this same transaction.
        shipped = [(st, p.order_id) for st, _, p in batch.others if isinstance(p, ShipmentWire)]
        reservations.on_ingest(conn, new_ids, [oid for _, oid in shipped], now=now)
        # receipts against purchase orders: received counts and moving-average cost
        new_moves = list({w.move_id: w for _, w in batch.moves if w.move_id in new_ids}.values())
        purchasing.on_receipts(conn, new_moves, now=now)
        # SHIP moves keep the cost of goods at ship time (the profit report)
        profit.on_moves(conn, new_moves, now=now)
        # transfers: shipped / received counts, status, the counts sent to both warehouses
        transfers.on_moves(conn, new_moves, now=now)
        if shipped:  # a task moved off a station that shipped it meanwhile
            stations_of_orders.shipped_elsewhere(conn, shipped, now=now)
            # return requests that arrived before the shipment now reach the floor
            return_notices.on_shipments(conn, [oid for _, oid in shipped], now=now)
        for station, ack in batch.station_acks:
            self._down_acked(conn, station, ack, now)
        if batch.dead:
            rows = unseen(conn, batch.dead)
            self.counters.dead_letters -= len(batch.dead) - len(rows)  # re-sends: no new row
            if rows:
                conn.execute(sa.insert(dead_letters), rows)

    def _refuse_unenrolled(self, conn: Connection, batch: _Batch, now: datetime) -> None:
        """Dead-letter, with the reason, what an unknown or revoked station sends (only
        enrolment registers a station, see ``provisioning``) and moves a station records in
        a warehouse not its own (a station's broker account must not change another
        warehouse's stock). Acks pass: they only close the station's own down-messages."""
        self.directory.new_batch()
        keep: list[tuple[str, MoveWire]] = []
        for station, wire in batch.moves:
            why = self.directory.refusal(conn, station, wire.warehouse_id)
            if why is None:
                keep.append((station, wire))
                continue
            raw = Envelope(msg_id=wire.move_id, kind="move", station_id=station,
                           created_at=now, payload=wire.model_dump(mode="json"))
            self._dead(batch, f"{TOPIC_ROOT}/st/{station}/up/move", station, wire.move_id, why,
                       encode(raw), now)
        batch.moves = keep
        others: list[tuple[str, Envelope, BaseModel]] = []
        for station, env, payload in batch.others:
            why = self.directory.refusal(conn, station, None)
            if why is None:
                others.append((station, env, payload))
            else:
                self._dead(batch, f"{TOPIC_ROOT}/st/{station}/up/{env.kind}", station, env.msg_id,
                           why, encode(env), now)
        batch.others = others

    def _insert_moves(self, conn: Connection, batch: _Batch, now: datetime) -> set[str]:
        if not batch.moves:
            return set()
        try:
            with conn.begin_nested():
                new = set(ledger_store.insert_moves(
                    conn, [w.to_move() for _, w in batch.moves], received_at=now))
        except InvalidMove:
            new = set()  # find the bad ones: one savepoint each
            for station, wire in batch.moves:
                try:
                    with conn.begin_nested():
                        new.update(ledger_store.insert_moves(conn, [wire.to_move()], received_at=now))
                except InvalidMove as err:
                    raw = Envelope(msg_id=wire.move_id, kind="move", station_id=station,
                                   created_at=now, payload=wire.model_dump(mode="json"))
                    self._dead(batch, f"{TOPIC_ROOT}/st/{station}/up/move", station, wire.move_id,
                               f"invalid move: {err}", encode(raw), now)
                    if isinstance(err, ReversalConflict):
                        record_conflict(conn, station, wire, err, now)
        rejected = {r.msg_id for rs in batch.rejected.values() for r in rs}
        for station, wire in batch.moves:
            if wire.move_id not in rejected:
                batch.accepted[station].append(wire.move_id)
        self.counters.moves_new += len(new)
        self.counters.moves_duplicate += len(batch.moves) - len(new)
        return new

    def _relay(self, conn: Connection, batch: _Batch, new_ids: set[str], now: datetime) -> None:
        seen: dict[str, MoveWire] = {}
        for _, wire in batch.moves:
            if wire.move_id in new_ids:
                seen.setdefault(wire.move_id, wire)
        if seen:
            self.counters.relayed += relay_moves(
                conn, list(seen.values()), now=now, stations_of=lambda wh: self.directory.stations_of(conn, wh))
            self._queued_here = True

    def _insert_other(
        self, conn: Connection, station: str, env: Envelope, payload: BaseModel, now: datetime
    ) -> None:
        if isinstance(payload, ResyncWire):
            done = apply_resync(conn, station, env.msg_id, payload, now,
                                margin=self.settings.resync_margin)
            if done is not None:
                self.counters.resyncs += 1
                self._queued_here = True
                log.info("resync of restored station %s: %d own moves, %d down-messages re-sent, "
                         "%d shipped orders",
                         station, *done)
        elif isinstance(payload, HealthWire):
            record_health(conn, station, env, payload, now)
            self.counters.health_reports += 1
        elif isinstance(payload, HandoverWire):
            record_handover(conn, station, env, payload, now)
        elif isinstance(payload, StocktakeWire):
            stocktakes.record(conn, station, env, payload, now)
        elif isinstance(payload, TransferDiffWire):
            transfers.on_discrepancy(conn, station, env.msg_id, payload, now=now)
        elif isinstance(payload, ReturnWire):
            returns.record(conn, station, env.msg_id, payload, now=now)
        elif isinstance(payload, WavePickWire):
            waves.on_pick(conn, station, env.msg_id, payload, now=now)
        elif isinstance(payload, WavePutWire):
            waves.on_put(conn, station, payload)
        else:  # decode() only returns known kinds: an alert, a shipment, a sign-in, a print
            record_report(conn, station, env, payload, now)

    def _down_acked(self, conn: Connection, station: str, ack: AckWire, now: datetime) -> None:
        o = downlink_outbox.c
        where = (o.station_id == station, o.acked_at.is_(None))
        if ack.msg_ids:
            for chunk in in_chunks(ack.msg_ids):
                r = conn.execute(sa.update(downlink_outbox)
                                 .where(o.msg_id.in_(chunk), *where)
                                 .values(acked_at=now))
                self.counters.down_acked += r.rowcount
        for rej in ack.rejected:
            conn.execute(sa.update(downlink_outbox).where(o.msg_id == rej.msg_id, *where)
                         .values(acked_at=now, rejected_reason=rej.reason))
            log.warning("station %s refused %s: %s", station, rej.msg_id, rej.reason)

    def _send_acks(self, batch: _Batch, now: datetime) -> None:
        for station in sorted(set(batch.accepted) | set(batch.rejected)):
            ids, rej = batch.accepted.get(station, []), batch.rejected.get(station, [])
            for i in range(0, max(len(ids), len(rej)), ACK_IDS_PER_MESSAGE):
                end = i + ACK_IDS_PER_MESSAGE
                payload = AckWire(msg_ids=ids[i:end], rejected=rej[i:end])
                env = Envelope(msg_id=str(uuid.uuid4()), kind="ack", station_id=station,
                               created_at=now, payload=payload.model_dump(mode="json"))
                self.bus.publish(down_topic(station, "ack"), encode(env), qos=1)

    # ------------------------------------------------------------------ downlink
    def pump_downlink(self) -> int:
        """Publish due down-messages (at most ``window`` unacked per station)."""
        if not self.bus.connected:
            return 0
        s = self.settings
        published = publish_due(self.engine, self.bus, now=self.clock(), window=s.window,
                                limit=s.publish_batch, resend_after=s.resend_after,
                                max_resend_after=s.max_resend_after)
        self.counters.down_published += published
        return published

    def reconnected(self) -> None:
        """After a reconnect every unacked down-message is due again."""
        self._next_poll = 0.0
        make_all_due(self.engine, now=self.clock())


