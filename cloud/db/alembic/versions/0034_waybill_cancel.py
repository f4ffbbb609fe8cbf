"""waybill_cancel: e-waybills of orders cancelled before shipping are cancelled (回收)

Revision ID: 0034_waybill_cancel
Revises: 0033_buyer_nick
Create Date: 2026-12-04

* ``waybills.cancelled_at`` — when the platform took the number back.
* ``waybills.cancel_attempts`` / ``waybills.cancel_error`` — tries so far and the last
  refusal (after ``cloud.orders.waybills.MAX_CANCEL_ATTEMPTS`` a person decides).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloud.db.types

revision: str = "0034_waybill_cancel"
down_revision: str | None = "0033_buyer_nick"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("waybills", sa.Column("cancelled_at", cloud.db.types.UtcDateTime(),
                                        nullable=True))
    op.add_column("waybills", sa.Column("cancel_attempts", sa.Integer(), nullable=False,
                                        server_default="0"))
    op.add_column("waybills", sa.Column("cancel_error", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("waybills", "cancel_error")
    op.drop_column("waybills", "cancel_attempts")
    op.drop_column("waybills", "cancelled_at")
