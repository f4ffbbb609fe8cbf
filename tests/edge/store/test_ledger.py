"""The stock ledger: append-only moves, derived balances, reversals, negative-stock policy,
outbox rows in the move's transaction."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.domain.ledger import fold
from edge.domain.models import MoveReason, MoveRequest
from edge.errors import AlreadyReversed, InsufficientStock, LedgerError, UnknownSku
from edge.store import Store, open_store
from tests.fixtures.edge_store import StepClock, seed_small_catalog


def receive(sku: str, loc: str, qty: int) -> MoveRequest:
    return MoveRequest(sku=sku, location=loc, qty_delta=qty, reason=MoveReason.RECEIVE,
                       source_type="po", source_id="PO-1", operator_id="op1")


def ship(sku: str, loc: str, qty: int) -> MoveRequest:
    return MoveRequest(sku=sku, location=loc, qty_delta=-qty, reason=MoveReason.SHIP,
                       source_type="order", source_id="O-1", operator_id="op1")


def test_move_updates_balance_and_writes_outbox_row(store: Store) -> None:
    move = store.writer.record_move(receive("CUP-350", "A-01-01", 10))
    assert move.balance_after == 10
    assert move.warehouse_id == "WH1" and move.station_id == "ST1"
    assert store.queries.balance("CUP-350", "A-01-01") == 10
    pending = store.queries.outbox_pending()
    assert [(r.kind, r.msg_id) for r in pending] == [("move", move.move_id)]
    assert pending[0].payload["qty_delta"] == 10
    assert pending[0].payload["reason"] == MoveReason.RECEIVE


def test_stock_moves_are_append_only(store: Store) -> None:
    move = store.writer.record_move(receive("CUP-350", "A-01-01", 3))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.writer.db.execute("UPDATE stock_moves SET qty_delta = 99 WHERE move_id = ?", [move.move_id])
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.writer.db.execute("DELETE FROM stock_moves WHERE move_id = ?", [move.move_id])
    store.writer.db.conn.rollback()
    assert store.queries.move(move.move_id) == move


@pytest.mark.parametrize("verb", ["REPLACE", "INSERT OR REPLACE"])
def test_replace_cannot_rewrite_a_move(store: Store, verb: str) -> None:
    """REPLACE deletes the conflicting row without firing the DELETE trigger when
    recursive_triggers is off (SQLite's default, e.g. the sqlite3 shell; sqlite-utils turns
    it on for our own connections): a move's quantity, or its id, could be rewritten."""
    move = store.writer.record_move(receive("CUP-350", "A-01-01", 3))
    later = store.writer.record_move(receive("CUP-350", "A-01-01", 4))
    db = store.writer.db
    db.execute("PRAGMA recursive_triggers = off")  # as any other connection has it
    (seq,) = db.execute("SELECT seq FROM stock_moves WHERE move_id = ?", [move.move_id]).fetchone()
    cols = "seq, move_id, warehouse_id, sku, location, qty_delta, balance_after, reason, " \
           "source_type, source_id, operator_id, station_id, occurred_at, recorded_at"
    keep = "warehouse_id, sku, location, 99, 99, reason, source_type, source_id, operator_id, " \
           "station_id, occurred_at, recorded_at"
    forgeries = [
        (seq, move.move_id),  # same row, new quantity
        (seq, "forged-move-id-0001"),  # same seq, new id: the original id vanishes
        (None, later.move_id),  # same move id, new seq
    ]
    for new_seq, new_id in forgeries:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute(f"{verb} INTO stock_moves ({cols}) SELECT ?, ?, {keep} FROM stock_moves "
                       "WHERE move_id = ?", [new_seq, new_id, move.move_id])
    # a second reversal of one move cannot replace the first one either
    rev = store.writer.reverse_move(move.move_id, operator_id="op1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute(f"{verb} INTO stock_moves ({cols}, reverses_move_id) SELECT NULL, 'forged-rev-0001', "
                   f"{keep}, reverses_move_id FROM stock_moves WHERE move_id = ?", [rev.move_id])
    db.conn.rollback()
    assert [m.move_id for m in reversed(store.queries.moves("CUP-350", limit=10))] == [
        move.move_id, later.move_id, rev.move_id]
    assert store.queries.move(move.move_id) == move
    assert store.queries.move(later.move_id) == later


