"""shipped_daily: units each warehouse shipped of each SKU per UTC day

Revision ID: 0051_shipped_daily
Revises: 0050_sales_geo
Create Date: 2026-12-05

``shipped_daily`` is kept by ``cloud.ledger_store.insert_moves`` in the transaction that
stores the moves: a SHIP move adds its units on its day; a REVERSAL of a SHIP move takes them
off that same day (the original's). The stock report's days of cover and replenishment's
pace read whole days here and only the partial days at either end of their window from the
ledger. Filled here from the moves already stored.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0051_shipped_daily"
down_revision: str | None = "0050_sales_geo"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHIP, REVERSAL = 31, 90
"""``MoveReason.SHIP`` and ``MoveReason.REVERSAL`` as stored."""


def upgrade() -> None:
    op.create_table(
        "shipped_daily",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("warehouse_id", sa.String(64), primary_key=True),
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("units", sa.BigInteger(), nullable=False),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    day = ("CAST(({t}.occurred_at AT TIME ZONE 'UTC') AS DATE)" if postgres
           else "date({t}.occurred_at)")
    op.execute(f"""
        INSERT INTO shipped_daily (day, warehouse_id, sku, units)
        SELECT day, warehouse_id, sku, SUM(units) FROM (
            SELECT {day.format(t="m")} AS day, m.warehouse_id, m.sku, -m.qty_delta AS units
              FROM stock_moves m WHERE m.reason = {SHIP}
            UNION ALL
            SELECT {day.format(t="o")}, r.warehouse_id, r.sku, -r.qty_delta
              FROM stock_moves r JOIN stock_moves o ON o.move_id = r.reverses_move_id
             WHERE r.reason = {REVERSAL} AND o.reason = {SHIP}
        ) moves GROUP BY day, warehouse_id, sku HAVING SUM(units) <> 0""")


def downgrade() -> None:
    op.drop_table("shipped_daily")
