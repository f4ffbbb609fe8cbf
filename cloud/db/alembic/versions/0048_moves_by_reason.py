"""stock_moves by reason: indexes for the stock report

Revision ID: 0048_moves_by_reason
Revises: 0047_custom_area
Create Date: 2026-12-05

* ``ix_stock_moves_reason_occurred`` — the SHIP moves of a window (the stock report's days
  of cover) without scanning the ledger;
* ``ix_stock_moves_sku_reason_occurred`` — a SKU's inflows newest first (the report's
  ageing) without reading its SHIP moves. ``python -m bench reports`` at 200,000 orders on
  PostgreSQL: the stock report 536 → 237 ms (p50).
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0048_moves_by_reason"
down_revision: str | None = "0047_custom_area"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_stock_moves_reason_occurred", "stock_moves", ["reason", "occurred_at"])
    op.create_index("ix_stock_moves_sku_reason_occurred", "stock_moves",
                    ["sku", "reason", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_stock_moves_sku_reason_occurred", table_name="stock_moves")
    op.drop_index("ix_stock_moves_reason_occurred", table_name="stock_moves")
