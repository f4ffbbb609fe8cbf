"""库龄 (``stock_value.ageing``, walked in SQL) against a reference model written here: for
each warehouse × SKU, its inflows (receipts, returns, transfers in, adjustments up) newest
first — ties by move id, newest first — each covering what is left of the balance; the rest
is older than the ledger. Random ledgers (same times on purpose, picks and ships mixed in)
on both engines; a few hand-made ones in ``tests/cloud/web/test_report_stock.py``."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema import stock_balances
from cloud.ledger_store import insert_moves
from cloud.reports import stock_value
from cloud.reports.stock_value import AGE_BUCKETS, INFLOWS, ageing
from edge.domain.models import MoveReason
from tests.cloud.helpers import T0, make_move

NOW = T0 + timedelta(days=200)
KEYS = [("WH1", "A"), ("WH1", "B"), ("WH2", "A")]


def _reference(moves: list[tuple[str, str, str, int, int, datetime]],
               balance: dict[tuple[str, str], int]) -> dict[tuple[str, str], tuple[int, ...]]:
    out = {}
    for key, qty in balance.items():
        if qty <= 0:
            continue
        vec = [0, 0, 0, 0]
        left = qty
        ins = sorted((m for m in moves if (m[1], m[2]) == key and m[3] > 0
                      and m[4] in {int(r) for r in INFLOWS}),
                     key=lambda m: (m[5], m[0]), reverse=True)
        for _id, _w, _s, q, _r, at in ins:
            if left <= 0:
                break
            take = min(left, q)
            days = (NOW - at).days
            vec[next((n for n, b in enumerate(AGE_BUCKETS) if days <= b), 3)] += take
            left -= take
        vec[3] += left
        out[key] = tuple(vec)
    return out


@pytest.mark.parametrize("in_chunk", [500, 1], ids=["some-skus", "every-inflow"])
def test_ageing_matches_the_reference_on_random_ledgers(
        cloud_engine: Engine, in_chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stock_value, "IN_CHUNK", in_chunk)  # 1: past it, every inflow read
    rnd = random.Random(5)
    n = 0
    for _round in range(6):
        made = []  # each round its own SKUs: the ledger is append-only
        for _ in range(40):
            wh, sku = rnd.choice(KEYS)
            sku = f"{sku}{_round}"
            reason = rnd.choice([MoveReason.RECEIVE, MoveReason.RETURN, MoveReason.SHIP,
                                 MoveReason.PICK, MoveReason.COUNT_ADJUST])
            qty = rnd.randint(1, 9) * (-1 if reason in (MoveReason.SHIP,) else 1)
            if reason == MoveReason.COUNT_ADJUST and rnd.random() < 0.5:
                qty = -qty
            at = NOW - timedelta(days=rnd.choice([0, 5, 30, 31, 45, 60, 61, 90, 91, 150]),
                                 hours=rnd.choice([0, 0, 3]))
            move = make_move(n, sku=sku, warehouse_id=wh, qty_delta=qty, reason=reason,
                             balance_after=0, occurred_at=at, source_type="test",
                             source_id=str(n))
            n += 1
            made.append((move.move_id, wh, sku, qty, int(reason), at))
            with cloud_engine.begin() as conn:
                insert_moves(conn, [move], received_at=NOW)
        with cloud_engine.connect() as conn:
            balance = {(r.warehouse_id, r.sku): int(r.qty) for r in conn.execute(
                sa.select(stock_balances.c.warehouse_id, stock_balances.c.sku,
                          sa.func.sum(stock_balances.c.qty).label("qty"))
                .where(stock_balances.c.sku.like(f"%{_round}"))
                .group_by(stock_balances.c.warehouse_id, stock_balances.c.sku))}
            got = ageing(conn, balance, now=NOW)
        assert got == _reference(made, balance), _round
        assert any(v[3] for v in got.values()) and any(v[0] for v in got.values())
