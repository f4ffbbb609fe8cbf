"""Order sync: platform orders → Packline orders, incrementally, exactly once.

Per shop and stream a checkpoint (``sync_cursors``) says "everything modified before
this instant has been read". Each run reads windows as docs/specs/marketplaces.md §5.4 says::

    window = [cursor − overlap, min(platform_now − lag, cursor − overlap + max_span)]

(PDD: 30-minute span, 5-minute overlap, 3-minute lag), pages counted first and then
read from the last page back to the first (the client's ``orders_in_window``). The
orders of a window and the new cursor are written in ONE transaction: a crash re-reads
the window, and the upsert is idempotent — by platform order id, the record with the
newer ``updated_at`` wins, equal or older ones are ignored. Windows are read a few at
once and written one at a time, in order, off the event loop (:func:`sync_orders`).

Normalisation: ids as strings, money in fen, times UTC, lines mapped to Packline SKUs
through ``sku_mappings`` (platform ``sku_id``, else merchant ``outer_id``). An unmapped
line never drops the order: it lands in the exception list (``state='exception'``,
``exception_code='unmapped'``) with the line named.

PII: platform ciphertext is stored as it came (``receiver_cipher``), masks for screens
(``receiver_masked``); nothing decrypted is stored except sealed (:func:`seal_receiver`).

Changes that reach an order already at a station (address change, refund request,
closure) become intercepts (:func:`cloud.orders.intercepts.intercept`). Push messages only
trigger a re-read of the order (:func:`handle_push`); polling reconciles. Every
transaction that stores an order also sets its reservation
(:func:`cloud.orders.reservations.reconcile`): a paid order holds its units from the moment it
is known, until it ships, is cancelled or refunded.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import sys
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cloud import audit
from cloud.crypto import Sealer
from cloud.db import in_chunks, write_transaction
from cloud.db.schema import station_shipments
from cloud.db.schema_orders import (
    HELD,
    MERGED,
    order_events,
    order_lines,
    orders,
    push_inbox,
    refunds,
    sku_mappings,
    sync_cursors,
)
from cloud.marketplaces.base import (
    OrderStatus,
    PlatformOrder,
    PushMessage,
    RefundEvent,
    plan_window,
    read_window,
)
from cloud.marketplaces.errors import BusinessError
from cloud.orders.intercepts import intercept, lift_refund_intercepts
from cloud.orders.parcels import apply_splits, split_children
from cloud.orders.reservations import Mapping, find_mapping, reconcile
from cloud.orders.return_notices import REFUND_CLOSED, notify_return
from cloud.reports import summaries
from cloud.shops import ShopClient

log = logging.getLogger("packline.order_sync")


REFUND_REQUESTED = {
    "pdd": frozenset({"2", "3"}),
    "taobao": frozenset({"WAIT_SELLER_AGREE", "WAIT_BUYER_RETURN_GOODS",
                         "WAIT_SELLER_CONFIRM_GOODS"}),
}
"""Order-level refund statuses meaning "the buyer asked for a refund" (do not ship)."""

AT_STATION = ("tasked",)
"""States in which a station holds the pack task (a change needs an intercept)."""

OPEN_STATES = ("pending", "exception", "allocated", "tasked", "intercepted")
"""States of an order not yet shipped nor cancelled."""

MAX_PAGE_SIZE = 100
"""Largest page both platforms serve (PDD ``page_size`` max 100, TOP 1–100:
docs/specs/marketplaces.md §1.7.1, §2.6.1): fewest calls per window."""
STORE_ATTEMPTS = 3
"""Times a window's transaction is written before its integrity error goes up: a second
attempt sees the rows the colliding writer committed, so one retry is normally enough."""
DEFAULT_MAX_SPAN = timedelta(minutes=30)
"""Longest window for a client that does not state its own (``max_window_seconds``): PDD's
30 minutes, the strictest documented (docs/specs/marketplaces.md §1.7.1)."""


@dataclass(frozen=True)
class SyncSettings:
    """How order windows are planned."""

    overlap: timedelta = timedelta(minutes=5)
    """Each window starts this long before the cursor (absorbs platform replication lag)."""
    lag: timedelta = timedelta(minutes=3)
    """Windows end at least this long before platform time (the "3-minute" rule)."""
    span: timedelta = timedelta(minutes=30)
    """Window length (PDD max 30 min; 30 min recommended on Taobao)."""
    page_size: int = MAX_PAGE_SIZE
    """Page size (max 100)."""
    initial_lookback: timedelta = timedelta(days=1)
    """Where a new shop's cursor starts, before platform now."""
    max_windows: int = 100
    """Windows read per run at most (the rest next run)."""
    read_ahead: int = 4
    """Windows read at once (their pages share the client's rate limiter); each window is
    still written, with its checkpoint, in order — one at a time in a worker thread while
    the next windows are read — so a failure leaves the cursor after the last window
    written and the next run re-reads from there."""
    refund_lookback: timedelta = timedelta(hours=1)
    """Where a new shop's refund cursor starts. Short on purpose: PDD has no "all" refund
    status, so each window costs one call per status under a 100 calls / 10 s limit, and
    older refunds already show on the orders (their refund status) read by the order sync."""


