"""Outbound: e-waybills and pack tasks, intercepts, tracking write-back.

* :func:`request_waybills` — allocated orders get an e-waybill from the platform (the
  receiver goes as platform ciphertext / Taobao ``oaid``, never decrypted) and, in the
  same transaction that stores it, a pack task with the opaque print data is queued for
  the station (:func:`cloud.sync.outbound.send_task`), so packing works offline.
* :func:`intercept` — a refund or address change reaching an order at a station queues
  one intercept per cause (:func:`cloud.sync.outbound.send_intercept`).
* :func:`collect_shipments` / :func:`write_back` — station shipments (``station_shipments``,
  stored by ``cloud.sync.ingest``) become ``tracking_writebacks`` rows, one per (order, waybill):
  the first is a first shipment, a later different waybill a modification. Each row is
  written to the platform exactly once: retried with backoff on transient errors, and a
  business refusal is checked against the platform's order (already carrying this
  tracking number = done, e.g. after a timed-out call that did arrive). The shipped
  order's reservation is not released here: ingest does it as the SHIP moves arrive
  (:func:`cloud.orders.reservations.on_ingest`), in the transaction that lowers on-hand.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cloud.db import write_transaction
from cloud.db.schema import station_shipments
from cloud.db.schema_orders import (
    order_intercepts,
    order_lines,
    orders,
    tracking_writebacks,
    waybills,
)
from cloud.marketplaces.base import Address, OrderStatus, WaybillRequest
from cloud.marketplaces.errors import BusinessError, MarketplaceError
from cloud.orders.claims import claim_waybills, release_waybill_claims
from cloud.orders.reservations import reconcile
from cloud.sync.outbound import send_intercept, send_release, send_task
from edge.sync.schema import TaskLineWire, TaskWire

log = logging.getLogger("packline.fulfilment")

AUTH_REPLACED_CODES = frozenset({"20032"})
"""PDD "access_token或client_id错误": also what a call carrying a just-refreshed token gets."""


def _next_seq(conn: Connection, order_id: str) -> int:
    """The order's next hold-decision number (intercepts and releases count alike)."""
    oi = order_intercepts.c
    top = conn.execute(sa.select(sa.func.max(oi.seq), sa.func.max(oi.lift_seq)).where(
        oi.order_id == order_id)).one()
    return max(int(top[0] or 0), int(top[1] or 0)) + 1


def intercept(conn: Connection, order_id: str, station_id: str, cause: str, reason: str, *,
              now: datetime) -> str | None:
    """Queue an intercept for ``station_id`` once per (order, cause) while it stands;
    returns the msg id (None when that cause already stands)."""
    oi = order_intercepts.c
    cause = cause[:128]
    row = conn.execute(sa.select(oi.lifted_at).where(
        oi.order_id == order_id, oi.cause == cause)).first()
    if row is not None and row.lifted_at is None:
        return None
    seq = _next_seq(conn, order_id)
    msg_id = send_intercept(conn, station_id, order_id, reason, seq=seq, now=now)
    values = {"reason": reason[:200], "station_id": station_id, "msg_id": msg_id,
              "created_at": now, "seq": seq, "lifted_at": None, "lift_seq": None,
              "lift_msg_id": None}
    if row is None:
        conn.execute(sa.insert(order_intercepts).values(order_id=order_id, cause=cause, **values))
    else:  # the same cause again after it was lifted (a new refund request)
        conn.execute(sa.update(order_intercepts).where(
            oi.order_id == order_id, oi.cause == cause).values(**values))
    return msg_id


def lift_refund_intercepts(conn: Connection, order_id: str, reason: str, *,
                           now: datetime) -> bool:
    """A refund request was withdrawn or refused: lift the order's standing refund
    intercepts. When nothing else holds it (no address change, no closure), the station
    is told to pack it again (``release``, numbered after every intercept it lifts) and
    True is returned; the caller puts the order back to ``tasked``."""
    oi = order_intercepts.c
    standing = conn.execute(sa.select(oi.cause, oi.station_id).where(
        oi.order_id == order_id, oi.lifted_at.is_(None))).all()
    refund = [r for r in standing if r.cause.startswith("refund:")]
    if not refund:
        return False
    others = [r for r in standing if not r.cause.startswith("refund:")]
    seq = _next_seq(conn, order_id)
    msg_id = None
    station = refund[-1].station_id
    if not others and station:
        msg_id = send_release(conn, station, order_id, reason, seq=seq, now=now)
    conn.execute(sa.update(order_intercepts).where(
        oi.order_id == order_id, oi.lifted_at.is_(None), oi.cause.startswith("refund:")
    ).values(lifted_at=now, lift_seq=seq, lift_msg_id=msg_id))
    return msg_id is not None


