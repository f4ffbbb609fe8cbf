"""push_limits: a stock-push rule's floor and cap (最小/最大同步数量)

Revision ID: 0019_push_limits
Revises: 0018_receipts
Create Date: 2026-12-04

* ``sku_mappings.push_min`` — below this many platform units the listing is offered 0 (the
  last few pieces are not sold online); ``push_max`` — never offered more than this.
  NULL: no limit. Both only ever lower what a push offers.
* ``stock_pushes.push_min / push_max`` — the limits a recorded push was computed with.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_push_limits"
down_revision: str | None = "0018_receipts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sku_mappings", sa.Column("push_min", sa.Integer(), nullable=True))
    op.add_column("sku_mappings", sa.Column("push_max", sa.Integer(), nullable=True))
    op.add_column("stock_pushes", sa.Column("push_min", sa.Integer(), nullable=True))
    op.add_column("stock_pushes", sa.Column("push_max", sa.Integer(), nullable=True))


def downgrade() -> None:
    # plain ALTER (see 0013): a batch copy would break earlier downgrades on SQLite
    op.drop_column("stock_pushes", "push_max")
    op.drop_column("stock_pushes", "push_min")
    op.drop_column("sku_mappings", "push_max")
    op.drop_column("sku_mappings", "push_min")