@dataclass
class SyncResult:
    """What one sync run did."""

    windows: int = 0
    """Windows read."""
    fetched: int = 0
    """Platform records fetched (duplicates across overlapping windows included)."""
    inserted: int = 0
    """New orders."""
    updated: int = 0
    """Orders replaced by a newer version."""
    stale: int = 0
    """Records ignored because the stored version is as new or newer."""
    intercepts: list[str] = field(default_factory=list)
    """Order ids intercepted."""


def order_key(platform: str, platform_order_id: str) -> str:
    """Packline order id of a platform order."""
    return f"{platform}-{platform_order_id}"


# ---------------------------------------------------------------------- cursors


def get_cursor(conn: Connection, shop_id: str, stream: str) -> datetime | None:
    """The checkpoint of ``stream`` for ``shop_id``, or None before the first run."""
    row = conn.execute(sa.select(sync_cursors.c.cursor_at).where(
        sync_cursors.c.shop_id == shop_id, sync_cursors.c.stream == stream)).first()
    return row[0] if row else None


def set_cursor(conn: Connection, shop_id: str, stream: str, cursor: datetime,
               window: tuple[datetime, datetime] | None = None, count: int = 0, *,
               now: datetime) -> None:
    """Move the checkpoint (in the caller's transaction, with the window's data)."""
    values = {"cursor_at": cursor, "updated_at": now, "last_count": count,
              "last_window_start": window[0] if window else None,
              "last_window_end": window[1] if window else None}
    done = conn.execute(sa.update(sync_cursors).where(
        sync_cursors.c.shop_id == shop_id, sync_cursors.c.stream == stream).values(**values))
    if done.rowcount == 0:
        conn.execute(sa.insert(sync_cursors).values(shop_id=shop_id, stream=stream, **values))


# ------------------------------------------------------------------------ upsert


class MappingCache:
    """A shop's SKU mappings loaded once (per window) for :func:`upsert_order`."""

    def __init__(self, conn: Connection, shop_id: str) -> None:
        m = sku_mappings.c
        self.by_sku_id: dict[str, Mapping] = {}
        """Mappings by platform ``sku_id``."""
        self.by_outer: dict[str, Mapping] = {}
        """Mappings by merchant ``outer_id``."""
        for sku_id, outer, sku, units in conn.execute(sa.select(
                m.platform_sku_id, m.outer_id, m.sku, m.units).where(m.shop_id == shop_id)
                .order_by(m.id.desc())):
            if sku_id:
                self.by_sku_id[sku_id] = Mapping(sku, units)
            if outer:
                self.by_outer[outer] = Mapping(sku, units)

    def find(self, sku_id: str, outer_id: str) -> Mapping | None:
        """Same rule as :func:`find_mapping`."""
        return (self.by_sku_id.get(sku_id) if sku_id else None) or (
            self.by_outer.get(outer_id) if outer_id else None)


def _receiver(po: PlatformOrder) -> tuple[dict[str, str] | None, dict[str, str], str]:
    r = po.receiver
    cipher = ({"name": r.name_cipher, "phone": r.phone_cipher, "address": r.address_cipher,
               "oaid": r.oaid} if r.has_ciphertext or r.oaid else None)
    masked = {"name": r.name_mask, "phone": r.phone_mask, "address": r.address_mask,
              "province": r.province, "city": r.city, "district": r.district}
    digest = ""
    if cipher is not None:
        digest = hashlib.sha256(json.dumps([cipher, masked], sort_keys=True,
                                           ensure_ascii=False).encode()).hexdigest()
        if r.merge_key:  # kept beside the ciphertext, outside the digest (address changes)
            cipher = {**cipher, "merge_key": r.merge_key}
    return cipher, masked, digest


def _initial_state(po: PlatformOrder) -> str:
    if po.status is OrderStatus.CLOSED:
        return "cancelled"
    if po.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        return "shipped"
    return "pending"


