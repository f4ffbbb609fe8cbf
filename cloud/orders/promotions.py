"""Promotion gifts (赠品): 满就送 and 满件送, added to an order when it passes review.

A promotion (``promotions``) names a shop (or every shop), a kind and a threshold, a gift
SKU and quantity, and dates; only active ones apply.

* **满就送** (``amount``): the order's pay amount (``orders.pay_fen``) ≥ ``threshold`` fen.
* **满件送** (``qty``): with a ``trigger_sku``, the Packline units of that SKU on the order's
  lines (``sku_qty`` of the lines mapped to it) ≥ ``threshold``; without one, the pieces the
  buyer bought (platform ``qty`` of every line) ≥ ``threshold``. Gift lines never count.
* **Dates**: the order's ``ordered_at`` (its first sight when the platform sent none) lies in
  [``starts_at``, ``ends_at``).

:func:`apply_gifts` runs when a person approves an order (``cloud.orders.review``) and when
an order passes the automatic review (``cloud.orders.allocation``). Each matching promotion
adds ONE zero-price line (``is_gift``, ``price_fen`` 0, ``sku`` = gift SKU, ``sku_qty`` =
``qty`` = gift quantity, ``promotion_id``) — at most one per order and promotion (a unique
index says so too), so running it again adds nothing — and an ``order_events`` row (action
``gift``, actor ``promotion:<id>`` or the person approving) with an audit entry. The gift
line is an ordinary mapped line from then on: reserved with the order, allocated, sent to
the station in the pack task. A platform update that rewrites the lines of an order not yet
allocated drops it with the others; the next review adds it again if the order still
qualifies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud import audit
from cloud.db.schema import shops, skus
from cloud.db.schema_orders import (
    PROMOTION_KINDS,
    order_events,
    order_lines,
    orders,
    promotions,
)
from cloud.errors import InputError, Problem

NAME_MAX = 100
"""Longest promotion name (the column)."""
MAX_GIFT_QTY = 99
"""Most units of a gift one promotion adds."""
MAX_THRESHOLD = 100_000_000_00
"""Largest threshold accepted (fen or units): anything above is a typo."""
TITLE_MAX = 200
"""Longest line title (the column)."""
ACTOR_PREFIX = "promotion:"
"""Actor of a gift the automatic review added: ``promotion:<id>``."""


@dataclass(frozen=True, slots=True)
class Promotion:
    """A promotion as stored."""

    id: int
    name: str
    shop_id: str | None
    kind: str
    threshold: int
    trigger_sku: str | None
    gift_sku: str
    gift_qty: int
    starts_at: datetime
    ends_at: datetime
    active: bool


@dataclass(frozen=True, slots=True)
class PromotionForm:
    """The promotion form as typed (dates already read by the web layer; ``None`` when
    missing or unreadable — the web layer reports the unreadable ones)."""

    name: str
    shop_id: str | None
    kind: str
    threshold: int | None
    trigger_sku: str | None
    gift_sku: str
    gift_qty: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    active: bool = True


@dataclass(frozen=True, slots=True)
class GiftLine:
    """A line the order has, as the rules count it."""

    sku: str | None
    sku_qty: int | None
    qty: int
    is_gift: bool


def _row(r: sa.Row) -> Promotion:  # type: ignore[type-arg]
    return Promotion(int(r.id), r.name, r.shop_id, r.kind, int(r.threshold), r.trigger_sku,
                     r.gift_sku, int(r.gift_qty), r.starts_at, r.ends_at, bool(r.active))


def list_all(conn: Connection) -> list[Promotion]:
    """Every promotion, active first, newest first."""
    p = promotions.c
    return [_row(r) for r in conn.execute(sa.select(promotions).order_by(
        p.active.desc(), p.id.desc()))]


def get(conn: Connection, promotion_id: int) -> Promotion | None:
    """One promotion, or ``None``."""
    r = conn.execute(sa.select(promotions).where(promotions.c.id == promotion_id)).first()
    return None if r is None else _row(r)


def active_for_shop(conn: Connection, shop_id: str) -> list[Promotion]:
    """The shop's active promotions (its own and those of every shop), by id."""
    p = promotions.c
    return [_row(r) for r in conn.execute(sa.select(promotions).where(
        p.active.is_(True), sa.or_(p.shop_id.is_(None), p.shop_id == shop_id)).order_by(p.id))]


