"""Stock push: each mapped platform SKU offers its share of available-to-sell, never more.

For a push-enabled ``sku_mappings`` row *m* of SKU *s* (docs/stock-model.md)::

    for each warehouse w serving m's shop:
        free(w)   = on_hand(w, s) − reserved(w, s)          (all locations of w)
        share(w)  = stock_share(m) / Σ stock_share of the push-enabled mappings of s
                    whose shop w serves                      (0 when that sum is 0)
    allotted  = floor(Σ_w share(w) × free(w))               (Packline units)
    buffer    = buffer_units + ceil(max(Σ_w share(w) × on_hand(w), 0) × buffer_percent / 100)
    base      = max(0, allotted − buffer) // units          (platform units)
    available = min(base, push_max), and 0 when that is below push_min   (limits when set)

so the mappings drawing on one warehouse's stock — several shops, or several listings of
one shop — together never offer more than it holds free.

A mapping of a kit (组合商品, :mod:`cloud.kits`: ``k × c`` units of each component *c*) is a
claimant of each component's stock with its ``stock_share``, and offers whole kits::

    allotted(c) = floor(Σ_w share_c(w) × free(w, c))          (component units)
    allotted    = min over c of floor(allotted(c) / k_c)        (kits)
    buffer      = buffer_units + ceil(min over c of Σ_w share_c(w) × on_hand(w, c) / k_c
                                      × buffer_percent / 100)

then ``base`` and the limits as above (``units`` platform units per kit). A kit's push never
exceeds the minimum over its components of free ÷ units, and its recorded guard is in kits. ``reserved`` is every open
reservation (``cloud.orders.reservations``: every paid, unshipped order).

A push is a FULL update (``update_type=1`` / ``type=1``), made when the value differs from
the last accepted push (or ``force``). Before the platform is called, the push is recorded
(``stock_pushes``) with its inputs and an oversell guard, :func:`guard_units`, computed in
the same transaction by a separate query — the fold of the ledger's moves (not the
balance cache) minus open reservations, split by the same shares, without the buffer. A
check constraint refuses ``pushed × units > guard_units``: such a push is never sent, it
is written to the audit log instead and counted as ``refused``. The row then gets the
platform's answer. :func:`audit_pushes` re-derives every recorded push from its inputs.

Safety for a live shop: a newly connected shop pushes nothing until the manager has seen
:func:`push_preview` (each listing: what Packline would push and why) and confirmed it
(:func:`confirm_pushes`) — the stations may hold no stock yet, and a first push of 0 takes
every listing off sale. Afterwards a push that would lower a listing to 0, or by more than
the shop's ``push_cut_percent`` of what it was last told, waits in ``stock_push_holds``
until a person approves it (:func:`approve_cuts`), unless the shop trusts its pushes; a
cut that is no longer needed (stock came back) lapses by itself.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cloud import kits
from cloud.db import audit_log, stock_balances, write_transaction
from cloud.db.schema_orders import (
    DEFAULT_PUSH_CUT_PERCENT,
    order_lines,
    orders,
    shop_config,
    shop_warehouses,
    sku_mappings,
    stock_push_holds,
    stock_pushes,
)
from cloud.marketplaces.base import StockUpdate
from cloud.marketplaces.errors import MarketplaceError, platform_reason
from cloud.orders.reservations import RESERVING_STATES, open_reserved, reconcile, serving_warehouses

log = logging.getLogger("packline.stock_push")

PUSH_CONCURRENCY = 4
"""Stock-quantity calls of one shop in flight at once: far below the platforms' limits
(``pdd.goods.quantity.update`` 4,200/s across apps, docs/specs/marketplaces.md §1.5); the
shop's calls pass its app's rate limiter anyway."""


@dataclass(frozen=True)
class Availability:
    """The inputs and result of one available-to-sell computation."""

    mapping_id: int
    """``sku_mappings.id``."""
    sku: str
    """Packline SKU."""
    on_hand: int
    """On-hand in the serving warehouses (all of it, before shares)."""
    reserved: int
    """Open reservations in those warehouses."""
    allotted: int
    """This mapping's share of on-hand − reserved (Packline units, may be negative)."""
    buffer: int
    """Safety buffer (Packline units)."""
    available: int
    """What may be offered on the platform (platform units)."""
    units: int = 1
    """Packline units per platform unit."""
    detail: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per warehouse: on-hand, reserved and the share (``"weight/total"``)."""
    push_min: int | None = None
    """The rule's floor: below it the listing is offered 0 (None: none)."""
    push_max: int | None = None
    """The rule's cap (None: none)."""


