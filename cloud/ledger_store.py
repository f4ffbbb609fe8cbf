"""The cloud copy of the stock ledger: insert each move once, keep balances derived.

Every station's moves arrive here (through ingest) and are stored exactly once by
``move_id``, whatever the engine: ``INSERT ... ON CONFLICT (move_id) DO NOTHING`` on
SQLite and PostgreSQL alike, so re-delivery after a lost ack is harmless. For the rows
that were *new*, ``stock_balances`` is updated in the same transaction, so

    stock_balances(warehouse, sku, location) == SUM(stock_moves.qty_delta)

holds after every commit; :func:`check_balances` verifies it and
:func:`rebuild_balances` restores it from the moves. Every key that has moves has a
balance row (possibly 0).

All functions take a SQLAlchemy ``Connection`` and run inside the caller's transaction::

    with engine.begin() as conn:
        new_ids = insert_moves(conn, moves)
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from cloud.db.engine import in_chunks
from cloud.db.schema import shipped_daily, stock_balances, stock_moves
from cloud.errors import DatabaseError, InvalidMove, ReversalConflict
from edge.domain.models import Move, MoveReason

INT32_MAX = 2**31 - 1
"""Largest ``qty_delta`` / ``balance_after`` magnitude (32-bit integer columns)."""

_REQUIRED_TEXT = (
    "move_id", "sku", "location", "warehouse_id", "station_id",
    "source_type", "source_id", "operator_id",
)
_MAX_LEN: dict[str, int] = {
    column.name: column.type.length
    for column in stock_moves.columns
    if isinstance(column.type, sa.String) and column.type.length is not None
}


@dataclass(frozen=True, slots=True)
class WarehouseBalance:
    """On-hand quantity of one SKU at one location of one warehouse."""

    warehouse_id: str
    sku: str
    location: str
    qty: int


@dataclass(frozen=True, slots=True)
class StoredMove:
    """A move as the cloud holds it: the station's fact plus when the cloud received it."""

    move: Move
    received_at: datetime


@dataclass(frozen=True, slots=True)
class BalanceMismatch:
    """A key where the cached balance differs from the sum of its moves.

    ``cached_qty`` is ``None`` when the balance row is missing; ``moves_qty`` is ``None``
    when a balance row exists without any move.
    """

    warehouse_id: str
    sku: str
    location: str
    cached_qty: int | None
    moves_qty: int | None


