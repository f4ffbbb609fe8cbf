"""buyer_nick: search orders by the buyer's nickname without storing it

Revision ID: 0033_buyer_nick
Revises: 0032_label_prints
Create Date: 2026-12-04

* ``orders.buyer_nick_mask`` — the nickname masked for screens (``小**8``).
* ``orders.buyer_nick_key`` — its keyed digest (``Sealer.search_key``), indexed: the order
  list's search finds the exact nickname; the nickname itself is not stored.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033_buyer_nick"
down_revision: str | None = "0032_label_prints"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("buyer_nick_mask", sa.String(64), nullable=False,
                                      server_default=""))
    op.add_column("orders", sa.Column("buyer_nick_key", sa.String(64), nullable=True))
    op.create_index("ix_orders_buyer_nick_key", "orders", ["buyer_nick_key"])


def downgrade() -> None:
    op.drop_index("ix_orders_buyer_nick_key", table_name="orders")
    op.drop_column("orders", "buyer_nick_key")
    op.drop_column("orders", "buyer_nick_mask")
