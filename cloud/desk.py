"""The office 打单台: orders waiting to ship with their e-waybills, chosen by filter and
printed in a chosen order through the platform's print component (issue #15 item 3).

:func:`rows` lists what the desk shows — orders allocated or at a station, not shipped,
with their waybill, items, first pick location, ship-by deadline and print status (office
prints here and label prints at the stations together). :func:`documents` gives, for the
selected orders in the chosen order, what the browser hands the print component: the
platform's ``print_data`` unchanged and the custom area (order no., items with quantities,
the seller's note, print time). :func:`record_prints` keeps each printed document once (by
the component's task and document ids): the n-th print of the order, printer, who, when,
and for a reprint the reason, which is required; an order event and an audit entry go with
it. :func:`packing_list` is the 发货单 printed alongside.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cloud import audit
from cloud.config import DISPLAY_TZ
from cloud.crypto import Sealer
from cloud.db import write_transaction
from cloud.db.schema import shops, skus, stock_balances
from cloud.db.schema_couriers import courier_choices, desk_prints
from cloud.db.schema_orders import order_events, order_lines, orders, waybills
from cloud.errors import InputError, Problem
from cloud.label_prints import every_print
from cloud.marketplaces.errors import MarketplaceError
from cloud.orders.waybills import request_waybills
from cloud.shops import ShopError, open_client

DESK_STATES = ("allocated", "tasked")
"""Orders the desk works on: allocated (waiting for a number) or at a station."""
ORDERINGS = ("ship_by", "sku", "location")
"""Print orders: by ship-by deadline, by SKU (the stack follows the shelves' SKUs), or by
the first item's pick location (picking follows the stack)."""
ROW_LIMIT = 500
"""Most orders the desk lists at once (narrow the filter for the rest)."""
REASON_MAX = 200
"""Longest reprint reason kept."""
IN_CHUNK = 500
"""Ids per ``IN (…)`` list."""
PRINT_TIME_FORMAT = "%Y-%m-%d %H:%M"
"""The print time in the custom area, China time."""


@dataclass(frozen=True)
class Filters:
    """What the desk lists (empty fields: no restriction)."""

    shop_id: str = ""
    carrier: str = ""
    single_only: bool = False
    """Only orders of one line with one unit (the 单品单件 stack)."""
    sku: str = ""
    """Orders with a line of this SKU."""
    province: str = ""
    """The buyer's province (as the platform's masked address gives it)."""
    paid_before: datetime | None = None
    ship_by_before: datetime | None = None
    order_by: str = "ship_by"
    """One of :data:`ORDERINGS`."""


@dataclass
class DeskRow:
    """One order on the desk."""

    order_id: str
    platform_order_id: str
    shop_name: str
    state: str
    carrier: str
    waybill_no: str
    """Empty while the order waits for its e-waybill."""
    items: list[tuple[str, str, int]] = field(default_factory=list)
    """(SKU, name, units) per line."""
    province: str = ""
    ship_by: datetime | None = None
    paid_at: datetime | None = None
    location: str = ""
    """The first item's pick location in the order's warehouse (most units), or ""."""
    prints: int = 0
    """Times its waybill was printed (office and stations)."""
    last_by: str = ""
    last_at: datetime | None = None
    seller_note: str = ""
    shop_id: str = ""

    @property
    def units(self) -> int:
        """Units of the order."""
        return sum(q for _s, _n, q in self.items)

    def late(self, now: datetime) -> bool:
        """Past its ship-by deadline at ``now``."""
        return self.ship_by is not None and self.ship_by < now


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i:i + IN_CHUNK] for i in range(0, len(ids), IN_CHUNK)]


def carriers(conn: Connection) -> list[str]:
    """Couriers of the desk's waybills (the filter's choices)."""
    return sorted(str(c) for c in conn.execute(sa.select(waybills.c.carrier_code).distinct()
                                               .where(waybills.c.cancelled_at.is_(None))
                                               ).scalars())


