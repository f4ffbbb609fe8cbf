"""stocktake_plans: stocktakes planned in the cloud and carried out at a station

Revision ID: 0041_stocktake_plans
Revises: 0040_returns
Create Date: 2026-12-04

* ``stocktake_plans`` — a count of a warehouse (whole, a zone, a SKU) planned on the web,
  sent to the warehouse's stations; done when a station's approved stocktake names it.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cloud.db.types import UtcDateTime

revision: str = "0041_stocktake_plans"
down_revision: str | None = "0040_returns"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stocktake_plans",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("warehouse_id", sa.String(64), sa.ForeignKey("warehouses.id"), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("scope_value", sa.String(64), nullable=False, server_default=""),
        sa.Column("note", sa.String(200), nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("cancelled_by", sa.String(64), nullable=True),
        sa.Column("cancelled_at", UtcDateTime(), nullable=True),
        sa.Column("stocktake_id", sa.String(64), nullable=True),
    )
    op.create_index("ix_stocktake_plans_status", "stocktake_plans", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_stocktake_plans_status", "stocktake_plans")
    op.drop_table("stocktake_plans")
