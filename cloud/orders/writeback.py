"""Tracking write-back: station shipments become tracking numbers on the platform, once.

:func:`collect_shipments` / :func:`write_back` — station shipments (``station_shipments``,
stored by ``cloud.sync.ingest``) become ``tracking_writebacks`` rows, one per (order,
waybill): the first is a first shipment, a later different waybill a modification; a
merged parcel's shipment makes one row for the primary and one for every member (the
same tracking number on each platform order, ``cloud.orders.parcels``); a second parcel
split off an order writes nothing (the platform order takes the first parcel's). Each
row is written to the platform exactly once: retried with backoff on transient errors, and
a business refusal is checked against the platform's order (already carrying this tracking
number = done, e.g. after a timed-out call that did arrive); an order's rows go out in
turn, a relabel only after the first shipment is written. The shipped order's
reservation is not released here: ingest does it as the SHIP moves arrive
(:func:`cloud.orders.reservations.on_ingest`), in the transaction that lowers on-hand.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cloud.db import in_chunks, write_transaction
from cloud.db.schema import station_shipments
from cloud.db.schema_orders import orders, tracking_writebacks
from cloud.marketplaces.base import OrderStatus
from cloud.marketplaces.errors import BusinessError, MarketplaceError
from cloud.orders.parcels import members_of

log = logging.getLogger("packline.writeback")

AUTH_REPLACED_CODES = frozenset({"20032"})
"""PDD "access_token或client_id错误": also what a call carrying a just-refreshed token gets."""
AUTH_REPLACED_TRIES = 3
"""Calls of one write-back attempt when the platform answers :data:`AUTH_REPLACED_CODES`
(a concurrent refresh replaced the token in flight): the first and two re-sends with the
new token; a third such answer is an ordinary refusal."""
FIRST_BACKOFF_SECONDS = 5.0
"""Wait before the first retry of a failed write-back; it doubles per attempt. Half the
worker's tick (``WorkerSettings.interval``, 10 s), so the first retry goes out next tick."""
MAX_BACKOFF_SECONDS = 600.0
"""Longest wait between two attempts of one write-back (the doubling stops there): a
tracking number waits at most ten minutes after a platform outage ends."""
MAX_DOUBLINGS = 7
"""The wait doubles at most this often (5 s × 2⁷ = 640 s is past
:data:`MAX_BACKOFF_SECONDS`, so with the defaults only the cap binds)."""
MAX_ATTEMPTS = 12
"""Attempts before a write-back is marked ``failed`` for a person. With the defaults the
waits between them are 5, 10, 20, 40, 80, 160, 320 s and then 600 s four times, 3,035 s:
about 50 minutes of a platform outage or rate-limit ban are ridden out unattended.
docs/specs/marketplaces.md §5.6 says which refusals are worth retrying at all."""
CONCURRENCY = 8
"""Write-back calls in flight per shop (``WorkerSettings.writeback_concurrency``)."""
COLLECT_PER_PASS = 5000
"""Station shipments turned into write-back rows per pass, in one transaction; more wait
for the next tick (a day of 1,000 parcels fits five times over)."""
WRITEBACK_PER_PASS = 2000
"""Write-backs sent per pass; a backlog (after an outage) drains over several ticks, each
pass ending in one transaction of results."""


