"""Dead letters keep the id of the message they hold, once.

A message that trips a bug is dead-lettered under its own ``msg_id`` (read from the raw
payload when decoding got that far), so the station is told it was refused and stops
re-sending it; and a station that re-sends a message already dead-lettered (its ack was
lost) adds no second row.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud.db.schema import dead_letters

ID_LENGTH = (8, 64)
"""A message id's shortest and longest length (``edge.sync.schema.Envelope.msg_id``)."""


def msg_id_of(raw: bytes) -> str | None:
    """The ``msg_id`` of a raw envelope, if it has a plausible one."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    value = data.get("msg_id") if isinstance(data, dict) else None
    low, high = ID_LENGTH
    return value if isinstance(value, str) and low <= len(value) <= high else None


def unseen(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` without those whose (station, msg_id) is already a dead letter (or twice
    in ``rows``); rows without an id are all kept."""
    ids = {r["msg_id"] for r in rows if r.get("msg_id")}
    seen: set[tuple[str | None, str]] = set()
    if ids:
        d = dead_letters.c
        seen = {(s, m) for s, m in conn.execute(
            sa.select(d.station_id, d.msg_id).where(d.msg_id.in_(sorted(ids))))}
    kept = []
    for row in rows:
        key = (row.get("station_id"), row.get("msg_id"))
        if key[1]:
            if key in seen:
                continue
            seen.add(key)  # type: ignore[arg-type]
        kept.append(row)
    return kept
