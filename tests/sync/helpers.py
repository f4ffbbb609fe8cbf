"""Shared helpers for the sync tests: moves, envelopes, bounded waits."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from edge.domain.models import MoveReason, MoveRequest
from edge.store import Store
from edge.sync.schema import Envelope, encode


def receive_moves(store: Store, n: int, *, location: str = "A-01-01", sku: str = "CUP-350") -> list[str]:
    """Record ``n`` receive moves (one transaction each); returns their ids."""
    ids = []
    for i in range(n):
        move = store.writer.record_move(MoveRequest(
            sku=sku, location=location, qty_delta=1 + i % 3, reason=MoveReason.RECEIVE,
            source_type="po", source_id=f"PO-{i}", operator_id="op1"))
        ids.append(move.move_id)
    return ids


def envelope(kind: str, station: str, payload: dict[str, Any], msg_id: str | None = None) -> bytes:
    return encode(Envelope(msg_id=msg_id or str(uuid.uuid4()), kind=kind, station_id=station,
                           created_at=datetime(2026, 11, 23, 8, 0, tzinfo=UTC), payload=payload))


def wait_until(cond: Callable[[], bool], timeout: float, step: Callable[[], object] | None = None,
               what: str = "condition") -> None:
    """Poll ``cond`` (running ``step`` between polls) until true or ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        if step is not None:
            step()
        else:
            time.sleep(0.02)


def pending(store: Store) -> int:
    return int(store.writer.db.execute("SELECT COUNT(*) FROM outbox WHERE acked_at IS NULL").fetchone()[0])
