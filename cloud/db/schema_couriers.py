"""Courier e-waybill accounts per shop (migration ``0028_courier_accounts``).

What ``pdd.waybill.search`` / ``cainiao.waybill.ii.search`` and the standard-template APIs
answered for a shop (refreshed by :func:`cloud.couriers.refresh`), and the manager's choice
per shop and courier of the branch sender address and template that waybill requests use.
"""

from __future__ import annotations

import sqlalchemy as sa

from cloud.db.schema import metadata
from cloud.db.types import UtcDateTime, json_type

courier_accounts = sa.Table(
    "courier_accounts",
    metadata,
    sa.Column("shop_id", sa.String(64), sa.ForeignKey("shops.id"), primary_key=True),
    sa.Column("carrier_code", sa.String(32), primary_key=True),
    sa.Column("branch_code", sa.String(64), primary_key=True),
    sa.Column("branch_name", sa.String(200), nullable=False),
    sa.Column("quantity", sa.Integer(), nullable=False),
    sa.Column("allocated", sa.Integer(), nullable=False),
    sa.Column("cancelled", sa.Integer(), nullable=False),
    sa.Column("recycled", sa.Integer(), nullable=False),
    sa.Column("addresses", json_type(), nullable=False),
    sa.Column("fetched_at", UtcDateTime(), nullable=False),
)
"""A branch account of a courier subscription: balance (``quantity``) and counts as last
fetched, ``addresses`` the branch's sender addresses (list of {province, city, district,
detail}) in the platform's order."""

courier_templates = sa.Table(
    "courier_templates",
    metadata,
    sa.Column("shop_id", sa.String(64), sa.ForeignKey("shops.id"), primary_key=True),
    sa.Column("carrier_code", sa.String(32), primary_key=True),
    sa.Column("template_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("url", sa.String(500), nullable=False),
    sa.Column("waybill_type", sa.Integer(), nullable=False),
    sa.Column("fetched_at", UtcDateTime(), nullable=False),
)
"""A standard print template of a subscribed courier (``url`` is the ``template_url``)."""

courier_choices = sa.Table(
    "courier_choices",
    metadata,
    sa.Column("shop_id", sa.String(64), sa.ForeignKey("shops.id"), primary_key=True),
    sa.Column("carrier_code", sa.String(32), primary_key=True),
    sa.Column("branch_code", sa.String(64), nullable=False),
    sa.Column("province", sa.String(64), nullable=False),
    sa.Column("city", sa.String(64), nullable=False),
    sa.Column("district", sa.String(64), nullable=False),
    sa.Column("detail", sa.String(300), nullable=False),
    sa.Column("template_id", sa.String(64), nullable=False),
    sa.Column("template_url", sa.String(500), nullable=False),
    # 0047_custom_area: the custom area's cloud-print template ("" = no custom area)
    sa.Column("custom_area_url", sa.String(500), nullable=False, server_default=""),
    sa.Column("chosen_by", sa.String(64), nullable=False),
    sa.Column("chosen_at", UtcDateTime(), nullable=False),
)
"""The manager's choice per shop and courier: the sender address (copied from a branch's
addresses, so a later refresh cannot change it silently) and the template."""

COURIER_TABLES = (courier_accounts, courier_templates, courier_choices)
"""The tables of this module."""

desk_prints = sa.Table(
    "desk_prints",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("order_id", sa.String(64), nullable=False),
    sa.Column("waybill_no", sa.String(64), nullable=False),
    sa.Column("n", sa.Integer(), nullable=False),
    sa.Column("printer", sa.String(200), nullable=False),
    sa.Column("printed_by", sa.String(64), nullable=False),
    sa.Column("printed_at", UtcDateTime(), nullable=False),
    sa.Column("reason", sa.String(200), nullable=True),
    sa.Index("ix_desk_prints_order", "order_id", "printed_at"),
    sa.UniqueConstraint("order_id", "n", name="uq_desk_prints_order_n"),
)
"""E-waybills printed at the office 打单台 through a print component (0045): the n-th print
of the order's waybill, printer, who, when, and the reason of a reprint. ``id`` is the
print component's task and document (a result reported twice is kept once)."""
