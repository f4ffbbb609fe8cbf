"""packer_figures: weight overrides per shipment, and shipments found by their time

Revision ID: 0038_packer_figures
Revises: 0037_transfer_floor
Create Date: 2026-12-04

* ``station_shipments.weight_overrides`` — 1 when a lead let the parcel ship although its
  weight was out of tolerance (the shipment's ``kpis``; NULL when the station did not say);
* ``ix_station_shipments_shipped_at`` — the fulfilment report (绩效) reads shipments by the
  time they shipped.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0038_packer_figures"
down_revision: str | None = "0037_transfer_floor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("station_shipments", sa.Column("weight_overrides", sa.Integer(), nullable=True))
    op.create_index("ix_station_shipments_shipped_at", "station_shipments", ["shipped_at"])


def downgrade() -> None:
    op.drop_index("ix_station_shipments_shipped_at", table_name="station_shipments")
    op.drop_column("station_shipments", "weight_overrides")
