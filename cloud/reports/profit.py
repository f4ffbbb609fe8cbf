"""利润报表 (the profit report): profit = revenue − cost of goods − courier charge − platform
fee − refunds, per order, SKU, shop and period, from summaries kept as orders, refunds,
shipments and SHIP moves arrive (the issue's "Scale" point).

The rules (each figure is integer fen):

* An order enters the report once it **shipped** (units of its SHIP moves not reversed, or a
  parcel of it or of its second parcel ``…#2``, reached the cloud) and is not
  ``cancelled``. Its revenue, cost of
  goods, courier charge and platform fee are booked on the **order's day** (China Standard
  Time day of ``ordered_at``, ``first_seen_at`` when the platform sent none — the sales
  report's day), in its shop, platform and warehouse (the warehouse its SHIP moves came
  from).
* **Revenue** is Σ line price × quantity, gift lines Packline added excluded (as the sales
  report's GMV); per SKU by the lines mapped to it.
* **Cost of goods** is Σ units shipped × the SKU's moving-average cost *at ship time*. The
  cloud keeps only the cost now (``skus.cost_fen``, set by each purchase receipt), so the
  cost is stored on each SHIP move when it reaches the cloud (``profit_ship_costs``, in the
  ingest transaction): a SHIP move arriving after a later receipt takes the newer cost. A
  reversal of a SHIP move puts its units back at the original's cost. Units of a SKU with no
  cost count nothing and are shown as 未计成本.
* **Courier charge** is what ``cloud.courier_charges`` charges each of the order's parcels
  (the carrier's rate card on the day shipped); a parcel it cannot charge adds nothing and
  is counted as 未计费. A card entered or corrected later reprices the orders it covers.
* **Platform fee** is the shop's commission rate (``shops.fee_bp``, basis points) × each
  SKU's revenue, rounded half up per SKU; a shop without a rate set pays 0 and the report
  says 未设置平台费率. Changing the rate reprices the shop's orders. A refund gives the fee
  on the refunded amount back (the platforms return their commission with the money):
  rate × each SKU's share of the refund, rounded half up, a negative fee on the refund's day.
* **Refunds** (``refunds.succeeded``) are booked on the **refund's day** (CST day of its
  ``platform_updated_at``), as the sales report books them: a refund arriving late changes
  the day the money left, not the order's day.
* Per SKU, an order's courier charge and refunds are split over its SKUs by revenue (by
  units when it had no revenue), the largest remainders taking the odd fen, so SKU rows add
  up to the order exactly.

As in ``cloud.reports.summaries``: :func:`touch` recomputes an order's contribution from the
source tables, applies *new − old* to ``profit_daily`` and stores the new one in
``profit_orders``, in the caller's transaction, so arrival order does not matter;
:func:`rebuild` recomputes everything from the source tables and the stored ship costs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from cloud import audit
from cloud.courier_charges import order_charges, orders_shipped_with
from cloud.db.engine import in_chunks
from cloud.db.schema import shops, skus, stock_moves
from cloud.db.schema_orders import order_lines, orders, refunds
from cloud.db.schema_reports import (
    PROFIT_COUNTERS,
    profit_daily,
    profit_daily_shop,
    profit_monthly,
    profit_monthly_sku,
    profit_orders,
    profit_ship_costs,
)
from cloud.errors import InputError, Problem
from cloud.payables import local_day
from edge.domain.models import MoveReason

BP_PER_UNIT: Final = 10_000
"""Basis points in a whole (a rate of 10,000 bp is 100 %)."""
MAX_FEE_BP: Final = 5_000
"""Highest commission rate taken (50 %): a typo guard."""
UNMAPPED: Final = ""
"""SKU of revenue from lines not mapped to a Packline SKU yet."""
NO_WAREHOUSE: Final = ""
"""Warehouse of an order whose SHIP moves have not arrived (only its parcel has)."""
ORDER_SOURCE: Final = "order"
"""``stock_moves.source_type`` of a SHIP move (its ``source_id`` is the order)."""
MEASURES: Final = PROFIT_COUNTERS
"""The summed columns of ``profit_daily``, in the order of the delta vectors."""
KEYS: Final = ("day", "shop_id", "warehouse_id", "sku")
"""Key columns of ``profit_daily``."""
MONTH_KEYS: Final = ("month", "shop_id", "warehouse_id", "sku")
"""Key columns of ``profit_monthly`` (``month``: the first day of the month)."""
REBUILD_BATCH: Final = 2000
"""Orders read per step of :func:`rebuild`."""

Facts = dict[str, Any]
"""One order's contribution: ``day``, ``shop``, ``platform``, ``wh``, ``first`` (the SKU it
is counted on), ``skus`` ({sku: [units, revenue, cogs, courier, fee, uncosted]}),
``refunds`` ({day: {sku: fen}}) and ``fee_back`` ({day: {sku: fen}}, the fee a refund gives
back)."""
Key = tuple[date, str, str, str]
"""(day, shop, warehouse, SKU) of a ``profit_daily`` row."""


# --------------------------------------------------------------------------- the summaries
def _insert(conn: Connection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def on_moves(conn: Connection, moves: Sequence[Any], *, now: datetime) -> None:
    """New moves (``MoveWire`` or ``Move``; ingest, same transaction): each SHIP move of an order keeps the SKU's
    cost now; each reversal of a kept SHIP move puts its units back at that cost; the
    orders concerned are brought up to date."""
    ships = [m for m in moves if int(m.reason) == MoveReason.SHIP
             and m.source_type == ORDER_SOURCE]
    undo = [m for m in moves if int(m.reason) == MoveReason.REVERSAL and m.reverses_move_id]
    rows: list[dict[str, Any]] = []
    kept: dict[str, Any] = {}
    if ships:
        costs = dict(conn.execute(sa.select(skus.c.sku, skus.c.cost_fen).where(
            skus.c.sku.in_({m.sku for m in ships}))).all())
        rows += [{"move_id": m.move_id, "order_id": m.source_id, "sku": m.sku,
                  "warehouse_id": m.warehouse_id, "units": -int(m.qty_delta),
                  "unit_cost_fen": costs.get(m.sku), "occurred_at": m.occurred_at,
                  "recorded_at": now} for m in ships]
        kept = {r["move_id"]: SimpleNamespace(**r) for r in rows}
        sm = stock_moves.c  # a reversal that arrived before the move it reverses
        undo += [m for m in conn.execute(sa.select(stock_moves).where(
            sm.reverses_move_id.in_(list(kept)))) if m.move_id not in {u.move_id for u in undo}]
    if undo:
        pc = profit_ship_costs.c
        kept.update({r.move_id: r for r in conn.execute(sa.select(profit_ship_costs).where(
            pc.move_id.in_([m.reverses_move_id for m in undo])))})
        rows += [{"move_id": m.move_id, "order_id": kept[m.reverses_move_id].order_id,
                  "sku": m.sku, "warehouse_id": m.warehouse_id, "units": -int(m.qty_delta),
                  "unit_cost_fen": kept[m.reverses_move_id].unit_cost_fen,
                  "occurred_at": m.occurred_at, "recorded_at": now}
                 for m in undo if m.reverses_move_id in kept]
    if not rows:
        return
    conn.execute(_insert(conn)(profit_ship_costs).on_conflict_do_nothing(
        index_elements=[profit_ship_costs.c.move_id]), rows)
    touch(conn, {r["order_id"] for r in rows}, now=now)


def _split(total: int, weights: dict[str, int]) -> dict[str, int]:
    """``total`` over the keys in proportion to ``weights`` (equal shares when they are all
    0), the largest remainders taking the odd fen; the parts add up to ``total``."""
    if not weights:
        return {}
    if not any(weights.values()):
        weights = dict.fromkeys(weights, 1)
    whole = sum(weights.values())
    parts = {k: total * w // whole for k, w in weights.items()}
    rest = total - sum(parts.values())
    by_remainder = sorted(weights, key=lambda k: (-(total * weights[k] % whole), k))
    for k in by_remainder[:rest]:
        parts[k] += 1
    return parts


def _roots(conn: Connection, order_ids: Iterable[str]) -> list[str]:
    """The platform orders these orders belong to (a second parcel → its original)."""
    out: list[str] = []
    for chunk in in_chunks(list(dict.fromkeys(order_ids))):
        found = dict(conn.execute(sa.select(orders.c.id, orders.c.split_from).where(
            orders.c.id.in_(chunk))).all())
        out += [found.get(oid) or oid for oid in chunk if oid in found]
    return list(dict.fromkeys(out))


def contributions(conn: Connection, root_ids: Iterable[str]) -> dict[str, Facts]:
    """What each of these platform orders contributes now (absent: nothing)."""
    out: dict[str, Facts] = {}
    o, ln, rf, pc = orders.c, order_lines.c, refunds.c, profit_ship_costs.c
    for chunk in in_chunks(list(dict.fromkeys(root_ids))):
        heads = {r.id: r for r in conn.execute(sa.select(
            o.id, o.shop_id, o.platform, o.platform_order_id, o.state, o.ordered_at,
            o.first_seen_at, o.warehouse_id).where(o.id.in_(chunk))) if r.state != "cancelled"}
        if not heads:
            continue
        parts = {oid: oid for oid in heads}
        for cid, parent in conn.execute(sa.select(o.id, o.split_from).where(
                o.split_from.in_(list(heads)))):
            parts[cid] = parent
        shipped: dict[str, dict[str, list[int]]] = defaultdict(dict)  # sku: [units, cogs, unc]
        whs: dict[str, str] = {}
        for r in conn.execute(sa.select(pc.order_id, pc.sku, pc.warehouse_id, pc.units,
                                        pc.unit_cost_fen).where(pc.order_id.in_(list(parts)))
                              .order_by(pc.occurred_at, pc.move_id)):
            root = parts[r.order_id]
            whs.setdefault(root, r.warehouse_id)
            acc = shipped[root].setdefault(r.sku, [0, 0, 0])
            acc[0] += int(r.units)
            if r.unit_cost_fen is None:
                acc[2] += int(r.units)
            else:
                acc[1] += int(r.units) * int(r.unit_cost_fen)
        courier: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for part, (fen, unbilled) in order_charges(conn, list(parts)).items():
            courier[parts[part]][0] += fen
            courier[parts[part]][1] += unbilled
        live = {oid for oid in heads  # a shipment undone whole (reversed) did not ship
                if any(v[0] for v in shipped.get(oid, {}).values()) or oid in courier}
        if not live:
            continue
        revenue: dict[str, dict[str, list[int]]] = defaultdict(dict)  # sku: [units, fen]
        for part, sku, qty, sku_qty, price in conn.execute(sa.select(
                ln.order_id, ln.sku, ln.qty, ln.sku_qty, ln.price_fen).where(
                ln.order_id.in_([p for p, root in parts.items() if root in live]),
                ln.promotion_id.is_(None))):
            acc = revenue[parts[part]].setdefault(sku if sku is not None else UNMAPPED, [0, 0])
            acc[0] += int(sku_qty) if sku is not None and sku_qty is not None else int(qty)
            acc[1] += int(qty) * int(price)
        fee_bp = dict(conn.execute(sa.select(shops.c.id, shops.c.fee_bp).where(
            shops.c.id.in_({heads[oid].shop_id for oid in live}))).all())
        by_platform_id = {(heads[oid].shop_id, heads[oid].platform_order_id): oid
                          for oid in live}
        refunded: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for shop, poid, fen, at in conn.execute(sa.select(
                rf.shop_id, rf.platform_order_id, rf.amount_fen, rf.platform_updated_at).where(
                rf.succeeded.is_(True), rf.shop_id.in_({heads[x].shop_id for x in live}),
                rf.platform_order_id.in_([heads[x].platform_order_id for x in live]))):
            got = by_platform_id.get((shop, poid))
            if got is not None:
                refunded[got][local_day(at).isoformat()] += int(fen)
        for oid in live:
            out[oid] = _facts(heads[oid], whs.get(oid, heads[oid].warehouse_id or NO_WAREHOUSE),
                              revenue.get(oid, {}), shipped.get(oid, {}), courier.get(oid),
                              int(fee_bp.get(heads[oid].shop_id) or 0), refunded.get(oid, {}))
    return out


def _facts(head: Any, wh: str, revenue: dict[str, list[int]], shipped: dict[str, list[int]],
           courier: list[int] | None, bp: int, refunded: dict[str, int]) -> Facts:
    names = sorted(set(revenue) | set(shipped))
    rev = {s: revenue.get(s, [0, 0])[1] for s in names}
    weights = rev if any(rev.values()) else {
        s: max(shipped.get(s, [0])[0], revenue.get(s, [0])[0], 0) for s in names}
    courier_fen, unbilled = courier or [0, 0]
    per_courier = _split(courier_fen, weights)
    lines = {s: [shipped.get(s, [0, 0, 0])[0], rev[s], shipped.get(s, [0, 0, 0])[1],
                 per_courier.get(s, 0), (rev[s] * bp + BP_PER_UNIT // 2) // BP_PER_UNIT,
                 shipped.get(s, [0, 0, 0])[2]] for s in names}
    refunds = {day: _split(fen, weights) for day, fen in sorted(refunded.items())}
    return {"day": local_day(head.ordered_at or head.first_seen_at).isoformat(),
            "shop": head.shop_id, "platform": head.platform, "wh": wh or NO_WAREHOUSE,
            "first": names[0] if names else UNMAPPED, "skus": lines, "unbilled": unbilled,
            "refunds": refunds,
            "fee_back": {day: {s: (fen * bp + BP_PER_UNIT // 2) // BP_PER_UNIT
                               for s, fen in split.items()}
                         for day, split in refunds.items()}}


def _add(deltas: dict[Key, list[int]], facts: Facts, sign: int) -> None:
    day = date.fromisoformat(facts["day"])
    shop, wh = facts["shop"], facts["wh"]
    for sku, (units, rev, cogs, courier, fee, uncosted) in facts["skus"].items():
        vec = deltas.setdefault((day, shop, wh, sku), [0] * len(MEASURES))
        for n, v in enumerate((1 if sku == facts["first"] else 0, 1, units, rev, cogs, courier,
                               fee, 0, uncosted)):
            vec[n] += sign * v
    for rday, split in facts["refunds"].items():
        for sku, fen in split.items():
            vec = deltas.setdefault((date.fromisoformat(rday), shop, wh, sku),
                                    [0] * len(MEASURES))
            vec[MEASURES.index("refund_fen")] += sign * fen
    for rday, split in facts.get("fee_back", {}).items():  # facts kept before 0046 have none
        for sku, fen in split.items():
            vec = deltas.setdefault((date.fromisoformat(rday), shop, wh, sku),
                                    [0] * len(MEASURES))
            vec[MEASURES.index("fee_fen")] -= sign * fen


def _apply(conn: Connection, deltas: dict[Key, list[int]],
           platforms: dict[str, str]) -> None:
    """Add each delta vector to its ``profit_daily`` row, summed over the SKUs to its
    ``profit_daily_shop`` row and summed over the month to its ``profit_monthly`` row (and
    over shops and warehouses too, to its ``profit_monthly_sku`` row)
    (created when missing), in one lock order; rows left all zero go."""
    by_shop: dict[tuple[date, str, str], list[int]] = {}
    by_month: dict[Key, list[int]] = {}
    by_month_sku: dict[tuple[date, str], list[int]] = {}
    for (day, shop, wh, sku), vec in deltas.items():
        for acc in (by_shop.setdefault((day, shop, wh), [0] * len(MEASURES)),
                    by_month.setdefault((day.replace(day=1), shop, wh, sku),
                                        [0] * len(MEASURES)),
                    by_month_sku.setdefault((day.replace(day=1), sku), [0] * len(MEASURES))):
            for n, v in enumerate(vec):
                acc[n] += v
    tables: tuple[tuple[sa.Table, tuple[str, ...], dict[Any, list[int]]], ...] = (
        (profit_daily, KEYS, dict(deltas)), (profit_daily_shop, KEYS[:-1], dict(by_shop)),
        (profit_monthly, MONTH_KEYS, dict(by_month)),
        (profit_monthly_sku, ("month", "sku"), dict(by_month_sku)))
    for table, keys, vectors in tables:
        has_platform = "platform" in table.c  # a month × SKU row has no shop, so no platform
        rows: list[dict[str, Any]] = [
            {**dict(zip(keys, key, strict=True)),
             **({"platform": platforms.get(str(key[1]), "")} if has_platform else {}),
             **dict(zip(MEASURES, vec, strict=True))}
            for key, vec in sorted(vectors.items()) if any(vec)]
        if not rows:
            continue
        stmt = _insert(conn)(table)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=[table.c[k] for k in keys],
            set_={m: table.c[m] + stmt.excluded[m] for m in MEASURES}), rows)
        for row in rows:
            if any(row[m] < 0 for m in MEASURES):
                conn.execute(sa.delete(table).where(
                    *(table.c[k] == row[k] for k in keys), *(table.c[m] == 0 for m in MEASURES)))


def _order_row(oid: str, f: Facts, now: datetime) -> dict[str, Any]:
    sums = [sum(v[n] for v in f["skus"].values()) for n in range(6)]
    refunded = sum(sum(s.values()) for s in f["refunds"].values())
    sums[4] -= sum(sum(s.values()) for s in f.get("fee_back", {}).values())
    return {"order_id": oid, "day": date.fromisoformat(f["day"]), "shop_id": f["shop"],
            "platform": f["platform"], "warehouse_id": f["wh"],
            "skus": "|" + "|".join(f["skus"]) + "|", "units": sums[0], "revenue_fen": sums[1],
            "cogs_fen": sums[2], "courier_fen": sums[3], "fee_fen": sums[4],
            "uncosted": sums[5], "unbilled": f["unbilled"],
            "refund_fen": refunded, "facts": f, "updated_at": now,
            "profit_fen": sums[1] - sums[2] - sums[3] - sums[4] - refunded}


def touch(conn: Connection, order_ids: Iterable[str], *, now: datetime) -> None:
    """Bring the profit summaries up to date with these orders as they are now (their lines,
    refunds, parcels, SHIP moves, the shop's fee rate and the rate cards), in the caller's
    transaction."""
    roots = _roots(conn, order_ids)
    if not roots:
        return
    po = profit_orders.c
    old: dict[str, Facts] = {}
    for chunk in in_chunks(roots):
        old.update(conn.execute(sa.select(po.order_id, po.facts).where(po.order_id.in_(chunk)))
                   .all())
    new = contributions(conn, roots)
    deltas: dict[Key, list[int]] = {}
    platforms: dict[str, str] = {}
    for oid in roots:
        before, after = old.get(oid), new.get(oid)
        if before == after:
            continue
        for facts, sign in ((before, -1), (after, +1)):
            if facts is not None:
                _add(deltas, facts, sign)
                platforms[facts["shop"]] = facts["platform"]
        conn.execute(sa.delete(profit_orders).where(po.order_id == oid))
        if after is not None:
            conn.execute(sa.insert(profit_orders), _order_row(oid, after, now))
    _apply(conn, deltas, platforms)


def rebuild(conn: Connection, *, now: datetime) -> int:
    """Recompute ``profit_orders`` and ``profit_daily`` from the source tables and the kept
    ship costs (in the caller's transaction). Returns the orders that count."""
    conn.execute(sa.delete(profit_daily))
    conn.execute(sa.delete(profit_daily_shop))
    conn.execute(sa.delete(profit_monthly))
    conn.execute(sa.delete(profit_monthly_sku))
    conn.execute(sa.delete(profit_orders))
    o = orders.c
    last, n = "", 0
    while True:
        batch = list(conn.execute(sa.select(o.id).where(o.split_from.is_(None), o.id > last)
                                  .order_by(o.id).limit(REBUILD_BATCH)).scalars())
        if not batch:
            return n
        facts = contributions(conn, batch)
        deltas: dict[Key, list[int]] = {}
        for oid, f in facts.items():
            _add(deltas, f, +1)
            conn.execute(sa.insert(profit_orders), _order_row(oid, f, now))
        _apply(conn, deltas, {f["shop"]: f["platform"] for f in facts.values()})
        n += len(facts)
        last = batch[-1]


def set_fee(conn: Connection, shop_id: str, raw: str, *, actor: str, now: datetime) -> int | None:
    """Set the shop's platform commission from a percentage (``5`` or ``0.6``; empty: not
    set), audited as ``shop.fee``; the shop's orders in the report are repriced. Returns the
    rate in basis points."""
    raw = raw.strip().rstrip("%").strip()
    bp: int | None = None
    if raw:
        whole, _, frac = raw.partition(".")
        if not whole.isdigit() or (frac and (not frac.isdigit() or len(frac) > 2)):
            raise InputError([Problem("fee", "费率应为百分数, 最多两位小数, 如 5 或 0.6",
                                      "a percentage with at most 2 decimals, e.g. 5 or 0.6")])
        bp = int(whole) * 100 + int((frac + "00")[:2])
        if bp > MAX_FEE_BP:
            raise InputError([Problem("fee", f"费率最高 {MAX_FEE_BP // 100}%",
                                      f"at most {MAX_FEE_BP // 100}%")])
    before = conn.execute(sa.select(shops.c.fee_bp).where(shops.c.id == shop_id)).first()
    if before is None:
        raise InputError([Problem("fee", "没有这个店铺", "no such shop")])
    if before.fee_bp == bp:
        return bp
    conn.execute(sa.update(shops).where(shops.c.id == shop_id).values(fee_bp=bp))
    audit.record(conn, now, actor, "shop.fee", shop_id, {"from_bp": before.fee_bp, "to_bp": bp})
    ids = list(conn.execute(sa.select(profit_orders.c.order_id).where(
        profit_orders.c.shop_id == shop_id)).scalars())
    for chunk in in_chunks(ids):
        touch(conn, chunk, now=now)
    return bp


def on_rate_card(conn: Connection, carrier: str, effective_from: date, *, now: datetime) -> None:
    """A rate card saved for ``carrier`` from ``effective_from``: reprice the orders it
    covers."""
    for chunk in in_chunks(orders_shipped_with(conn, carrier, effective_from)):
        touch(conn, chunk, now=now)