def matches(promo: Promotion, *, pay_fen: int, ordered_at: datetime,
            lines: list[GiftLine]) -> bool:
    """Whether an order (its pay amount, order time and lines) qualifies for ``promo``."""
    if not promo.active or not promo.starts_at <= ordered_at < promo.ends_at:
        return False
    if promo.kind == "amount":
        return pay_fen >= promo.threshold
    bought = [ln for ln in lines if not ln.is_gift]
    if promo.trigger_sku is not None:
        units = sum(ln.sku_qty or 0 for ln in bought if ln.sku == promo.trigger_sku)
    else:
        units = sum(ln.qty for ln in bought)
    return units >= promo.threshold


def apply_gifts(conn: Connection, order_id: str, *, now: datetime, actor: str | None = None,
                candidates: list[Promotion] | None = None) -> list[tuple[str, int]]:
    """Add the gift line of every promotion the order qualifies for and does not have yet;
    returns the (gift SKU, units) added. ``actor`` is the person approving (``None``: the
    automatic review, recorded as ``promotion:<id>``); ``candidates`` are the shop's active
    promotions when the caller already read them."""
    o = orders.c
    order = conn.execute(sa.select(o.shop_id, o.state, o.pay_fen, o.ordered_at, o.first_seen_at)
                         .where(o.id == order_id)).first()
    if order is None:
        return []
    promos = active_for_shop(conn, order.shop_id) if candidates is None else candidates
    if not promos:
        return []
    ln = order_lines.c
    rows = conn.execute(sa.select(ln.line_no, ln.sku, ln.sku_qty, ln.qty, ln.is_gift,
                                  ln.promotion_id).where(ln.order_id == order_id)).all()
    have = {r.promotion_id for r in rows if r.promotion_id is not None}
    lines = [GiftLine(r.sku, r.sku_qty, int(r.qty), bool(r.is_gift)) for r in rows]
    next_no = max((int(r.line_no) for r in rows), default=0) + 1
    ordered_at = order.ordered_at or order.first_seen_at
    added: list[tuple[str, int]] = []
    for promo in promos:
        if promo.id in have or not matches(promo, pay_fen=int(order.pay_fen),
                                           ordered_at=ordered_at, lines=lines):
            continue
        name = conn.execute(sa.select(skus.c.name_zh).where(skus.c.sku == promo.gift_sku)
                            ).scalar() or promo.gift_sku
        conn.execute(sa.insert(order_lines).values(
            order_id=order_id, line_no=next_no, title=name[:TITLE_MAX],
            spec=promo.name[:TITLE_MAX], qty=promo.gift_qty, price_fen=0, is_gift=True,
            sku=promo.gift_sku, sku_qty=promo.gift_qty, promotion_id=promo.id))
        next_no += 1
        who = actor or f"{ACTOR_PREFIX}{promo.id}"
        reason = f"{promo.name} (#{promo.id}): {promo.gift_sku} × {promo.gift_qty}"
        conn.execute(sa.insert(order_events).values(
            order_id=order_id, at=now, actor=who[:64], action="gift", from_state=order.state,
            to_state=order.state, reason=reason))
        audit.record(conn, now, who, "order.gift", order_id,
                     {"promotion": promo.id, "sku": promo.gift_sku, "qty": promo.gift_qty})
        added.append((promo.gift_sku, promo.gift_qty))
    return added


