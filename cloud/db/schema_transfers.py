"""Transfer tables (调拨, migration ``0025_transfers``): goods moved from one warehouse to
another. See :mod:`cloud.transfers` for the rules (who may do what, the status flow)."""

from __future__ import annotations

import sqlalchemy as sa

from cloud.db.schema import metadata
from cloud.db.types import UtcDateTime

TRANSFER_STATUSES: tuple[str, ...] = (
    "draft", "sent", "shipped", "partial", "received", "cancelled")
"""``transfers.status``: draft → sent (to the stations of both warehouses) → shipped (the
source station shipped something, nothing received yet) → partial (something received, not
everything) → received (every unit ordered arrived, or the transfer was closed short with
the missing units recorded); cancelled from draft or sent (nothing shipped yet)."""

transfers = sa.Table(
    "transfers",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("from_warehouse", sa.String(64), sa.ForeignKey("warehouses.id"), nullable=False),
    sa.Column("to_warehouse", sa.String(64), sa.ForeignKey("warehouses.id"), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="draft"),
    sa.Column("note", sa.Text(), nullable=False, server_default=""),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("sent_by", sa.String(64), nullable=True),
    sa.Column("sent_at", UtcDateTime(), nullable=True),
    sa.Column("closed_by", sa.String(64), nullable=True),
    sa.Column("closed_at", UtcDateTime(), nullable=True),
    sa.Column("close_reason", sa.Text(), nullable=True),
    sa.Column("cancel_reason", sa.Text(), nullable=True),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in TRANSFER_STATUSES) + ")",
                       name="status"),
    sa.CheckConstraint("from_warehouse <> to_warehouse", name="two_warehouses"),
    sa.Index("ix_transfers_status", "status", "created_at"),
)
"""Transfers: ``id`` is ``TR{yyyymmdd}-{n}`` in China Standard Time."""

transfer_lines = sa.Table(
    "transfer_lines",
    metadata,
    sa.Column("transfer_id", sa.String(32), sa.ForeignKey("transfers.id"), primary_key=True),
    sa.Column("line_no", sa.Integer(), primary_key=True),
    sa.Column("sku", sa.String(64), sa.ForeignKey("skus.sku"), nullable=False),
    sa.Column("qty", sa.Integer(), nullable=False),
    sa.Column("qty_shipped", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("qty_received", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("qty_missing", sa.Integer(), nullable=False, server_default="0"),
    sa.CheckConstraint("qty > 0", name="qty"),
    sa.CheckConstraint("qty_missing >= 0", name="qty_missing"),
    sa.Index("ix_transfer_lines_sku", "sku"),
)
"""The lines of a transfer: SKU, quantity to move, shipped at the source and received at the
destination so far (sums of the stations' TRANSFER_OUT / TRANSFER_IN moves), and the units
recorded missing when the transfer was closed short. In transit = shipped − received −
missing."""

transfer_discrepancies = sa.Table(
    "transfer_discrepancies",
    metadata,
    sa.Column("msg_id", sa.String(64), primary_key=True),
    sa.Column("station_id", sa.String(64), nullable=False),
    sa.Column("transfer_id", sa.String(32), sa.ForeignKey("transfers.id"), nullable=False),
    sa.Column("line_no", sa.Integer(), nullable=False),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("expected", sa.Integer(), nullable=False),
    sa.Column("counted", sa.Integer(), nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("operator_id", sa.String(64), nullable=False),
    sa.Column("recorded_at", UtcDateTime(), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Index("ix_transfer_discrepancies_transfer", "transfer_id", "line_no"),
)
"""Discrepancies recorded when a transfer was received at a station (migration
``0037_transfer_floor``), once per ``transfer_diff`` message: in transit (``expected``)
against counted, with the lead's reason. A shortfall is added to the line's ``qty_missing``."""
