"""order_search: a warehouse pinned to an order by hand, and indexes for the order search

Revision ID: 0024_order_search
Revises: 0022_supplier_payments
Create Date: 2026-12-04

* ``orders.pinned_warehouse_id`` — the warehouse a person chose for the order (手工指定仓库):
  allocation reserves and waits there only (``cloud.orders.review.pin_warehouse``); NULL
  is automatic.
* ``ix_waybills_waybill_no``, ``ix_order_lines_sku`` — the order list's search by waybill
  number and filter by Packline SKU look rows up by these columns.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_order_search"
down_revision: str | None = "0022_supplier_payments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("pinned_warehouse_id", sa.String(64), nullable=True))
    op.create_index("ix_waybills_waybill_no", "waybills", ["waybill_no"])
    op.create_index("ix_order_lines_sku", "order_lines", ["sku"])


def downgrade() -> None:
    op.drop_index("ix_order_lines_sku", "order_lines")
    op.drop_index("ix_waybills_waybill_no", "waybills")
    op.drop_column("orders", "pinned_warehouse_id")
