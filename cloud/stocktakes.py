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

from cloud.db.schema import station_stocktake_lines, station_stocktakes
from edge.sync.schema import Envelope, StocktakeWire

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
