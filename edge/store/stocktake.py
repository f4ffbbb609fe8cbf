"""Stocktake (盘点) reads and writes on the station database (rules: ``edge.domain.stocktake``).

Every write goes through the single ``Writer`` in one transaction: a location's count
records its rows with the ledger position and book figures read in the same transaction
(so nothing can slip between them); approval writes every COUNT_ADJUST move (each with its
``move`` outbox row), the ``stocktake`` summary outbox row, the status and the audit entry
together, so a refused adjustment leaves the stocktake open and nothing written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from edge.domain.models import Move, MoveReason, MoveRequest
from edge.domain.stocktake import (
    FIRST_ROUND,
    RECOUNT_ROUND,
    SOURCE_TYPE,
    CountLine,
    Scope,
    adjustments,
    final_lines,
    in_scope,
    needs_recount,
)
from edge.errors import LedgerError
from edge.store import Writer


class StocktakeRefused(LedgerError):
    """A stocktake action that cannot be done (nothing was written)."""


@dataclass(frozen=True, slots=True)
class RoundResult:
    """What recording one location's count answered."""

    location: str
    round: int
    """1, or 2 for the recount."""
    needs_recount: bool
    """True when the kiosk must ask for a recount of this location."""
    lines: int
    """How many SKU lines the round holds (counted or expected there)."""


def open_stocktake(db: Database) -> dict[str, Any] | None:
    """The station's open stocktake (its row), or None."""
    rows = list(db.query("SELECT * FROM stocktakes WHERE status = 'open' "
                         "ORDER BY started_at DESC LIMIT 1"))
    return rows[0] if rows else None


def stocktake(db: Database, stocktake_id: str) -> dict[str, Any] | None:
    """One stocktake's row, or None."""
    rows = list(db.query("SELECT * FROM stocktakes WHERE stocktake_id = ?", [stocktake_id]))
    return rows[0] if rows else None


def open_plans(db: Database, warehouse_id: str) -> list[dict[str, Any]]:
    """The warehouse's stocktakes planned in the cloud and not started or cancelled,
    oldest first."""
    return list(db.query("SELECT * FROM stocktake_plans WHERE warehouse_id = ? AND "
                         "status = 'open' ORDER BY created_at, plan_id", [warehouse_id]))


def count_lines(db: Database, stocktake_id: str) -> list[CountLine]:
    """Every line of every round of a stocktake, by location, round and SKU."""
    return [CountLine(r[0], r[1], int(r[2]), int(r[3]), int(r[4])) for r in db.execute(
        "SELECT location, sku, round, counted, expected FROM stocktake_lines "
        "WHERE stocktake_id = ? ORDER BY location, round, sku", [stocktake_id]).fetchall()]


def rounds(db: Database, stocktake_id: str) -> dict[str, tuple[int, bool]]:
    """location → (last round counted, that round asks for a recount)."""
    out: dict[str, tuple[int, bool]] = {}
    for location, rnd, recount in db.execute(
            "SELECT location, round, needs_recount FROM stocktake_rounds WHERE stocktake_id = ? "
            "ORDER BY location, round", [stocktake_id]).fetchall():
        out[location] = (int(rnd), bool(recount))
    return out


def scope_locations(db: Database, row: Mapping[str, Any]) -> list[str]:
    """The locations a stocktake expects to be counted: the warehouse's locations (of the
    zone), or for one SKU the locations holding it or its default location."""
    scope, value = Scope(row["scope"]), str(row["scope_value"])
    codes = [r[0] for r in db.execute("SELECT code FROM locations WHERE warehouse_id = ? "
                                      "ORDER BY code", [row["warehouse_id"]]).fetchall()]
    if scope is Scope.ZONE:
        return [c for c in codes if c.startswith(value)]
    if scope is Scope.SKU:
        held = {r[0] for r in db.execute(
            "SELECT location FROM balances WHERE sku = ? AND qty <> 0 UNION "
            "SELECT default_location FROM skus WHERE sku = ? AND default_location IS NOT NULL",
            [value, value]).fetchall()}
        return [c for c in codes if c in held]
    return codes


