"""order_review: manual review of orders (审单) — approved buyer notes, holds, and who did what

Revision ID: 0016_order_review
Revises: 0015_operators
Create Date: 2026-12-04

* ``orders.note_approved`` — the buyer note a person approved; review stops only on a note
  that differs from it (the buyer may change it later).
* ``order_events`` — every state change made by hand: who, when, from → to, why.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloud.db.types

revision: str = "0016_order_review"
down_revision: str | None = "0015_operators"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("note_approved", sa.Text(), nullable=True))
    op.create_table(
        "order_events",
        sa.Column("id", cloud.db.types.bigint_pk(), primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.id",
                  name=op.f("fk_order_events_order_id_orders")), nullable=False),
        sa.Column("at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_state", sa.String(16), nullable=False),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
    )
    op.create_index("ix_order_events_order", "order_events", ["order_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_order_events_order", table_name="order_events")
    op.drop_table("order_events")
    op.drop_column("orders", "note_approved")
