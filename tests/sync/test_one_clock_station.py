"""The station's sync daemon, inbox and health reports take every timestamp, and the inbox
prune its cut-off, from the store's clock; the cloud's ingest (moves, relay, downlink,
acks, health) from its own. With the wall clock moved years away, nothing either writes
shows the wall clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
import time_machine

from cloud.db.schema import downlink_outbox, station_health, stock_moves
from cloud.sync.ingest import Ingest, IngestSettings
from cloud.sync.outbound import send_task
from edge.domain.models import NegativeStockPolicy
from edge.store import open_store
from edge.sync.daemon import DaemonSettings, SyncDaemon
from edge.sync.fake_broker import FakeBrokerServer, packline_acl
from edge.sync.schema import TaskLineWire, TaskWire
from tests.fixtures.edge_store import seed_small_catalog
from tests.sync.harness import make_cloud, record_moves
from tests.sync.helpers import wait_until

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
"""The injected clock of the station (and of the cloud's ingest)."""
WALL = datetime(2031, 6, 1, tzinfo=UTC)
"""Where the wall clock is moved: five years after T0, far beyond the 30-day inbox keep."""


def test_daemon_inbox_and_health_use_the_store_clock_not_the_wall_clock(tmp_path: Path) -> None:
    with time_machine.travel(WALL, tick=True):
        server = FakeBrokerServer(acl=packline_acl())
        engine = make_cloud(tmp_path / "cloud.db", ("st-01",))
        ingest = Ingest(engine, server.client("cloud-ingest", username="cloud"),
                        IngestSettings(tick=0), clock=lambda: T0)
        ingest.bus.start()
        store = open_store(tmp_path / "st-01.db", station_id="st-01", clock=lambda: T0)
        seed_small_catalog(store, NegativeStockPolicy.ALLOW_WITH_ALERT)
        broker = server.client("st-01", username="st-01")
        published: list[tuple[str, bytes]] = []
        real_publish = broker.publish

        def spy(topic: str, payload: bytes, qos: int = 1) -> object:
            published.append((topic, payload))
            return real_publish(topic, payload, qos=qos)

        broker.publish = spy  # type: ignore[method-assign]
        daemon = SyncDaemon(store, broker, DaemonSettings(tick=0, health_every=60.0,
                                                           health_check_every=0.0))
        daemon.start()
        record_moves(store, 2)
        task = TaskWire(order_id="O-1", platform="pdd", platform_order_no="P-1",
                        waybill_no="ZT1", carrier="ZTO",
                        lines=[TaskLineWire(line_no=1, sku="CUP-350", qty=1)],
                        ordered_at=T0, print_data={"tpl": "zto"})
        with engine.begin() as conn:
            send_task(conn, "st-01", task, now=T0)

        def turn() -> None:
            daemon.step(0)
            ingest.step(0)
            daemon.step(0)

        wait_until(lambda: store.queries.outbox_stats().pending == 0
                   and daemon.inbox.counters.applied == 1, 10, turn, "both directions")
        daemon._last_prune = 0.0  # prune on the next turn: the cut-off is T0 − 30 days
        daemon.write_status(force=True)
        daemon.step(0)
        ingest.step(0)  # takes the station's ack of the task

    state = store.queries.sync_state()
    assert state["heartbeat_at"] == "2026-11-23T09:00:00+00:00"
    assert state["last_ack_at"] == "2026-11-23T09:00:00+00:00"
    assert daemon.inbox.counters.last_ack_at == T0
    # the applied task is still remembered: the prune cut-off followed the store's clock
    assert store.writer.db.execute("SELECT COUNT(*) FROM inbox").fetchone() == (1,)
    kinds = {t.rsplit("/", 1)[1] for t, _ in published}
    assert {"health", "ack", "move"} <= kinds, kinds
    for topic, payload in published:
        env = json.loads(payload)
        assert env["created_at"].startswith("2026-11-23T09:00:00"), (topic, env["created_at"])
    health = [json.loads(p)["payload"] for t, p in published if t.endswith("/health")]
    assert all(h["backup_configured"] is False for h in health)
    with engine.connect() as conn:
        cloud = {
            "stock_moves.received_at": conn.execute(sa.select(stock_moves.c.received_at)
                                                    ).scalars().all(),
            "station_health.received_at": conn.execute(sa.select(station_health.c.received_at)
                                                       ).scalars().all(),
            "downlink_outbox": [v for row in conn.execute(sa.select(
                downlink_outbox.c.next_attempt_at, downlink_outbox.c.last_sent_at,
                downlink_outbox.c.acked_at)) for v in row],
        }
    assert len(cloud["stock_moves.received_at"]) == 2 and cloud["station_health.received_at"]
    assert None not in cloud["downlink_outbox"]  # sent and acked
    assert {k: [v for v in vs if v != T0] for k, vs in cloud.items()} == {
        "stock_moves.received_at": [], "station_health.received_at": [],
        "downlink_outbox": [T0 + timedelta(seconds=10)]}  # next attempt: T0 + resend_after
