"""Packing reads and writes: orders for the pack station, weigh and print logs, shipping.

Writes go through the single ``Writer`` and its ``transaction()``: shipping an order writes
its status, one SHIP move per line (with their outbox rows) and the ``shipment`` outbox row
in ONE transaction, so a refused move leaves the order exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from edge.domain.models import Move, MoveReason, MoveRequest, NegativeStockPolicy
from edge.domain.packing import OrderStatus, PackLine, PackOrder
from edge.errors import InsufficientStock, LedgerError, PackError
from edge.store import Queries, Writer

_ORDER_COLS = (
    "order_id, platform, platform_order_no, status, waybill_no, carrier, intercept_reason, "
    "packaging_weight_g, buyer_note, ship_by"
)


SINGLE_ITEM_BY_WAITING_SQL = """
    SELECT o.order_id FROM orders o
    WHERE o.status = 'waiting'
      AND (SELECT SUM(l.qty) FROM order_lines l
           WHERE l.order_id = o.order_id AND l.sku = :sku) = :units
      AND NOT EXISTS (SELECT 1 FROM order_lines x WHERE x.order_id = o.order_id AND x.sku <> :sku)
    ORDER BY o.ordered_at, o.order_id LIMIT 1"""
"""The oldest waiting order made of exactly ``:units`` of ``:sku``, walking the waiting orders
oldest first (``orders_by_status``) and checking each one's lines on
``order_lines_by_order_sku`` (m012) until one matches: bounded by the backlog of waiting
orders (about 1 ms at 2,000), whatever the item's history."""

SINGLE_ITEM_BY_LINES_SQL = """
    SELECT o.order_id FROM orders o JOIN order_lines l USING (order_id)
    WHERE o.status = 'waiting' AND l.sku = :sku
      AND NOT EXISTS (SELECT 1 FROM order_lines x WHERE x.order_id = o.order_id AND x.sku <> l.sku)
    GROUP BY o.order_id HAVING SUM(l.qty) = :units
    ORDER BY o.ordered_at, o.order_id LIMIT 1"""
"""The same answer starting from every line that ever held ``:sku`` (``order_lines_by_sku``):
microseconds for an ordinary item, but a best seller with 30,000 shipped orders took 15–28 ms
per scan, growing with the station's age."""

LINES_FIRST_LIMIT = 1_000
"""An item on fewer order lines than this (counted up to here, a bounded index probe) is
looked up from its lines (``SINGLE_ITEM_BY_LINES_SQL``); one on more, from the waiting orders
(``SINGLE_ITEM_BY_WAITING_SQL``). Either way the single-item scan reads at most about this
many lines or the backlog, never the item's whole history."""


class AlreadyPrinted(PackError):
    """The label was printed before; printing it again needs a reason (a reprint)."""


class ShipRefused(PackError):
    """The order cannot ship (intercepted, already shipped, not enough stock...)."""


class StockShort(ShipRefused):
    """Shipping would take a SKU below what the warehouse holds (policy ``refuse``)."""

    def __init__(self, message: str, *, sku: str, location: str, need: int, has: int) -> None:
        super().__init__(message)
        self.sku = sku
        """The SKU short."""
        self.location = location
        """Its default location (where a count would put the difference)."""
        self.need = need
        """Units the order needs."""
        self.has = has
        """Units the warehouse holds for it."""


class _DryRun(Exception):
    """Raised inside the ship transaction to roll a check back (never escapes ``ship``)."""

    def __init__(self, shipment: Shipment) -> None:
        super().__init__(shipment.order_id)
        self.shipment = shipment


def load_order(q: Queries, where: str, params: list[Any]) -> PackOrder | None:
    """The first order matching ``where`` (a constant SQL fragment), with its lines."""
    return _read_order(q.db, where, params)