def _line_rows(conn: Connection, shop_id: str, order_id: str, po: PlatformOrder,
               cache: MappingCache | None) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(po.lines, start=1):
        mapping = (cache.find(line.sku_id, line.outer_id) if cache is not None
                   else find_mapping(conn, shop_id, line.sku_id, line.outer_id))
        rows.append({
            "order_id": order_id, "line_no": n, "platform_item_id": line.item_id,
            "platform_sku_id": line.sku_id, "outer_id": line.outer_id,
            "platform_line_id": line.line_id, "title": line.title[:200],
            "spec": line.spec[:200], "qty": line.qty, "price_fen": line.price_fen,
            "is_gift": line.is_gift, "sku": mapping.sku if mapping else None,
            "sku_qty": line.qty * mapping.units if mapping else None,
        })
    return rows


def _write_lines(conn: Connection, shop_id: str, order_id: str, po: PlatformOrder,
                 cache: MappingCache | None) -> None:
    conn.execute(sa.delete(order_lines).where(order_lines.c.order_id == order_id))
    rows = _line_rows(conn, shop_id, order_id, po, cache)
    if rows:
        conn.execute(sa.insert(order_lines), rows)
    apply_splits(conn, order_id)  # what a second parcel (拆单) carries stays there


NickKey = Callable[[str], str]
"""Turns a buyer nickname into its keyed search digest (``Sealer.search_key``)."""

NICK_MASK_MAX = 64
"""Longest stored masked nickname (``orders.buyer_nick_mask``)."""


def mask_nick(nick: str) -> str:
    """A nickname for screens: its first and last characters around ``**`` (``小**8``);
    two characters keep the first (``小*``), one keeps none (``*``)."""
    nick = nick.strip()
    if not nick:
        return ""
    if len(nick) == 1:
        return "*"
    masked = nick[0] + "**" + nick[-1] if nick[1:-1] else nick[0] + "*"
    return masked[:NICK_MASK_MAX]


def _nick_values(po: PlatformOrder, nick_key: NickKey | None) -> dict[str, Any]:
    nick = po.buyer_nick.strip()
    return {"buyer_nick_mask": mask_nick(nick),
            "buyer_nick_key": nick_key(nick) if nick and nick_key is not None else None}


def _values(po: PlatformOrder, masked: dict[str, str], now: datetime) -> dict[str, Any]:
    return {
        "platform_status": po.status.value, "raw_status": po.raw_status[:64],
        "refund_status": po.refund_status[:64], "platform_updated_at": po.updated_at,
        "ordered_at": po.created_at, "buyer_note": po.buyer_note, "seller_note": po.seller_note,
        "risk_review": po.risk_review, "pay_fen": po.pay_fen, "receiver_masked": masked,
        "platform_carrier": po.carrier[:64], "platform_tracking": po.tracking_number[:64],
        "ship_by": po.ship_by, "updated_at": now,
    }


def _new_order_row(shop_id: str, po: PlatformOrder, now: datetime,
                   nick_key: NickKey | None = None) -> dict[str, Any]:
    cipher, masked, digest = _receiver(po)
    return {"id": order_key(po.platform, po.order_id), "shop_id": shop_id,
            "platform": po.platform, "platform_order_id": po.order_id,
            "receiver_cipher": cipher, "receiver_digest": digest, "state": _initial_state(po),
            "first_seen_at": now, "revision": 1, "exception_code": None,
            "exception_detail": None, "warehouse_id": None, "station_id": None,
            "receiver_sealed": None, **_values(po, masked, now), **_nick_values(po, nick_key)}


_UNKNOWN: Any = object()
"""``cur`` not given: :func:`upsert_order` reads the stored order itself."""

_CURRENT = (orders.c.id, orders.c.platform_updated_at, orders.c.state, orders.c.receiver_cipher,
            orders.c.receiver_digest, orders.c.station_id, orders.c.revision,
            orders.c.exception_code, orders.c.merged_into, orders.c.note_approved)


_CONTENT = ("platform_status", "raw_status", "refund_status", "buyer_note", "seller_note",
            "risk_review", "pay_fen", "receiver_masked", "platform_carrier", "platform_tracking")
"""Order columns filled from what the platform sends (compared when modified times tie)."""


def _unchanged(conn: Connection, oid: str, po: PlatformOrder, values: dict[str, Any],
               digest: str) -> bool:
    """Whether ``po`` says nothing new about the stored order. Platforms stamp changes to
    the whole second, so a second change within the same second carries the same modified
    time: only identical content is a stale copy."""
    row = conn.execute(sa.select(*(orders.c[k] for k in _CONTENT), orders.c.receiver_digest)
                       .where(orders.c.id == oid)).one()
    if any(row._mapping[k] != values[k] for k in _CONTENT):
        return False
    if digest and digest != row.receiver_digest:
        return False
    stored = conn.execute(sa.select(order_lines.c.platform_sku_id, order_lines.c.outer_id,
                                    order_lines.c.qty, order_lines.c.price_fen,
                                    order_lines.c.is_gift)
                          .where(order_lines.c.order_id == oid,
                                 order_lines.c.promotion_id.is_(None))  # ours, not theirs
                          .order_by(order_lines.c.line_no)).all()
    return [tuple(r) for r in stored] == [(ln.sku_id, ln.outer_id, ln.qty, ln.price_fen,
                                           ln.is_gift) for ln in po.lines]


