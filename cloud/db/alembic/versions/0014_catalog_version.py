"""catalog_version: a version per SKU, so stations keep the newest copy of an edit

Revision ID: 0014_catalog_version
Revises: 0013_alert_done
Create Date: 2026-12-04

* ``skus.catalog_version`` — one more on every write of the SKU (form, import); sent with
  the SKU to the stations (``SkuWire.version``), which ignore an older copy arriving late.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_catalog_version"
down_revision: str | None = "0013_alert_done"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("skus", sa.Column("catalog_version", sa.BigInteger(), server_default="1",
                               nullable=False))


def downgrade() -> None:
    # plain ALTER (SQLite ≥ 3.35 drops a column): a batch copy of the table would turn the
    # column-level CHECKs of earlier revisions into table-level ones their downgrades cannot drop
    op.drop_column("skus", "catalog_version")