def collect_shipments(conn: Connection, shop_id: str, *, now: datetime,
                      limit: int = COLLECT_PER_PASS) -> int:
    """Turn new station shipments of the shop's orders into write-back rows."""
    s, o, w = station_shipments, orders, tracking_writebacks
    new = conn.execute(
        sa.select(s.c.msg_id, s.c.order_id, s.c.waybill_no, s.c.carrier, o.c.state)
        .join(o, o.c.id == s.c.order_id)
        .where(o.c.shop_id == shop_id, o.c.split_from.is_(None), o.c.exchange_of.is_(None),
               ~sa.exists().where(
            w.c.order_id == s.c.order_id, w.c.waybill_no == s.c.waybill_no))
        .order_by(s.c.received_at, s.c.msg_id).limit(limit)).all()
    # A second parcel split off an order (拆单) ships for the original's platform order,
    # which takes one tracking number (its own parcel's): it is shipped, nothing is written.
    # An exchange (换货) ships against a platform order already shipped: nothing is written
    # back either (the platforms' exchange shipping APIs are not used).
    conn.execute(sa.update(o).where(
        o.c.shop_id == shop_id, sa.or_(o.c.split_from.is_not(None), o.c.exchange_of.is_not(None)),
        o.c.state.not_in(("shipped", "cancelled")),
        sa.exists().where(s.c.order_id == o.c.id)).values(state="shipped", updated_at=now))
    made = 0
    order_ids = sorted({r.order_id for r in new})
    known: dict[str, set[str]] = {}
    for chunk in in_chunks(order_ids):
        for order_id, waybill_no in conn.execute(sa.select(w.c.order_id, w.c.waybill_no).where(
                w.c.order_id.in_(chunk))):
            known.setdefault(order_id, set()).add(waybill_no)
    # A merged parcel's tracking number goes to every member's platform order too.
    members = members_of(conn, order_ids, shipped=True)
    member_state: dict[str, str] = {}
    member_ids = sorted({m for ms in members.values() for m in ms})
    for chunk in in_chunks(member_ids):
        for order_id, waybill_no in conn.execute(sa.select(w.c.order_id, w.c.waybill_no).where(
                w.c.order_id.in_(chunk))):
            known.setdefault(order_id, set()).add(waybill_no)
        for member_id, member_st in conn.execute(sa.select(o.c.id, o.c.state).where(
                o.c.id.in_(chunk))):
            member_state[member_id] = member_st
    rows: list[dict[str, Any]] = []
    to_ship: set[str] = set()
    shipped = [(msg_id, oid, waybill_no, carrier, st)
               for msg_id, order_id, waybill_no, carrier, state in new
               for oid, st in [(order_id, state)] + [(m, member_state.get(m, ""))
                                                     for m in members.get(order_id, [])]]
    for msg_id, order_id, waybill_no, carrier, state in shipped:
        have = known.setdefault(order_id, set())
        if waybill_no in have:
            continue  # the same shipment reported twice
        rows.append({"order_id": order_id, "waybill_no": waybill_no, "carrier": carrier,
                     "modify": bool(have), "shipment_msg_id": msg_id, "state": "pending",
                     "next_attempt_at": now, "created_at": now})
        have.add(waybill_no)
        if state not in ("shipped", "cancelled"):
            to_ship.add(order_id)
        made += 1
    if rows:
        conn.execute(sa.insert(w), rows)
    ship_ids = sorted(to_ship)
    for chunk in in_chunks(ship_ids):
        conn.execute(sa.update(o).where(o.c.id.in_(chunk)).values(
            state="shipped", updated_at=now))
    return made


@dataclass
class WritebackResult:
    """What a write-back pass did."""

    done: int = 0
    """Rows written to the platform (or found already there)."""
    retry: int = 0
    """Rows rescheduled after a transient failure."""
    failed: int = 0
    """Rows the platform refused for good (need a person)."""


def _backoff(attempts: int, base: float) -> timedelta:
    return timedelta(seconds=min(MAX_BACKOFF_SECONDS, base * 2 ** min(attempts, MAX_DOUBLINGS)))


