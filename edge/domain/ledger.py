"""Pure ledger rules: folding moves into balances and planning reversals.

Nothing here touches a database; the store applies these rules inside its transactions,
and the property tests compare the store against them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from edge.domain.models import Move, MoveReason, MoveRequest
from edge.errors import AlreadyReversed

Key = tuple[str, str]
"""(sku, location)"""


def fold(moves: Iterable[Move]) -> dict[Key, int]:
    """Balances as the plain sum of every move's delta, per (sku, location)."""
    totals: dict[Key, int] = defaultdict(int)
    for move in moves:
        totals[(move.sku, move.location)] += move.qty_delta
    return dict(totals)


def plan_reversal(move: Move, *, operator_id: str, note: str | None = None) -> MoveRequest:
    """The move that undoes ``move``: same SKU and location, sign flipped, reason REVERSAL.

    A reversal is itself never reversed: to undo a reversal, record the original move again.
    """
    if move.reason is MoveReason.REVERSAL:
        raise AlreadyReversed(f"冲销记录不能再冲销 / a reversal cannot be reversed: {move.move_id}")
    return MoveRequest(
        sku=move.sku,
        location=move.location,
        qty_delta=-move.qty_delta,
        reason=MoveReason.REVERSAL,
        source_type="reversal",
        source_id=move.move_id,
        operator_id=operator_id,
        note=note,
    )
