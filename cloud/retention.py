"""Retention: the cloud's transport and bookkeeping tables do not grow for ever.

What is pruned, and what is kept whatever its age:

- ``downlink_outbox``: messages a station acked (or refused) more than ``downlink_keep`` ago;
  unacked messages are never pruned (they are still being re-sent);
- ``dead_letters``: rows older than ``dead_letter_keep`` (long enough to look into a bug);
- ``push_inbox``: push ids older than ``push_inbox_keep`` (they only deduplicate the
  platform's redeliveries, which stop within hours);
- ``stock_pushes``: rows older than ``stock_push_keep``, except each mapping's latest row and
  latest accepted row (``map list`` shows the first; the next push compares with the second).

The ledger (``stock_moves``), orders, shipments and audit log are records, not transport:
never pruned here. One worker at a time prunes (the ``retention`` lease), every
``RetentionSettings.every`` seconds on the worker's clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db import write_transaction
from cloud.db.schema import dead_letters, downlink_outbox
from cloud.db.schema_orders import push_inbox, stock_pushes


@dataclass(frozen=True)
class RetentionSettings:
    """How long each pruned table keeps its rows."""

    downlink_keep: timedelta = timedelta(days=30)
    """Acked down-messages: what each station was told, for a month of audit."""
    dead_letter_keep: timedelta = timedelta(days=90)
    """Dead letters: a quarter to notice and look into them."""
    push_inbox_keep: timedelta = timedelta(days=7)
    """Push message ids (deduplication of redeliveries only)."""
    stock_push_keep: timedelta = timedelta(days=30)
    """Stock push records: a month of "what did we offer, and why"."""
    every: float = 3600.0
    """Seconds between prunes (per worker; the lease keeps it to one at a time)."""
    batch: int = 5000
    """Rows deleted per statement (short transactions on a busy database)."""


def _delete_batched(engine: Engine, table: sa.Table, key: sa.Column[int],
                    where: sa.ColumnElement[bool], batch: int) -> int:
    total = 0
    while True:
        with write_transaction(engine) as conn:
            chosen = sa.select(key).where(where).limit(batch).scalar_subquery()
            n = conn.execute(sa.delete(table).where(key.in_(chosen))).rowcount
        total += n
        if n < batch:
            return total


def _kept_pushes() -> sa.CompoundSelect[tuple[int]]:
    """Each mapping's latest stock push and latest accepted one."""
    s = stock_pushes.c
    latest = sa.select(sa.func.max(s.id)).group_by(s.mapping_id)
    accepted = sa.select(sa.func.max(s.id)).where(s.ok.is_(True)).group_by(s.mapping_id)
    return sa.union(latest, accepted)


def prune(engine: Engine, now: datetime, settings: RetentionSettings | None = None
          ) -> dict[str, int]:
    """Delete what the policy lets go at ``now``; returns rows deleted per table."""
    r = settings or RetentionSettings()
    o, d, p, s = downlink_outbox.c, dead_letters.c, push_inbox.c, stock_pushes.c
    done = {
        "downlink_outbox": _delete_batched(
            engine, downlink_outbox, o.seq,
            sa.and_(o.acked_at.is_not(None), o.acked_at < now - r.downlink_keep), r.batch),
        "dead_letters": _delete_batched(
            engine, dead_letters, d.id, d.received_at < now - r.dead_letter_keep, r.batch),
    }
    with write_transaction(engine) as conn:  # a composite key: one statement
        done["push_inbox"] = conn.execute(sa.delete(push_inbox).where(
            p.received_at < now - r.push_inbox_keep)).rowcount
    done["stock_pushes"] = _delete_batched(
        engine, stock_pushes, s.id,
        sa.and_(s.at < now - r.stock_push_keep, s.id.not_in(_kept_pushes())), r.batch)
    return done
