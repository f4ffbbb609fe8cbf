"""Station → cloud: publish every outbox row until the cloud's application ack arrives.

The SQLite ``outbox`` table is the only durable record (docs/specs/edge-devices-sync-backup.md §4.3: paho's queue is RAM
only and message ids restart with every client). This module keeps a bounded *window* of
rows published and not yet acked; a row leaves the window only when the cloud's ``ack``
for its ``msg_id`` arrives on ``…/down/ack`` — a broker PUBACK proves nothing, mosquitto
drops silently past ``max_queued_messages`` (§4.7). Unacked rows are re-sent with
exponential backoff, at once after a reconnect, and from the start after a restart
(the window is rebuilt from the table). The cloud applies each ``msg_id`` once, so
re-sending is always safe.

The window also bounds what the broker must queue for the cloud. It is a congestion
window, TCP-style: it grows by one row per ack (up to ``window``) and halves when rows
time out without an ack — the only sign of mosquitto dropping past
``max_queued_messages`` — so a backlog drains at the pace the cloud applies it instead of
overflowing the broker's queue again and again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from edge.errors import SyncError
from edge.store.queries import OutboxRow, Queries
from edge.store.writer import Writer
from edge.sync.broker import Broker
from edge.sync.schema import AckWire, Envelope, encode, up_topic

log = logging.getLogger(__name__)

Monotonic = Callable[[], float]


@dataclass(frozen=True)
class OutboxSettings:
    """How hard the outbox pushes."""

    window: int = 500
    """Rows published and awaiting the cloud's ack at once."""
    resend_after: float = 10.0
    """Seconds without an ack before the first re-send of a row."""
    max_resend_after: float = 300.0
    """Longest wait between re-sends (the backoff doubles up to this)."""
    publish_batch: int = 500
    """Most rows published in one ``pump`` (re-sends included)."""
    initial_window: int = 100
    """Congestion window to start with (grows by one per ack, up to ``window``)."""
    min_window: int = 10
    """The congestion window never shrinks below this."""


@dataclass
class _InFlight:
    row: OutboxRow
    sends: int = 0
    next_at: float = 0.0


@dataclass
class OutboxCounters:
    """What the outbox did since it started (for status and tests)."""

    published: int = 0
    """Publishes, re-sends included."""
    resent: int = 0
    """Re-sends of a row already published by this process."""
    acked: int = 0
    """Rows newly acked by the cloud."""
    rejected: int = 0
    """Rows the cloud refused for good."""
    refused_by_broker: int = 0
    """Publishes the broker answered with a failure (e.g. not authorized)."""
    last_error: str = ""
    """The last publish problem, one line."""
    rejected_ids: list[str] = field(default_factory=list)
    """Ids of refused rows (most recent last, bounded)."""


class Outbox:
    """Publishes outbox rows of one station; call :meth:`pump` from the sync loop."""

    def __init__(
        self,
        writer: Writer,
        queries: Queries,
        broker: Broker,
        *,
        settings: OutboxSettings | None = None,
        monotonic: Monotonic = time.monotonic,
    ) -> None:
        self.writer = writer
        """Marks rows sent and acked."""
        self.queries = queries
        """Reads pending rows (a connection of the sync thread)."""
        self.broker = broker
        """Where rows are published."""
        self.settings = settings or OutboxSettings()
        """Window and backoff."""
        self.station_id = writer.station_id
        """Sender stamped on every envelope."""
        self.counters = OutboxCounters()
        """Running totals."""
        self._monotonic = monotonic
        self._window: dict[str, _InFlight] = {}
        self._cursor = 0
        self.cwnd = float(min(self.settings.window, self.settings.initial_window))
        """Congestion window: rows sent and awaiting an ack at most."""
        self._no_cut_until = 0.0
        self._reconnected = False

    @property
    def in_flight(self) -> int:
        """Rows published and not yet acked."""
        return len(self._window)

    def reconnected(self) -> None:
        """The link came back: everything in the window is due again now (not a loss)."""
        for item in self._window.values():
            item.next_at = 0.0
        self._reconnected = True

    def pump(self) -> int:
        """Publish due re-sends and new rows up to the window; returns publishes made.

        Does nothing while disconnected: paho would only pile them up in RAM, and the
        table already holds them.
        """
        if not self.broker.connected:
            return 0
        now = self._monotonic()
        outstanding = timed_out = 0
        for item in self._window.values():
            if item.sends:
                if item.next_at > now:
                    outstanding += 1
                else:
                    timed_out += 1
        if timed_out and not self._reconnected and now >= self._no_cut_until:
            self.cwnd = max(float(self.settings.min_window), self.cwnd / 2)
            self._no_cut_until = now + self.settings.resend_after  # one cut per time-out period
        self._reconnected = False
        budget = min(self.settings.publish_batch, int(self.cwnd) - outstanding)
        if budget <= 0:
            return 0
        due = [item for item in self._window.values() if item.next_at <= now][:budget]
        free = self.settings.window - len(self._window)
        fresh: list[OutboxRow] = []
        if free > 0 and len(due) < budget:
            fresh = self.queries.outbox_pending(min(free, budget - len(due)), after_seq=self._cursor)
        for row in fresh:
            self._cursor = max(self._cursor, row.seq)
            if row.msg_id not in self._window:
                self._window[row.msg_id] = _InFlight(row)
                due.append(self._window[row.msg_id])
        sent: list[str] = []
        for item in due:
            try:
                self._publish(item.row)
            except SyncError as err:  # paho's RAM queue is full or the socket just died
                self.counters.last_error = str(err)
                break
            if item.sends:
                self.counters.resent += 1
            item.sends += 1
            backoff = self.settings.resend_after * 2 ** (item.sends - 1)
            item.next_at = now + min(backoff, self.settings.max_resend_after)
            sent.append(item.row.msg_id)
        if sent:
            self.writer.mark_sent(sent)
            self.counters.published += len(sent)
        return len(sent)

    def _publish(self, row: OutboxRow) -> None:
        env = Envelope(
            msg_id=row.msg_id, kind=row.kind, station_id=self.station_id,
            created_at=row.created_at, payload=row.payload,
        )
        # msg_id travels in the envelope only: an MQTT v5 user property would cost paho a
        # Properties object per publish (a tenth of the daemon's CPU) and tell nobody more.
        delivery = self.broker.publish(up_topic(self.station_id, row.kind), encode(env), qos=1)
        if delivery.done and delivery.ok is False:
            self.counters.refused_by_broker += 1
            self.counters.last_error = f"broker refused {row.kind}: {delivery.reason}"

    def acked(self, ack: AckWire) -> int:
        """Apply the cloud's ack: the rows are done (refused ones too, with an alert)."""
        done = list(ack.msg_ids) + [r.msg_id for r in ack.rejected]
        for msg_id in done:
            if self._window.pop(msg_id, None) is not None:
                self.cwnd = min(float(self.settings.window), self.cwnd + 1)
        newly = self.writer.mark_acked(done) if done else 0
        self.counters.acked += len(ack.msg_ids)
        for rej in ack.rejected:
            self.counters.rejected += 1
            self.counters.rejected_ids = [*self.counters.rejected_ids[-99:], rej.msg_id]
            log.warning("cloud refused %s: %s", rej.msg_id, rej.reason)
            kind = self.writer.db.execute(
                "SELECT kind FROM outbox WHERE msg_id = ?", [rej.msg_id]
            ).fetchone()
            if kind is not None and kind[0] != "alert":  # never loop on a refused alert
                self.writer.alert("sync_rejected", rej.msg_id, {"reason": rej.reason, "kind": kind[0]})
        return newly