async def write_back(engine: Engine, sc: Any, *, now: datetime,
                     limit: int = WRITEBACK_PER_PASS, concurrency: int = CONCURRENCY,
                     max_attempts: int = MAX_ATTEMPTS,
                     backoff: float = FIRST_BACKOFF_SECONDS) -> WritebackResult:
    """Write due tracking numbers of the shop to the platform, each exactly once.

    A refusal is checked against the platform's order: carrying this tracking number
    already means done; closed means failed (a person decides); anything else (a token
    replaced mid-flight, a transient refusal) is retried with exponential backoff from
    ``backoff`` seconds, up to ``max_attempts``.
    """
    shop = sc.shop
    w, o = tracking_writebacks, orders
    earlier = w.alias("earlier")
    with engine.connect() as conn:
        # One order's rows go out one at a time, oldest first: a relabel (modification) sent
        # while the first shipment is still retrying would put the second tracking number
        # on the platform, and the first's retries would meet "已发货" with a number that is
        # not theirs until they fail.
        due = conn.execute(
            sa.select(w.c.id, w.c.order_id, w.c.waybill_no, w.c.carrier, w.c.modify,
                      w.c.attempts, w.c.shipment_msg_id, o.c.platform_order_id)
            .join(o, o.c.id == w.c.order_id)
            .where(o.c.shop_id == shop.id, w.c.state == "pending", w.c.next_attempt_at <= now,
                   ~sa.exists().where(earlier.c.order_id == w.c.order_id,
                                      earlier.c.state == "pending", earlier.c.id < w.c.id))
            .order_by(w.c.next_attempt_at, w.c.id).limit(limit)).all()
    result = WritebackResult()
    sem = asyncio.Semaphore(concurrency)
    carrier_for_api = shop.logistics_id if shop.platform == "pdd" else shop.carrier_code

    outcomes: list[tuple[Any, str, str | None]] = []

    async def one(row: Any) -> None:
        async with sem:
            outcome: str = "done"
            error: str | None = None
            writer = getattr(sc, "writer", None) or sc.client
            try:
                if row.attempts > 0:
                    # An earlier attempt may have arrived (timed out on our side): look first.
                    try:
                        po = await sc.client.get_order(row.platform_order_id)
                        if po.tracking_number == row.waybill_no:
                            outcomes.append((row, "done", None))
                            return
                    except MarketplaceError as err:
                        outcomes.append((row, "retry", err.message))
                        return
                for call in range(AUTH_REPLACED_TRIES):
                    try:
                        await writer.ship(row.platform_order_id, carrier_for_api,
                                          row.waybill_no, modify=row.modify)
                        break
                    except BusinessError as err:
                        # A token replaced by a concurrent refresh while this call was in
                        # flight: send again with the new one.
                        if (err.code not in AUTH_REPLACED_CODES
                                or call == AUTH_REPLACED_TRIES - 1):
                            raise
            except BusinessError as err:
                error = err.sub_msg or err.msg
                outcome = "retry"
                try:
                    po = await sc.client.get_order(row.platform_order_id)
                    if po.tracking_number == row.waybill_no:
                        outcome, error = "done", None  # it did arrive (e.g. a timed-out call)
                    elif po.status is OrderStatus.CLOSED:
                        outcome = "failed"  # cancelled or refunded on the platform
                except MarketplaceError:
                    pass
            except MarketplaceError as err:
                outcome, error = "retry", err.message
            outcomes.append((row, outcome, error))

    await asyncio.gather(*(one(r) for r in due))
    # One transaction for the pass. Should it be lost, the next pass sends again and the
    # platform's "already shipped" is resolved by the tracking-number check above.
    stamp = now  # the clock that decides what is due also schedules the next attempt
    with write_transaction(engine) as conn:
        for row, outcome, error in outcomes:
            if outcome == "done":
                conn.execute(sa.update(w).where(w.c.id == row.id).values(
                    state="done", done_at=stamp, attempts=row.attempts + 1, last_error=None))
                conn.execute(sa.update(station_shipments).where(
                    station_shipments.c.msg_id == row.shipment_msg_id).values(
                    tracking_pushed_at=stamp))
                result.done += 1
            elif outcome == "retry" and row.attempts + 1 < max_attempts:
                conn.execute(sa.update(w).where(w.c.id == row.id).values(
                    attempts=row.attempts + 1, last_error=(error or "")[:500],
                    next_attempt_at=stamp + _backoff(row.attempts, backoff)))
                result.retry += 1
            else:
                conn.execute(sa.update(w).where(w.c.id == row.id).values(
                    state="failed", attempts=row.attempts + 1, last_error=(error or "")[:500]))
                result.failed += 1
    return result
