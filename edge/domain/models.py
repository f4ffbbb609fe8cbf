"""Domain values shared by the edge store, the UI, sync and the cloud.

Frozen dataclasses inside, pydantic only at the boundaries (see ``edge.sync.schema``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class MoveReason(enum.IntEnum):
    """Why stock moved. Gapped groups so new codes land beside their siblings."""

    RECEIVE = 10
    """Goods received against a purchase order (采购入库)."""
    RETURN = 11
    """Customer return put back to stock (退货入库)."""
    TRANSFER_OUT = 20
    """Sent to another warehouse (调拨出库)."""
    TRANSFER_IN = 21
    """Received from another warehouse (调拨入库)."""
    PICK = 30
    """Picked from a bin to the pack area (拣货)."""
    SHIP = 31
    """Shipped to a buyer (发货出库)."""
    COUNT_ADJUST = 40
    """Stocktake difference (盘点调整)."""
    MANUAL_ADJUST = 41
    """Manual adjustment with a written reason (手工调整)."""
    DAMAGE = 50
    """Damaged or lost (报损)."""
    REVERSAL = 90
    """Reverses an earlier move; carries ``reverses_move_id`` (冲销)."""

    @property
    def label_zh(self) -> str:
        return _LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _LABELS[self][1]

    def label(self, lang: str = "zh") -> str:
        return self.label_zh if lang == "zh" else self.label_en


_LABELS: dict[MoveReason, tuple[str, str]] = {
    MoveReason.RECEIVE: ("采购入库", "Receive"),
    MoveReason.RETURN: ("退货入库", "Return"),
    MoveReason.TRANSFER_OUT: ("调拨出库", "Transfer out"),
    MoveReason.TRANSFER_IN: ("调拨入库", "Transfer in"),
    MoveReason.PICK: ("拣货", "Pick"),
    MoveReason.SHIP: ("发货出库", "Ship"),
    MoveReason.COUNT_ADJUST: ("盘点调整", "Count adjustment"),
    MoveReason.MANUAL_ADJUST: ("手工调整", "Manual adjustment"),
    MoveReason.DAMAGE: ("报损", "Damage"),
    MoveReason.REVERSAL: ("冲销", "Reversal"),
}


class Role(enum.StrEnum):
    """Least-privilege roles, from the floor to the owner."""

    PACKER = "packer"
    WAREHOUSE_LEAD = "warehouse_lead"
    PURCHASER = "purchaser"
    FINANCE = "finance"
    MANAGER = "manager"
    ADMIN = "admin"


class NegativeStockPolicy(enum.StrEnum):
    """What a warehouse does when a move would take a balance below zero."""

    REFUSE = "refuse"
    """Refuse the move with ``InsufficientStock``."""
    ALLOW_WITH_ALERT = "allow_with_alert"
    """Record the move and raise a ``negative_stock`` alert (never silently)."""


MAX_MOVE_QTY = 10_000_000
"""The largest quantity one move may change (either sign): the wire schema's bound, so a
move recorded anywhere can travel to the cloud and the other stations."""


def qty_out_of_range(qty: int) -> str | None:
    """The one-line refusal (中文 / English) for a move quantity beyond ±``MAX_MOVE_QTY``."""
    if abs(qty) <= MAX_MOVE_QTY:
        return None
    return (f"数量超出范围 (最多 ±{MAX_MOVE_QTY:,}): {qty} / "
            f"a move changes at most ±{MAX_MOVE_QTY:,} units: {qty}")


@dataclass(frozen=True, slots=True)
class Move:
    """One append-only change of stock at one location. ``move_id`` is the idempotency key."""

    move_id: str
    sku: str
    location: str
    qty_delta: int
    balance_after: int
    reason: MoveReason
    source_type: str
    source_id: str
    source_line: str | None
    operator_id: str
    station_id: str
    device_id: str | None
    occurred_at: datetime
    recorded_at: datetime
    reverses_move_id: str | None = None
    note: str | None = None
    warehouse_id: str = ""


@dataclass(frozen=True, slots=True)
class Balance:
    """On-hand quantity of one SKU at one location, derived from moves."""

    sku: str
    location: str
    qty: int


@dataclass(frozen=True, slots=True)
class MoveRequest:
    """What a caller asks the writer to record; the writer assigns balance and time."""

    sku: str
    location: str
    qty_delta: int
    reason: MoveReason
    source_type: str
    source_id: str
    operator_id: str
    source_line: str | None = None
    note: str | None = None
    move_id: str | None = None
    occurred_at: datetime | None = None
    device_id: str | None = None
