"""Read-only queries behind the pages (stock itself comes from :mod:`cloud.ledger_store`).

Each is one simple query on a ``Connection``; pages run them through
:func:`cloud.web.context.read`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud import kits
from cloud.db import in_chunks
from cloud.db.schema import (
    kit_components,
    shops,
    skus,
    station_alerts,
    station_health,
    station_label_prints,
    stations,
    stock_balances,
    users,
    warehouses,
)
from cloud.db.schema_orders import ORDER_STATES, order_lines, order_tag_links, orders, waybills

BACKUP_LAG_WARN = timedelta(hours=1)
"""A station whose backup is older than this is flagged."""

SILENT_AFTER = timedelta(hours=1)
"""A station not heard from for this long is flagged."""

OPEN_ORDER_STATES = ("pending", "allocated", "tasked")
"""Orders still to be shipped (exceptions are counted apart)."""

PHONE_TAIL_DIGITS = 4
"""A search of this many digits also matches the receiver's masked phone, whose last
digits the platforms leave readable (``138****5678``)."""

WAYBILL_TAKEN, WAYBILL_NONE = "taken", "none"
"""Values of the order list's 面单 filter: an e-waybill was taken for the order, or not
(the cloud knows a waybill was issued, not whether the station printed it)."""
PRINTED_YES, PRINTED_NO = "yes", "no"
"""Values of the order list's 已打印 / 未打印 filter (a station reported a label print)."""


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The counts on the home page."""

    active_skus: int
    warehouses: int
    stations: int
    units_on_hand: int
    open_orders: int
    exceptions: int
    open_alerts: int
    users: int
    orders_by_state: dict[str, int]


def _count(conn: Connection, table: sa.Table, *where: Any) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where))
               .scalar_one())


def dashboard(conn: Connection) -> Dashboard:
    """Counts for the home page."""
    by_state = {state: 0 for state in ORDER_STATES}
    for state, n in conn.execute(
            sa.select(orders.c.state, sa.func.count()).group_by(orders.c.state)):
        by_state[state] = int(n)
    units = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(stock_balances.c.qty), 0)))
    return Dashboard(
        active_skus=_count(conn, skus, skus.c.active.is_(True)),
        warehouses=_count(conn, warehouses),
        stations=_count(conn, stations, stations.c.status != "revoked"),
        units_on_hand=int(units.scalar_one()),
        open_orders=sum(by_state[s] for s in OPEN_ORDER_STATES),
        exceptions=by_state["exception"],
        open_alerts=_count(conn, station_alerts, station_alerts.c.acknowledged_at.is_(None)),
        users=_count(conn, users, users.c.active.is_(True)),
        orders_by_state=by_state,
    )


def warehouse_ids(conn: Connection) -> list[str]:
    """Every warehouse id, sorted (for filter choices)."""
    return list(conn.execute(sa.select(warehouses.c.id).order_by(warehouses.c.id)).scalars())


def sku_names(conn: Connection, sku_codes: Iterable[str]) -> dict[str, tuple[str, str | None]]:
    """``sku`` → (Chinese name, English name) for the given SKUs that are in the catalog."""
    codes = sorted(set(sku_codes))
    names: dict[str, tuple[str, str | None]] = {}
    for chunk in in_chunks(codes):
        for r in conn.execute(sa.select(skus.c.sku, skus.c.name_zh, skus.c.name_en)
                              .where(skus.c.sku.in_(chunk))):
            names[r.sku] = (r.name_zh, r.name_en)
    return names


@dataclass(frozen=True, slots=True)
class StationRow:
    """A station with its latest health report (``None`` fields when it never reported)."""

    id: str
    name: str
    warehouse_id: str
    status: str
    last_contact: datetime | None
    backup_last_success_at: datetime | None
    backup_lag_seconds: float | None
    backup_last_error: str | None
    outbox_backlog: int | None
    health: str
    """``ok``, ``lagging``, ``error``, ``silent`` or ``none`` (never reported)."""


def _health(row: Any, now: datetime) -> str:
    if row.received_at is None:
        return "none"
    if row.backup_last_error:
        return "error"
    if row.received_at < now - SILENT_AFTER:
        return "silent"
    if row.backup_lag_seconds > BACKUP_LAG_WARN.total_seconds():
        return "lagging"
    return "ok"


def station_rows(conn: Connection, now: datetime) -> list[StationRow]:
    """Every station with last contact and backup health, by warehouse and id."""
    s, h = stations, station_health
    query = (sa.select(s.c.id, s.c.name, s.c.warehouse_id, s.c.status, h.c.received_at,
                       h.c.backup_last_success_at, h.c.backup_lag_seconds,
                       h.c.backup_last_error, h.c.outbox_backlog)
             .select_from(s.outerjoin(h, h.c.station_id == s.c.id))
             .order_by(s.c.warehouse_id, s.c.id))
    return [StationRow(r.id, r.name, r.warehouse_id, r.status, r.received_at,
                       r.backup_last_success_at, r.backup_lag_seconds, r.backup_last_error,
                       r.outbox_backlog, _health(r, now))
            for r in conn.execute(query)]


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """Filters of the order list (all optional, combined with AND); ``until`` is exclusive."""

    state: str | None = None
    shop_id: str | None = None
    platform: str | None = None
    search: str | None = None
    """Order number (exact or prefix), waybill number (exact), the last
    :data:`PHONE_TAIL_DIGITS` digits of the receiver's masked phone, or (with
    ``search_key``) the buyer's nickname, exactly."""
    search_key: str | None = None
    """``search``'s keyed digest (``Sealer.search_key``): matches ``orders.buyer_nick_key``."""
    since: datetime | None = None
    until: datetime | None = None
    sku: str | None = None
    """Orders with a line mapped to this Packline SKU."""
    exception_code: str | None = None
    carrier: str | None = None
    """Orders whose e-waybill is from this courier (``waybills.carrier_code``)."""
    waybill: str | None = None
    """:data:`WAYBILL_TAKEN`, :data:`WAYBILL_NONE` or None (either)."""
    tag_id: int | None = None
    """Orders carrying this tag (``order_tag_links``)."""
    printed: str | None = None
    """:data:`PRINTED_YES`, :data:`PRINTED_NO` or None (either): a label print reported."""
    by_ship_by: bool = False
    """Most urgent first (the platform's ship-by deadline; orders without one last)
    instead of newest first."""