def _read_order(db: Database, where: str, params: list[Any]) -> PackOrder | None:
    row = db.execute(f"SELECT {_ORDER_COLS} FROM orders WHERE {where} LIMIT 1", params).fetchone()
    if row is None:
        return None
    (order_id, platform, pno, status, waybill, carrier, reason, packaging, note, ship_by) = row
    lines = db.execute(
        """SELECT l.line_no, l.sku, l.qty, COALESCE(s.name_zh, l.sku),
                  COALESCE(s.unit_weight_g, 0), s.default_location, s.name_en
           FROM order_lines l LEFT JOIN skus s USING (sku)
           WHERE l.order_id = ? ORDER BY l.line_no""",
        [order_id],
    ).fetchall()
    return PackOrder(
        order_id=order_id, platform=platform, platform_order_no=pno,
        status=OrderStatus(status), waybill_no=waybill, carrier=carrier,
        intercept_reason=reason, packaging_weight_g=int(packaging or 0), buyer_note=note,
        ship_by=ship_by,
        lines=tuple(PackLine(int(n), sku, int(qty), name, int(w), loc, name_en or None)
                    for n, sku, qty, name, w, loc, name_en in lines),
    )


def single_item_sql(db: Database, sku: str) -> str:
    """The single-item query suited to ``sku``: from its lines when it is on fewer than
    ``LINES_FIRST_LIMIT`` order lines, else from the waiting orders."""
    (lines,) = db.execute("SELECT COUNT(*) FROM (SELECT 1 FROM order_lines WHERE sku = ? LIMIT ?)",
                          [sku, LINES_FIRST_LIMIT]).fetchone()
    return SINGLE_ITEM_BY_LINES_SQL if lines < LINES_FIRST_LIMIT else SINGLE_ITEM_BY_WAITING_SQL


class StoreOrderSource:
    """``edge.domain.packing.OrderSource`` over the station database."""

    def __init__(self, queries: Queries) -> None:
        self.q = queries
        """Reads on the caller's thread."""

    def order(self, order_id: str) -> PackOrder | None:
        return load_order(self.q, "order_id = ?", [order_id])

    def order_by_waybill(self, waybill_no: str) -> PackOrder | None:
        return load_order(self.q, "waybill_no = ?", [waybill_no])

    def order_by_platform_no(self, platform_order_no: str) -> PackOrder | None:
        return load_order(self.q, "platform_order_no = ? ORDER BY ordered_at", [platform_order_no])

    def barcode(self, code: str) -> tuple[str, int] | None:
        return self.q.lookup_barcode(code)

    def kit(self, sku: str) -> list[tuple[str, int]]:
        return self.q.kit_components(sku)

    def oldest_single_item_order(self, sku: str, units: int) -> PackOrder | None:
        """The oldest waiting order made of exactly ``units`` of ``sku`` (one SKU only)."""
        row = self.q.db.execute(single_item_sql(self.q.db, sku),
                                {"sku": sku, "units": units}).fetchone()
        return self.order(row[0]) if row else None

    def print_count(self, order_id: str, kind: str = "label") -> int:
        """How many times this order's label (or slip) was printed."""
        row = self.q.db.execute(
            "SELECT COUNT(*) FROM print_log WHERE order_id = ? AND kind = ?", [order_id, kind]
        ).fetchone()
        return int(row[0])

    def operator(self, operator_id: str) -> dict[str, Any] | None:
        rows = list(self.q.db.query(
            "SELECT * FROM operators WHERE operator_id = ? AND active = 1", [operator_id]))
        return rows[0] if rows else None


@dataclass(frozen=True, slots=True)
class WeightOverride:
    """A lead accepted a weight outside the tolerance; ``ship`` writes it (weigh row and
    audit) in the shipment's transaction, so a failed shipment leaves no override behind."""

    grams: int
    """The weight accepted."""
    expected_g: int
    """What the order should have weighed."""
    lead_id: str
    """The lead who approved."""
    reason: str
    """The reason chosen."""


@dataclass(frozen=True, slots=True)
class Shipment:
    """What ``ship`` recorded."""

    order_id: str
    move_ids: tuple[str, ...]
    msg_id: str


