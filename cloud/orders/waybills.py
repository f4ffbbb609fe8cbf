"""E-waybills and pack tasks.

:func:`request_waybills` — allocated orders get an e-waybill from the platform (the
receiver goes as platform ciphertext / Taobao ``oaid``, never decrypted) and, in the same
transaction that stores it, a pack task with the opaque print data is queued for the
station (:func:`cloud.sync.outbound.send_task`), so packing works offline. Each batch is
claimed first (``cloud.orders.claims``), so two workers never ask twice for one order.
A merged parcel (``cloud.orders.parcels``) takes one waybill listing every member's
platform order (``trade_order_list``, up to 100: docs/specs/marketplaces.md §1.7.8), and
its task carries every member's lines. A second parcel split off an order (拆单) names the
original's platform order. :func:`cancel_dead_waybills` — the number of an order cancelled
or refunded before it shipped is cancelled on the platform (回收).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cloud import kits
from cloud.couriers import carrier_name, one_line, waybill_sender
from cloud.db import write_transaction
from cloud.db.schema import station_shipments
from cloud.db.schema_orders import orders, waybills
from cloud.marketplaces.base import Address, Waybill, WaybillRequest
from cloud.marketplaces.errors import BusinessError, MarketplaceError
from cloud.orders.claims import claim_waybills, release_waybill_claims
from cloud.orders.parcels import lines_of, platform_order_ids
from cloud.orders.reservations import reconcile
from cloud.sync.outbound import send_task
from edge.sync.schema import TaskLabelWire, TaskLineWire, TaskWire

log = logging.getLogger("packline.waybills")

WAYBILL_BATCH = 10
"""Orders per e-waybill request: the most ``pdd.waybill.get`` and ``cainiao.waybill.ii.get``
take (``trade_order_info_dtos``, at most 10: docs/specs/marketplaces.md §1.7.8, §2.6.5).
A refused batch is asked again order by order to find the one the platform refuses."""
WAYBILLS_PER_PASS = 200
"""Allocated orders a pass asks waybills for (20 requests of :data:`WAYBILL_BATCH`); the
rest wait for the next tick, so a backlog cannot hold up the tick's later steps."""
WAYBILL_CONCURRENCY = 4
"""Waybill requests of one shop in flight at once. Far below ``pdd.waybill.get``'s limits
(docs/specs/marketplaces.md §1.5); a shop's calls pass its app's rate limiter anyway."""


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


def build_task(conn: Connection, row: Any, waybill_no: str, carrier: str, print_data: str,
               label: dict[str, Any] | None = None) -> TaskWire:
    """The pack task of order ``row`` (an ``orders`` row) with its waybill. A merged
    parcel's task carries its members' lines after the primary's, numbered on; a line of a
    kit (组合商品) is one task line per component, the lines then numbered on. ``label``
    (``waybills.label``: courier name, sender, routing) goes along for the station's label."""
    parcel = lines_of(conn, row.id)
    packed = kits.explode_lines(conn, [(sku, qty) for _o, _l, _t, sku, qty, _q in parcel])
    lines: list[tuple[int, Any, Any]]
    if len({oid for oid, *_rest in parcel}) > 1 or any(len(p) != 1 for p in packed):
        lines = [(n, sku, qty) for n, (sku, qty) in enumerate(
            (one for per_line in packed for one in per_line), start=1)]
    else:
        lines = [(line_no, sku, qty) for _o, line_no, _t, sku, qty, _q in parcel]
    masked = row.receiver_masked or {}
    return TaskWire(
        order_id=row.id, platform=row.platform, shop_id=row.shop_id,
        platform_order_no=row.platform_order_id,
        lines=[TaskLineWire(line_no=n, sku=sku, qty=qty) for n, sku, qty in lines],
        waybill_no=waybill_no, carrier=carrier,
        print_data={"platform": row.platform, "print_data": print_data},
        receiver_masked={k: masked.get(k, "") for k in ("name", "phone", "address")},
        buyer_note=row.buyer_note or None, ordered_at=row.ordered_at or row.first_seen_at,
        ship_by=row.ship_by,
        label=TaskLabelWire.model_validate(label) if label else None,
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


async def request_waybills(engine: Engine, sc: Any, *, now: datetime,
                           limit: int = WAYBILLS_PER_PASS,
                           concurrency: int = WAYBILL_CONCURRENCY,
                           owner: str | None = None,
                           only: Sequence[str] | None = None) -> WaybillResult:
    """E-waybills for the shop's allocated orders (of ``only`` when given: the office's
    打单台 asks for the orders it ticked), then pack tasks to their stations.

    Each batch is claimed first (``cloud.orders.claims``, as ``owner``): an order another worker
    is requesting, or that got its waybill meanwhile, is left alone."""
    shop = sc.shop
    owner = owner or f"waybills:{uuid.uuid4()}"
    query = sa.select(orders).where(orders.c.shop_id == shop.id, orders.c.state == "allocated")
    if only is not None:
        query = query.where(orders.c.id.in_(list(only)))
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(orders.c.first_seen_at, orders.c.id).limit(limit)
                            ).all()
    result = WaybillResult()
    batches = [rows[i:i + WAYBILL_BATCH] for i in range(0, len(rows), WAYBILL_BATCH)]
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

    with engine.connect() as conn:
        sender, template_url = waybill_sender(conn, shop.id, shop.carrier_code, shop.sender)

    async def attempt(batch: Sequence[Any]) -> None:
        packages = []
        with engine.connect() as conn:
            for row in batch:
                parcel = lines_of(conn, row.id)
                items = [(title, qty) for _o, _l, title, _s, _u, qty in parcel]
                platform_ids = platform_order_ids(conn, row)
                packages.append(WaybillRequest(
                    object_id=row.id, order_ids=tuple(platform_ids),
                    recipient=_recipient(row.platform, row),
                    items=tuple((t or "商品", q) for t, q in items),
                    template_url=template_url, user_id=shop.seller_id))
        try:
            got = await sc.client.get_waybills(shop.carrier_code, _sender(sender), packages)
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
                label = _label(w, sender)
                conn.execute(sa.insert(waybills).values(
                    order_id=row.id, waybill_no=w.number, carrier_code=w.carrier,
                    print_data=w.print_data, issued_at=now, label=label))
                state = conn.execute(sa.select(orders.c.state, orders.c.station_id).where(
                    orders.c.id == row.id)).one()
                if state.state != "allocated" or not state.station_id:
                    continue  # cancelled meanwhile: the waybill stays unused
                send_task(conn, state.station_id,
                          build_task(conn, row, w.number, w.carrier, w.print_data, label),
                          now=now)
                conn.execute(sa.update(orders).where(orders.c.id == row.id).values(
                    state="tasked", updated_at=now))
                result.issued += 1

    await asyncio.gather(*(one(b) for b in batches))
    return result


