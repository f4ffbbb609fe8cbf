"""Per-shop automatic review rules (审单规则): what the allocation pass holds for a person.

One ``review_rules`` row per shop; a shop without one gets :data:`DEFAULT_RULES`, which is
how review always behaved: an order with a buyer note waits for a person (until the note is
approved, ``orders.note_approved``), so does one under platform risk review, and there is no
amount limit. A manager may turn the two holds off and set a limit: an order whose pay
amount is over it is held with code ``amount_over`` until a person approves that amount
(``orders.amount_approved_fen``; a different amount later is held again). Saving rules
sends the shop's orders a rule no longer holds back to review. Unmapped lines and
missing stock are not rules: they always hold the order (``cloud.orders.allocation``).

:func:`hold_reason` is the pure decision; :func:`rules_for` / :func:`save` read and write
the rows (a save is audited in the caller's transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud import audit
from cloud.db import in_chunks
from cloud.db.schema import shops
from cloud.db.schema_orders import order_events, orders, review_rules
from cloud.errors import InputError, Problem

AMOUNT_OVER = "amount_over"
"""Exception code of an order over the shop's amount limit."""
MAX_LIMIT_FEN = 100_000_000_00
"""Largest amount limit accepted (one hundred million yuan): anything above is a typo."""
FEN_PER_YUAN = 100
"""Fen in a yuan (the form takes yuan, the rows keep fen)."""
REQUEUE_REASON = "审单规则已修改 / review rules changed"
"""Why an order held by a rule now off went back to review (its ``order_events`` row)."""


@dataclass(frozen=True, slots=True)
class ReviewRules:
    """A shop's review rules."""

    hold_buyer_note: bool = True
    """Hold an order whose buyer note no person approved yet."""
    hold_risk_review: bool = True
    """Hold an order the platform has under risk review."""
    max_amount_fen: int | None = None
    """Hold an order paying more than this (NULL: no limit)."""


DEFAULT_RULES = ReviewRules()
"""The rules of a shop nobody configured: today's behaviour."""


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What the rules look at on an order."""

    buyer_note: str
    note_approved: str | None
    risk_review: bool
    pay_fen: int
    amount_approved_fen: int | None


def fen_to_yuan(fen: int) -> str:
    """Fen as yuan with two decimals, no grouping (what the forms read back): 50001 → 500.01."""
    return f"{fen // FEN_PER_YUAN}.{fen % FEN_PER_YUAN:02d}"


def hold_reason(rules: ReviewRules, order: OrderFacts) -> tuple[str, str] | None:
    """(exception code, detail) when a rule holds the order for a person, else ``None``.
    Checked in this order: risk review, buyer note, amount."""
    if rules.hold_risk_review and order.risk_review:
        return "risk_review", "平台风控审核中 / under platform risk review"
    note = order.buyer_note
    if rules.hold_buyer_note and note.strip() and note != order.note_approved:
        return "buyer_note", f"买家留言需人工审核 / buyer note needs review: {note}"
    limit = rules.max_amount_fen
    if limit is not None and order.pay_fen > limit and order.pay_fen != order.amount_approved_fen:
        pay, most = fen_to_yuan(order.pay_fen), fen_to_yuan(limit)
        return AMOUNT_OVER, (f"订单金额 ¥{pay} 超过限额 ¥{most} / "
                             f"amount ¥{pay} over the limit ¥{most}")
    return None


def rules_for(conn: Connection, shop_id: str) -> ReviewRules:
    """The shop's rules (the defaults when it has no row)."""
    r = review_rules.c
    row = conn.execute(sa.select(r.hold_buyer_note, r.hold_risk_review, r.max_amount_fen)
                       .where(r.shop_id == shop_id)).first()
    if row is None:
        return DEFAULT_RULES
    return ReviewRules(bool(row.hold_buyer_note), bool(row.hold_risk_review),
                       None if row.max_amount_fen is None else int(row.max_amount_fen))


@dataclass(frozen=True, slots=True)
class ShopRules:
    """A shop with its rules, for the rules page."""

    shop_id: str
    shop_name: str
    platform: str
    rules: ReviewRules
    configured: bool
    """Whether the shop has its own row (else it shows the defaults)."""


