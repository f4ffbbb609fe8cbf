"""Receiving against a purchase order at the station (``Writer.receive_po``) and the cloud's
moving average, by hand."""

from __future__ import annotations

import json

import pytest

from cloud.purchasing import moving_average
from edge.domain.models import MoveReason
from edge.errors import LedgerError
from edge.store import Store


def _po(store: Store, status: str = "open") -> None:
    store.writer.upsert_purchase_order(
        {"po_id": "PO-1", "supplier": "义乌", "warehouse_id": "WH1", "status": status},
        [{"line_no": 1, "sku": "CUP-350", "qty_ordered": 10}])


def _received(store: Store) -> int:
    return int(store.writer.db.execute(
        "SELECT qty_received FROM purchase_order_lines WHERE po_id = 'PO-1'").fetchone()[0])


def test_a_receipt_is_a_receive_move_and_counts_on_the_line(store: Store) -> None:
    _po(store)
    before = store.queries.balance("CUP-350", "A-01-01")
    move = store.writer.receive_po("PO-1", 1, 4, location="A-01-01", operator_id="P01")
    assert (move.reason, move.source_type, move.source_id, move.source_line, move.qty_delta) == (
        MoveReason.RECEIVE, "po", "PO-1", "1", 4)
    assert store.queries.balance("CUP-350", "A-01-01") == before + 4
    assert _received(store) == 4
    outbox = [json.loads(r[0]) for r in store.writer.db.execute(
        "SELECT payload FROM outbox WHERE kind = 'move'").fetchall()]
    assert [p["move_id"] for p in outbox][-1] == move.move_id  # on its way to the cloud


def test_refused_receipts_change_nothing(store: Store) -> None:
    _po(store)
    store.writer.receive_po("PO-1", 1, 6, location="A-01-01", operator_id="P01")
    for args, kwargs in (((1, 5), {}), ((2, 1), {}), ((1, 0), {})):
        with pytest.raises(LedgerError):
            store.writer.receive_po("PO-1", *args, location="A-01-01", operator_id="P01", **kwargs)
    assert _received(store) == 6
    # over-receipt only when asked, and audited
    store.writer.receive_po("PO-1", 1, 5, location="A-01-01", operator_id="L01", allow_over=True)
    assert _received(store) == 11
    assert [r["action"] for r in store.queries.audit_log("po.over_receipt")] == ["po.over_receipt"]
    _po(store, "cancelled")
    with pytest.raises(LedgerError, match="不在待收货状态"):
        store.writer.receive_po("PO-1", 1, 1, location="A-01-01", operator_id="P01")


@pytest.mark.parametrize(("before", "cost", "qty", "unit", "after"), [
    (100, 1000, 120, 1250, 1136),   # 250,000 / 220 = 1,136.36
    (220, 1136, 80, 1250, 1166),    # 349,920 / 300 = 1,166.4
    (1, 1, 1, 2, 2),                # 1.5 rounds half up
    (0, 999, 5, 700, 700),          # nothing on hand: the unit cost
    (-3, 999, 5, 700, 700),         # oversold: the unit cost
    (10, None, 5, 700, 700),        # no cost known: the unit cost
])
def test_moving_average_by_hand(before: int, cost: int | None, qty: int, unit: int,
                                after: int) -> None:
    assert moving_average(before, cost, qty, unit) == after


def test_an_over_receipt_keeps_the_leads_reason(store: Store) -> None:
    """The reason becomes the move's note and goes into the audit entry; a receipt without
    one has no note."""
    _po(store)
    within = store.writer.receive_po("PO-1", 1, 4, location="A-01-01", operator_id="L01")
    assert within.note is None
    over = store.writer.receive_po("PO-1", 1, 8, location="A-01-01", operator_id="L01",
                                   allow_over=True, reason="供应商多发 / Supplier sent extra")
    assert over.note == "供应商多发 / Supplier sent extra"
    (audit,) = store.queries.audit_log("po.over_receipt")
    assert json.loads(audit["detail"]) == {"line_no": 1, "ordered": 10, "received": 12,
                                           "move_id": over.move_id,
                                           "reason": "供应商多发 / Supplier sent extra"}
    assert _received(store) == 12
