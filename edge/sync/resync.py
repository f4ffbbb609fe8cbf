"""A station restored from its backup resyncs with the cloud, exactly once.

Why: the restored copy is behind the crash. Own moves recorded after the backup point
(acked by the cloud, so never re-sent) and down-messages acked after it (tasks,
intercepts, purchase orders, moves relayed from the other stations) are missing, and the
cloud believes the station has them. Outbox rows acked after the backup point are pending
again in the copy; re-sending them is harmless (the cloud acks known ids again).

How (the simplest design that is correct, with every step idempotent):

1. ``packline-edge restore`` calls :func:`mark_restored` on the restored file: a settings
   row ``restore.pending`` with a fresh request id, the restore point (the backup's time)
   and its transaction id. Only station databases (with a ``settings`` table) are marked.
2. On start the sync daemon calls :func:`request_resync`: in **one** transaction it queues
   an outbox row of kind ``resync`` (``msg_id`` = the request id, payload
   ``ResyncWire``), deletes ``restore.pending`` and records ``restore.resync_msg_id``.
   A crash before the commit leaves the marker, a crash after it leaves the outbox row:
   either way exactly one request exists, and the outbox re-sends it until the cloud's ack.
3. The cloud (``cloud.sync.resync``) answers once per request id: the station's own moves since
   the restore point (less a margin for clock skew) as ``moves`` down-messages, and every
   down-message it acked since then re-sent with its original id. The station applies them
   through the ordinary inbox: ``Writer.apply_remote_moves`` skips known move ids (own
   moves included: it checks the id, not the station) and the inbox skips known msg_ids,
   so whatever the copy already had changes nothing and what it lacked is applied once.

The station keeps its identity: the id comes from the restored ``station_id`` setting (or
``PACKLINE_STATION_ID`` in ``station.env``) and the broker credentials from ``station.env``.
Move ids are UUIDs, so moves recorded after the restore never collide with lost ones.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import UTC, datetime

from edge.store.queries import Queries
from edge.store.writer import Writer
from edge.sync.schema import ResyncWire

PENDING_KEY = "restore.pending"
"""Settings key written by ``packline-edge restore``: a resync is owed (JSON)."""
REQUESTED_KEY = "restore.resync_msg_id"
"""Settings key: the id of the resync request the daemon queued."""
REQUESTED_AT_KEY = "restore.resync_requested_at"
"""Settings key: when the daemon queued it (UTC, ISO 8601)."""


def mark_restored(
    path: str, *, txid: int, restore_point: datetime | None, now: datetime | None = None,
) -> bool:
    """Mark a freshly restored station database so its sync daemon resyncs once.

    ``restore_point`` is the backup's time (None: the newest time found in the database).
    Returns False (and changes nothing) when ``path`` is not a station database.
    """
    now = now or datetime.now(UTC)
    conn = sqlite3.connect(path)
    try:
        has_settings = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'settings'").fetchone()
        if not has_settings:
            return False
        point = restore_point or _newest_time(conn) or now
        value = json.dumps({
            "msg_id": str(uuid.uuid4()), "restore_point": point.isoformat(), "txid": txid,
            "restored_at": now.isoformat(),
        })
        with conn:
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value", [PENDING_KEY, value])
        return True
    finally:
        conn.close()


def _newest_time(conn: sqlite3.Connection) -> datetime | None:
    found: list[datetime] = []
    for sql in ("SELECT MAX(recorded_at) FROM stock_moves", "SELECT MAX(received_at) FROM inbox",
                "SELECT MAX(created_at) FROM outbox"):
        try:
            row = conn.execute(sql).fetchone()
        except sqlite3.OperationalError:  # an older schema without the table
            continue
        if row and row[0]:
            t = datetime.fromisoformat(row[0])
            found.append(t if t.tzinfo else t.replace(tzinfo=UTC))
    return max(found, default=None)


def pending(queries: Queries) -> dict[str, object] | None:
    """The owed resync (``mark_restored``'s record), or None."""
    raw = queries.setting(PENDING_KEY)
    if not raw:
        return None
    data = json.loads(raw)
    return data if isinstance(data, dict) else None


def request_resync(writer: Writer, queries: Queries) -> str | None:
    """Queue the owed resync request in the outbox, once; returns its id (None: none owed)."""
    with writer.transaction():
        owed = pending(queries)
        if owed is None:
            return None
        msg_id = str(owed["msg_id"])
        wire = ResyncWire(
            restore_point=datetime.fromisoformat(str(owed["restore_point"])),
            restored_txid=int(str(owed.get("txid") or 0)),
            restored_at=datetime.fromisoformat(str(owed["restored_at"])),
        )
        writer.enqueue("resync", wire.model_dump(mode="json"), msg_id=msg_id)
        writer.set_setting(REQUESTED_KEY, msg_id)
        writer.set_setting(REQUESTED_AT_KEY, writer.now())
        writer.delete_setting(PENDING_KEY)
        return msg_id
