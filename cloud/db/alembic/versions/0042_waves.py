"""waves: picking waves (波次拣货) and their orders with put-wall slots

Revision ID: 0042_waves
Revises: 0041_stocktake_plans
Create Date: 2026-12-04

* ``waves`` — a wave of orders already tasked to one station (single-item or multi-item,
  optionally one courier), its status and the station's pick result (kept once by the
  ``wave_pick`` message id).
* ``wave_orders`` — each order of a wave with its put-wall slot (0 in a single-item wave),
  whether the pick came up short for it, and when its slot was reported full.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cloud.db.types import UtcDateTime, json_type

revision: str = "0042_waves"
down_revision: str | None = "0041_stocktake_plans"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "waves",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("warehouse_id", sa.String(64), nullable=False),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("carrier", sa.String(32), nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("picked_by", sa.String(64), nullable=True),
        sa.Column("picked_at", UtcDateTime(), nullable=True),
        sa.Column("pick_msg_id", sa.String(64), nullable=True),
        sa.Column("pick_lines", json_type(), nullable=True),
        sa.Column("cancelled_by", sa.String(64), nullable=True),
        sa.Column("cancelled_at", UtcDateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('single', 'multi')", name="wave_kind"),
        sa.CheckConstraint("status IN ('open', 'picked', 'cancelled')", name="wave_status"),
    )
    op.create_index("ix_waves_station", "waves", ["station_id", "status"])
    op.create_table(
        "wave_orders",
        sa.Column("wave_id", sa.String(32), sa.ForeignKey("waves.id"), primary_key=True),
        sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.id"), primary_key=True),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("short", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("put_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_wave_orders_order", "wave_orders", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_wave_orders_order", table_name="wave_orders")
    op.drop_table("wave_orders")
    op.drop_index("ix_waves_station", table_name="waves")
    op.drop_table("waves")
