"""label_prints: shipping labels printed at stations (已打印 / 未打印)

Revision ID: 0032_label_prints
Revises: 0031_order_tags
Create Date: 2026-12-04

* ``station_label_prints`` — one row per ``print`` message (keyed by its msg_id): which
  order, the n-th print, who, the reprint reason, when.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloud.db.types

revision: str = "0032_label_prints"
down_revision: str | None = "0031_order_tags"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "station_label_prints",
        sa.Column("msg_id", sa.String(64), primary_key=True),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("printed_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.Column("received_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.Index("ix_station_label_prints_order", "order_id", "printed_at"),
    )


def downgrade() -> None:
    op.drop_table("station_label_prints")