@dataclass(frozen=True, slots=True)
class OrderRow:
    """One order in the list: masked receiver only."""

    id: str
    platform: str
    platform_order_id: str
    shop_name: str
    state: str
    exception_code: str | None
    receiver: str
    pay_fen: int
    ordered_at: datetime | None
    buyer_note: str
    tracking: str
    ship_by: datetime | None = None
    """The platform's ship-by deadline, when known."""
    prints: int = 0
    """Label prints the stations reported (first print and reprints)."""
    exchange_of: str | None = None
    """The shipped order this one sends an exchange for (换货), on the order page."""


def receiver_text(masked: Any) -> str:
    """The masked receiver as one line (name, phone, address)."""
    if not isinstance(masked, dict):
        return ""
    return " ".join(str(masked.get(k, "")) for k in ("name", "phone", "address") if masked.get(k))


def _like_escaped(value: str) -> str:
    """``value`` with the LIKE wildcards (and the escape character) escaped by ``\\``."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _search(term: str, key: str | None = None) -> sa.ColumnElement[bool]:
    """Order number exact or prefix, waybill number exact, the masked phone's tail, or the
    buyer nickname whose keyed digest is ``key``."""
    o, w = orders.c, waybills.c
    found: list[sa.ColumnElement[bool]] = [
        o.platform_order_id == term,
        o.platform_order_id.like(_like_escaped(term) + "%", escape="\\"),
        sa.exists().where(w.order_id == o.id, w.waybill_no == term),
    ]
    if len(term) == PHONE_TAIL_DIGITS and term.isdigit():
        found.append(o.receiver_masked["phone"].as_string().like("%" + term))
    if key:
        found.append(o.buyer_nick_key == key)
    return sa.or_(*found)


def order_rows(conn: Connection, flt: OrderFilter, *, limit: int = 100,
               offset: int = 0) -> list[OrderRow]:
    """Orders across shops matching ``flt``, newest order first (or most urgent first)."""
    o = orders
    query = filtered(sa.select(
        o.c.id, o.c.platform, o.c.platform_order_id, shops.c.name, o.c.state,
        o.c.exception_code, o.c.receiver_masked, o.c.pay_fen, o.c.ordered_at, o.c.buyer_note,
        o.c.platform_tracking, o.c.ship_by,
        sa.select(sa.func.count()).where(station_label_prints.c.order_id == o.c.id)
        .scalar_subquery().label("prints")).select_from(o.join(shops, shops.c.id == o.c.shop_id)),
        flt)
    order = ((o.c.ship_by.is_(None), o.c.ship_by.asc(), o.c.id) if flt.by_ship_by
             else (o.c.ordered_at.desc(), o.c.id.desc()))
    query = query.order_by(*order).limit(limit).offset(offset)
    return [OrderRow(r.id, r.platform, r.platform_order_id, r.name, r.state, r.exception_code,
                     receiver_text(r.receiver_masked), int(r.pay_fen), r.ordered_at, r.buyer_note,
                     r.platform_tracking, r.ship_by, int(r.prints))
            for r in conn.execute(query)]


S = TypeVar("S", bound=sa.Select[Any])


def filtered(query: S, flt: OrderFilter) -> S:
    """``query`` (over ``orders``) narrowed to the orders ``flt`` matches (its sort aside):
    the order list's page and its export (``cloud.web.order_export``) filter alike."""
    o, w = orders, waybills
    if flt.state:
        query = query.where(o.c.state == flt.state)
    if flt.shop_id:
        query = query.where(o.c.shop_id == flt.shop_id)
    if flt.platform:
        query = query.where(o.c.platform == flt.platform)
    if flt.search:
        query = query.where(_search(flt.search, flt.search_key))
    if flt.since is not None:
        query = query.where(o.c.ordered_at >= flt.since)
    if flt.until is not None:
        query = query.where(o.c.ordered_at < flt.until)
    if flt.sku:  # the SKU itself, or a kit (组合商品) made with it
        in_kit = sa.select(kit_components.c.kit_sku).where(
            kit_components.c.component_sku == flt.sku)
        query = query.where(sa.exists().where(order_lines.c.order_id == o.c.id, sa.or_(
            order_lines.c.sku == flt.sku, order_lines.c.sku.in_(in_kit))))
    if flt.exception_code:
        query = query.where(o.c.exception_code == flt.exception_code)
    if flt.carrier:
        query = query.where(sa.exists().where(w.c.order_id == o.c.id,
                                              w.c.carrier_code == flt.carrier))
    if flt.waybill in (WAYBILL_TAKEN, WAYBILL_NONE):
        taken = sa.exists().where(w.c.order_id == o.c.id)
        query = query.where(taken if flt.waybill == WAYBILL_TAKEN else ~taken)
    if flt.tag_id is not None:
        query = query.where(sa.exists().where(order_tag_links.c.order_id == o.c.id,
                                              order_tag_links.c.tag_id == flt.tag_id))
    if flt.printed in (PRINTED_YES, PRINTED_NO):
        printed = sa.exists().where(station_label_prints.c.order_id == o.c.id)
        query = query.where(printed if flt.printed == PRINTED_YES else ~printed)
    return query


