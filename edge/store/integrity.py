"""Checks of the ledger itself, beyond "the balances cache equals the fold of the moves".

The triggers refuse UPDATE, DELETE and REPLACE on ``stock_moves``, but a file can still be
edited by a tool that drops them. Two facts every honest ledger keeps let ``check`` name a
forged row instead of rebuilding balances from it:

- **The balance chain.** Per (SKU, location), in ``seq`` order, each move's
  ``balance_after`` is the previous move's ``balance_after`` plus its own ``qty_delta``
  (the writer computes it so for local and remote moves alike; the first starts from 0).
- **The outbox.** Every move recorded here was written with its outbox row for the cloud
  (``kind = 'move'``, ``msg_id`` = the move id, the payload the move as sent) in the same
  transaction, and outbox rows are never deleted. So each such row names a move that must
  exist with exactly that content. Moves that came from elsewhere (other stations, a
  resync after a restore) have no outbox row here and are checked by the chain only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from edge.store.queries import row_to_move
from edge.sync.schema import MoveWire


@dataclass(frozen=True)
class LedgerProblem:
    """One row that is not what an honest ledger holds."""

    move_id: str
    """The move named (for a missing move: the id its outbox row carries)."""
    problem: str
    """What is wrong, ``中文 / English``, one line."""


def _chain_problems(db: Database) -> list[LedgerProblem]:
    problems: list[LedgerProblem] = []
    last: dict[tuple[str, str], int] = {}
    rows = db.execute(  # streamed: a year's million moves never sit in memory at once
        "SELECT move_id, sku, location, qty_delta, balance_after FROM stock_moves ORDER BY seq")
    for move_id, sku, location, qty, after in rows:
        before = last.get((sku, location), 0)
        if after != before + qty:
            problems.append(LedgerProblem(
                move_id,
                f"结存不连续 / balance chain broken at {sku}@{location}: "
                f"balance_after {after} ≠ {before} {qty:+d}",
            ))
        last[(sku, location)] = after
    return problems


def _differences(ledger: dict[str, Any], sent: dict[str, Any]) -> list[str]:
    return [f"{key} {ledger.get(key)!r} ≠ {sent.get(key)!r}"
            for key in sorted(set(ledger) | set(sent)) if ledger.get(key) != sent.get(key)]


def _outbox_problems(db: Database) -> list[LedgerProblem]:
    columns = [c.name for c in db["stock_moves"].columns]
    problems: list[LedgerProblem] = []
    # one streamed join (not a lookup per row, not the whole outbox in memory)
    for record in db.execute(
        "SELECT o.msg_id, o.payload, m.* FROM outbox o LEFT JOIN stock_moves m "
        "ON m.move_id = o.msg_id WHERE o.kind = 'move' ORDER BY o.seq"
    ):
        msg_id, payload, row = record[0], record[1], record[2:]
        if row[0] is None:
            problems.append(LedgerProblem(
                msg_id, "流水缺失 / a move sent to the cloud is missing from the ledger"))
            continue
        try:
            ledger = MoveWire.from_move(row_to_move(row, columns)).model_dump(mode="json")
        except ValueError as err:  # a value no honest move holds (reason code, length, ...)
            problems.append(LedgerProblem(msg_id, f"流水无效 / not a valid move: {err}".splitlines()[0]))
            continue
        diffs = _differences(ledger, json.loads(payload))
        if diffs:
            problems.append(LedgerProblem(
                msg_id, "流水与发给云端的不同 / the move differs from what was sent to the cloud: "
                + "; ".join(diffs)))
    return problems


def ledger_problems(db: Database) -> list[LedgerProblem]:
    """Every row that breaks the balance chain or differs from its outbox row, in ledger order."""
    return _chain_problems(db) + _outbox_problems(db)
