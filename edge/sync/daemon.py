"""``packline-edge sync``: the station's sync daemon, a process of its own.

Why a separate process rather than a thread in the kiosk: the systemd units run
``packline-edge sync`` as its own service, so a kiosk crash (or a kiosk restart after an
update) never stops the backlog draining, and a sync problem never freezes the packer's
screen. Both processes open the same SQLite database in WAL mode and each writes only
through its own ``Writer`` (``BEGIN IMMEDIATE`` + busy timeout serialise them); the kiosk
reads the link state this daemon records (``edge.sync.status``).

The loop reads top to bottom (house style 18): wait briefly for down-messages and apply
them, flush app acks, publish due outbox rows, record the status — again. All state that
matters is in the database, so a SIGKILL at any point loses nothing: on restart the window
is rebuilt from unacked rows and the broker redelivers unacked down-messages.

On start, a database restored from backup queues its one ``resync`` request
(``edge.sync.resync``); every turn may publish a health report on ``up/health``
(``edge.sync.health``: backup state and backlog, on change and every minute).
"""

from __future__ import annotations

import logging
import signal
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import FrameType

import click

from edge.backup.replicator import read_health as read_backup_health
from edge.errors import SyncError
from edge.store import Store, open_store
from edge.sync.broker import Broker, ConnectionState, Message
from edge.sync.health import CHECK_EVERY, HEALTH_EVERY, HealthReporter
from edge.sync.inbox import Inbox
from edge.sync.outbox import Outbox, OutboxSettings
from edge.sync.resync import request_resync
from edge.sync.schema import TOPIC_ROOT

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DaemonSettings:
    """Loop timing."""

    tick: float = 0.05
    """Longest wait for a down-message before the outbox gets a turn (seconds)."""
    max_batch: int = 2000
    """Most down-messages handled before the outbox gets a turn."""
    status_every: float = 1.0
    """Seconds between checks of the link state; it is written when it changed (and on
    every connection change)."""
    heartbeat_every: float = 60.0
    """Seconds between heartbeats when nothing else changed. Each one is a database write,
    and every write is a backup upload: an idle station must stay idle (see ``STALE_AFTER``
    in ``edge.sync.status``, which must be comfortably longer)."""
    inbox_keep: timedelta = timedelta(days=30)
    """How long applied down-message ids are kept for deduplication: longer than the
    broker keeps a session (7 days asked, ``persistent_client_expiration`` 14 days) plus
    the cloud's longest re-send delay."""
    prune_every: float = 3600.0
    """Seconds between prunes of the inbox and the outbox."""
    outbox_keep: timedelta = timedelta(days=30)
    """How long rows the cloud acked stay in the station's outbox (to look into what was
    sent). The moves themselves stay in ``stock_moves`` for ever, and the cloud keeps
    what it acked; a row is deleted only once the backup holds it too."""
    prune_without_backup: bool = False
    """Also prune acked outbox rows on a station that has never been backed up (one run
    deliberately without backup); by default such a station keeps them."""
    outbox: OutboxSettings = field(default_factory=OutboxSettings)
    """Window and backoff of the outbox."""
    health_every: float | None = HEALTH_EVERY
    """Seconds between health reports on ``up/health`` when nothing changes (None: no
    reports, for tests that count every published message)."""
    health_check_every: float = CHECK_EVERY
    """Seconds between looks for a health change (reported at once)."""


def backed_up_until(db_path: str, now: datetime) -> datetime | None:
    """Every change committed before this time is in the backup (the backup runner's
    sidecar, ``edge.backup.replicator.read_health``); None when never backed up."""
    if db_path == ":memory:":
        return None
    health = read_backup_health(db_path, now.timestamp())
    if health is None or health.last_success_at is None:
        return None
    if health.lag_txids:
        return min(health.last_success_at, now - timedelta(seconds=health.lag_seconds))
    return health.last_success_at


