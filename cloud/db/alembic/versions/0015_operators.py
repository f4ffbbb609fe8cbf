"""operators: kiosk operators managed in the cloud and sent to the stations

Revision ID: 0015_operators
Revises: 0014_catalog_version
Create Date: 2026-12-04

* ``station_operators`` — packers and leads (badge, PIN hash, active, version).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloud.db.types

revision: str = "0015_operators"
down_revision: str | None = "0014_catalog_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "station_operators",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("badge", sa.String(64), nullable=True),
        sa.Column("pin_hash", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("created_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.CheckConstraint("role IN ('packer', 'lead')", name=op.f("ck_station_operators_role")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_station_operators_version")),
        sa.UniqueConstraint("badge", name=op.f("uq_station_operators_badge")),
    )


def downgrade() -> None:
    op.drop_table("station_operators")
