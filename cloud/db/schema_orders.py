"""Order-side tables: shop credentials, order sync, allocation, outbound, stock push.

They live on the shared :data:`cloud.db.schema.metadata` (importing :mod:`cloud.db`
registers them) and are created by migration ``0004_orders``. Conventions as in
:mod:`cloud.db.schema`: text ids, money in fen, UTC timestamps. Buyer PII is never
stored in clear: platform ciphertext stays ciphertext (``receiver_cipher``), anything we
decrypt is sealed with the cloud key (``receiver_sealed``), screens read the masks.
"""

from __future__ import annotations

import sqlalchemy as sa

from cloud.db.schema import metadata, stock_moves
from cloud.db.types import UtcDateTime, bigint_pk, json_type

ORDER_STATES: tuple[str, ...] = (
    "pending", "exception", "allocated", "tasked", "shipped", "intercepted", "cancelled",
)
"""``orders.state``: Packline's view of an order.

pending → (automatic review) → allocated (stock reserved) → tasked (e-waybill issued, pack
task sent) → shipped; ``exception`` when review fails (``exception_code`` says why);
``intercepted`` after a refund request or address change reached a tasked order;
``cancelled`` when the platform closed it before shipping (reservation released)."""

MERGED = "merged"
"""``orders.exception_code`` of an order merged into another's parcel (合并订单,
``cloud.orders.merging``; ``orders.merged_into`` names the primary): it waits there, its
lines ship in the primary's task and its units are reserved under the primary."""

HELD = "held"
"""``orders.exception_code`` of an order a person holds (审单, ``cloud.orders.review``):
no allocation pass and no platform update lifts it; only a release does."""

WRITEBACK_STATES: tuple[str, ...] = ("pending", "done", "failed")
"""``tracking_writebacks.state``: to do (retried with backoff), written, given up (needs a person)."""

DEFAULT_PUSH_CUT_PERCENT = 50
"""``shop_config.push_cut_percent`` unless the manager sets another (``shop confirm-push
--cut-percent``): a stock push lowering a listing by more than half of what the platform
was last told waits for a person (README, "看订单 / watch orders arrive"); migration 0012
wrote the same."""