def upsert_order(conn: Connection, shop_id: str, po: PlatformOrder, *,
                 now: datetime, cache: MappingCache | None = None,
                 cur: Any = _UNKNOWN, summarize: bool = True,
                 nick_key: NickKey | None = None) -> tuple[str, str]:
    """Store one platform order; returns (``inserted``|``updated``|``stale``, order id).

    The sales summaries follow in the same transaction (``summarize=False``: the caller
    touches them itself, once for a whole window).

    Newer ``updated_at`` wins, and so does the same one when the content differs; an update
    reaching an order at a station with a changed address, a refund request or a closure
    sends an intercept. ``nick_key`` makes the buyer's nickname searchable (None: only
    its mask is stored).
    """
    oid = order_key(po.platform, po.order_id)
    if cur is _UNKNOWN:
        cur = conn.execute(sa.select(*_CURRENT).where(orders.c.id == oid)).first()
    if cur is None:
        conn.execute(sa.insert(orders).values(**_new_order_row(shop_id, po, now, nick_key)))
        rows = _line_rows(conn, shop_id, oid, po, cache)
        if rows:
            conn.execute(sa.insert(order_lines), rows)
        reconcile(conn, [oid], now=now)
        if summarize:
            summaries.touch(conn, [oid], now=now)
        return "inserted", oid
    cipher, masked, digest = _receiver(po)
    values = _values(po, masked, now)
    if po.updated_at < cur.platform_updated_at or (
            po.updated_at == cur.platform_updated_at
            and _unchanged(conn, oid, po, values, digest)):
        return "stale", oid
    state = cur.state
    if po.buyer_nick.strip():  # a caller without the key leaves the stored digest be
        values.update({k: v for k, v in _nick_values(po, nick_key).items() if v is not None})
    if cipher is not None:
        # Ciphertext is only sent while the order awaits shipping: keep the last one.
        values["receiver_cipher"] = cipher
        values["receiver_digest"] = digest
    values["revision"] = cur.revision + 1
    requested = po.refund_status in REFUND_REQUESTED.get(po.platform, frozenset())
    address_changed = bool(cipher is not None and cur.receiver_digest
                           and digest != cur.receiver_digest)
    merged_into = cur.merged_into if state == "exception" and cur.exception_code == MERGED \
        else None
    if merged_into is not None and (
            po.status is not OrderStatus.AWAITING_SHIPMENT or requested or address_changed
            or po.risk_review or (po.buyer_note.strip() and po.buyer_note != cur.note_approved)):
        leave_merge(conn, oid, merged_into, "平台订单已变化 / the platform order changed",
                    now=now)
        state = "pending"
        values.update(state="pending", exception_code=None, exception_detail=None)
    if state in OPEN_STATES and po.status is OrderStatus.CLOSED:
        if cur.station_id and state in (*AT_STATION, "intercepted"):
            intercept(conn, oid, cur.station_id, f"closed:{po.updated_at.isoformat()}",
                      "订单已关闭/退款 / order closed or refunded", now=now)
        values.update(state="cancelled")
    elif state in OPEN_STATES and po.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED) \
            and state != "tasked":
        # Shipped outside Packline (another tool, or by hand on the platform).
        values.update(state="shipped")
    elif state in AT_STATION and (requested or address_changed):
        assert cur.station_id is not None
        if requested:
            intercept(conn, oid, cur.station_id, f"refund:{po.refund_status}",
                      "买家申请退款 / refund requested", now=now)
        if address_changed:
            intercept(conn, oid, cur.station_id, f"address:{digest[:16]}",
                      "收货地址已修改 / address changed", now=now)
        values.update(state="intercepted")
    elif state == "intercepted" and po.status is OrderStatus.AWAITING_SHIPMENT \
            and cur.station_id:
        if address_changed:
            intercept(conn, oid, cur.station_id, f"address:{digest[:16]}",
                      "收货地址已修改 / address changed", now=now)
        if requested:
            intercept(conn, oid, cur.station_id, f"refund:{po.refund_status}",
                      "买家申请退款 / refund requested", now=now)
        elif lift_refund_intercepts(conn, oid, "退款申请已撤销 / refund request withdrawn",
                                    now=now):
            values.update(state="tasked")
    elif state == "allocated" and requested:
        # Still paid: the reservation stays (in the shop's home warehouse) until refunded.
        values.update(state="exception", exception_code="refund",
                      exception_detail="买家申请退款 / refund requested", warehouse_id=None,
                      station_id=None)
    elif state == "exception" and cur.exception_code in (HELD, MERGED):
        # a person's hold stays until released; a merged order stays in its parcel
        _write_lines(conn, shop_id, oid, po, cache)
    elif state in ("pending", "exception"):
        values.update(state="pending", exception_code=None, exception_detail=None)
        _write_lines(conn, shop_id, oid, po, cache)
    conn.execute(sa.update(orders).where(orders.c.id == oid).values(**values))
    children = _follow_parent(conn, oid, values, requested or address_changed or po.risk_review,
                              now=now)
    reconcile(conn, [oid, *([merged_into] if merged_into else []), *children], now=now)
    if summarize:
        summaries.touch(conn, [oid], now=now)
    return "updated", oid