def carrier_choices(conn: Connection) -> list[str]:
    """Courier codes of the e-waybills taken so far, sorted (for the order filter)."""
    return list(conn.execute(sa.select(waybills.c.carrier_code).distinct()
                             .order_by(waybills.c.carrier_code)).scalars())


def shop_choices(conn: Connection) -> list[tuple[str, str, str]]:
    """(id, platform, name) of every shop, for the order filter."""
    return [(r.id, r.platform, r.name)
            for r in conn.execute(sa.select(shops.c.id, shops.c.platform, shops.c.name)
                                  .order_by(shops.c.platform, shops.c.name))]


@dataclass(frozen=True, slots=True)
class OrderLineRow:
    """One line of an order as the detail page shows it."""

    line_no: int
    title: str
    spec: str
    platform_sku: str
    qty: int
    price_fen: int
    sku: str | None
    sku_qty: int | None
    is_gift: bool = False
    """A gift line (the platform's, or a promotion's: 赠品)."""
    components: tuple[tuple[str, int], ...] = ()
    """A kit line's (组合商品) components as packed: (SKU, units) each; empty otherwise."""


@dataclass(frozen=True, slots=True)
class OrderDetail:
    """One order for the 审单 page: the list's columns plus what a reviewer needs."""

    row: OrderRow
    shop_name: str
    exception_detail: str | None
    seller_note: str
    note_approved: str | None
    warehouse_id: str | None
    station_id: str | None
    lines: list[OrderLineRow]
    pinned_warehouse_id: str | None = None
    """The warehouse a person pinned the order to (手工指定仓库), or None (automatic)."""
    buyer_nick: str = ""
    """The buyer's nickname, masked (``小**8``; empty when the platform sends none)."""
    waybill: Any = None
    """The order's e-waybill row (number, courier, cancelled_at, cancel_error), or None."""


