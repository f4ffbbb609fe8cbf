"""Returns (退货入库) on the station store: finding the order by the return waybill, the
order's waybill or its number; each inspection outcome and exactly what it writes; undo as a
reversal; finishing with its ``return`` message in one transaction; a second parcel of the
same order; the newest after-sales copy winning.

Hand-computed against ``tests.fixtures.pack_orders``: O3 (TB-240003, waybill SF1003) shipped
CUP-350 ×1 and TOWEL-W ×2; every SKU starts with 100 units (CUP-350 at A-01-01, TOWEL-W at
A-01-02)."""

from __future__ import annotations

import pytest

from edge.domain.models import MoveReason
from edge.store import Store
from edge.store.integrity import ledger_problems
from edge.store.returns import (
    Outcome,
    ReturnRefused,
    ReturnWriter,
    Via,
    find,
    lines,
    open_return,
)
from edge.sync.schema import ReturnWire
from tests.fixtures.pack_orders import seed_packing

TOWEL, SOCK, CUP, CUP_CASE = "6909876543210", "6905555000017", "6901234567892", "16901234567899"
"""Barcodes of the small catalog (the CUP-350 case counts 12)."""

REFUND = {"refund_id": "7000000001", "order_id": "O3", "platform_order_no": "TB-240003",
          "status": "pending", "exchange": 0, "return_waybill": "YT7000000001",
          "return_carrier": "圆通速递", "sku": "TOWEL-W", "qty": 2, "amount_fen": 3980,
          "updated_at": "2026-11-24T02:00:00Z"}


@pytest.fixture
def shipped(store: Store) -> Store:
    """O3 shipped, O1 still waiting; a damage location DMG-01 (zone DMG) in WH1; the
    refund of O3's towels with its return waybill."""
    seed_packing(store)
    store.writer.upsert_locations([{"code": "DMG-01", "warehouse_id": "WH1", "zone": "DMG",
                                    "bin": "01", "name": "残次品区"}])
    with store.writer.transaction() as db:
        db.execute("UPDATE orders SET status = 'shipped', shipped_at = ? WHERE order_id = 'O3'",
                   ["2026-11-23T07:30:00+00:00"])
    assert ReturnWriter(store.writer).apply_refund(dict(REFUND))
    return store


def _balance(store: Store, sku: str, location: str) -> int:
    return store.queries.balance(sku, location)


def test_find_by_return_waybill_order_waybill_and_number(shipped: Store) -> None:
    db = shipped.writer.db
    by_return = find(db, "YT7000000001")
    assert by_return is not None and by_return.refund is not None
    assert (by_return.order_id, by_return.via, by_return.refund.refund_id) == (
        "O3", Via.RETURN_WAYBILL, "7000000001")
    by_waybill = find(db, "SF1003")
    assert by_waybill is not None and by_waybill.refund is not None
    assert (by_waybill.order_id, by_waybill.via) == ("O3", Via.WAYBILL)
    by_number = find(db, " TB-240003 ")
    assert by_number is not None and (by_number.order_id, by_number.via) == ("O3", Via.ORDER_NO)
    assert find(db, "NOPE") is None
    waiting = find(db, "SF1001")
    assert waiting is not None and waiting.status == "waiting" and waiting.refund is None
    with pytest.raises(ReturnRefused, match="未从本站发货"):
        ReturnWriter(shipped.writer).open(waiting, "SF1001", operator_id="P01")
    assert db.execute("SELECT COUNT(*) FROM returns").fetchone()[0] == 0


