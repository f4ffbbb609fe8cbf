"""Claims: one worker at a time asks the platform for an order's e-waybill.

Several workers may tick the same shop (a lease that expired under a slow tick, a worker
restarted mid-tick). Before requesting waybills a worker claims the orders: in one
transaction it keeps those still ``allocated`` with no waybill and not claimed by another
live worker, and records its claim as a ``job_leases`` row ``waybill:<order id>`` (taken
with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, under SQLite's write lock otherwise). The
claim is dropped in the transaction that stores the waybill, or when the request fails;
a crashed worker's claim expires after ``CLAIM_TTL``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from cloud.db import write_transaction
from cloud.db.schema_orders import job_leases, orders, waybills

CLAIM_TTL = timedelta(minutes=5)
"""How long a claim holds without its worker finishing (longer than a waybill request with
its retries)."""


def _job(order_id: str) -> str:
    return f"waybill:{order_id}"


def claim_waybills(engine: Engine, order_ids: Sequence[str], owner: str, *, now: datetime,
                   ttl: timedelta = CLAIM_TTL) -> list[str]:
    """The subset of ``order_ids`` that ``owner`` now holds the claim for (in the given order)."""
    if not order_ids:
        return []
    j, o = job_leases.c, orders.c
    with write_transaction(engine) as conn:
        free = set(conn.execute(sa.select(o.id).where(
            o.id.in_(order_ids), o.state == "allocated",
            ~sa.exists().where(waybills.c.order_id == o.id))).scalars())
        jobs = {_job(oid): oid for oid in order_ids if oid in free}
        if not jobs:
            return []
        insert = (postgresql.insert(job_leases) if conn.dialect.name == "postgresql"
                  else sqlite.insert(job_leases))
        conn.execute(insert.on_conflict_do_nothing(), [{"job": job} for job in jobs])
        query = sa.select(j.job, j.owner, j.lease_until).where(j.job.in_(list(jobs)))
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        mine = [row.job for row in conn.execute(query)
                if row.owner in (None, owner) or row.lease_until is None or row.lease_until <= now]
        if mine:
            conn.execute(sa.update(job_leases).where(j.job.in_(mine)).values(
                owner=owner, lease_until=now + ttl, last_run_at=now))
    held = {jobs[job] for job in mine}
    return [oid for oid in order_ids if oid in held]


def release_waybill_claims(conn: Connection, order_ids: Sequence[str], owner: str) -> None:
    """Drop ``owner``'s claims on ``order_ids`` (in the caller's transaction)."""
    if order_ids:
        conn.execute(sa.delete(job_leases).where(
            job_leases.c.job.in_([_job(oid) for oid in order_ids]), job_leases.c.owner == owner))