def _check(conn: Connection, form: PromotionForm) -> list[Problem]:
    problems = []
    if not form.name.strip():
        problems.append(Problem("name", "请填写活动名称", "name the promotion"))
    elif len(form.name.strip()) > NAME_MAX:
        problems.append(Problem("name", f"名称最多 {NAME_MAX} 字", f"at most {NAME_MAX} characters"))
    if form.shop_id is not None and conn.execute(
            sa.select(shops.c.id).where(shops.c.id == form.shop_id)).first() is None:
        problems.append(Problem("shop_id", "没有这个店铺", "no such shop"))
    if form.kind not in PROMOTION_KINDS:
        problems.append(Problem("kind", "请选择满就送或满件送", "choose by amount or by units"))
    if form.threshold is None or not 0 < form.threshold <= MAX_THRESHOLD:
        problems.append(Problem("threshold", "门槛应为大于 0 的数", "the threshold is above 0"))
    if form.trigger_sku is not None:
        if form.kind != "qty":
            problems.append(Problem("trigger_sku", "只有满件送可以指定商品",
                                    "only a promotion by units names a SKU"))
        elif conn.execute(sa.select(skus.c.sku).where(skus.c.sku == form.trigger_sku)
                          ).first() is None:
            problems.append(Problem("trigger_sku", f"没有商品 {form.trigger_sku}",
                                    f"no SKU {form.trigger_sku}"))
    if not form.gift_sku:
        problems.append(Problem("gift_sku", "请填写赠品 SKU", "name the gift SKU"))
    elif conn.execute(sa.select(skus.c.sku).where(skus.c.sku == form.gift_sku)).first() is None:
        problems.append(Problem("gift_sku", f"没有商品 {form.gift_sku}", f"no SKU {form.gift_sku}"))
    if form.gift_qty is None or not 0 < form.gift_qty <= MAX_GIFT_QTY:
        problems.append(Problem("gift_qty", f"赠品数量应为 1 到 {MAX_GIFT_QTY}",
                                f"the gift quantity is 1 to {MAX_GIFT_QTY}"))
    if form.starts_at is None:
        problems.append(Problem("starts_on", "请填写开始日期", "give the first day"))
    if form.ends_at is None:
        problems.append(Problem("ends_on", "请填写结束日期", "give the last day"))
    if form.starts_at is not None and form.ends_at is not None and form.ends_at <= form.starts_at:
        problems.append(Problem("ends_on", "结束日期不能早于开始日期",
                                "the last day is not before the first"))
    return problems


def save(conn: Connection, form: PromotionForm, *, existing: int | None, actor: str,
         now: datetime, unreadable: list[Problem] | None = None) -> int:
    """Create (``existing`` None) or change a promotion; every problem at once, nothing
    written on any. ``unreadable``: the fields the caller could not read (a number, a date),
    reported instead of this module's own remark on the same field. Gifts already added
    stay as they are. Returns the promotion's id."""
    found = list(unreadable or [])
    taken = {p.field for p in found}
    problems = found + [p for p in _check(conn, form) if p.field not in taken]
    if existing is not None and get(conn, existing) is None:
        problems.append(Problem("", f"没有活动 #{existing}", f"no promotion #{existing}"))
    if problems:
        raise InputError(problems)
    assert form.threshold is not None and form.gift_qty is not None
    values = {"name": form.name.strip(), "shop_id": form.shop_id, "kind": form.kind,
              "threshold": form.threshold, "trigger_sku": form.trigger_sku,
              "gift_sku": form.gift_sku, "gift_qty": form.gift_qty, "starts_at": form.starts_at,
              "ends_at": form.ends_at, "active": form.active, "updated_at": now}
    if existing is None:
        pid = int(conn.execute(sa.insert(promotions).values(
            created_by=actor[:64], created_at=now, **values).returning(promotions.c.id)
        ).scalar_one())
        action = "promotion.create"
    else:
        pid = existing
        conn.execute(sa.update(promotions).where(promotions.c.id == pid).values(**values))
        action = "promotion.update"
    audit.record(conn, now, actor, action, str(pid), {
        "name": values["name"], "shop_id": form.shop_id, "kind": form.kind,
        "threshold": form.threshold, "trigger_sku": form.trigger_sku, "gift_sku": form.gift_sku,
        "gift_qty": form.gift_qty, "starts_at": form.starts_at.isoformat() if form.starts_at else None,
        "ends_at": form.ends_at.isoformat() if form.ends_at else None, "active": form.active})
    return pid


def deactivate(conn: Connection, promotion_id: int, *, actor: str, now: datetime) -> None:
    """Stop a promotion (orders reviewed from now on get no gift from it)."""
    if get(conn, promotion_id) is None:
        raise InputError([Problem("", f"没有活动 #{promotion_id}", f"no promotion #{promotion_id}")])
    conn.execute(sa.update(promotions).where(promotions.c.id == promotion_id).values(
        active=False, updated_at=now))
    audit.record(conn, now, actor, "promotion.deactivate", str(promotion_id), {})