def _base(f: Filters) -> Any:
    o, w = orders.c, waybills.c
    query = (sa.select(o.id, o.platform_order_id, o.state, o.ship_by, o.ordered_at,
                       o.receiver_masked, o.seller_note, o.warehouse_id, o.shop_id,
                       shops.c.name.label("shop_name"), w.carrier_code, w.waybill_no)
             .select_from(orders.join(shops, shops.c.id == o.shop_id)
                          .outerjoin(waybills, sa.and_(w.order_id == o.id,
                                                       w.cancelled_at.is_(None))))
             .where(o.state.in_(DESK_STATES), o.merged_into.is_(None)))
    if f.shop_id:
        query = query.where(o.shop_id == f.shop_id)
    if f.carrier:
        query = query.where(w.carrier_code == f.carrier)
    if f.sku:
        query = query.where(sa.exists().where(order_lines.c.order_id == o.id,
                                              order_lines.c.sku == f.sku))
    if f.paid_before is not None:
        query = query.where(o.ordered_at < f.paid_before)
    if f.ship_by_before is not None:
        query = query.where(o.ship_by < f.ship_by_before)
    return query


def rows(conn: Connection, f: Filters, only: Sequence[str] | None = None) -> list[DeskRow]:
    """The desk's orders under ``f`` (and of ``only`` when given: at most
    :data:`ROW_LIMIT` ids), in ``f.order_by`` order, at most :data:`ROW_LIMIT`."""
    found: list[DeskRow] = []
    warehouse: dict[str, str] = {}
    query = _base(f)
    if only is not None:
        query = query.where(orders.c.id.in_(list(only)[:ROW_LIMIT]))
    o = orders.c
    query = query.order_by(o.ship_by.is_(None), o.ship_by, o.id)  # no deadline: last
    if f.order_by == "ship_by" and not f.province and not f.single_only:
        query = query.limit(ROW_LIMIT)  # already in print order: read no more than shown
    for r in conn.execute(query):
        province = str((r.receiver_masked or {}).get("province", ""))
        if f.province and f.province not in province:
            continue
        found.append(DeskRow(
            r.id, r.platform_order_id, r.shop_name, r.state, r.carrier_code or "",
            r.waybill_no or "", province=province, ship_by=r.ship_by, paid_at=r.ordered_at,
            seller_note=r.seller_note or "", shop_id=r.shop_id))
        warehouse[r.id] = r.warehouse_id or ""
    by_id = {row.order_id: row for row in found}
    ids = list(by_id)
    ln = order_lines.c
    for chunk in _chunks(ids):
        for r in conn.execute(
                sa.select(ln.order_id, ln.sku, sa.func.coalesce(skus.c.name_zh, ln.sku),
                          sa.func.coalesce(ln.sku_qty, ln.qty))
                .select_from(order_lines.outerjoin(skus, skus.c.sku == ln.sku))
                .where(ln.order_id.in_(chunk), ln.sku.is_not(None))
                .order_by(ln.order_id, ln.line_no)):
            by_id[r[0]].items.append((str(r[1]), str(r[2]), int(r[3])))
    if f.single_only:
        found = [row for row in found if row.units == 1]
    _print_status(conn, by_id)
    _locations(conn, found, warehouse)
    return sort(found, f.order_by)[:ROW_LIMIT]


def sort(found: list[DeskRow], order_by: str) -> list[DeskRow]:
    """``found`` in a print order of :data:`ORDERINGS` (ties by order id)."""
    far = datetime.max.replace(tzinfo=DISPLAY_TZ)
    if order_by == "sku":
        return sorted(found, key=lambda r: (r.items[0][0] if r.items else "~", r.units,
                                            r.order_id))
    if order_by == "location":
        return sorted(found, key=lambda r: (r.location or "~", r.items[0][0] if r.items
                                            else "~", r.order_id))
    return sorted(found, key=lambda r: (r.ship_by or far, r.order_id))


def _print_status(conn: Connection, by_id: dict[str, DeskRow]) -> None:
    a = every_print().c
    for chunk in _chunks(list(by_id)):
        for oid, who, at in conn.execute(
                sa.select(a.order_id, a.by, a.printed_at).where(a.order_id.in_(chunk))):
            _seen(by_id[oid], who, at)


def _seen(row: DeskRow, who: str, at: datetime) -> None:
    row.prints += 1
    if row.last_at is None or at > row.last_at:
        row.last_at, row.last_by = at, who


