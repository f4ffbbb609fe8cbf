"""Handover writes and reads on the station store: every scan outcome, what each writes
(nothing unless ADDED), one open batch per courier, the closing transaction with its
``handover`` message, and the lookback window of expected parcels."""

from __future__ import annotations

import sqlite3

import pytest

from edge.store import Store
from edge.store.handover import (
    CourierCount,
    HandoverError,
    HandoverWriter,
    Outcome,
    courier_counts,
    since,
    waiting,
)
from edge.sync.schema import HandoverWire
from tests.fixtures.pack_orders import seed_packing

RECENT, OLD = "2026-11-23T07:30:00+00:00", "2026-11-10T07:30:00+00:00"
"""A shipment this morning, and one 13 days before the store clock's 2026-11-23 08:00."""


@pytest.fixture
def shipped(store: Store) -> Store:
    """O1, O2 shipped with SF this morning, O3 with ZTO, O6 with SF 13 days ago; O4 waits."""
    seed_packing(store)
    with store.writer.transaction() as db:
        for order_id, carrier, at in (("O1", "SF", RECENT), ("O2", "SF", RECENT),
                                      ("O3", "ZTO", RECENT), ("O6", "SF", OLD)):
            db.execute("UPDATE orders SET status = 'shipped', carrier = ?, shipped_at = ? "
                       "WHERE order_id = ?", [carrier, at, order_id])
    return store


def _rows(store: Store, sql: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in store.writer.db.execute(sql).fetchall()]


def test_each_outcome_and_only_added_writes(shipped: Store) -> None:
    hw = HandoverWriter(shipped.writer)
    assert hw.scan("SF", "NOPE", operator_id="P01").outcome is Outcome.UNKNOWN
    assert hw.scan("SF", "SF1004", operator_id="P01").outcome is Outcome.NOT_SHIPPED
    assert hw.scan("SF", "SF1005", operator_id="P01").outcome is Outcome.NOT_SHIPPED  # intercepted
    wrong = hw.scan("SF", "SF1003", operator_id="P01")
    assert wrong.outcome is Outcome.WRONG_COURIER and wrong.parcel is not None
    assert wrong.parcel.carrier == "ZTO"
    assert _rows(shipped, "SELECT * FROM handover_batches") == []
    added = hw.scan("SF", "SF1001", operator_id="P01")
    assert (added.outcome, added.batch_id) == (Outcome.ADDED, "ST1-HO00001")
    again = hw.scan("SF", "SF1001", operator_id="P02")
    assert (again.outcome, again.batch_id) == (Outcome.DUPLICATE, "ST1-HO00001")
    # the old shipment is not expected, but scanned it is handed over all the same
    assert hw.scan("SF", "SF1006", operator_id="P01").outcome is Outcome.ADDED
    assert _rows(shipped, "SELECT waybill_no, batch_id, order_id, operator_id FROM "
                          "handover_parcels ORDER BY waybill_no") == [
        ("SF1001", "ST1-HO00001", "O1", "P01"), ("SF1006", "ST1-HO00001", "O6", "P01")]
    assert [r.kind for r in shipped.queries.outbox_pending(50) if r.kind == "handover"] == []


def test_counts_use_the_lookback_and_the_open_batch(shipped: Store) -> None:
    db, oldest = shipped.writer.db, since(shipped.writer.clock())
    assert courier_counts(db, oldest) == [CourierCount("SF", 2, 0), CourierCount("ZTO", 1, 0)]
    HandoverWriter(shipped.writer).scan("SF", "SF1002", operator_id="P01")
    assert courier_counts(db, oldest) == [CourierCount("SF", 2, 1), CourierCount("ZTO", 1, 0)]
    assert [p.waybill_no for p in waiting(db, "SF", oldest)] == ["SF1001"]
    assert courier_counts(db, oldest)[0].missing == 1


def test_close_writes_the_batch_and_its_message_in_one_transaction(shipped: Store) -> None:
    hw = HandoverWriter(shipped.writer)
    with pytest.raises(HandoverError):
        hw.close("SF", operator_id="P01")  # nothing scanned: no batch
    hw.scan("SF", "SF1002", operator_id="P01")
    hw.scan("ZTO", "SF1003", operator_id="P02")
    closed = hw.close("SF", operator_id="L01")
    assert (closed.batch_id, closed.carrier, closed.closed_by) == ("ST1-HO00001", "SF", "L01")
    assert [p.waybill_no for p in closed.parcels] == ["SF1002"]
    assert closed.not_handed_over == ("SF1001",) and closed.expected == 2
    assert _rows(shipped, "SELECT batch_id, carrier, status, closed_by, msg_id FROM "
                          "handover_batches ORDER BY batch_id") == [
        ("ST1-HO00001", "SF", "closed", "L01", closed.msg_id),
        ("ST1-HO00002", "ZTO", "open", None, None)]
    (row,) = [r for r in shipped.queries.outbox_pending(50) if r.kind == "handover"]
    assert row.msg_id == closed.msg_id
    wire = HandoverWire.model_validate(row.payload)
    assert [(p.waybill_no, p.order_id, p.operator_id) for p in wire.parcels] == [
        ("SF1002", "O2", "P01")]
    assert wire.not_handed_over == ["SF1001"]
    # a new SF batch starts with the next parcel; the closed one's parcel is handed over
    assert hw.scan("SF", "SF1002", operator_id="P01").outcome is Outcome.HANDED_OVER
    assert hw.scan("SF", "SF1001", operator_id="P01").batch_id == "ST1-HO00003"


def test_one_open_batch_per_courier_and_one_handover_per_waybill(shipped: Store) -> None:
    HandoverWriter(shipped.writer).scan("SF", "SF1001", operator_id="P01")
    db = shipped.writer.db
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO handover_batches (batch_id, carrier, opened_by, opened_at) "
                   "VALUES ('X', 'SF', 'P01', ?)", [RECENT])
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO handover_parcels (waybill_no, batch_id, order_id, operator_id, "
                   "scanned_at) VALUES ('SF1001', 'ST1-HO00001', 'O1', 'P01', ?)", [RECENT])
