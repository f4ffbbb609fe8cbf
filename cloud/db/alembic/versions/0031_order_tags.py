"""order_tags: tags a manager defines and puts on orders (订单标签)

Revision ID: 0031_order_tags
Revises: 0030_report_summaries
Create Date: 2026-12-04

* ``order_tags`` — a tag: name and colour from a fixed palette.
* ``order_tag_links`` — which tag is on which order, who put it there and when.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloud.db.types

revision: str = "0031_order_tags"
down_revision: str | None = "0030_report_summaries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_tags",
        sa.Column("id", cloud.db.types.bigint_pk(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(32), nullable=False, unique=True),
        sa.Column("colour", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", cloud.db.types.UtcDateTime(), nullable=False),
    )
    op.create_table(
        "order_tag_links",
        sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.id"), primary_key=True),
        sa.Column("tag_id", sa.BigInteger(), sa.ForeignKey("order_tags.id"), primary_key=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.Index("ix_order_tag_links_tag", "tag_id", "order_id"),
    )


def downgrade() -> None:
    op.drop_table("order_tag_links")
    op.drop_table("order_tags")