def all_shops(conn: Connection) -> list[ShopRules]:
    """Every shop with its rules, by name."""
    r = review_rules.c
    rows = conn.execute(sa.select(shops.c.id, shops.c.name, shops.c.platform,
                                  r.hold_buyer_note, r.hold_risk_review, r.max_amount_fen,
                                  r.shop_id.label("has_row"))
                        .select_from(shops.outerjoin(review_rules, r.shop_id == shops.c.id))
                        .order_by(shops.c.name, shops.c.id)).all()
    out = []
    for row in rows:
        rules = DEFAULT_RULES if row.has_row is None else ReviewRules(
            bool(row.hold_buyer_note), bool(row.hold_risk_review),
            None if row.max_amount_fen is None else int(row.max_amount_fen))
        out.append(ShopRules(row.id, row.name, row.platform, rules, row.has_row is not None))
    return out


def yuan_to_fen(value: str) -> int | None:
    """``"199"`` / ``"199.5"`` / ``"199.50"`` yuan as fen; ``None`` if it is not such a number."""
    whole, _, frac = value.strip().partition(".")
    if not whole.isdigit() or (frac and (not frac.isdigit() or len(frac) > 2)):
        return None
    return int(whole) * FEN_PER_YUAN + int((frac + "00")[:2])


def parse_limit(value: str | None) -> int | None:
    """The amount limit typed in yuan (``"1000"``, ``"199.5"``) as fen; blank is no limit.
    Raises :class:`InputError` (field ``max_amount``) on anything else."""
    if value is None or not value.strip():
        return None
    fen = yuan_to_fen(value)
    if fen is None:
        raise InputError([Problem("max_amount", "金额应为数字, 最多两位小数 (元)",
                                  "the amount is a number of yuan with at most two decimals")])
    if fen <= 0 or fen > MAX_LIMIT_FEN:
        raise InputError([Problem("max_amount", "金额应大于 0 且不超过一亿元",
                                  "the amount is above 0 and at most 100,000,000 yuan")])
    return fen


def _released_by(conn: Connection, shop_id: str, rules: ReviewRules) -> list[str]:
    """The shop's orders held by a rule that ``rules`` no longer has (by id)."""
    o = orders.c
    freed = []
    if not rules.hold_buyer_note:
        freed.append(o.exception_code == "buyer_note")
    if not rules.hold_risk_review:
        freed.append(o.exception_code == "risk_review")
    freed.append(sa.and_(o.exception_code == AMOUNT_OVER, sa.true() if rules.max_amount_fen is None
                         else o.pay_fen <= rules.max_amount_fen))
    return list(conn.execute(sa.select(o.id).where(
        o.shop_id == shop_id, o.state == "exception", sa.or_(*freed)).order_by(o.id)
        .with_for_update()).scalars())


def save(conn: Connection, shop_id: str, rules: ReviewRules, *, actor: str,
         now: datetime) -> int:
    """Write the shop's rules and an audit entry. Orders of the shop held by a rule that is
    now off (or by an amount now within the limit) go back to ``pending`` for the next
    allocation pass, each with an ``order_events`` row (action ``requeue``); returns how
    many. Other orders are reviewed with the new rules when their turn comes."""
    if conn.execute(sa.select(shops.c.id).where(shops.c.id == shop_id)).first() is None:
        raise InputError([Problem("", f"没有店铺 {shop_id}", f"no shop {shop_id}")])
    values = {"hold_buyer_note": rules.hold_buyer_note, "hold_risk_review": rules.hold_risk_review,
              "max_amount_fen": rules.max_amount_fen, "updated_by": actor[:64], "updated_at": now}
    r = review_rules.c
    if conn.execute(sa.select(r.shop_id).where(r.shop_id == shop_id)).first() is None:
        conn.execute(sa.insert(review_rules).values(shop_id=shop_id, **values))
    else:
        conn.execute(sa.update(review_rules).where(r.shop_id == shop_id).values(**values))
    requeued = _released_by(conn, shop_id, rules)
    for chunk in in_chunks(requeued):
        conn.execute(sa.update(orders).where(orders.c.id.in_(chunk)).values(
            state="pending", exception_code=None, exception_detail=None, updated_at=now))
    if requeued:
        conn.execute(sa.insert(order_events), [
            {"order_id": oid, "at": now, "actor": actor[:64], "action": "requeue",
             "from_state": "exception", "to_state": "pending", "reason": REQUEUE_REASON}
            for oid in requeued])
    audit.record(conn, now, actor, "review_rules.save", shop_id,
                 {"hold_buyer_note": rules.hold_buyer_note,
                  "hold_risk_review": rules.hold_risk_review,
                  "max_amount_fen": rules.max_amount_fen, "requeued": len(requeued)})
    return len(requeued)
