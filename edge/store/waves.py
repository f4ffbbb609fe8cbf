"""波次拣货 / 播种: picking waves at the station (reads and writes).

A wave arrives from the cloud (``WaveWire``, applied by the inbox: :meth:`WaveWriter.apply`)
naming orders the station already holds as pack tasks. Picking it:

1. :meth:`WaveWriter.start` writes the pick list once (``edge.domain.waves.pick_list``: the
   units the wave's orders need, summed per SKU, at the locations the station's ledger holds
   them, in walking order);
2. each scanned item adds to its line (:meth:`WaveWriter.pick`, written per scan so a
   restarted kiosk resumes); the picker may close a line short (:meth:`WaveWriter.short`);
3. :meth:`WaveWriter.finish`, when every line is done, works out the orders left short
   (``edge.domain.waves.short_orders``, in slot order), intercepts them here (拣货缺货: the
   pack screen refuses them), and queues the ``wave_pick`` message (msg_id derived from the
   wave id) — all in one transaction.

A multi-item wave then goes to the put wall (:meth:`WaveWriter.put`): each scanned item goes
to the first slot (by number) whose order still needs it; a slot whose order has everything
is full — the order is ``ready`` to pack and a ``wave_put`` message is queued.

Picking and putting write **no stock move**: the goods stay on the books at their locations
until packing ships each order (its SHIP moves), as before waves existed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from edge.domain.waves import needs_of, pick_list, short_orders
from edge.errors import EdgeError
from edge.store.writer import Writer
from edge.sync.schema import (
    WavePickLineWire,
    WavePickWire,
    WavePutWire,
    WaveWire,
    wave_pick_msg_id,
    wave_put_msg_id,
)

SHORT_REASON = "拣货缺货 / short pick"
"""The intercept reason of an order a short pick left without its goods."""
PICKABLE = ("waiting", "packing")
"""Order statuses a wave picks for (not shipped, intercepted or cancelled)."""


class WaveError(EdgeError):
    """A wave write refused (unknown wave, not open, lines not done)."""


class PickOutcome(enum.StrEnum):
    """What one scanned item did on the pick list."""

    PICKED = "picked"
    """Added to its line."""
    LINE_DONE = "line_done"
    """Added, and the line has every unit it wants."""
    NOT_HERE = "not_here"
    """No open line of this SKU at the current location: nothing written."""
    OVER = "over"
    """More units than the line still wants: nothing written."""


@dataclass(frozen=True, slots=True)
class StoredLine:
    """A pick list line as stored."""

    seq: int
    location: str
    sku: str
    wanted: int
    picked: int
    done: bool


@dataclass(frozen=True, slots=True)
class Member:
    """An order of a wave, with what it needs and what has been put into its slot."""

    order_id: str
    slot: int
    status: str
    """``waiting``, ``short`` or ``ready`` (in the wave)."""
    order_status: str | None
    """The order's own status here (None: its task has not arrived)."""
    platform_order_no: str
    need: dict[str, int] = field(default_factory=dict)
    put: dict[str, int] = field(default_factory=dict)

    @property
    def full(self) -> bool:
        """Every unit it needs is in its slot."""
        return all(self.put.get(sku, 0) >= n for sku, n in self.need.items())


@dataclass(frozen=True, slots=True)
class PutResult:
    """Where one scanned item goes on the put wall (None: no slot needs it)."""

    member: Member | None
    units: int
    full: bool = False
    """Its slot is now full: the order is ready to pack."""


def waves_to_work(db: Database) -> list[dict[str, Any]]:
    """Waves to pick (``open``) and multi-item waves picked with slots not yet full, oldest
    first: id, kind, carrier, status, orders, units."""
    return list(db.query(
        """SELECT w.wave_id, w.kind, w.carrier, w.status, w.created_at,
                  COUNT(DISTINCT m.order_id) AS orders,
                  COALESCE((SELECT SUM(l.qty) FROM wave_orders m2
                            JOIN order_lines l ON l.order_id = m2.order_id
                            WHERE m2.wave_id = w.wave_id), 0) AS units
           FROM waves w JOIN wave_orders m ON m.wave_id = w.wave_id
           WHERE w.status = 'open' OR (w.status = 'picked' AND w.kind = 'multi'
                 AND EXISTS (SELECT 1 FROM wave_orders x WHERE x.wave_id = w.wave_id
                             AND x.status = 'waiting'))
           GROUP BY w.wave_id ORDER BY w.created_at, w.wave_id"""))


def wave_row(db: Database, wave_id: str) -> dict[str, Any] | None:
    """One wave's row, or None."""
    rows = list(db.query("SELECT * FROM waves WHERE wave_id = ?", [wave_id]))
    return rows[0] if rows else None


