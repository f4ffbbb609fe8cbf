"""退货入库: return parcels matched to their order and inspected item by item (reads and writes).

A return parcel is found by what is on it or in it (:func:`find`): its own tracking number
(the after-sales request the cloud sent, ``RefundWire``, carries it), the waybill of the
parcel that went out, or the order number. Only an order this station knows and has shipped
can take a return.

Each scanned item is inspected as it is scanned and written at once (``return_lines`` and,
for goods that go back to stock, one RETURN move sourced to the return), so a restarted
kiosk resumes the open return with nothing lost:

* **good** (良品) — back to stock at a location (the put-away location scanned, else the
  SKU's default location);
* **damaged** (残次) — into the damage location (the ``returns.damage_location`` setting, else
  the warehouse's first location in zone ``DMG``), still stock, kept apart;
* **wrong** (非本单) — not an item of this order (or a code the station does not know):
  recorded for the refund decision, no stock move (it is not ours to count).

An item of the order beyond the units it shipped is refused (nothing written) unless it is
recorded as wrong. Undo reverses the last item's move (a REVERSAL, the ledger is
append-only) and drops its line. Finishing queues one ``return`` message (``ReturnWire``,
msg_id = the return id) in the same transaction.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from edge.domain.models import MoveReason, MoveRequest
from edge.errors import EdgeError
from edge.store.queries import Queries
from edge.store.writer import Writer

DAMAGE_SETTING = "returns.damage_location"
"""Station setting: where damaged returns go (a location code of this warehouse)."""
DAMAGE_ZONE = "DMG"
"""Zone whose first location takes damaged returns when the setting is not set."""
SOURCE_TYPE = "return"
"""``source_type`` of RETURN moves (``source_id`` = the return id, ``source_line`` its line)."""


class ReturnRefused(EdgeError):
    """A return write refused (said to the operator; nothing written)."""


class Via(enum.StrEnum):
    """How a scanned code found the order."""

    RETURN_WAYBILL = "return_waybill"
    """The return parcel's own tracking number (from the after-sales request)."""
    WAYBILL = "waybill"
    """The waybill the order went out with."""
    ORDER_NO = "order_no"
    """The marketplace order number (or Packline order id)."""


class Outcome(enum.StrEnum):
    """What one inspected item did."""

    RESTOCKED = "restocked"
    """Good: a RETURN move put it back at a location."""
    DAMAGED = "damaged"
    """Damaged: a RETURN move put it into the damage location."""
    WRONG = "wrong"
    """Recorded as not from this order (chosen, or not in the order): no move."""
    UNKNOWN_ITEM = "unknown_item"
    """A code the station does not know: recorded as wrong, no move."""
    TOO_MANY = "too_many"
    """More units of an order SKU than it shipped (less those returned): refused."""
    NEED_LOCATION = "need_location"
    """Good, but no put-away location known: refused until one is scanned."""
    NO_DAMAGE_LOCATION = "no_damage_location"
    """Damaged, but no damage location is set: refused."""


@dataclass(frozen=True, slots=True)
class Refund:
    """An after-sales request as the cloud sent it."""

    refund_id: str
    order_id: str
    status: str
    exchange: bool
    return_waybill: str
    sku: str
    qty: int


@dataclass(frozen=True, slots=True)
class Match:
    """The order a scanned code belongs to."""

    order_id: str
    platform_order_no: str
    shop_id: str
    status: str
    """The order's status here (``shipped`` may take a return)."""
    via: Via
    refund: Refund | None
    """The after-sales request: the one carrying the scanned return waybill, else the
    order's newest pending (then any) request; None when the cloud sent none."""


@dataclass(frozen=True, slots=True)
class Line:
    """One inspected item of a return."""

    line_no: int
    sku: str | None
    code: str
    qty: int
    condition: str
    in_order: bool
    location: str | None
    move_id: str | None


@dataclass(frozen=True, slots=True)
class Inspected:
    """The outcome of one inspected scan."""

    outcome: Outcome
    code: str
    sku: str | None = None
    qty: int = 0
    line: Line | None = None
    """The line written (None when refused)."""
    left: int = 0
    """For TOO_MANY: units of the SKU the order may still take back."""


def _refund(row: Any) -> Refund:
    return Refund(str(row[0]), str(row[1]), str(row[2]), bool(row[3]), str(row[4]), str(row[5]),
                  int(row[6]))


_REFUND_COLS = "refund_id, order_id, status, exchange, return_waybill, sku, qty"