def _follow_parent(conn: Connection, oid: str, values: dict[str, Any], changed: bool, *,
                   now: datetime) -> list[str]:
    """Second parcels split off order ``oid`` (拆单) follow its platform record: they take its
    platform fields; a closure cancels them (intercepted at a station); a refund request,
    address change or risk review holds them for a person (``held``, or a person's
    intercept at a station, which ``cloud.orders.review.release`` lifts)."""
    children = split_children(conn, oid)
    if not children:
        return []
    keys = ("platform_status", "raw_status", "refund_status", "risk_review", "receiver_masked",
            "platform_updated_at", "receiver_cipher", "receiver_digest")
    shared: dict[str, Any] = {k: values[k] for k in keys if k in values}
    reason = "原订单有变化 (退款/改地址/风控), 请核对 / the original order changed: check it"
    for child in children:
        c = conn.execute(sa.select(orders.c.state, orders.c.station_id, orders.c.exception_code)
                         .where(orders.c.id == child)).one()
        update: dict[str, Any] = {**shared, "updated_at": now}
        if values.get("state") == "cancelled":
            if c.station_id and c.state in (*AT_STATION, "intercepted"):
                intercept(conn, child, c.station_id, f"closed:{now.isoformat()}",
                          "订单已关闭/退款 / order closed or refunded", now=now)
            update["state"] = "cancelled"
        elif changed and c.state in AT_STATION and c.station_id:
            intercept(conn, child, c.station_id, "manual:hold", reason, now=now)
            update["state"] = "intercepted"
        elif changed and c.state in ("pending", "exception", "allocated") \
                and c.exception_code != HELD:
            update.update(state="exception", exception_code=HELD, exception_detail=reason[:500],
                          warehouse_id=None, station_id=None)
        conn.execute(sa.update(orders).where(orders.c.id == child).values(**update))
    return children


def leave_merge(conn: Connection, oid: str, primary: str, reason: str, *,
                now: datetime) -> None:
    """A platform change (closure, refund request, new address or note, …) takes a merged
    order out of its primary's parcel: it is its own order again (``pending``; the caller
    applies the change), the primary reserves without it, and a primary already at its
    station is intercepted there (its box would hold the changed order's goods). Recorded
    as an ``order_events`` row by ``system`` and audited."""
    conn.execute(sa.update(orders).where(orders.c.id == oid).values(
        merged_into=None, state="pending", exception_code=None, exception_detail=None,
        updated_at=now))
    conn.execute(sa.insert(order_events).values(
        order_id=oid, at=now, actor="system", action="unmerge", from_state="exception",
        to_state="pending", reason=reason))
    audit.record(conn, now, "system", "order.unmerge", oid,
                 {"primary": primary, "reason": reason})
    p = conn.execute(sa.select(orders.c.state, orders.c.station_id).where(
        orders.c.id == primary)).first()
    if p is not None and p.state in AT_STATION and p.station_id:
        intercept(conn, primary, p.station_id, f"merge:{oid}",
                  "合并的订单已变化 / a merged order changed", now=now)
        conn.execute(sa.update(orders).where(orders.c.id == primary).values(
            state="intercepted", updated_at=now))
    reconcile(conn, [primary], now=now)


def _shipped_at_station(conn: Connection, order_id: str) -> bool:
    """Whether a station's shipment of the order is stored (write-back marks the order
    shipped at its next pass)."""
    return conn.execute(sa.select(station_shipments.c.msg_id).where(
        station_shipments.c.order_id == order_id).limit(1)).first() is not None


