"""A label printed (and reprinted) at a station reaches the cloud through the real broker:
the order page's print history lists both, and the station's outbox rows are acked."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud.web import queries
from edge.store.packing import PackingWriter
from tests.fixtures.mosquitto import MosquittoFactory
from tests.sync.harness import make_cloud
from tests.sync.helpers import wait_until
from tests.sync.test_faults import running_daemon, running_ingest
from tests.sync.test_faults import stations as make_stations

pytestmark = [pytest.mark.broker, pytest.mark.slow, pytest.mark.timeout(120)]


def test_a_station_print_shows_as_printed_in_the_cloud(
    mosquitto_factory: MosquittoFactory, tmp_path: Path,
) -> None:
    broker = mosquitto_factory(stations=("st-01",), cert_stations=())
    engine = make_cloud(tmp_path / "cloud.db", ("st-01",))
    (store,), syncers = make_stations(tmp_path, ("st-01",))
    packing = PackingWriter(store.writer)
    packing.record_print("O-9", "label", operator_id="P01")
    packing.record_print("O-9", "label", operator_id="P02", reprint_reason="卡纸")

    def history() -> list[tuple[int, str, str, str | None]]:
        with engine.connect() as conn:
            return [(p.n, p.operator_id, p.station_id, p.reason)
                    for p in queries.label_prints(conn, "O-9")]

    with running_ingest(broker, engine), running_daemon(broker, syncers[0]):
        wait_until(lambda: len(history()) == 2, 30, what="both prints in the cloud")
        wait_until(lambda: not [r for r in store.queries.outbox_pending(50) if r.kind == "print"],
                   30, what="the print messages acked")
    assert history() == [(1, "P01", "st-01", None), (2, "P02", "st-01", "卡纸")]