shop_config = sa.Table(
    "shop_config",
    metadata,
    sa.Column("shop_id", sa.String(64), sa.ForeignKey("shops.id"), primary_key=True),
    sa.Column("app_secret_enc", sa.Text(), nullable=False),
    sa.Column("gateway_url", sa.String(500), nullable=False),
    sa.Column("default_warehouse_id", sa.String(64), nullable=True),
    sa.Column("carrier_code", sa.String(32), nullable=False, server_default="ZTO"),
    sa.Column("logistics_id", sa.String(32), nullable=False, server_default="115"),
    sa.Column("sender_sealed", sa.Text(), nullable=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="new"),
    sa.Column("authorized_at", UtcDateTime(), nullable=True),
    sa.Column("push_confirmed_at", UtcDateTime(), nullable=True),
    sa.Column("push_confirmed_by", sa.String(64), nullable=True),
    sa.Column("push_trust", sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column("push_cut_percent", sa.Integer(), server_default=str(DEFAULT_PUSH_CUT_PERCENT),
              nullable=False),
    sa.CheckConstraint("push_cut_percent BETWEEN 1 AND 100", name="push_cut_percent"),
)
"""Per shop: app secret (encrypted), gateway, default warehouse, carrier and sender (sealed).

``status``: ``new`` (never authorised), ``active``, ``reauth`` (tokens dead: authorise again).

Stock push safety (``cloud.orders.stock_push``): nothing is pushed until the manager
confirmed the first-push preview (``push_confirmed_at/by``); afterwards a push lowering a
listing to 0 or by more than ``push_cut_percent`` % waits in ``stock_push_holds`` unless
``push_trust``."""

shop_warehouses = sa.Table(
    "shop_warehouses",
    metadata,
    sa.Column("shop_id", sa.String(64), sa.ForeignKey("shops.id"), primary_key=True),
    sa.Column("warehouse_id", sa.String(64), sa.ForeignKey("warehouses.id"), primary_key=True),
)
"""Warehouses that serve a shop (allocation candidates, stock-push sources). None = all."""

sync_cursors = sa.Table(
    "sync_cursors",
    metadata,
    sa.Column("shop_id", sa.String(64), sa.ForeignKey("shops.id"), primary_key=True),
    sa.Column("stream", sa.String(16), primary_key=True),
    sa.Column("cursor_at", UtcDateTime(), nullable=False),
    sa.Column("last_window_start", UtcDateTime(), nullable=True),
    sa.Column("last_window_end", UtcDateTime(), nullable=True),
    sa.Column("last_count", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)
"""Checkpoint per shop and stream (``orders``, ``refunds``): everything modified before
``cursor_at`` has been read. Moved only after every page of a window succeeded."""

sku_mappings = sa.Table(
    "sku_mappings",
    metadata,
    sa.Column("id", bigint_pk(), primary_key=True, autoincrement=True),
    sa.Column("shop_id", sa.String(64), sa.ForeignKey("shops.id"), nullable=False),
    sa.Column("platform_item_id", sa.String(64), nullable=False),
    sa.Column("platform_sku_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("outer_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("sku", sa.String(64), sa.ForeignKey("skus.sku"), nullable=False),
    sa.Column("units", sa.Integer(), nullable=False, server_default="1"),
    sa.Column("buffer_units", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("buffer_percent", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("push_stock", sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column("stock_share", sa.Integer(), nullable=False, server_default="1"),
    # 0019_push_limits: offered 0 below push_min, never more than push_max (platform units)
    sa.Column("push_min", sa.Integer(), nullable=True),
    sa.Column("push_max", sa.Integer(), nullable=True),
    sa.CheckConstraint("units > 0", name="units"),
    sa.CheckConstraint("stock_share >= 0", name="stock_share"),
    sa.CheckConstraint("buffer_units >= 0", name="buffer_units"),
    sa.CheckConstraint("buffer_percent >= 0 AND buffer_percent <= 100", name="buffer_percent"),
    sa.UniqueConstraint("shop_id", "platform_item_id", "platform_sku_id", "outer_id"),
    sa.Index("ix_sku_mappings_shop_sku_id", "shop_id", "platform_sku_id"),
    sa.Index("ix_sku_mappings_shop_outer", "shop_id", "outer_id"),
)
"""Platform SKU (``sku_id``, else merchant code ``outer_id``) → Packline SKU, with the
stock-push rule: safety buffer = ``buffer_units`` + ceil(on-hand × ``buffer_percent`` %);
one platform unit takes ``units`` Packline units. Mappings that draw on the same
warehouse stock split it by ``stock_share`` (a weight; see docs/stock-model.md)."""

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("shop_id", sa.String(64), sa.ForeignKey("shops.id"), nullable=False),
    sa.Column("platform", sa.String(16), nullable=False),
    sa.Column("platform_order_id", sa.String(64), nullable=False),
    sa.Column("platform_status", sa.String(32), nullable=False),
    sa.Column("raw_status", sa.String(64), nullable=False),
    sa.Column("refund_status", sa.String(64), nullable=False, server_default=""),
    sa.Column("platform_updated_at", UtcDateTime(), nullable=False),
    sa.Column("ordered_at", UtcDateTime(), nullable=True),
    sa.Column("buyer_note", sa.Text(), nullable=False, server_default=""),
    sa.Column("seller_note", sa.Text(), nullable=False, server_default=""),
    sa.Column("risk_review", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("pay_fen", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("receiver_cipher", json_type(), nullable=True),
    sa.Column("receiver_masked", json_type(), nullable=False),
    sa.Column("receiver_sealed", sa.Text(), nullable=True),
    sa.Column("receiver_digest", sa.String(64), nullable=False, server_default=""),
    sa.Column("platform_carrier", sa.String(64), nullable=False, server_default=""),
    sa.Column("platform_tracking", sa.String(64), nullable=False, server_default=""),
    sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("exception_code", sa.String(32), nullable=True),
    sa.Column("exception_detail", sa.Text(), nullable=True),
    sa.Column("warehouse_id", sa.String(64), nullable=True),
    sa.Column("station_id", sa.String(64), nullable=True),
    sa.Column("revision", sa.Integer(), nullable=False, server_default="1"),
    sa.Column("first_seen_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    # 0016_order_review: the buyer note a person approved (review stops on any other)
    sa.Column("note_approved", sa.Text(), nullable=True),
    # 0020_promotions: the pay amount a person approved over the shop's amount limit
    sa.Column("amount_approved_fen", sa.BigInteger(), nullable=True),
    # 0021_order_merge: the order whose parcel this one ships in (合并订单)
    sa.Column("merged_into", sa.String(64), nullable=True),
    # 0021_order_merge: a second parcel split off this order (拆单, id "<order>#2")
    sa.Column("split_from", sa.String(64), nullable=True),
    # 0040_returns: the shipped order this one sends an exchange for (换货: id "<order>~X<n>")
    sa.Column("exchange_of", sa.String(64), nullable=True),
    # 0024_order_search: the warehouse a person pinned the order to (手工指定仓库)
    sa.Column("pinned_warehouse_id", sa.String(64), nullable=True),
    # 0026_ship_by: the platform's ship-by deadline (PDD last_ship_time; Taobao paid + 48 h)
    sa.Column("ship_by", UtcDateTime(), nullable=True),
    # 0033_buyer_nick: the buyer's nickname masked for screens, and its keyed search digest
    # (``Sealer.search_key``); the nickname itself is not stored
    sa.Column("buyer_nick_mask", sa.String(64), nullable=False, server_default=""),
    sa.Column("buyer_nick_key", sa.String(64), nullable=True),
    sa.CheckConstraint(
        "state IN (" + ", ".join(f"'{s}'" for s in ORDER_STATES) + ")", name="state"),
    sa.UniqueConstraint("shop_id", "platform_order_id"),
    sa.Index("ix_orders_state", "state", "shop_id"),
    sa.Index("ix_orders_merged_into", "merged_into"),
    sa.Index("ix_orders_split_from", "split_from"),
    sa.Index("ix_orders_exchange_of", "exchange_of"),
    sa.Index("ix_orders_ship_by", "state", "ship_by"),
    sa.Index("ix_orders_buyer_nick_key", "buyer_nick_key"),
    sa.Index("ix_orders_ordered_at", "ordered_at"),
)
"""Packline orders, one per platform order (``id`` = ``{platform}-{platform_order_id}``).

Upserted from the platform: a record replaces the stored one only when its
``platform_updated_at`` is newer. ``revision`` counts the versions applied."""

order_events = sa.Table(
    "order_events",
    metadata,
    sa.Column("id", bigint_pk(), primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.id"), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("from_state", sa.String(16), nullable=False),
    sa.Column("to_state", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False, server_default=""),
    sa.Index("ix_order_events_order", "order_id", "id"),
)
"""State changes of an order made by a person (审单: approve, hold, release), with who,
when and why (``cloud.orders.review``); the platform's own changes are not here."""

order_lines = sa.Table(
    "order_lines",
    metadata,
    sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.id"), primary_key=True),
    sa.Column("line_no", sa.Integer(), primary_key=True),
    sa.Column("platform_item_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("platform_sku_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("outer_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("platform_line_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("title", sa.String(200), nullable=False, server_default=""),
    sa.Column("spec", sa.String(200), nullable=False, server_default=""),
    sa.Column("qty", sa.Integer(), nullable=False),
    sa.Column("price_fen", sa.BigInteger(), nullable=False),
    sa.Column("is_gift", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("sku", sa.String(64), nullable=True),
    sa.Column("sku_qty", sa.Integer(), nullable=True),
    # 0020_promotions: the promotion that added this gift line (NULL: from the platform)
    sa.Column("promotion_id", sa.BigInteger(), nullable=True),
    sa.Index("ux_order_lines_promotion", "order_id", "promotion_id", unique=True),
    sa.Index("ix_order_lines_sku", "sku"),  # 0024_order_search
)
"""Order lines; ``sku``/``sku_qty`` are the mapped Packline SKU and units (NULL = unmapped).
A line with ``promotion_id`` is a gift Packline added (赠品, ``cloud.orders.promotions``):
at most one per order and promotion."""

refunds = sa.Table(
    "refunds",
    metadata,
    sa.Column("shop_id", sa.String(64), sa.ForeignKey("shops.id"), primary_key=True),
    sa.Column("refund_id", sa.String(64), primary_key=True),
    sa.Column("platform_order_id", sa.String(64), nullable=False),
    sa.Column("status", sa.String(64), nullable=False),
    sa.Column("succeeded", sa.Boolean(), nullable=False),
    sa.Column("amount_fen", sa.BigInteger(), nullable=False),
    sa.Column("platform_updated_at", UtcDateTime(), nullable=False),
    sa.Column("seen_at", UtcDateTime(), nullable=False),
    # 0040_returns: what a return parcel needs to be matched at the kiosk
    sa.Column("returns_goods", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("exchange", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("return_waybill", sa.String(64), nullable=False, server_default=""),
    sa.Column("return_carrier", sa.String(64), nullable=False, server_default=""),
    sa.Column("platform_sku_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("outer_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("qty", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("reason", sa.String(200), nullable=False, server_default=""),
    sa.Index("ix_refunds_order", "shop_id", "platform_order_id"),
    sa.Index("ix_refunds_return_waybill", "return_waybill"),
)
"""After-sales records (newer ``platform_updated_at`` wins). ``returns_goods``: the buyer
sends goods back (退货退款, 换货), by the parcel ``return_waybill`` once shipped; the line as the
platform names it (``platform_sku_id``, ``outer_id``, ``qty``; empty/0 when not sent) and
the buyer's ``reason`` as the platform words it."""

reservations = sa.Table(
    "reservations",
    metadata,
    sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.id"), primary_key=True),
    sa.Column("sku", sa.String(64), primary_key=True),
    sa.Column("warehouse_id", sa.String(64), primary_key=True),
    sa.Column("qty", sa.Integer(), nullable=False),
    sa.Column("shipped_qty", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("released_at", UtcDateTime(), nullable=True),
    sa.Column("release_reason", sa.String(32), nullable=True),
    sa.CheckConstraint("qty > 0", name="qty"),
    sa.CheckConstraint("shipped_qty >= 0 AND shipped_qty <= qty", name="shipped_qty"),
    sa.Index("ix_reservations_open", "warehouse_id", "sku", "released_at"),
)
"""Stock reserved for every paid, unshipped order (``cloud.orders.reservations``). An open row
holds ``qty − shipped_qty``: the order's SHIP moves reaching the cloud consume it in the
same transaction that lowers on-hand; released when the shipment is complete, or when the
order is cancelled, refunded or no longer needs it."""

waybills = sa.Table(
    "waybills",
    metadata,
    sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.id"), primary_key=True),
    sa.Column("waybill_no", sa.String(64), nullable=False),
    sa.Column("carrier_code", sa.String(32), nullable=False),
    sa.Column("print_data", sa.Text(), nullable=False),
    sa.Column("issued_at", UtcDateTime(), nullable=False),
    sa.Column("label", json_type(), nullable=True),  # 0028_courier_accounts
    # 0034_waybill_cancel: the number cancelled on the platform (回收) after the order was
    # cancelled or refunded before shipping; the attempts and the last refusal
    sa.Column("cancelled_at", UtcDateTime(), nullable=True),
    sa.Column("cancel_attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("cancel_error", sa.Text(), nullable=True),
    sa.Index("ix_waybills_waybill_no", "waybill_no"),  # 0024_order_search
)
"""E-waybills issued by the platform at allocation; ``print_data`` is opaque and forwarded.
``label``: what the station's self-drawn label needs besides (``edge.sync.schema.TaskLabelWire``
fields: courier name, the sender the waybill was taken with, sort code, package centre);
NULL for waybills issued before 0028."""

order_intercepts = sa.Table(
    "order_intercepts",
    metadata,
    sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.id"), primary_key=True),
    sa.Column("cause", sa.String(128), primary_key=True),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("station_id", sa.String(64), nullable=True),
    sa.Column("msg_id", sa.String(64), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("seq", sa.Integer(), server_default="0", nullable=False),
    sa.Column("lifted_at", UtcDateTime(), nullable=True),
    sa.Column("lift_seq", sa.Integer(), nullable=True),
    sa.Column("lift_msg_id", sa.String(64), nullable=True),
)
"""One row per interception cause (``refund:<id>``, ``address:<digest>``): sent once while
it stands. ``seq`` numbers the order's hold decisions (intercepts and releases) for the
station; a withdrawn or refused refund lifts its intercepts (``lifted_at``, with the
release's ``lift_seq`` and message), and a later request for the same cause intercepts
again under a new number."""

tracking_writebacks = sa.Table(
    "tracking_writebacks",
    metadata,
    sa.Column("id", bigint_pk(), primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.id"), nullable=False),
    sa.Column("waybill_no", sa.String(64), nullable=False),
    sa.Column("carrier", sa.String(64), nullable=False),
    sa.Column("modify", sa.Boolean(), nullable=False),
    sa.Column("shipment_msg_id", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("done_at", UtcDateTime(), nullable=True),
    sa.CheckConstraint(
        "state IN (" + ", ".join(f"'{s}'" for s in WRITEBACK_STATES) + ")", name="state"),
    sa.UniqueConstraint("order_id", "waybill_no"),
    sa.Index("ix_tracking_writebacks_due", "state", "next_attempt_at"),
)
"""Tracking numbers to write back to the platform, one per (order, waybill): the first
shipment, or a modification when a later shipment carries another waybill."""

stock_push_holds = sa.Table(
    "stock_push_holds",
    metadata,
    sa.Column("id", bigint_pk(), primary_key=True, autoincrement=True),
    sa.Column("shop_id", sa.String(64), nullable=False),
    sa.Column("mapping_id", sa.BigInteger(), nullable=False),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("from_qty", sa.BigInteger(), nullable=False),
    sa.Column("to_qty", sa.BigInteger(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, server_default="open"),
    sa.Column("decided_at", UtcDateTime(), nullable=True),
    sa.Column("decided_by", sa.String(64), nullable=True),
    sa.Column("push_id", sa.BigInteger(), nullable=True),
    sa.CheckConstraint("state IN ('open', 'approved', 'used', 'lapsed')", name="state"),
    sa.Index("ix_stock_push_holds_mapping", "mapping_id", "state"),
)
"""Stock cuts waiting for a person: a push that would lower a listing from ``from_qty`` (what
the platform was last told) to ``to_qty`` — to 0, or by more than the shop's
``push_cut_percent`` — is not sent. ``open`` (one per mapping, ``to_qty`` kept current),
``approved`` (by ``decided_by``: the next push may cut), ``used`` (that push, ``push_id``),
``lapsed`` (the cut no longer needed: stock came back)."""

stock_pushes = sa.Table(
    "stock_pushes",
    metadata,
    sa.Column("id", bigint_pk(), primary_key=True, autoincrement=True),
    sa.Column("shop_id", sa.String(64), nullable=False),
    sa.Column("mapping_id", sa.BigInteger(), nullable=False),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("on_hand", sa.BigInteger(), nullable=False),
    sa.Column("reserved", sa.BigInteger(), nullable=False),
    sa.Column("buffer", sa.BigInteger(), nullable=False),
    sa.Column("available", sa.BigInteger(), nullable=False),
    sa.Column("pushed", sa.BigInteger(), nullable=False),
    sa.Column("units", sa.Integer(), nullable=False, server_default="1"),
    sa.Column("allotted", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("guard_units", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("push_min", sa.Integer(), nullable=True),  # 0019_push_limits
    sa.Column("push_max", sa.Integer(), nullable=True),
    sa.Column("detail", json_type(), nullable=True),
    sa.Column("ok", sa.Boolean(), nullable=False),
    sa.Column("answer", sa.Text(), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.CheckConstraint("pushed >= 0 AND pushed * units <= guard_units", name="guard"),
    sa.Index("ix_stock_pushes_mapping", "mapping_id", "id"),
)
"""Every stock push with its inputs (on-hand, reserved, the mapping's share ``allotted``,
buffer → available, per-warehouse ``detail``), the value pushed and the platform's answer.

``guard_units`` is the oversell guard: Packline units the mapping may offer, computed at
push time by a separate query (``cloud.orders.stock_push.guard_units``: the fold of the ledger's
moves minus open reservations, split by the shares) — not by the function that chose
``pushed``. The row is written *before* the platform is called, and the check constraint
refuses ``pushed × units > guard_units``, so a push above it never leaves Packline."""

push_inbox = sa.Table(
    "push_inbox",
    metadata,
    sa.Column("shop_id", sa.String(64), primary_key=True),
    sa.Column("msg_id", sa.String(64), primary_key=True),
    sa.Column("topic", sa.String(128), nullable=False),
    sa.Column("platform_order_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("received_at", UtcDateTime(), nullable=False),
)
"""Push messages handled (PDD PMC / TOP TMC), deduplicated by id."""

job_leases = sa.Table(
    "job_leases",
    metadata,
    sa.Column("job", sa.String(128), primary_key=True),
    sa.Column("owner", sa.String(128), nullable=True),
    sa.Column("lease_until", UtcDateTime(), nullable=True),
    sa.Column("last_run_at", UtcDateTime(), nullable=True),
)
"""Worker leases: a job (``shop:<id>``) is run by one worker at a time; taken with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL."""

ix_stock_moves_source_id = sa.Index("ix_stock_moves_source_id", stock_moves.c.source_id)
"""Finds an order's SHIP moves (reservations are released once they reached the cloud)."""

ORDER_TABLES: tuple[sa.Table, ...] = (
    shop_config, shop_warehouses, sync_cursors, sku_mappings, orders, order_lines, refunds,
    reservations, waybills, order_intercepts, tracking_writebacks, stock_pushes, push_inbox,
    job_leases,
)
"""Tables created by migration ``0004_orders``, in creation order."""

PROMOTION_KINDS: tuple[str, ...] = ("amount", "qty")
"""``promotions.kind``: ``amount`` 满就送 (order pay amount ≥ ``threshold`` fen), ``qty``
满件送 (units of ``trigger_sku`` — or of the whole order — ≥ ``threshold``)."""

promotions = sa.Table(
    "promotions",
    metadata,
    sa.Column("id", bigint_pk(), primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("shop_id", sa.String(64), sa.ForeignKey("shops.id"), nullable=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("threshold", sa.BigInteger(), nullable=False),
    sa.Column("trigger_sku", sa.String(64), nullable=True),
    sa.Column("gift_sku", sa.String(64), sa.ForeignKey("skus.sku"), nullable=False),
    sa.Column("gift_qty", sa.Integer(), nullable=False),
    sa.Column("starts_at", UtcDateTime(), nullable=False),
    sa.Column("ends_at", UtcDateTime(), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('amount', 'qty')", name="kind"),
    sa.CheckConstraint("threshold > 0 AND gift_qty > 0", name="positive"),
    sa.CheckConstraint("ends_at > starts_at", name="dates"),
)
"""Promotion gifts (赠品): an order of the shop (NULL: every shop) ordered in
[``starts_at``, ``ends_at``) that reaches ``threshold`` gets ``gift_qty`` of ``gift_sku``
as a zero-price line when it passes review (``cloud.orders.promotions``). Never deleted
(gift lines name them): deactivated."""

review_rules = sa.Table(
    "review_rules",
    metadata,
    sa.Column("shop_id", sa.String(64), sa.ForeignKey("shops.id"), primary_key=True),
    sa.Column("hold_buyer_note", sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column("hold_risk_review", sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column("max_amount_fen", sa.BigInteger(), nullable=True),
    sa.Column("updated_by", sa.String(64), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint("max_amount_fen IS NULL OR max_amount_fen > 0", name="max_amount"),
)
"""Per shop, what the automatic review holds for a person (``cloud.orders.review_rules``);
a shop without a row gets the defaults: hold on a buyer note and on platform risk review,
no amount limit."""

platform_listings = sa.Table(
    "platform_listings",
    metadata,
    sa.Column("id", bigint_pk(), primary_key=True, autoincrement=True),
    sa.Column("shop_id", sa.String(64), sa.ForeignKey("shops.id"), nullable=False),
    sa.Column("item_id", sa.String(64), nullable=False),
    sa.Column("sku_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("outer_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("title", sa.String(300), nullable=False, server_default=""),
    sa.Column("spec", sa.String(200), nullable=False, server_default=""),
    sa.Column("quantity", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("on_sale", sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column("fetched_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("shop_id", "item_id", "sku_id", name="uq_platform_listings_sku"),
)
"""商品匹配 (migration ``0029_platform_listings``): every listing SKU of a shop as the
platform last showed it — goods/item id, platform SKU id, 商家编码 (``outer_id``), title,
spec, the platform's quantity and when it was fetched (``cloud.orders.listings``). Matched
to warehouse SKUs through ``sku_mappings`` (by platform SKU id); a download replaces the
shop's rows."""

TAG_COLOURS: tuple[str, ...] = ("red", "orange", "yellow", "green", "blue", "purple", "grey")
"""``order_tags.colour``: the fixed palette a tag's chip is drawn in."""

order_tags = sa.Table(
    "order_tags",
    metadata,
    sa.Column("id", bigint_pk(), primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(32), nullable=False, unique=True),
    sa.Column("colour", sa.String(16), nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)
"""Order tags (订单标签) a manager defines (0031_order_tags); ``cloud.orders.tags``."""

order_tag_links = sa.Table(
    "order_tag_links",
    metadata,
    sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.id"), primary_key=True),
    sa.Column("tag_id", sa.BigInteger(), sa.ForeignKey("order_tags.id"), primary_key=True),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Index("ix_order_tag_links_tag", "tag_id", "order_id"),
)
"""Which tag is on which order, who put it there and when (0031_order_tags)."""

WAVE_KINDS: tuple[str, ...] = ("single", "multi")
"""``waves.kind``: single-item orders (one line, one unit: scan-to-print straight after the
pick) or multi-item orders (sorted into put-wall slots after the pick)."""

WAVE_STATUSES: tuple[str, ...] = ("open", "picked", "cancelled")
"""``waves.status``: sent to the station and not picked yet; picked (the station's
``wave_pick`` arrived); cancelled by a person before the pick ended."""

waves = sa.Table(
    "waves",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("warehouse_id", sa.String(64), nullable=False),
    sa.Column("station_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("carrier", sa.String(32), nullable=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("picked_by", sa.String(64), nullable=True),
    sa.Column("picked_at", UtcDateTime(), nullable=True),
    sa.Column("pick_msg_id", sa.String(64), nullable=True),
    sa.Column("pick_lines", json_type(), nullable=True),
    sa.Column("cancelled_by", sa.String(64), nullable=True),
    sa.Column("cancelled_at", UtcDateTime(), nullable=True),
    sa.CheckConstraint("kind IN ('single', 'multi')", name="wave_kind"),
    sa.CheckConstraint("status IN ('open', 'picked', 'cancelled')", name="wave_status"),
    sa.Index("ix_waves_station", "station_id", "status"),
)
"""Picking waves (波次, migration ``0042_waves``, ``cloud.orders.waves``): orders already
tasked to one station grouped for one walk through the warehouse. ``pick_lines`` is the
station's pick result (location, SKU, wanted, picked per line) once its ``wave_pick``
message arrived (``pick_msg_id``, kept once)."""

wave_orders = sa.Table(
    "wave_orders",
    metadata,
    sa.Column("wave_id", sa.String(32), sa.ForeignKey("waves.id"), primary_key=True),
    sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.id"), primary_key=True),
    sa.Column("slot", sa.Integer(), nullable=False),
    sa.Column("short", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("put_at", UtcDateTime(), nullable=True),
    sa.Index("ix_wave_orders_order", "order_id"),
)
"""The orders of a wave (0042_waves): the put-wall slot (1..N in a multi wave, 0 in a
single one), whether the pick came up short for it (拣货缺货: the order is intercepted),
and when its slot was reported full (``wave_put``)."""