# ---------------------------------------------------------------------- waybills


def _recipient(platform: str, row: Any) -> Address:
    cipher = row.receiver_cipher or {}
    masked = row.receiver_masked or {}
    region = {"province": masked.get("province", ""), "city": masked.get("city", ""),
              "district": masked.get("district", "")}
    if platform == "taobao":
        return Address(name=masked.get("name", ""), mobile=masked.get("phone", ""),
                       detail=masked.get("address", ""), oaid=cipher.get("oaid", ""), **region)
    return Address(name=cipher.get("name", ""), mobile=cipher.get("phone", ""),
                   detail=cipher.get("address", ""), **region)


def _sender(sender: dict[str, str]) -> Address:
    return Address(name=sender.get("name", ""), mobile=sender.get("mobile", ""),
                   province=sender.get("province", ""), city=sender.get("city", ""),
                   district=sender.get("district", ""), detail=sender.get("detail", ""))


def build_task(conn: Connection, row: Any, waybill_no: str, carrier: str, print_data: str) -> TaskWire:
    """The pack task of order ``row`` (an ``orders`` row) with its waybill."""
    lines = conn.execute(sa.select(order_lines.c.line_no, order_lines.c.sku,
                                   order_lines.c.sku_qty).where(
        order_lines.c.order_id == row.id).order_by(order_lines.c.line_no)).all()
    masked = row.receiver_masked or {}
    return TaskWire(
        order_id=row.id, platform=row.platform, shop_id=row.shop_id,
        platform_order_no=row.platform_order_id,
        lines=[TaskLineWire(line_no=n, sku=sku, qty=qty) for n, sku, qty in lines],
        waybill_no=waybill_no, carrier=carrier,
        print_data={"platform": row.platform, "print_data": print_data},
        receiver_masked={k: masked.get(k, "") for k in ("name", "phone", "address")},
        buyer_note=row.buyer_note or None, ordered_at=row.ordered_at or row.first_seen_at,
    )


@dataclass
class WaybillResult:
    """What a waybill pass did."""

    issued: int = 0
    """Waybills stored and tasks sent."""
    failed: int = 0
    """Orders moved to the exception list (the platform refused the waybill)."""
    deferred: int = 0
    """Orders left for the next pass (transient failures)."""


async def request_waybills(engine: Engine, sc: Any, *, now: datetime, limit: int = 200,
                           concurrency: int = 4, owner: str | None = None) -> WaybillResult:
    """E-waybills for the shop's allocated orders, then pack tasks to their stations.

    Each batch is claimed first (``cloud.orders.claims``, as ``owner``): an order another worker
    is requesting, or that got its waybill meanwhile, is left alone."""
    shop = sc.shop
    owner = owner or f"waybills:{uuid.uuid4()}"
    with engine.connect() as conn:
        rows = conn.execute(sa.select(orders).where(
            orders.c.shop_id == shop.id, orders.c.state == "allocated",
        ).order_by(orders.c.first_seen_at, orders.c.id).limit(limit)).all()
    result = WaybillResult()
    batches = [rows[i:i + 10] for i in range(0, len(rows), 10)]
    sem = asyncio.Semaphore(concurrency)

    async def one(batch: Sequence[Any]) -> None:
        async with sem:
            await one_claimed(batch)

    async def one_claimed(batch: Sequence[Any]) -> None:
        held = set(claim_waybills(engine, [row.id for row in batch], owner, now=now))
        claimed = [row for row in batch if row.id in held]
        try:
            if claimed:
                await attempt(claimed)
        finally:  # stored batches released theirs already; this frees failed ones
            with write_transaction(engine) as conn:
                release_waybill_claims(conn, [row.id for row in claimed], owner)

    async def attempt(batch: Sequence[Any]) -> None:
        packages = []
        with engine.connect() as conn:
            for row in batch:
                items = conn.execute(sa.select(order_lines.c.title, order_lines.c.qty).where(
                    order_lines.c.order_id == row.id).order_by(order_lines.c.line_no)).all()
                packages.append(WaybillRequest(
                    object_id=row.id, order_ids=(row.platform_order_id,),
                    recipient=_recipient(row.platform, row),
                    items=tuple((t or "商品", q) for t, q in items),
                    user_id=shop.seller_id))
        try:
            got = await sc.client.get_waybills(shop.carrier_code, _sender(shop.sender),
                                               packages)
        except BusinessError as err:
            if len(batch) > 1:
                for row in batch:  # find the one the platform refuses
                    await attempt([row])
                return
            _waybill_exception(engine, batch[0].id, err, now)
            result.failed += 1
            return
        except MarketplaceError as err:
            log.info("waybill request deferred: %s", err.message)
            result.deferred += len(batch)
            return
        by_object = {w.object_id: w for w in got}
        with write_transaction(engine) as conn:
            release_waybill_claims(conn, [row.id for row in batch], owner)
            for row in batch:
                w = by_object.get(row.id)
                if w is None:
                    result.deferred += 1
                    continue
                if conn.execute(sa.select(waybills.c.order_id).where(
                        waybills.c.order_id == row.id)).first() is not None:
                    log.warning("order %s already has a waybill; %s unused", row.id, w.number)
                    continue  # a claim that expired under a very slow request
                conn.execute(sa.insert(waybills).values(
                    order_id=row.id, waybill_no=w.number, carrier_code=w.carrier,
                    print_data=w.print_data, issued_at=now))
                state = conn.execute(sa.select(orders.c.state, orders.c.station_id).where(
                    orders.c.id == row.id)).one()
                if state.state != "allocated" or not state.station_id:
                    continue  # cancelled meanwhile: the waybill stays unused
                send_task(conn, state.station_id,
                          build_task(conn, row, w.number, w.carrier, w.print_data), now=now)
                conn.execute(sa.update(orders).where(orders.c.id == row.id).values(
                    state="tasked", updated_at=now))
                result.issued += 1

    await asyncio.gather(*(one(b) for b in batches))
    return result


