"""Stocktakes approved at a station reach the cloud on both engines: the COUNT_ADJUST moves
land in the ledger once and the ``stocktake`` summary is kept once by its msg_id, however
often the station's outbox is redelivered."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud import stocktakes
from cloud.db.schema import station_stocktakes, stock_moves
from cloud.sync.ingest import Ingest, IngestSettings
from edge.domain.models import MoveReason, MoveRequest
from edge.domain.stocktake import Scope
from edge.store.stocktake import StocktakeWriter
from edge.sync.schema import up_topic
from tests.sync.harness import make_station
from tests.sync.helpers import envelope
from tests.sync.test_ingest import Msg, RecordingBus
from tests.sync.test_ingest_engines import seed

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
"""The cloud's clock in these tests."""


def test_adjustments_and_summary_stored_once_on_both_engines(cloud_engine: Engine,
                                                            tmp_path: Path) -> None:
    seed(cloud_engine)
    store = make_station(tmp_path / "st.db", "st-01")
    w = store.writer
    w.record_move(MoveRequest(sku="CUP-350", location="A-01-01", qty_delta=10,
                              reason=MoveReason.RECEIVE, source_type="po", source_id="PO-1",
                              operator_id="L01"))
    st = StocktakeWriter(w)
    sid = st.start(warehouse_id="WH1", scope=Scope.FULL, operator_id="L01")
    st.record_count(sid, "A-01-01", {"CUP-350": 4}, operator_id="P01")  # 4 vs 10: recount
    st.record_count(sid, "A-01-01", {"CUP-350": 9}, operator_id="P02")  # stands: −1
    st.record_count(sid, "A-01-02", {"TOWEL-W": 2}, operator_id="P01")  # +2 (none on books)
    st.approve(sid, operator_id="L02")
    rows = store.queries.outbox_pending(50)
    batch = [Msg(up_topic("st-01", r.kind), envelope(r.kind, "st-01", r.payload, r.msg_id))
             for r in rows]
    ingest = Ingest(cloud_engine, RecordingBus(), IngestSettings(), clock=lambda: NOW)
    ingest.handle_batch(batch)
    ingest.handle_batch(batch)  # replayed: nothing changes
    ingest.handle_batch(batch[-1:])
    with cloud_engine.connect() as conn:
        adjusted = conn.execute(sa.select(
            stock_moves.c.sku, stock_moves.c.location, stock_moves.c.qty_delta,
            stock_moves.c.operator_id, stock_moves.c.source_type, stock_moves.c.source_id)
            .where(stock_moves.c.reason == int(MoveReason.COUNT_ADJUST))
            .order_by(stock_moves.c.location)).all()
        kept = conn.execute(sa.select(sa.func.count()).select_from(station_stocktakes)).scalar()
        summary, lines = stocktakes.detail(conn, sid) or (None, [])
    assert [tuple(r) for r in adjusted] == [
        ("CUP-350", "A-01-01", -1, "L02", "stocktake", sid),
        ("TOWEL-W", "A-01-02", 2, "L02", "stocktake", sid)]
    assert kept == 1
    assert summary is not None
    assert (summary.lines, summary.varied, summary.units_over, summary.units_short,
            summary.recounts, summary.approved_by) == (2, 2, 2, 1, 1, "L02")
    assert [(ln.location, ln.sku, ln.round, ln.counted, ln.expected, ln.final, ln.variance)
            for ln in lines] == [
        ("A-01-01", "CUP-350", 1, 4, 10, False, -6),
        ("A-01-01", "CUP-350", 2, 9, 10, True, -1),
        ("A-01-02", "TOWEL-W", 1, 2, 0, True, 2)]
    store.close()
