"""Cloud → station messages: a transactional outbox the ingest process publishes from.

Cloud code (marketplace sync, order allocation, purchasing, the web UI) never talks to
MQTT. It writes a ``downlink_outbox`` row in the same transaction as its own change::

    with engine.begin() as conn:
        ...allocate the order...
        send_task(conn, "st-01", TaskWire(order_id=..., lines=[...], print_data={...}))

``packline-cloud ingest`` publishes pending rows to ``packline/v1/st/{station}/down/{kind}``
and re-sends each (backoff, bounded window per station) until the station's application
ack for its ``msg_id`` arrives on ``up/ack``. The station applies each ``msg_id`` once.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Connection

from cloud.db.schema import downlink_outbox, stations
from edge.sync.schema import (
    DOWN_KINDS,
    CatalogWire,
    InterceptWire,
    MovesWire,
    MoveWire,
    PurchaseOrderWire,
    ReleaseWire,
    ShippedWire,
    TaskWire,
)

DUE_AT_ONCE = datetime(1970, 1, 1, tzinfo=UTC)
"""``next_attempt_at`` of a new down-message: due at once on any clock. The row is written
by whichever component produced it (worker, ingest's relay, a CLI) on its own clock, but
only ingest schedules re-sends, on ingest's clock; a writer's clock ahead of ingest's must
not hold a message back."""


def enqueue_down(
    conn: Connection, station_id: str, kind: str, payload: BaseModel, *,
    now: datetime, msg_id: str | None = None,
) -> str:
    """Queue one message for ``station_id`` inside the caller's transaction; returns its id.

    ``now`` is required: it is the caller's clock (the one that later decides what is due),
    never the wall clock read here.
    """
    if kind not in DOWN_KINDS or kind == "ack":
        raise ValueError(f"not a down-message kind: {kind!r}")
    msg_id = msg_id or str(uuid.uuid4())
    conn.execute(
        sa.insert(downlink_outbox).values(
            msg_id=msg_id, station_id=station_id, kind=kind,
            payload=payload.model_dump(mode="json"), created_at=now, next_attempt_at=DUE_AT_ONCE,
        )
    )
    return msg_id


def send_task(conn: Connection, station_id: str, task: TaskWire, *, now: datetime) -> str:
    """A pack task (order, lines, waybill print data) for one station."""
    return enqueue_down(conn, station_id, "task", task, now=now)


def send_intercept(
    conn: Connection, station_id: str, order_id: str, reason: str, *, seq: int = 0,
    now: datetime,
) -> str:
    """Stop an order at the station that packs it (refund, address change); ``seq``
    numbers the order's hold decisions (see ``send_release``)."""
    return enqueue_down(conn, station_id, "intercept",
                        InterceptWire(order_id=order_id, reason=reason, seq=seq), now=now)


def send_release(
    conn: Connection, station_id: str, order_id: str, reason: str, *, seq: int, now: datetime
) -> str:
    """Let an intercepted order be packed again; the station applies it only if ``seq`` is
    newer than every hold decision it applied for the order."""
    return enqueue_down(conn, station_id, "release",
                        ReleaseWire(order_id=order_id, reason=reason, seq=seq), now=now)


def send_catalog(
    conn: Connection, station_ids: Sequence[str], catalog: CatalogWire, *, now: datetime
) -> list[str]:
    """Catalog changes (SKUs, barcodes, locations, warehouses) for each given station."""
    return [enqueue_down(conn, s, "catalog", catalog, now=now) for s in station_ids]


def send_po(
    conn: Connection, station_ids: Sequence[str], po: PurchaseOrderWire, *, now: datetime
) -> list[str]:
    """A purchase order to receive, for the stations of its warehouse."""
    return [enqueue_down(conn, s, "po", po, now=now) for s in station_ids]


def send_moves(conn: Connection, station_id: str, moves: MovesWire, *, now: datetime) -> str:
    """Moves recorded elsewhere in the station's warehouse (used by ingest's relay)."""
    return enqueue_down(conn, station_id, "moves", moves, now=now)


def send_shipped(conn: Connection, station_id: str, shipped: ShippedWire, *, now: datetime) -> str:
    """Orders the station shipped, for a station restored from an older copy (resync)."""
    return enqueue_down(conn, station_id, "shipped", shipped, now=now)


MOVES_PER_MESSAGE = 500
"""Most moves in one down ``moves`` message (a relay or a resync). A tenth of what the wire
takes (``MovesWire.moves``, at most 5,000 in ``edge.sync.schema``): about 200 KB of JSON
with ids of everyday length, applied by the station in one transaction."""


def relay_moves(
    conn: Connection, moves: Sequence[MoveWire], *, now: datetime,
    stations_of: Callable[[str], Sequence[str]] | None = None,
) -> int:
    """Queue ``moves`` for every station of their warehouse except the one that recorded
    each (ingest relays station moves; the cloud's own moves, ``station_id`` ``cloud``, go
    to all of them), in the caller's transaction, so the move and its relay commit together
    and each station gets it once (it applies each ``move_id`` once anyway). ``stations_of``
    (default: :func:`stations_of_warehouse`) lists a warehouse's stations. Returns the
    number of (move, station) deliveries queued."""
    lookup = stations_of or (lambda wh: stations_of_warehouse(conn, wh))
    by_wh: dict[str, list[MoveWire]] = defaultdict(list)
    for wire in moves:
        by_wh[wire.warehouse_id].append(wire)
    queued = 0
    for warehouse_id, wires in by_wh.items():
        for target in lookup(warehouse_id):
            mine = [w for w in wires if w.station_id != target]
            for i in range(0, len(mine), MOVES_PER_MESSAGE):
                part = mine[i : i + MOVES_PER_MESSAGE]
                send_moves(conn, target, MovesWire(moves=part), now=now)
                queued += len(part)
    return queued


def stations_of_warehouse(conn: Connection, warehouse_id: str) -> list[str]:
    """Stations of a warehouse that are not revoked, by id."""
    rows = conn.execute(
        sa.select(stations.c.id)
        .where(stations.c.warehouse_id == warehouse_id, stations.c.status != "revoked")
        .order_by(stations.c.id)
    )
    return [r[0] for r in rows]


def pending_count(conn: Connection, station_id: str | None = None) -> int:
    """Down-messages not yet acked (for one station or all)."""
    query = sa.select(sa.func.count()).select_from(downlink_outbox).where(
        downlink_outbox.c.acked_at.is_(None))
    if station_id is not None:
        query = query.where(downlink_outbox.c.station_id == station_id)
    return int(conn.execute(query).scalar_one())
