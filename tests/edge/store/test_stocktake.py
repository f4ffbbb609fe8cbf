"""Stocktake writes: snapshot, blind counts with the ledger position, the recount rule, and
approval writing COUNT_ADJUST moves and the ``stocktake`` outbox row in one transaction —
every figure computed by hand in the test."""

from __future__ import annotations

import json

import pytest

from edge.domain.models import MoveReason, MoveRequest
from edge.domain.stocktake import Scope, needs_recount
from edge.store import Store
from edge.store.stocktake import StocktakeRefused, StocktakeWriter, count_lines
from edge.sync.schema import StocktakeWire


def put(store: Store, sku: str, location: str, qty: int, reason: MoveReason = MoveReason.RECEIVE,
        source: str = "seed") -> None:
    store.writer.record_move(MoveRequest(sku=sku, location=location, qty_delta=qty,
                                         reason=reason, source_type=source, source_id="S-1",
                                         operator_id="L01"))


def outbox(store: Store, kind: str) -> list[dict[str, object]]:
    return [json.loads(p) for (p,) in store.writer.db.execute(
        "SELECT payload FROM outbox WHERE kind = ? ORDER BY seq", [kind]).fetchall()]


def adjust_moves(store: Store, stocktake_id: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in store.writer.db.execute(
        "SELECT sku, location, qty_delta, balance_after, reason, source_type, source_line, "
        "operator_id FROM stock_moves WHERE source_id = ? ORDER BY seq",
        [stocktake_id]).fetchall()]


def test_recount_threshold_is_more_than_two_units_and_more_than_five_percent() -> None:
    assert not needs_recount(8, 10)  # 2 units: never
    assert needs_recount(7, 10)  # 3 units > 2 and 3 > 0.5
    assert not needs_recount(97, 100)  # 3 units but 3 ≤ 5 (5 % of 100)
    assert needs_recount(94, 100)  # 6 > 5
    assert needs_recount(3, 0)  # 3 found where the books say none


def test_a_pick_during_the_open_count_is_not_counted_twice(store: Store) -> None:
    put(store, "CUP-350", "A-01-01", 10)
    put(store, "TOWEL-W", "A-01-02", 4)
    st = StocktakeWriter(store.writer)
    sid = st.start(warehouse_id="WH1", scope=Scope.ZONE, scope_value="A", operator_id="L01")
    snapshot = store.writer.db.execute(
        "SELECT snapshot_seq FROM stocktakes WHERE stocktake_id = ?", [sid]).fetchone()[0]
    assert snapshot == 2  # two moves in the ledger at start
    put(store, "CUP-350", "A-01-01", -2, MoveReason.PICK, "pick")  # before A-01-01 is counted: 8
    result = st.record_count(sid, "A-01-01", {"CUP-350": 7}, operator_id="P01")
    assert (result.round, result.needs_recount) == (1, False)  # 7 vs 8: one unit
    put(store, "CUP-350", "A-01-01", -1, MoveReason.PICK, "pick")  # after the count: 7
    st.record_count(sid, "A-01-02", {"TOWEL-W": 4}, operator_id="P01")
    moves = st.approve(sid, operator_id="L02")
    # counted 7 − balance at count time 8 = −1; balance now 7 − 1 = 6 (7 counted − 1 picked since)
    assert adjust_moves(store, sid) == [
        ("CUP-350", "A-01-01", -1, 6, int(MoveReason.COUNT_ADJUST), "stocktake", "A-01-01", "L02")]
    assert store.queries.balance("CUP-350", "A-01-01") == 6
    assert store.queries.balance("TOWEL-W", "A-01-02") == 4
    (summary,) = outbox(store, "stocktake")
    wire = StocktakeWire.model_validate(summary)
    assert (wire.stocktake_id, wire.scope, wire.scope_value, wire.snapshot_seq,
            wire.started_by, wire.approved_by) == (sid, "zone", "A", 2, "L01", "L02")
    assert [(ln.location, ln.sku, ln.round, ln.counted, ln.expected, ln.final, ln.move_id)
            for ln in wire.lines] == [
        ("A-01-01", "CUP-350", 1, 7, 8, True, moves[0].move_id),
        ("A-01-02", "TOWEL-W", 1, 4, 4, True, None)]
    # the adjustment travels as an ordinary move message too
    assert [m["move_id"] for m in outbox(store, "move")][-1] == moves[0].move_id


def test_a_big_variance_asks_for_a_recount_which_replaces_the_first(store: Store) -> None:
    put(store, "CUP-350", "A-01-01", 20)
    st = StocktakeWriter(store.writer)
    sid = st.start(warehouse_id="WH1", scope=Scope.FULL, operator_id="L01")
    first = st.record_count(sid, "A-01-01", {"CUP-350": 12, "TOWEL-W": 1}, operator_id="P01")
    assert (first.round, first.needs_recount) == (1, True)  # 12 vs 20: 8 units, 40 %
    with pytest.raises(StocktakeRefused, match="待复盘"):
        st.approve(sid, operator_id="L01")
    second = st.record_count(sid, "A-01-01", {"CUP-350": 18}, operator_id="P02")
    assert (second.round, second.needs_recount) == (2, False)
    with pytest.raises(StocktakeRefused, match="已盘"):
        st.record_count(sid, "A-01-01", {"CUP-350": 18}, operator_id="P02")
    assert [(ln.round, ln.sku, ln.counted, ln.expected) for ln in count_lines(store.writer.db, sid)] == [
        (1, "CUP-350", 12, 20), (1, "TOWEL-W", 1, 0), (2, "CUP-350", 18, 20)]
    st.approve(sid, operator_id="L01")
    # only the recount stands: 18 − 20 = −2; the first count's towel is not adjusted
    assert adjust_moves(store, sid) == [
        ("CUP-350", "A-01-01", -2, 18, int(MoveReason.COUNT_ADJUST), "stocktake", "A-01-01", "L01")]


def test_refusals_write_nothing(store: Store) -> None:
    st = StocktakeWriter(store.writer)
    with pytest.raises(StocktakeRefused):
        st.start(warehouse_id="WH1", scope=Scope.ZONE, scope_value="Q", operator_id="L01")
    sid = st.start(warehouse_id="WH1", scope=Scope.SKU, scope_value="CUP-350", operator_id="L01")
    with pytest.raises(StocktakeRefused, match="已有"):
        st.start(warehouse_id="WH1", scope=Scope.FULL, operator_id="L01")
    with pytest.raises(StocktakeRefused):
        st.record_count(sid, "A-01-01", {"TOWEL-W": 1}, operator_id="P01")  # not the SKU
    with pytest.raises(StocktakeRefused):
        st.record_count(sid, "Y-01-01", {"CUP-350": 1}, operator_id="P01")  # other warehouse
    assert count_lines(store.writer.db, sid) == []
    assert store.writer.db.execute("SELECT COUNT(*) FROM stocktake_rounds").fetchone()[0] == 0