def find(db: Database, code: str) -> Match | None:
    """The order ``code`` belongs to: a return waybill, an order waybill, an order number."""
    code = code.strip()
    if not code:
        return None
    refund_row = db.execute(f"SELECT {_REFUND_COLS} FROM refunds WHERE return_waybill = ? "
                            "ORDER BY updated_at DESC LIMIT 1", [code]).fetchone()
    if refund_row is not None:
        order = _order(db, "order_id = ?", str(refund_row[1]))
        if order is not None:
            return Match(*order, via=Via.RETURN_WAYBILL, refund=_refund(refund_row))
    for where, via in (("waybill_no = ?", Via.WAYBILL),
                       ("platform_order_no = ? OR order_id = ?", Via.ORDER_NO)):
        order = _order(db, where, code)
        if order is not None:
            return Match(*order, via=via, refund=order_refund(db, order[0]))
    return None


def _order(db: Database, where: str, code: str) -> tuple[str, str, str, str] | None:
    params = [code] * where.count("?")
    row = db.execute("SELECT order_id, platform_order_no, shop_id, status FROM orders "
                     f"WHERE {where} ORDER BY ordered_at DESC LIMIT 1", params).fetchone()
    return (str(row[0]), str(row[1]), str(row[2]), str(row[3])) if row else None


def order_refund(db: Database, order_id: str) -> Refund | None:
    """The order's newest pending after-sales request, else its newest one, or None."""
    row = db.execute(f"SELECT {_REFUND_COLS} FROM refunds WHERE order_id = ? "
                     "ORDER BY status = 'pending' DESC, updated_at DESC LIMIT 1",
                     [order_id]).fetchone()
    return _refund(row) if row else None


def expected(db: Database, limit: int = 50) -> list[Refund]:
    """Return requests on their way: pending after-sales requests of shipped orders that no
    finished return answered yet, oldest first (what the bench should see arrive)."""
    return [_refund(r) for r in db.execute(
        f"SELECT {_REFUND_COLS} FROM refunds f WHERE f.status = 'pending' AND NOT EXISTS "
        "(SELECT 1 FROM returns r WHERE r.order_id = f.order_id AND r.status = 'done') "
        "ORDER BY f.updated_at, f.refund_id LIMIT ?", [limit])]


def shipped_units(db: Database, order_id: str) -> dict[str, int]:
    """Units of each SKU the order shipped (its lines)."""
    return {str(s): int(q) for s, q in db.execute(
        "SELECT sku, SUM(qty) FROM order_lines WHERE order_id = ? GROUP BY sku", [order_id])}


def returned_units(db: Database, order_id: str) -> dict[str, int]:
    """Units of each SKU of the order already taken back (good or damaged, every return)."""
    return {str(s): int(q) for s, q in db.execute(
        "SELECT l.sku, SUM(l.qty) FROM return_lines l JOIN returns r USING (return_id) "
        "WHERE r.order_id = ? AND l.in_order = 1 AND l.condition <> 'wrong' GROUP BY l.sku",
        [order_id])}


def open_return(db: Database) -> dict[str, Any] | None:
    """The return open at this station (at most one), as a row dict, or None."""
    row = db.execute("SELECT return_id, order_id, refund_id, scanned, exchange, opened_at "
                     "FROM returns WHERE status = 'open'").fetchone()
    if row is None:
        return None
    return {"return_id": row[0], "order_id": row[1], "refund_id": row[2], "scanned": row[3],
            "exchange": bool(row[4]), "opened_at": row[5]}


def lines(db: Database, return_id: str) -> list[Line]:
    """The return's inspected items in scan order."""
    return [Line(int(r[0]), r[1], str(r[2]), int(r[3]), str(r[4]), bool(r[5]), r[6], r[7])
            for r in db.execute(
                "SELECT line_no, sku, code, qty, condition, in_order, location, move_id "
                "FROM return_lines WHERE return_id = ? ORDER BY line_no", [return_id])]


def damage_location(db: Database) -> str | None:
    """Where damaged returns go: the setting, else the first location in zone ``DMG``."""
    row = db.execute("SELECT value FROM settings WHERE key = ?", [DAMAGE_SETTING]).fetchone()
    if row and row[0]:
        return str(row[0])
    row = db.execute("SELECT code FROM locations WHERE zone = ? ORDER BY code LIMIT 1",
                     [DAMAGE_ZONE]).fetchone()
    return str(row[0]) if row else None