def _locations(conn: Connection, found: list[DeskRow], warehouse: dict[str, str]) -> None:
    """Each order's first item's location: where its warehouse holds the most units."""
    wanted = sorted({row.items[0][0] for row in found if row.items})
    best: dict[tuple[str, str], tuple[int, str]] = {}
    b = stock_balances.c
    for chunk in _chunks(wanted):
        for wh, sku, loc, qty in conn.execute(
                sa.select(b.warehouse_id, b.sku, b.location, b.qty)
                .where(b.sku.in_(chunk), b.qty > 0)):
            key = (str(wh), str(sku))
            if key not in best or (qty, loc) > best[key]:
                best[key] = (int(qty), str(loc))
    for row in found:
        if row.items:
            row.location = best.get((warehouse.get(row.order_id, ""), row.items[0][0]),
                                    (0, ""))[1]


def reprints_without_reason(conn: Connection, order_ids: Sequence[str], reason: str
                            ) -> list[str]:
    """The orders of ``order_ids`` already printed, when no reason is given (else [])."""
    if reason.strip():
        return []
    done: set[str] = set()
    a = every_print().c
    for chunk in _chunks(list(order_ids)):
        done |= set(conn.execute(sa.select(a.order_id).where(a.order_id.in_(chunk))).scalars())
    return [oid for oid in order_ids if oid in done]


def _reprint_problem(conn: Connection, order_ids: Sequence[str], reason: str) -> None:
    again = reprints_without_reason(conn, order_ids, reason)
    if again:
        raise InputError([Problem(
            "reason", f"{len(again)} 单已打印过, 重打请填写原因",
            f"{len(again)} already printed: give a reason to reprint")])


def documents(conn: Connection, order_ids: Sequence[str], *, order_by: str, reason: str,
              now: datetime) -> list[dict[str, Any]]:
    """What the print component gets for ``order_ids``, in ``order_by`` order: one document
    per waybill (``documentID`` = the waybill number; ``orderId`` for the desk's own use),
    contents = the platform's ``print_data`` unchanged, then the custom area laid out by the
    shop's custom-area template for the courier (``courier_choices.custom_area_url``; none
    set: no custom area, which the component could not lay out). Orders without
    a live waybill are left out; a reprint without a reason is refused (``InputError``)."""
    _reprint_problem(conn, order_ids, reason)
    found = rows(conn, Filters(), only=order_ids)
    data = {}
    for chunk in _chunks([r.order_id for r in found]):
        data.update(dict(conn.execute(sa.select(waybills.c.order_id, waybills.c.print_data)
                                      .where(waybills.c.order_id.in_(chunk),
                                             waybills.c.cancelled_at.is_(None))).all()))
    printed_at = now.astimezone(DISPLAY_TZ).strftime(PRINT_TIME_FORMAT)
    c = courier_choices.c
    layouts = {(str(shop), str(carrier)): str(url or "") for shop, carrier, url in conn.execute(
        sa.select(c.shop_id, c.carrier_code, c.custom_area_url))}
    out = []
    for row in sort(found, order_by):
        raw = data.get(row.order_id)
        if not row.waybill_no or raw is None:
            continue
        try:
            platform = json.loads(raw)
        except ValueError:
            platform = None
        if not isinstance(platform, dict):
            continue  # what the platform sent is not print data: the component would refuse
        contents: list[dict[str, Any]] = [platform]
        layout = layouts.get((row.shop_id, row.carrier), "")
        if layout:  # the component lays the custom area out with its own template
            contents.append({"templateURL": layout, "data": {
                "orderNo": row.platform_order_id,
                "items": [{"sku": s, "name": n, "qty": q} for s, n, q in row.items],
                "itemsSummary": "，".join(f"{n}×{q}" for _s, n, q in row.items),
                "sellerNote": row.seller_note, "printTime": printed_at}})
        out.append({"documentID": row.waybill_no, "orderId": row.order_id,
                    "contents": contents})
    return out


