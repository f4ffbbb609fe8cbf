"""Wire schema shared by edge and cloud: versioned envelopes and their payloads (pydantic).

Everything that crosses MQTT is an ``Envelope``; ``msg_id`` is its idempotency key. For a
stock move the ``msg_id`` is the ``move_id`` itself, so a replayed move is the same message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from edge.domain.models import Move, MoveReason

WIRE_VERSION = 1


class MoveWire(BaseModel):
    """A stock move as it travels between station and cloud."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    move_id: str = Field(min_length=8, max_length=64)
    """Globally unique id (UUID); the idempotency key everywhere."""
    warehouse_id: str = Field(min_length=1, max_length=64)
    """Warehouse whose stock moved."""
    sku: str = Field(min_length=1, max_length=64)
    """Packline SKU code."""
    location: str = Field(min_length=1, max_length=64)
    """Location code (bin) inside the warehouse."""
    qty_delta: int = Field(ge=-10_000_000, le=10_000_000)
    """Signed quantity: positive into stock, negative out. Never zero."""
    balance_after: int
    """The balance at this location right after the move, as the recording station saw it."""
    reason: MoveReason
    """Why stock moved (``MoveReason`` code)."""
    source_type: str = Field(max_length=64)
    """Kind of source document: order, po, count, transfer, manual, reversal, ..."""
    source_id: str = Field(max_length=128)
    """Id of the source document."""
    source_line: str | None = Field(default=None, max_length=64)
    """Line of the source document, when it has lines."""
    operator_id: str = Field(min_length=1, max_length=64)
    """Who made the move."""
    station_id: str = Field(min_length=1, max_length=64)
    """Station that recorded the move."""
    device_id: str | None = Field(default=None, max_length=128)
    """Scanner or device that triggered it, when known."""
    occurred_at: datetime
    """When it happened (UTC)."""
    recorded_at: datetime
    """When the station committed it (UTC)."""
    reverses_move_id: str | None = Field(default=None, max_length=64)
    """For a reversal: the move it undoes."""
    note: str | None = Field(default=None, max_length=500)
    """Free text, e.g. the reason for a manual adjustment."""

    @classmethod
    def from_move(cls, move: Move) -> MoveWire:
        return cls(
            move_id=move.move_id,
            warehouse_id=move.warehouse_id,
            sku=move.sku,
            location=move.location,
            qty_delta=move.qty_delta,
            balance_after=move.balance_after,
            reason=move.reason,
            source_type=move.source_type,
            source_id=move.source_id,
            source_line=move.source_line,
            operator_id=move.operator_id,
            station_id=move.station_id,
            device_id=move.device_id,
            occurred_at=move.occurred_at,
            recorded_at=move.recorded_at,
            reverses_move_id=move.reverses_move_id,
            note=move.note,
        )

    def to_move(self) -> Move:
        return Move(**self.model_dump())


class Envelope(BaseModel):
    """One message on the wire. ``kind`` says how to read ``payload``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: int = WIRE_VERSION
    """Wire version; a receiver rejects versions it does not know."""
    msg_id: str = Field(min_length=8, max_length=64)
    """Idempotency key: applying the same msg_id twice changes nothing."""
    kind: str = Field(min_length=1, max_length=32)
    """Message kind, e.g. ``move``, ``shipment``, ``sign_in``, ``task``, ``intercept``."""
    station_id: str = Field(min_length=1, max_length=64)
    """Sender (up) or addressee (down) station."""
    created_at: datetime
    """When the message was created (UTC)."""
    payload: dict[str, Any]
    """Kind-specific body."""
