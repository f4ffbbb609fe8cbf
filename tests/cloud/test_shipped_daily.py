"""Units shipped per day (``shipped_daily``, kept by ``ledger_store.insert_moves``) and the
stock report's ``shipped_units`` that reads whole days there and the partial days from the
ledger — both against a reference model written here over the same moves: SHIP moves count
on their time, reversals of SHIP moves come off at the original's time, other moves do not
count. Random ledgers and windows (midnights, partial days, one-day and empty windows) on
both engines; the migration's backfill against a hand-made ledger."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud import ledger_store
from cloud.db import make_engine, migrate
from cloud.db.schema import shipped_daily, stock_moves
from cloud.ledger_store import insert_moves
from cloud.reports.stock_value import shipped_units
from edge.domain.models import Move, MoveReason
from tests.cloud.helpers import make_move

DAY0 = datetime(2026, 11, 1, tzinfo=UTC)


def _daily(engine: Engine) -> dict[tuple[date, str, str], int]:
    with engine.connect() as conn:
        return {(r.day, r.warehouse_id, r.sku): int(r.units)
                for r in conn.execute(sa.select(shipped_daily)) if r.units}


def test_shipped_daily_and_windows_match_the_reference(cloud_engine: Engine) -> None:
    rnd = random.Random(3)
    ships: list[Move] = []
    counted: list[tuple[datetime, str, str, int]] = []  # (time it counts at, wh, sku, units)
    for n in range(120):
        wh, sku = rnd.choice(["WH1", "WH2"]), rnd.choice(["A", "B", "C"])
        at = DAY0 + timedelta(minutes=rnd.randrange(20 * 24 * 60))
        if ships and rnd.random() < 0.2:  # reverse an earlier shipment (once)
            original = ships.pop(rnd.randrange(len(ships)))
            move = make_move(n, sku=original.sku, warehouse_id=original.warehouse_id,
                             qty_delta=-original.qty_delta, balance_after=0,
                             reason=MoveReason.REVERSAL, reverses_move_id=original.move_id,
                             occurred_at=at, source_type="order", source_id="o")
            counted.append((original.occurred_at, original.warehouse_id, original.sku,
                            original.qty_delta))
        elif rnd.random() < 0.2:  # a receipt: not a shipment
            move = make_move(n, sku=sku, warehouse_id=wh, qty_delta=5, balance_after=0,
                             occurred_at=at)
        else:
            qty = rnd.randint(1, 4)
            move = make_move(n, sku=sku, warehouse_id=wh, qty_delta=-qty, balance_after=0,
                             reason=MoveReason.SHIP, occurred_at=at, source_type="order",
                             source_id=f"o{n}")
            ships.append(move)
            counted.append((at, wh, sku, qty))
        with cloud_engine.begin() as conn:  # one at a time, as stations send them
            assert insert_moves(conn, [move, move], received_at=at) == [move.move_id]
    expected: dict[tuple[date, str, str], int] = {}
    for at, wh, sku, units in counted:
        key = (at.date(), wh, sku)
        expected[key] = expected.get(key, 0) + units
    expected = {k: v for k, v in expected.items() if v}
    assert _daily(cloud_engine) == expected
    with cloud_engine.begin() as conn:
        ledger_store.rebuild_shipped(conn)
    assert _daily(cloud_engine) == expected
    windows = [(DAY0, DAY0 + timedelta(days=30)), (DAY0 + timedelta(days=3),
               DAY0 + timedelta(days=3, hours=5)), (DAY0 + timedelta(days=5), DAY0 + timedelta(days=5))]
    for _ in range(25):
        a = DAY0 + timedelta(minutes=rnd.randrange(20 * 24 * 60))
        windows.append((a, a + timedelta(minutes=rnd.randrange(1, 9 * 24 * 60))))
    with cloud_engine.connect() as conn:
        for since, until in windows:
            for wh in (None, "WH1"):
                want: dict[tuple[str, str], int] = {}
                for at, w, sku, units in counted:
                    if since <= at < until and wh in (None, w):
                        want[(w, sku)] = want.get((w, sku), 0) + units
                got = shipped_units(conn, since, until, wh)
                assert {k: v for k, v in got.items() if v} == {
                    k: v for k, v in want.items() if v}, (since, until, wh)


def test_0051_fills_the_days_from_the_ledger(cloud_db_url: str) -> None:
    """Two shipments of A on either side of midnight (UTC), the second reversed days later;
    one of B in WH2; a receipt. After the upgrade: A 2 on Dec 1, B 1 on Dec 2, nothing else."""
    engine = make_engine(cloud_db_url)
    assert migrate(engine, "0050_sales_geo") == "0050_sales_geo"
    dec1, dec2 = datetime(2026, 12, 1, 23, 30, tzinfo=UTC), datetime(2026, 12, 2, 0, 10, tzinfo=UTC)
    moves = [make_move(1, sku="A", qty_delta=-2, reason=MoveReason.SHIP, occurred_at=dec1),
             make_move(2, sku="A", qty_delta=-3, reason=MoveReason.SHIP, occurred_at=dec2),
             make_move(3, sku="A", qty_delta=3, reason=MoveReason.REVERSAL,
                       occurred_at=dec2 + timedelta(days=3),
                       reverses_move_id=make_move(2).move_id),
             make_move(4, sku="B", warehouse_id="WH2", qty_delta=-1, reason=MoveReason.SHIP,
                       occurred_at=dec2),
             make_move(5, sku="A", qty_delta=10, occurred_at=dec1)]
    with engine.begin() as conn:  # as 0050 stored them (no shipped_daily yet)
        conn.execute(sa.insert(stock_moves), [ledger_store._move_row(m, dec2) for m in moves])
    assert migrate(engine, "0051_shipped_daily") == "0051_shipped_daily"
    got = _daily(engine)
    engine.dispose()
    assert got == {(date(2026, 12, 1), "WH1", "A"): 2, (date(2026, 12, 2), "WH2", "B"): 1}
