"""Transfers (调拨): goods moved from one warehouse to another.

A transfer is written as a draft (warehouse lead, manager or admin) with ``SKU quantity``
lines, then sent: in that transaction it is queued as a ``transfer`` down-message for every
station of **both** warehouses. A station of the source warehouse ships it (TRANSFER_OUT
moves, −qty, source ``transfer`` / id / line: the goods leave its stock and are in transit);
a station of the destination receives it (TRANSFER_IN moves, +qty). Ingest counts those
moves on the lines (:func:`on_moves`) and sends the counts back down, which is how the
destination learns what it may receive.

Status: draft → sent → shipped (something shipped, nothing received) → partial (something
received, not every unit ordered) → received (every unit arrived, or closed short). A draft
or sent transfer with nothing shipped can be cancelled with a reason. A transfer that has
shipped can be **closed short** (:func:`close`) with a reason when the rest will not
arrive: the units shipped and not received are recorded missing per line
(``transfer_lines.qty_missing``), so they are no longer in transit, and the stations stop
shipping and receiving it.

In transit = shipped − received − missing, per line; per destination warehouse and SKU it
is shown beside the stock (``cloud.stock.levels``). Every step is audited
(``transfer.create``, ``transfer.send``, ``transfer.cancel``, ``transfer.close``). Each
function writes in the caller's transaction and reports every problem with its input at
once (:class:`InputError`), writing nothing then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud import audit
from cloud.config import DISPLAY_TZ
from cloud.db.schema import skus, warehouses
from cloud.db.schema_transfers import transfer_discrepancies, transfer_lines, transfers
from cloud.errors import InputError, Problem
from cloud.sync.outbound import enqueue_down, stations_of_warehouse
from cloud.sync.reports import insert_ignore
from edge.domain.models import MAX_MOVE_QTY, MoveReason
from edge.sync.schema import MoveWire, TransferDiffWire, TransferLineWire, TransferWire

MAX_LINES = 1000
"""Most lines on one transfer (what ``TransferWire`` takes)."""
ID_ATTEMPTS = 5
"""Numbers tried when transfers are written at the same moment (the next number each time)
before giving up."""
CANCELLABLE = ("draft", "sent")
"""Statuses a transfer can be cancelled from (nothing shipped yet)."""
CLOSABLE = ("shipped", "partial")
"""Statuses a transfer can be closed short from (something shipped, not all received)."""
OPEN = ("sent", "shipped", "partial")
"""Statuses the stations ship and receive against."""
REASON_MAX = 1000
"""Longest cancel or close reason kept."""


@dataclass(frozen=True, slots=True)
class TransferLine:
    """One line of a transfer with its counts."""

    line_no: int
    sku: str
    qty: int
    qty_shipped: int
    qty_received: int
    qty_missing: int

    @property
    def in_transit(self) -> int:
        """Shipped, not received, not recorded missing (never below 0: a receipt counted
        after the transfer was closed short is not negative transit)."""
        return max(0, self.qty_shipped - self.qty_received - self.qty_missing)


@dataclass(frozen=True, slots=True)
class Transfer:
    """A transfer with its lines."""

    id: str
    from_warehouse: str
    to_warehouse: str
    status: str
    note: str
    created_by: str
    created_at: datetime
    sent_by: str | None
    sent_at: datetime | None
    closed_by: str | None
    closed_at: datetime | None
    close_reason: str | None
    cancel_reason: str | None
    lines: list[TransferLine] = field(default_factory=list)

    @property
    def in_transit(self) -> int:
        """Units in transit over all lines."""
        return sum(ln.in_transit for ln in self.lines)

    @property
    def missing(self) -> int:
        """Units recorded missing over all lines (closed short)."""
        return sum(ln.qty_missing for ln in self.lines)


def parse_lines(conn: Connection, text: str) -> tuple[list[tuple[str, int]], list[Problem]]:
    """``SKU quantity`` per row → (sku, qty), with a problem per bad row (row numbers count
    every row typed, blank ones included). A SKU on two rows is refused (one line each)."""
    rows: list[tuple[int, str, str]] = []
    problems: list[Problem] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        parts = raw.replace(",", " ").replace("，", " ").replace("\t", " ").split()
        if not parts:
            continue
        if len(parts) != 2:
            problems.append(Problem("lines", f"第 {n} 行应为: 商品编码 数量",
                                    f"row {n} should be: SKU quantity"))
            continue
        rows.append((n, parts[0], parts[1]))
    known = set(conn.execute(sa.select(skus.c.sku).where(
        skus.c.sku.in_({r[1] for r in rows}))).scalars()) if rows else set()
    out: list[tuple[str, int]] = []
    seen: set[str] = set()
    for n, sku, qty_text in rows:
        if sku not in known:
            problems.append(Problem("lines", f"第 {n} 行: 未知商品 {sku}", f"row {n}: unknown SKU {sku}"))
            continue
        if sku in seen:
            problems.append(Problem("lines", f"第 {n} 行: 商品 {sku} 重复", f"row {n}: {sku} again"))
            continue
        if not qty_text.isdigit() or not 1 <= int(qty_text) <= MAX_MOVE_QTY:
            problems.append(Problem("lines", f"第 {n} 行: 数量应为 1~{MAX_MOVE_QTY:,} 的整数",
                                    f"row {n}: the quantity is a whole number 1–{MAX_MOVE_QTY:,}"))
            continue
        seen.add(sku)
        out.append((sku, int(qty_text)))
    if not out and not problems:
        problems.append(Problem("lines", "请至少填写一行商品", "enter at least one line"))
    if len(out) > MAX_LINES:
        problems.append(Problem("lines", f"最多 {MAX_LINES} 行", f"at most {MAX_LINES} lines"))
    return out, problems


def _next_id(transfer_id: str) -> str:
    prefix, _, n = transfer_id.rpartition("-")
    return f"{prefix}-{int(n) + 1:03d}"


def _new_id(conn: Connection, now: datetime) -> str:
    prefix = f"TR{now.astimezone(DISPLAY_TZ):%Y%m%d}-"
    taken = conn.execute(sa.select(sa.func.count()).select_from(transfers).where(
        transfers.c.id.like(f"{prefix}%"))).scalar_one()
    return f"{prefix}{int(taken) + 1:03d}"


def create(conn: Connection, *, from_warehouse: str, to_warehouse: str, lines: str, note: str,
           actor: str, now: datetime) -> str:
    """Write a draft transfer; returns its id."""
    problems: list[Problem] = []
    known = set(conn.execute(sa.select(warehouses.c.id).where(
        warehouses.c.id.in_({from_warehouse, to_warehouse}))).scalars())
    if from_warehouse not in known:
        problems.append(Problem("from_warehouse", "请选择调出仓库", "choose the warehouse to ship from"))
    if to_warehouse not in known:
        problems.append(Problem("to_warehouse", "请选择调入仓库", "choose the warehouse to receive at"))
    elif to_warehouse == from_warehouse:
        problems.append(Problem("to_warehouse", "调入仓库不能与调出仓库相同",
                                "the destination must differ from the source"))
    parsed, line_problems = parse_lines(conn, lines)
    problems += line_problems
    if problems:
        raise InputError(problems)
    transfer_id = _new_id(conn, now)
    for attempt in range(ID_ATTEMPTS):  # another lead may take the same number at once
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(transfers).values(
                    id=transfer_id, from_warehouse=from_warehouse, to_warehouse=to_warehouse,
                    status="draft", note=note.strip()[:REASON_MAX], created_by=actor,
                    created_at=now, updated_at=now))
            break
        except sa.exc.IntegrityError:
            if attempt == ID_ATTEMPTS - 1:
                raise
            transfer_id = _next_id(transfer_id)
    conn.execute(sa.insert(transfer_lines), [
        {"transfer_id": transfer_id, "line_no": i, "sku": sku, "qty": qty}
        for i, (sku, qty) in enumerate(parsed, start=1)])
    audit.record(conn, now, actor, "transfer.create", transfer_id,
                 {"from": from_warehouse, "to": to_warehouse, "lines": len(parsed),
                  "units": sum(q for _, q in parsed)})
    return transfer_id


def get(conn: Connection, transfer_id: str) -> Transfer | None:
    """A transfer with its lines, or None."""
    r = conn.execute(sa.select(transfers).where(transfers.c.id == transfer_id)).first()
    if r is None:
        return None
    ln = transfer_lines.c
    lines = [TransferLine(x.line_no, x.sku, x.qty, x.qty_shipped, x.qty_received, x.qty_missing)
             for x in conn.execute(sa.select(transfer_lines).where(
                 ln.transfer_id == transfer_id).order_by(ln.line_no))]
    return Transfer(r.id, r.from_warehouse, r.to_warehouse, r.status, r.note, r.created_by,
                    r.created_at, r.sent_by, r.sent_at, r.closed_by, r.closed_at,
                    r.close_reason, r.cancel_reason, lines)


def list_transfers(conn: Connection, *, status: str | None = None,
                   limit: int = 200) -> list[Transfer]:
    """Transfers, newest first (with their lines)."""
    query = sa.select(transfers.c.id).order_by(transfers.c.created_at.desc(),
                                               transfers.c.id.desc()).limit(limit)
    if status:
        query = query.where(transfers.c.status == status)
    found = [get(conn, transfer_id) for transfer_id in conn.execute(query).scalars()]
    return [t for t in found if t is not None]


def _status(conn: Connection, transfer_id: str) -> str:
    row = conn.execute(sa.select(transfers.c.status).where(
        transfers.c.id == transfer_id).with_for_update()).first()
    if row is None:
        raise InputError([Problem("", f"没有调拨单 {transfer_id}", f"no transfer {transfer_id}")])
    return str(row.status)


def _wrong(status: str, want: tuple[str, str]) -> Problem:
    return Problem("", f"调拨单状态为 {status}, 不能{want[0]}",
                   f"the transfer is {status}: it cannot be {want[1]}")


def _wire(t: Transfer) -> TransferWire:
    status = ("cancelled" if t.status == "cancelled"
              else "closed" if t.status == "received" else "open")
    return TransferWire(
        transfer_id=t.id, from_warehouse=t.from_warehouse, to_warehouse=t.to_warehouse,
        status=status, note=t.note or None,
        lines=[TransferLineWire(line_no=ln.line_no, sku=ln.sku, qty=ln.qty,
                                qty_shipped=ln.qty_shipped, qty_received=ln.qty_received)
               for ln in t.lines])


def _stations(conn: Connection, t: Transfer) -> list[str]:
    return [*stations_of_warehouse(conn, t.from_warehouse),
            *stations_of_warehouse(conn, t.to_warehouse)]


def _send_down(conn: Connection, transfer_id: str, now: datetime) -> int:
    """Queue the transfer as it now stands for every station of both warehouses."""
    t = get(conn, transfer_id)
    assert t is not None
    targets = _stations(conn, t)
    wire = _wire(t)
    for station_id in targets:
        enqueue_down(conn, station_id, "transfer", wire, now=now)
    return len(targets)


def send(conn: Connection, transfer_id: str, *, actor: str, now: datetime) -> int:
    """draft → sent: queued for every station of both warehouses; returns how many.
    Refused when either warehouse has no station (nobody could ship or receive it)."""
    status = _status(conn, transfer_id)
    if status != "draft":
        raise InputError([_wrong(status, ("发送", "sent"))])
    t = get(conn, transfer_id)
    assert t is not None
    problems = [Problem("", f"仓库 {wh} 没有工作站", f"warehouse {wh} has no station")
                for wh in (t.from_warehouse, t.to_warehouse)
                if not stations_of_warehouse(conn, wh)]
    if problems:
        raise InputError(problems)
    conn.execute(sa.update(transfers).where(transfers.c.id == transfer_id).values(
        status="sent", sent_by=actor, sent_at=now, updated_at=now))
    n = _send_down(conn, transfer_id, now)
    audit.record(conn, now, actor, "transfer.send", transfer_id,
                 {"stations": ", ".join(_stations(conn, t))})
    return n


def cancel(conn: Connection, transfer_id: str, *, actor: str, reason: str, now: datetime) -> None:
    """draft / sent → cancelled, with a reason (only while nothing has shipped); a sent
    transfer is sent again as cancelled so the stations stop expecting it."""
    reason = reason.strip()
    problems = [] if reason else [Problem("reason", "请写明取消原因", "say why it is cancelled")]
    status = _status(conn, transfer_id)
    if status not in CANCELLABLE:
        problems.append(_wrong(status, ("取消", "cancelled")))
    if problems:
        raise InputError(problems)
    conn.execute(sa.update(transfers).where(transfers.c.id == transfer_id).values(
        status="cancelled", cancel_reason=reason[:REASON_MAX], updated_at=now))
    if status == "sent":
        _send_down(conn, transfer_id, now)
    audit.record(conn, now, actor, "transfer.cancel", transfer_id,
                 {"from": status, "reason": reason[:REASON_MAX]})


def close(conn: Connection, transfer_id: str, *, actor: str, reason: str,
          now: datetime) -> dict[int, int]:
    """Close a transfer short (shipped / partial → received) with a reason: on each line the
    units shipped and not received are recorded missing, so nothing of it stays in transit;
    the stations are told it is closed. Returns the missing units per line number (lines
    with none left out); the audit entry lists them."""
    reason = reason.strip()
    problems = [] if reason else [Problem("reason", "请写明结案原因", "say why it is closed")]
    status = _status(conn, transfer_id)
    if status not in CLOSABLE:
        problems.append(_wrong(status, ("结案", "closed")))
    if problems:
        raise InputError(problems)
    t = get(conn, transfer_id)
    assert t is not None
    missing = {ln.line_no: ln.in_transit for ln in t.lines if ln.in_transit > 0}
    for line_no, units in missing.items():
        conn.execute(sa.update(transfer_lines).where(
            transfer_lines.c.transfer_id == transfer_id,
            transfer_lines.c.line_no == line_no).values(
            qty_missing=transfer_lines.c.qty_missing + units))
    conn.execute(sa.update(transfers).where(transfers.c.id == transfer_id).values(
        status="received", closed_by=actor, closed_at=now, close_reason=reason[:REASON_MAX],
        updated_at=now))
    _send_down(conn, transfer_id, now)
    audit.record(conn, now, actor, "transfer.close", transfer_id,
                 {"from": status, "reason": reason[:REASON_MAX],
                  "missing": {str(k): v for k, v in missing.items()},
                  "not_shipped": {str(ln.line_no): ln.qty - ln.qty_shipped for ln in t.lines
                                  if ln.qty > ln.qty_shipped}})
    return missing


def on_moves(conn: Connection, moves: Sequence[MoveWire], *, now: datetime) -> int:
    """New moves from the stations (ingest, same transaction): each TRANSFER_OUT against a
    line of a transfer this cloud sent adds to the line's shipped count, each TRANSFER_IN to
    its received count (by its signed quantity). A reversal of such a move (reason
REVERSAL) is not counted: a reversed shipment stays shipped here until someone closes the
transfer short. The transfer
    moves to shipped / partial / received, and its new counts are sent to the stations of
    both warehouses (the destination may receive only what has shipped). Returns the moves
    counted; other moves, and moves naming no known line, change nothing here."""
    counted = 0
    touched: set[str] = set()
    ln = transfer_lines.c
    for m in moves:
        if not (m.source_type == "transfer" and m.source_line and m.source_line.isdigit()):
            continue
        if m.reason == MoveReason.TRANSFER_OUT:
            values = {"qty_shipped": ln.qty_shipped - m.qty_delta}
        elif m.reason == MoveReason.TRANSFER_IN:
            values = {"qty_received": ln.qty_received + m.qty_delta}
        else:
            continue
        done = conn.execute(sa.update(transfer_lines).where(
            ln.transfer_id == m.source_id, ln.line_no == int(m.source_line)).values(**values))
        if done.rowcount:
            touched.add(m.source_id)
            counted += 1
    for transfer_id in sorted(touched):
        _moved_status(conn, transfer_id, now)
        _send_down(conn, transfer_id, now)
    return counted


def _moved_status(conn: Connection, transfer_id: str, now: datetime) -> None:
    ln = transfer_lines.c
    row = conn.execute(sa.select(
        sa.func.coalesce(sa.func.sum(ln.qty_shipped), 0),
        sa.func.coalesce(sa.func.sum(ln.qty_received), 0),
        sa.func.count().filter(ln.qty_received + ln.qty_missing < ln.qty)).where(
        ln.transfer_id == transfer_id)).one()
    shipped, received, short = int(row[0]), int(row[1]), int(row[2])
    if received > 0 or missing_any(conn, transfer_id):
        status = "partial" if short else "received"
    elif shipped > 0:
        status = "shipped"
    else:
        status = "sent"
    conn.execute(sa.update(transfers).where(
        transfers.c.id == transfer_id, transfers.c.status.in_(OPEN)
    ).values(status=status, updated_at=now))


def missing_any(conn: Connection, transfer_id: str) -> bool:
    """Whether some unit of the transfer is recorded missing."""
    return bool(conn.execute(sa.select(sa.func.coalesce(sa.func.sum(
        transfer_lines.c.qty_missing), 0)).where(
        transfer_lines.c.transfer_id == transfer_id)).scalar_one())


def on_discrepancy(conn: Connection, station_id: str, msg_id: str, wire: TransferDiffWire, *,
                   now: datetime) -> bool:
    """A discrepancy a destination station recorded on receipt (ingest, same transaction),
    kept once by its msg_id: a redelivery changes nothing. A shortfall (counted below what
    was in transit) is added to the line's ``qty_missing`` — those units are no longer in
    transit — and the transfer's status and counts go to both warehouses' stations again; a
    surplus is only recorded (the station booked the extra units as a COUNT_ADJUST move).
    Returns whether it was new; one naming no known line of an open transfer is recorded
    and changes no count. Audited as ``transfer.discrepancy``."""
    done = conn.execute(insert_ignore(conn, transfer_discrepancies).values(
        msg_id=msg_id, station_id=station_id, transfer_id=wire.transfer_id,
        line_no=wire.line_no, sku=wire.sku, expected=wire.expected, counted=wire.counted,
        reason=wire.reason[:REASON_MAX], operator_id=wire.operator_id, recorded_at=wire.at,
        received_at=now).returning(transfer_discrepancies.c.msg_id)).first()
    if done is None:  # delivered before
        return False
    short = wire.expected - wire.counted
    open_now = conn.execute(sa.select(transfers.c.status).where(
        transfers.c.id == wire.transfer_id)).scalar_one_or_none() in OPEN
    if short > 0 and open_now:
        ln = transfer_lines.c
        conn.execute(sa.update(transfer_lines).where(
            ln.transfer_id == wire.transfer_id, ln.line_no == wire.line_no).values(
            qty_missing=ln.qty_missing + short))
        _moved_status(conn, wire.transfer_id, now)
        _send_down(conn, wire.transfer_id, now)
    audit.record(conn, now, wire.operator_id, "transfer.discrepancy", wire.transfer_id,
                 {"station": station_id, "line": wire.line_no, "sku": wire.sku,
                  "expected": wire.expected, "counted": wire.counted,
                  "reason": wire.reason[:REASON_MAX]})
    return True


def discrepancies(conn: Connection, transfer_id: str) -> list[dict[str, Any]]:
    """The discrepancies recorded on a transfer's receipts, oldest first."""
    d = transfer_discrepancies.c
    return [dict(r._mapping) for r in conn.execute(
        sa.select(transfer_discrepancies).where(d.transfer_id == transfer_id)
        .order_by(d.recorded_at, d.msg_id))]


def in_transit(conn: Connection, *, warehouse_id: str | None = None) -> dict[tuple[str, str], int]:
    """Units in transit per (destination warehouse, SKU), over transfers not cancelled."""
    return {(str(r[0]), str(r[1])): int(r[2])
            for r in conn.execute(in_transit_query(warehouse_id))}


def in_transit_query(warehouse_id: str | None = None) -> sa.Select[Any]:
    """(destination warehouse, SKU, units in transit) with some in transit."""
    ln, t = transfer_lines.c, transfers.c
    units = sa.func.sum(ln.qty_shipped - ln.qty_received - ln.qty_missing)
    query = (sa.select(t.to_warehouse, ln.sku, units.label("in_transit"))
             .select_from(transfer_lines.join(transfers, t.id == ln.transfer_id))
             .where(t.status != "cancelled")
             .group_by(t.to_warehouse, ln.sku).having(units > 0))
    if warehouse_id is not None:
        query = query.where(t.to_warehouse == warehouse_id)
    return query