def _label(w: Waybill, sender: dict[str, str]) -> dict[str, str]:
    """``waybills.label`` of a waybill taken with ``sender`` (``TaskLabelWire`` fields)."""
    return {"carrier_name": carrier_name(w.carrier), "sender_name": sender.get("name", ""),
            "sender_phone": sender.get("mobile", ""), "sender_address": one_line(sender),
            "sort_code": w.sort_code, "package_centre": w.package_centre}


def _waybill_exception(engine: Engine, order_id: str, err: BusinessError, now: datetime) -> None:
    with write_transaction(engine) as conn:
        conn.execute(sa.update(orders).where(orders.c.id == order_id,
                                             orders.c.state == "allocated").values(
            state="exception", exception_code="waybill", warehouse_id=None, station_id=None,
            exception_detail=f"面单申请失败 / waybill refused: {err.sub_msg or err.msg}"[:500],
            updated_at=now))
        reconcile(conn, [order_id], now=now)  # still paid: the units stay held


MAX_CANCEL_ATTEMPTS = 12
"""Tries to cancel one dead waybill (one per worker tick) before a person is left to
decide (``waybills.cancel_error`` keeps the last refusal)."""
CANCELS_PER_PASS = 200
"""Dead waybills a pass cancels; more wait for the next tick."""
ALREADY_CANCELLED = "已取消"
"""In the platform's refusal of a cancel: the number is cancelled already (an earlier
call whose reply was lost did arrive), so it counts as done. The fakes' wording; the
platforms publish none [unverified]."""


@dataclass
class CancelResult:
    """What a waybill-cancel pass did."""

    cancelled: int = 0
    """Numbers the platform took back (or had already)."""
    refused: int = 0
    """Numbers it refused to cancel this time (tried again next tick, up to the limit)."""


async def cancel_dead_waybills(engine: Engine, sc: Any, *, now: datetime,
                               limit: int = CANCELS_PER_PASS) -> CancelResult:
    """Cancel (回收) the e-waybill of each of the shop's orders cancelled or refunded on
    the platform before it shipped, so the number cannot be used and its unit returns to
    the branch's balance. Left alone: a number a station shipped with, and a merged
    parcel's number while a member order still waits to ship in it."""
    w, o, s = waybills, orders, station_shipments
    member = o.alias("member")
    with engine.connect() as conn:
        due = conn.execute(
            sa.select(w.c.order_id, w.c.waybill_no, w.c.carrier_code, w.c.cancel_attempts)
            .join(o, o.c.id == w.c.order_id)
            .where(o.c.shop_id == sc.shop.id, o.c.state == "cancelled",
                   w.c.cancelled_at.is_(None), w.c.cancel_attempts < MAX_CANCEL_ATTEMPTS,
                   ~sa.exists().where(s.c.order_id == w.c.order_id,  # indexed
                                      s.c.waybill_no == w.c.waybill_no),
                   ~sa.exists().where(member.c.merged_into == w.c.order_id,
                                      member.c.state != "cancelled"))
            .order_by(w.c.issued_at, w.c.order_id).limit(limit)).all()
    result = CancelResult()
    outcomes: list[tuple[Any, str | None]] = []
    writer = getattr(sc, "writer", None) or sc.client
    for row in due:
        try:
            await writer.cancel_waybill(row.carrier_code, row.waybill_no)
            outcomes.append((row, None))
        except BusinessError as err:
            detail = err.sub_msg or err.msg
            outcomes.append((row, None if ALREADY_CANCELLED in detail else detail))
        except MarketplaceError as err:
            outcomes.append((row, err.message))
    with write_transaction(engine) as conn:
        for row, error in outcomes:
            values: dict[str, Any] = {"cancel_attempts": row.cancel_attempts + 1}
            if error is None:
                values["cancelled_at"], values["cancel_error"] = now, None
                result.cancelled += 1
            else:
                values["cancel_error"] = error[:500]
                result.refused += 1
            conn.execute(sa.update(w).where(w.c.order_id == row.order_id).values(**values))
    if result.cancelled or result.refused:
        log.info("shop %s: %d waybills cancelled, %d refused", sc.shop.id, result.cancelled,
                 result.refused)
    return result
