"""stocktakes: stocktakes approved at stations, for the variance report (盘点差异)

Revision ID: 0036_stocktakes
Revises: 0035_handovers
Create Date: 2026-12-04

* ``station_stocktakes`` — one row per ``stocktake`` message (keyed by its msg_id): scope,
  snapshot position, who started and approved it, when.
* ``station_stocktake_lines`` — its count lines: location, SKU, round, counted, expected,
  whether the line stands, the adjustment move.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloud.db.types

revision: str = "0036_stocktakes"
down_revision: str | None = "0035_handovers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "station_stocktakes",
        sa.Column("msg_id", sa.String(64), primary_key=True),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("stocktake_id", sa.String(64), nullable=False),
        sa.Column("warehouse_id", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("scope_value", sa.String(64), nullable=False),
        sa.Column("snapshot_seq", sa.BigInteger(), nullable=False),
        sa.Column("started_by", sa.String(64), nullable=False),
        sa.Column("started_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.Column("approved_by", sa.String(64), nullable=False),
        sa.Column("approved_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.Column("received_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.Index("ix_station_stocktakes_approved", "approved_at"),
    )
    op.create_table(
        "station_stocktake_lines",
        sa.Column("msg_id", sa.String(64), primary_key=True),
        sa.Column("location", sa.String(64), primary_key=True),
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("round", sa.Integer(), primary_key=True),
        sa.Column("counted", sa.Integer(), nullable=False),
        sa.Column("expected", sa.Integer(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("move_id", sa.String(64), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("station_stocktake_lines")
    op.drop_table("station_stocktakes")