def members(db: Database, wave_id: str) -> list[Member]:
    """The wave's orders in slot order, with needs (SKU → units) and units put."""
    found = []
    for r in db.query(
            """SELECT m.order_id, m.slot, m.status, o.status AS order_status,
                      COALESCE(o.platform_order_no, m.order_id) AS platform_order_no
               FROM wave_orders m LEFT JOIN orders o USING (order_id)
               WHERE m.wave_id = ? ORDER BY m.slot, m.order_id""", [wave_id]):
        need = needs_of((r["order_id"], sku, int(qty)) for sku, qty in db.execute(
            "SELECT sku, qty FROM order_lines WHERE order_id = ? ORDER BY line_no",
            [r["order_id"]]).fetchall())
        put = {sku: int(qty) for sku, qty in db.execute(
            "SELECT sku, qty FROM wave_puts WHERE wave_id = ? AND order_id = ?",
            [wave_id, r["order_id"]]).fetchall()}
        found.append(Member(r["order_id"], int(r["slot"]), r["status"], r["order_status"],
                            r["platform_order_no"], need, put))
    return found


def lines(db: Database, wave_id: str) -> list[StoredLine]:
    """The wave's pick list as stored, in walking order."""
    return [StoredLine(int(r[0]), r[1], r[2], int(r[3]), int(r[4]), bool(r[5]))
            for r in db.execute(
                "SELECT seq, location, sku, wanted, picked, done FROM wave_pick_lines "
                "WHERE wave_id = ? ORDER BY seq", [wave_id]).fetchall()]


