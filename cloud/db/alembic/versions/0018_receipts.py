"""receipts: the moving-average cost a purchase receipt set, one row per RECEIVE move

Revision ID: 0018_receipts
Revises: 0017_purchasing
Create Date: 2026-12-04

* ``cost_changes`` — per receipt move against a purchase order line: units, unit cost,
  units on hand before, the SKU's cost before and after (moving average, fen).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloud.db.types

revision: str = "0018_receipts"
down_revision: str | None = "0017_purchasing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cost_changes",
        sa.Column("move_id", sa.String(64), primary_key=True),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("po_id", sa.String(32), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("unit_cost_fen", sa.BigInteger(), nullable=False),
        sa.Column("on_hand_before", sa.BigInteger(), nullable=False),
        sa.Column("cost_before_fen", sa.BigInteger(), nullable=True),
        sa.Column("cost_after_fen", sa.BigInteger(), nullable=False),
        sa.Column("at", cloud.db.types.UtcDateTime(), nullable=False),
    )
    op.create_index("ix_cost_changes_sku", "cost_changes", ["sku", "at"])


def downgrade() -> None:
    op.drop_index("ix_cost_changes_sku", table_name="cost_changes")
    op.drop_table("cost_changes")
