"""Stock as the manager handles it: moves made in the cloud (manual adjustments), what is
available per SKU, and the alerts that need a person — station alerts (negative stock,
intercepts after shipping, reversal conflicts) to be marked done, SKUs below their safety
stock, and slow movers (stock on hand, no sale in N days).

The command line (``packline-cloud adjust``) and the web app (库存 → 调整, 预警) call these;
each writes in the caller's transaction and audits what a person did.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud import audit, kits, ledger_store, transfers
from cloud.db import schema
from cloud.db.schema import sku_safety_stock, skus, station_alerts, stock_balances, stock_moves
from cloud.db.schema_orders import reservations
from cloud.errors import CloudError, ConfigError, InputError, Problem
from cloud.sync.outbound import relay_moves
from edge.domain.models import Move, MoveReason, NegativeStockPolicy, qty_out_of_range
from edge.sync.schema import MoveWire

CLOUD_STATION = "cloud"
"""``station_id`` of moves made in the cloud (an adjustment from the web app or the CLI)."""
NOTE_MAX = 200
"""Longest adjustment reason kept (the ledger's ``note`` column)."""
SLOW_MOVER_DAYS = 30
"""Default "no sale in N days" for the slow-mover list."""
ALERT_LIST_MAX = 500
"""Most station alerts (and most computed rows) one list shows."""


def record_cloud_move(
    conn: Connection, *, warehouse_id: str, sku: str, location: str, qty_delta: int,
    reason: MoveReason, operator_id: str, note: str, source_type: str, source_id: str,
    now: datetime, move_id: str | None = None,
) -> tuple[Move, bool]:
    """Record a move made in the cloud (not at a station); returns (move, newly stored).

    A new move is queued, in the same transaction, for every station of the warehouse
    (``outbound.relay_moves``): the cloud's ledger and the stations' are one ledger, so a
    cloud-side correction reaches the floor exactly like a move relayed from a station.
    ``now`` is the caller's clock (the one ingest judges re-sends by)."""
    if qty_delta == 0:
        raise ConfigError("数量变动不能为 0 / the quantity change must not be 0")
    if (too_big := qty_out_of_range(qty_delta)) is not None:  # the stations could not take it
        raise ConfigError(too_big)
    wh = conn.execute(sa.select(schema.warehouses).where(
        schema.warehouses.c.id == warehouse_id)).mappings().first()
    if wh is None:
        raise ConfigError(f"未知仓库 / unknown warehouse: {warehouse_id}")
    if conn.execute(sa.select(skus.c.sku).where(skus.c.sku == sku)).first() is None:
        raise ConfigError(f"未知商品 / unknown SKU: {sku}")
    current = sum(b.qty for b in ledger_store.balances(conn, warehouse_id=warehouse_id, sku=sku,
                                                       location=location, include_zero=True))
    after = current + qty_delta
    if after < 0 and wh["negative_stock_policy"] == NegativeStockPolicy.REFUSE.value:
        raise CloudError(f"库存不足: {sku}@{location} 现有 {current} / insufficient stock: "
                         f"{sku} at {location} has {current}")
    move = Move(
        move_id=move_id or str(uuid.uuid4()), sku=sku, location=location, qty_delta=qty_delta,
        balance_after=after, reason=reason, source_type=source_type, source_id=source_id,
        source_line=None, operator_id=operator_id, station_id=CLOUD_STATION, device_id=None,
        occurred_at=now, recorded_at=now, note=note, warehouse_id=warehouse_id,
    )
    new = ledger_store.insert_moves(conn, [move], received_at=now)
    if new:
        relay_moves(conn, [MoveWire.from_move(move)], now=now)
    return move, bool(new)


def adjust(conn: Connection, *, warehouse_id: str, sku: str, location: str,
           qty_delta: int | None, note: str, actor: str, now: datetime) -> Move:
    """A manual adjustment (手工调整) with its written reason, audited as ``stock.adjust``.

    ``qty_delta`` None is a quantity that could not be read as a whole number. Every
    problem with the input is reported at once, per field (:class:`InputError`), and
    nothing is written; a warehouse that refuses negative stock refuses an adjustment below
    zero with a :class:`CloudError` (the input was fine, the stock is not there)."""
    problems: list[Problem] = []
    note = note.strip()
    if not note:
        problems.append(Problem("note", "必须写明调整原因", "a manual adjustment needs a reason"))
    elif len(note) > NOTE_MAX:
        problems.append(Problem("note", f"原因最长 {NOTE_MAX} 字", f"at most {NOTE_MAX} characters"))
    if qty_delta is None:
        problems.append(Problem("qty", "请填写整数, 如 -2 或 +5", "enter a whole number, e.g. -2 or +5"))
    elif qty_delta == 0:
        problems.append(Problem("qty", "数量变动不能为 0", "the quantity change must not be 0"))
    elif (too_big := qty_out_of_range(qty_delta)) is not None:
        problems.append(Problem("qty", too_big.split(" / ")[0], too_big.split(" / ")[-1]))
    if not location.strip():
        problems.append(Problem("location", "请填写库位", "enter a location"))
    if conn.execute(sa.select(schema.warehouses.c.id).where(
            schema.warehouses.c.id == warehouse_id)).first() is None:
        problems.append(Problem("warehouse", f"未知仓库 {warehouse_id}",
                                f"unknown warehouse {warehouse_id}"))
    if conn.execute(sa.select(skus.c.sku).where(skus.c.sku == sku)).first() is None:
        problems.append(Problem("sku", f"未知商品 {sku}", f"unknown SKU {sku}"))
    elif qty_delta is not None and qty_delta > 0 and kits.components(conn, [sku]):
        problems.append(Problem("sku", f"{sku} 是组合商品, 没有自己的库存: 请调整它的组件",
                                f"{sku} is a kit with no stock of its own: adjust its components"))
    if problems or qty_delta is None:
        raise InputError(problems)
    move, _ = record_cloud_move(
        conn, warehouse_id=warehouse_id, sku=sku, location=location.strip(),
        qty_delta=qty_delta, reason=MoveReason.MANUAL_ADJUST, operator_id=actor, note=note,
        source_type="manual", source_id=str(uuid.uuid4()), now=now)
    audit.record(conn, now, actor, "stock.adjust", f"{sku}@{move.location}",
                 {"move_id": move.move_id, "qty_delta": qty_delta, "note": note,
                  "warehouse_id": warehouse_id, "balance_after": move.balance_after})
    return move


@dataclass(frozen=True, slots=True)
class StationAlert:
    """An alert a station raised (or the cloud raised for one)."""

    msg_id: str
    station_id: str
    kind: str
    subject: str
    detail: dict[str, Any]
    raised_at: datetime
    done_at: datetime | None
    done_by: str | None


def station_alerts_list(conn: Connection, *, done: bool = False,
                        limit: int = ALERT_LIST_MAX) -> list[StationAlert]:
    """Open alerts (or, with ``done``, closed ones), newest first."""
    a = station_alerts.c
    query = sa.select(station_alerts).where(
        a.acknowledged_at.is_not(None) if done else a.acknowledged_at.is_(None))
    order = (a.acknowledged_at.desc(), a.msg_id) if done else (a.raised_at.desc(), a.msg_id)
    return [StationAlert(r.msg_id, r.station_id, r.kind, r.subject, dict(r.detail or {}),
                         r.raised_at, r.acknowledged_at, r.acknowledged_by)
            for r in conn.execute(query.order_by(*order).limit(limit))]


def close_alert(conn: Connection, msg_id: str, *, actor: str, note: str, now: datetime) -> bool:
    """Mark a station alert done, with who and a note (audited as ``alert.done``); False
    when there is no such open alert (already done, or unknown)."""
    a = station_alerts.c
    row = conn.execute(sa.select(a.kind, a.station_id, a.subject)
                       .where(a.msg_id == msg_id, a.acknowledged_at.is_(None))).first()
    if row is None:
        return False
    conn.execute(sa.update(station_alerts).where(a.msg_id == msg_id, a.acknowledged_at.is_(None))
                 .values(acknowledged_at=now, acknowledged_by=actor[:64]))
    audit.record(conn, now, actor, "alert.done", msg_id,
                 {"kind": row.kind, "station_id": row.station_id, "subject": row.subject,
                  "note": note.strip()[:NOTE_MAX]})
    return True


@dataclass(frozen=True, slots=True)
class SkuLevel:
    """A SKU's stock in one warehouse: on hand (all locations), held by open orders, the
    rest available to sell, its safety stock (None when not set), and the units on their
    way to it from another warehouse (在途: shipped by a transfer, not yet received; not
    on hand, so not available either)."""

    warehouse_id: str
    sku: str
    on_hand: int
    reserved: int
    safety: int | None
    in_transit: int = 0

    @property
    def available(self) -> int:
        """On hand less what open orders hold."""
        return self.on_hand - self.reserved


def _on_hand() -> sa.Subquery:
    b = stock_balances.c
    return (sa.select(b.warehouse_id, b.sku, sa.func.sum(b.qty).label("on_hand"))
            .group_by(b.warehouse_id, b.sku).subquery("on_hand"))


def _reserved() -> sa.Subquery:
    r = reservations.c
    return (sa.select(r.warehouse_id, r.sku, sa.func.sum(r.qty - r.shipped_qty).label("held"))
            .where(r.released_at.is_(None)).group_by(r.warehouse_id, r.sku).subquery("held"))


def _narrowed(query: sa.Select[Any], wh_col: sa.ColumnElement[Any],
              sku_col: sa.ColumnElement[Any], warehouse_id: str | None,
              sku: str | None) -> sa.Select[Any]:
    """``query`` for one warehouse and/or SKU when given (``None``: all)."""
    if warehouse_id is not None:
        query = query.where(wh_col == warehouse_id)
    if sku is not None:
        query = query.where(sku_col == sku)
    return query


def levels(conn: Connection, *, warehouse_id: str | None = None, sku: str | None = None,
           limit: int = ALERT_LIST_MAX) -> list[SkuLevel]:
    """Per warehouse and SKU: on hand (all locations), held by open orders, available,
    safety stock and in transit to it — every SKU with stock, a reservation or units in
    transit (an oversold one shows a negative available), by warehouse and SKU."""
    b, r, s = stock_balances.c, reservations.c, sku_safety_stock.c
    tr = transfers.in_transit_query(warehouse_id).subquery("tr")
    zero = sa.literal(0, sa.BigInteger())
    # one pass over each source, summed per key (joining summed subqueries to a key list
    # made SQLite re-scan one of them per key: 1.1 s for one warehouse of 5,000 SKUs)
    parts = sa.union_all(
        _narrowed(sa.select(b.warehouse_id.label("warehouse_id"), b.sku.label("sku"),
                            b.qty.label("on_hand"), zero.label("held"),
                            zero.label("in_transit")), b.warehouse_id, b.sku, warehouse_id, sku),
        _narrowed(sa.select(r.warehouse_id, r.sku, zero, r.qty - r.shipped_qty, zero)
                  .where(r.released_at.is_(None)), r.warehouse_id, r.sku, warehouse_id, sku),
        _narrowed(sa.select(tr.c.to_warehouse, tr.c.sku, zero, zero, tr.c.in_transit),
                  tr.c.to_warehouse, tr.c.sku, None, sku),
    ).subquery("parts")
    on_hand, held = sa.func.sum(parts.c.on_hand), sa.func.sum(parts.c.held)
    in_transit = sa.func.sum(parts.c.in_transit)
    lv = (sa.select(parts.c.warehouse_id, parts.c.sku, on_hand.label("on_hand"),
                    held.label("held"), in_transit.label("in_transit"))
          .group_by(parts.c.warehouse_id, parts.c.sku)
          .having(sa.or_(on_hand != 0, held != 0, in_transit > 0)).subquery("lv"))
    query = (sa.select(lv.c.warehouse_id, lv.c.sku, lv.c.on_hand, lv.c.held,
                       lv.c.in_transit, s.qty.label("safety"))
             .select_from(lv.outerjoin(sku_safety_stock, (s.warehouse_id == lv.c.warehouse_id)
                                       & (s.sku == lv.c.sku)))
             .order_by(lv.c.warehouse_id, lv.c.sku).limit(limit))
    return [SkuLevel(r.warehouse_id, r.sku, int(r.on_hand), int(r.held),
                     None if r.safety is None else int(r.safety), int(r.in_transit))
            for r in conn.execute(query)]


def below_safety(conn: Connection, *, limit: int = ALERT_LIST_MAX) -> list[SkuLevel]:
    """SKUs whose available stock in a warehouse is below their safety stock there, the
    furthest below first."""
    s, oh, rs = sku_safety_stock.c, _on_hand(), _reserved()
    on_hand = sa.func.coalesce(oh.c.on_hand, 0)
    held = sa.func.coalesce(rs.c.held, 0)
    query = (
        sa.select(s.warehouse_id, s.sku, on_hand.label("on_hand"), held.label("held"),
                  s.qty.label("safety"))
        .select_from(sku_safety_stock
                     .outerjoin(oh, (oh.c.warehouse_id == s.warehouse_id) & (oh.c.sku == s.sku))
                     .outerjoin(rs, (rs.c.warehouse_id == s.warehouse_id) & (rs.c.sku == s.sku)))
        .where(on_hand - held < s.qty)
        .order_by((on_hand - held - s.qty), s.warehouse_id, s.sku)
        .limit(limit)
    )
    return [SkuLevel(r.warehouse_id, r.sku, int(r.on_hand), int(r.held), int(r.safety))
            for r in conn.execute(query)]


@dataclass(frozen=True, slots=True)
class SlowMover:
    """Stock on hand that has not sold for a while."""

    warehouse_id: str
    sku: str
    on_hand: int
    last_sale: datetime | None
    """The last SHIP move of the SKU in the warehouse (None: never sold)."""


def slow_movers(conn: Connection, *, days: int, now: datetime,
                limit: int = ALERT_LIST_MAX) -> list[SlowMover]:
    """SKUs with stock on hand in a warehouse and no sale there in the last ``days`` days
    (never sold first, then the longest unsold), most units first within each."""
    m, oh = stock_moves.c, _on_hand()
    sales = (sa.select(m.warehouse_id, m.sku, sa.func.max(m.occurred_at).label("last_sale"))
             .where(m.reason == int(MoveReason.SHIP))
             .group_by(m.warehouse_id, m.sku).subquery("sales"))
    cutoff = now - timedelta(days=days)
    query = (
        sa.select(oh.c.warehouse_id, oh.c.sku, oh.c.on_hand, sales.c.last_sale)
        .select_from(oh.outerjoin(sales, (sales.c.warehouse_id == oh.c.warehouse_id)
                                  & (sales.c.sku == oh.c.sku)))
        .where(oh.c.on_hand > 0, sa.or_(sales.c.last_sale.is_(None), sales.c.last_sale < cutoff))
        .order_by(sales.c.last_sale.is_not(None), sales.c.last_sale, oh.c.on_hand.desc(),
                  oh.c.warehouse_id, oh.c.sku)
        .limit(limit)
    )
    return [SlowMover(r.warehouse_id, r.sku, int(r.on_hand), r.last_sale)
            for r in conn.execute(query)]