def record_prints(conn: Connection, task_id: str, printer: str,
                  printed: Sequence[tuple[str, str]], *, actor: str, reason: str,
                  now: datetime) -> int:
    """Keep the documents the component printed — ``printed`` holds (order id, waybill no.)
    — once per task and document; returns how many were new. A reprint needs ``reason``
    (``InputError``, nothing kept)."""
    reason = reason.strip()[:REASON_MAX]
    fresh = [(oid, wb, f"{task_id}:{wb}"[:64]) for oid, wb in printed]
    fresh = [(oid, wb, key) for oid, wb, key in fresh if conn.execute(
        sa.select(desk_prints.c.id).where(desk_prints.c.id == key)).first() is None]
    _reprint_problem(conn, [oid for oid, _w, _k in fresh], reason)  # a result reported twice
    new = 0                                                          # is not a reprint
    for order_id, waybill_no, key in fresh:
        state = conn.execute(sa.select(orders.c.state).where(orders.c.id == order_id)
                             ).scalar_one_or_none()
        if state is None:
            continue
        n = 1 + int(conn.execute(sa.select(sa.func.count()).select_from(desk_prints).where(
            desk_prints.c.order_id == order_id)).scalar_one())
        conn.execute(sa.insert(desk_prints).values(
            id=key, order_id=order_id, waybill_no=waybill_no, n=n, printer=printer[:200],
            printed_by=actor, printed_at=now, reason=reason or None))
        conn.execute(sa.insert(order_events).values(
            order_id=order_id, at=now, actor=actor,
            action="desk_reprint" if n > 1 else "desk_print", from_state=state,
            to_state=state, reason=reason or f"{waybill_no} @ {printer}"[:200]))
        audit.record(conn, now, actor, "desk.print", order_id,
                     {"waybill_no": waybill_no, "n": n, "printer": printer,
                      "reason": reason or None})
        new += 1
    return new


def packing_list(conn: Connection, order_ids: Sequence[str], order_by: str) -> list[DeskRow]:
    """The 发货单 of ``order_ids``: the desk's rows of them, in ``order_by`` order."""
    return rows(conn, Filters(order_by=order_by), only=order_ids)


@dataclass
class NumbersResult:
    """What a 取号 from the desk did."""

    issued: int = 0
    """Orders that got their number (and went to their station as a task)."""
    deferred: int = 0
    """Orders left for a retry (the platform did not answer in time, throttled)."""
    failures: list[tuple[str, str]] = field(default_factory=list)
    """(platform order no., the platform's reason) of orders it refused: they wait in the
    exception list."""
    skipped: int = 0
    """Ticked orders that needed no number (numbered already, or not allocated)."""
    shops_failed: list[tuple[str, str]] = field(default_factory=list)
    """(shop name, why) of shops that could not be asked at all."""


async def take_numbers(engine: Engine, sealer: Sealer, order_ids: Sequence[str], *,
                       http: httpx.AsyncClient, now: datetime, actor: str) -> NumbersResult:
    """E-waybill numbers now for the ticked orders still waiting for one, shop by shop,
    through the worker's own waybill pass (claims, store, task to the station): the
    platform's batches, pace and retry rules, and its refusals kept on the order."""
    o, w = orders.c, waybills.c
    result = NumbersResult()
    with engine.connect() as conn:
        wanted = conn.execute(
            sa.select(o.id, o.shop_id, o.platform_order_id, shops.c.name)
            .select_from(orders.join(shops, shops.c.id == o.shop_id))
            .where(o.id.in_(list(order_ids)[:ROW_LIMIT]), o.state == "allocated",
                   ~sa.exists().where(w.order_id == o.id, w.cancelled_at.is_(None)))).all()
    result.skipped = len(set(order_ids)) - len(wanted)
    by_shop: dict[tuple[str, str], list[str]] = {}
    for r in wanted:
        by_shop.setdefault((r.shop_id, r.name), []).append(r.id)
    for (shop_id, name), ids in sorted(by_shop.items()):
        try:
            sc = open_client(engine, sealer, shop_id, http=http)
            got = await request_waybills(engine, sc, now=now, only=ids, owner=f"desk:{actor}")
        except (ShopError, MarketplaceError) as err:
            result.shops_failed.append((name, str(err)))
            continue
        result.issued += got.issued
        result.deferred += got.deferred
    with engine.connect() as conn:
        result.failures = [(str(p), str(d or "")) for p, d in conn.execute(
            sa.select(o.platform_order_id, o.exception_detail).where(
                o.id.in_([r.id for r in wanted]), o.exception_code == "waybill")
            .order_by(o.platform_order_id))]
    with write_transaction(engine) as conn:
        audit.record(conn, now, actor, "desk.numbers", None, {
            "orders": len(wanted), "issued": result.issued, "deferred": result.deferred,
            "refused": len(result.failures)})
    return result
