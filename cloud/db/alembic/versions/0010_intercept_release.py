"""intercept_release: numbered hold decisions, and intercepts that can be lifted

Revision ID: 0010_intercept_release
Revises: 0009_products
Create Date: 2026-12-04

* ``order_intercepts.seq`` — the cloud's number for the hold decision, per order (the
  station applies a decision only if it is newer than the last one it applied).
* ``order_intercepts.lifted_at / lift_seq / lift_msg_id`` — when a withdrawn or refused
  refund lifted the intercept, with the number and message of the release sent.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloud.db.types

revision: str = "0010_intercept_release"
down_revision: str | None = "0009_products"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("order_intercepts") as b:
        b.add_column(sa.Column("seq", sa.Integer(), server_default="0", nullable=False))
        b.add_column(sa.Column("lifted_at", cloud.db.types.UtcDateTime(), nullable=True))
        b.add_column(sa.Column("lift_seq", sa.Integer(), nullable=True))
        b.add_column(sa.Column("lift_msg_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("order_intercepts") as b:
        b.drop_column("lift_msg_id")
        b.drop_column("lift_seq")
        b.drop_column("lifted_at")
        b.drop_column("seq")
