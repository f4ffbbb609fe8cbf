"""station health and restore resyncs

Revision ID: 0003_station_health_resync
Revises: 0002_sync
Create Date: 2026-11-23
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cloud.db.types import UtcDateTime, json_type

revision: str = "0003_station_health_resync"
down_revision: str | None = "0002_sync"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "station_health",
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("msg_id", sa.String(64), nullable=False),
        sa.Column("reported_at", UtcDateTime(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("backup_last_success_at", UtcDateTime(), nullable=True),
        sa.Column("backup_lag_seconds", sa.Float(), nullable=False),
        sa.Column("backup_last_error", sa.Text(), nullable=True),
        sa.Column("outbox_backlog", sa.Integer(), nullable=False),
        sa.Column("detail", json_type(), nullable=False),
        sa.PrimaryKeyConstraint("station_id", name=op.f("pk_station_health")),
    )
    op.create_table(
        "station_resyncs",
        sa.Column("msg_id", sa.String(64), nullable=False),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("restore_point", UtcDateTime(), nullable=False),
        sa.Column("restored_txid", sa.BigInteger(), nullable=False),
        sa.Column("restored_at", UtcDateTime(), nullable=False),
        sa.Column("cutoff", UtcDateTime(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("moves_sent", sa.Integer(), nullable=False),
        sa.Column("downlinks_resent", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("msg_id", name=op.f("pk_station_resyncs")),
    )
    op.create_index(op.f("ix_station_resyncs_station_id"), "station_resyncs", ["station_id"])


def downgrade() -> None:
    op.drop_table("station_resyncs")
    op.drop_table("station_health")