def validate_move(move: Move) -> None:
    """Raise :class:`InvalidMove` unless ``move`` can be stored (same rules on both engines)."""
    move_id = move.move_id if isinstance(move.move_id, str) else ""
    for name in _REQUIRED_TEXT:
        value = getattr(move, name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidMove(move_id, f"{name} 为空", f"{name} is empty")
    for name, limit in _MAX_LEN.items():
        value = getattr(move, name, None)
        if isinstance(value, str) and len(value) > limit:
            raise InvalidMove(move_id, f"{name} 超过 {limit} 个字符", f"{name} longer than {limit}")
    try:
        uuid.UUID(move.move_id)
    except ValueError as err:
        raise InvalidMove(move_id, "move_id 不是 UUID", "move_id is not a UUID") from err
    if move.reverses_move_id is not None:
        try:
            uuid.UUID(move.reverses_move_id)
        except ValueError as err:
            raise InvalidMove(
                move_id, "reverses_move_id 不是 UUID", "reverses_move_id is not a UUID"
            ) from err
    for name in ("qty_delta", "balance_after"):
        value = getattr(move, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidMove(move_id, f"{name} 不是整数", f"{name} is not an integer")
        if abs(value) > INT32_MAX:
            raise InvalidMove(move_id, f"{name} 超出范围", f"{name} out of range")
    try:
        reason = MoveReason(move.reason)
    except ValueError as err:
        raise InvalidMove(
            move_id, f"未知原因代码 {move.reason!r}", f"unknown reason code {move.reason!r}"
        ) from err
    if reason is MoveReason.REVERSAL and not move.reverses_move_id:
        raise InvalidMove(move_id, "冲销缺少 reverses_move_id", "reversal without reverses_move_id")
    for name in ("occurred_at", "recorded_at"):
        value = getattr(move, name)
        if not isinstance(value, datetime) or value.utcoffset() is None:
            raise InvalidMove(move_id, f"{name} 缺少时区", f"{name} has no timezone")


def _move_row(move: Move, received_at: datetime) -> dict[str, Any]:
    validate_move(move)
    return {
        "move_id": move.move_id,
        "sku": move.sku,
        "location": move.location,
        "warehouse_id": move.warehouse_id,
        "station_id": move.station_id,
        "qty_delta": move.qty_delta,
        "balance_after": move.balance_after,
        "reason": int(move.reason),
        "source_type": move.source_type,
        "source_id": move.source_id,
        "source_line": move.source_line,
        "operator_id": move.operator_id,
        "device_id": move.device_id,
        "occurred_at": move.occurred_at,
        "recorded_at": move.recorded_at,
        "received_at": received_at,
        "reverses_move_id": move.reverses_move_id,
        "note": move.note,
    }


def _insert_for(conn: Connection) -> Callable[[sa.Table], Any]:
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise DatabaseError(f"不支持的数据库 / unsupported database: {name}")


def insert_moves(
    conn: Connection, moves: Iterable[Move], *, received_at: datetime | None = None
) -> list[str]:
    """Store each move once by ``move_id`` and return the ids that were new, in input order.

    Moves already stored (or repeated within ``moves``: the first one wins) are skipped
    and leave balances untouched; each new move adds its ``qty_delta`` to its
    (warehouse, sku, location) balance in this same transaction. All moves are validated
    first (:func:`validate_move`): one invalid move raises :class:`InvalidMove` and
    nothing is written. A reversal of a move that another move already reverses (stored,
    or earlier in ``moves``) raises :class:`ReversalConflict`: a move is reversed at most
    once (the unique index on ``reverses_move_id`` backs this up under concurrency). ``received_at`` (default: now) must be timezone-aware.
    Database failures raise :class:`DatabaseError` from the driver error.
    """
    received = received_at if received_at is not None else datetime.now(UTC)
    if received.utcoffset() is None:
        raise ValueError("received_at must be timezone-aware")
    rows: dict[str, dict[str, Any]] = {}
    for move in moves:
        row = _move_row(move, received)
        rows.setdefault(row["move_id"], row)
    if not rows:
        return []
    insert = _insert_for(conn)
    try:
        _check_reversals(conn, rows.values())
        stmt = (
            insert(stock_moves)
            .on_conflict_do_nothing(index_elements=[stock_moves.c.move_id])
            .returning(stock_moves.c.move_id)
        )
        new_ids = set(conn.execute(stmt, list(rows.values())).scalars().all())
        if new_ids:
            _add_to_balances(conn, insert, (rows[i] for i in new_ids))
            _add_to_shipped(conn, insert, [rows[i] for i in sorted(new_ids)])
    except sa.exc.DBAPIError as err:
        raise DatabaseError(f"写入库存变动失败 / storing moves failed: {_first_line(err)}") from err
    return [move_id for move_id in rows if move_id in new_ids]


def _check_reversals(conn: Connection, rows: Iterable[dict[str, Any]]) -> None:
    """Raise :class:`ReversalConflict` for the first reversal of an already reversed move."""
    by_target: dict[str, str] = {}
    for row in rows:
        target = row["reverses_move_id"]
        if target is None:
            continue
        if target in by_target:
            raise ReversalConflict(row["move_id"], target, by_target[target])
        by_target[target] = row["move_id"]
    targets = sorted(by_target)
    m = stock_moves.c
    for chunk in in_chunks(targets):
        query = sa.select(m.move_id, m.reverses_move_id).where(
            m.reverses_move_id.in_(chunk))
        for winner, target in conn.execute(query):
            if winner != by_target[target]:
                raise ReversalConflict(by_target[target], target, winner)


def _add_to_balances(
    conn: Connection, insert: Callable[[sa.Table], Any], rows: Iterable[dict[str, Any]]
) -> None:
    deltas: dict[tuple[str, str, str], int] = defaultdict(int)
    for row in rows:
        deltas[(row["warehouse_id"], row["sku"], row["location"])] += row["qty_delta"]
    stmt = insert(stock_balances)
    stmt = stmt.on_conflict_do_update(
        index_elements=[stock_balances.c.warehouse_id, stock_balances.c.sku, stock_balances.c.location],
        set_={"qty": stock_balances.c.qty + stmt.excluded.qty},
    )
    # Sorted keys: concurrent writers lock balance rows in the same order (no deadlock).
    params = [
        {"warehouse_id": wh, "sku": sku, "location": loc, "qty": qty}
        for (wh, sku, loc), qty in sorted(deltas.items())
    ]
    conn.execute(stmt, params)


def _add_to_shipped(
    conn: Connection, insert: Callable[[sa.Table], Any], rows: list[dict[str, Any]]
) -> None:
    """Book new SHIP moves on their UTC day and new reversals of SHIP moves off the
    original's day (``shipped_daily``)."""
    deltas: dict[tuple[date, str, str], int] = defaultdict(int)
    targets = [r["reverses_move_id"] for r in rows
               if r["reason"] == int(MoveReason.REVERSAL) and r["reverses_move_id"]]
    originals: dict[str, datetime] = {}
    m = stock_moves.c
    for chunk in in_chunks(targets):
        originals.update(conn.execute(sa.select(m.move_id, m.occurred_at).where(
            m.move_id.in_(chunk), m.reason == int(MoveReason.SHIP))).all())
    for row in rows:
        if row["reason"] == int(MoveReason.SHIP):
            at = row["occurred_at"]
        elif row["reverses_move_id"] in originals:
            at = originals[row["reverses_move_id"]]
        else:
            continue
        deltas[(at.astimezone(UTC).date(), row["warehouse_id"], row["sku"])] -= row["qty_delta"]
    params = [{"day": d, "warehouse_id": wh, "sku": sku, "units": units}
              for (d, wh, sku), units in sorted(deltas.items()) if units]
    if not params:
        return
    stmt = insert(shipped_daily)
    stmt = stmt.on_conflict_do_update(
        index_elements=[shipped_daily.c.day, shipped_daily.c.warehouse_id, shipped_daily.c.sku],
        set_={"units": shipped_daily.c.units + stmt.excluded.units})
    conn.execute(stmt, params)


def rebuild_shipped(conn: Connection) -> int:
    """Recompute ``shipped_daily`` from the ledger (``reports rebuild``); rows written."""
    conn.execute(sa.delete(shipped_daily))
    original = stock_moves.alias("original")
    m, o = stock_moves.c, original.c
    deltas: dict[tuple[date, str, str], int] = defaultdict(int)
    for at, wh, sku, qty in conn.execute(
            sa.select(m.occurred_at, m.warehouse_id, m.sku, m.qty_delta)
            .where(m.reason == int(MoveReason.SHIP))
            .execution_options(yield_per=10_000)):
        deltas[(at.astimezone(UTC).date(), wh, sku)] -= qty
    for at, wh, sku, qty in conn.execute(
            sa.select(o.occurred_at, m.warehouse_id, m.sku, m.qty_delta)
            .select_from(stock_moves.join(original, o.move_id == m.reverses_move_id))
            .where(m.reason == int(MoveReason.REVERSAL), o.reason == int(MoveReason.SHIP))):
        deltas[(at.astimezone(UTC).date(), wh, sku)] -= qty
    params = [{"day": d, "warehouse_id": wh, "sku": sku, "units": units}
              for (d, wh, sku), units in sorted(deltas.items()) if units]
    for start in range(0, len(params), 5000):
        conn.execute(sa.insert(shipped_daily), params[start:start + 5000])
    return len(params)


def balances(
    conn: Connection,
    *,
    warehouse_id: str | None = None,
    sku: str | None = None,
    location: str | None = None,
    include_zero: bool = False,
) -> list[WarehouseBalance]:
    """Balances, optionally filtered, ordered by warehouse, SKU, location.

    Zero balances are left out unless ``include_zero``.
    """
    b = stock_balances
    query = sa.select(b.c.warehouse_id, b.c.sku, b.c.location, b.c.qty)
    if warehouse_id is not None:
        query = query.where(b.c.warehouse_id == warehouse_id)
    if sku is not None:
        query = query.where(b.c.sku == sku)
    if location is not None:
        query = query.where(b.c.location == location)
    if not include_zero:
        query = query.where(b.c.qty != 0)
    query = query.order_by(b.c.warehouse_id, b.c.sku, b.c.location)
    return [WarehouseBalance(r.warehouse_id, r.sku, r.location, int(r.qty)) for r in conn.execute(query)]


def move_history(
    conn: Connection,
    *,
    warehouse_id: str | None = None,
    sku: str | None = None,
    location: str | None = None,
    station_id: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[StoredMove]:
    """Moves matching the filters, newest ``occurred_at`` first, at most ``limit``."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    m = stock_moves
    query = sa.select(m)
    for column, value in (
        (m.c.warehouse_id, warehouse_id),
        (m.c.sku, sku),
        (m.c.location, location),
        (m.c.station_id, station_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(m.c.occurred_at >= since)
    query = query.order_by(m.c.occurred_at.desc(), m.c.recorded_at.desc(), m.c.move_id.desc())
    return [_stored_move(row) for row in conn.execute(query.limit(limit)).mappings()]


def get_moves(conn: Connection, move_ids: Sequence[str]) -> dict[str, StoredMove]:
    """The stored moves among ``move_ids``, by id (unknown ids are absent)."""
    if not move_ids:
        return {}
    found: dict[str, StoredMove] = {}
    ids = list(dict.fromkeys(move_ids))
    for chunk in in_chunks(ids):
        query = sa.select(stock_moves).where(stock_moves.c.move_id.in_(chunk))
        for row in conn.execute(query).mappings():
            found[row["move_id"]] = _stored_move(row)
    return found


def _stored_move(row: sa.RowMapping) -> StoredMove:
    move = Move(
        move_id=row["move_id"],
        sku=row["sku"],
        location=row["location"],
        qty_delta=row["qty_delta"],
        balance_after=row["balance_after"],
        reason=MoveReason(row["reason"]),
        source_type=row["source_type"],
        source_id=row["source_id"],
        source_line=row["source_line"],
        operator_id=row["operator_id"],
        station_id=row["station_id"],
        device_id=row["device_id"],
        occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"],
        reverses_move_id=row["reverses_move_id"],
        note=row["note"],
        warehouse_id=row["warehouse_id"],
    )
    return StoredMove(move=move, received_at=row["received_at"])


def _sums(warehouse_id: str | None) -> sa.Subquery:
    m = stock_moves
    query = sa.select(
        m.c.warehouse_id, m.c.sku, m.c.location, sa.func.sum(m.c.qty_delta).label("moves_qty")
    ).group_by(m.c.warehouse_id, m.c.sku, m.c.location)
    if warehouse_id is not None:
        query = query.where(m.c.warehouse_id == warehouse_id)
    return query.subquery("sums")


def check_balances(conn: Connection, *, warehouse_id: str | None = None) -> list[BalanceMismatch]:
    """Every key where ``stock_balances`` disagrees with the sum of ``stock_moves``.

    An empty list means the cache is exact (including: a balance row for every key that
    has moves, and none without).
    """
    b = stock_balances
    sums = _sums(warehouse_id)
    same_key = sa.and_(
        b.c.warehouse_id == sums.c.warehouse_id, b.c.sku == sums.c.sku, b.c.location == sums.c.location
    )
    wrong_or_missing = (
        sa.select(sums.c.warehouse_id, sums.c.sku, sums.c.location, b.c.qty, sums.c.moves_qty)
        .select_from(sums.outerjoin(b, same_key))
        .where(sa.or_(b.c.qty.is_(None), b.c.qty != sums.c.moves_qty))
    )
    m = stock_moves
    has_moves = (
        sa.select(sa.literal(1))
        .where(m.c.warehouse_id == b.c.warehouse_id, m.c.sku == b.c.sku, m.c.location == b.c.location)
        .exists()
    )
    orphans = sa.select(b.c.warehouse_id, b.c.sku, b.c.location, b.c.qty).where(~has_moves)
    if warehouse_id is not None:
        orphans = orphans.where(b.c.warehouse_id == warehouse_id)
    found = [
        BalanceMismatch(r[0], r[1], r[2], None if r[3] is None else int(r[3]), int(r[4]))
        for r in conn.execute(wrong_or_missing)
    ]
    found += [BalanceMismatch(r[0], r[1], r[2], int(r[3]), None) for r in conn.execute(orphans)]
    return sorted(found, key=lambda x: (x.warehouse_id, x.sku, x.location))


def rebuild_balances(conn: Connection, *, warehouse_id: str | None = None) -> int:
    """Recompute ``stock_balances`` from ``stock_moves`` (one warehouse or all); return row count.

    On PostgreSQL the balance table is locked (EXCLUSIVE: reads go on, writers wait) so a
    concurrent :func:`insert_moves` cannot be lost between the delete and the re-insert.
    """
    b = stock_balances
    try:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("LOCK TABLE stock_balances IN EXCLUSIVE MODE"))
        delete = sa.delete(b)
        if warehouse_id is not None:
            delete = delete.where(b.c.warehouse_id == warehouse_id)
        conn.execute(delete)
        sums = _sums(warehouse_id)
        result = conn.execute(
            sa.insert(b).from_select(
                ["warehouse_id", "sku", "location", "qty"],
                sa.select(sums.c.warehouse_id, sums.c.sku, sums.c.location, sums.c.moves_qty),
            ),
            execution_options={"preserve_rowcount": True},
        )
    except sa.exc.DBAPIError as err:
        raise DatabaseError(f"重建库存失败 / rebuilding balances failed: {_first_line(err)}") from err
    return int(result.rowcount)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
