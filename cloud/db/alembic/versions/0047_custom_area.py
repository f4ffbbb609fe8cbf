"""courier_choices.custom_area_url: the custom area's template per shop and courier

Revision ID: 0047_custom_area
Revises: 0046_profit_monthly
Create Date: 2026-12-05

* ``courier_choices.custom_area_url`` — the Cainiao cloud-print custom template the custom
  area (items, quantities, seller note, order no.) is laid out with on this courier's
  standard template; empty: the waybill prints without a custom area.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0047_custom_area"
down_revision: str | None = "0046_profit_monthly"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("courier_choices", sa.Column("custom_area_url", sa.String(500),
                                               nullable=False, server_default=""))


def downgrade() -> None:
    op.drop_column("courier_choices", "custom_area_url")