def upsert_refund(conn: Connection, shop_id: str, event: RefundEvent, *,
                  now: datetime) -> str:
    """Store an after-sales record (newer wins) and apply it to the order.

    A pending refund on an order at a station intercepts it; on an allocated order it
    files an exception (the order keeps its reservation while it is still paid), which a
    withdrawn or refused refund sends back to allocation; a successful refund before
    shipping cancels the order and releases its reservation.
    """
    cur = conn.execute(sa.select(refunds.c.platform_updated_at).where(
        refunds.c.shop_id == shop_id, refunds.c.refund_id == event.refund_id)).first()
    values = {"platform_order_id": event.order_id, "status": event.status[:64],
              "succeeded": event.succeeded, "amount_fen": event.amount_fen,
              "platform_updated_at": event.updated_at, "seen_at": now,
              "returns_goods": event.returns_goods, "exchange": event.exchange,
              "return_waybill": event.return_waybill[:64],
              "return_carrier": event.return_carrier[:64],
              "platform_sku_id": event.sku_id[:64], "outer_id": event.outer_id[:64],
              "qty": max(0, event.qty), "reason": event.reason[:200]}
    if cur is None:
        conn.execute(sa.insert(refunds).values(shop_id=shop_id, refund_id=event.refund_id,
                                               **values))
    elif event.updated_at <= cur[0]:
        return "stale"
    else:
        conn.execute(sa.update(refunds).where(
            refunds.c.shop_id == shop_id, refunds.c.refund_id == event.refund_id).values(**values))
    oid = order_key(event.platform, event.order_id)
    row = conn.execute(sa.select(orders.c.state, orders.c.station_id,
                                 orders.c.exception_code, orders.c.merged_into)
                       .where(orders.c.id == oid)).first()
    if row is None:
        return "refund_only"
    state, station, code, merged_into = row
    closed = event.status in REFUND_CLOSED
    notify_return(conn, oid, event, closed=closed, now=now)
    if merged_into and state == "exception" and code == MERGED and not closed:
        leave_merge(conn, oid, merged_into, "买家申请退款 / refund requested", now=now)
        state, code = "pending", None
    if event.succeeded and state in OPEN_STATES:
        if station and state in (*AT_STATION, "intercepted"):
            intercept(conn, oid, station, f"refund:{event.refund_id}",
                      "已退款 / refunded", now=now)
        conn.execute(sa.update(orders).where(orders.c.id == oid).values(
            state="cancelled", updated_at=now))
    elif not event.succeeded and not closed:
        if station and state in AT_STATION and event.returns_goods and _shipped_at_station(
                conn, oid):
            pass  # goods coming back from a parcel the station shipped: nothing to stop
        elif station and state in AT_STATION:
            intercept(conn, oid, station, f"refund:{event.refund_id}",
                      "买家申请退款 / refund requested", now=now)
            conn.execute(sa.update(orders).where(orders.c.id == oid).values(
                state="intercepted", updated_at=now))
        elif state in ("allocated", "pending"):
            conn.execute(sa.update(orders).where(orders.c.id == oid).values(
                state="exception", exception_code="refund", warehouse_id=None, station_id=None,
                exception_detail="买家申请退款 / refund requested", updated_at=now))
    elif closed and not event.succeeded and state == "intercepted":
        # Withdrawn or refused while the order sat at a station: it may be packed again,
        # unless something else (an address change, a closure) still holds it there.
        if lift_refund_intercepts(conn, oid, "退款申请已撤销 / refund request withdrawn",
                                  now=now):
            conn.execute(sa.update(orders).where(orders.c.id == oid).values(
                state="tasked", updated_at=now))
    elif closed and not event.succeeded and state == "exception" and code == "refund":
        # Withdrawn by the buyer or refused by the seller: still paid, so it goes back to
        # allocation (its reservation never lapsed).
        conn.execute(sa.update(orders).where(orders.c.id == oid).values(
            state="pending", exception_code=None, exception_detail=None, updated_at=now))
    after = conn.execute(sa.select(orders.c.state).where(orders.c.id == oid)).scalar()
    children = _follow_parent(conn, oid, {"state": after},
                              not closed and not event.succeeded, now=now)
    reconcile(conn, [oid, *children], now=now)
    summaries.touch(conn, [oid], now=now)
    return "applied"


# ------------------------------------------------------------------------- runs


def _max_span(sc: ShopClient, s: SyncSettings) -> timedelta:
    """The settings' window length, shortened to what the shop's client accepts."""
    limit = getattr(sc.client, "max_window_seconds", None)
    return min(s.span, timedelta(seconds=limit) if limit is not None else DEFAULT_MAX_SPAN)


async def fetch_window(client: Any, start: datetime, end: datetime, *,
                       page_size: int = MAX_PAGE_SIZE) -> list[PlatformOrder]:
    """Every order of a window (``cloud.marketplaces.base.read_window``)."""
    return await read_window(client.list_orders, start, end, page_size=page_size)


