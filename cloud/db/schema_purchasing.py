"""Purchasing tables (采购, migration ``0017_purchasing``): suppliers and purchase orders.

See :mod:`cloud.purchasing` for the rules (who may do what, the status flow)."""

from __future__ import annotations

import sqlalchemy as sa

from cloud.db.schema import metadata
from cloud.db.types import UtcDateTime, bigint_pk

PO_STATUSES: tuple[str, ...] = (
    "draft", "approved", "sent", "partial", "received", "closed", "cancelled")
"""``purchase_orders.status``: draft → approved → sent (to the warehouse's stations) →
partial / received as goods arrive → closed; cancelled from draft, approved or sent."""

suppliers = sa.Table(
    "suppliers",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("contact", sa.String(100), nullable=False, server_default=""),
    sa.Column("phone", sa.String(32), nullable=False, server_default=""),
    sa.Column("lead_days", sa.Integer(), nullable=True),
    sa.Column("note", sa.Text(), nullable=False, server_default=""),
    sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint("lead_days IS NULL OR lead_days BETWEEN 0 AND 365", name="lead_days"),
)
"""Who the seller buys from: contact, phone, usual lead time in days."""

purchase_orders = sa.Table(
    "purchase_orders",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("supplier_id", sa.String(32), sa.ForeignKey("suppliers.id"), nullable=False),
    sa.Column("warehouse_id", sa.String(64), sa.ForeignKey("warehouses.id"), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="draft"),
    sa.Column("expected_on", sa.Date(), nullable=True),
    sa.Column("note", sa.Text(), nullable=False, server_default=""),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("approved_by", sa.String(64), nullable=True),
    sa.Column("approved_at", UtcDateTime(), nullable=True),
    sa.Column("sent_at", UtcDateTime(), nullable=True),
    sa.Column("cancel_reason", sa.Text(), nullable=True),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in PO_STATUSES) + ")",
                       name="status"),
    sa.Index("ix_purchase_orders_status", "status", "created_at"),
)
"""Purchase orders: ``id`` is ``PO{yyyymmdd}-{n}`` in China Standard Time."""

purchase_order_lines = sa.Table(
    "purchase_order_lines",
    metadata,
    sa.Column("po_id", sa.String(32), sa.ForeignKey("purchase_orders.id"), primary_key=True),
    sa.Column("line_no", sa.Integer(), primary_key=True),
    sa.Column("sku", sa.String(64), sa.ForeignKey("skus.sku"), nullable=False),
    sa.Column("qty_ordered", sa.Integer(), nullable=False),
    sa.Column("unit_cost_fen", sa.BigInteger(), nullable=False),
    sa.Column("qty_received", sa.Integer(), nullable=False, server_default="0"),
    sa.CheckConstraint("qty_ordered > 0", name="qty_ordered"),
    sa.CheckConstraint("unit_cost_fen >= 0", name="unit_cost_fen"),
    sa.CheckConstraint("qty_received >= 0", name="qty_received"),
)
"""The lines of a purchase order: SKU, quantity, unit cost in fen, received so far."""

cost_changes = sa.Table(
    "cost_changes",
    metadata,
    sa.Column("move_id", sa.String(64), primary_key=True),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("po_id", sa.String(32), nullable=False),
    sa.Column("qty", sa.Integer(), nullable=False),
    sa.Column("unit_cost_fen", sa.BigInteger(), nullable=False),
    sa.Column("on_hand_before", sa.BigInteger(), nullable=False),
    sa.Column("cost_before_fen", sa.BigInteger(), nullable=True),
    sa.Column("cost_after_fen", sa.BigInteger(), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Index("ix_cost_changes_sku", "sku", "at"),
)
"""The moving-average cost each purchase receipt set (migration ``0018_receipts``), keyed
by the RECEIVE move: ``(on_hand_before × cost_before + qty × unit_cost) / (on_hand_before +
qty)``, rounded half up to the fen; the unit cost alone when nothing (or less than nothing)
was on hand or no cost was known."""

supplier_payments = sa.Table(
    "supplier_payments",
    metadata,
    sa.Column("id", bigint_pk(), primary_key=True, autoincrement=True),
    sa.Column("supplier_id", sa.String(32), sa.ForeignKey("suppliers.id"), nullable=False),
    sa.Column("amount_fen", sa.BigInteger(), nullable=False),
    sa.Column("paid_on", sa.Date(), nullable=False),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("reference", sa.String(64), nullable=False, server_default=""),
    sa.Column("note", sa.Text(), nullable=False, server_default=""),
    sa.Column("reverses", sa.BigInteger(), sa.ForeignKey("supplier_payments.id"), nullable=True,
              unique=True),
    sa.Column("recorded_by", sa.String(64), nullable=False),
    sa.Column("recorded_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint("(reverses IS NULL AND amount_fen > 0) OR "
                       "(reverses IS NOT NULL AND amount_fen < 0)", name="amount_sign"),
    sa.Index("ix_supplier_payments_supplier", "supplier_id", "paid_on"),
)
"""Payments to suppliers (migration ``0022_supplier_payments``), never edited or deleted: a
payment recorded by mistake is cancelled by a reversal row (negative amount, ``reverses``
naming it, at most one per payment). See :mod:`cloud.payables`."""

courier_rates = sa.Table(
    "courier_rates",
    metadata,
    sa.Column("id", bigint_pk(), primary_key=True, autoincrement=True),
    sa.Column("carrier", sa.String(16), nullable=False),
    sa.Column("effective_from", sa.Date(), nullable=False),
    sa.Column("province", sa.String(16), nullable=False),
    sa.Column("first_g", sa.Integer(), nullable=False),
    sa.Column("first_fen", sa.Integer(), nullable=False),
    sa.Column("step_g", sa.Integer(), nullable=False),
    sa.Column("step_fen", sa.Integer(), nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("carrier", "effective_from", "province", name="uq_courier_rates_row"),
)
"""运费模板 (migration ``0027_courier_charges``): one row per carrier, effective day and
destination province (``*``: every other province): first weight and its price, then each
additional step and its price. A card (all rows of one carrier and day) applies to parcels
shipped from that day until the carrier's next card. See :mod:`cloud.courier_charges`."""
