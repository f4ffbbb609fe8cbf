"""盘点 stocktake: pure rules for blind counts, recounts and the adjustments they produce.

A lead starts a stocktake at the kiosk for the whole warehouse, one zone (locations whose
code starts with the zone prefix) or one SKU. Starting records the **snapshot position**:
the station ledger's last ``stock_moves.seq``. Counters then count location by location,
blind (the expected quantity is never shown while counting).

**The adjustment rule.** A count is a picture of one shelf at the moment it was counted,
not at the snapshot: the floor keeps picking and receiving while the stocktake is open.
So each location's count records the ledger position at the moment the count was
confirmed (``ledger_seq``) and the book quantity at that position (``expected``: the
balance of that SKU at that location after every move up to ``ledger_seq``). At approval
each counted SKU/location gets one COUNT_ADJUST move of

    adjustment = counted − expected (balance at count time)

never ``counted − balance now`` and never ``counted − balance at snapshot``:

* a move recorded *before* the location was counted already shows on the shelf, so it is
  in both the count and the expected figure and cancels out;
* a move recorded *after* the location was counted (between the count and approval) is
  not in the count, and stays in the ledger untouched: the balance after approval is
  ``counted + moves since the count``.

Example (tested): snapshot balance 10 at A-01-01; a pick of 2 is recorded during the open
stocktake, before the location is counted (balance 8); the counter finds 7; later, before
approval, another pick of 1 (balance 7). Expected at count time is 8, the adjustment is
7 − 8 = −1, and the balance after approval is 7 − 1 = 6 = 7 counted − 1 picked since.
(``counted − balance now`` would give 0 and lose the missing unit; ``counted − snapshot``
would give −3 and count the first pick twice.)

A move applied here from another station or the cloud counts from when it is recorded in
this station's ledger (its local ``seq``), the only order this station knows.

**Recounts.** When any SKU at a location differs from its expected figure by more than the
recount threshold (``needs_recount``), the kiosk asks for a recount of that location. The
recount (round 2) replaces the first count for the adjustment; both rounds are kept and
reported. A recount is asked for once: its figure stands.

A SKU expected at a counted location but not scanned there counts 0; a location in scope
never counted is not adjusted (it shows as uncounted).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

RECOUNT_MIN_UNITS = 2
"""A difference of at most this many units never asks for a recount."""
RECOUNT_SHARE = Decimal("0.05")
"""A difference of at most this share of the expected quantity (5 %) never asks for a
recount: a recount is asked for when the difference exceeds both this and
``RECOUNT_MIN_UNITS``."""
FIRST_ROUND = 1
"""The round number of a location's first count."""
RECOUNT_ROUND = 2
"""The round number of the one recount a location may be asked for."""
SOURCE_TYPE = "stocktake"
"""``source_type`` of count-adjustment moves (``source_id`` is the stocktake id)."""


class Scope(enum.StrEnum):
    """What a stocktake counts."""

    FULL = "full"
    """Every location of the warehouse."""
    ZONE = "zone"
    """Locations whose code starts with ``scope_value`` (a zone prefix such as ``A``)."""
    SKU = "sku"
    """One SKU (``scope_value``), wherever it is."""


def in_scope(scope: Scope, value: str, *, sku: str, location: str) -> bool:
    """Whether ``sku`` at ``location`` belongs to a stocktake of ``scope`` / ``value``."""
    if scope is Scope.ZONE:
        return location.startswith(value)
    if scope is Scope.SKU:
        return sku == value
    return True


def needs_recount(counted: int, expected: int) -> bool:
    """True when a count differs from the book figure by more than ``RECOUNT_MIN_UNITS``
    and by more than ``RECOUNT_SHARE`` of the expected quantity."""
    diff = abs(counted - expected)
    return diff > RECOUNT_MIN_UNITS and Decimal(diff) > RECOUNT_SHARE * abs(expected)


@dataclass(frozen=True, slots=True)
class CountLine:
    """One SKU at one location in one round: what was counted and the book figure at the
    count's ledger position."""

    location: str
    sku: str
    round: int
    counted: int
    expected: int

    @property
    def variance(self) -> int:
        """``counted − expected``: the adjustment this line would make."""
        return self.counted - self.expected


def final_lines(lines: list[CountLine]) -> list[CountLine]:
    """Per location the lines of its last round (a recount replaces the first count),
    sorted by location and SKU."""
    last: dict[str, int] = {}
    for line in lines:
        last[line.location] = max(last.get(line.location, 0), line.round)
    return sorted((ln for ln in lines if ln.round == last[ln.location]),
                  key=lambda ln: (ln.location, ln.sku))


def adjustments(lines: list[CountLine]) -> list[CountLine]:
    """The final lines that differ from the books: each becomes one COUNT_ADJUST move of
    ``variance`` units."""
    return [ln for ln in final_lines(lines) if ln.variance != 0]
