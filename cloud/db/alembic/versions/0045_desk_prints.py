"""desk_prints: e-waybills printed at the office 打单台 (print status, reprints with reasons)

Revision ID: 0045_desk_prints
Revises: 0044_profit
Create Date: 2026-12-05

* ``desk_prints`` — one row per waybill the office printed through a print component: the
  order, its waybill number, the n-th print of it, the printer, who, when and, for a
  reprint, why.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloud.db.types

revision: str = "0045_desk_prints"
down_revision: str | None = "0044_profit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "desk_prints",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("waybill_no", sa.String(64), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("printer", sa.String(200), nullable=False),
        sa.Column("printed_by", sa.String(64), nullable=False),
        sa.Column("printed_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Index("ix_desk_prints_order", "order_id", "printed_at"),
        sa.UniqueConstraint("order_id", "n", name="uq_desk_prints_order_n"),
    )


def downgrade() -> None:
    op.drop_table("desk_prints")