class SyncDaemon:
    """Runs the station's sync loop over one ``Broker`` and one ``Store``."""

    def __init__(self, store: Store, broker: Broker, settings: DaemonSettings | None = None) -> None:
        self.store = store
        """The station database (its writer and a reader on the same connection)."""
        self.broker = broker
        """The MQTT client (or a FakeBroker)."""
        self.settings = settings or DaemonSettings()
        """Loop timing."""
        self.station_id = store.writer.station_id
        """This station."""
        self.outbox = Outbox(store.writer, store.queries, broker, settings=self.settings.outbox)
        """Station → cloud."""
        self.inbox = Inbox(store.writer, broker, self.outbox)
        """Cloud → station."""
        self.health = HealthReporter(
            self.station_id, store.path, store.queries,
            lambda topic, payload: broker.publish(topic, payload, qos=1),
            every=self.settings.health_every or HEALTH_EVERY, check_every=self.settings.health_check_every,
            clock=store.writer.clock)
        """Backup health and backlog for the cloud (``edge.sync.health``)."""
        self.resync_msg_id: str | None = None
        """The resync request queued by this start (a restored database), if any."""
        self.stop_event = threading.Event()
        """Set to end :meth:`run`."""
        self._events: list[ConnectionState] = []
        self._events_lock = threading.Lock()
        self._last_status = 0.0
        self._last_heartbeat = 0.0
        self._last_values: dict[str, str] = {}
        self._last_prune = 0.0
        self._online_since: datetime | None = None
        broker.add_connection_listener(self._on_connection)
        broker.subscribe(f"{TOPIC_ROOT}/st/{self.station_id}/down/#", qos=1)

    def _on_connection(self, state: ConnectionState) -> None:  # network thread
        with self._events_lock:
            self._events.append(state)

    def start(self) -> None:
        """Queue the resync a restored database owes (once, ``edge.sync.resync``), then
        begin connecting (in the background, with reconnects)."""
        self.resync_msg_id = request_resync(self.store.writer, self.store.queries)
        if self.resync_msg_id:
            log.info("restored database: resync %s queued for the cloud", self.resync_msg_id)
        self.broker.start()
        self.write_status(force=True)

    def run(self, max_seconds: float | None = None) -> None:
        """Run until :attr:`stop_event` is set (or ``max_seconds`` pass)."""
        self.start()
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        try:
            while not self.stop_event.is_set():
                if deadline is not None and time.monotonic() > deadline:
                    break
                self.step()
        finally:
            self.write_status(force=True, stopping=True)

    def step(self, timeout: float | None = None) -> int:
        """One turn of the loop; returns the number of messages handled."""
        self._connection_events()
        handled = 0
        msg = self.broker.receive(self.settings.tick if timeout is None else timeout)
        while msg is not None:
            self._handle(msg)
            handled += 1
            if handled >= self.settings.max_batch:
                break
            msg = self.broker.receive(0)
        self.inbox.flush_acks()
        self.outbox.pump()
        self._report_health()
        self.write_status()
        self._prune()
        return handled

    def _prune(self) -> None:
        now = time.monotonic()
        if self._last_prune and now - self._last_prune < self.settings.prune_every:
            return
        self._last_prune = now
        w = self.store.writer
        before = (w.clock() - self.settings.inbox_keep).isoformat()
        try:
            w.prune_inbox(before)
            wall = datetime.fromisoformat(w.now())
            held = backed_up_until(self.store.path, wall)
            if held is None and self.settings.prune_without_backup:
                held = wall
            w.prune_outbox(self.settings.outbox_keep, held)
        except sqlite3.OperationalError as err:  # busy: next time
            log.warning("could not prune the inbox or outbox: %s", err)

    def _report_health(self) -> None:
        if self.settings.health_every is None:
            return
        try:
            self.health.maybe_publish(self.broker.connected)
        except (SyncError, sqlite3.OperationalError) as err:  # next check tries again
            log.warning("could not send the health report: %s", err)

    def _handle(self, msg: Message) -> None:
        for attempt in range(5):
            try:
                self.inbox.handle(msg)
                return
            except sqlite3.OperationalError as err:  # database locked by the kiosk: retry
                log.warning("database busy applying %s (%s), retrying", msg.topic, err)
                time.sleep(0.2 * (attempt + 1))
        log.error("giving up on %s for now; the broker redelivers it after a reconnect", msg.topic)

    def _connection_events(self) -> None:
        with self._events_lock:
            events, self._events = self._events, []
        for state in events:
            if state.connected:
                self._online_since = self.store.writer.clock()
                self.outbox.reconnected()
            else:
                self._online_since = None
        if events:
            self.write_status(force=True, reason=events[-1].reason)

    def write_status(self, *, force: bool = False, stopping: bool = False, reason: str = "") -> None:
        """Record the link state for the kiosk (at most every ``status_every`` seconds)."""
        now = time.monotonic()
        if not force and now - self._last_status < self.settings.status_every:
            return
        self._last_status = now
        values = {
            "connected": "1" if self.broker.connected and not stopping else "0",
            "in_flight": str(self.outbox.in_flight),
            "daemon": "stopped" if stopping else "running",
        }
        if self.inbox.counters.last_ack_at is not None:
            values["last_ack_at"] = self.inbox.counters.last_ack_at.isoformat()
        error = self.outbox.counters.last_error or self.inbox.counters.last_error or reason
        if error:
            values["last_error"] = error[:300]
        if (not force and values == self._last_values
                and now - self._last_heartbeat < self.settings.heartbeat_every):
            return
        values["heartbeat_at"] = self.store.writer.now()
        try:
            self.store.writer.set_sync_state(values)
        except sqlite3.OperationalError as err:  # busy: the next turn writes it
            log.warning("could not record sync status: %s", err)
            return
        self._last_heartbeat = now
        self._last_values = {k: v for k, v in values.items() if k != "heartbeat_at"}