class PackingWriter:
    """Packing writes on the single writer."""

    def __init__(self, writer: Writer) -> None:
        self.w = writer
        """The station's one writer."""

    # ------------------------------------------------------------------ sign-in
    def sign_in(self, operator_id: str, *, method: str) -> None:
        """Audit a sign-in (``method``: badge or pin) and tell the cloud."""
        with self.w.transaction():
            self.w.audit(operator_id, "operator.sign_in", self.w.station_id, {"method": method})
            self.w.enqueue("sign_in", {"operator_id": operator_id, "station_id": self.w.station_id,
                                       "event": "sign_in", "method": method, "at": self.w.now()})

    def sign_out(self, operator_id: str) -> None:
        """Audit a sign-out and tell the cloud."""
        with self.w.transaction():
            self.w.audit(operator_id, "operator.sign_out", self.w.station_id, {})
            self.w.enqueue("sign_in", {"operator_id": operator_id, "station_id": self.w.station_id,
                                       "event": "sign_out", "at": self.w.now()})

    # ------------------------------------------------------------------ weigh
    def record_weigh(
        self, order_id: str, *, grams: int, expected_g: int, within: bool, operator_id: str,
        override_by: str | None = None, override_reason: str | None = None,
    ) -> int:
        """Log a weighing. An out-of-tolerance weight is accepted only with a lead's override
        and a reason, which is audited. Returns the weigh id."""
        if override_by is not None and not (override_reason or "").strip():
            raise PackError("超重放行必须选择原因 / an override needs a reason")
        with self.w.transaction() as db:
            cur = db.execute(
                """INSERT INTO weigh_log (order_id, grams, expected_g, within_tolerance,
                       override_by, override_reason, operator_id, weighed_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                [order_id, grams, expected_g, int(within), override_by, override_reason,
                 operator_id, self.w.now()],
            )
            weigh_id = int(cur.lastrowid or 0)
            if override_by is not None:
                self.w.audit(override_by, "pack.weight_override", order_id,
                             {"grams": grams, "expected_g": expected_g, "reason": override_reason,
                              "packer": operator_id, "weigh_id": weigh_id})
            return weigh_id

    # ------------------------------------------------------------------ print
    def print_facts(self, order_id: str) -> dict[str, Any]:
        """What a label or slip needs beyond the order: receiver (masked), sender, station."""
        row = self.w.db.execute(
            "SELECT receiver_masked, receiver_sealed, print_data, packed_at FROM orders "
            "WHERE order_id = ?",
            [order_id],
        ).fetchone()
        facts: dict[str, Any] = {"station": self.w.station_id}
        if row is not None:
            facts.update(receiver_masked=row[0], receiver_sealed=row[1], print_data=row[2],
                         packed_at=row[3])
        for key in ("sender_name", "sender_phone", "sender_address"):
            found = self.w.db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
            facts[key] = found[0] if found else ""
        return facts

    def check_print(self, order_id: str, kind: str, reprint_reason: str | None) -> bool:
        """Whether this print is a reprint; raises ``AlreadyPrinted`` for an accidental one."""
        row = self.w.db.execute(
            "SELECT COUNT(*) FROM print_log WHERE order_id = ? AND kind = ?", [order_id, kind]
        ).fetchone()
        printed = int(row[0]) > 0
        if printed and not (reprint_reason or "").strip():
            raise AlreadyPrinted(
                f"面单已打印过，补打需选择原因 / {kind} already printed: a reprint needs a reason")
        return printed

    def record_print(self, order_id: str, kind: str, *, operator_id: str,
                     reprint_reason: str | None = None) -> bool:
        """Log a print that reached the printer and queue a ``print`` message for the cloud
        (same transaction). Returns True when it was a reprint (counted and audited)."""
        with self.w.transaction() as db:
            reprint = self.check_print(order_id, kind, reprint_reason)
            at = self.w.now()
            count = db.execute("SELECT COUNT(*) FROM print_log WHERE order_id = ? AND kind = ?",
                               [order_id, kind]).fetchone()
            db.execute(
                """INSERT INTO print_log (order_id, kind, is_reprint, reason, operator_id, printed_at)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                [order_id, kind, int(reprint), reprint_reason if reprint else None, operator_id,
                 at],
            )
            if kind == "label":  # the cloud's order list shows whether the label is out
                self.w.enqueue("print", {"order_id": order_id, "doc": kind, "n": int(count[0]) + 1,
                                         "operator_id": operator_id,
                                         "reason": reprint_reason if reprint else None,
                                         "at": at})
            if reprint:
                self.w.audit(operator_id, "pack.reprint", order_id,
                             {"kind": kind, "reason": reprint_reason})
            return reprint

    # ------------------------------------------------------------------ ship
    def check_ship(self, order: PackOrder, *, operator_id: str,
                   override: WeightOverride | None = None) -> None:
        """Would :meth:`ship` commit now? It runs in full and is rolled back: raises the
        ``ShipRefused`` (``StockShort`` for stock) shipping would raise, writes nothing. The
        kiosk asks before it prints a label, so no label goes out for a parcel that cannot
        ship."""
        self.ship(order, operator_id=operator_id, weight_g=None, override=override,
                  dry_run=True)

    def count_fix(self, short: StockShort, *, counted: int, lead_id: str, reason: str,
                  order_id: str) -> Move:
        """A lead counted ``counted`` units of the short SKU at its location with the goods in
        hand: a ``COUNT_ADJUST`` move sets the balance there to the count (sourced to the
        order, with the reason). Refused for a negative count or no reason."""
        if counted < 0:
            raise ShipRefused("数量不能为负 / the count cannot be negative")
        if not reason.strip():
            raise ShipRefused("盘点调整必须写原因 / a count adjustment needs a reason")
        with self.w.transaction() as db:
            row = db.execute("SELECT qty FROM balances WHERE sku = ? AND location = ?",
                             [short.sku, short.location]).fetchone()
            delta = counted - (int(row[0]) if row else 0)
            if delta == 0:
                raise ShipRefused("数量与账面一致, 无需调整 / the count equals the books")
            move = self.w.record_move(MoveRequest(
                sku=short.sku, location=short.location, qty_delta=delta,
                reason=MoveReason.COUNT_ADJUST, source_type="count", source_id=order_id,
                operator_id=lead_id, note=reason.strip()))
            self.w.audit(lead_id, "pack.count_fix", order_id,
                         {"sku": short.sku, "location": short.location, "counted": counted,
                          "delta": delta, "reason": reason.strip()})
            return move

    def ship(self, order: PackOrder, *, operator_id: str, weight_g: int | None,
             kpis: dict[str, Any] | None = None,
             override: WeightOverride | None = None, dry_run: bool = False) -> Shipment:
        """Ship ``order``: status, SHIP moves and the ``shipment`` outbox row, all in one
        transaction, with the lead's weight ``override`` (its weigh row and audit) when there
        is one. Raises ``ShipRefused``.

        ``order`` is what the packer scanned; the order is read again inside the
        transaction and shipping is refused if it changed since (lines, waybill, carrier,
        intercept): a newer version from the cloud must be scanned again. Stock is taken
        from each SKU's default location first, then the warehouse's other locations
        that hold it (``plan_takes``). ``kpis`` (packer telemetry: refused scans,
        weighings, seconds to pack) ride along in the shipment message for the cloud."""
        try:
            with self.w.transaction() as db:
                current = _read_order(db, "order_id = ?", [order.order_id])
                if current is None:
                    raise ShipRefused(f"没有这个订单 / no such order: {order.order_id}")
                status = current.status
                if status is OrderStatus.INTERCEPTED:
                    why = current.intercept_reason or ""
                    raise ShipRefused(f"订单已拦截: {why} / order intercepted: {why}")
                if status not in (OrderStatus.WAITING, OrderStatus.PACKING, OrderStatus.PACKED):
                    raise ShipRefused(f"订单状态为 {status.value}，不能发货 / order is {status.value}")
                changed = _changes(order, current)
                if changed:
                    raise ShipRefused(
                        f"订单在扫描后已更新 ({'、'.join(zh for zh, _ in changed)})，请重新扫描 / "
                        f"the order changed since it was scanned ({', '.join(en for _, en in changed)}): "
                        "scan it again")
                if override is not None:
                    if not override.reason.strip():
                        raise ShipRefused("超重放行必须选择原因 / an override needs a reason")
                    self.record_weigh(order.order_id, grams=override.grams,
                                      expected_g=override.expected_g, within=False,
                                      operator_id=operator_id, override_by=override.lead_id,
                                      override_reason=override.reason)
                requests = [
                    MoveRequest(sku=line.sku, location=loc, qty_delta=-qty, reason=MoveReason.SHIP,
                                source_type="order", source_id=order.order_id,
                                source_line=str(line.line_no), operator_id=operator_id)
                    for line, loc, qty in plan_takes(db, current)
                ]
                moves = self.w.record_moves(requests)
                now = self.w.now()
                db.execute(
                    """UPDATE orders SET status = 'shipped', shipped_at = ?, shipped_by = ?,
                           packed_at = COALESCE(packed_at, ?), updated_at = ? WHERE order_id = ?""",
                    [now, operator_id, now, now, order.order_id],
                )
                if dry_run:  # the check is about stock and the order, not the outbox
                    raise _DryRun(Shipment(order.order_id, tuple(m.move_id for m in moves), ""))
                msg_id = self.w.enqueue("shipment", {
                    "order_id": order.order_id, "platform": current.platform,
                    "platform_order_no": current.platform_order_no, "waybill_no": current.waybill_no,
                    "carrier": current.carrier, "weight_g": weight_g, "operator_id": operator_id,
                    "station_id": self.w.station_id, "shipped_at": now,
                    "move_ids": [m.move_id for m in moves], "kpis": kpis or {},
                })
                return Shipment(order.order_id, tuple(m.move_id for m in moves), msg_id)
        except _DryRun as done:
            return done.shipment
        except InsufficientStock as err:
            raise ShipRefused(
                f"库存不足，未发货: {err.sku} @ {err.location} 现有 {err.balance} / "
                f"not shipped, insufficient stock: {err.sku} at {err.location} has {err.balance}"
            ) from err
        except LedgerError as err:
            raise ShipRefused(f"未发货 / not shipped: {err}") from err


