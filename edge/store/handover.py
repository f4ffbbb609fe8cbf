"""交接: handing shipped parcels to the courier at pickup (reads and writes).

A parcel is *expected* for a courier when this station shipped it (``orders.status =
'shipped'``, the label printed and the SHIP moves written) with that courier's carrier code
and it is not in any handover batch yet. Scanning its waybill puts it into the courier's
open batch (one row per scan, so a restarted kiosk resumes); closing the batch marks it
closed and queues a ``handover`` message for the cloud in the same transaction.

Every scan is classified before anything is written (:class:`Outcome`): a waybill the
station never shipped, one not shipped yet, one of another courier, one already in this
batch (a duplicate: nothing changes) or handed over in an earlier batch are refused.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from edge.errors import EdgeError
from edge.store.writer import Writer

LOOKBACK = timedelta(days=7)
"""Parcels shipped longer ago than this are no longer counted as expected (a station that
upgraded keeps its old shipments out of the list); scanned, they are still handed over."""


class HandoverError(EdgeError):
    """A handover write refused (no open batch to close)."""


class Outcome(enum.StrEnum):
    """What one scanned waybill did."""

    ADDED = "added"
    """Put into the courier's open batch."""
    DUPLICATE = "duplicate"
    """Already in this batch: nothing changes."""
    WRONG_COURIER = "wrong_courier"
    """Shipped with another courier: refused."""
    UNKNOWN = "unknown"
    """No parcel of this station has this waybill: refused."""
    NOT_SHIPPED = "not_shipped"
    """The order has not shipped (or was intercepted): refused."""
    HANDED_OVER = "handed_over"
    """Handed over in an earlier, closed batch: refused."""


@dataclass(frozen=True, slots=True)
class Parcel:
    """A shipped (or not yet shipped) parcel of this station, by its waybill."""

    order_id: str
    waybill_no: str
    carrier: str
    """Carrier code of the order's waybill."""
    status: str
    """The order's status (``shipped`` for a parcel that may be handed over)."""
    platform_order_no: str
    shipped_at: str | None


@dataclass(frozen=True, slots=True)
class ScanResult:
    """The outcome of one scan."""

    outcome: Outcome
    waybill_no: str
    parcel: Parcel | None = None
    """The parcel found (None for an unknown waybill)."""
    batch_id: str | None = None
    """The batch it went into (added), is in (duplicate) or was handed over in."""
    handed_at: str | None = None
    """When it was scanned into that batch."""


@dataclass(frozen=True, slots=True)
class CourierCount:
    """Expected and scanned parcels of one courier (the screen's table)."""

    carrier: str
    expected: int
    """Shipped here and not handed over (the open batch's parcels included)."""
    scanned: int
    """In the courier's open batch."""

    @property
    def missing(self) -> int:
        """Shipped but not (yet) scanned: 已发货未交接."""
        return self.expected - self.scanned


@dataclass(frozen=True, slots=True)
class HandedParcel:
    """A parcel scanned into a batch."""

    waybill_no: str
    order_id: str
    operator_id: str
    scanned_at: str


@dataclass(frozen=True, slots=True)
class ClosedBatch:
    """What closing a batch recorded: what the handover list prints."""

    batch_id: str
    carrier: str
    opened_at: str
    closed_at: str
    closed_by: str
    parcels: tuple[HandedParcel, ...]
    not_handed_over: tuple[str, ...]
    """Waybills of the courier shipped here but not in the batch (已发货未交接)."""
    msg_id: str

    @property
    def expected(self) -> int:
        """Parcels the courier should have taken."""
        return len(self.parcels) + len(self.not_handed_over)


def since(now: datetime) -> str:
    """The oldest ``shipped_at`` still counted as expected at ``now``."""
    return (now - LOOKBACK).isoformat()


def parcel(db: Database, waybill_no: str) -> Parcel | None:
    """This station's parcel with ``waybill_no``, or None."""
    row = db.execute(
        "SELECT order_id, waybill_no, COALESCE(carrier, ''), status, platform_order_no, shipped_at "
        "FROM orders WHERE waybill_no = ?", [waybill_no]).fetchone()
    return Parcel(*row) if row else None


def open_batch(db: Database, carrier: str) -> tuple[str, str] | None:
    """``(batch_id, opened_at)`` of the courier's open batch, or None."""
    row = db.execute("SELECT batch_id, opened_at FROM handover_batches "
                     "WHERE carrier = ? AND status = 'open'", [carrier]).fetchone()
    return (str(row[0]), str(row[1])) if row else None


def batch_parcels(db: Database, batch_id: str) -> list[HandedParcel]:
    """The batch's parcels in scan order."""
    return [HandedParcel(*r) for r in db.execute(
        "SELECT waybill_no, order_id, operator_id, scanned_at FROM handover_parcels "
        "WHERE batch_id = ? ORDER BY scanned_at, waybill_no", [batch_id]).fetchall()]


def waiting(db: Database, carrier: str, oldest: str) -> list[Parcel]:
    """The courier's parcels shipped here since ``oldest`` and in no batch: expected but
    not scanned (已发货未交接), oldest first."""
    return [Parcel(*r) for r in db.execute(
        """SELECT o.order_id, o.waybill_no, o.carrier, o.status, o.platform_order_no, o.shipped_at
           FROM orders o
           WHERE o.status = 'shipped' AND o.carrier = ? AND o.shipped_at >= ?
             AND o.waybill_no IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM handover_parcels h WHERE h.waybill_no = o.waybill_no)
           ORDER BY o.shipped_at, o.waybill_no""", [carrier, oldest]).fetchall()]