# ---------------------------------------------------------------------------- CLI
@click.command("sync")
@click.option("--host", envvar="PACKLINE_BROKER_HOST", required=True, help="Broker host.")
@click.option("--port", envvar="PACKLINE_BROKER_PORT", type=int, default=8883, show_default=True,
              help="Broker TLS port.")
@click.option("--station", envvar="PACKLINE_STATION_ID", default=None,
              help="Station id (default: the station_id setting in the database).")
@click.option("--username", envvar="PACKLINE_BROKER_USERNAME", default=None, help="Broker user.")
@click.option("--password", envvar="PACKLINE_BROKER_PASSWORD", default=None, help="Broker password.")
@click.option("--ca-file", envvar="PACKLINE_BROKER_CA", default=None,
              help="CA certificate of the broker (plain TCP when omitted).")
@click.option("--client-cert", envvar="PACKLINE_BROKER_CLIENT_CERT", default=None,
              help="Client certificate (mTLS).")
@click.option("--client-key", envvar="PACKLINE_BROKER_CLIENT_KEY", default=None,
              help="Client key (mTLS).")
@click.option("--window", type=int, default=500, show_default=True,
              help="Messages published and awaiting the cloud's ack at once.")
@click.option("--resend-after", type=float, default=10.0, show_default=True,
              help="Seconds before an unacked message is re-sent (doubles each time).")
@click.option("--max-seconds", type=float, default=None, hidden=True)
@click.pass_context
def sync_command(
    ctx: click.Context, host: str, port: int, station: str | None, username: str | None,
    password: str | None, ca_file: str | None, client_cert: str | None,
    client_key: str | None, window: int, resend_after: float, max_seconds: float | None,
) -> None:
    """同步守护进程 / sync daemon: send the outbox to the cloud, apply what it sends."""
    from edge.sync.broker import MqttBroker, MqttSettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    obj = ctx.obj or {}
    store = open_store(obj["db_path"], station_id=station)
    station_id = store.writer.station_id
    broker = MqttBroker(MqttSettings(
        host=host, port=port, client_id=station_id, username=username or station_id,
        password=password, ca_file=ca_file, client_cert=client_cert, client_key=client_key,
    ))
    daemon = SyncDaemon(store, broker, DaemonSettings(
        outbox=OutboxSettings(window=window, resend_after=resend_after)))

    def _stop(signum: int, frame: FrameType | None) -> None:
        daemon.stop_event.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    click.echo(f"同步已启动 / sync started: station {station_id} → {host}:{port}", err=True)
    try:
        daemon.run(max_seconds=max_seconds)
    finally:
        broker.disconnect()
        store.close()
