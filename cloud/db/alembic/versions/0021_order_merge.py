"""order_merge: orders merged into one parcel (合并订单), an order split into two (拆单)

Revision ID: 0021_order_merge
Revises: 0020_promotions
Create Date: 2026-12-04

* ``orders.merged_into`` — the order whose parcel this one ships in (NULL: its own parcel).
  A member of a merged parcel waits as ``exception`` with code ``merged``; its lines go to
  the station in the primary's task and its units are reserved under the primary
  (``cloud.orders.merging``).
* ``orders.split_from`` — set on a second parcel split off an order (id ``<order>#2``): the
  order it came from, whose platform order it ships for (``cloud.orders.splitting``).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_order_merge"
down_revision: str | None = "0020_promotions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("merged_into", sa.String(64), nullable=True))
    op.create_index("ix_orders_merged_into", "orders", ["merged_into"])
    op.add_column("orders", sa.Column("split_from", sa.String(64), nullable=True))
    op.create_index("ix_orders_split_from", "orders", ["split_from"])


def downgrade() -> None:
    # plain ALTER (see 0013): a batch copy would break earlier downgrades on SQLite
    op.drop_index("ix_orders_split_from", table_name="orders")
    op.drop_column("orders", "split_from")
    op.drop_index("ix_orders_merged_into", table_name="orders")
    op.drop_column("orders", "merged_into")