async def sync_orders(engine: Engine, sc: ShopClient, *, platform_now: datetime,
                      now: datetime, settings: SyncSettings | None = None) -> SyncResult:
    """Read every window from the checkpoint up to ``platform_now − lag``.

    ``platform_now`` plans the windows (the platform's clock); ``now`` (ours) stamps rows.
    """
    s = settings or SyncSettings()
    result = SyncResult()
    shop_id = sc.shop.id
    with engine.connect() as conn:
        cursor = get_cursor(conn, shop_id, "orders")
    if cursor is None:
        cursor = platform_now - s.initial_lookback
    span = _max_span(sc, s)
    planned: list[tuple[datetime, datetime]] = []
    while len(planned) < s.max_windows:
        window = plan_window(cursor, platform_now, max_span=span, overlap=s.overlap, lag=s.lag)
        if window is None:
            break
        planned.append(window)
        cursor = window[1]
    todo = iter(planned)
    reading: deque[tuple[tuple[datetime, datetime], asyncio.Task[list[PlatformOrder]]]] = deque()

    def read_next() -> None:
        nxt = next(todo, None)
        if nxt is not None:
            reading.append((nxt, asyncio.ensure_future(
                fetch_window(sc.client, *nxt, page_size=s.page_size))))

    # One window is written at a time, in a worker thread, while the next ones are read:
    # window n starts writing only after window n − 1 has committed (with its checkpoint),
    # so the checkpoint only ever moves to the end of a window whose orders are stored.
    storing: asyncio.Future[None] | None = None
    last: dict[str, PlatformOrder] = {}
    try:
        for _ in range(max(1, s.read_ahead)):
            read_next()
        while reading:
            window, task = reading.popleft()
            got = await task
            read_next()
            if storing is not None:
                await asyncio.shield(storing)
            storing = _in_thread(engine, _store_window, engine, shop_id, window, got, result,
                                 last, now=now, nick_key=sc.nick_key)
            last = {po.order_id: po for po in got}
        if storing is not None:
            await asyncio.shield(storing)
    finally:
        for _, task in reading:
            task.cancel()
        await asyncio.gather(*(task for _, task in reading), return_exceptions=True)
        if storing is not None:
            # A read failed (or the run was cancelled) while a window was being written:
            # that write finishes (it commits or rolls back whole) before the error goes up.
            await asyncio.wait([storing])
            err = None if storing.cancelled() else storing.exception()
            if err is not None and err is not sys.exc_info()[1]:
                log.warning("writing a window failed too: %s", err)
    return result


