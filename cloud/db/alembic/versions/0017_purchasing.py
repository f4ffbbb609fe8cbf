"""purchasing: suppliers and purchase orders (采购)

Revision ID: 0017_purchasing
Revises: 0016_order_review
Create Date: 2026-12-04

* ``suppliers`` — who the seller buys from (contact, phone, lead time).
* ``purchase_orders`` / ``purchase_order_lines`` — draft → approved → sent (down to the
  warehouse's stations as a ``po`` message) → cancelled; lines with quantity and unit cost.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloud.db.types

revision: str = "0017_purchasing"
down_revision: str | None = "0016_order_review"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PO_STATUSES = ("draft", "approved", "sent", "partial", "received", "closed", "cancelled")


def upgrade() -> None:
    op.create_table(
        "suppliers",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("contact", sa.String(100), nullable=False, server_default=""),
        sa.Column("phone", sa.String(32), nullable=False, server_default=""),
        sa.Column("lead_days", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.UniqueConstraint("name", name=op.f("uq_suppliers_name")),
        sa.CheckConstraint("lead_days IS NULL OR lead_days BETWEEN 0 AND 365",
                           name=op.f("ck_suppliers_lead_days")),
    )
    op.create_table(
        "purchase_orders",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("supplier_id", sa.String(32), sa.ForeignKey(
            "suppliers.id", name=op.f("fk_purchase_orders_supplier_id_suppliers")), nullable=False),
        sa.Column("warehouse_id", sa.String(64), sa.ForeignKey(
            "warehouses.id", name=op.f("fk_purchase_orders_warehouse_id_warehouses")),
            nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="draft"),
        sa.Column("expected_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.Column("approved_by", sa.String(64), nullable=True),
        sa.Column("approved_at", cloud.db.types.UtcDateTime(), nullable=True),
        sa.Column("sent_at", cloud.db.types.UtcDateTime(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in PO_STATUSES) + ")",
                           name=op.f("ck_purchase_orders_status")),
    )
    op.create_index("ix_purchase_orders_status", "purchase_orders", ["status", "created_at"])
    op.create_table(
        "purchase_order_lines",
        sa.Column("po_id", sa.String(32), sa.ForeignKey(
            "purchase_orders.id", name=op.f("fk_purchase_order_lines_po_id_purchase_orders")),
            primary_key=True),
        sa.Column("line_no", sa.Integer(), primary_key=True),
        sa.Column("sku", sa.String(64), sa.ForeignKey(
            "skus.sku", name=op.f("fk_purchase_order_lines_sku_skus")), nullable=False),
        sa.Column("qty_ordered", sa.Integer(), nullable=False),
        sa.Column("unit_cost_fen", sa.BigInteger(), nullable=False),
        sa.Column("qty_received", sa.Integer(), nullable=False, server_default="0"),
        sa.CheckConstraint("qty_ordered > 0", name=op.f("ck_purchase_order_lines_qty_ordered")),
        sa.CheckConstraint("unit_cost_fen >= 0", name=op.f("ck_purchase_order_lines_unit_cost_fen")),
        sa.CheckConstraint("qty_received >= 0", name=op.f("ck_purchase_order_lines_qty_received")),
    )


def downgrade() -> None:
    op.drop_table("purchase_order_lines")
    op.drop_index("ix_purchase_orders_status", table_name="purchase_orders")
    op.drop_table("purchase_orders")
    op.drop_table("suppliers")