class WaveWriter:
    """Wave writes on the station's single writer."""

    def __init__(self, writer: Writer) -> None:
        self.w = writer
        """The station's one writer."""

    def apply(self, wire: WaveWire) -> None:
        """Store a wave the cloud sent (inside the inbox's transaction). A wave seen before
        keeps its orders; ``cancelled`` cancels it unless it was picked already."""
        db = self.w.db
        with self.w.transaction():
            row = wave_row(db, wire.wave_id)
            if row is None:
                db.execute(
                    """INSERT INTO waves (wave_id, warehouse_id, kind, carrier, status,
                           created_at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)""",
                    [wire.wave_id, wire.warehouse_id, wire.kind, wire.carrier, wire.status,
                     wire.created_at.isoformat(), self.w.now()])
                db.conn.executemany(
                    "INSERT INTO wave_orders (wave_id, order_id, slot) VALUES (?, ?, ?)",
                    [(wire.wave_id, o.order_id, o.slot) for o in wire.orders])
            elif wire.status == "cancelled" and row["status"] == "open":
                db.execute("UPDATE waves SET status = 'cancelled' WHERE wave_id = ?",
                           [wire.wave_id])

    def _open(self, db: Database, wave_id: str) -> dict[str, Any]:
        row = wave_row(db, wave_id)
        if row is None or row["status"] != "open":
            raise WaveError(f"波次 {wave_id} 不在待拣货状态 / wave {wave_id} is not open")
        return row

    def start(self, wave_id: str) -> list[StoredLine]:
        """The wave's pick list, written the first time (module doc)."""
        db = self.w.db
        with self.w.transaction():
            row = self._open(db, wave_id)
            have = lines(db, wave_id)
            if have:
                return have
            marks = ", ".join("?" for _ in PICKABLE)
            need = needs_of(tuple(r) for r in db.execute(
                f"""SELECT l.order_id, l.sku, l.qty FROM wave_orders m
                    JOIN orders o USING (order_id) JOIN order_lines l USING (order_id)
                    WHERE m.wave_id = ? AND o.status IN ({marks})""",
                [wave_id, *PICKABLE]).fetchall())
            stock: dict[str, list[tuple[str, int]]] = {}
            for sku, loc, qty in db.execute(
                    """SELECT b.sku, b.location, b.qty FROM balances b
                       JOIN locations l ON l.code = b.location
                       WHERE l.warehouse_id = ? AND b.qty > 0""",
                    [row["warehouse_id"]]).fetchall():
                stock.setdefault(sku, []).append((loc, int(qty)))
            defaults = {sku: loc for sku, loc in db.execute(
                "SELECT sku, default_location FROM skus").fetchall()}
            made = pick_list(need, stock, defaults)
            db.conn.executemany(
                """INSERT INTO wave_pick_lines (wave_id, seq, location, sku, wanted)
                   VALUES (?, ?, ?, ?, ?)""",
                [(wave_id, i, ln.location, ln.sku, ln.wanted) for i, ln in enumerate(made, 1)])
            return lines(db, wave_id)

    def pick(self, wave_id: str, location: str, sku: str,
             units: int) -> tuple[PickOutcome, StoredLine | None]:
        """``units`` of ``sku`` taken at ``location``: added to its open line there."""
        db = self.w.db
        with self.w.transaction():
            self._open(db, wave_id)
            line = next((ln for ln in lines(db, wave_id) if ln.location == location
                         and ln.sku == sku and not ln.done), None)
            if line is None:
                return PickOutcome.NOT_HERE, None
            if line.picked + units > line.wanted:
                return PickOutcome.OVER, line
            done = line.picked + units == line.wanted
            db.execute("UPDATE wave_pick_lines SET picked = picked + ?, done = ? "
                       "WHERE wave_id = ? AND seq = ?", [units, int(done), wave_id, line.seq])
            return (PickOutcome.LINE_DONE if done else PickOutcome.PICKED,
                    lines(db, wave_id)[line.seq - 1])

    def short(self, wave_id: str, seq: int, *, operator_id: str) -> StoredLine:
        """Close line ``seq`` with what was picked (fewer units than wanted): no lead needed;
        audited."""
        db = self.w.db
        with self.w.transaction():
            self._open(db, wave_id)
            line = next((ln for ln in lines(db, wave_id) if ln.seq == seq), None)
            if line is None or line.done:
                raise WaveError(f"第 {seq} 行已完成 / line {seq} is done")
            db.execute("UPDATE wave_pick_lines SET done = 1 WHERE wave_id = ? AND seq = ?",
                       [wave_id, seq])
            self.w.audit(operator_id, "wave.short_line", wave_id,
                         {"location": line.location, "sku": line.sku, "wanted": line.wanted,
                          "picked": line.picked})
            return lines(db, wave_id)[seq - 1]

    def finish(self, wave_id: str, *, operator_id: str) -> WavePickWire:
        """End the pick (every line done): orders left short are intercepted here and the
        ``wave_pick`` message queued, in one transaction (module doc). Returns the message."""
        db = self.w.db
        with self.w.transaction():
            row = self._open(db, wave_id)
            got = lines(db, wave_id)
            if any(not ln.done for ln in got):
                raise WaveError(f"波次 {wave_id} 还有未拣完的行 / wave {wave_id} has lines "
                                "not picked")
            picked: dict[str, int] = {}
            for ln in got:
                picked[ln.sku] = picked.get(ln.sku, 0) + ln.picked
            live = [m for m in members(db, wave_id) if m.order_status in PICKABLE]
            short = short_orders([(m.order_id, m.need) for m in live], picked)
            now = self.w.now()
            for order_id in short:
                db.execute("UPDATE wave_orders SET status = 'short' WHERE wave_id = ? "
                           "AND order_id = ?", [wave_id, order_id])
                self.w.intercept_order(order_id, SHORT_REASON)
            if row["kind"] == "single":
                db.execute("UPDATE wave_orders SET status = 'ready' WHERE wave_id = ? "
                           "AND status = 'waiting'", [wave_id])
            db.execute("UPDATE waves SET status = 'picked', picked_by = ?, picked_at = ? "
                       "WHERE wave_id = ?", [operator_id, now, wave_id])
            wire = WavePickWire(
                wave_id=wave_id, operator_id=operator_id, at=datetime.fromisoformat(now),
                lines=[WavePickLineWire(location=ln.location, sku=ln.sku, wanted=ln.wanted,
                                        picked=ln.picked) for ln in got],
                short_orders=short)
            self.w.enqueue("wave_pick", wire.model_dump(mode="json"),
                           msg_id=wave_pick_msg_id(wave_id))
            self.w.audit(operator_id, "wave.picked", wave_id, {"short_orders": short})
            return wire

    def put(self, wave_id: str, sku: str, units: int, *, operator_id: str) -> PutResult:
        """Put ``units`` of ``sku`` into the first slot whose order still needs them (all of
        them: a case of more units than the slot needs is refused, ``member`` None). A slot
        made full makes its order ``ready`` and queues a ``wave_put`` message."""
        db = self.w.db
        with self.w.transaction():
            row = wave_row(db, wave_id)
            if row is None or row["status"] != "picked" or row["kind"] != "multi":
                raise WaveError(f"波次 {wave_id} 不在播种状态 / wave {wave_id} is not at the "
                                "put wall")
            target = next((m for m in members(db, wave_id) if m.status == "waiting"
                           and m.need.get(sku, 0) - m.put.get(sku, 0) >= units), None)
            if target is None:
                return PutResult(None, units)
            db.execute(
                """INSERT INTO wave_puts (wave_id, order_id, sku, qty) VALUES (?, ?, ?, ?)
                   ON CONFLICT (wave_id, order_id, sku) DO UPDATE SET qty = qty + excluded.qty""",
                [wave_id, target.order_id, sku, units])
            after = next(m for m in members(db, wave_id) if m.order_id == target.order_id)
            if not after.full:
                return PutResult(after, units)
            db.execute("UPDATE wave_orders SET status = 'ready' WHERE wave_id = ? "
                       "AND order_id = ?", [wave_id, after.order_id])
            wire = WavePutWire(wave_id=wave_id, order_id=after.order_id, slot=after.slot,
                               at=datetime.fromisoformat(self.w.now()), operator_id=operator_id)
            self.w.enqueue("wave_put", wire.model_dump(mode="json"),
                           msg_id=wave_put_msg_id(wave_id, after.order_id))
            return PutResult(after, units, full=True)
