"""The cloud ledger: insert once by move_id, balances derived, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from cloud.db import stock_balances, stock_moves
from cloud.errors import InvalidMove, ReversalConflict
from cloud.ledger_store import (
    BalanceMismatch,
    StoredMove,
    WarehouseBalance,
    balances,
    check_balances,
    get_moves,
    insert_moves,
    move_history,
    rebuild_balances,
    validate_move,
)
from edge.domain.models import Move, MoveReason
from tests.cloud.helpers import T0, make_move

RECEIVED = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)


def count_moves(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(stock_moves)).scalar_one())


def test_same_move_twice_is_stored_once(cloud_engine: Engine) -> None:
    move = make_move(1, qty_delta=7)
    with cloud_engine.begin() as conn:
        assert insert_moves(conn, [move], received_at=RECEIVED) == [move.move_id]
    with cloud_engine.begin() as conn:
        assert insert_moves(conn, [move], received_at=RECEIVED + timedelta(hours=1)) == []
    assert count_moves(cloud_engine) == 1
    with cloud_engine.connect() as conn:
        assert balances(conn) == [WarehouseBalance("WH1", "SKU-1", "A-01", 7)]
        # The first delivery's receipt time is kept.
        assert get_moves(conn, [move.move_id]) == {move.move_id: StoredMove(move, RECEIVED)}


def test_batch_with_duplicates_counts_each_id_once(cloud_engine: Engine) -> None:
    a, b, c = make_move(1, qty_delta=3), make_move(2, qty_delta=-1), make_move(3, qty_delta=10, sku="SKU-2")
    a_again_changed = replace(a, qty_delta=999)  # same id: the first occurrence wins
    with cloud_engine.begin() as conn:
        assert insert_moves(conn, [a]) == [a.move_id]
    with cloud_engine.begin() as conn:
        new = insert_moves(conn, [c, b, a, b, c, a_again_changed], received_at=RECEIVED)
    assert new == [c.move_id, b.move_id]
    assert count_moves(cloud_engine) == 3
    with cloud_engine.connect() as conn:
        assert balances(conn) == [
            WarehouseBalance("WH1", "SKU-1", "A-01", 2),
            WarehouseBalance("WH1", "SKU-2", "A-01", 10),
        ]
        assert check_balances(conn) == []


def test_empty_batch_writes_nothing(cloud_engine: Engine) -> None:
    with cloud_engine.begin() as conn:
        assert insert_moves(conn, []) == []
    assert count_moves(cloud_engine) == 0


def test_moves_round_trip_exactly(cloud_engine: Engine) -> None:
    shanghai = timezone(timedelta(hours=8))
    move = make_move(
        4,
        qty_delta=-2,
        balance_after=-2,
        reason=MoveReason.REVERSAL,
        reverses_move_id=make_move(1).move_id,
        note="扫错了 / wrong scan",
        source_line=None,
        device_id=None,
        occurred_at=datetime(2026, 11, 3, 9, 15, 1, 500, tzinfo=shanghai),
    )
    with cloud_engine.begin() as conn:
        insert_moves(conn, [move], received_at=RECEIVED)
    with cloud_engine.connect() as conn:
        stored = get_moves(conn, [move.move_id, make_move(99).move_id])
    assert list(stored) == [move.move_id]
    got = stored[move.move_id]
    assert got == StoredMove(move, RECEIVED)
    assert got.move.reason is MoveReason.REVERSAL
    assert got.move.occurred_at.utcoffset() == timedelta(0)
    assert got.move.occurred_at.hour == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"move_id": "not-a-uuid"}, "move_id is not a UUID"),
        ({"sku": ""}, "sku is empty"),
        ({"warehouse_id": ""}, "warehouse_id is empty"),
        ({"location": "L" * 65}, "location longer than 64"),
        ({"occurred_at": datetime(2026, 1, 1)}, "occurred_at has no timezone"),
        ({"reason": 77}, "unknown reason code 77"),
        ({"reason": MoveReason.REVERSAL}, "reversal without reverses_move_id"),
        ({"qty_delta": 2**31}, "qty_delta out of range"),
        ({"qty_delta": True}, "qty_delta is not an integer"),
    ],
)
def test_invalid_move_refuses_the_whole_batch(
    cloud_engine: Engine, fields: dict[str, object], message: str
) -> None:
    bad = replace(make_move(2), **fields)  # type: ignore[arg-type]
    with pytest.raises(InvalidMove, match=message), cloud_engine.begin() as conn:
        insert_moves(conn, [make_move(1), bad])
    assert count_moves(cloud_engine) == 0


def test_validate_move_accepts_a_good_move() -> None:
    validate_move(make_move(1))


def test_balances_filters_and_zero_rows(cloud_engine: Engine) -> None:
    moves = [
        make_move(1, qty_delta=5),
        make_move(2, qty_delta=-5),  # SKU-1 @ A-01 in WH1 back to zero
        make_move(3, qty_delta=4, location="B-02"),
        make_move(4, qty_delta=6, warehouse_id="WH2", station_id="st-9"),
        make_move(5, qty_delta=1, sku="SKU-2", location="B-02"),
    ]
    with cloud_engine.begin() as conn:
        insert_moves(conn, moves)
    with cloud_engine.connect() as conn:
        assert balances(conn) == [
            WarehouseBalance("WH1", "SKU-1", "B-02", 4),
            WarehouseBalance("WH1", "SKU-2", "B-02", 1),
            WarehouseBalance("WH2", "SKU-1", "A-01", 6),
        ]
        assert balances(conn, include_zero=True)[0] == WarehouseBalance("WH1", "SKU-1", "A-01", 0)
        assert balances(conn, warehouse_id="WH2") == [WarehouseBalance("WH2", "SKU-1", "A-01", 6)]
        assert balances(conn, sku="SKU-2") == [WarehouseBalance("WH1", "SKU-2", "B-02", 1)]
        assert [b.sku for b in balances(conn, location="B-02")] == ["SKU-1", "SKU-2"]
        assert balances(conn, warehouse_id="WH3") == []


def test_move_history_newest_first_with_filters(cloud_engine: Engine) -> None:
    moves = [make_move(n, station_id="st-1" if n % 2 else "st-2") for n in range(6)]
    with cloud_engine.begin() as conn:
        insert_moves(conn, moves, received_at=RECEIVED)
    with cloud_engine.connect() as conn:
        assert [s.move for s in move_history(conn)] == moves[::-1]
        assert [s.move.move_id for s in move_history(conn, limit=2)] == [moves[5].move_id, moves[4].move_id]
        assert [s.move for s in move_history(conn, station_id="st-2")] == [moves[4], moves[2], moves[0]]
        assert [s.move for s in move_history(conn, since=T0 + timedelta(minutes=4))] == [moves[5], moves[4]]
        assert move_history(conn, sku="NOPE") == []
        assert all(s.received_at == RECEIVED for s in move_history(conn))
    with pytest.raises(ValueError), cloud_engine.connect() as conn:
        move_history(conn, limit=0)


def test_check_and_rebuild_balances(cloud_engine: Engine) -> None:
    with cloud_engine.begin() as conn:
        insert_moves(conn, [make_move(1, qty_delta=5), make_move(2, qty_delta=3, sku="SKU-2"),
                            make_move(3, qty_delta=2, sku="SKU-3", warehouse_id="WH2")])
        assert check_balances(conn) == []
        b = stock_balances
        # Corrupt the cache three ways: a wrong qty, a missing row, a row without moves.
        conn.execute(sa.update(b).where(b.c.sku == "SKU-1").values(qty=50))
        conn.execute(sa.delete(b).where(b.c.sku == "SKU-2"))
        conn.execute(sa.insert(b).values(warehouse_id="WH1", sku="GHOST", location="Z", qty=1))
        assert check_balances(conn) == [
            BalanceMismatch("WH1", "GHOST", "Z", 1, None),
            BalanceMismatch("WH1", "SKU-1", "A-01", 50, 5),
            BalanceMismatch("WH1", "SKU-2", "A-01", None, 3),
        ]
        assert check_balances(conn, warehouse_id="WH2") == []
        assert rebuild_balances(conn, warehouse_id="WH1") == 2
        assert check_balances(conn) == []
        assert balances(conn) == [
            WarehouseBalance("WH1", "SKU-1", "A-01", 5),
            WarehouseBalance("WH1", "SKU-2", "A-01", 3),
            WarehouseBalance("WH2", "SKU-3", "A-01", 2),
        ]
        assert rebuild_balances(conn) == 3
        assert check_balances(conn) == []


def test_concurrent_delivery_of_the_same_move_counts_once(cloud_engine: Engine) -> None:
    """A second writer with the same move waits for the first and then skips it."""
    move = make_move(1, qty_delta=4)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def second_writer() -> None:
        try:
            with cloud_engine.begin() as conn:
                results.append(insert_moves(conn, [move]))
        except BaseException as err:
            errors.append(err)

    with cloud_engine.connect() as first:
        with first.begin():
            assert insert_moves(first, [move]) == [move.move_id]
            thread = threading.Thread(target=second_writer)
            thread.start()
            thread.join(0.3)  # gives it time to reach the lock; not an assertion
        thread.join(10)
    assert not thread.is_alive()
    assert errors == []
    assert results == [[]]
    assert count_moves(cloud_engine) == 1
    with cloud_engine.connect() as conn:
        assert balances(conn) == [WarehouseBalance("WH1", "SKU-1", "A-01", 4)]


# -- property: balances == fold(unique moves), with duplicates and many batches ------------

MOVE_IDS = st.integers(min_value=0, max_value=30)
MOVE_STEP = st.tuples(
    MOVE_IDS,
    st.sampled_from(["WH1", "WH2"]),
    st.sampled_from(["SKU-1", "SKU-2", "SKU-3"]),
    st.sampled_from(["A-01", "B-02"]),
    st.integers(min_value=-50, max_value=50),
)


def _moves_from(steps: list[tuple[int, str, str, str, int]]) -> list[Move]:
    return [
        make_move(n, warehouse_id=wh, sku=sku, location=loc, qty_delta=delta)
        for n, wh, sku, loc, delta in steps
    ]


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(batches=st.lists(st.lists(MOVE_STEP, max_size=8), min_size=1, max_size=6))
def test_balances_equal_the_fold_of_unique_moves(
    cloud_engine: Engine, batches: list[list[tuple[int, str, str, str, int]]]
) -> None:
    seen: dict[str, Move] = {}
    expected: dict[tuple[str, str, str], int] = defaultdict(int)
    # Each example runs in one transaction that is rolled back: the tables are
    # append-only, so this is how examples stay independent.
    with cloud_engine.connect() as conn:
        trans = conn.begin()
        try:
            for batch in batches:
                moves = _moves_from(batch)
                new_expected = []
                for move in moves:
                    if move.move_id not in seen:
                        seen[move.move_id] = move
                        new_expected.append(move.move_id)
                        expected[(move.warehouse_id, move.sku, move.location)] += move.qty_delta
                assert insert_moves(conn, moves) == new_expected
            got = {(b.warehouse_id, b.sku, b.location): b.qty for b in balances(conn, include_zero=True)}
            assert got == dict(expected)
            assert check_balances(conn) == []
            stored = conn.execute(sa.select(sa.func.count()).select_from(stock_moves)).scalar_one()
            assert stored == len(seen)
            assert rebuild_balances(conn) == len(expected)
            got_after = {(b.warehouse_id, b.sku, b.location): b.qty for b in balances(conn, include_zero=True)}
            assert got_after == dict(expected)
        finally:
            trans.rollback()


def test_large_batches_span_several_insert_pages(cloud_engine: Engine) -> None:
    """More rows than one multi-VALUES statement holds: every new id is still reported."""
    first = [make_move(n, qty_delta=1, sku=f"SKU-{n % 7}") for n in range(1500)]
    second = [make_move(n, qty_delta=1, sku=f"SKU-{n % 7}") for n in range(1000, 2600)]
    with cloud_engine.begin() as conn:
        assert insert_moves(conn, first) == [m.move_id for m in first]
    with cloud_engine.begin() as conn:
        assert insert_moves(conn, second) == [m.move_id for m in second[500:]]
    assert count_moves(cloud_engine) == 2600
    with cloud_engine.connect() as conn:
        totals = {b.sku: b.qty for b in balances(conn)}
        assert totals == {f"SKU-{k}": sum(1 for n in range(2600) if n % 7 == k) for k in range(7)}
        assert check_balances(conn) == []


def _reversal(n: int, of: Move, station: str) -> Move:
    return make_move(n, qty_delta=-of.qty_delta, balance_after=0, reason=MoveReason.REVERSAL,
                     source_type="reversal", source_id=of.move_id, reverses_move_id=of.move_id,
                     station_id=station)


def test_a_move_is_reversed_at_most_once(cloud_engine: Engine) -> None:
    original = make_move(1, qty_delta=10, balance_after=10)
    first, second = _reversal(2, original, "st-1"), _reversal(3, original, "st-2")
    with cloud_engine.begin() as conn:
        insert_moves(conn, [original, first])
    with pytest.raises(ReversalConflict, match="already reversed") as err, cloud_engine.begin() as conn:
        insert_moves(conn, [make_move(4), second])  # refused whole, like any invalid move
    assert (err.value.move_id, err.value.winner_id) == (second.move_id, first.move_id)
    with cloud_engine.begin() as conn:
        assert insert_moves(conn, [first]) == []  # the same reversal again is a duplicate
        assert [b.qty for b in balances(conn, include_zero=True)] == [0]  # 10 - 10, not -10
        assert count_moves(cloud_engine) == 2


def test_two_reversals_of_one_move_in_one_batch_conflict(cloud_engine: Engine) -> None:
    original = make_move(1, qty_delta=10, balance_after=10)
    with pytest.raises(ReversalConflict), cloud_engine.begin() as conn:
        insert_moves(conn, [original, _reversal(2, original, "st-1"), _reversal(3, original, "st-2")])
    assert count_moves(cloud_engine) == 0


def test_the_database_itself_refuses_a_second_reversal(cloud_engine: Engine) -> None:
    """The unique index holds even for a writer that skips the check (a concurrent ingest)."""
    original = make_move(1, qty_delta=10, balance_after=10)
    with cloud_engine.begin() as conn:
        insert_moves(conn, [original, _reversal(2, original, "st-1")])
    row = {c.name: getattr(_reversal(3, original, "st-2"), c.name, None) for c in stock_moves.columns}
    row.update(reason=int(MoveReason.REVERSAL), received_at=RECEIVED)
    with pytest.raises(sa.exc.IntegrityError), cloud_engine.begin() as conn:
        conn.execute(sa.insert(stock_moves).values(**row))
