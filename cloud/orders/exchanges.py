"""换货: the outbound order of an exchange.

An exchange is a return plus a new parcel to the same buyer. The return is inspected at a
station (``cloud.returns``, marked as an exchange there or on the platform); the new parcel
is an order Packline makes by hand from the original — :func:`create` — with the SKUs and
units to send (the variant the buyer asked for is chosen by a person: the platforms'
exchange details are not read). It is id ``<original>~X<n>``, linked by
``orders.exchange_of``, paid, with the original's receiver, and goes through review,
allocation, the e-waybill (taken for the original's platform order, as a second parcel is)
and a station like any order; it writes no tracking number back (the original's platform
order shipped already). Both orders get an ``order_events`` row, and the audit log an entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud import audit
from cloud.db.schema import skus
from cloud.db.schema_orders import order_events, order_lines, orders
from cloud.errors import InputError, Problem
from cloud.orders.reservations import PAID_STATUS, reconcile

EXCHANGE_MARK = "~X"
"""Between the original's id (and platform order number) and the exchange's number."""
REASON_MAX = 200
"""Longest reason kept."""
MAX_UNITS = 1000
"""Most units of one SKU one exchange sends."""
KEEP = ("shop_id", "platform", "platform_carrier", "receiver_cipher", "receiver_masked",
        "receiver_sealed", "receiver_digest", "buyer_nick_mask", "buyer_nick_key")
"""Columns the exchange takes from the original (who and where it ships to)."""


def exchanges_of(conn: Connection, order_id: str) -> list[str]:
    """The exchange orders made for ``order_id``, oldest first."""
    o = orders.c
    return list(conn.execute(sa.select(o.id).where(o.exchange_of == order_id)
                             .order_by(o.first_seen_at, o.id)).scalars())


def create(conn: Connection, order_id: str, units: Mapping[str, int], *, actor: str,
           reason: str = "", now: datetime) -> str:
    """Make the exchange order of ``order_id`` sending ``units`` (SKU → units); returns its
    id. Refused with every problem found, nothing written: an unknown order, one not
    shipped, an exchange of an exchange, nothing to send, an unknown SKU, a bad quantity."""
    reason = reason.strip()[:REASON_MAX]
    row = conn.execute(sa.select(orders).where(orders.c.id == order_id)).first()
    if row is None:
        raise InputError([Problem("", f"没有订单 {order_id}", f"no order {order_id}")])
    problems: list[Problem] = []
    if row.state != "shipped":
        problems.append(Problem("", "只有已发货的订单可以换货", "only a shipped order can be exchanged"))
    if row.exchange_of:
        problems.append(Problem("", "换货单不能再换货, 请在原订单上操作",
                                "an exchange cannot be exchanged: use the original order"))
    wanted = {sku.strip(): qty for sku, qty in units.items() if sku.strip()}
    known = set(conn.execute(sa.select(skus.c.sku).where(skus.c.sku.in_(sorted(wanted))))
                .scalars()) if wanted else set()
    for sku, qty in sorted(wanted.items()):
        if sku not in known:
            problems.append(Problem("sku", f"没有商品 {sku}", f"no SKU {sku}"))
        elif not 1 <= qty <= MAX_UNITS:
            problems.append(Problem("qty", f"{sku} 的数量应在 1 到 {MAX_UNITS} 之间",
                                    f"units of {sku} between 1 and {MAX_UNITS}"))
    if not wanted:
        problems.append(Problem("sku", "请填写换出的商品和数量", "say which SKU and how many to send"))
    if problems:
        raise InputError(problems)
    n = len(exchanges_of(conn, order_id)) + 1
    new_id = f"{order_id}{EXCHANGE_MARK}{n}"
    keep = {k: row._mapping[k] for k in KEEP}
    conn.execute(sa.insert(orders).values(
        **keep, id=new_id, platform_order_id=f"{row.platform_order_id}{EXCHANGE_MARK}{n}",
        platform_status=PAID_STATUS, raw_status="exchange", platform_updated_at=now,
        ordered_at=now, pay_fen=0, state="pending", exchange_of=order_id, revision=1,
        seller_note=f"换货 / exchange of {row.platform_order_id}", first_seen_at=now,
        updated_at=now))
    conn.execute(sa.insert(order_lines), [
        {"order_id": new_id, "line_no": i, "title": sku, "qty": qty, "price_fen": 0,
         "sku": sku, "sku_qty": qty} for i, (sku, qty) in enumerate(sorted(wanted.items()), 1)])
    text = ", ".join(f"{sku} ×{qty}" for sku, qty in sorted(wanted.items()))
    why = f"换货发出 {text}" + (f": {reason}" if reason else "")
    conn.execute(sa.insert(order_events), [
        {"order_id": order_id, "at": now, "actor": actor[:64], "action": "exchange",
         "from_state": row.state, "to_state": row.state, "reason": f"{why} → {new_id}"},
        {"order_id": new_id, "at": now, "actor": actor[:64], "action": "exchange",
         "from_state": "pending", "to_state": "pending", "reason": f"{why} ← {order_id}"}])
    audit.record(conn, now, actor, "order.exchange", order_id,
                 {"exchange": new_id, "units": dict(sorted(wanted.items())), "reason": reason})
    reconcile(conn, [new_id], now=now)
    return new_id