def _changes(scanned: PackOrder, current: PackOrder) -> list[tuple[str, str]]:
    """What differs between the order as scanned and as stored now (zh, en)."""
    found = []
    if [(ln.line_no, ln.sku, ln.qty) for ln in scanned.lines] != \
            [(ln.line_no, ln.sku, ln.qty) for ln in current.lines]:
        found.append(("商品明细", "lines"))
    if (scanned.waybill_no, scanned.carrier) != (current.waybill_no, current.carrier):
        found.append(("面单", "waybill"))
    return found


def plan_takes(db: Database, order: PackOrder) -> list[tuple[PackLine, str, int]]:
    """(line, location, units) to take for each line, in the caller's transaction.

    Each SKU is taken from its default location first, then from the other locations of
    the same warehouse that hold it, by location code. When the warehouse as a whole holds
    too little, its negative-stock policy decides, never silently: ``refuse`` raises
    ``ShipRefused`` (the message names what the warehouse holds); ``allow_with_alert``
    takes the rest from the default location, whose move raises the ``negative_stock`` alert.
    """
    left: dict[tuple[str, str], int] = {}
    plan: list[tuple[PackLine, str, int]] = []
    for line in order.lines:
        if not line.location:
            raise ShipRefused(f"{line.sku} 没有默认库位 / {line.sku} has no default location")
        found = db.execute(
            """SELECT l.warehouse_id, w.negative_stock_policy FROM locations l
               JOIN warehouses w USING (warehouse_id) WHERE l.code = ?""", [line.location]).fetchone()
        if found is None:
            raise ShipRefused(f"未知库位 / unknown location: {line.location}")
        warehouse, policy = found[0], NegativeStockPolicy(found[1])
        holding = db.execute(
            """SELECT b.location, b.qty FROM balances b JOIN locations l ON l.code = b.location
               WHERE b.sku = ? AND l.warehouse_id = ? AND b.qty > 0 AND b.location <> ?
               ORDER BY b.location""", [line.sku, warehouse, line.location]).fetchall()
        default = db.execute("SELECT qty FROM balances WHERE sku = ? AND location = ?",
                             [line.sku, line.location]).fetchone()
        need = line.qty
        for loc, qty in [(line.location, default[0] if default else 0), *holding]:
            have = left.setdefault((line.sku, loc), int(qty))
            take = min(need, max(have, 0))
            if take > 0:
                plan.append((line, loc, take))
                left[(line.sku, loc)] = have - take
                need -= take
        if need > 0:
            if policy is NegativeStockPolicy.REFUSE:
                has = line.qty - need
                raise StockShort(
                    f"库存不足，未发货: {line.sku} 全仓 {warehouse} 可发 {has}，需要 {line.qty} / "
                    f"not shipped, insufficient stock: {line.sku} in warehouse {warehouse} has {has}"
                    f" of {line.qty}", sku=line.sku, location=line.location, need=line.qty,
                    has=has)
            plan.append((line, line.location, need))
            left[(line.sku, line.location)] = left.get((line.sku, line.location), 0) - need
    return plan