@pytest.mark.parametrize("verb", ["REPLACE", "INSERT OR REPLACE"])
def test_replace_cannot_rewrite_the_audit_log(store: Store, verb: str) -> None:
    store.writer.audit("op1", "login", "op1")
    db = store.writer.db
    db.execute("PRAGMA recursive_triggers = off")
    (audit_id,) = db.execute("SELECT audit_id FROM audit_log").fetchone()
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute(f"{verb} INTO audit_log (audit_id, at, actor, action, subject) VALUES (?, 'x', 'x', 'x', 'x')",
                   [audit_id])
    db.conn.rollback()
    assert db.execute("SELECT actor, action FROM audit_log").fetchall() == [("op1", "login")]


@pytest.mark.parametrize("qty", [10_000_001, -10_000_001, 2**64])
def test_a_move_beyond_the_wire_limit_is_refused_before_anything_is_written(store: Store, qty: int) -> None:
    with pytest.raises(LedgerError, match="±10,000,000"):
        store.writer.record_move(receive("CUP-350", "A-01-01", qty))
    assert store.queries.move_count() == 0 and store.queries.outbox_stats().pending == 0


def test_audit_log_is_append_only(store: Store) -> None:
    store.writer.audit("op1", "login", "op1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.writer.db.execute("DELETE FROM audit_log")


def test_refused_negative_move_writes_nothing(store: Store) -> None:
    store.writer.record_move(receive("CUP-350", "A-01-01", 2))
    before = store.queries.outbox_stats().pending
    with pytest.raises(InsufficientStock) as err:
        store.writer.record_moves([ship("TOWEL-W", "A-01-02", 0 + 1)])
    assert "库存不足" in str(err.value)
    # a batch with one bad move is refused whole
    with pytest.raises(InsufficientStock):
        store.writer.record_moves([ship("CUP-350", "A-01-01", 1), ship("CUP-350", "A-01-01", 2)])
    assert store.queries.balance("CUP-350", "A-01-01") == 2
    assert store.queries.move_count() == 1
    assert store.queries.outbox_stats().pending == before


def test_allowed_negative_move_raises_alert(store: Store) -> None:
    move = store.writer.record_move(ship("SOCK-M", "Y-01-01", 4))
    assert move.balance_after == -4
    alerts = store.queries.alerts("negative_stock")
    assert len(alerts) == 1 and alerts[0]["subject"] == "SOCK-M@Y-01-01"
    kinds = [r.kind for r in store.queries.outbox_pending()]
    assert kinds.count("alert") == 1 and kinds.count("move") == 1


def test_unknown_sku_and_location_refused(store: Store) -> None:
    with pytest.raises(UnknownSku):
        store.writer.record_move(receive("NOPE", "A-01-01", 1))
    with pytest.raises(UnknownSku):
        store.writer.record_move(receive("CUP-350", "Z-99", 1))
    with pytest.raises(LedgerError):
        store.writer.record_move(receive("CUP-350", "A-01-01", 0))


def test_reversal_flips_sign_once(store: Store) -> None:
    move = store.writer.record_move(receive("CUP-350", "A-01-01", 7))
    rev = store.writer.reverse_move(move.move_id, operator_id="lead1", note="录错")
    assert (rev.qty_delta, rev.reason, rev.reverses_move_id) == (-7, MoveReason.REVERSAL, move.move_id)
    assert store.queries.balance("CUP-350") == 0
    with pytest.raises(AlreadyReversed):
        store.writer.reverse_move(move.move_id, operator_id="lead1")
    with pytest.raises(AlreadyReversed):
        store.writer.reverse_move(rev.move_id, operator_id="lead1")


def test_manual_adjust_needs_reason_and_is_audited(store: Store) -> None:
    with pytest.raises(LedgerError, match="原因"):
        store.writer.adjust(sku="CUP-350", location="A-01-01", qty_delta=1, operator_id="lead1", note=" ")
    move = store.writer.adjust(sku="CUP-350", location="A-01-01", qty_delta=5,
                               operator_id="lead1", note="盘盈")
    audit = store.queries.audit_log("stock.adjust")
    assert len(audit) == 1 and move.move_id in audit[0]["detail"]


def test_remote_moves_apply_once(store: Store) -> None:
    other = open_store(":memory:", station_id="ST2", clock=StepClock())
    seed_small_catalog(other)
    moves = other.writer.record_moves([receive("CUP-350", "A-01-01", 4), receive("TOWEL-W", "A-01-02", 2)])
    assert len(store.writer.apply_remote_moves(moves)) == 2
    assert store.writer.apply_remote_moves(moves) == []
    assert store.queries.balance("CUP-350") == 4
    # remote moves are not re-sent to the cloud by this station
    assert [r.kind for r in store.queries.outbox_pending()] == []


def test_inbox_applies_each_message_once(store: Store) -> None:
    calls: list[str] = []
    assert store.writer.apply_once("m-00000001", "task", lambda w: calls.append("x"))
    assert not store.writer.apply_once("m-00000001", "task", lambda w: calls.append("y"))
    assert calls == ["x"]


def test_failed_effect_leaves_no_inbox_row(store: Store) -> None:
    def boom(w: object) -> None:
        store.writer.record_move(receive("CUP-350", "A-01-01", 1))
        raise RuntimeError("crash mid-effect")

    with pytest.raises(RuntimeError):
        store.writer.apply_once("m-00000002", "task", boom)
    assert store.queries.move_count() == 0
    assert store.writer.apply_once("m-00000002", "task", lambda w: None)


def test_outbox_ack_bookkeeping(store: Store) -> None:
    a = store.writer.record_move(receive("CUP-350", "A-01-01", 1))
    b = store.writer.record_move(receive("CUP-350", "A-01-01", 1))
    store.writer.mark_sent([a.move_id, b.move_id])
    assert store.writer.mark_acked([a.move_id]) == 1
    assert store.writer.mark_acked([a.move_id]) == 0  # a duplicate ack changes nothing
    assert [r.msg_id for r in store.queries.outbox_pending()] == [b.move_id]
    assert store.queries.outbox_pending()[0].attempts == 1


def test_barcode_belongs_to_one_sku(store: Store) -> None:
    with pytest.raises(LedgerError, match="6901234567892"):
        store.writer.upsert_skus([{"sku": "X", "name_zh": "x", "barcodes": [("6901234567892", 1)]}])
    assert store.queries.lookup_barcode("16901234567899") == ("CUP-350", 12)


def test_file_database_survives_reopen(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "edge.db"
    s = open_store(path, station_id="ST1")
    seed_small_catalog(s)
    s.writer.record_move(receive("CUP-350", "A-01-01", 3))
    s.close()
    again = open_store(path)
    assert again.queries.balance("CUP-350") == 3
    assert again.queries.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again.close()


# --------------------------------------------------------------------------- properties
SKUS = ["CUP-350", "TOWEL-W", "SOCK-M"]
LOCS = ["A-01-01", "A-01-02", "Y-01-01"]

op = st.one_of(
    st.tuples(st.just("move"), st.sampled_from(SKUS), st.sampled_from(LOCS),
              st.integers(-20, 20).filter(lambda n: n != 0)),
    st.tuples(st.just("reverse"), st.integers(0, 1000)),
    st.tuples(st.just("batch"), st.lists(
        st.tuples(st.sampled_from(SKUS), st.sampled_from(LOCS), st.integers(-10, 10).filter(bool)),
        min_size=1, max_size=4)),
    st.tuples(st.just("rebuild")),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, max_size=40))
def test_balances_equal_fold_of_moves(ops: list[tuple]) -> None:  # type: ignore[type-arg]
    s = open_store(":memory:", station_id="ST1", clock=StepClock())
    seed_small_catalog(s)
    w, q = s.writer, s.queries
    for o in ops:
        try:
            if o[0] == "move":
                _, sku, loc, qty = o
                w.record_move(MoveRequest(sku=sku, location=loc, qty_delta=qty,
                                          reason=MoveReason.COUNT_ADJUST, source_type="count",
                                          source_id="C1", operator_id="op"))
            elif o[0] == "reverse":
                history = q.moves(limit=1000)
                if history:
                    w.reverse_move(history[o[1] % len(history)].move_id, operator_id="op")
            elif o[0] == "batch":
                w.record_moves([MoveRequest(sku=a, location=b, qty_delta=c, reason=MoveReason.PICK,
                                            source_type="wave", source_id="W1", operator_id="op")
                                for a, b, c in o[1]])
            else:
                w.rebuild_balances()
        except (InsufficientStock, AlreadyReversed):
            pass
        assert not w.db.conn.in_transaction
    all_moves = q.moves(limit=100_000)
    folded = {k: v for k, v in fold(all_moves).items() if v != 0}
    assert q.cached_balances() == folded == q.fold_moves()
    # WH1 refuses negative stock: its balances never go below zero
    assert all(v >= 0 for (sku, loc), v in folded.items() if loc != "Y-01-01")
    # every move is in the outbox exactly once
    move_ids = {m.move_id for m in all_moves}
    outbox_moves = [r.msg_id for r in q.outbox_pending(limit=100_000) if r.kind == "move"]
    assert sorted(outbox_moves) == sorted(move_ids)
    # balance_after is the running balance per (sku, location)
    running: dict[tuple[str, str], int] = {}
    for m in reversed(all_moves):
        running[(m.sku, m.location)] = running.get((m.sku, m.location), 0) + m.qty_delta
        assert m.balance_after == running[(m.sku, m.location)]
    s.close()


def test_the_negative_stock_policy_is_read_fresh_not_cached_per_process(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The kiosk and the sync daemon are two processes on one database: a policy change the
    daemon applies (catalog from the cloud) holds for the kiosk's very next move."""
    from edge.domain.models import NegativeStockPolicy

    kiosk = open_store(tmp_path / "st.db", station_id="ST1")
    seed_small_catalog(kiosk, NegativeStockPolicy.REFUSE)
    with pytest.raises(InsufficientStock):
        kiosk.writer.record_move(ship("CUP-350", "A-01-01", 1))
    daemon = open_store(tmp_path / "st.db", station_id="ST1")
    daemon.writer.upsert_warehouse("WH1", "杭州主仓", NegativeStockPolicy.ALLOW_WITH_ALERT)
    move = kiosk.writer.record_move(ship("CUP-350", "A-01-01", 1))
    assert move.balance_after == -1
    daemon.writer.upsert_warehouse("WH1", "杭州主仓", NegativeStockPolicy.REFUSE)
    with pytest.raises(InsufficientStock):
        kiosk.writer.record_move(ship("CUP-350", "A-01-01", 1))
    kiosk.close()
    daemon.close()


def test_a_kit_takes_no_move_of_its_own(store: Store) -> None:
    # A kit (组合商品) is stocked as its components: receiving or counting under the kit's
    # own SKU would put stock where the cloud's ledger refuses it (station and cloud apart).
    from edge.sync.inbox import apply_catalog
    from edge.sync.schema import CatalogWire, SkuWire

    apply_catalog(store.writer, CatalogWire(skus=[SkuWire(
        sku="GIFT-1", name_zh="礼盒", barcodes=[("6900000000212", 1)], version=1,
        components=[("CUP-350", 1)])]))
    with pytest.raises(LedgerError, match="GIFT-1 是组合商品"):
        store.writer.record_move(receive("GIFT-1", "A-01-01", 5))
    assert store.queries.balance("GIFT-1", "A-01-01") == 0
    assert store.queries.outbox_pending() == []
