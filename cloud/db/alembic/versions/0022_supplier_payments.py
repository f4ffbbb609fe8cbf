"""supplier_payments: payments to suppliers and their reversals (应付账款)

Revision ID: 0022_supplier_payments
Revises: 0021_order_merge
Create Date: 2026-12-04

* ``supplier_payments`` — a payment (positive fen, date, method, reference) or the reversal
  of one (negative, ``reverses`` naming it, at most one). What is owed is derived from the
  purchase receipts (``cost_changes``); see ``cloud.payables``.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloud.db.types

revision: str = "0022_supplier_payments"
down_revision: str | None = "0021_order_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "supplier_payments",
        sa.Column("id", cloud.db.types.bigint_pk(), primary_key=True, autoincrement=True),
        sa.Column("supplier_id", sa.String(32), sa.ForeignKey("suppliers.id"), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False, server_default=""),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("reverses", sa.BigInteger(), sa.ForeignKey("supplier_payments.id"),
                  nullable=True, unique=True),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.CheckConstraint("(reverses IS NULL AND amount_fen > 0) OR "
                           "(reverses IS NOT NULL AND amount_fen < 0)", name="amount_sign"),
    )
    op.create_index("ix_supplier_payments_supplier", "supplier_payments",
                    ["supplier_id", "paid_on"])


def downgrade() -> None:
    op.drop_index("ix_supplier_payments_supplier", "supplier_payments")
    op.drop_table("supplier_payments")