def _in_thread(engine: Engine, fn: Callable[..., None], *args: Any, **kwargs: Any
               ) -> asyncio.Future[None]:
    """Run a window's write off the event loop (reads go on meanwhile), except on an
    in-memory SQLite database, whose connection is per thread: there it runs inline."""
    if engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"):
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        try:
            fn(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - handed to the awaiting caller
            done.set_exception(err)
        else:
            done.set_result(None)
        return done
    return asyncio.ensure_future(asyncio.to_thread(fn, *args, **kwargs))


def _store_window(engine: Engine, shop_id: str, window: tuple[datetime, datetime],
                  got: list[PlatformOrder], result: SyncResult,
                  last: dict[str, PlatformOrder], *, now: datetime,
                  nick_key: NickKey | None = None) -> None:
    """Write one window's orders and move the checkpoint to its end, in one transaction.

    ``last`` holds the previous window's orders, written by this run: an identical copy
    read again in the overlap is stale without asking the database. A transaction that
    collides with another writer of the same orders (two workers on one shop, PostgreSQL:
    both found an order new) is rolled back whole and written again, up to
    :data:`STORE_ATTEMPTS` times; the counts are added to ``result`` once it commits."""
    for attempt in range(1, STORE_ATTEMPTS + 1):
        try:
            counts = _write_window(engine, shop_id, window, got, last, now=now,
                                   nick_key=nick_key)
            break
        except sa.exc.IntegrityError as err:
            if attempt == STORE_ATTEMPTS:
                raise
            log.info("window %s of %s collided with another writer, writing it again: %s",
                     window[0].isoformat(), shop_id, err.orig)
    result.inserted += counts["inserted"]
    result.updated += counts["updated"]
    result.stale += counts["stale"]
    result.windows += 1
    result.fetched += len(got)


def _write_window(engine: Engine, shop_id: str, window: tuple[datetime, datetime],
                  got: list[PlatformOrder], last: dict[str, PlatformOrder], *,
                  now: datetime, nick_key: NickKey | None = None) -> dict[str, int]:
    """One attempt of :func:`_store_window`; returns the counts by kind."""
    counts = {"inserted": 0, "updated": 0, "stale": 0}
    stamp = now
    with write_transaction(engine) as conn:
        cache = MappingCache(conn, shop_id)
        ids = [order_key(po.platform, po.order_id) for po in got]
        current: dict[str, Any] = {}
        for chunk in in_chunks(ids):
            for row in conn.execute(sa.select(*_CURRENT).where(orders.c.id.in_(chunk))):
                current[row.id] = row
        new_orders: list[dict[str, Any]] = []
        new_lines: list[dict[str, Any]] = []
        for po in sorted(got, key=lambda o: o.updated_at):
            oid = order_key(po.platform, po.order_id)
            if last.get(po.order_id) == po and oid in current:
                counts["stale"] += 1
                continue
            if oid not in current:
                new_orders.append(_new_order_row(shop_id, po, stamp, nick_key))
                new_lines += _line_rows(conn, shop_id, oid, po, cache)
                counts["inserted"] += 1
                continue
            kind, _ = upsert_order(conn, shop_id, po, now=stamp, cache=cache,
                                   cur=current[oid], summarize=False, nick_key=nick_key)
            counts["updated" if kind == "updated" else "stale"] += 1
        if new_orders:
            conn.execute(sa.insert(orders), new_orders)
        if new_lines:
            conn.execute(sa.insert(order_lines), new_lines)
        reconcile(conn, ids, now=stamp)
        summaries.touch(conn, ids, now=stamp)  # one batched pass for the whole window
        set_cursor(conn, shop_id, "orders", window[1], window, len(got), now=stamp)
    return counts


async def sync_refunds(engine: Engine, sc: ShopClient, *, platform_now: datetime,
                       now: datetime, settings: SyncSettings | None = None) -> int:
    """Read refund windows like order windows; returns the number of records read."""
    s = settings or SyncSettings()
    with engine.connect() as conn:
        cursor = get_cursor(conn, sc.shop.id, "refunds")
    if cursor is None:
        cursor = platform_now - s.refund_lookback
    span = _max_span(sc, s)
    total = windows = 0
    while windows < s.max_windows:
        window = plan_window(cursor, platform_now, max_span=span, overlap=s.overlap, lag=s.lag)
        if window is None:
            break
        events = await sc.client.refunds_in_window(*window)
        stamp = now
        with write_transaction(engine) as conn:
            for event in sorted(events, key=lambda e: e.updated_at):
                upsert_refund(conn, sc.shop.id, event, now=stamp)
            set_cursor(conn, sc.shop.id, "refunds", window[1], window, len(events), now=stamp)
        total += len(events)
        windows += 1
        cursor = window[1]
    return total


async def refetch_orders(engine: Engine, sc: ShopClient, order_ids: Sequence[str], *,
                         now: datetime) -> int:
    """Re-read orders by platform id (push hints); returns how many were stored/updated."""
    changed = 0
    for platform_order_id in order_ids:
        try:
            po = await sc.client.get_order(platform_order_id)
        except BusinessError as err:
            # The API can trail the push by minutes: polling will pick the order up.
            log.info("push re-read of %s failed: %s", platform_order_id, err.message)
            continue
        with write_transaction(engine) as conn:
            kind, _ = upsert_order(conn, sc.shop.id, po, now=now, nick_key=sc.nick_key)
        changed += kind != "stale"
    return changed


async def handle_push(engine: Engine, sc: ShopClient, messages: Sequence[PushMessage], *,
                      now: datetime) -> int:
    """Record push messages once (by id) and re-read the orders they name."""
    fresh: list[str] = []
    with write_transaction(engine) as conn:
        for msg in messages:
            seen = conn.execute(sa.select(push_inbox.c.msg_id).where(
                push_inbox.c.shop_id == sc.shop.id, push_inbox.c.msg_id == msg.id)).first()
            if seen:
                continue
            conn.execute(sa.insert(push_inbox).values(
                shop_id=sc.shop.id, msg_id=msg.id, topic=msg.topic[:128],
                platform_order_id=msg.order_id[:64], received_at=now))
            if msg.order_id and msg.order_id not in fresh:
                fresh.append(msg.order_id)
    return await refetch_orders(engine, sc, fresh, now=now)


def seal_receiver(conn: Connection, sealer: Sealer, order_id: str,
                  plain: dict[str, str]) -> None:
    """Store decrypted receiver data sealed with the cloud key (never in clear)."""
    conn.execute(sa.update(orders).where(orders.c.id == order_id).values(
        receiver_sealed=sealer.seal_json(plain)))


def exceptions(conn: Connection, shop_id: str | None = None) -> list[dict[str, Any]]:
    """The exception list: orders that failed automatic review, with the reason."""
    q = sa.select(orders.c.id, orders.c.shop_id, orders.c.platform_order_id,
                  orders.c.exception_code, orders.c.exception_detail, orders.c.updated_at
                  ).where(orders.c.state == "exception").order_by(orders.c.id)
    if shop_id:
        q = q.where(orders.c.shop_id == shop_id)
    return [dict(r) for r in conn.execute(q).mappings()]
