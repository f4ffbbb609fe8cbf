"""transfer_floor: discrepancies recorded when a transfer is received at a station

Revision ID: 0037_transfer_floor
Revises: 0036_stocktakes
Create Date: 2026-12-04

* ``transfer_discrepancies`` — one row per ``transfer_diff`` message (kept once by its
  msg_id): the units in transit on a transfer line against the units the destination
  counted, with the lead's reason. A shortfall is added to ``transfer_lines.qty_missing``.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cloud.db.types import UtcDateTime

revision: str = "0037_transfer_floor"
down_revision: str | None = "0036_stocktakes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "transfer_discrepancies",
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
    )
    op.create_index("ix_transfer_discrepancies_transfer", "transfer_discrepancies",
                    ["transfer_id", "line_no"])


def downgrade() -> None:
    op.drop_index("ix_transfer_discrepancies_transfer", table_name="transfer_discrepancies")
    op.drop_table("transfer_discrepancies")
