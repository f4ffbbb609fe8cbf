"""调拨 at the kiosks end to end through the real Mosquitto broker: a transfer written and
sent in the cloud (CUP-350 × 50, WH1 → WH2) reaches st-01 (WH1) and st-02 (WH2); st-01
ships all 50 the way its 调拨出库 screen does (``Writer.ship_transfer_counts``), st-02
counts 47 and confirms with a reason the way 调拨入库 does (``receive_transfer_counts``):
47 TRANSFER_IN and one discrepancy (50 in transit, 47 counted). The cloud shows the
transfer received, 3 recorded missing, nothing in transit, the discrepancy once, and the
ledger balances (−50 at WH1's A-01-01, +47 at WH2's Y-01-01) — also after every message of
st-02 is delivered again."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from cloud import transfers
from cloud.db import write_transaction
from cloud.db.schema import skus, stations, stock_balances
from cloud.db.schema_transfers import transfer_discrepancies, transfer_lines
from cloud.db.schema_transfers import transfers as transfers_table
from cloud.sync.ingest import Ingest, IngestSettings
from edge.domain.models import MoveReason
from edge.store import Store
from edge.sync.schema import up_topic
from tests.fixtures.mosquitto import MosquittoFactory
from tests.sync.harness import make_cloud
from tests.sync.helpers import envelope, wait_until
from tests.sync.test_faults import running_daemon, running_ingest
from tests.sync.test_faults import stations as make_stations
from tests.sync.test_ingest import Msg, RecordingBus

pytestmark = [pytest.mark.broker, pytest.mark.slow, pytest.mark.timeout(120)]

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
"""The cloud's clock."""
STATIONS = ("st-01", "st-02")
"""st-01 is a station of WH1 (the source), st-02 of WH2 (the destination)."""
REASON = "途中破损 / Damaged in transit"
"""The lead's reason for the short receipt (the kiosk's ReasonDialog text)."""

State = tuple[str, tuple[int, int, int], dict[tuple[str, str], int]]


def _station_status(store: Store, transfer_id: str) -> str | None:
    row = store.writer.db.execute("SELECT status FROM transfers WHERE transfer_id = ?",
                                  [transfer_id]).fetchone()
    return None if row is None else str(row[0])


def test_shipped_at_a_received_short_at_b_once_even_when_replayed(
    mosquitto_factory: MosquittoFactory, tmp_path: Path,
) -> None:
    broker = mosquitto_factory(stations=STATIONS, cert_stations=())
    engine = make_cloud(tmp_path / "cloud.db", ("st-01",))
    with write_transaction(engine) as conn:
        conn.execute(sa.insert(stations).values(id="st-02", warehouse_id="WH2", name="st-02",
                                                status="active", created_at=NOW))
        conn.execute(sa.insert(skus), [{"sku": "CUP-350", "name_zh": "保温杯 350ml"}])
        tid = transfers.create(conn, from_warehouse="WH1", to_warehouse="WH2",
                               lines="CUP-350 50", note="补义乌仓", actor="lead", now=NOW)
        assert transfers.send(conn, tid, actor="lead", now=NOW) == 2
    (src, dst), syncers = make_stations(tmp_path, STATIONS)

    def cloud_state() -> State:
        with engine.connect() as conn:
            status = conn.execute(sa.select(transfers_table.c.status)).scalar_one()
            line = conn.execute(sa.select(transfer_lines.c.qty_shipped,
                                          transfer_lines.c.qty_received,
                                          transfer_lines.c.qty_missing)).one()
            return status, (line[0], line[1], line[2]), transfers.in_transit(conn)

    with running_ingest(broker, engine), running_daemon(broker, syncers[0]), \
            running_daemon(broker, syncers[1]):
        wait_until(lambda: _station_status(src, tid) == "open"
                   and _station_status(dst, tid) == "open", 30, what="the transfer at both")
        shipped = src.writer.ship_transfer_counts(tid, {1: 50}, location="A-01-01",
                                                  operator_id="L01")
        assert [(m.qty_delta, m.reason) for m in shipped] == [(-50, MoveReason.TRANSFER_OUT)]
        wait_until(lambda: cloud_state() == ("shipped", (50, 0, 0), {("WH2", "CUP-350"): 50}),
                   30, what="50 in transit in the cloud")
        wait_until(lambda: dst.queries.transfer_lines(tid)[0]["in_transit"] == 50, 30,
                   what="st-02 told that 50 shipped")
        moves, diffs = dst.writer.receive_transfer_counts(
            tid, {1: 47}, location="Y-01-01", operator_id="L02", reason=REASON)
        assert [(m.qty_delta, m.reason) for m in moves] == [(47, MoveReason.TRANSFER_IN)]
        assert [(d.expected, d.counted) for d in diffs] == [(50, 47)]
        wait_until(lambda: cloud_state() == ("received", (50, 47, 3), {}), 30,
                   what="received with 3 missing")
        wait_until(lambda: _station_status(dst, tid) == "closed"
                   and _station_status(src, tid) == "closed", 30, what="closed at both")

    def discrepancies() -> list[tuple[object, ...]]:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.select(
                transfer_discrepancies.c.station_id, transfer_discrepancies.c.transfer_id,
                transfer_discrepancies.c.line_no, transfer_discrepancies.c.sku,
                transfer_discrepancies.c.expected, transfer_discrepancies.c.counted,
                transfer_discrepancies.c.reason, transfer_discrepancies.c.operator_id))]

    def balances() -> dict[tuple[str, str], int]:
        with engine.connect() as conn:
            return {(r.warehouse_id, r.location): r.qty for r in conn.execute(
                sa.select(stock_balances).where(stock_balances.c.sku == "CUP-350"))}

    expected_diffs = [("st-02", tid, 1, "CUP-350", 50, 47, REASON, "L02")]
    assert discrepancies() == expected_diffs
    assert balances() == {("WH1", "A-01-01"): -50, ("WH2", "Y-01-01"): 47}
    # replay: every message st-02 ever sent, delivered again
    sent = dst.writer.db.execute("SELECT msg_id, kind, payload FROM outbox "
                                 "WHERE kind IN ('move', 'transfer_diff') ORDER BY seq").fetchall()
    assert [k for _, k, _ in sent] == ["move", "transfer_diff"]
    batch = [Msg(up_topic("st-02", kind), envelope(kind, "st-02", json.loads(payload), msg_id))
             for msg_id, kind, payload in sent]
    ingest = Ingest(engine, RecordingBus(), IngestSettings(), clock=lambda: NOW)
    ingest.handle_batch(batch)
    ingest.handle_batch(batch[::-1])
    assert cloud_state() == ("received", (50, 47, 3), {})
    assert discrepancies() == expected_diffs
    assert balances() == {("WH1", "A-01-01"): -50, ("WH2", "Y-01-01"): 47}
    assert src.queries.balance("CUP-350", "A-01-01") == -50
    assert dst.queries.balance("CUP-350", "Y-01-01") == 47
