"""The single writer of the station database.

Every change goes through one ``Writer`` on one connection, in ``BEGIN IMMEDIATE``
transactions (Datasette's pattern). A stock move, its balance and its outbox row are written
in the same transaction, so a crash leaves either all three or none. Threads share the
writer through a lock; reads use their own connections (WAL lets them run alongside).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from edge.domain.ledger import plan_reversal
from edge.domain.models import Move, MoveReason, MoveRequest, NegativeStockPolicy, qty_out_of_range
from edge.errors import (
    AlreadyReversed,
    InsufficientStock,
    KitHasNoStock,
    LedgerError,
    PackError,
    UnknownSku,
)
from edge.store.queries import row_to_move
from edge.sync.schema import MoveWire, TransferDiffWire

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class Writer:
    """All writes to one station database. Safe to share between threads."""

    def __init__(
        self,
        db: Database,
        *,
        station_id: str,
        clock: Clock = utcnow,
        id_factory: Callable[[], str] = new_id,
    ) -> None:
        self.db = db
        """The one write connection."""
        self.station_id = station_id
        """This station; stamped on every move and outbox message."""
        self._clock = clock
        """Source of UTC timestamps (frozen in tests)."""
        self._new_id = id_factory
        """Source of move and message ids (UUID4 by default)."""
        self._lock = threading.RLock()
        """Serialises transactions from worker threads on the one connection."""

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; nested calls become savepoints."""
        with self._lock:
            conn = self.db.conn
            if conn.in_transaction:
                with self.db.atomic():
                    yield self.db
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    @property
    def clock(self) -> Clock:
        """The station's one clock (UTC): the sync daemon, inbox and health reports read it too."""
        return self._clock

    def now(self) -> str:
        return self._clock().isoformat()

    # ------------------------------------------------------------------ stock moves
    def record_move(self, request: MoveRequest) -> Move:
        """Record one move with its balance and outbox row; see ``record_moves``."""
        return self.record_moves([request])[0]

    def record_moves(self, requests: Sequence[MoveRequest]) -> list[Move]:
        """Record moves atomically: all are written, or none (the first refusal raises).

        Raises ``UnknownSku`` for an unknown SKU or location and ``InsufficientStock`` when a
        balance would go below zero in a warehouse whose policy refuses it; with
        ``allow_with_alert`` the move is written and a ``negative_stock`` alert raised.
        """
        with self.transaction():
            return [self._insert_move(req, outbox=True) for req in requests]

    def reverse_move(self, move_id: str, *, operator_id: str, note: str | None = None) -> Move:
        """Record the reversal of ``move_id`` (sign flipped). A move is reversed at most once."""
        with self.transaction():
            row = self.db.execute(
                "SELECT * FROM stock_moves WHERE move_id = ?", [move_id]
            ).fetchone()
            if row is None:
                raise LedgerError(f"没有这条库存记录 / no such move: {move_id}")
            original = row_to_move(row, self._columns())
            taken = self.db.execute(
                "SELECT 1 FROM stock_moves WHERE reverses_move_id = ?", [move_id]
            ).fetchone()
            if taken:
                raise AlreadyReversed(f"这条记录已冲销 / already reversed: {move_id}")
            request = plan_reversal(original, operator_id=operator_id, note=note)
            return self._insert_move(request, outbox=True, reverses=move_id)

    def apply_remote_moves(self, moves: Sequence[Move]) -> list[Move]:
        """Apply moves recorded elsewhere (other stations of this warehouse, the cloud),
        each id once, move by move. Returns the moves that were new here.

        They are facts that already happened, so they are never refused for stock; a
        balance taken below zero raises an alert. A reversal of a move this station already
        reversed (two stations each reversed it; the cloud kept the other one) is skipped
        with a ``reversal_conflict`` alert: both reverse the same quantity at the same
        location, so the balance is the truth either way. A move the database refuses is
        skipped with a ``relayed_move_refused`` alert; neither takes its neighbours down.
        """
        applied: list[Move] = []
        with self.transaction():
            for move in moves:
                if self.db.execute("SELECT 1 FROM stock_moves WHERE move_id = ?",
                                   [move.move_id]).fetchone():
                    continue
                taken = move.reverses_move_id and self.db.execute(
                    "SELECT move_id FROM stock_moves WHERE reverses_move_id = ?",
                    [move.reverses_move_id]).fetchone()
                if taken:
                    self._alert_rows("reversal_conflict", move.reverses_move_id or "", {
                        "move_id": move.move_id, "station_id": move.station_id,
                        "kept_move_id": taken[0], "sku": move.sku, "location": move.location,
                        "qty_delta": move.qty_delta})
                    continue
                try:
                    with self.db.atomic():
                        applied.append(self._append(move, check=False))
                        self._count_receipt(move)
                        self._count_transfer(move)
                except sqlite3.IntegrityError as err:
                    self._alert_rows("relayed_move_refused", move.move_id,
                                     {"reason": str(err), "station_id": move.station_id})
        return applied

    def _insert_move(self, req: MoveRequest, *, outbox: bool, reverses: str | None = None) -> Move:
        if req.qty_delta == 0:
            raise LedgerError("数量变动不能为 0 / a move must change the quantity")
        if (too_big := qty_out_of_range(req.qty_delta)) is not None:
            raise LedgerError(too_big)
        if self.db.execute("SELECT 1 FROM skus WHERE sku = ?", [req.sku]).fetchone() is None:
            raise UnknownSku(f"未知商品 / unknown SKU: {req.sku}")
        if self.db.execute("SELECT 1 FROM kit_components WHERE kit_sku = ? LIMIT 1",
                           [req.sku]).fetchone() is not None:
            raise KitHasNoStock(f"{req.sku} 是组合商品，没有自己的库存，请按组件收货/移库 / "
                                f"{req.sku} is a kit with no stock of its own: move its components")
        warehouse_id, _ = self._location(req.location)
        now = self._clock()
        move = Move(
            move_id=req.move_id or self._new_id(),
            sku=req.sku,
            location=req.location,
            qty_delta=req.qty_delta,
            balance_after=0,  # filled by _append
            reason=req.reason,
            source_type=req.source_type,
            source_id=req.source_id,
            source_line=req.source_line,
            operator_id=req.operator_id,
            station_id=self.station_id,
            device_id=req.device_id,
            occurred_at=req.occurred_at or now,
            recorded_at=now,
            reverses_move_id=reverses,
            note=req.note,
            warehouse_id=warehouse_id,
        )
        move = self._append(move, check=True)
        if outbox:
            self._outbox_row("move", MoveWire.from_move(move).model_dump(mode="json"), move.move_id)
        return move

    def _append(self, move: Move, *, check: bool) -> Move:
        """Insert the row and update the balance cache. Caller holds the transaction."""
        row = self.db.execute(
            "SELECT qty FROM balances WHERE sku = ? AND location = ?", [move.sku, move.location]
        ).fetchone()
        before = row[0] if row else 0
        after = before + move.qty_delta
        if after < 0:
            policy = self._policy_for(move)
            if check and policy is NegativeStockPolicy.REFUSE:
                raise InsufficientStock(move.sku, move.location, before, move.qty_delta)
            self._alert_rows(
                "negative_stock",
                f"{move.sku}@{move.location}",
                {"balance": after, "move_id": move.move_id, "station_id": move.station_id},
            )
        move = replace(move, balance_after=after)
        self.db.execute(
            """INSERT INTO stock_moves (move_id, warehouse_id, sku, location, qty_delta,
                   balance_after, reason, source_type, source_id, source_line, operator_id,
                   station_id, device_id, occurred_at, recorded_at, reverses_move_id, note)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
            [
                move.move_id, move.warehouse_id, move.sku, move.location, move.qty_delta,
                after, int(move.reason), move.source_type, move.source_id, move.source_line,
                move.operator_id, move.station_id, move.device_id,
                move.occurred_at.isoformat(), move.recorded_at.isoformat(),
                move.reverses_move_id, move.note,
            ],
        )
        self.db.execute(
            """INSERT INTO balances (sku, location, qty) VALUES (?, ?, ?)
               ON CONFLICT (sku, location) DO UPDATE SET qty = excluded.qty""",
            [move.sku, move.location, after],
        )
        return move

    def _location(self, code: str) -> tuple[str, NegativeStockPolicy]:
        """(warehouse, negative-stock policy) of a location, read fresh in the caller's
        transaction: the sync daemon (another process) applies catalog changes, so a
        per-process cache would keep a policy the warehouse no longer has."""
        row = self.db.execute(
            """SELECT l.warehouse_id, w.negative_stock_policy FROM locations l
               JOIN warehouses w USING (warehouse_id) WHERE l.code = ?""",
            [code],
        ).fetchone()
        if row is None:
            raise UnknownSku(f"未知库位 / unknown location: {code}")
        return row[0], NegativeStockPolicy(row[1])

    def _policy_for(self, move: Move) -> NegativeStockPolicy:
        try:
            return self._location(move.location)[1]
        except UnknownSku:
            return NegativeStockPolicy.ALLOW_WITH_ALERT

    def rebuild_balances(self) -> int:
        """Recreate the balances cache from the ledger; returns the number of rows."""
        with self.transaction():
            self.db.execute("DELETE FROM balances")
            self.db.execute(
                """INSERT INTO balances (sku, location, qty)
                   SELECT sku, location, SUM(qty_delta) FROM stock_moves
                   GROUP BY sku, location"""
            )
            return int(self.db.execute("SELECT COUNT(*) FROM balances").fetchone()[0])

    def _columns(self) -> list[str]:
        return [c.name for c in self.db["stock_moves"].columns]

    # ------------------------------------------------------------------ outbox / inbox
    def enqueue(self, kind: str, payload: dict[str, Any], *, msg_id: str | None = None) -> str:
        """Add a message for the cloud, inside the caller's transaction (or its own)."""
        with self.transaction():
            return self._outbox_row(kind, payload, msg_id)

    def _outbox_row(self, kind: str, payload: dict[str, Any], msg_id: str | None = None) -> str:
        """Insert an outbox row; the caller already holds the transaction (no savepoint)."""
        msg_id = msg_id or self._new_id()
        self.db.execute(
            "INSERT INTO outbox (msg_id, kind, payload, created_at) VALUES (?, ?, ?, ?)",
            [msg_id, kind, json.dumps(payload, ensure_ascii=False, sort_keys=True), self.now()],
        )
        return msg_id

    def mark_sent(self, msg_ids: Sequence[str]) -> None:
        """Record a publish attempt (the message stays pending until acked)."""
        with self.transaction():
            self.db.conn.executemany(
                "UPDATE outbox SET attempts = attempts + 1, last_sent_at = ? WHERE msg_id = ?",
                [(self.now(), m) for m in msg_ids],
            )

    def mark_acked(self, msg_ids: Sequence[str]) -> int:
        """The cloud applied these messages; returns how many were newly acked."""
        with self.transaction():
            cur = self.db.conn.executemany(
                "UPDATE outbox SET acked_at = ? WHERE msg_id = ? AND acked_at IS NULL",
                [(self.now(), m) for m in msg_ids],
            )
            return int(cur.rowcount)

    def apply_once(self, msg_id: str, kind: str, effect: Callable[[Writer], None]) -> bool:
        """Run ``effect`` and record ``msg_id`` in the inbox in one transaction.

        Returns False (and runs nothing) when the message was applied before.
        """
        with self.transaction():
            seen = self.db.execute("SELECT 1 FROM inbox WHERE msg_id = ?", [msg_id]).fetchone()
            if seen:
                return False
            effect(self)
            self.db.execute(
                "INSERT INTO inbox (msg_id, kind, received_at) VALUES (?, ?, ?)",
                [msg_id, kind, self.now()],
            )
            return True

    # ------------------------------------------------------------------ alerts / audit
    def alert(self, kind: str, subject: str, detail: dict[str, Any]) -> None:
        """Record an alert for the floor and send it to the cloud."""
        with self.transaction():
            self._alert_rows(kind, subject, detail)

    def _alert_rows(self, kind: str, subject: str, detail: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO alerts (kind, subject, detail, created_at) VALUES (?, ?, ?, ?)",
            [kind, subject, json.dumps(detail, ensure_ascii=False), self.now()],
        )
        self._outbox_row("alert", {"kind": kind, "subject": subject, "detail": detail})

    def audit(self, actor: str, action: str, subject: str, detail: dict[str, Any] | None = None) -> None:
        """Append to the audit log (logins, adjustments, overrides, reprints)."""
        with self.transaction():
            self.db.execute(
                "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
                [self.now(), actor, action, subject, json.dumps(detail or {}, ensure_ascii=False)],
            )

    def adjust(
        self, *, sku: str, location: str, qty_delta: int, operator_id: str, note: str,
        reason: MoveReason = MoveReason.MANUAL_ADJUST,
    ) -> Move:
        """A manual adjustment: needs a written reason, and is audited with the move."""
        if not note.strip():
            raise LedgerError("手工调整必须写明原因 / a manual adjustment needs a reason")
        with self.transaction():
            move = self.record_move(
                MoveRequest(
                    sku=sku, location=location, qty_delta=qty_delta, reason=reason,
                    source_type="manual", source_id=self._new_id(), operator_id=operator_id,
                    note=note,
                )
            )
            self.audit(operator_id, "stock.adjust", f"{sku}@{location}",
                       {"move_id": move.move_id, "qty_delta": qty_delta, "note": note})
            return move

    # ------------------------------------------------------------------ catalog
    def set_setting(self, key: str, value: str) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )

    def delete_setting(self, key: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM settings WHERE key = ?", [key])

    def upsert_warehouse(
        self, warehouse_id: str, name: str,
        policy: NegativeStockPolicy = NegativeStockPolicy.REFUSE,
    ) -> None:
        with self.transaction():
            self.db.table("warehouses").upsert(
                {"warehouse_id": warehouse_id, "name": name, "negative_stock_policy": policy.value},
                pk="warehouse_id",
            )

    def upsert_locations(self, rows: Sequence[dict[str, Any]]) -> None:
        """Rows: code, warehouse_id, zone, bin, name."""
        with self.transaction():
            self.db.table("locations").upsert_all(rows, pk="code")

    def upsert_skus(self, rows: Sequence[dict[str, Any]]) -> None:
        """Rows with the ``skus`` columns; ``barcodes`` (list of (code, units)) optional.

        A row with a ``version`` comes from the cloud (``SkuWire.version``): it is skipped
        when the SKU already holds that version or a newer one, and its barcodes are taken
        from whichever SKU had them here (the cloud checked they are unique; the old owner's
        own update follows). Without a version (a local import) a barcode of another SKU is
        refused. ``components`` (a kit's (SKU, units per kit); ``[]``: not a kit) replaces
        the SKU's kit rows when given."""
        now = self.now()
        with self.transaction():
            for row in rows:
                barcodes = row.get("barcodes")
                record = {k: v for k, v in row.items()
                          if k not in ("barcodes", "version", "components")}
                version = row.get("version")
                if version is not None:
                    held = self.db.execute("SELECT cloud_version FROM skus WHERE sku = ?",
                                           [row["sku"]]).fetchone()
                    if held is not None and held[0] is not None and held[0] >= version:
                        continue  # a late copy of an edit already applied
                    record["cloud_version"] = version
                record["updated_at"] = now
                self.db.table("skus").upsert(record, pk="sku")
                components = row.get("components")
                if components is not None:
                    self.db.execute("DELETE FROM kit_components WHERE kit_sku = ?", [row["sku"]])
                    for comp, qty in components:
                        self.db.execute("INSERT INTO kit_components (kit_sku, component_sku, qty)"
                                        " VALUES (?, ?, ?)", [row["sku"], comp, qty])
                if barcodes is not None:
                    self.db.execute("DELETE FROM barcodes WHERE sku = ?", [row["sku"]])
                    for code, units in barcodes:
                        owner = self.db.execute(
                            "SELECT sku FROM barcodes WHERE barcode = ?", [code]
                        ).fetchone()
                        if owner and owner[0] != row["sku"]:
                            if version is None:
                                raise LedgerError(f"条码 {code} 已属于 {owner[0]} / "
                                                  f"barcode {code} belongs to {owner[0]}")
                            self.db.execute("DELETE FROM barcodes WHERE barcode = ?", [code])
                        self.db.execute(
                            "INSERT INTO barcodes (barcode, sku, units) VALUES (?, ?, ?)",
                            [code, row["sku"], units],
                        )

    def upsert_operator(
        self, operator_id: str, name: str, role: str, *, badge: str | None = None,
        pin_hash: str | None = None, active: bool = True,
    ) -> None:
        with self.transaction():
            self.db.table("operators").upsert(
                {"operator_id": operator_id, "name": name, "role": role, "badge": badge,
                 "pin_hash": pin_hash, "active": int(active)},
                pk="operator_id",
            )


    def apply_cloud_operators(self, rows: Sequence[dict[str, Any]]) -> int:
        """Operators from the cloud (``OperatorWire`` fields): each applied unless this
        station already holds its version or a newer one; a badge the cloud gave to another
        operator is taken from whoever had it here. Returns how many were applied."""
        applied = 0
        with self.transaction():
            for row in rows:
                held = self.db.execute("SELECT cloud_version FROM operators WHERE operator_id = ?",
                                       [row["operator_id"]]).fetchone()
                if held is not None and held[0] is not None and held[0] >= row["version"]:
                    continue
                if row.get("badge"):
                    self.db.execute("UPDATE operators SET badge = NULL WHERE badge = ? "
                                    "AND operator_id != ?", [row["badge"], row["operator_id"]])
                self.db.table("operators").upsert(
                    {"operator_id": row["operator_id"], "name": row["name"], "role": row["role"],
                     "badge": row.get("badge"), "pin_hash": row.get("pin_hash"),
                     "active": int(row["active"]), "cloud_version": row["version"]},
                    pk="operator_id")
                applied += 1
        return applied

    # ------------------------------------------------------------------ orders
    def upsert_order(self, order: dict[str, Any], lines: Sequence[dict[str, Any]]) -> None:
        """Insert or update an order to pack and replace its lines, keyed by ``order_id``.

        Idempotent. A shipped order is never overwritten (``PackError``); an existing order
        keeps its local packing status unless the update intercepts or cancels it.
        ``print_data`` / ``receiver_masked`` may be dicts (stored as JSON).
        """
        record = dict(order)
        for key in ("print_data", "receiver_masked"):
            if isinstance(record.get(key), dict):
                record[key] = json.dumps(record[key], ensure_ascii=False, sort_keys=True)
        record["updated_at"] = self.now()
        with self.transaction():
            row = self.db.execute(
                "SELECT status FROM orders WHERE order_id = ?", [record["order_id"]]
            ).fetchone()
            if row is not None:
                if row[0] == "shipped":
                    raise PackError(f"订单已发货，不能覆盖 / order already shipped: {record['order_id']}")
                if record.get("status") not in ("intercepted", "cancelled"):
                    record["status"] = row[0]
            self.db.table("orders").upsert(record, pk="order_id")
            self.db.execute("DELETE FROM order_lines WHERE order_id = ?", [record["order_id"]])
            self.db.conn.executemany(
                "INSERT INTO order_lines (order_id, line_no, sku, qty) VALUES (?, ?, ?, ?)",
                [(record["order_id"], ln["line_no"], ln["sku"], ln["qty"]) for ln in lines],
            )

    # ------------------------------------------------------------------ sync downlink
    # Intercepts and purchase orders as the cloud sends them (edge.sync.inbox).
    def apply_pending_intercept(self, order_id: str) -> str | None:
        """Apply an intercept that arrived before its order; returns its outcome or None."""
        with self.transaction():
            pending = self.db.execute(
                "SELECT reason FROM pending_intercepts WHERE order_id = ?", [order_id]
            ).fetchone()
            if pending is None:
                return None
            self.db.execute("DELETE FROM pending_intercepts WHERE order_id = ?", [order_id])
            return self.intercept_order(order_id, pending[0])

    def _newer_hold(self, order_id: str, seq: int, held: bool, reason: str) -> bool:
        """Record the cloud's hold decision ``seq`` for the order, in the caller's
        transaction; False (and nothing recorded) when a decision as new was applied."""
        if seq <= 0:
            return True  # an unnumbered intercept: always applied
        row = self.db.execute("SELECT seq FROM order_holds WHERE order_id = ?",
                              [order_id]).fetchone()
        if row is not None and int(row[0]) >= seq:
            return False
        self.db.execute(
            """INSERT INTO order_holds (order_id, seq, held, reason, updated_at)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (order_id) DO UPDATE SET seq = excluded.seq, held = excluded.held,
                   reason = excluded.reason, updated_at = excluded.updated_at""",
            [order_id, seq, int(held), reason, self.now()])
        return True

    def intercept_order(self, order_id: str, reason: str, *, seq: int = 0) -> str:
        """Block an order (refund, address change); returns what happened.

        ``intercepted`` for a waiting/packing/packed order; ``too_late`` for a shipped one,
        which raises an ``intercept_after_ship`` alert (someone must call the carrier);
        ``pending`` when the order is not here yet (applied when its task arrives);
        ``stale`` when the cloud's decision ``seq`` is older than one applied (a release
        that overtook this intercept).
        """
        now = self.now()
        with self.transaction():
            if not self._newer_hold(order_id, seq, True, reason):
                return "stale"
            row = self.db.execute(
                "SELECT status FROM orders WHERE order_id = ?", [order_id]
            ).fetchone()
            if row is None:
                self.db.execute(
                    """INSERT INTO pending_intercepts (order_id, reason, received_at) VALUES (?, ?, ?)
                       ON CONFLICT (order_id) DO UPDATE SET reason = excluded.reason""",
                    [order_id, reason, now],
                )
                return "pending"
            if row[0] == "shipped":
                self.alert("intercept_after_ship", order_id, {"reason": reason})
                return "too_late"
            if row[0] in ("intercepted", "cancelled"):
                return str(row[0])
            self.db.execute(
                """UPDATE orders SET status = 'intercepted', intercept_reason = ?, updated_at = ?
                   WHERE order_id = ?""",
                [reason, now, order_id],
            )
            return "intercepted"

    def release_order(self, order_id: str, reason: str, *, seq: int) -> str:
        """Lift the cloud's intercepts of an order up to ``seq``; returns what happened.

        ``released``: an intercepted order waits to be packed again (the packer scans it
        afresh); ``pending``: it is not here yet, and an intercept that arrived ahead of its
        task no longer blocks it; ``stale``: a newer decision was applied; otherwise the
        order's status (``shipped``, ``waiting`` …), unchanged."""
        with self.transaction():
            if not self._newer_hold(order_id, seq, False, reason):
                return "stale"
            self.db.execute("DELETE FROM pending_intercepts WHERE order_id = ?", [order_id])
            row = self.db.execute(
                "SELECT status FROM orders WHERE order_id = ?", [order_id]).fetchone()
            if row is None:
                return "pending"
            if row[0] != "intercepted":
                return str(row[0])
            self.db.execute(
                """UPDATE orders SET status = 'waiting', intercept_reason = NULL, updated_at = ?
                   WHERE order_id = ?""", [self.now(), order_id])
            self.audit("cloud", "order.release", order_id, {"reason": reason, "seq": seq})
            return "released"

    def mark_shipped(self, order_id: str, *, shipped_at: str, shipped_by: str) -> str:
        """Record that this station shipped the order, as the cloud knows it (a restored
        copy older than the shipment); returns what happened.

        ``shipped``: the order is marked shipped with ``shipped_at``/``shipped_by``; no move
        is recorded (the SHIP moves come back as moves) and no ``shipment`` message is
        queued (the cloud has it). ``already``: it was shipped here, nothing changes.
        ``pending``: the order is not here yet; its task marks it shipped on arrival."""
        with self.transaction():
            row = self.db.execute(
                "SELECT status FROM orders WHERE order_id = ?", [order_id]).fetchone()
            if row is None:
                self.db.execute(
                    """INSERT INTO pending_shipped (order_id, shipped_at, shipped_by, received_at)
                       VALUES (?, ?, ?, ?) ON CONFLICT (order_id) DO NOTHING""",
                    [order_id, shipped_at, shipped_by, self.now()])
                return "pending"
            if row[0] == "shipped":
                return "already"
            self.db.execute(
                """UPDATE orders SET status = 'shipped', shipped_at = ?, shipped_by = ?,
                       packed_at = COALESCE(packed_at, ?), updated_at = ? WHERE order_id = ?""",
                [shipped_at, shipped_by, shipped_at, self.now(), order_id])
            self.audit("cloud", "order.shipped_restored", order_id,
                       {"shipped_at": shipped_at, "shipped_by": shipped_by, "was": row[0]})
            return "shipped"

    def apply_pending_shipped(self, order_id: str) -> str | None:
        """Mark an order shipped whose ``shipped`` fact arrived before its task; returns
        ``mark_shipped``'s outcome or None (nothing pending)."""
        with self.transaction():
            pending = self.db.execute(
                "SELECT shipped_at, shipped_by FROM pending_shipped WHERE order_id = ?",
                [order_id]).fetchone()
            if pending is None:
                return None
            self.db.execute("DELETE FROM pending_shipped WHERE order_id = ?", [order_id])
            return self.mark_shipped(order_id, shipped_at=pending[0], shipped_by=pending[1])

    def upsert_purchase_order(self, po: dict[str, Any], lines: Sequence[dict[str, Any]]) -> None:
        """Insert or refresh a purchase order to receive; quantities already received on a
        line are kept (a line the cloud dropped keeps its row only if something was received)."""
        po_id = str(po["po_id"])
        with self.transaction():
            self.db.table("purchase_orders").upsert(
                {**po, "updated_at": self.now()}, pk="po_id"
            )
            received = dict(self.db.execute(
                "SELECT line_no, qty_received FROM purchase_order_lines WHERE po_id = ?", [po_id]
            ).fetchall())
            self.db.execute(
                "DELETE FROM purchase_order_lines WHERE po_id = ? AND qty_received = 0", [po_id]
            )
            self.db.conn.executemany(
                """INSERT INTO purchase_order_lines (po_id, line_no, sku, qty_ordered, qty_received)
                   VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (po_id, line_no) DO UPDATE SET sku = excluded.sku,
                       qty_ordered = excluded.qty_ordered""",
                [(po_id, ln["line_no"], ln["sku"], ln["qty_ordered"], received.get(ln["line_no"], 0))
                 for ln in lines],
            )

    def receive_po(self, po_id: str, line_no: int, qty: int, *, location: str,
                   operator_id: str, allow_over: bool = False,
                   reason: str | None = None) -> Move:
        """Receive ``qty`` units of a purchase order line at ``location``: one RECEIVE move
        (source ``po`` / ``po_id`` / line, sent to the cloud like every move) and the line's
        received count, in one transaction. Refused: an unknown, cancelled or closed order
        or line, a quantity below 1, and more than is still open on the line unless
        ``allow_over`` (a lead's decision, audited). ``reason`` (why the lead accepted more)
        becomes the move's note and goes into the audit entry of an over-receipt."""
        if qty < 1:
            raise LedgerError("收货数量至少为 1 / receive at least 1 unit")
        with self.transaction():
            po = self.db.execute("SELECT status FROM purchase_orders WHERE po_id = ?",
                                 [po_id]).fetchone()
            if po is None or po[0] != "open":
                raise LedgerError(f"采购单 {po_id} 不在待收货状态 / purchase order {po_id} "
                                  "is not open for receiving")
            line = self.db.execute(
                "SELECT sku, qty_ordered, qty_received FROM purchase_order_lines "
                "WHERE po_id = ? AND line_no = ?", [po_id, line_no]).fetchone()
            if line is None:
                raise LedgerError(f"采购单 {po_id} 没有第 {line_no} 行 / no line {line_no} "
                                  f"on {po_id}")
            sku, ordered, received = line
            if received + qty > ordered and not allow_over:
                raise LedgerError(f"超收: 第 {line_no} 行还剩 {ordered - received} 件 / over-receipt: "
                                  f"line {line_no} has {ordered - received} left")
            move = self._insert_move(MoveRequest(
                sku=sku, location=location, qty_delta=qty, reason=MoveReason.RECEIVE,
                source_type="po", source_id=po_id, source_line=str(line_no),
                operator_id=operator_id, note=reason or None), outbox=True)
            self._count_receipt(move)
            if received + qty > ordered:
                self.audit(operator_id, "po.over_receipt", po_id,
                                {"line_no": line_no, "ordered": ordered,
                                 "received": received + qty, "move_id": move.move_id,
                                 **({"reason": reason} if reason else {})})
            return move

    def _count_receipt(self, move: Move) -> None:
        """A RECEIVE move against a purchase order line adds to the line's received count
        (this station's own receipt, or another station's relayed here)."""
        if (move.reason == MoveReason.RECEIVE and move.source_type == "po"
                and move.source_line and move.source_line.isdigit()):
            self.db.execute(
                "UPDATE purchase_order_lines SET qty_received = qty_received + ? "
                "WHERE po_id = ? AND line_no = ?",
                [move.qty_delta, move.source_id, int(move.source_line)])

    # Transfers (调拨) as the cloud sends them; shipped at the source, received at the
    # destination.
    def upsert_transfer(self, transfer: dict[str, Any], lines: Sequence[dict[str, Any]]) -> None:
        """Insert or refresh a transfer. Each line's shipped and received counts become the
        larger of this station's count (its warehouse's moves) and the cloud's (which is how
        the destination learns what the source shipped); counts only grow, so neither a late
        copy nor a move the cloud has not seen yet lowers them."""
        transfer_id = str(transfer["transfer_id"])
        with self.transaction():
            self.db.table("transfers").upsert({**transfer, "updated_at": self.now()},
                                              pk="transfer_id")
            self.db.conn.executemany(
                """INSERT INTO transfer_lines (transfer_id, line_no, sku, qty, qty_shipped,
                       qty_received) VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (transfer_id, line_no) DO UPDATE SET sku = excluded.sku,
                       qty = excluded.qty,
                       qty_shipped = MAX(qty_shipped, excluded.qty_shipped),
                       qty_received = MAX(qty_received, excluded.qty_received)""",
                [(transfer_id, ln["line_no"], ln["sku"], ln["qty"], ln.get("qty_shipped", 0),
                  ln.get("qty_received", 0)) for ln in lines])

    def _transfer_line(self, transfer_id: str, line_no: int, location: str,
                       side: str) -> tuple[str, int, int, int]:
        """(sku, qty, shipped, received) of an open transfer's line, checking that
        ``location`` is in the warehouse of ``side`` (``from_warehouse`` or
        ``to_warehouse``). Caller holds the transaction."""
        row = self.db.execute(
            f"SELECT status, {side} FROM transfers WHERE transfer_id = ?",
            [transfer_id]).fetchone()
        if row is None or row[0] != "open":
            raise LedgerError(f"调拨单 {transfer_id} 不在进行中 / transfer {transfer_id} is not open")
        warehouse_id, _ = self._location(location)
        if warehouse_id != row[1]:
            where = "调出" if side == "from_warehouse" else "调入"
            raise LedgerError(f"库位 {location} 不在{where}仓库 {row[1]} / location {location} "
                              f"is not in warehouse {row[1]}")
        line = self.db.execute(
            "SELECT sku, qty, qty_shipped, qty_received FROM transfer_lines "
            "WHERE transfer_id = ? AND line_no = ?", [transfer_id, line_no]).fetchone()
        if line is None:
            raise LedgerError(f"调拨单 {transfer_id} 没有第 {line_no} 行 / no line {line_no} "
                              f"on {transfer_id}")
        return str(line[0]), int(line[1]), int(line[2]), int(line[3])

    def ship_transfer(self, transfer_id: str, line_no: int, qty: int, *, location: str,
                      operator_id: str) -> Move:
        """Ship ``qty`` units of a transfer line from ``location`` (a location of the source
        warehouse): one TRANSFER_OUT move (−qty; source ``transfer`` / id / line), sent to the
        cloud like every move, and the line's shipped count, in one transaction. Refused: an
        unknown, closed or cancelled transfer or line, a location outside the source
        warehouse, a quantity below 1, more than the line still has to ship, and stock the
        warehouse's negative-stock policy refuses."""
        if qty < 1:
            raise LedgerError("调出数量至少为 1 / ship at least 1 unit")
        with self.transaction():
            sku, total, shipped, _ = self._transfer_line(transfer_id, line_no, location,
                                                         "from_warehouse")
            if shipped + qty > total:
                raise LedgerError(f"超出调拨数量: 第 {line_no} 行还剩 {total - shipped} 件 / "
                                  f"more than ordered: line {line_no} has {total - shipped} left")
            move = self._insert_move(MoveRequest(
                sku=sku, location=location, qty_delta=-qty, reason=MoveReason.TRANSFER_OUT,
                source_type="transfer", source_id=transfer_id, source_line=str(line_no),
                operator_id=operator_id), outbox=True)
            self._count_transfer(move)
            return move

    def receive_transfer(self, transfer_id: str, line_no: int, qty: int, *, location: str,
                         operator_id: str) -> Move:
        """Receive ``qty`` units of a transfer line at ``location`` (a location of the
        destination warehouse): one TRANSFER_IN move (+qty) and the line's received count,
        in one transaction. Refused: an unknown, closed or cancelled transfer or line, a
        location outside the destination warehouse, a quantity below 1, and more than has
        been shipped and not yet received (as this station knows it: the source's shipments
        reach it through the cloud). There is no override: units that arrive without having
        been shipped are a stock adjustment, not a transfer receipt."""
        if qty < 1:
            raise LedgerError("调入数量至少为 1 / receive at least 1 unit")
        with self.transaction():
            sku, _, shipped, received = self._transfer_line(transfer_id, line_no, location,
                                                            "to_warehouse")
            if received + qty > shipped:
                raise LedgerError(f"超出已调出数量: 第 {line_no} 行在途 {shipped - received} 件 / "
                                  f"more than shipped: line {line_no} has "
                                  f"{shipped - received} in transit")
            move = self._insert_move(MoveRequest(
                sku=sku, location=location, qty_delta=qty, reason=MoveReason.TRANSFER_IN,
                source_type="transfer", source_id=transfer_id, source_line=str(line_no),
                operator_id=operator_id), outbox=True)
            self._count_transfer(move)
            return move

    def ship_transfer_counts(self, transfer_id: str, counts: dict[int, int], *, location: str,
                             operator_id: str) -> list[Move]:
        """Ship several lines of a transfer from ``location`` in one transaction (the kiosk's
        调拨出库 confirm): one ``ship_transfer`` per line counted (zero counts skipped), each
        a TRANSFER_OUT move with its outbox row; one refusal writes nothing."""
        wanted = {line_no: qty for line_no, qty in sorted(counts.items()) if qty}
        if not wanted:
            raise LedgerError("没有要调出的商品 / nothing to ship")
        with self.transaction():
            return [self.ship_transfer(transfer_id, line_no, qty, location=location,
                                       operator_id=operator_id)
                    for line_no, qty in wanted.items()]

    def receive_transfer_counts(self, transfer_id: str, counts: dict[int, int], *,
                                location: str, operator_id: str,
                                reason: str | None) -> tuple[list[Move], list[TransferDiffWire]]:
        """Receive a transfer at ``location`` as counted (the kiosk's 调拨入库 confirm), in one
        transaction. Per line in transit (shipped − received − recorded short): the counted
        units up to what is in transit become one TRANSFER_IN move; units counted beyond it
        become one COUNT_ADJUST move sourced to the same line (the goods are here, but they
        never shipped as far as the ledger knows); a count that differs from what is in
        transit — short or over, including a line not scanned at all — is a discrepancy
        (``transfer_discrepancies`` row and a ``transfer_diff`` outbox message) and needs
        ``reason``, else nothing is written. Returns the moves and the discrepancies."""
        with self.transaction():
            row = self.db.execute("SELECT status FROM transfers WHERE transfer_id = ?",
                                  [transfer_id]).fetchone()
            if row is None or row[0] != "open":
                raise LedgerError(f"调拨单 {transfer_id} 不在进行中 / transfer {transfer_id} "
                                  "is not open")
            lines = self.db.execute(
                """SELECT l.line_no, l.sku, l.qty_shipped - l.qty_received - COALESCE(
                       (SELECT SUM(d.expected - d.counted) FROM transfer_discrepancies d
                        WHERE d.transfer_id = l.transfer_id AND d.line_no = l.line_no
                          AND d.counted < d.expected), 0)
                   FROM transfer_lines l WHERE l.transfer_id = ? ORDER BY l.line_no""",
                [transfer_id]).fetchall()
            unknown = set(counts) - {int(ln[0]) for ln in lines}
            if unknown:
                raise LedgerError(f"调拨单 {transfer_id} 没有第 {min(unknown)} 行 / no line "
                                  f"{min(unknown)} on {transfer_id}")
            moves: list[Move] = []
            diffs: list[TransferDiffWire] = []
            now = self.now()
            for line_no, sku, in_transit in lines:
                expected, counted = max(0, int(in_transit)), max(0, counts.get(int(line_no), 0))
                if not expected and not counted:
                    continue
                if min(expected, counted):
                    moves.append(self.receive_transfer(transfer_id, int(line_no),
                                                       min(expected, counted),
                                                       location=location, operator_id=operator_id))
                if counted > expected:
                    self._transfer_line(transfer_id, int(line_no), location, "to_warehouse")
                    moves.append(self._insert_move(MoveRequest(
                        sku=str(sku), location=location, qty_delta=counted - expected,
                        reason=MoveReason.COUNT_ADJUST, source_type="transfer",
                        source_id=transfer_id, source_line=str(line_no),
                        operator_id=operator_id, note=reason or None), outbox=True))
                if counted == expected:
                    continue
                if not reason:
                    raise LedgerError(f"第 {line_no} 行在途 {expected} 件, 实收 {counted} 件: "
                                      f"需要差异原因 / line {line_no}: {expected} in transit, "
                                      f"{counted} counted: a reason is required")
                diff = TransferDiffWire(
                    diff_id=self._new_id(), transfer_id=transfer_id, line_no=int(line_no),
                    sku=str(sku), expected=expected, counted=counted, reason=reason,
                    operator_id=operator_id, at=datetime.fromisoformat(now))
                self.db.execute(
                    """INSERT INTO transfer_discrepancies (diff_id, transfer_id, line_no, sku,
                           expected, counted, reason, operator_id, created_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    [diff.diff_id, transfer_id, int(line_no), str(sku), expected, counted,
                     reason, operator_id, now])
                self._outbox_row("transfer_diff", diff.model_dump(mode="json"), diff.diff_id)
                diffs.append(diff)
            if not moves and not diffs:
                raise LedgerError(f"调拨单 {transfer_id} 没有在途商品 / nothing of {transfer_id} "
                                  "is in transit")
            return moves, diffs

    def _count_transfer(self, move: Move) -> None:
        """A TRANSFER_OUT move against a transfer line adds to its shipped count, a
        TRANSFER_IN to its received count (this station's own, or one relayed here)."""
        if not (move.source_type == "transfer" and move.source_line
                and move.source_line.isdigit()):
            return
        if move.reason == MoveReason.TRANSFER_OUT:
            column, units = "qty_shipped", -move.qty_delta
        elif move.reason == MoveReason.TRANSFER_IN:
            column, units = "qty_received", move.qty_delta
        else:
            return
        self.db.execute(
            f"UPDATE transfer_lines SET {column} = {column} + ? "
            "WHERE transfer_id = ? AND line_no = ?",
            [units, move.source_id, int(move.source_line)])

    def set_sync_state(self, values: dict[str, str]) -> None:
        """Record the sync daemon's view of the link (read by ``edge.sync.status``)."""
        now = self.now()
        with self.transaction():
            self.db.conn.executemany(
                """INSERT INTO sync_state (key, value, updated_at) VALUES (?, ?, ?)
                   ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                       updated_at = excluded.updated_at""",
                [(k, v, now) for k, v in values.items()],
            )

    def prune_outbox(self, keep: timedelta, held_until: datetime | None) -> int:
        """Delete outbox rows the cloud acked more than ``keep`` ago (on the writer's clock)
        and before ``held_until`` (the point the backup holds: None deletes nothing). The
        newest acked row stays, so "last ack" survives. Returns how many were deleted.

        The rows are transport copies: the moves stay in ``stock_moves``, the shipments
        in ``orders``, and the cloud holds what it acked."""
        if held_until is None:
            return 0
        before = min(self._clock() - keep, held_until).isoformat()
        with self.transaction():
            cur = self.db.execute(
                """DELETE FROM outbox WHERE acked_at IS NOT NULL AND acked_at < ?
                   AND seq <> (SELECT seq FROM outbox WHERE acked_at IS NOT NULL
                               ORDER BY acked_at DESC LIMIT 1)""", [before])
            return int(cur.rowcount)

    def prune_inbox(self, before: str) -> int:
        """Forget applied down-message ids received before ``before`` (ISO UTC); returns how
        many. Only safe for ids older than any redelivery: the broker session's expiry."""
        with self.transaction():
            cur = self.db.execute("DELETE FROM inbox WHERE received_at < ?", [before])
            return int(cur.rowcount)
