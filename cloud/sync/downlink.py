"""Publishing the downlink queue (``downlink_outbox``): what is due goes out, at most a
window of unacked messages per station, each re-sent with doubling delays until the
station's application ack (applied by ingest) closes it.

:mod:`cloud.sync.outbound` puts messages in the queue; this module takes them out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db import write_transaction
from cloud.db.schema import downlink_outbox
from edge.sync.schema import Envelope, down_topic, encode


class Publisher(Protocol):
    """What publishing needs of the MQTT client."""

    def publish(
        self, topic: str, payload: bytes, qos: int = 1,
        user_properties: tuple[tuple[str, str], ...] = (),
    ) -> Any: ...


def publish_due(engine: Engine, bus: Publisher, *, now: datetime, window: int, limit: int,
                resend_after: float, max_resend_after: float) -> int:
    """Publish up to ``limit`` due rows, oldest first, never more than ``window`` unacked
    per station; the n-th send of a row makes it due again ``resend_after · 2ⁿ`` seconds
    later (at most ``max_resend_after``). Returns how many were published."""
    o = downlink_outbox.c
    rank = sa.func.row_number().over(partition_by=o.station_id, order_by=o.seq).label("pos")
    ranked = (
        sa.select(o.seq, o.msg_id, o.station_id, o.kind, o.payload, o.created_at,
                  o.attempts, o.next_attempt_at, rank)
        .where(o.acked_at.is_(None))
        .subquery()
    )
    query = (
        sa.select(ranked)
        .where(ranked.c.pos <= window, ranked.c.next_attempt_at <= now)
        .order_by(ranked.c.seq)
        .limit(limit)
    )
    with write_transaction(engine) as conn:
        rows = conn.execute(query).all()
        if not rows:
            return 0
        updates = []
        for r in rows:
            env = Envelope(msg_id=r.msg_id, kind=r.kind, station_id=r.station_id,
                           created_at=r.created_at, payload=r.payload)
            bus.publish(down_topic(r.station_id, r.kind), encode(env), qos=1)
            delay = min(resend_after * 2 ** r.attempts, max_resend_after)
            updates.append({"b_seq": r.seq, "b_next": now + timedelta(seconds=delay)})
        conn.execute(
            sa.update(downlink_outbox)
            .where(o.seq == sa.bindparam("b_seq"))
            .values(attempts=o.attempts + 1, last_sent_at=now, next_attempt_at=sa.bindparam("b_next")),
            updates,
        )
    return len(rows)


def make_all_due(engine: Engine, *, now: datetime) -> None:
    """Every unacked down-message is due ``now`` (after a reconnect: the broker may have
    lost what was in flight)."""
    with write_transaction(engine) as conn:
        conn.execute(sa.update(downlink_outbox).where(downlink_outbox.c.acked_at.is_(None))
                     .values(next_attempt_at=now))