@dataclass(frozen=True, slots=True)
class LabelPrintRow:
    """One label print a station reported for an order (the order page's history)."""

    n: int
    """1 for the first print, more for a reprint."""
    printed_at: datetime
    operator_id: str
    station_id: str
    reason: str | None
    """Why it was reprinted (None for a first print)."""


def label_prints(conn: Connection, order_id: str) -> list[LabelPrintRow]:
    """The order's label prints, oldest first."""
    p = station_label_prints.c
    return [LabelPrintRow(int(r.n), r.printed_at, r.operator_id, r.station_id, r.reason)
            for r in conn.execute(sa.select(p.n, p.printed_at, p.operator_id, p.station_id, p.reason)
                                  .where(p.order_id == order_id).order_by(p.printed_at, p.n))]


def order_detail(conn: Connection, order_id: str) -> OrderDetail | None:
    """The order with its lines (receiver masked), or None."""
    o = orders
    r = conn.execute(sa.select(o, shops.c.name.label("shop_name"))
                     .select_from(o.join(shops, shops.c.id == o.c.shop_id))
                     .where(o.c.id == order_id)).first()
    if r is None:
        return None
    row = OrderRow(r.id, r.platform, r.platform_order_id, r.shop_name, r.state, r.exception_code,
                   receiver_text(r.receiver_masked), int(r.pay_fen), r.ordered_at, r.buyer_note,
                   r.platform_tracking, r.ship_by, exchange_of=r.exchange_of)
    stored = conn.execute(sa.select(order_lines).where(
        order_lines.c.order_id == order_id).order_by(order_lines.c.line_no)).all()
    kit_parts = kits.components(conn, [ln.sku for ln in stored if ln.sku])
    lines = [OrderLineRow(ln.line_no, ln.title, ln.spec, ln.outer_id or ln.platform_sku_id,
                          ln.qty, int(ln.price_fen), ln.sku, ln.sku_qty, bool(ln.is_gift),
                          tuple((comp, per * int(ln.sku_qty or 0))
                                for comp, per in kit_parts.get(ln.sku or "", [])))
             for ln in stored]
    waybill = conn.execute(sa.select(
        waybills.c.waybill_no, waybills.c.carrier_code, waybills.c.cancelled_at,
        waybills.c.cancel_error).where(waybills.c.order_id == order_id)).first()
    return OrderDetail(row, r.shop_name, r.exception_detail, r.seller_note, r.note_approved,
                       r.warehouse_id, r.station_id, lines, r.pinned_warehouse_id,
                       r.buyer_nick_mask, waybill)