def test_each_inspection_outcome_writes_exactly_what_it_says(shipped: Store) -> None:
    rw, db = ReturnWriter(shipped.writer), shipped.writer.db
    match = find(db, "YT7000000001")
    assert match is not None
    rid = rw.open(match, "YT7000000001", operator_id="P01")
    assert rid == "ST1-RT00001"
    with pytest.raises(ReturnRefused, match="还有一个退货未完成"):
        rw.open(match, "SF1003", operator_id="P01")

    good = rw.inspect(rid, TOWEL, "good", operator_id="P01")
    assert (good.outcome, good.sku, good.qty) == (Outcome.RESTOCKED, "TOWEL-W", 1)
    assert good.line is not None and good.line.location == "A-01-02"
    assert _balance(shipped, "TOWEL-W", "A-01-02") == 101
    damaged = rw.inspect(rid, TOWEL, "damaged", operator_id="P01")
    assert damaged.outcome is Outcome.DAMAGED
    assert _balance(shipped, "TOWEL-W", "DMG-01") == 1
    # both towels of the order are back: a third is refused and writes nothing
    third = rw.inspect(rid, TOWEL, "good", operator_id="P01")
    assert (third.outcome, third.left, third.line) == (Outcome.TOO_MANY, 0, None)
    # the case of 12 cups is more than the 1 cup shipped
    case = rw.inspect(rid, CUP_CASE, "good", operator_id="P01")
    assert (case.outcome, case.qty, case.left) == (Outcome.TOO_MANY, 12, 1)
    sock = rw.inspect(rid, SOCK, "good", operator_id="P01")  # never in O3
    assert sock.outcome is Outcome.WRONG and sock.line is not None
    assert (sock.line.in_order, sock.line.move_id, sock.line.condition) == (False, None, "wrong")
    unknown = rw.inspect(rid, "X-UNKNOWN", "good", operator_id="P01")
    assert unknown.outcome is Outcome.UNKNOWN_ITEM and unknown.sku is None
    cup_wrong = rw.inspect(rid, CUP, "wrong", operator_id="P01")  # inspector's choice
    assert cup_wrong.outcome is Outcome.WRONG and cup_wrong.line is not None
    assert cup_wrong.line.in_order is True and cup_wrong.line.move_id is None
    assert _balance(shipped, "CUP-350", "A-01-01") == 100
    assert _balance(shipped, "SOCK-M", "Y-01-01") == 100

    assert [(ln.line_no, ln.sku, ln.qty, ln.condition, ln.location) for ln in lines(db, rid)] == [
        (1, "TOWEL-W", 1, "good", "A-01-02"), (2, "TOWEL-W", 1, "damaged", "DMG-01"),
        (3, "SOCK-M", 1, "wrong", None), (4, None, 1, "wrong", None),
        (5, "CUP-350", 1, "wrong", None)]
    moves = db.execute("SELECT reason, sku, location, qty_delta, source_type, source_id, "
                       "source_line, operator_id FROM stock_moves WHERE source_type = 'return' "
                       "ORDER BY seq").fetchall()
    assert [tuple(m) for m in moves] == [
        (MoveReason.RETURN, "TOWEL-W", "A-01-02", 1, "return", rid, "1", "P01"),
        (MoveReason.RETURN, "TOWEL-W", "DMG-01", 1, "return", rid, "2", "P01")]
    assert ledger_problems(db) == []


def test_undo_reverses_the_last_move_and_drops_its_line(shipped: Store) -> None:
    rw, db = ReturnWriter(shipped.writer), shipped.writer.db
    match = find(db, "SF1003")
    assert match is not None
    rid = rw.open(match, "SF1003", operator_id="P01")
    assert rw.undo_last(rid, operator_id="P01") is None
    rw.inspect(rid, TOWEL, "damaged", operator_id="P01")
    undone = rw.undo_last(rid, operator_id="L01")
    assert undone is not None and undone.condition == "damaged"
    assert _balance(shipped, "TOWEL-W", "DMG-01") == 0
    assert lines(db, rid) == []
    reversal = db.execute("SELECT reason, qty_delta, operator_id FROM stock_moves "
                          "WHERE reverses_move_id = ?", [undone.move_id]).fetchone()
    assert tuple(reversal) == (MoveReason.REVERSAL, -1, "L01")
    # nothing inspected: it may be dropped; the next return reuses nothing it wrote
    rw.abandon(rid)
    assert open_return(db) is None
    assert ledger_problems(db) == []


