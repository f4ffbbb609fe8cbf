"""A short transfer receipt reaching ingest on both cloud engines: the TRANSFER_OUT and
TRANSFER_IN moves and the ``transfer_diff`` message are applied once by their ids — the
same batch delivered again, or in another order, changes nothing — and the transfer is
received with the shortfall missing and nothing in transit."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud import transfers
from cloud.db.schema import skus, stations, stock_balances, warehouses
from cloud.db.schema_transfers import transfer_discrepancies, transfer_lines
from cloud.db.schema_transfers import transfers as transfers_table
from cloud.sync.ingest import Ingest, IngestSettings
from edge.domain.models import MoveReason
from edge.sync.schema import MoveWire, TransferDiffWire, up_topic
from tests.sync.helpers import envelope
from tests.sync.test_ingest import Msg, RecordingBus

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
"""The cloud's clock."""
AT = datetime(2026, 12, 4, 8, 30, tzinfo=UTC)
"""When the stations recorded the moves."""


def _move(n: int, station: str, wh: str, location: str, qty: int, reason: MoveReason,
          tid: str) -> Msg:
    wire = MoveWire(move_id=f"00000000-0000-4000-8000-{n:012d}", warehouse_id=wh, sku="CUP-350", location=location,
                    qty_delta=qty, balance_after=qty, reason=reason, source_type="transfer",
                    source_id=tid, source_line="1", operator_id="L01", station_id=station,
                    occurred_at=AT, recorded_at=AT)
    return Msg(up_topic(station, "move"), envelope("move", station, wire.model_dump(mode="json"),
                                                   wire.move_id))


def test_short_receipt_applied_once_on_both_engines(cloud_engine: Engine) -> None:
    with cloud_engine.begin() as conn:
        conn.execute(sa.insert(warehouses), [{"id": "WH1", "name": "杭州主仓"},
                                             {"id": "WH2", "name": "义乌仓"}])
        conn.execute(sa.insert(stations), [
            {"id": s, "warehouse_id": wh, "name": s, "status": "active", "created_at": NOW}
            for s, wh in (("st-01", "WH1"), ("st-02", "WH2"))])
        conn.execute(sa.insert(skus).values(sku="CUP-350", name_zh="保温杯 350ml"))
        tid = transfers.create(conn, from_warehouse="WH1", to_warehouse="WH2",
                               lines="CUP-350 50", note="", actor="lead", now=NOW)
        transfers.send(conn, tid, actor="lead", now=NOW)
    diff = TransferDiffWire(diff_id="diff-0001", transfer_id=tid, line_no=1, sku="CUP-350",
                            expected=50, counted=47, reason="途中丢失 / Lost in transit",
                            operator_id="L02", at=AT)
    batch = [_move(1, "st-01", "WH1", "A-01-01", -50, MoveReason.TRANSFER_OUT, tid),
             _move(2, "st-02", "WH2", "Y-01-01", 47, MoveReason.TRANSFER_IN, tid),
             Msg(up_topic("st-02", "transfer_diff"),
                 envelope("transfer_diff", "st-02", diff.model_dump(mode="json"), "diff-0001"))]
    ingest = Ingest(cloud_engine, RecordingBus(), IngestSettings(), clock=lambda: NOW)
    ingest.handle_batch(batch)
    ingest.handle_batch(batch)
    ingest.handle_batch(batch[::-1])
    assert (ingest.counters.moves_new, ingest.counters.dead_letters) == (2, 0)
    with cloud_engine.connect() as conn:
        assert conn.execute(sa.select(transfers_table.c.status)).scalar_one() == "received"
        assert tuple(conn.execute(sa.select(
            transfer_lines.c.qty_shipped, transfer_lines.c.qty_received,
            transfer_lines.c.qty_missing)).one()) == (50, 47, 3)
        assert transfers.in_transit(conn) == {}
        assert [tuple(r) for r in conn.execute(sa.select(
            transfer_discrepancies.c.msg_id, transfer_discrepancies.c.station_id,
            transfer_discrepancies.c.expected, transfer_discrepancies.c.counted,
            transfer_discrepancies.c.received_at))] == [("diff-0001", "st-02", 50, 47, NOW)]
        assert {(r.warehouse_id, r.location): r.qty for r in conn.execute(
            sa.select(stock_balances))} == {("WH1", "A-01-01"): -50, ("WH2", "Y-01-01"): 47}
