"""transfers: 调拨 between warehouses and their lines

Revision ID: 0025_transfers
Revises: 0024_order_search
Create Date: 2026-12-04

* ``transfers`` — from one warehouse to another: draft → sent → shipped → partial /
  received, or cancelled; who sent and closed it, when, why.
* ``transfer_lines`` — SKU and quantity, with the units shipped, received and recorded
  missing (closed short). See ``cloud.transfers``.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloud.db.types

revision: str = "0025_transfers"
down_revision: str | None = "0024_order_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("draft", "sent", "shipped", "partial", "received", "cancelled")
"""``transfers.status`` as this migration writes its check (``TRANSFER_STATUSES``)."""


def upgrade() -> None:
    op.create_table(
        "transfers",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("from_warehouse", sa.String(64), sa.ForeignKey("warehouses.id"),
                  nullable=False),
        sa.Column("to_warehouse", sa.String(64), sa.ForeignKey("warehouses.id"),
                  nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="draft"),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.Column("sent_by", sa.String(64), nullable=True),
        sa.Column("sent_at", cloud.db.types.UtcDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(64), nullable=True),
        sa.Column("closed_at", cloud.db.types.UtcDateTime(), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")",
                           name="status"),
        sa.CheckConstraint("from_warehouse <> to_warehouse", name="two_warehouses"),
    )
    op.create_index("ix_transfers_status", "transfers", ["status", "created_at"])
    op.create_table(
        "transfer_lines",
        sa.Column("transfer_id", sa.String(32), sa.ForeignKey("transfers.id"),
                  primary_key=True),
        sa.Column("line_no", sa.Integer(), primary_key=True),
        sa.Column("sku", sa.String(64), sa.ForeignKey("skus.sku"), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("qty_shipped", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("qty_received", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("qty_missing", sa.Integer(), nullable=False, server_default="0"),
        sa.CheckConstraint("qty > 0", name="qty"),
        sa.CheckConstraint("qty_missing >= 0", name="qty_missing"),
    )
    op.create_index("ix_transfer_lines_sku", "transfer_lines", ["sku"])


def downgrade() -> None:
    op.drop_index("ix_transfer_lines_sku", "transfer_lines")
    op.drop_table("transfer_lines")
    op.drop_index("ix_transfers_status", "transfers")
    op.drop_table("transfers")