class StocktakeWriter:
    """Stocktake writes on the single writer (called from the kiosk's worker threads)."""

    def __init__(self, writer: Writer) -> None:
        self.w = writer
        """The station's one writer."""

    def apply_plan(self, plan: dict[str, Any]) -> str:
        """Keep a stocktake planned in the cloud; a cancellation closes an open plan (a plan
        already started here stays started: its count goes on). Returns the plan's status."""
        with self.w.transaction() as db:
            held = db.execute("SELECT status FROM stocktake_plans WHERE plan_id = ?",
                              [plan["plan_id"]]).fetchone()
            if held is not None and held[0] == "started":
                return "started"
            db.table("stocktake_plans").upsert(plan, pk="plan_id")
            return str(plan["status"])

    def start(self, *, warehouse_id: str, scope: Scope, scope_value: str = "",
              operator_id: str, plan_id: str | None = None) -> str:
        """Open a stocktake and record its snapshot position (the last ledger ``seq``).
        Refused: another stocktake open at this station, an unknown warehouse, a zone with
        no location, an unknown SKU. Returns the new stocktake id,
        ``PD-{station}-{yyyymmdd}-{n}`` (the n-th started here that day): unique across
        stations, which is what the cloud's report and the moves' ``source_id`` need."""
        value = scope_value.strip() if scope is not Scope.FULL else ""
        with self.w.transaction() as db:
            if open_stocktake(db) is not None:
                raise StocktakeRefused("已有进行中的盘点 / a stocktake is already open")
            if plan_id is not None:
                plan = db.execute("SELECT status, warehouse_id, scope, scope_value FROM "
                                  "stocktake_plans WHERE plan_id = ?", [plan_id]).fetchone()
                if plan is None or plan[0] != "open":
                    raise StocktakeRefused(f"盘点计划 {plan_id} 不可开始 / plan {plan_id} is not "
                                           "open")
                warehouse_id, scope, value = str(plan[1]), Scope(plan[2]), str(plan[3])
            if db.execute("SELECT 1 FROM warehouses WHERE warehouse_id = ?",
                          [warehouse_id]).fetchone() is None:
                raise StocktakeRefused(f"未知仓库 / unknown warehouse: {warehouse_id}")
            if scope is Scope.ZONE and not db.execute(
                    "SELECT 1 FROM locations WHERE warehouse_id = ? AND code LIKE ? || '%'",
                    [warehouse_id, value]).fetchone():
                raise StocktakeRefused(f"没有以 {value} 开头的库位 / no location starts with {value!r}")
            if scope is Scope.SKU and not db.execute("SELECT 1 FROM skus WHERE sku = ?",
                                                     [value]).fetchone():
                raise StocktakeRefused(f"未知商品 / unknown SKU: {value}")
            day = self.w.now()[:10].replace("-", "")
            prefix = f"PD-{self.w.station_id}-{day}-"
            started = int(db.execute("SELECT COUNT(*) FROM stocktakes WHERE stocktake_id LIKE ? "
                                     "|| '%'", [prefix]).fetchone()[0])
            stocktake_id = f"{prefix}{started + 1}"
            snapshot = int(db.execute("SELECT COALESCE(MAX(seq), 0) FROM stock_moves").fetchone()[0])
            db.execute(
                """INSERT INTO stocktakes (stocktake_id, warehouse_id, scope, scope_value,
                       snapshot_seq, started_by, started_at, plan_id)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                [stocktake_id, warehouse_id, str(scope), value, snapshot, operator_id,
                 self.w.now(), plan_id])
            if plan_id is not None:
                db.execute("UPDATE stocktake_plans SET status = 'started', stocktake_id = ? "
                           "WHERE plan_id = ?", [stocktake_id, plan_id])
            self.w.audit(operator_id, "stocktake.start", stocktake_id,
                         {"scope": str(scope), "value": value, "snapshot_seq": snapshot,
                          **({"plan_id": plan_id} if plan_id else {})})
            return stocktake_id

    def record_count(self, stocktake_id: str, location: str, counts: Mapping[str, int], *,
                     operator_id: str) -> RoundResult:
        """Record one location's blind count (SKU → units; SKUs expected there but not
        counted count 0). The first count is round 1; a location asked for a recount takes
        round 2, which replaces round 1 for the adjustment (both are kept). Refused: the
        stocktake is not open, the location is outside it, a SKU outside a one-SKU count,
        a negative quantity, a location already counted (and not asked for a recount)."""
        with self.w.transaction() as db:
            row = stocktake(db, stocktake_id)
            if row is None or row["status"] != "open":
                raise StocktakeRefused(f"盘点 {stocktake_id} 不在进行中 / stocktake "
                                       f"{stocktake_id} is not open")
            scope, value = Scope(row["scope"]), str(row["scope_value"])
            loc = db.execute("SELECT warehouse_id FROM locations WHERE code = ?",
                             [location]).fetchone()
            if loc is None or loc[0] != row["warehouse_id"] or (
                    scope is Scope.ZONE and not location.startswith(value)):
                raise StocktakeRefused(f"库位 {location} 不在本次盘点范围 / location {location} "
                                       "is not in this stocktake")
            for sku, qty in counts.items():
                if qty < 0:
                    raise StocktakeRefused(f"数量不能为负 / a count cannot be negative: {sku}")
                if not in_scope(scope, value, sku=sku, location=location):
                    raise StocktakeRefused(f"{sku} 不在本次盘点范围 / {sku} is not in this stocktake")
            done = rounds(db, stocktake_id).get(location)
            if done is None:
                rnd = FIRST_ROUND
            elif done == (FIRST_ROUND, True):
                rnd = RECOUNT_ROUND
            else:
                raise StocktakeRefused(f"库位 {location} 已盘 / location {location} is already "
                                       "counted")
            seq = int(db.execute("SELECT COALESCE(MAX(seq), 0) FROM stock_moves").fetchone()[0])
            book = {sku: int(qty) for sku, qty in db.execute(
                "SELECT sku, qty FROM balances WHERE location = ? AND qty <> 0",
                [location]).fetchall() if in_scope(scope, value, sku=sku, location=location)}
            lines = [CountLine(location, sku, rnd, int(counts.get(sku, 0)), book.get(sku, 0))
                     for sku in sorted(set(book) | {s for s, q in counts.items() if q > 0})]
            recount = rnd == FIRST_ROUND and any(needs_recount(ln.counted, ln.expected)
                                                 for ln in lines)
            db.execute(
                """INSERT INTO stocktake_rounds (stocktake_id, location, round, ledger_seq,
                       counted_by, counted_at, needs_recount) VALUES (?, ?, ?, ?, ?, ?, ?)""",
                [stocktake_id, location, rnd, seq, operator_id, self.w.now(), int(recount)])
            db.conn.executemany(
                """INSERT INTO stocktake_lines (stocktake_id, location, round, sku, counted,
                       expected) VALUES (?, ?, ?, ?, ?, ?)""",
                [(stocktake_id, location, rnd, ln.sku, ln.counted, ln.expected) for ln in lines])
            return RoundResult(location, rnd, recount, len(lines))

    def approve(self, stocktake_id: str, *, operator_id: str) -> list[Move]:
        """Approve: each final line's variance becomes one COUNT_ADJUST move (source
        ``stocktake`` / id / location, operator the approving lead), and a ``stocktake``
        summary message is queued for the cloud — all in one transaction. Refused: not open,
        nothing counted, a location still waiting for its recount."""
        with self.w.transaction() as db:
            row = stocktake(db, stocktake_id)
            if row is None or row["status"] != "open":
                raise StocktakeRefused(f"盘点 {stocktake_id} 不在进行中 / stocktake "
                                       f"{stocktake_id} is not open")
            waiting = sorted(loc for loc, (rnd, recount) in rounds(db, stocktake_id).items()
                             if recount and rnd == FIRST_ROUND)
            if waiting:
                raise StocktakeRefused(f"库位 {', '.join(waiting)} 待复盘 / waiting for a "
                                       f"recount: {', '.join(waiting)}")
            lines = count_lines(db, stocktake_id)
            if not lines and not rounds(db, stocktake_id):
                raise StocktakeRefused("还没有盘点任何库位 / no location counted yet")
            moves = self.w.record_moves([MoveRequest(
                sku=ln.sku, location=ln.location, qty_delta=ln.variance,
                reason=MoveReason.COUNT_ADJUST, source_type=SOURCE_TYPE, source_id=stocktake_id,
                source_line=ln.location, operator_id=operator_id,
                note=f"盘点 {ln.counted} / 账面 {ln.expected}") for ln in adjustments(lines)])
            made = {(m.location, m.sku): m.move_id for m in moves}
            final = {(ln.location, ln.sku, ln.round) for ln in final_lines(lines)}
            now = self.w.now()
            db.execute("UPDATE stocktakes SET status = 'approved', approved_by = ?, "
                       "approved_at = ? WHERE stocktake_id = ?", [operator_id, now, stocktake_id])
            self.w.enqueue("stocktake", {
                "stocktake_id": stocktake_id, "warehouse_id": row["warehouse_id"],
                "scope": row["scope"], "scope_value": row["scope_value"],
                "snapshot_seq": row["snapshot_seq"], "started_by": row["started_by"],
                "started_at": row["started_at"], "approved_by": operator_id, "approved_at": now,
                "plan_id": row.get("plan_id"),
                "lines": [{"location": ln.location, "sku": ln.sku, "round": ln.round,
                           "counted": ln.counted, "expected": ln.expected,
                           "final": (ln.location, ln.sku, ln.round) in final,
                           "move_id": made.get((ln.location, ln.sku))
                           if (ln.location, ln.sku, ln.round) in final else None}
                          for ln in lines]})
            self.w.audit(operator_id, "stocktake.approve", stocktake_id,
                         {"moves": len(moves), "lines": len(lines)})
            return moves

    def cancel(self, stocktake_id: str, *, operator_id: str) -> None:
        """Cancel an open stocktake: its counts stay, no move is written."""
        with self.w.transaction() as db:
            cur = db.execute("UPDATE stocktakes SET status = 'cancelled' WHERE stocktake_id = ? "
                             "AND status = 'open'", [stocktake_id])
            if cur.rowcount != 1:
                raise StocktakeRefused(f"盘点 {stocktake_id} 不在进行中 / stocktake "
                                       f"{stocktake_id} is not open")
            self.w.audit(operator_id, "stocktake.cancel", stocktake_id, {})

