"""ship_by: each order's platform ship-by deadline (发货时限)

Revision ID: 0026_ship_by
Revises: 0025_transfers
Create Date: 2026-12-04

* ``orders.ship_by`` — PDD's ``last_ship_time``; Taobao's payment time + 48 hours (its
  trade API has no ship-by field). NULL for orders synced before; the next platform update
  fills it. Indexed with the state, so lists of open orders sort by it.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloud.db.types

revision: str = "0026_ship_by"
down_revision: str | None = "0025_transfers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("ship_by", cloud.db.types.UtcDateTime(), nullable=True))
    op.create_index("ix_orders_ship_by", "orders", ["state", "ship_by"])


def downgrade() -> None:
    # plain ALTER (see 0013): a batch copy would break earlier downgrades on SQLite
    op.drop_index("ix_orders_ship_by", "orders")
    op.drop_column("orders", "ship_by")
