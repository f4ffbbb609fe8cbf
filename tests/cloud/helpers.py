"""Builders for cloud tests."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from edge.domain.models import Move, MoveReason

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
"""A fixed start time for test moves."""


def make_move(n: int = 0, **fields: Any) -> Move:
    """A valid move; ``n`` varies the id and time, ``fields`` override anything."""
    base = Move(
        move_id=str(uuid.UUID(int=n + 1)),
        sku="SKU-1",
        location="A-01",
        qty_delta=5,
        balance_after=5,
        reason=MoveReason.RECEIVE,
        source_type="po",
        source_id="PO-1",
        source_line="1",
        operator_id="u-1",
        station_id="st-1",
        device_id="dev-1",
        occurred_at=T0 + timedelta(minutes=n),
        recorded_at=T0 + timedelta(minutes=n, seconds=1),
        reverses_move_id=None,
        note=None,
        warehouse_id="WH1",
    )
    return replace(base, **fields)
