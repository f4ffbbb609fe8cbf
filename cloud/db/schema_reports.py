"""Report summary tables (migration ``0030_report_summaries``): sales per day kept current
as orders and refunds arrive, so reports never scan every order line per request.

``report_order_facts`` holds what each platform order last added to the summaries (its
*contribution*); when an order or one of its refunds changes, ``cloud.reports.summaries``
recomputes the contribution from the source tables, applies the difference to
``sales_daily`` and ``sales_daily_sku`` and stores the new one — in the same transaction.
``packline-cloud reports rebuild`` recomputes all three from the source tables. Days are
China Standard Time; money is integer fen.
"""

from __future__ import annotations

import sqlalchemy as sa

from cloud.db.schema import metadata
from cloud.db.types import UtcDateTime, json_type

report_order_facts = sa.Table(
    "report_order_facts",
    metadata,
    sa.Column("order_id", sa.String(64), primary_key=True),
    sa.Column("facts", json_type(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)
"""Per platform order (the original, never a second parcel ``…#2``): its contribution to the
summaries as JSON — ``day``, ``shop``, ``platform``, ``province``, ``units``, ``gmv``,
``skus`` ({sku: [orders, units, gmv]}) and ``refunds`` ({day: [count, fen]}). No row: the
order adds nothing (cancelled, or not seen yet)."""

sales_daily = sa.Table(
    "sales_daily",
    metadata,
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column("shop_id", sa.String(64), primary_key=True),
    sa.Column("province", sa.String(32), primary_key=True),
    sa.Column("platform", sa.String(16), nullable=False),
    sa.Column("orders", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("units", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("gmv_fen", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("refunds", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("refund_fen", sa.BigInteger(), nullable=False, server_default="0"),
)
"""Sales per China Standard Time day × shop × buyer province: orders, units and GMV booked
on the order's day; successful refunds (count, fen) booked on the refund's day."""

sales_daily_sku = sa.Table(
    "sales_daily_sku",
    metadata,
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column("shop_id", sa.String(64), primary_key=True),
    sa.Column("sku", sa.String(64), primary_key=True),
    sa.Column("platform", sa.String(16), nullable=False),
    sa.Column("orders", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("units", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("gmv_fen", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Index("ix_sales_daily_sku_sku", "sku", "day"),
)
"""Sales per day × shop × Packline SKU (``""``: a line not mapped to a SKU yet): orders that
contain it, units (Packline units) and GMV (line price × quantity)."""

sales_monthly_sku = sa.Table(
    "sales_monthly_sku",
    metadata,
    sa.Column("month", sa.Date(), primary_key=True),
    sa.Column("shop_id", sa.String(64), primary_key=True),
    sa.Column("sku", sa.String(64), primary_key=True),
    sa.Column("platform", sa.String(16), nullable=False),
    sa.Column("orders", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("units", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("gmv_fen", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Index("ix_sales_monthly_sku_sku", "sku", "month"),
)
"""``sales_daily_sku`` summed per month (``month`` = its first day): long ranges by SKU read
whole months here and only the partial months at either end from the daily table."""

sales_daily_city = sa.Table(
    "sales_daily_city",
    metadata,
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column("shop_id", sa.String(64), primary_key=True),
    sa.Column("province", sa.String(32), primary_key=True),
    sa.Column("city", sa.String(32), primary_key=True),
    sa.Column("platform", sa.String(16), nullable=False),
    sa.Column("orders", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("units", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("gmv_fen", sa.BigInteger(), nullable=False, server_default="0"),
)
"""Sales per day × shop × buyer province × city (``0050_sales_geo``): orders, units, GMV on
the order's day, as ``sales_daily`` books them (refunds are not split by city)."""

sales_monthly_geo_sku = sa.Table(
    "sales_monthly_geo_sku",
    metadata,
    sa.Column("month", sa.Date(), primary_key=True),
    sa.Column("shop_id", sa.String(64), primary_key=True),
    sa.Column("province", sa.String(32), primary_key=True),
    sa.Column("sku", sa.String(64), primary_key=True),
    sa.Column("platform", sa.String(16), nullable=False),
    sa.Column("orders", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("units", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("gmv_fen", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Index("ix_sales_monthly_geo_sku_sku", "sku", "month"),
    sa.Index("ix_sales_monthly_geo_sku_province", "province", "month"),
)
"""Sales per month × shop × buyer province × Packline SKU (``0050_sales_geo``): which styles
sell where. Kept per month only — per day it would be as large as the order lines — so the
report reads it by whole months."""

fulfil_daily = sa.Table(
    "fulfil_daily",
    metadata,
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column("station_id", sa.String(64), primary_key=True),
    sa.Column("operator_id", sa.String(64), primary_key=True),
    sa.Column("carrier", sa.String(64), primary_key=True),
    sa.Column("parcels", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("orders", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("pack_ms", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("timed", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("wrong_scans", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("reweighed", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("overrides", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("late", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("reprints", sa.BigInteger(), nullable=False, server_default="0"),
)
"""发货绩效 summary (migration ``0038_packer_figures``): per China Standard Time day × station
× operator × courier, what the parcels shipped that day add up to (``cloud.reports.
fulfilment``). ``orders`` counts an order on its first parcel (earliest ``shipped_at``, then
``msg_id``); ``pack_ms`` sums the parcels' pack time over the ``timed`` ones; ``late`` is
judged against the order's ship-by deadline known when the parcel arrived. Label reprints
carry no courier: they sit in rows with ``carrier`` ``""``."""

fulfil_bands = sa.Table(
    "fulfil_bands",
    metadata,
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column("station_id", sa.String(64), primary_key=True),
    sa.Column("carrier", sa.String(64), primary_key=True),
    sa.Column("band", sa.SmallInteger(), primary_key=True),
    sa.Column("parcels", sa.BigInteger(), nullable=False, server_default="0"),
)
"""Parcels per China Standard Time day × station × courier × weight band (the index into
``cloud.reports.fulfilment.WEIGHT_BANDS``, one past its end for heavier parcels, −1 for a
parcel without a weight)."""

daily_summaries = sa.Table(
    "daily_summaries",
    metadata,
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column("data", json_type(), nullable=False),
    sa.Column("made_at", UtcDateTime(), nullable=False),
)
"""每日概况 kept per China Standard Time day (migration ``0039_daily_summaries``): the summary
as the worker computed it at its first pass after the day ended (``cloud.reports.daily.keep``),
as JSON, and when."""

REPORT_TABLES: tuple[sa.Table, ...] = (
    report_order_facts, sales_daily, sales_daily_sku, sales_monthly_sku)
"""Tables created by migration ``0030_report_summaries``."""

profit_ship_costs = sa.Table(
    "profit_ship_costs",
    metadata,
    sa.Column("move_id", sa.String(64), primary_key=True),
    sa.Column("order_id", sa.String(64), nullable=False, index=True),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("warehouse_id", sa.String(64), nullable=False),
    sa.Column("units", sa.Integer(), nullable=False),
    sa.Column("unit_cost_fen", sa.BigInteger(), nullable=True),
    sa.Column("occurred_at", UtcDateTime(), nullable=False),
    sa.Column("recorded_at", UtcDateTime(), nullable=False),
)
"""利润报表, cost at ship time (migration ``0044_profit``): per SHIP move the units it took
out (positive) and the SKU's moving-average cost (``skus.cost_fen``) when the move reached
the cloud, stored in the move's ingest transaction — the cloud keeps only the cost *now*, so
this is the memory of the cost each shipment went out at. A REVERSAL of a SHIP move gets a
row of its own with the units put back (negative) at the original's cost. NULL cost: the
SKU had none (the units are counted as 未计成本)."""

profit_orders = sa.Table(
    "profit_orders",
    metadata,
    sa.Column("order_id", sa.String(64), primary_key=True),
    sa.Column("day", sa.Date(), nullable=False, index=True),
    sa.Column("shop_id", sa.String(64), nullable=False),
    sa.Column("platform", sa.String(16), nullable=False),
    sa.Column("warehouse_id", sa.String(64), nullable=False),
    sa.Column("skus", sa.Text(), nullable=False),
    sa.Column("units", sa.BigInteger(), nullable=False),
    sa.Column("revenue_fen", sa.BigInteger(), nullable=False),
    sa.Column("cogs_fen", sa.BigInteger(), nullable=False),
    sa.Column("courier_fen", sa.BigInteger(), nullable=False),
    sa.Column("fee_fen", sa.BigInteger(), nullable=False),
    sa.Column("refund_fen", sa.BigInteger(), nullable=False),
    sa.Column("uncosted", sa.BigInteger(), nullable=False),
    sa.Column("unbilled", sa.BigInteger(), nullable=False),
    sa.Column("profit_fen", sa.BigInteger(), nullable=False),
    sa.Column("facts", json_type(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Index("ix_profit_orders_profit", "profit_fen", "order_id"),
)
"""利润报表 per platform order that shipped (``cloud.reports.profit``): its figures over its
whole life (refunds whenever they came), ``skus`` as ``|SKU-1|SKU-2|`` for the SKU filter,
and ``facts`` (JSON), what it last added to ``profit_daily``. No row: the order adds
nothing (not shipped, cancelled or not seen)."""

PROFIT_COUNTERS = ("orders", "lines", "units", "revenue_fen", "cogs_fen", "courier_fen",
                   "fee_fen", "refund_fen", "uncosted")
"""The summed counters every profit summary row carries (``cloud.reports.profit.MEASURES``)."""


def _profit_counters() -> list[sa.Column[int]]:
    """Fresh columns of :data:`PROFIT_COUNTERS` (a Column belongs to one table)."""
    return [sa.Column(m, sa.BigInteger(), nullable=False, server_default="0")
            for m in PROFIT_COUNTERS]


profit_daily_shop = sa.Table(
    "profit_daily_shop",
    metadata,
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column("shop_id", sa.String(64), primary_key=True),
    sa.Column("warehouse_id", sa.String(64), primary_key=True),
    sa.Column("platform", sa.String(16), nullable=False),
    *_profit_counters(),
)
"""``profit_daily`` summed over the SKUs (day × shop × warehouse): what the profit report
reads for its totals, series and shops when no SKU filter applies (migration
``0044_profit``)."""

profit_daily = sa.Table(
    "profit_daily",
    metadata,
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column("shop_id", sa.String(64), primary_key=True),
    sa.Column("warehouse_id", sa.String(64), primary_key=True),
    sa.Column("sku", sa.String(64), primary_key=True),
    sa.Column("platform", sa.String(16), nullable=False),
    *_profit_counters(),
    sa.Index("ix_profit_daily_sku", "sku", "day"),  # 0046_profit_monthly
)
"""利润报表 summary (migration ``0044_profit``): per China Standard Time day × shop ×
warehouse × SKU, what the shipped orders add up to — revenue, cost of goods, courier and
platform fee on the order's day, refunds on the refund's day; ``orders`` counts an order once
(on its first SKU), ``lines`` once per SKU it holds; ``uncosted`` are units shipped without a
known cost (``cloud.reports.profit``)."""

profit_monthly = sa.Table(
    "profit_monthly",
    metadata,
    sa.Column("month", sa.Date(), primary_key=True),
    sa.Column("shop_id", sa.String(64), primary_key=True),
    sa.Column("warehouse_id", sa.String(64), primary_key=True),
    sa.Column("sku", sa.String(64), primary_key=True),
    sa.Column("platform", sa.String(16), nullable=False),
    *_profit_counters(),
    sa.Index("ix_profit_monthly_sku", "sku", "month"),
)
"""``profit_daily`` summed per month (``month`` = its first day; migration
``0046_profit_monthly``), kept by the same deltas: long ranges by SKU read whole months here
and only the partial months at either end from the daily table."""

profit_monthly_sku = sa.Table(
    "profit_monthly_sku",
    metadata,
    sa.Column("month", sa.Date(), primary_key=True),
    sa.Column("sku", sa.String(64), primary_key=True),
    *_profit_counters(),
)
"""``profit_monthly`` summed over shops and warehouses (``0052_profit_monthly_sku``): a long
range's SKU table with no shop, platform or warehouse filter reads whole months here."""

export_jobs = sa.Table(
    "export_jobs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("fmt", sa.String(8), nullable=False),
    sa.Column("params", sa.Text(), nullable=False),
    sa.Column("requested_by", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("done_rows", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("total_rows", sa.BigInteger(), nullable=True),
    sa.Column("file_name", sa.String(200), nullable=False),
    sa.Column("size_bytes", sa.BigInteger(), nullable=True),
    sa.Column("error", sa.String(400), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("finished_at", UtcDateTime(), nullable=True),
    sa.Index("ix_export_jobs_requested_by", "requested_by", "created_at"),
)
"""Exports run in the background (``0049_export_jobs``): ``status`` running, done or
failed; ``done_rows`` of ``total_rows`` (counted when the job starts) so the page shows
progress; ``updated_at`` moves with it — a running job whose ``updated_at`` stopped moving
died with its process. ``params`` are the filters as JSON; the file itself is in the data
directory's ``exports/`` under ``id``."""