def item(db: Database, code: str) -> tuple[str, int] | None:
    """``(sku, units)`` of a scanned item: a barcode (a case counts its units) or a SKU code
    (a printed goods label)."""
    found = Queries(db).lookup_barcode(code)
    if found is not None:
        return found
    row = db.execute("SELECT sku FROM skus WHERE sku = ?", [code]).fetchone()
    return (str(row[0]), 1) if row else None


class ReturnWriter:
    """Return writes on the station's single writer."""

    def __init__(self, writer: Writer) -> None:
        self.w = writer
        """The station's one writer."""

    def apply_refund(self, refund: dict[str, Any]) -> bool:
        """Keep an after-sales request from the cloud; an older copy than the one held
        changes nothing. Returns whether it was stored."""
        with self.w.transaction() as db:
            held = db.execute("SELECT updated_at FROM refunds WHERE refund_id = ?",
                              [refund["refund_id"]]).fetchone()
            if held is not None and str(held[0]) >= str(refund["updated_at"]):
                return False
            db.table("refunds").upsert(refund, pk="refund_id")
            return True

    def open(self, match: Match, scanned: str, *, operator_id: str) -> str:
        """Open a return for the matched order; returns its id. Refused: another return
        still open, or an order not shipped here."""
        if match.status != "shipped":
            raise ReturnRefused(f"订单 {match.platform_order_no} 未从本站发货，不能退货入库 / "
                                f"order {match.platform_order_no} was not shipped here")
        with self.w.transaction() as db:
            if open_return(db) is not None:
                raise ReturnRefused("还有一个退货未完成 / another return is still open")
            (n,) = db.execute("SELECT COUNT(*) FROM returns").fetchone()
            return_id = f"{self.w.station_id}-RT{int(n) + 1:05d}"
            refund = match.refund
            db.execute(
                "INSERT INTO returns (return_id, order_id, refund_id, scanned, exchange, "
                "opened_by, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [return_id, match.order_id, refund.refund_id if refund else None, scanned,
                 int(bool(refund and refund.exchange)), operator_id, self.w.now()])
            return return_id

    def inspect(self, return_id: str, code: str, condition: str, *, operator_id: str,
                location: str | None = None) -> Inspected:
        """Inspect one scanned item of the open return as ``condition`` (good, damaged,
        wrong). See the module docstring for what each writes and what is refused."""
        if condition not in ("good", "damaged", "wrong"):
            raise ValueError(f"not a return condition: {condition!r}")
        code = code.strip()
        with self.w.transaction() as db:
            ret = open_return(db)
            if ret is None or ret["return_id"] != return_id:
                raise ReturnRefused(f"退货 {return_id} 未打开 / return {return_id} is not open")
            found = item(db, code)
            if found is None:
                line = self._line(db, return_id, None, code, 1, "wrong", False, None, None,
                                  operator_id)
                return Inspected(Outcome.UNKNOWN_ITEM, code, None, 1, line)
            sku, units = found
            shipped = shipped_units(db, ret["order_id"])
            if sku not in shipped or condition == "wrong":
                line = self._line(db, return_id, sku, code, units, "wrong", sku in shipped, None,
                                  None, operator_id)
                return Inspected(Outcome.WRONG, code, sku, units, line)
            left = shipped[sku] - returned_units(db, ret["order_id"]).get(sku, 0)
            if units > left:
                return Inspected(Outcome.TOO_MANY, code, sku, units, left=left)
            where = (damage_location(db) if condition == "damaged"
                     else location or self._default_location(db, sku))
            if where is None:
                outcome = (Outcome.NO_DAMAGE_LOCATION if condition == "damaged"
                           else Outcome.NEED_LOCATION)
                return Inspected(outcome, code, sku, units)
            line_no = self._next_line(db, return_id)
            move = self.w.record_move(MoveRequest(
                sku=sku, location=where, qty_delta=units, reason=MoveReason.RETURN,
                source_type=SOURCE_TYPE, source_id=return_id, source_line=str(line_no),
                operator_id=operator_id,
                note="残次 / damaged" if condition == "damaged" else None))
            line = self._line(db, return_id, sku, code, units, condition, True, where,
                              move.move_id, operator_id, line_no=line_no)
            return Inspected(Outcome.DAMAGED if condition == "damaged" else Outcome.RESTOCKED,
                             code, sku, units, line)

    @staticmethod
    def _default_location(db: Database, sku: str) -> str | None:
        row = db.execute("SELECT default_location FROM skus WHERE sku = ?", [sku]).fetchone()
        return str(row[0]) if row and row[0] else None

    @staticmethod
    def _next_line(db: Database, return_id: str) -> int:
        (n,) = db.execute("SELECT COALESCE(MAX(line_no), 0) FROM return_lines WHERE return_id = ?",
                          [return_id]).fetchone()
        return int(n) + 1

    def _line(self, db: Database, return_id: str, sku: str | None, code: str, qty: int,
              condition: str, in_order: bool, location: str | None, move_id: str | None,
              operator_id: str, *, line_no: int | None = None) -> Line:
        line_no = line_no or self._next_line(db, return_id)
        db.execute("INSERT INTO return_lines (return_id, line_no, sku, code, qty, condition, "
                   "in_order, location, move_id, operator_id, at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [return_id, line_no, sku, code, qty, condition, int(in_order), location,
                    move_id, operator_id, self.w.now()])
        return Line(line_no, sku, code, qty, condition, in_order, location, move_id)

    def undo_last(self, return_id: str, *, operator_id: str) -> Line | None:
        """Take back the open return's last item: its move reversed, its line dropped.
        None when the return has no items."""
        with self.w.transaction() as db:
            ret = open_return(db)
            if ret is None or ret["return_id"] != return_id:
                raise ReturnRefused(f"退货 {return_id} 未打开 / return {return_id} is not open")
            got = lines(db, return_id)
            if not got:
                return None
            last = got[-1]
            if last.move_id is not None:
                self.w.reverse_move(last.move_id, operator_id=operator_id,
                                    note=f"撤销退货验收 / undo return {return_id}")
            db.execute("DELETE FROM return_lines WHERE return_id = ? AND line_no = ?",
                       [return_id, last.line_no])
            return last

    def set_exchange(self, return_id: str, exchange: bool) -> None:
        """Mark the open return as an exchange (换货) or not."""
        with self.w.transaction() as db:
            db.execute("UPDATE returns SET exchange = ? WHERE return_id = ? AND status = 'open'",
                       [int(exchange), return_id])

    def abandon(self, return_id: str) -> None:
        """Drop an open return with no items (nothing was written for it). Refused once
        an item was inspected: finish it, or undo its items first."""
        with self.w.transaction() as db:
            if lines(db, return_id):
                raise ReturnRefused("已有验收商品，请先撤销或完成 / items inspected: undo them "
                                    "or finish")
            db.execute("DELETE FROM returns WHERE return_id = ? AND status = 'open'", [return_id])

    def finish(self, return_id: str, *, operator_id: str, warehouse_id: str,
               note: str = "") -> str:
        """Close the open return and queue its ``return`` message (msg_id = the return id)
        in the same transaction. Refused with no items inspected. Returns the msg_id."""
        with self.w.transaction() as db:
            ret = open_return(db)
            if ret is None or ret["return_id"] != return_id:
                raise ReturnRefused(f"退货 {return_id} 未打开 / return {return_id} is not open")
            got = lines(db, return_id)
            if not got:
                raise ReturnRefused("还没有验收任何商品 / no item inspected yet")
            now = self.w.now()
            shop = db.execute("SELECT shop_id FROM orders WHERE order_id = ?",
                              [ret["order_id"]]).fetchone()
            msg_id = self.w.enqueue("return", {
                "return_id": return_id, "warehouse_id": warehouse_id,
                "order_id": ret["order_id"], "shop_id": str(shop[0]) if shop else "",
                "refund_id": ret["refund_id"], "scanned": ret["scanned"],
                "exchange": ret["exchange"], "note": note[:200], "operator_id": operator_id,
                "at": now,
                "lines": [{"sku": ln.sku, "code": ln.code, "qty": ln.qty,
                           "condition": ln.condition, "in_order": ln.in_order,
                           "location": ln.location, "move_id": ln.move_id} for ln in got],
            }, msg_id=return_id)
            db.execute("UPDATE returns SET status = 'done', note = ?, closed_by = ?, "
                       "closed_at = ? WHERE return_id = ?",
                       [note[:200], operator_id, now, return_id])
            self.w.audit(operator_id, "return.finish", return_id, {
                "order_id": ret["order_id"], "items": sum(ln.qty for ln in got),
                "wrong": sum(ln.qty for ln in got if ln.condition == "wrong"),
                "exchange": ret["exchange"]})
            return msg_id
