"""handovers: parcels handed to couriers at stations (交接)

Revision ID: 0035_handovers
Revises: 0034_waybill_cancel
Create Date: 2026-12-04

* ``station_handovers`` — one row per ``handover`` message (keyed by its msg_id): the
  station's batch, the courier, who closed it and when, how many parcels were handed over
  and how many shipped parcels of that courier were not.
* ``station_handover_parcels`` — the parcels of each batch, by waybill, with their order.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloud.db.types

revision: str = "0035_handovers"
down_revision: str | None = "0034_waybill_cancel"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "station_handovers",
        sa.Column("msg_id", sa.String(64), primary_key=True),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("carrier", sa.String(32), nullable=False),
        sa.Column("operator_id", sa.String(64), nullable=False),
        sa.Column("opened_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.Column("closed_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.Column("parcels", sa.Integer(), nullable=False),
        sa.Column("not_handed_over", sa.Integer(), nullable=False),
        sa.Column("received_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.Index("ix_station_handovers_closed", "closed_at"),
    )
    op.create_table(
        "station_handover_parcels",
        sa.Column("msg_id", sa.String(64), primary_key=True),
        sa.Column("waybill_no", sa.String(64), primary_key=True),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("operator_id", sa.String(64), nullable=False),
        sa.Column("scanned_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.Index("ix_station_handover_parcels_order", "order_id"),
    )


def downgrade() -> None:
    op.drop_table("station_handover_parcels")
    op.drop_table("station_handovers")
