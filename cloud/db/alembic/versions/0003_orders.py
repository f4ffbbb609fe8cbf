"""orders: shop config, order sync, allocation, waybills, write-backs, stock pushes, leases

Revision ID: 0003_orders
Revises: 0003_station_health_resync (main took that number first; the ids stay as they were)
Create Date: 2026-11-23

The tables are created from their definitions in ``cloud/db/schema_orders.py`` as they
stand at this revision. Any later change to those tables goes into a new migration (and
this one must then inline the definitions it created, to stay frozen).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cloud.db.schema import NAMING_CONVENTION, metadata
from cloud.db.schema_orders import ORDER_TABLES

revision: str = "0003_orders"
down_revision: str | None = "0003_station_health_resync"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    frozen = sa.MetaData(naming_convention=NAMING_CONVENTION)
    for table in metadata.sorted_tables:
        table.to_metadata(frozen)
    frozen.create_all(op.get_bind(), tables=[frozen.tables[t.name] for t in ORDER_TABLES])
    op.create_index("ix_stock_moves_source_id", "stock_moves", ["source_id"])


def downgrade() -> None:
    op.drop_index("ix_stock_moves_source_id", table_name="stock_moves")
    for table in reversed(ORDER_TABLES):
        op.drop_table(table.name)
