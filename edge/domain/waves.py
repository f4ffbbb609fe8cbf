"""Picking waves at the station, the pure part: the walking path, the pick list, and which
orders a short pick leaves short.

Picking moves no stock: the goods stay on the station's books at their locations until
packing ships them (the SHIP moves of each order). A wave only says what to take from
where, and in which order to walk.

**Walking path.** A location code splits on ``-`` into zone, aisle, bay and level
(``A-03-12-2``: zone A, aisle 3, bay 12, level 2; missing parts count as 0). The picker
walks zone by zone, aisle by aisle; odd aisles are walked with the bays ascending, even
aisles descending (a serpentine: each aisle starts where the last one ended), and within a
bay from the lowest level up. Codes that do not split that way sort after, by code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

NO_LOCATION = "-"
"""The pick line's location for a SKU the ledger holds nowhere (and that has no default
location): the picker will find nothing and record it short."""
LOCATION_PARTS = 4
"""Zone, aisle, bay, level."""


def split_location(code: str) -> tuple[str, int, int, int] | None:
    """``(zone, aisle, bay, level)`` of a location code, or None when it does not split
    into a zone and up to three numbers."""
    parts = code.split("-")
    if not parts[0] or len(parts) > LOCATION_PARTS or not all(p.isdigit() for p in parts[1:]):
        return None
    numbers = [int(p) for p in parts[1:]] + [0] * (LOCATION_PARTS - len(parts))
    return parts[0], numbers[0], numbers[1], numbers[2]


def walk_key(code: str) -> tuple[int, str, int, int, int, str]:
    """Sort key of a location on the walking path (module doc): serpentine on aisles."""
    split = split_location(code)
    if split is None:
        return (1, code, 0, 0, 0, code)
    zone, aisle, bay, level = split
    return (0, zone, aisle, bay if aisle % 2 else -bay, level, code)


def walk(codes: Iterable[str]) -> list[str]:
    """Location codes in walking order."""
    return sorted(codes, key=walk_key)


@dataclass
class PickLine:
    """One line of a pick list: units of one SKU to take at one location."""

    location: str
    sku: str
    wanted: int
    picked: int = 0
    done: bool = False
    """Picked in full, or closed short by the picker."""

    @property
    def short(self) -> int:
        """Units wanted and not picked."""
        return max(0, self.wanted - self.picked)


def needs_of(order_lines: Iterable[tuple[str, str, int]]) -> dict[str, int]:
    """SKU → units, summed over ``(order id, SKU, units)`` lines."""
    need: dict[str, int] = {}
    for _order, sku, qty in order_lines:
        need[sku] = need.get(sku, 0) + qty
    return need


def pick_list(need: Mapping[str, int], stock: Mapping[str, Sequence[tuple[str, int]]],
              default_location: Mapping[str, str | None] | None = None) -> list[PickLine]:
    """The pick list for ``need`` (SKU → units): each SKU taken where the ledger holds it
    (``stock``: SKU → (location, on hand)), locations in walking order, as many units from
    each as it holds; what the stock cannot cover is added to the SKU's first location (its
    default location, or ``NO_LOCATION``, when it has none) — a short pick to come. Lines
    in walking order, then by SKU."""
    lines: dict[tuple[str, str], int] = {}
    for sku, units in need.items():
        places = [(loc, qty) for loc, qty in stock.get(sku, ()) if qty > 0]
        places.sort(key=lambda p: walk_key(p[0]))
        left = units
        for loc, qty in places:
            take = min(qty, left)
            if take:
                lines[(loc, sku)] = lines.get((loc, sku), 0) + take
                left -= take
        if left:
            first = places[0][0] if places else (
                (default_location or {}).get(sku) or NO_LOCATION)
            lines[(first, sku)] = lines.get((first, sku), 0) + left
    return [PickLine(loc, sku, n) for (loc, sku), n in
            sorted(lines.items(), key=lambda kv: (walk_key(kv[0][0]), kv[0][1]))]


def short_orders(orders: Sequence[tuple[str, Mapping[str, int]]],
                 picked: Mapping[str, int]) -> list[str]:
    """Orders a pick leaves short: the picked units of each SKU go to the orders in their
    given order (put-wall slot order) while they cover an order's whole need of it; an order
    that does not get all it needs of every SKU is short. Its units are not given to it
    (they stay for the orders after it)."""
    left = dict(picked)
    short: list[str] = []
    for order_id, need in orders:
        if all(left.get(sku, 0) >= n for sku, n in need.items()):
            for sku, n in need.items():
                left[sku] -= n
        else:
            short.append(order_id)
    return short
