"""What stations report besides moves, as ingest stores it: alerts, shipments (with the
packer's figures), sign-ins, label prints, handovers to couriers, health, and the alert a
second reversal of one move raises.

Each function writes in the caller's transaction (ingest's one transaction per batch) and
is idempotent: rows are keyed by the message id (or, for health, kept only when newer), so
a redelivered message changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from cloud import ledger_store
from cloud.db.schema import (
    station_alerts,
    station_handover_parcels,
    station_handovers,
    station_health,
    station_label_prints,
    station_shipments,
    station_sign_ins,
    stock_moves,
)
from cloud.errors import ReversalConflict
from cloud.reports import fulfilment, profit
from edge.sync.schema import (
    AlertWire,
    Envelope,
    HandoverWire,
    HealthWire,
    LabelPrintWire,
    MoveWire,
    ShipmentWire,
    SignInWire,
)

_ENVELOPE_COLUMNS = {"msg_id", "station_id", "received_at"}
# Columns a payload fills; stations may send more (telemetry) than the tables keep.
_SHIPMENT_COLUMNS = set(station_shipments.c.keys()) - _ENVELOPE_COLUMNS
_SIGN_IN_COLUMNS = set(station_sign_ins.c.keys()) - _ENVELOPE_COLUMNS


def record_report(conn: Connection, station: str, env: Envelope, payload: BaseModel,
                  now: datetime) -> None:
    """Store an alert, a shipment, a sign-in or a label print once by its message id."""
    if isinstance(payload, AlertWire):
        table, row = station_alerts, {
            "kind": payload.kind, "subject": payload.subject[:200], "detail": payload.detail,
            "raised_at": env.created_at,
        }
    elif isinstance(payload, ShipmentWire):
        table, row = station_shipments, payload.model_dump(include=_SHIPMENT_COLUMNS)
        row.update(packer_figures(payload.kpis))
    elif isinstance(payload, SignInWire):
        table, row = station_sign_ins, payload.model_dump(include=_SIGN_IN_COLUMNS)
    elif isinstance(payload, LabelPrintWire):  # stations send labels only
        table, row = station_label_prints, {
            "order_id": payload.order_id, "n": payload.n, "operator_id": payload.operator_id,
            "reason": clean(payload.reason) if payload.reason else None, "printed_at": payload.at,
        }
    else:
        raise TypeError(f"not a report: {type(payload).__name__}")
    row.update(msg_id=env.msg_id, station_id=station, received_at=now)
    new = conn.execute(insert_ignore(conn, table).values(**row)
                       .returning(table.c.msg_id)).first() is not None
    if new and table is station_shipments:  # the fulfilment summaries, in this transaction
        fulfilment.on_shipment(conn, row)
        profit.touch(conn, [str(row["order_id"])], now=now)  # its courier charge, in the report
    elif new and table is station_label_prints:
        fulfilment.on_label_print(conn, row)


def record_handover(conn: Connection, station: str, env: Envelope, wire: HandoverWire,
                    now: datetime) -> bool:
    """Store a closed handover batch and its parcels once by the message id. Returns
    whether it was new (a redelivery changes nothing)."""
    known = conn.execute(sa.select(station_handovers.c.msg_id)
                         .where(station_handovers.c.msg_id == env.msg_id)).first()
    if known is not None:
        return False
    conn.execute(insert_ignore(conn, station_handovers).values(
        msg_id=env.msg_id, station_id=station, batch_id=wire.batch_id, carrier=wire.carrier,
        operator_id=wire.operator_id, opened_at=wire.opened_at, closed_at=wire.closed_at,
        parcels=len(wire.parcels), not_handed_over=len(wire.not_handed_over),
        received_at=now))
    if wire.parcels:
        seen: dict[str, dict[str, Any]] = {}
        for p in wire.parcels:  # a waybill twice in one batch is kept once
            seen.setdefault(p.waybill_no, {
                "msg_id": env.msg_id, "waybill_no": p.waybill_no, "order_id": p.order_id,
                "operator_id": p.operator_id, "scanned_at": p.scanned_at})
        conn.execute(insert_ignore(conn, station_handover_parcels), list(seen.values()))
    return True


def record_health(conn: Connection, station: str, env: Envelope, wire: HealthWire, now: datetime) -> None:
    """Keep the station's latest health report (a late, older one changes nothing)."""
    row = {
        "station_id": station, "msg_id": env.msg_id, "reported_at": env.created_at,
        "received_at": now, "backup_last_success_at": wire.backup_last_success_at,
        "backup_lag_seconds": wire.backup_lag_seconds,
        "backup_last_error": clean(wire.backup_last_error) if wire.backup_last_error else None,
        "outbox_backlog": wire.outbox_backlog, "detail": wire.model_dump(mode="json"),
    }
    insert = (postgresql.insert(station_health) if conn.dialect.name == "postgresql"
              else sqlite.insert(station_health)).values(**row)
    conn.execute(insert.on_conflict_do_update(
        index_elements=[station_health.c.station_id],
        set_={k: insert.excluded[k] for k in row if k != "station_id"},
        where=station_health.c.reported_at <= insert.excluded.reported_at,
    ))


def record_conflict(conn: Connection, station: str, wire: MoveWire, err: ReversalConflict,
                    now: datetime) -> None:
    """A second reversal of one move: an alert for the manager (once per move), beside
    the dead letter and the rejection the station gets."""
    winner = conn.execute(sa.select(stock_moves.c.station_id)
                          .where(stock_moves.c.move_id == err.winner_id)).scalar()
    conn.execute(insert_ignore(conn, station_alerts).values(
        msg_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"reversal_conflict/{wire.move_id}")),
        station_id=station, kind="reversal_conflict", subject=err.reverses_move_id,
        detail={"move_id": wire.move_id, "reverses_move_id": err.reverses_move_id,
                "winner_move_id": err.winner_id, "winner_station_id": winner,
                "sku": wire.sku, "location": wire.location, "qty_delta": wire.qty_delta,
                "warehouse_id": wire.warehouse_id},
        raised_at=wire.recorded_at, received_at=now))


def packer_figures(kpis: dict[str, float]) -> dict[str, Any]:
    """The packer figures a shipment carries, as ``station_shipments`` columns (None when
    not sent): wrong or extra items scanned, weighings, seconds to pack, weight overrides."""
    def count(key: str) -> int | None:
        value = kpis.get(key)
        return None if value is None else max(0, min(int(value), ledger_store.INT32_MAX))

    seconds = kpis.get("pack_seconds")
    return {"rejected_scans": count("rejected_scans"), "weighings": count("weighings"),
            "weight_overrides": count("weight_overrides"),
            "pack_seconds": None if seconds is None else max(0.0, float(seconds))}


def clean(text: str) -> str:
    """Text any engine stores (PostgreSQL refuses NUL characters)."""
    return text.replace("\x00", "\ufffd")


def insert_ignore(conn: Connection, table: sa.Table) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` on either engine."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()
