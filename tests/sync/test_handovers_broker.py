"""A handover batch closed at a station reaches the cloud through the real broker and lands
once, even when the station sends it again (its ack lost): the /handovers list and the
order page's handover read it, and the station's outbox row is acked."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud.web import handovers
from edge.store import Store
from edge.store.handover import HandoverWriter, Outcome
from tests.fixtures.mosquitto import MosquittoFactory
from tests.sync.harness import make_cloud
from tests.sync.helpers import wait_until
from tests.sync.test_faults import running_daemon, running_ingest
from tests.sync.test_faults import stations as make_stations

pytestmark = [pytest.mark.broker, pytest.mark.slow, pytest.mark.timeout(120)]


def _ship(store: Store, order_id: str, waybill: str, carrier: str) -> None:
    """An order this station shipped (now, by P01) with ``carrier``'s ``waybill``."""
    w = store.writer
    with w.transaction() as db:
        now = w.now()
        db.execute(
            """INSERT INTO orders (order_id, platform, platform_order_no, status, waybill_no,
                   carrier, ordered_at, updated_at, shipped_at, shipped_by)
               VALUES (?, 'pdd', ?, 'shipped', ?, ?, ?, ?, ?, 'P01')""",
            [order_id, f"PDD-{order_id}", waybill, carrier, now, now, now])


def test_a_closed_batch_lands_once_in_the_cloud_even_when_replayed(
    mosquitto_factory: MosquittoFactory, tmp_path: Path,
) -> None:
    broker = mosquitto_factory(stations=("st-01",), cert_stations=())
    engine = make_cloud(tmp_path / "cloud.db", ("st-01",))
    (store,), syncers = make_stations(tmp_path, ("st-01",))
    _ship(store, "O-7", "SF7001", "SF")
    _ship(store, "O-8", "SF7002", "SF")
    _ship(store, "O-9", "SF7003", "SF")
    writer = HandoverWriter(store.writer)
    assert writer.scan("SF", "SF7001", operator_id="P01").outcome is Outcome.ADDED
    assert writer.scan("SF", "SF7002", operator_id="P02").outcome is Outcome.ADDED
    closed = writer.close("SF", operator_id="P02")

    def listed() -> list[tuple[str, str, str, str, int, int]]:
        with engine.connect() as conn:
            return [(h.batch_id, h.station_id, h.carrier, h.operator_id, h.parcels,
                     h.not_handed_over) for h in handovers.handover_rows(conn)]

    def acked() -> bool:
        return not [r for r in store.queries.outbox_pending(50) if r.kind == "handover"]

    with running_ingest(broker, engine) as ingest:
        with running_daemon(broker, syncers[0]):
            wait_until(lambda: len(listed()) == 1, 30, what="the batch in the cloud")
            wait_until(acked, 30, what="the handover message acked")
        seen = ingest.counters.messages
        # the ack never made it (the station restarted first): the station sends it again
        with store.writer.transaction() as db:
            db.execute("UPDATE outbox SET acked_at = NULL, last_sent_at = NULL WHERE msg_id = ?",
                       [closed.msg_id])
        assert not acked()
        with running_daemon(broker, syncers[0]):
            wait_until(acked, 30, what="the replayed message acked again")
        assert ingest.counters.messages > seen
    assert listed() == [("st-01-HO00001", "st-01", "SF", "P02", 2, 1)]
    with engine.connect() as conn:
        got = [(h.waybill_no, h.batch_id, h.carrier, h.station_id, h.operator_id)
               for h in handovers.order_handovers(conn, "O-8")]
        assert handovers.order_handovers(conn, "O-9") == []  # shipped, not handed over
    assert got == [("SF7002", "st-01-HO00001", "SF", "st-01", "P02")]
