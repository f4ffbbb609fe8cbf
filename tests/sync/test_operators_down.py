"""Kiosk operators managed in the cloud reach the stations (#13 item 2): the station keeps the
newest version, takes a badge the cloud moved, and a deactivated operator can no longer sign
in. End to end through the real broker; a station enrolled later gets every operator."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from cloud import operators
from cloud.db import write_transaction
from cloud.db.schema import downlink_outbox
from cloud.station_registry import register_station
from edge.domain.auth import hash_pin, verify_pin
from edge.store import Store
from edge.sync.inbox import apply_operators
from edge.sync.schema import OperatorsWire, OperatorWire
from tests.fixtures.mosquitto import MosquittoFactory
from tests.sync.harness import make_cloud, make_station
from tests.sync.helpers import wait_until
from tests.sync.test_faults import STATIONS, running_daemon, running_ingest
from tests.sync.test_faults import stations as two_stations

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


def _op(store: Store, op_id: str) -> tuple[str, str, str | None, int, int | None] | None:
    row = store.writer.db.execute(
        "SELECT name, role, badge, active, cloud_version FROM operators WHERE operator_id = ?",
        [op_id]).fetchone()
    return tuple(row) if row else None  # type: ignore[return-value]


def test_a_station_keeps_the_newest_operator_and_takes_moved_badges(tmp_path: Path) -> None:
    store = make_station(tmp_path / "st.db", "st-01")
    store.writer.upsert_operator("LOCAL", "本地员工", "packer", badge="B-9")

    def send(op_id: str, version: int, name: str, badge: str | None, active: bool = True) -> None:
        apply_operators(store.writer, OperatorsWire(operators=[OperatorWire(
            operator_id=op_id, name=name, role="packer", badge=badge, active=active,
            version=version)]))

    send("P1", 2, "二版", "B-1")
    send("P1", 1, "一版 (迟到)", "B-X")
    assert _op(store, "P1") == ("二版", "packer", "B-1", 1, 2)
    send("P2", 1, "新人", "B-9")  # the cloud gave B-9 to P2: the local holder loses it
    assert _op(store, "P2") == ("新人", "packer", "B-9", 1, 1)
    assert _op(store, "LOCAL") == ("本地员工", "packer", None, 1, None)
    send("P1", 3, "二版", "B-1", active=False)
    assert store.queries.operator_by_badge("B-1") is None


@pytest.mark.broker
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_an_operator_added_in_the_cloud_signs_in_at_both_stations(
    mosquitto_factory: MosquittoFactory, tmp_path: Path,
) -> None:
    broker = mosquitto_factory(stations=STATIONS, cert_stations=())
    engine = make_cloud(tmp_path / "cloud.db", STATIONS)
    (one, two), syncers = two_stations(tmp_path)
    with write_transaction(engine) as conn:
        operators.save(conn, operators.OperatorForm("P07", "王小二", "packer", "B-0007", "2468",
                                                    True), existing=None, actor="boss", now=NOW)
    with running_ingest(broker, engine), running_daemon(broker, syncers[0]), \
            running_daemon(broker, syncers[1]):
        wait_until(lambda: all(s.queries.operator_by_badge("B-0007") is not None
                               for s in (one, two)), 30, what="P07 at both stations")
        for store in (one, two):
            row = store.queries.operator_by_badge("B-0007")
            assert row is not None and row["operator_id"] == "P07"
            assert verify_pin(row["pin_hash"], "2468") and not verify_pin(row["pin_hash"], "1357")
        with write_transaction(engine) as conn:
            operators.save(conn, operators.OperatorForm("P07", "王小二", "packer", "B-0007", "",
                                                        False), existing="P07", actor="boss",
                           now=NOW)
        wait_until(lambda: all(s.queries.operator_by_badge("B-0007") is None
                               for s in (one, two)), 30, what="P07 deactivated at both stations")
    assert _op(one, "P07") == ("王小二", "packer", "B-0007", 0, 2)


def test_a_station_enrolled_later_gets_every_operator(tmp_path: Path) -> None:
    engine = make_cloud(tmp_path / "cloud.db", ("st-01",))
    with write_transaction(engine) as conn:
        for op_id, pin in (("P01", "1111"), ("P02", "2222")):
            operators.save(conn, operators.OperatorForm(op_id, op_id, "packer", "", pin, True),
                           existing=None, actor="boss", now=NOW)
        register_station(conn, "st-02", "WH1", now=NOW)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(downlink_outbox.c.payload).where(
            downlink_outbox.c.station_id == "st-02")).scalars().all()
    assert [[o["operator_id"] for o in p["operators"]] for p in rows] == [["P01", "P02"]]
    assert hash_pin("1111") != rows[0]["operators"][0]["pin_hash"]  # salted, never the PIN
    assert verify_pin(rows[0]["operators"][0]["pin_hash"], "1111")
