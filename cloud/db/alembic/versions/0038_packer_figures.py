"""packer_figures: weight overrides per shipment, and shipments found by their time

Revision ID: 0038_packer_figures
Revises: 0037_transfer_floor
Create Date: 2026-12-04

* ``station_shipments.weight_overrides`` — 1 when a lead let the parcel ship although its
  weight was out of tolerance (the shipment's ``kpis``; NULL when the station did not say);
* ``ix_station_shipments_shipped_at`` — shipments found by the time they shipped;
* ``fulfil_daily`` and ``fulfil_bands`` — the fulfilment report's (发货绩效) summaries, kept as
  shipments and label prints arrive (``cloud.reports.fulfilment``); an existing database
  fills them with ``packline-cloud reports rebuild``.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0038_packer_figures"
down_revision: str | None = "0037_transfer_floor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


MEASURES = ("parcels", "orders", "pack_ms", "timed", "wrong_scans", "reweighed", "overrides",
            "late", "reprints")
"""Counters of a ``fulfil_daily`` row."""


def upgrade() -> None:
    op.add_column("station_shipments", sa.Column("weight_overrides", sa.Integer(), nullable=True))
    op.create_index("ix_station_shipments_shipped_at", "station_shipments", ["shipped_at"])
    op.create_table(
        "fulfil_daily",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("station_id", sa.String(64), primary_key=True),
        sa.Column("operator_id", sa.String(64), primary_key=True),
        sa.Column("carrier", sa.String(64), primary_key=True),
        *(sa.Column(m, sa.BigInteger(), nullable=False, server_default="0") for m in MEASURES),
    )
    op.create_table(
        "fulfil_bands",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("station_id", sa.String(64), primary_key=True),
        sa.Column("carrier", sa.String(64), primary_key=True),
        sa.Column("band", sa.SmallInteger(), primary_key=True),
        sa.Column("parcels", sa.BigInteger(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("fulfil_bands")
    op.drop_table("fulfil_daily")
    op.drop_index("ix_station_shipments_shipped_at", table_name="station_shipments")
    op.drop_column("station_shipments", "weight_overrides")