def test_finish_queues_one_return_message_in_the_same_transaction(shipped: Store) -> None:
    rw, db = ReturnWriter(shipped.writer), shipped.writer.db
    match = find(db, "YT7000000001")
    assert match is not None
    rid = rw.open(match, "YT7000000001", operator_id="P01")
    with pytest.raises(ReturnRefused, match="还没有验收"):
        rw.finish(rid, operator_id="P01", warehouse_id="WH1")
    rw.inspect(rid, TOWEL, "good", operator_id="P01")
    rw.inspect(rid, SOCK, "good", operator_id="P01")
    rw.set_exchange(rid, True)
    with pytest.raises(ReturnRefused, match="已有验收商品"):
        rw.abandon(rid)
    msg_id = rw.finish(rid, operator_id="P01", warehouse_id="WH1", note="外包装破损")
    assert msg_id == rid
    row = [r for r in shipped.queries.outbox_pending(50) if r.kind == "return"]
    assert len(row) == 1 and row[0].msg_id == rid
    wire = ReturnWire.model_validate(row[0].payload)
    assert (wire.order_id, wire.refund_id, wire.scanned, wire.exchange, wire.note,
            wire.warehouse_id) == ("O3", "7000000001", "YT7000000001", True, "外包装破损", "WH1")
    assert [(ln.sku, ln.qty, ln.condition, ln.in_order, ln.location) for ln in wire.lines] == [
        ("TOWEL-W", 1, "good", True, "A-01-02"), ("SOCK-M", 1, "wrong", False, None)]
    assert wire.lines[0].move_id is not None
    assert open_return(db) is None
    audit = shipped.queries.audit_log("return.finish")
    assert len(audit) == 1 and audit[0]["subject"] == rid

    # the second towel comes back in another parcel; a third one cannot
    rid2 = rw.open(match, "SF1003", operator_id="P01")
    assert rid2 == "ST1-RT00002"
    assert rw.inspect(rid2, TOWEL, "good", operator_id="P01").outcome is Outcome.RESTOCKED
    third = rw.inspect(rid2, TOWEL, "good", operator_id="P01")
    assert (third.outcome, third.left) == (Outcome.TOO_MANY, 0)


def test_no_damage_location_and_no_put_away_location_are_refused(store: Store) -> None:
    seed_packing(store)
    with store.writer.transaction() as db:
        db.execute("UPDATE orders SET status = 'shipped' WHERE order_id = 'O3'")
        db.execute("UPDATE skus SET default_location = NULL WHERE sku = 'TOWEL-W'")
    rw, db = ReturnWriter(store.writer), store.writer.db
    match = find(db, "SF1003")
    assert match is not None
    rid = rw.open(match, "SF1003", operator_id="P01")
    assert rw.inspect(rid, TOWEL, "damaged", operator_id="P01").outcome is \
        Outcome.NO_DAMAGE_LOCATION
    assert rw.inspect(rid, TOWEL, "good", operator_id="P01").outcome is Outcome.NEED_LOCATION
    scanned_bin = rw.inspect(rid, TOWEL, "good", operator_id="P01", location="A-01-01")
    assert scanned_bin.outcome is Outcome.RESTOCKED
    assert store.queries.balance("TOWEL-W", "A-01-01") == 1
    store.writer.set_setting("returns.damage_location", "A-01-02")
    assert rw.inspect(rid, TOWEL, "damaged", operator_id="P01").outcome is Outcome.DAMAGED
    assert store.queries.balance("TOWEL-W", "A-01-02") == 101


def test_an_older_refund_copy_changes_nothing(shipped: Store) -> None:
    rw, db = ReturnWriter(shipped.writer), shipped.writer.db
    assert not rw.apply_refund({**REFUND, "status": "closed",
                                "updated_at": "2026-11-24T01:00:00Z"})
    assert rw.apply_refund({**REFUND, "status": "success", "updated_at": "2026-11-25T01:00:00Z"})
    assert db.execute("SELECT status FROM refunds").fetchall() == [("success",)]
