"""The read side of the station database: balances, history, lookups, outbox state."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from edge.domain.models import Balance, Move, MoveReason


def row_to_move(row: Sequence[Any], columns: Sequence[str]) -> Move:
    """Build a ``Move`` from a ``stock_moves`` row."""
    r = dict(zip(columns, row, strict=True))
    return Move(
        move_id=r["move_id"],
        sku=r["sku"],
        location=r["location"],
        qty_delta=r["qty_delta"],
        balance_after=r["balance_after"],
        reason=MoveReason(r["reason"]),
        source_type=r["source_type"],
        source_id=r["source_id"],
        source_line=r["source_line"],
        operator_id=r["operator_id"],
        station_id=r["station_id"],
        device_id=r["device_id"],
        occurred_at=datetime.fromisoformat(r["occurred_at"]),
        recorded_at=datetime.fromisoformat(r["recorded_at"]),
        reverses_move_id=r["reverses_move_id"],
        note=r["note"],
        warehouse_id=r["warehouse_id"],
    )


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """What the kiosk status bar shows about the link to the cloud."""

    pending: int
    oldest_created_at: datetime | None
    last_acked_at: datetime | None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    seq: int
    msg_id: str
    kind: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int


class Queries:
    """Reads over one connection (use one ``Queries`` per thread)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        """A read connection (may be the writer's, on the writer's thread)."""

    def _one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self.db.execute(sql, list(params)).fetchone()
        return row

    def balance(self, sku: str, location: str | None = None) -> int:
        """On-hand quantity of a SKU at one location, or across all locations."""
        if location is None:
            row = self._one("SELECT COALESCE(SUM(qty), 0) FROM balances WHERE sku = ?", [sku])
        else:
            row = self._one(
                "SELECT COALESCE(SUM(qty), 0) FROM balances WHERE sku = ? AND location = ?",
                [sku, location],
            )
        return int(row[0]) if row else 0

    def balances(self, sku: str | None = None, *, nonzero: bool = True) -> list[Balance]:
        sql = "SELECT sku, location, qty FROM balances"
        where, params = [], []
        if sku:
            where.append("sku = ?")
            params.append(sku)
        if nonzero:
            where.append("qty <> 0")
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY sku, location"
        return [Balance(*r) for r in self.db.execute(sql, params).fetchall()]

    def fold_moves(self) -> dict[tuple[str, str], int]:
        """Balances recomputed from the ledger (zero sums omitted), for checks."""
        rows = self.db.execute(
            "SELECT sku, location, SUM(qty_delta) FROM stock_moves GROUP BY sku, location"
        ).fetchall()
        return {(s, loc): q for s, loc, q in rows if q != 0}

    def cached_balances(self) -> dict[tuple[str, str], int]:
        rows = self.db.execute("SELECT sku, location, qty FROM balances WHERE qty <> 0").fetchall()
        return {(s, loc): q for s, loc, q in rows}

    def moves(self, sku: str | None = None, *, limit: int = 100, after_seq: int = 0) -> list[Move]:
        """Move history, newest first (or from ``after_seq`` upwards when given)."""
        cols = [c.name for c in self.db["stock_moves"].columns]
        if after_seq:
            sql = "SELECT * FROM stock_moves WHERE seq > ?" + (" AND sku = ?" if sku else "")
            sql += " ORDER BY seq LIMIT ?"
            params: list[Any] = [after_seq] + ([sku] if sku else []) + [limit]
        else:
            sql = "SELECT * FROM stock_moves" + (" WHERE sku = ?" if sku else "")
            sql += " ORDER BY seq DESC LIMIT ?"
            params = ([sku] if sku else []) + [limit]
        return [row_to_move(r, cols) for r in self.db.execute(sql, params).fetchall()]

    def move(self, move_id: str) -> Move | None:
        cols = [c.name for c in self.db["stock_moves"].columns]
        row = self._one("SELECT * FROM stock_moves WHERE move_id = ?", [move_id])
        return row_to_move(row, cols) if row else None

    def move_count(self) -> int:
        row = self._one("SELECT COUNT(*) FROM stock_moves")
        return int(row[0]) if row else 0

    def sku(self, sku: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM skus WHERE sku = ?", [sku]))
        return rows[0] if rows else None

    def lookup_barcode(self, code: str) -> tuple[str, int] | None:
        """(sku, units) for a scanned barcode; a case barcode has units > 1."""
        row = self._one("SELECT sku, units FROM barcodes WHERE barcode = ?", [code])
        return (row[0], int(row[1])) if row else None

    def kit_components(self, sku: str) -> list[tuple[str, int]]:
        """A kit's components as (SKU, units per kit), by SKU; ``[]``: not a kit."""
        return [(str(c), int(q)) for c, q in self.db.execute(
            "SELECT component_sku, qty FROM kit_components WHERE kit_sku = ?"
            " ORDER BY component_sku", [sku]).fetchall()]

    def default_location(self, sku: str) -> str | None:
        row = self._one("SELECT default_location FROM skus WHERE sku = ?", [sku])
        return row[0] if row else None

    def setting(self, key: str, default: str | None = None) -> str | None:
        row = self._one("SELECT value FROM settings WHERE key = ?", [key])
        return row[0] if row else default

    def home_warehouse(self) -> str:
        """The warehouse this station works in: the ``warehouse_id`` setting, else the first
        warehouse by id ("" before the catalog arrived)."""
        if chosen := self.setting("warehouse_id"):
            return chosen
        row = self._one("SELECT warehouse_id FROM warehouses ORDER BY warehouse_id LIMIT 1", [])
        return str(row[0]) if row else ""

    def operator_by_badge(self, badge: str) -> dict[str, Any] | None:
        rows = list(self.db.query(
            "SELECT * FROM operators WHERE badge = ? AND active = 1", [badge]))
        return rows[0] if rows else None

    def open_po_lines(self) -> list[dict[str, Any]]:
        """Lines of purchase orders open for receiving, by expected date and order."""
        return list(self.db.query(
            """SELECT p.po_id, p.supplier, p.expected_at, l.line_no, l.sku, l.qty_ordered,
                      l.qty_received
               FROM purchase_orders p JOIN purchase_order_lines l USING (po_id)
               WHERE p.status = 'open' ORDER BY p.expected_at, p.po_id, l.line_no"""))

    def open_purchase_orders(self) -> list[dict[str, Any]]:
        """Purchase orders open for receiving, with how many of their lines still wait for
        goods (``lines_open``), by expected date and order (the kiosk's list)."""
        return list(self.db.query(
            """SELECT p.po_id, p.supplier, p.expected_at, p.warehouse_id,
                      SUM(CASE WHEN l.qty_received < l.qty_ordered THEN 1 ELSE 0 END)
                          AS lines_open,
                      COUNT(l.line_no) AS lines
               FROM purchase_orders p JOIN purchase_order_lines l USING (po_id)
               WHERE p.status = 'open' GROUP BY p.po_id
               ORDER BY p.expected_at, p.po_id"""))

    def purchase_order(self, po_id: str) -> dict[str, Any] | None:
        """One purchase order's row (any status), or None."""
        rows = list(self.db.query("SELECT * FROM purchase_orders WHERE po_id = ?", [po_id]))
        return rows[0] if rows else None

    def po_lines(self, po_id: str) -> list[dict[str, Any]]:
        """The lines of a purchase order with their SKU's names and default location."""
        return list(self.db.query(
            """SELECT l.line_no, l.sku, l.qty_ordered, l.qty_received, s.name_zh, s.name_en,
                      s.default_location
               FROM purchase_order_lines l LEFT JOIN skus s USING (sku)
               WHERE l.po_id = ? ORDER BY l.line_no""", [po_id]))

    def item_barcode(self, sku: str) -> str | None:
        """The SKU's single-unit barcode (the first, by code), or None when it has none."""
        row = self._one("SELECT MIN(barcode) FROM barcodes WHERE sku = ? AND units = 1", [sku])
        return str(row[0]) if row and row[0] is not None else None

    def locations(self, warehouse_id: str | None = None) -> list[str]:
        """Location codes (of one warehouse, when given), in order."""
        sql = "SELECT code FROM locations" + (" WHERE warehouse_id = ?" if warehouse_id else "")
        return [r[0] for r in self.db.execute(sql + " ORDER BY code",
                                              [warehouse_id] if warehouse_id else []).fetchall()]

    def open_transfer_lines(self) -> list[dict[str, Any]]:
        """Lines of open transfers (to ship or to receive), by transfer and line."""
        return list(self.db.query(
            """SELECT t.transfer_id, t.from_warehouse, t.to_warehouse, l.line_no, l.sku, l.qty,
                      l.qty_shipped, l.qty_received
               FROM transfers t JOIN transfer_lines l USING (transfer_id)
               WHERE t.status = 'open' ORDER BY t.transfer_id, l.line_no"""))

    def open_transfers(self, side: str) -> list[dict[str, Any]]:
        """Open transfers this station ships (``side`` = ``from_warehouse``) or receives
        (``to_warehouse``): of its ``warehouse_id`` setting, or of every warehouse it has
        locations of when unset; with the units left to ship (``to_ship``) and in transit
        (``in_transit``), by id."""
        assert side in ("from_warehouse", "to_warehouse")
        own = self.setting("warehouse_id")
        mine = [own] if own else [r[0] for r in self.db.execute(
            "SELECT DISTINCT warehouse_id FROM locations").fetchall()]
        marks = ", ".join("?" for _ in mine) or "NULL"
        return list(self.db.query(
            f"""SELECT t.transfer_id, t.from_warehouse, t.to_warehouse, t.note,
                       SUM(l.qty - l.qty_shipped) AS to_ship,
                       SUM(l.qty_shipped - l.qty_received) - COALESCE(
                           (SELECT SUM(d.expected - d.counted) FROM transfer_discrepancies d
                            WHERE d.transfer_id = t.transfer_id AND d.counted < d.expected), 0)
                           AS in_transit
                FROM transfers t JOIN transfer_lines l USING (transfer_id)
                WHERE t.status = 'open' AND t.{side} IN ({marks})
                GROUP BY t.transfer_id ORDER BY t.transfer_id""", mine))

    def transfer(self, transfer_id: str) -> dict[str, Any] | None:
        """One transfer's row (any status), or None."""
        rows = list(self.db.query("SELECT * FROM transfers WHERE transfer_id = ?", [transfer_id]))
        return rows[0] if rows else None

    def transfer_lines(self, transfer_id: str) -> list[dict[str, Any]]:
        """A transfer's lines with SKU names and default location, what is left to ship
        (``to_ship``) and in transit (``in_transit``: shipped − received − recorded short)."""
        return list(self.db.query(
            """SELECT l.line_no, l.sku, l.qty, l.qty_shipped, l.qty_received,
                      l.qty - l.qty_shipped AS to_ship,
                      l.qty_shipped - l.qty_received - COALESCE(
                          (SELECT SUM(d.expected - d.counted) FROM transfer_discrepancies d
                           WHERE d.transfer_id = l.transfer_id AND d.line_no = l.line_no
                             AND d.counted < d.expected), 0) AS in_transit,
                      s.name_zh, s.name_en, s.default_location
               FROM transfer_lines l LEFT JOIN skus s USING (sku)
               WHERE l.transfer_id = ? ORDER BY l.line_no""", [transfer_id]))

    def operators(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM operators WHERE active = 1 ORDER BY operator_id"))

    def alerts(self, kind: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM alerts" + (" WHERE kind = ?" if kind else "") + " ORDER BY alert_id"
        return list(self.db.query(sql, [kind] if kind else []))

    def audit_log(self, action: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM audit_log" + (" WHERE action = ?" if action else "")
        return list(self.db.query(sql + " ORDER BY audit_id", [action] if action else []))

    def outbox_pending(self, limit: int = 100, *, after_seq: int = 0) -> list[OutboxRow]:
        """Unacked outbox rows in order, starting after ``after_seq``."""
        rows = self.db.execute(
            """SELECT seq, msg_id, kind, payload, created_at, attempts FROM outbox
               WHERE acked_at IS NULL AND seq > ? ORDER BY seq LIMIT ?""",
            [after_seq, limit],
        ).fetchall()
        return [
            OutboxRow(s, m, k, json.loads(p), datetime.fromisoformat(c), a)
            for s, m, k, p, c, a in rows
        ]

    def outbox_stats(self) -> OutboxStats:
        pending, oldest = self.db.execute(
            "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE acked_at IS NULL"
        ).fetchone()
        (last,) = self.db.execute(  # the partial index outbox_acked: one probe, any size
            "SELECT MAX(acked_at) FROM outbox WHERE acked_at IS NOT NULL").fetchone()
        return OutboxStats(
            pending=int(pending),
            oldest_created_at=datetime.fromisoformat(oldest) if oldest else None,
            last_acked_at=datetime.fromisoformat(last) if last else None,
        )

    def sync_state(self) -> dict[str, str]:
        """What the sync daemon last recorded about the link (``set_sync_state``)."""
        return dict(self.db.execute("SELECT key, value FROM sync_state").fetchall())