def courier_counts(db: Database, oldest: str) -> list[CourierCount]:
    """Every courier with parcels waiting or an open batch, by carrier code."""
    rows = db.execute(
        """SELECT carrier, SUM(waiting), SUM(scanned) FROM (
               SELECT o.carrier AS carrier, 1 AS waiting, 0 AS scanned FROM orders o
               WHERE o.status = 'shipped' AND o.carrier IS NOT NULL AND o.carrier <> ''
                 AND o.shipped_at >= ? AND o.waybill_no IS NOT NULL
                 AND NOT EXISTS (SELECT 1 FROM handover_parcels h
                                 WHERE h.waybill_no = o.waybill_no)
               UNION ALL
               SELECT b.carrier, 0, 1 FROM handover_batches b
               JOIN handover_parcels p USING (batch_id) WHERE b.status = 'open'
           ) GROUP BY carrier ORDER BY carrier""", [oldest]).fetchall()
    return [CourierCount(str(c), int(w) + int(s), int(s)) for c, w, s in rows]


def classify(db: Database, carrier: str, waybill_no: str) -> ScanResult:
    """What scanning ``waybill_no`` for ``carrier`` would do (reads only)."""
    found = parcel(db, waybill_no)
    if found is None:
        return ScanResult(Outcome.UNKNOWN, waybill_no)
    handed = db.execute(
        "SELECT p.batch_id, p.scanned_at, b.status, b.carrier FROM handover_parcels p "
        "JOIN handover_batches b USING (batch_id) WHERE p.waybill_no = ?", [waybill_no]).fetchone()
    if handed is not None:
        outcome = (Outcome.DUPLICATE if handed[2] == "open" and handed[3] == carrier
                   else Outcome.HANDED_OVER)
        return ScanResult(outcome, waybill_no, found, str(handed[0]), str(handed[1]))
    if found.status != "shipped":
        return ScanResult(Outcome.NOT_SHIPPED, waybill_no, found)
    if found.carrier != carrier:
        return ScanResult(Outcome.WRONG_COURIER, waybill_no, found)
    return ScanResult(Outcome.ADDED, waybill_no, found)


class HandoverWriter:
    """Handover writes on the station's single writer."""

    def __init__(self, writer: Writer) -> None:
        self.w = writer
        """The station's one writer."""

    def scan(self, carrier: str, waybill_no: str, *, operator_id: str) -> ScanResult:
        """Scan ``waybill_no`` into ``carrier``'s open batch (opened by this first parcel
        when there is none). Only an ``ADDED`` outcome writes anything."""
        with self.w.transaction() as db:
            result = classify(db, carrier, waybill_no)
            if result.outcome is not Outcome.ADDED:
                return result
            assert result.parcel is not None
            now = self.w.now()
            batch = open_batch(db, carrier)
            if batch is None:
                batch_id = self._next_batch_id(db)
                db.execute("INSERT INTO handover_batches (batch_id, carrier, opened_by, opened_at) "
                           "VALUES (?, ?, ?, ?)", [batch_id, carrier, operator_id, now])
            else:
                batch_id = batch[0]
            db.execute("INSERT INTO handover_parcels (waybill_no, batch_id, order_id, operator_id, "
                       "scanned_at) VALUES (?, ?, ?, ?, ?)",
                       [waybill_no, batch_id, result.parcel.order_id, operator_id, now])
            return ScanResult(Outcome.ADDED, waybill_no, result.parcel, batch_id, now)

    def _next_batch_id(self, db: Database) -> str:
        """``{station}-HO{n:05d}``: numbered per station, so unique in the whole system."""
        (n,) = db.execute("SELECT COUNT(*) FROM handover_batches").fetchone()
        return f"{self.w.station_id}-HO{int(n) + 1:05d}"

    def close(self, carrier: str, *, operator_id: str) -> ClosedBatch:
        """Close ``carrier``'s open batch and queue its ``handover`` message, in one
        transaction. Raises ``HandoverError`` when the courier has no open batch."""
        with self.w.transaction() as db:
            batch = open_batch(db, carrier)
            if batch is None:
                raise HandoverError(f"{carrier} 没有待交接的批次 / no open handover batch for {carrier}")
            batch_id, opened_at = batch
            now = self.w.now()
            parcels = tuple(batch_parcels(db, batch_id))
            missing = tuple(p.waybill_no for p in waiting(db, carrier, since(self.w.clock())))
            msg_id = self.w.enqueue("handover", {
                "batch_id": batch_id, "carrier": carrier, "operator_id": operator_id,
                "opened_at": opened_at, "closed_at": now,
                "parcels": [{"order_id": p.order_id, "waybill_no": p.waybill_no,
                             "scanned_at": p.scanned_at, "operator_id": p.operator_id}
                            for p in parcels],
                "not_handed_over": list(missing),
            })
            db.execute("UPDATE handover_batches SET status = 'closed', closed_by = ?, closed_at = ?, "
                       "msg_id = ? WHERE batch_id = ?", [operator_id, now, msg_id, batch_id])
            self.w.audit(operator_id, "handover.close", batch_id,
                         {"carrier": carrier, "parcels": len(parcels), "missing": len(missing)})
            return ClosedBatch(batch_id, carrier, opened_at, now, operator_id, parcels, missing,
                               msg_id)