def _waybill_exception(engine: Engine, order_id: str, err: BusinessError, now: datetime) -> None:
    with write_transaction(engine) as conn:
        conn.execute(sa.update(orders).where(orders.c.id == order_id,
                                             orders.c.state == "allocated").values(
            state="exception", exception_code="waybill", warehouse_id=None, station_id=None,
            exception_detail=f"面单申请失败 / waybill refused: {err.sub_msg or err.msg}"[:500],
            updated_at=now))
        reconcile(conn, [order_id], now=now)  # still paid: the units stay held


# -------------------------------------------------------------------- shipments


def collect_shipments(conn: Connection, shop_id: str, *, now: datetime,
                      limit: int = 5000) -> int:
    """Turn new station shipments of the shop's orders into write-back rows."""
    s, o, w = station_shipments, orders, tracking_writebacks
    new = conn.execute(
        sa.select(s.c.msg_id, s.c.order_id, s.c.waybill_no, s.c.carrier, o.c.state)
        .join(o, o.c.id == s.c.order_id)
        .where(o.c.shop_id == shop_id, ~sa.exists().where(
            w.c.order_id == s.c.order_id, w.c.waybill_no == s.c.waybill_no))
        .order_by(s.c.received_at, s.c.msg_id).limit(limit)).all()
    made = 0
    order_ids = sorted({r.order_id for r in new})
    known: dict[str, set[str]] = {}
    for i in range(0, len(order_ids), 500):
        for order_id, waybill_no in conn.execute(sa.select(w.c.order_id, w.c.waybill_no).where(
                w.c.order_id.in_(order_ids[i:i + 500]))):
            known.setdefault(order_id, set()).add(waybill_no)
    rows: list[dict[str, Any]] = []
    to_ship: set[str] = set()
    for msg_id, order_id, waybill_no, carrier, state in new:
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
    for i in range(0, len(ship_ids), 500):
        conn.execute(sa.update(o).where(o.c.id.in_(ship_ids[i:i + 500])).values(
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
    return timedelta(seconds=min(600.0, base * 2 ** min(attempts, 7)))


async def write_back(engine: Engine, sc: Any, *, now: datetime,
                     limit: int = 2000, concurrency: int = 8,
                     max_attempts: int = 12, backoff: float = 5.0) -> WritebackResult:
    """Write due tracking numbers of the shop to the platform, each exactly once.

    A refusal is checked against the platform's order: carrying this tracking number
    already means done; closed means failed (a person decides); anything else (a token
    replaced mid-flight, a transient refusal) is retried with exponential backoff from
    ``backoff`` seconds, up to ``max_attempts``.
    """
    shop = sc.shop
    w, o = tracking_writebacks, orders
    with engine.connect() as conn:
        due = conn.execute(
            sa.select(w.c.id, w.c.order_id, w.c.waybill_no, w.c.carrier, w.c.modify,
                      w.c.attempts, w.c.shipment_msg_id, o.c.platform_order_id)
            .join(o, o.c.id == w.c.order_id)
            .where(o.c.shop_id == shop.id, w.c.state == "pending", w.c.next_attempt_at <= now)
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
                for attempt in range(3):
                    try:
                        await writer.ship(row.platform_order_id, carrier_for_api,
                                          row.waybill_no, modify=row.modify)
                        break
                    except BusinessError as err:
                        # A token replaced by a concurrent refresh while this call was in
                        # flight: send again with the new one.
                        if err.code not in AUTH_REPLACED_CODES or attempt == 2:
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
