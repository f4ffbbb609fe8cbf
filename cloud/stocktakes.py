"""Stocktakes (盘点) approved at stations, as the cloud keeps them for the variance report.

A station approves a stocktake in one transaction that writes its COUNT_ADJUST moves (they
reach ``stock_moves`` through ordinary ``move`` messages, each id once) and a ``stocktake``
summary message (``edge.sync.schema.StocktakeWire``). Ingest stores the summary once by its
message id (``record``); the web app's /stocktakes pages read it back (``summaries``,
``detail``). The rule behind the figures (counted − balance at count time) is documented in
``edge.domain.stocktake``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from cloud import audit
from cloud.db.schema import (
    skus,
    station_stocktake_lines,
    station_stocktakes,
    stocktake_plans,
    warehouses,
)
from cloud.errors import InputError, Problem
from cloud.sync.outbound import enqueue_down, stations_of_warehouse
from edge.sync.schema import Envelope, StocktakePlanWire, StocktakeWire

LIST_LIMIT = 200
"""Most stocktakes the list page shows (newest approved first)."""


def record(conn: Connection, station: str, env: Envelope, wire: StocktakeWire,
           now: datetime) -> bool:
    """Store an approved stocktake and its lines once by message id, in the caller's
    transaction. Returns False (nothing written) for a redelivered message."""
    insert = (postgresql.insert(station_stocktakes) if conn.dialect.name == "postgresql"
              else sqlite.insert(station_stocktakes))
    done = conn.execute(insert.on_conflict_do_nothing().returning(station_stocktakes.c.msg_id).values(
        msg_id=env.msg_id, station_id=station, stocktake_id=wire.stocktake_id,
        warehouse_id=wire.warehouse_id, scope=wire.scope, scope_value=wire.scope_value,
        snapshot_seq=wire.snapshot_seq, started_by=wire.started_by, started_at=wire.started_at,
        approved_by=wire.approved_by, approved_at=wire.approved_at, received_at=now)).first()
    if done is None:
        return False
    if wire.plan_id:
        conn.execute(sa.update(stocktake_plans).where(
            stocktake_plans.c.id == wire.plan_id, stocktake_plans.c.status == "open").values(
            status="done", stocktake_id=wire.stocktake_id))
    if wire.lines:
        conn.execute(station_stocktake_lines.insert(), [
            {"msg_id": env.msg_id, "location": ln.location, "sku": ln.sku, "round": ln.round,
             "counted": ln.counted, "expected": ln.expected, "final": ln.final,
             "move_id": ln.move_id} for ln in wire.lines])
    return True


@dataclass(frozen=True, slots=True)
class Summary:
    """One approved stocktake on the list page."""

    msg_id: str
    stocktake_id: str
    station_id: str
    warehouse_id: str
    scope: str
    scope_value: str
    started_by: str
    started_at: datetime
    approved_by: str
    approved_at: datetime
    lines: int
    """Final lines (SKU/location pairs counted)."""
    varied: int
    """Final lines whose count differs from the books."""
    units_over: int
    """Units found beyond the books (sum of positive variances)."""
    units_short: int
    """Units missing against the books (sum of negative variances, as a positive number)."""
    recounts: int
    """Lines counted a second time."""


@dataclass(frozen=True, slots=True)
class Line:
    """One count line on the detail page."""

    location: str
    sku: str
    round: int
    counted: int
    expected: int
    final: bool
    move_id: str | None

    @property
    def variance(self) -> int:
        """``counted − expected``."""
        return self.counted - self.expected


def summaries(conn: Connection, *, limit: int = LIST_LIMIT) -> list[Summary]:
    """Approved stocktakes, newest first, with their variance totals."""
    s, ln = station_stocktakes.c, station_stocktake_lines.c
    variance = ln.counted - ln.expected
    final = ln.final.is_(sa.true())
    totals = (sa.select(
        ln.msg_id,
        sa.func.sum(sa.case((final, 1), else_=0)).label("lines"),
        sa.func.sum(sa.case((sa.and_(final, variance != 0), 1), else_=0)).label("varied"),
        sa.func.sum(sa.case((sa.and_(final, variance > 0), variance), else_=0)).label("over"),
        sa.func.sum(sa.case((sa.and_(final, variance < 0), -variance), else_=0)).label("short"),
        sa.func.sum(sa.case((ln.round > 1, 1), else_=0)).label("recounts"),
    ).group_by(ln.msg_id).subquery())
    rows = conn.execute(
        sa.select(s.msg_id, s.stocktake_id, s.station_id, s.warehouse_id, s.scope,
                  s.scope_value, s.started_by, s.started_at, s.approved_by, s.approved_at,
                  totals.c.lines, totals.c.varied, totals.c.over, totals.c.short,
                  totals.c.recounts)
        .select_from(station_stocktakes.outerjoin(totals, totals.c.msg_id == s.msg_id))
        .order_by(s.approved_at.desc(), s.msg_id).limit(limit)).all()
    return [Summary(*r[:10], *(int(v or 0) for v in r[10:])) for r in rows]


def detail(conn: Connection, stocktake_id: str) -> tuple[Summary, list[Line]] | None:
    """One stocktake and its lines by location, SKU and round (None: unknown)."""
    found = next((x for x in summaries(conn, limit=LIST_LIMIT)
                  if x.stocktake_id == stocktake_id), None)
    if found is None:
        row = conn.execute(sa.select(station_stocktakes.c.msg_id).where(
            station_stocktakes.c.stocktake_id == stocktake_id)).first()
        if row is None:
            return None
        found = next(x for x in summaries(conn, limit=1_000_000) if x.msg_id == row[0])
    ln = station_stocktake_lines.c
    lines = [Line(r[0], r[1], int(r[2]), int(r[3]), int(r[4]), bool(r[5]), r[6])
             for r in conn.execute(
                 sa.select(ln.location, ln.sku, ln.round, ln.counted, ln.expected, ln.final,
                           ln.move_id).where(ln.msg_id == found.msg_id)
                 .order_by(ln.location, ln.sku, ln.round)).all()]
    return found, lines


SCOPES = ("full", "zone", "sku")
"""What a stocktake counts: the whole warehouse, one zone (a location prefix), one SKU."""
NOTE_MAX = 200
"""Longest note of a plan."""


@dataclass(frozen=True, slots=True)
class Plan:
    """A stocktake planned in the cloud, as the list shows it."""

    id: str
    warehouse_id: str
    scope: str
    scope_value: str
    note: str
    status: str
    created_by: str
    created_at: datetime
    stocktake_id: str | None


def _wire(row: Plan) -> StocktakePlanWire:
    return StocktakePlanWire(
        plan_id=row.id, warehouse_id=row.warehouse_id, scope=row.scope,
        scope_value=row.scope_value, note=row.note,
        status="cancelled" if row.status == "cancelled" else "open",
        created_by=row.created_by, created_at=row.created_at)


def plan(conn: Connection, *, warehouse_id: str, scope: str, scope_value: str = "",
         note: str = "", actor: str, now: datetime) -> str:
    """Plan a stocktake and send it to the warehouse's stations (``count_plan``), audited;
    returns its id (``PDP-00001``). Refused with every problem found, nothing written: an
    unknown warehouse, an unknown scope, a zone without a prefix, an unknown SKU."""
    value = scope_value.strip() if scope != "full" else ""
    problems: list[Problem] = []
    if conn.execute(sa.select(warehouses.c.id).where(warehouses.c.id == warehouse_id)).first() \
            is None:
        problems.append(Problem("warehouse", "请选择仓库", "choose a warehouse"))
    if scope not in SCOPES:
        problems.append(Problem("scope", "请选择盘点范围", "choose what to count"))
    elif scope == "zone" and not value:
        problems.append(Problem("scope_value", "请填写库区 (库位编码的开头)",
                                "give the zone (the start of the location codes)"))
    elif scope == "sku" and conn.execute(sa.select(skus.c.sku).where(skus.c.sku == value)) \
            .first() is None:
        problems.append(Problem("scope_value", f"没有商品 {value}", f"no SKU {value}"))
    if len(note) > NOTE_MAX:
        problems.append(Problem("note", f"备注最多 {NOTE_MAX} 字", f"at most {NOTE_MAX} characters"))
    if problems:
        raise InputError(problems)
    (n,) = conn.execute(sa.select(sa.func.count()).select_from(stocktake_plans)).one()
    plan_id = f"PDP-{int(n) + 1:05d}"
    row = Plan(plan_id, warehouse_id, scope, value, note.strip(), "open", actor, now, None)
    conn.execute(sa.insert(stocktake_plans).values(
        id=plan_id, warehouse_id=warehouse_id, scope=scope, scope_value=value,
        note=row.note, status="open", created_by=actor, created_at=now))
    stations = stations_of_warehouse(conn, warehouse_id)
    for station in stations:
        enqueue_down(conn, station, "count_plan", _wire(row), now=now)
    audit.record(conn, now, actor, "stocktake.plan", plan_id,
                 {"warehouse": warehouse_id, "scope": scope, "value": value,
                  "stations": stations})
    return plan_id


def cancel_plan(conn: Connection, plan_id: str, *, actor: str, now: datetime) -> None:
    """Cancel an open plan and tell the stations (a station that already started it counts
    on; its stocktake is kept when approved). Refused unless open."""
    found = next((p for p in plans(conn) if p.id == plan_id), None)
    if found is None or found.status != "open":
        raise InputError([Problem("", "该盘点计划不能取消 (不存在或已完成)",
                                  "that plan cannot be cancelled (unknown or done)")])
    conn.execute(sa.update(stocktake_plans).where(stocktake_plans.c.id == plan_id).values(
        status="cancelled", cancelled_by=actor, cancelled_at=now))
    cancelled = Plan(found.id, found.warehouse_id, found.scope, found.scope_value, found.note,
                     "cancelled", found.created_by, found.created_at, None)
    for station in stations_of_warehouse(conn, found.warehouse_id):
        enqueue_down(conn, station, "count_plan", _wire(cancelled), now=now)
    audit.record(conn, now, actor, "stocktake.plan_cancel", plan_id, {})


def plans(conn: Connection, *, limit: int = LIST_LIMIT) -> list[Plan]:
    """Plans, open ones first, newest first."""
    p = stocktake_plans.c
    return [Plan(r.id, r.warehouse_id, r.scope, r.scope_value, r.note, r.status, r.created_by,
                 r.created_at, r.stocktake_id) for r in conn.execute(
        sa.select(stocktake_plans).order_by((p.status == "open").desc(), p.created_at.desc(),
                                            p.id.desc()).limit(limit))]