def claimant_weights(conn: Connection, sku: str, warehouse_ids: list[str]) -> dict[str, int]:
    """Warehouse → Σ ``stock_share`` of the push-enabled mappings of ``sku`` and of the kits
    that contain it, that it serves."""
    m = sku_mappings.c
    claimants = [sku, *(kit for kit, _per in kits.kits_containing(conn, sku))]
    maps = conn.execute(sa.select(m.shop_id, m.stock_share).where(
        m.sku.in_(claimants), m.push_stock.is_(True))).all()
    shops = sorted({r.shop_id for r in maps})
    served: dict[str, set[str]] = defaultdict(set)
    if shops:
        for shop_id, wh in conn.execute(sa.select(
                shop_warehouses.c.shop_id, shop_warehouses.c.warehouse_id).where(
                shop_warehouses.c.shop_id.in_(shops))):
            served[shop_id].add(wh)
    out = dict.fromkeys(warehouse_ids, 0)
    for shop_id, weight in maps:
        for wh in warehouse_ids:
            if not served[shop_id] or wh in served[shop_id]:
                out[wh] += int(weight)
    return out


def compute(conn: Connection, shop_id: str, default_warehouse: str | None,
            mapping: Any) -> Availability:
    """Availability of one mapping, read in the caller's transaction."""
    parts = kits.components(conn, [mapping.sku]).get(mapping.sku)
    if parts:
        return _compute_kit(conn, shop_id, default_warehouse, mapping, parts)
    whs = serving_warehouses(conn, shop_id, default_warehouse)
    b = stock_balances.c
    on = dict.fromkeys(whs, 0)
    if whs:
        for wh, qty in conn.execute(sa.select(b.warehouse_id, sa.func.sum(b.qty)).where(
                b.sku == mapping.sku, b.warehouse_id.in_(whs)).group_by(b.warehouse_id)):
            on[wh] = int(qty)
    held = open_reserved(conn, whs, [mapping.sku])
    totals = claimant_weights(conn, mapping.sku, whs)
    mine = int(getattr(mapping, "stock_share", 1)) if mapping.push_stock else 0
    allotted = Fraction(0)
    on_share = Fraction(0)
    detail: dict[str, dict[str, Any]] = {}
    for wh in whs:
        share = Fraction(mine, totals[wh]) if totals[wh] else Fraction(0)
        allotted += share * (on[wh] - held[(wh, mapping.sku)])
        on_share += share * on[wh]
        detail[wh] = {"on_hand": on[wh], "reserved": held[(wh, mapping.sku)],
                      "share": f"{mine}/{totals[wh]}"}
    buffer = mapping.buffer_units + math.ceil(max(on_share, 0) * mapping.buffer_percent / 100)
    units = max(int(mapping.units), 1)
    push_min, push_max = getattr(mapping, "push_min", None), getattr(mapping, "push_max", None)
    available = within_limits(max(0, math.floor(allotted) - buffer) // units, push_min, push_max)
    return Availability(mapping.id, mapping.sku, sum(on.values()),
                        sum(held[(wh, mapping.sku)] for wh in whs), math.floor(allotted),
                        buffer, available, units, detail, push_min, push_max)


def _compute_kit(conn: Connection, shop_id: str, default_warehouse: str | None,
                 mapping: Any, parts: list[tuple[str, int]]) -> Availability:
    """Availability of a kit's mapping (module doc): whole kits from each component's share.
    ``on_hand`` is kits' worth of components on hand, ``reserved`` the kits' worth held, and
    ``detail`` has one entry per warehouse and component (``"WH1 SKU-1×2"``)."""
    whs = serving_warehouses(conn, shop_id, default_warehouse)
    codes = [c for c, _per in parts]
    b = stock_balances.c
    on: dict[tuple[str, str], int] = defaultdict(int)
    if whs:
        for wh, sku, qty in conn.execute(sa.select(b.warehouse_id, b.sku, sa.func.sum(b.qty))
                                         .where(b.sku.in_(codes), b.warehouse_id.in_(whs))
                                         .group_by(b.warehouse_id, b.sku)):
            on[(wh, sku)] = int(qty)
    held = open_reserved(conn, whs, codes)
    mine = int(getattr(mapping, "stock_share", 1)) if mapping.push_stock else 0
    allotted: int | None = None
    on_share: Fraction | None = None
    kits_on_hand: int | None = None
    kits_free: int | None = None
    detail: dict[str, dict[str, Any]] = {}
    for comp, per in parts:
        totals = claimant_weights(conn, comp, whs)
        comp_allotted, comp_on_share = Fraction(0), Fraction(0)
        for wh in whs:
            share = Fraction(mine, totals[wh]) if totals[wh] else Fraction(0)
            comp_allotted += share * (on[(wh, comp)] - held[(wh, comp)])
            comp_on_share += share * on[(wh, comp)]
            detail[f"{wh} {comp}×{per}"] = {"on_hand": on[(wh, comp)],
                                            "reserved": held[(wh, comp)],
                                            "share": f"{mine}/{totals[wh]}"}
        comp_on = sum(on[(wh, comp)] for wh in whs)
        comp_free = comp_on - sum(held[(wh, comp)] for wh in whs)
        kits_here = math.floor(comp_allotted / per)
        allotted = kits_here if allotted is None else min(allotted, kits_here)
        on_share = comp_on_share / per if on_share is None else min(on_share, comp_on_share / per)
        kits_on_hand = comp_on // per if kits_on_hand is None else min(kits_on_hand, comp_on // per)
        kits_free = comp_free // per if kits_free is None else min(kits_free, comp_free // per)
    assert allotted is not None and on_share is not None
    assert kits_on_hand is not None and kits_free is not None
    buffer = mapping.buffer_units + math.ceil(max(on_share, 0) * mapping.buffer_percent / 100)
    units = max(int(mapping.units), 1)
    push_min, push_max = getattr(mapping, "push_min", None), getattr(mapping, "push_max", None)
    available = within_limits(max(0, allotted - buffer) // units, push_min, push_max)
    return Availability(mapping.id, mapping.sku, kits_on_hand, kits_on_hand - kits_free,
                        allotted, buffer, available, units, detail, push_min, push_max)


def within_limits(units: int, push_min: int | None, push_max: int | None) -> int:
    """What a rule's limits make of ``units`` platform units: at most ``push_max``, and 0
    when below ``push_min`` (the last few pieces are kept off the platform). Limits only
    ever lower a push, so the oversell guard holds with them."""
    if push_max is not None:
        units = min(units, push_max)
    if push_min is not None and units < push_min:
        return 0
    return units


def guard_units(conn: Connection, mapping_id: int) -> int:
    """The oversell guard: Packline units mapping ``mapping_id`` may offer at most, now.

    Deliberately not :func:`compute`: plain SQL over the ledger itself (Σ ``qty_delta``
    of ``stock_moves``, not ``stock_balances``) and the open reservations, split by the
    shares of the push-enabled mappings of the SKU (and of the kits containing it); no
    buffer. For a kit's mapping: kits, the least over its components of their units ÷
    units per kit.
    """
    row = conn.execute(sa.text(
        "SELECT shop_id, sku, stock_share FROM sku_mappings WHERE id = :id"),
        {"id": mapping_id}).one()
    whs = list(conn.execute(sa.text(
        "SELECT warehouse_id FROM shop_warehouses WHERE shop_id = :shop"),
        {"shop": row.shop_id}).scalars()) or list(conn.execute(sa.text(
            "SELECT id FROM warehouses")).scalars())
    parts = conn.execute(sa.text(
        "SELECT component_sku, qty FROM kit_components WHERE kit_sku = :sku"),
        {"sku": row.sku}).all()
    if parts:
        return max(0, min(math.floor(_guard_total(conn, whs, comp, int(row.stock_share))
                                     / int(per)) for comp, per in parts))
    return max(0, math.floor(_guard_total(conn, whs, row.sku, int(row.stock_share))))


def _guard_total(conn: Connection, whs: list[str], sku: str, stock_share: int) -> Fraction:
    """Σ over ``whs`` of a ``stock_share`` claimant's part of the ledger's free units of
    ``sku`` (the guard's plain SQL)."""
    total = Fraction(0)
    for wh in whs:
        args = {"wh": wh, "sku": sku}
        on_hand = conn.execute(sa.text(
            "SELECT COALESCE(SUM(qty_delta), 0) FROM stock_moves"
            " WHERE warehouse_id = :wh AND sku = :sku"), args).scalar_one()
        held = conn.execute(sa.text(
            "SELECT COALESCE(SUM(qty - shipped_qty), 0) FROM reservations"
            " WHERE warehouse_id = :wh AND sku = :sku AND released_at IS NULL"),
            args).scalar_one()
        weights = conn.execute(sa.text(
            "SELECT COALESCE(SUM(m.stock_share), 0) FROM sku_mappings m"
            " WHERE (m.sku = :sku OR m.sku IN"
            "        (SELECT k.kit_sku FROM kit_components k WHERE k.component_sku = :sku))"
            " AND m.push_stock AND ("
            "  EXISTS (SELECT 1 FROM shop_warehouses w"
            "          WHERE w.shop_id = m.shop_id AND w.warehouse_id = :wh)"
            "  OR NOT EXISTS (SELECT 1 FROM shop_warehouses w WHERE w.shop_id = m.shop_id))"),
            args).scalar_one()
        if weights:
            total += Fraction(stock_share, int(weights)) * (int(on_hand) - int(held))
    return total


def last_pushed(conn: Connection, mapping_id: int) -> int | None:
    """The value of the last accepted push of a mapping."""
    row = conn.execute(sa.select(stock_pushes.c.pushed).where(
        stock_pushes.c.mapping_id == mapping_id, stock_pushes.c.ok.is_(True)
    ).order_by(stock_pushes.c.id.desc()).limit(1)).first()
    return int(row[0]) if row else None


@dataclass
class PushResult:
    """What a stock-push pass did."""

    pushed: int = 0
    """Accepted pushes."""
    failed: int = 0
    """Pushes the platform refused or that failed (recorded, retried next pass)."""
    unchanged: int = 0
    """Mappings whose available-to-sell equals the last accepted push."""
    refused: int = 0
    """Pushes the oversell guard stopped (never sent; in the audit log)."""
    awaiting_confirmation: int = 0
    """Mappings not pushed because the shop's first-push preview is not confirmed yet."""
    held: int = 0
    """Cuts waiting for a person (``stock_push_holds``)."""
    first_error: str = ""
    """The first refused push of the pass: listing and the platform's code and message."""


@dataclass(frozen=True)
class PushPolicy:
    """A shop's push safety settings (``shop_config``)."""

    confirmed: bool
    """The first-push preview was confirmed: pushes may go out."""
    trust: bool
    """Cuts go out without asking."""
    cut_percent: int
    """A cut by more than this share of the last pushed value waits (as does a cut to 0)."""


def push_policy(conn: Connection, shop_id: str) -> PushPolicy:
    """The shop's push safety settings."""
    c = shop_config.c
    row = conn.execute(sa.select(c.push_confirmed_at, c.push_trust, c.push_cut_percent).where(
        c.shop_id == shop_id)).first()
    if row is None:
        return PushPolicy(False, False, DEFAULT_PUSH_CUT_PERCENT)
    return PushPolicy(row.push_confirmed_at is not None, bool(row.push_trust),
                      int(row.push_cut_percent))


def is_cut(before: int | None, after: int, cut_percent: int) -> bool:
    """Whether lowering a listing from ``before`` (the last pushed value; None: never) to
    ``after`` needs a person: to 0 from something, or by more than ``cut_percent`` %."""
    if before is None or before <= 0 or after >= before:
        return False
    return after == 0 or (before - after) * 100 > cut_percent * before


def _hold(conn: Connection, shop_id: str, avail: Availability, before: int,
          now: datetime) -> int | None:
    """A cut to send: the approved hold's id if a person approved it (it is used by this
    push), else None after opening (or refreshing) the mapping's open hold."""
    h = stock_push_holds.c
    approved = conn.execute(sa.select(h.id).where(
        h.mapping_id == avail.mapping_id, h.state == "approved").order_by(h.id.desc())).first()
    if approved is not None:
        return int(approved[0])
    open_ = conn.execute(sa.select(h.id).where(
        h.mapping_id == avail.mapping_id, h.state == "open")).first()
    if open_ is None:
        conn.execute(sa.insert(stock_push_holds).values(
            shop_id=shop_id, mapping_id=avail.mapping_id, sku=avail.sku, from_qty=before,
            to_qty=avail.available, created_at=now, updated_at=now, state="open"))
        log.warning("库存大幅下调待确认 / stock cut waits for approval: shop %s mapping %s "
                    "%s → %s", shop_id, avail.mapping_id, before, avail.available)
    else:
        conn.execute(sa.update(stock_push_holds).where(h.id == open_[0]).values(
            from_qty=before, to_qty=avail.available, updated_at=now))
    return None


def _lapse_holds(conn: Connection, mapping_id: int, now: datetime) -> None:
    h = stock_push_holds.c
    conn.execute(sa.update(stock_push_holds).where(
        h.mapping_id == mapping_id, h.state.in_(("open", "approved"))).values(
        state="lapsed", decided_at=now, decided_by="stock_push"))


def confirm_pushes(conn: Connection, shop_id: str, *, actor: str, now: datetime,
                   trust: bool | None = None, cut_percent: int | None = None) -> None:
    """The manager saw the first-push preview and lets the shop's pushes go out (and sets
    the cut policy when given); audited."""
    values: dict[str, Any] = {"push_confirmed_at": now, "push_confirmed_by": actor[:64]}
    if trust is not None:
        values["push_trust"] = trust
    if cut_percent is not None:
        if not 1 <= cut_percent <= 100:
            raise ValueError("cut_percent must be 1..100")
        values["push_cut_percent"] = cut_percent
    if not conn.execute(sa.update(shop_config).where(shop_config.c.shop_id == shop_id)
                        .values(**values)).rowcount:
        raise LookupError(shop_id)
    conn.execute(sa.insert(audit_log).values(
        at=now, actor=actor, action="stock_push.confirm", subject=shop_id,
        detail={k: v for k, v in values.items() if k != "push_confirmed_at"}))


def approve_cuts(conn: Connection, hold_ids: list[int], *, actor: str, now: datetime) -> int:
    """Approve open holds (their next push may cut); returns how many; audited."""
    h = stock_push_holds.c
    rows = conn.execute(sa.select(h.id, h.shop_id, h.mapping_id, h.from_qty, h.to_qty).where(
        h.id.in_(hold_ids), h.state == "open")).all()
    for r in rows:
        conn.execute(sa.update(stock_push_holds).where(h.id == r.id).values(
            state="approved", decided_at=now, decided_by=actor[:64]))
        conn.execute(sa.insert(audit_log).values(
            at=now, actor=actor, action="stock_push.approve_cut", subject=f"{r.shop_id}/{r.mapping_id}",
            detail={"hold_id": int(r.id), "from": int(r.from_qty), "to": int(r.to_qty)}))
    return len(rows)


@dataclass(frozen=True)
class PreviewRow:
    """One mapping in the first-push preview."""

    mapping_id: int
    """``sku_mappings.id``."""
    item_id: str
    """Platform item id."""
    sku_id: str
    """Platform SKU id (or empty)."""
    outer_id: str
    """Merchant code (or empty)."""
    last_pushed: int | None
    """What the platform was last told by Packline (None: never; the platform's own number
    is not read)."""
    avail: Availability
    """What Packline would push, and why."""


def push_preview(conn: Connection, shop_id: str, default_warehouse: str | None
                 ) -> list[PreviewRow]:
    """What the shop's next push would send for each push-enabled mapping, and why."""
    out = []
    for m in conn.execute(sa.select(sku_mappings).where(
            sku_mappings.c.shop_id == shop_id, sku_mappings.c.push_stock.is_(True)
    ).order_by(sku_mappings.c.id)).all():
        out.append(PreviewRow(int(m.id), m.platform_item_id, m.platform_sku_id or "",
                              m.outer_id or "", last_pushed(conn, m.id),
                              compute(conn, shop_id, default_warehouse, m)))
    return out


def _record(conn: Connection, shop_id: str, avail: Availability, guard: int,
            now: datetime) -> int | None:
    """Record a push about to be sent; None when the guard (the check) refuses it."""
    try:
        with conn.begin_nested():
            return int(conn.execute(sa.insert(stock_pushes).values(
                shop_id=shop_id, mapping_id=avail.mapping_id, sku=avail.sku,
                on_hand=avail.on_hand, reserved=avail.reserved, buffer=avail.buffer,
                available=avail.available, pushed=avail.available, units=avail.units,
                allotted=avail.allotted, guard_units=guard, detail=avail.detail,
                push_min=avail.push_min, push_max=avail.push_max, ok=False,
                answer="sending", at=now).returning(stock_pushes.c.id)).scalar_one())
    except sa.exc.IntegrityError:
        conn.execute(sa.insert(audit_log).values(
            at=now, actor="stock_push", action="stock_push.guard",
            subject=f"{shop_id}/{avail.mapping_id}",
            detail={"sku": avail.sku, "would_push": avail.available, "units": avail.units,
                    "guard_units": guard, "on_hand": avail.on_hand,
                    "reserved": avail.reserved, "allotted": avail.allotted,
                    "buffer": avail.buffer}))
        log.error("超售保护拦截推送 / oversell guard refused a push: shop %s mapping %s "
                  "%s × %s units > guard %s", shop_id, avail.mapping_id, avail.available,
                  avail.units, guard)
        return None


async def push_stock(engine: Engine, sc: Any, *, now: datetime, force: bool = False,
                     concurrency: int = PUSH_CONCURRENCY) -> PushResult:
    """Push every mapped SKU of the shop whose available-to-sell changed — none before the
    shop's first-push preview is confirmed; a cut (to 0, or by more than the shop's
    ``push_cut_percent``) only once a person approved it, unless the shop trusts its pushes
    (module doc)."""
    shop = sc.shop
    with engine.connect() as conn:
        maps = conn.execute(sa.select(sku_mappings).where(
            sku_mappings.c.shop_id == shop.id, sku_mappings.c.push_stock.is_(True)
        ).order_by(sku_mappings.c.id)).all()
    result = PushResult()
    sem = asyncio.Semaphore(concurrency)

    with engine.connect() as conn:
        policy = push_policy(conn, shop.id)

    async def one(mapping: Any) -> None:
        async with sem:
            with write_transaction(engine) as conn:
                avail = compute(conn, shop.id, shop.default_warehouse_id, mapping)
                before = last_pushed(conn, mapping.id)
                if not force and before == avail.available:
                    _lapse_holds(conn, mapping.id, now)  # a cut no longer needed
                    result.unchanged += 1
                    return
                if not policy.confirmed:  # nothing leaves before the preview is confirmed
                    result.awaiting_confirmation += 1
                    return
                hold_id = None
                if is_cut(before, avail.available, policy.cut_percent) and not policy.trust:
                    assert before is not None
                    hold_id = _hold(conn, shop.id, avail, before, now)
                    if hold_id is None:
                        result.held += 1
                        return
                else:
                    _lapse_holds(conn, mapping.id, now)
                push_id = _record(conn, shop.id, avail, guard_units(conn, mapping.id),
                                  now)
                if push_id is not None and hold_id is not None:
                    conn.execute(sa.update(stock_push_holds).where(
                        stock_push_holds.c.id == hold_id).values(state="used", push_id=push_id))
            if push_id is None:
                result.refused += 1
                return
            update = StockUpdate(item_id=mapping.platform_item_id, quantity=avail.available,
                                 sku_id=mapping.platform_sku_id, outer_id=mapping.outer_id)
            try:
                await sc.client.update_stock(update)
                ok, answer = True, "ok"
            except MarketplaceError as err:
                ok, answer = False, platform_reason(err)
            with write_transaction(engine) as conn:
                conn.execute(sa.update(stock_pushes).where(stock_pushes.c.id == push_id).values(
                    ok=ok, answer=answer[:1000], at=now))
            if ok:
                result.pushed += 1
            else:
                result.failed += 1
                result.first_error = result.first_error or (
                    f"{mapping.platform_item_id}/{mapping.platform_sku_id or mapping.outer_id} "
                    f"{answer}")

    await asyncio.gather(*(one(m) for m in maps))
    return result


def audit_pushes(conn: Connection, shop_id: str | None = None) -> list[int]:
    """Ids of recorded pushes whose numbers do not hold together: the value is not what
    the recorded inputs give (``max(0, allotted − buffer) // units`` within the recorded
    limits) or exceeds the guard."""
    q = sa.select(stock_pushes).order_by(stock_pushes.c.id)
    if shop_id:
        q = q.where(stock_pushes.c.shop_id == shop_id)
    bad = []
    for p in conn.execute(q):
        units = max(int(p.units), 1)
        expected = within_limits(max(0, p.allotted - p.buffer) // units, p.push_min, p.push_max)
        if (p.available != expected or p.pushed != p.available
                or p.pushed * units > p.guard_units):
            bad.append(int(p.id))
    return bad


def add_mapping(conn: Connection, shop_id: str, *, item_id: str, sku: str, sku_id: str = "",
                outer_id: str = "", units: int = 1, buffer_units: int = 0,
                buffer_percent: int = 0, push: bool = True, stock_share: int = 1,
                push_min: int | None = None, push_max: int | None = None,
                now: datetime) -> int:
    """Map a platform SKU to a Packline SKU with its push rule; returns the mapping id.

    Open orders of the shop with lines this mapping now maps reserve them at once."""
    result = conn.execute(sa.insert(sku_mappings).values(
        shop_id=shop_id, platform_item_id=item_id, platform_sku_id=sku_id, outer_id=outer_id,
        sku=sku, units=units, buffer_units=buffer_units, buffer_percent=buffer_percent,
        push_stock=push, stock_share=stock_share, push_min=push_min,
        push_max=push_max).returning(sku_mappings.c.id))
    mapping_id = int(result.scalar_one())
    ln, o = order_lines.c, orders.c
    keys = [k for k in (ln.platform_sku_id == sku_id if sku_id else None,
                        ln.outer_id == outer_id if outer_id else None) if k is not None]
    if keys:
        waiting = conn.execute(sa.select(ln.order_id).distinct().join(
            orders, o.id == ln.order_id).where(
            o.shop_id == shop_id, o.state.in_(RESERVING_STATES), ln.sku.is_(None),
            sa.or_(*keys))).scalars().all()
        reconcile(conn, waiting, now=now)
    return mapping_id
