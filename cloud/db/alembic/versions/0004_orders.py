"""orders: shop config, order sync, allocation, waybills, write-backs, stock pushes, leases

Revision ID: 0004_orders
Revises: 0003_station_health_resync
Create Date: 2026-11-23

The DDL is written out (rendered by Alembic's autogenerate against the schema at
0003_station_health_resync), so this revision stays what it was when the models in
``cloud/db/schema_orders.py`` change: later changes go into new migrations.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import cloud.db.types

revision: str = "0004_orders"
down_revision: str | None = "0003_station_health_resync"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('job_leases',
    sa.Column('job', sa.String(length=128), nullable=False),
    sa.Column('owner', sa.String(length=128), nullable=True),
    sa.Column('lease_until', cloud.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_run_at', cloud.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('job', name=op.f('pk_job_leases'))
    )
    op.create_table('push_inbox',
    sa.Column('shop_id', sa.String(length=64), nullable=False),
    sa.Column('msg_id', sa.String(length=64), nullable=False),
    sa.Column('topic', sa.String(length=128), nullable=False),
    sa.Column('platform_order_id', sa.String(length=64), server_default='', nullable=False),
    sa.Column('received_at', cloud.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('shop_id', 'msg_id', name=op.f('pk_push_inbox'))
    )
    op.create_table('stock_pushes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.String(length=64), nullable=False),
    sa.Column('mapping_id', sa.BigInteger(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('on_hand', sa.BigInteger(), nullable=False),
    sa.Column('reserved', sa.BigInteger(), nullable=False),
    sa.Column('buffer', sa.BigInteger(), nullable=False),
    sa.Column('available', sa.BigInteger(), nullable=False),
    sa.Column('pushed', sa.BigInteger(), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('at', cloud.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('pushed >= 0 AND pushed <= available', name=op.f('ck_stock_pushes_never_above')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_pushes'))
    )
    op.create_index('ix_stock_pushes_mapping', 'stock_pushes', ['mapping_id', 'id'], unique=False)
    op.create_table('orders',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('shop_id', sa.String(length=64), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('platform_order_id', sa.String(length=64), nullable=False),
    sa.Column('platform_status', sa.String(length=32), nullable=False),
    sa.Column('raw_status', sa.String(length=64), nullable=False),
    sa.Column('refund_status', sa.String(length=64), server_default='', nullable=False),
    sa.Column('platform_updated_at', cloud.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ordered_at', cloud.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('buyer_note', sa.Text(), server_default='', nullable=False),
    sa.Column('seller_note', sa.Text(), server_default='', nullable=False),
    sa.Column('risk_review', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('pay_fen', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('receiver_cipher', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('receiver_masked', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('receiver_sealed', sa.Text(), nullable=True),
    sa.Column('receiver_digest', sa.String(length=64), server_default='', nullable=False),
    sa.Column('platform_carrier', sa.String(length=64), server_default='', nullable=False),
    sa.Column('platform_tracking', sa.String(length=64), server_default='', nullable=False),
    sa.Column('state', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('exception_code', sa.String(length=32), nullable=True),
    sa.Column('exception_detail', sa.Text(), nullable=True),
    sa.Column('warehouse_id', sa.String(length=64), nullable=True),
    sa.Column('station_id', sa.String(length=64), nullable=True),
    sa.Column('revision', sa.Integer(), server_default='1', nullable=False),
    sa.Column('first_seen_at', cloud.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', cloud.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('pending', 'exception', 'allocated', 'tasked', 'shipped', 'intercepted', 'cancelled')", name=op.f('ck_orders_state')),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_orders_shop_id_shops')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('shop_id', 'platform_order_id', name=op.f('uq_orders_shop_id_platform_order_id'))
    )
    op.create_index('ix_orders_state', 'orders', ['state', 'shop_id'], unique=False)
    op.create_table('refunds',
    sa.Column('shop_id', sa.String(length=64), nullable=False),
    sa.Column('refund_id', sa.String(length=64), nullable=False),
    sa.Column('platform_order_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=64), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('platform_updated_at', cloud.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('seen_at', cloud.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_refunds_shop_id_shops')),
    sa.PrimaryKeyConstraint('shop_id', 'refund_id', name=op.f('pk_refunds'))
    )
    op.create_index('ix_refunds_order', 'refunds', ['shop_id', 'platform_order_id'], unique=False)
    op.create_table('shop_config',
    sa.Column('shop_id', sa.String(length=64), nullable=False),
    sa.Column('app_secret_enc', sa.Text(), nullable=False),
    sa.Column('gateway_url', sa.String(length=500), nullable=False),
    sa.Column('default_warehouse_id', sa.String(length=64), nullable=True),
    sa.Column('carrier_code', sa.String(length=32), server_default='ZTO', nullable=False),
    sa.Column('logistics_id', sa.String(length=32), server_default='115', nullable=False),
    sa.Column('sender_sealed', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), server_default='new', nullable=False),
    sa.Column('authorized_at', cloud.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_shop_config_shop_id_shops')),
    sa.PrimaryKeyConstraint('shop_id', name=op.f('pk_shop_config'))
    )
    op.create_table('shop_warehouses',
    sa.Column('shop_id', sa.String(length=64), nullable=False),
    sa.Column('warehouse_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_shop_warehouses_shop_id_shops')),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], name=op.f('fk_shop_warehouses_warehouse_id_warehouses')),
    sa.PrimaryKeyConstraint('shop_id', 'warehouse_id', name=op.f('pk_shop_warehouses'))
    )
    op.create_table('sku_mappings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.String(length=64), nullable=False),
    sa.Column('platform_item_id', sa.String(length=64), nullable=False),
    sa.Column('platform_sku_id', sa.String(length=64), server_default='', nullable=False),
    sa.Column('outer_id', sa.String(length=64), server_default='', nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('units', sa.Integer(), server_default='1', nullable=False),
    sa.Column('buffer_units', sa.Integer(), server_default='0', nullable=False),
    sa.Column('buffer_percent', sa.Integer(), server_default='0', nullable=False),
    sa.Column('push_stock', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.CheckConstraint('buffer_percent >= 0 AND buffer_percent <= 100', name=op.f('ck_sku_mappings_buffer_percent')),
    sa.CheckConstraint('buffer_units >= 0', name=op.f('ck_sku_mappings_buffer_units')),
    sa.CheckConstraint('units > 0', name=op.f('ck_sku_mappings_units')),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_sku_mappings_shop_id_shops')),
    sa.ForeignKeyConstraint(['sku'], ['skus.sku'], name=op.f('fk_sku_mappings_sku_skus')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sku_mappings')),
    sa.UniqueConstraint('shop_id', 'platform_item_id', 'platform_sku_id', 'outer_id', name=op.f('uq_sku_mappings_shop_id_platform_item_id_platform_sku_id_outer_id'))
    )
    op.create_index('ix_sku_mappings_shop_outer', 'sku_mappings', ['shop_id', 'outer_id'], unique=False)
    op.create_index('ix_sku_mappings_shop_sku_id', 'sku_mappings', ['shop_id', 'platform_sku_id'], unique=False)
    op.create_table('sync_cursors',
    sa.Column('shop_id', sa.String(length=64), nullable=False),
    sa.Column('stream', sa.String(length=16), nullable=False),
    sa.Column('cursor_at', cloud.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_window_start', cloud.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_window_end', cloud.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('updated_at', cloud.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_sync_cursors_shop_id_shops')),
    sa.PrimaryKeyConstraint('shop_id', 'stream', name=op.f('pk_sync_cursors'))
    )
    op.create_table('order_intercepts',
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('cause', sa.String(length=128), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('station_id', sa.String(length=64), nullable=True),
    sa.Column('msg_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', cloud.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_intercepts_order_id_orders')),
    sa.PrimaryKeyConstraint('order_id', 'cause', name=op.f('pk_order_intercepts'))
    )
    op.create_table('order_lines',
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('platform_item_id', sa.String(length=64), server_default='', nullable=False),
    sa.Column('platform_sku_id', sa.String(length=64), server_default='', nullable=False),
    sa.Column('outer_id', sa.String(length=64), server_default='', nullable=False),
    sa.Column('platform_line_id', sa.String(length=64), server_default='', nullable=False),
    sa.Column('title', sa.String(length=200), server_default='', nullable=False),
    sa.Column('spec', sa.String(length=200), server_default='', nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('is_gift', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=True),
    sa.Column('sku_qty', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_lines_order_id_orders')),
    sa.PrimaryKeyConstraint('order_id', 'line_no', name=op.f('pk_order_lines'))
    )
    op.create_table('reservations',
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('warehouse_id', sa.String(length=64), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('created_at', cloud.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('released_at', cloud.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('release_reason', sa.String(length=32), nullable=True),
    sa.CheckConstraint('qty > 0', name=op.f('ck_reservations_qty')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_reservations_order_id_orders')),
    sa.PrimaryKeyConstraint('order_id', 'sku', 'warehouse_id', name=op.f('pk_reservations'))
    )
    op.create_index('ix_reservations_open', 'reservations', ['warehouse_id', 'sku', 'released_at'], unique=False)
    op.create_table('tracking_writebacks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('waybill_no', sa.String(length=64), nullable=False),
    sa.Column('carrier', sa.String(length=64), nullable=False),
    sa.Column('modify', sa.Boolean(), nullable=False),
    sa.Column('shipment_msg_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', cloud.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', cloud.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('done_at', cloud.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'done', 'failed')", name=op.f('ck_tracking_writebacks_state')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_tracking_writebacks_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracking_writebacks')),
    sa.UniqueConstraint('order_id', 'waybill_no', name=op.f('uq_tracking_writebacks_order_id_waybill_no'))
    )
    op.create_index('ix_tracking_writebacks_due', 'tracking_writebacks', ['state', 'next_attempt_at'], unique=False)
    op.create_table('waybills',
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('waybill_no', sa.String(length=64), nullable=False),
    sa.Column('carrier_code', sa.String(length=32), nullable=False),
    sa.Column('print_data', sa.Text(), nullable=False),
    sa.Column('issued_at', cloud.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_waybills_order_id_orders')),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_waybills'))
    )
    op.create_index('ix_stock_moves_source_id', 'stock_moves', ['source_id'], unique=False)
    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_index("ix_stock_moves_source_id", table_name="stock_moves")
    for name in ("waybills", "tracking_writebacks", "reservations", "order_lines",
                 "order_intercepts", "sync_cursors", "sku_mappings", "shop_warehouses",
                 "shop_config", "refunds", "orders", "stock_pushes", "push_inbox", "job_leases"):
        op.drop_table(name)
