"""Sales summaries, the sales report and the daily summary against a small dataset whose
figures are worked out by hand below (China Standard Time = UTC + 8).

Orders (GMV = price × qty; units are Packline units; A2 is a 2-pack of S2):

* O1 pdd1 Dec 1 10:00  A1×2 @10.00 + A2×1 @25.00  浙江  → S1 2u 20.00, S2 2u 25.00 = 45.00
* O2 pdd1 Dec 1 01:00  A1×1 @10.00, then updated to A1×3 (and an older copy arrives
  after the update, which changes nothing)  江苏  → S1 3u 30.00
* O3 tb1  Dec 2 11:00  B1×1 @50.00  浙江, shipped; refund 20.00 succeeds Dec 5 (late)
* O4 pdd1 Dec 2        A1×1 @10.00, then closed (cancelled) → not a sale
* O5 pdd1 Dec 2        Z9×1 @7.00 (not mapped) no province → SKU "" 1u 7.00
* O6 tb1  Dec 2 00:30  B1×2 @50.00  广东, shipped; its refund 50.00 (Dec 3) arrives
  *before* the order

Dec 1: 2 orders, 7 units, 75.00. Dec 2: 3 orders, 4 units, 157.00. Refunds: Dec 3 50.00,
Dec 5 20.00. Dec 1–7: 5 orders, 11 units, 232.00, 客单价 46.40, refunds 70.00.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine

from cloud.crypto import Sealer
from cloud.db import skus, write_transaction
from cloud.db.schema import sku_safety_stock, station_alerts, station_shipments
from cloud.db.schema_orders import orders
from cloud.db.schema_reports import (
    report_order_facts,
    sales_daily,
    sales_daily_city,
    sales_daily_sku,
    sales_monthly_geo_sku,
    sales_monthly_sku,
)
from cloud.errors import InputError
from cloud.marketplaces.base import OrderLine, OrderStatus, PlatformOrder, Receiver, RefundEvent
from cloud.orders.allocation import allocate_pending
from cloud.orders.order_sync import upsert_order, upsert_refund
from cloud.orders.stock_push import add_mapping
from cloud.reports import daily, export, sales, summaries
from cloud.shops import add_shop
from tests.cloud.orders.support import receive, seed_warehouses

NOW = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
DEC1, DEC2, DEC3, DEC5, DEC7 = (date(2026, 12, d) for d in (1, 2, 3, 5, 7))


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    """A UTC instant in December 2026."""
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC) if day else datetime(
        2026, 11, 30, hour, minute, tzinfo=UTC)


def _order(platform: str, oid: str, lines: list[tuple[str, int, int]], *, ordered: datetime,
           updated: datetime, province: str = "", status: OrderStatus = OrderStatus.AWAITING_SHIPMENT,
           ship_by: datetime | None = None, city: str = "") -> PlatformOrder:
    return PlatformOrder(
        platform=platform, order_id=oid, status=status, raw_status="1", updated_at=updated,
        created_at=ordered, ship_by=ship_by, receiver=Receiver(province=province, city=city),
        lines=tuple(OrderLine(sku_id=s, outer_id="", qty=q, price_fen=p) for s, q, p in lines))


def _put(engine: Engine, shop: str, po: PlatformOrder) -> str:
    with write_transaction(engine) as conn:
        return upsert_order(conn, shop, po, now=NOW)[0]


def _refund(engine: Engine, shop: str, platform: str, rid: str, oid: str, fen: int,
            at: datetime, *, succeeded: bool = True) -> None:
    with write_transaction(engine) as conn:
        upsert_refund(conn, shop, RefundEvent(
            platform=platform, refund_id=rid, order_id=oid, status="10" if succeeded else "2",
            amount_fen=fen, updated_at=at, succeeded=succeeded), now=NOW)


def seed(engine: Engine) -> None:
    """The dataset of the module docstring, events in the order they arrive."""
    seed_warehouses(engine, stations_per={"WH1": ["ST1"]})
    with write_transaction(engine) as conn:
        sealer = Sealer(Fernet.generate_key())
        add_shop(conn, sealer, platform="pdd", name="拼多多店", app_key="k1", app_secret="x",
                 shop_id="pdd1", default_warehouse_id="WH1")
        add_shop(conn, sealer, platform="taobao", name="淘宝店", app_key="k2", app_secret="x",
                 shop_id="tb1", default_warehouse_id="WH1")
        conn.execute(sa.insert(skus), [
            {"sku": "S1", "name_zh": "保温杯", "category": "杯子"},
            {"sku": "S2", "name_zh": "玻璃杯", "category": "杯子"},
            {"sku": "S3", "name_zh": "茶壶", "category": "壶"}])
        add_mapping(conn, "pdd1", item_id="I1", sku_id="A1", sku="S1", now=NOW)
        add_mapping(conn, "pdd1", item_id="I2", sku_id="A2", sku="S2", units=2, now=NOW)
        add_mapping(conn, "tb1", item_id="I3", sku_id="B1", sku="S1", now=NOW)
        conn.execute(sa.insert(sku_safety_stock), [
            {"sku": "S1", "warehouse_id": "WH1", "qty": 20},
            {"sku": "S2", "warehouse_id": "WH1", "qty": 1},
            {"sku": "S3", "warehouse_id": "WH1", "qty": 5}])
    receive(engine, "WH1", "S1", 10)
    receive(engine, "WH1", "S3", 5)
    # O6's refund comes before O6 itself
    _refund(engine, "tb1", "taobao", "R6", "O6", 5000, _at(3, 1))
    _put(engine, "pdd1", _order("pdd", "O1", [("A1", 2, 1000), ("A2", 1, 2500)],
                                ordered=_at(1, 2), updated=_at(1, 2), province="浙江",
                                city="杭州市"))
    old_o2 = _order("pdd", "O2", [("A1", 1, 1000)], ordered=_at(0, 17), updated=_at(0, 17),
                    province="江苏", city="南京市")
    _put(engine, "pdd1", old_o2)
    assert _put(engine, "pdd1", _order("pdd", "O2", [("A1", 3, 1000)], ordered=_at(0, 17),
                                       updated=_at(1, 5), province="江苏",
                                       city="南京市")) == "updated"
    assert _put(engine, "pdd1", old_o2) == "stale"  # out of order: the older copy again
    _put(engine, "tb1", _order("taobao", "O3", [("B1", 1, 5000)], ordered=_at(2, 3),
                               updated=_at(2, 3), province="浙江", status=OrderStatus.SHIPPED,
                               ship_by=_at(2, 5), city="宁波市"))
    _put(engine, "pdd1", _order("pdd", "O4", [("A1", 1, 1000)], ordered=_at(2, 4),
                                updated=_at(2, 4), ship_by=_at(2, 9)))
    _put(engine, "pdd1", _order("pdd", "O4", [("A1", 1, 1000)], ordered=_at(2, 4),
                                updated=_at(2, 6), status=OrderStatus.CLOSED, ship_by=_at(2, 9)))
    _put(engine, "pdd1", _order("pdd", "O5", [("Z9", 1, 700)], ordered=_at(2, 6),
                                updated=_at(2, 6), ship_by=_at(2, 10)))
    _put(engine, "tb1", _order("taobao", "O6", [("B1", 2, 5000)], ordered=_at(1, 16, 30),
                               updated=_at(1, 16, 30), province="广东",
                               status=OrderStatus.SHIPPED, ship_by=_at(2, 6), city="广州市"))
    # O3's refund, days later
    _refund(engine, "tb1", "taobao", "R3", "O3", 2000, _at(5, 2))
    with write_transaction(engine) as conn:
        conn.execute(sa.insert(station_shipments), [
            {"msg_id": f"m{n}", "station_id": "ST1", "order_id": oid, "waybill_no": f"W{n}",
             "carrier": "ZTO", "operator_id": "u1", "shipped_at": at, "received_at": at}
            for n, (oid, at) in enumerate((("taobao-O3", _at(2, 4)), ("taobao-O6", _at(2, 7)),
                                           ("pdd-O1", _at(1, 16, 30)), ("pdd-O1", _at(2, 1))))])
        conn.execute(sa.update(orders).where(orders.c.id == "pdd-O5").values(
            state="exception", exception_code="unmapped"))
        conn.execute(sa.insert(station_alerts).values(
            msg_id="a1", station_id="ST1", kind="negative_stock", subject="S2", detail={},
            raised_at=_at(2, 3), received_at=_at(2, 3)))


def _snapshot(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {
            "daily": sorted(tuple(r) for r in conn.execute(sa.select(sales_daily))),
            "sku": sorted(tuple(r) for r in conn.execute(sa.select(sales_daily_sku))),
            "monthly": sorted(tuple(r) for r in conn.execute(sa.select(sales_monthly_sku))),
            "city": sorted(tuple(r) for r in conn.execute(sa.select(sales_daily_city))),
            "geo": sorted(tuple(r) for r in conn.execute(sa.select(sales_monthly_geo_sku))),
            "facts": sorted((r.order_id, repr(sorted(r.facts.items()))) for r in conn.execute(
                sa.select(report_order_facts))),
        }


def _report(engine: Engine, **kw: Any) -> sales.SalesReport:
    with engine.connect() as conn:
        return sales.report(conn, sales.Filters(DEC1, DEC7, **kw))


def _figs(f: sales.Figures) -> tuple[int, int, int, int]:
    return f.orders, f.units, f.gmv_fen, f.refund_fen


def test_the_summaries_hold_the_hand_computed_figures(cloud_engine: Engine) -> None:
    seed(cloud_engine)
    snap = _snapshot(cloud_engine)
    assert snap["daily"] == [
        (DEC1, "pdd1", "江苏", "pdd", 1, 3, 3000, 0, 0),
        (DEC1, "pdd1", "浙江", "pdd", 1, 4, 4500, 0, 0),
        (DEC2, "pdd1", "", "pdd", 1, 1, 700, 0, 0),
        (DEC2, "tb1", "广东", "taobao", 1, 2, 10000, 0, 0),
        (DEC2, "tb1", "浙江", "taobao", 1, 1, 5000, 0, 0),
        (DEC3, "tb1", "广东", "taobao", 0, 0, 0, 1, 5000),   # O6's refund, on its own day
        (DEC5, "tb1", "浙江", "taobao", 0, 0, 0, 1, 2000),   # O3's late refund
    ]
    assert snap["monthly"] == [
        (DEC1, "pdd1", "", "pdd", 1, 1, 700),
        (DEC1, "pdd1", "S1", "pdd", 2, 5, 5000),
        (DEC1, "pdd1", "S2", "pdd", 1, 2, 2500),
        (DEC1, "tb1", "S1", "taobao", 2, 3, 15000),
    ]
    assert snap["sku"] == [
        (DEC1, "pdd1", "S1", "pdd", 2, 5, 5000),
        (DEC1, "pdd1", "S2", "pdd", 1, 2, 2500),
        (DEC2, "pdd1", "", "pdd", 1, 1, 700),
        (DEC2, "tb1", "S1", "taobao", 2, 3, 15000),
    ]
    assert snap["city"] == [  # orders, units, GMV by the buyer's city (no refunds)
        (DEC1, "pdd1", "江苏", "南京市", "pdd", 1, 3, 3000),
        (DEC1, "pdd1", "浙江", "杭州市", "pdd", 1, 4, 4500),
        (DEC2, "pdd1", "", "", "pdd", 1, 1, 700),
        (DEC2, "tb1", "广东", "广州市", "taobao", 1, 2, 10000),
        (DEC2, "tb1", "浙江", "宁波市", "taobao", 1, 1, 5000),
    ]
    assert snap["geo"] == [  # per month × province × SKU
        (DEC1, "pdd1", "", "", "pdd", 1, 1, 700),
        (DEC1, "pdd1", "江苏", "S1", "pdd", 1, 3, 3000),
        (DEC1, "pdd1", "浙江", "S1", "pdd", 1, 2, 2000),
        (DEC1, "pdd1", "浙江", "S2", "pdd", 1, 2, 2500),
        (DEC1, "tb1", "广东", "S1", "taobao", 1, 2, 10000),
        (DEC1, "tb1", "浙江", "S1", "taobao", 1, 1, 5000),
    ]


def test_incremental_summaries_equal_a_rebuild(cloud_engine: Engine) -> None:
    seed(cloud_engine)
    # more late events: O5's SKU is mapped and its line picked up; O2 changes again;
    # a refund turns out withdrawn; O1 is refunded before it ships (cancelled)
    _put(cloud_engine, "pdd1", _order("pdd", "O2", [("A1", 1, 1000), ("A2", 2, 2500)],
                                      ordered=_at(0, 17), updated=_at(3, 5), province="江苏"))
    with write_transaction(cloud_engine) as conn:
        add_mapping(conn, "pdd1", item_id="I9", sku_id="Z9", sku="S3", now=NOW)
        conn.execute(sa.update(orders).where(orders.c.id == "pdd-O5").values(
            state="pending", exception_code=None))
    allocate_pending(cloud_engine, "pdd1", "WH1", now=NOW)
    _refund(cloud_engine, "tb1", "taobao", "R3", "O3", 2000, _at(6, 2), succeeded=False)
    _refund(cloud_engine, "pdd1", "pdd", "R1", "O1", 4500, _at(3, 2))
    incremental = _snapshot(cloud_engine)
    with write_transaction(cloud_engine) as conn:
        seen: list[tuple[int, int]] = []
        n = summaries.rebuild(conn, now=NOW, progress=lambda d, t: seen.append((d, t)))
    assert n == 6 and seen[-1] == (6, 6)
    assert _snapshot(cloud_engine) == incremental
    # and the late events landed: O5 sells S3 on Dec 2, O1 is gone, O2 is 1×A1 + 2×A2
    assert (DEC2, "pdd1", "S3", "pdd", 1, 1, 700) in incremental["sku"]
    assert (DEC1, "pdd1", "S2", "pdd", 1, 4, 5000) in incremental["sku"]
    assert (DEC5, "tb1", "浙江", "taobao", 0, 0, 0, 1, 2000) not in incremental["daily"]
    assert [r for r in incremental["daily"] if r[0] == DEC1] == [
        (DEC1, "pdd1", "江苏", "pdd", 1, 5, 6000, 0, 0)]


def test_orders_summarised_before_the_geography_tables_join_them_when_touched(
        cloud_engine: Engine) -> None:
    """Right after migration 0050 the city and province × SKU tables are empty and the kept
    contributions record no city: an order touched then is added whole (nothing taken away
    that was never there); ``reports rebuild`` fills in the rest."""
    seed(cloud_engine)
    with write_transaction(cloud_engine) as conn:
        conn.execute(sa.delete(sales_daily_city))
        conn.execute(sa.delete(sales_monthly_geo_sku))
        for oid, facts in conn.execute(sa.select(report_order_facts.c.order_id,
                                                 report_order_facts.c.facts)).all():
            conn.execute(sa.update(report_order_facts).where(
                report_order_facts.c.order_id == oid).values(
                facts={k: v for k, v in facts.items() if k != "city"}))
    _put(cloud_engine, "pdd1", _order("pdd", "O2", [("A1", 4, 1000)], ordered=_at(0, 17),
                                      updated=_at(3, 5), province="江苏", city="南京市"))
    snap = _snapshot(cloud_engine)
    assert snap["city"] == [(DEC1, "pdd1", "江苏", "南京市", "pdd", 1, 4, 4000)]
    assert snap["geo"] == [(DEC1, "pdd1", "江苏", "S1", "pdd", 1, 4, 4000)]
    with write_transaction(cloud_engine) as conn:
        summaries.rebuild(conn, now=NOW)
    assert len(_snapshot(cloud_engine)["city"]) == 5


def test_the_sales_report(cloud_engine: Engine) -> None:
    seed(cloud_engine)
    rep = _report(cloud_engine)
    assert _figs(rep.totals) == (5, 11, 23200, 7000)
    assert rep.totals.aov_fen == 4640 and rep.totals.net_fen == 16200
    assert _figs(rep.previous) == (0, 0, 0, 0) and rep.gmv_change is None
    assert [(r.label, *_figs(r.figures)) for r in rep.series] == [
        ("2026-12-01", 2, 7, 7500, 0), ("2026-12-02", 3, 4, 15700, 0),
        ("2026-12-03", 0, 0, 0, 5000), ("2026-12-05", 0, 0, 0, 2000)]
    assert [r.change for r in rep.series] == [None, pytest.approx(8200 / 7500), -1.0, None]
    assert [(r.key, r.extra, *_figs(r.figures)) for r in rep.by_shop] == [
        ("tb1", "taobao", 2, 3, 15000, 7000), ("pdd1", "pdd", 3, 8, 8200, 0)]
    assert [(r.key, *_figs(r.figures)) for r in rep.by_platform] == [
        ("taobao", 2, 3, 15000, 7000), ("pdd", 3, 8, 8200, 0)]
    assert [(r.key, r.label, r.extra, r.figures.orders, r.figures.units, r.figures.gmv_fen)
            for r in rep.by_sku] == [("S1", "保温杯", "杯子", 4, 8, 20000),
                                     ("S2", "玻璃杯", "杯子", 1, 2, 2500), ("", "", "", 1, 1, 700)]
    assert [(r.key, *_figs(r.figures)) for r in rep.by_province] == [
        ("广东", 1, 2, 10000, 5000), ("浙江", 2, 5, 9500, 2000), ("江苏", 1, 3, 3000, 0),
        ("", 1, 1, 700, 0)]
    assert [(m.sku, m.on_hand, m.last_sold) for m in rep.slow] == [("S3", 5, None)]
    slow3 = _report(cloud_engine, slow_days=3)  # nothing sold Dec 5–7
    assert [(m.sku, m.last_sold) for m in slow3.slow] == [("S3", None), ("S1", DEC2)]
    weekly = _report(cloud_engine, period="week")
    assert [(r.label, *_figs(r.figures)) for r in weekly.series] == [
        ("2026-W49", 5, 11, 23200, 7000)]
    assert [r.label for r in _report(cloud_engine, period="quarter").series] == ["2026-Q4"]
    shop = _report(cloud_engine, shop_id="pdd1")
    assert _figs(shop.totals) == (3, 8, 8200, 0)
    s1 = _report(cloud_engine, sku="S1")
    assert _figs(s1.totals) == (4, 8, 20000, 0) and s1.by_province == []
    assert s1.by_city == [] and s1.geo_months == (DEC1, DEC1)
    assert [(r.key, *_figs(r.figures)) for r in s1.where_sold] == [  # where S1 sells
        ("广东", 1, 2, 10000, 0), ("浙江", 2, 3, 7000, 0), ("江苏", 1, 3, 3000, 0)]
    assert [(r.label, *_figs(r.figures)) for r in rep.by_city] == [
        ("广东 广州市", 1, 2, 10000, 0), ("浙江 宁波市", 1, 1, 5000, 0),
        ("浙江 杭州市", 1, 4, 4500, 0), ("江苏 南京市", 1, 3, 3000, 0), ("", 1, 1, 700, 0)]
    zj = _report(cloud_engine, province="浙江")  # what Zhejiang buys
    assert _figs(zj.totals) == (2, 5, 9500, 2000)
    assert [(r.key, *_figs(r.figures)) for r in zj.by_province] == [("浙江", 2, 5, 9500, 2000)]
    assert [r.label for r in zj.by_city] == ["浙江 宁波市", "浙江 杭州市"]
    assert zj.by_sku == []
    assert [(r.key, r.label, *_figs(r.figures)) for r in zj.sold_there] == [
        ("S1", "保温杯", 2, 3, 7000, 0), ("S2", "玻璃杯", 1, 2, 2500, 0)]
    with pytest.raises(InputError) as both:
        _report(cloud_engine, province="浙江", sku="S1")
    assert both.value.problems[0].field == "province"
    with cloud_engine.connect() as conn:  # whole months come from the monthly table
        months = sales.report(conn, sales.Filters(date(2026, 11, 15), date(2027, 1, 31)))
    assert [(r.key, *_figs(r.figures)) for r in months.by_sku] == [
        (r.key, *_figs(r.figures)) for r in rep.by_sku]
    assert [(m.sku, m.last_sold) for m in months.slow] == [("S3", None), ("S1", DEC2)]
    cups = _report(cloud_engine, category="杯子")  # orders counted per SKU: O1 twice
    assert _figs(cups.totals) == (5, 10, 22500, 0)
    # the week after: nothing sold, GMV change against Dec 1–7 is −100 %
    with cloud_engine.connect() as conn:
        after = sales.report(conn, sales.Filters(date(2026, 12, 8), date(2026, 12, 14)))
    assert after.totals.gmv_fen == 0 and after.previous.gmv_fen == 23200
    assert after.gmv_change == -1.0


def test_bad_filters_are_refused_all_at_once(cloud_engine: Engine) -> None:
    from cloud.errors import InputError

    with cloud_engine.connect() as conn, pytest.raises(InputError) as err:
        sales.report(conn, sales.Filters(DEC7, DEC1, period="year", slow_days=0))
    assert {p.field for p in err.value.problems} == {"to", "period", "slow_days"}


def test_the_daily_summary(cloud_engine: Engine) -> None:
    seed(cloud_engine)
    with cloud_engine.connect() as conn:
        d = daily.summary(conn, DEC2)
    assert _figs(d.sales) == (3, 4, 15700, 0)
    # O1's two parcels at 00:30 and 09:00 CST Dec 2, O3 at 12:00, O6 at 15:00
    assert (d.parcels, d.shipped_orders) == (4, 3)
    # O6 shipped an hour after its ship-by; O5 never shipped; O3 on time; O4 cancelled
    assert d.late_count == 2 and [x.order_id for x in d.late] == ["taobao-O6", "pdd-O5"]
    assert d.exceptions == {"unmapped": 1} and d.alerts == {"negative_stock": 1}
    assert [(x.sku, x.on_hand, x.safety) for x in d.low_stock] == [("S1", 10, 20), ("S2", 0, 1)]
    sheets = export.daily_sheets(d)
    wb = openpyxl.load_workbook(io.BytesIO(export.xlsx(sheets)))
    ws = wb["概况"]
    assert [c.value for c in ws[4]] == ["件数", 4] and ws.freeze_panes == "A2"
    money = wb["金额"]
    assert money["B2"].value == 157 and money["B2"].number_format == "#,##0.00"
    late = wb["超时未发"]
    assert late["A2"].value == "taobao-O6"
    assert late["C2"].value == datetime(2026, 12, 2, 14, 0)  # 06:00 UTC in Beijing


def test_sales_exports_are_typed(cloud_engine: Engine) -> None:
    seed(cloud_engine)
    sheets = export.sales_sheets(_report(cloud_engine))
    wb = openpyxl.load_workbook(io.BytesIO(export.xlsx(list(sheets.values()))))
    ws = wb["按店铺"]
    assert [c.value for c in ws[1]][:4] == ["店铺", "名称", "平台", "订单数"]
    assert [c.value for c in ws[2]] == ["tb1", "淘宝店", "taobao", 2, 3, 150, 75, 70]
    assert [c.value for c in ws[ws.max_row]] == ["合计", None, None, 5, 11, 232, pytest.approx(46.4), 70]
    assert ws["F2"].number_format == "#,##0.00" and ws["F2"].data_type == "n"
    assert ws.freeze_panes == "A2" and ws.column_dimensions["A"].width == export.WIDTHS["text"]
    series = wb["按周期"]
    assert series["G3"].value == pytest.approx(8200 / 7500) and series["G3"].number_format == "0.0%"
    lines = list(export.csv_lines(sheets["province"]))
    assert lines[0].startswith("\ufeff省份,订单数")
    assert lines[1] == "广东,1,2,100.00,100.00,50.00\r\n"
    assert lines[-1] == "合计,5,11,232.00,46.40,70.00\r\n"


def test_a_formula_in_a_name_stays_text(cloud_engine: Engine) -> None:
    sheet = export.Sheet("t", (("名称", "text"), ("数", "int")), [["=1+1", 2]])
    ws = openpyxl.load_workbook(io.BytesIO(export.xlsx([sheet])))["t"]
    assert ws["A2"].value == "=1+1" and ws["A2"].data_type == "s"
    assert list(export.csv_lines(sheet))[1] == "'=1+1,2\r\n"


def test_month_split() -> None:
    assert sales.month_split(date(2026, 11, 15), date(2027, 1, 31)) == (
        [(date(2026, 11, 15), date(2026, 11, 30))], (date(2026, 12, 1), date(2027, 1, 1)))
    assert sales.month_split(DEC1, date(2026, 12, 31)) == ([], (DEC1, DEC1))
    assert sales.month_split(DEC2, DEC7) == ([(DEC2, DEC7)], None)
    assert sales.month_split(date(2026, 11, 30), date(2027, 1, 2)) == (
        [(date(2026, 11, 30), date(2026, 11, 30)), (date(2027, 1, 1), date(2027, 1, 2))],
        (DEC1, DEC1))


def test_day_bounds_are_beijing_days() -> None:
    lo, hi = daily.day_bounds(DEC2)
    assert lo == datetime(2026, 12, 1, 16, tzinfo=UTC) and hi - lo == timedelta(days=1)
    assert summaries.local_day(datetime(2026, 12, 1, 16, tzinfo=UTC)) == DEC2


def test_the_rebuild_command(cloud_engine: Engine, cloud_db_url: str,
                             capsys: pytest.CaptureFixture[str]) -> None:
    from cloud.cli import run

    seed(cloud_engine)
    before = _snapshot(cloud_engine)
    with write_transaction(cloud_engine) as conn:  # summaries lost (e.g. an old database)
        for table in summaries.SUMMARY_TABLES:
            conn.execute(sa.delete(table))
    assert run(["--db", cloud_db_url, "--lang", "en", "reports", "rebuild"]) == 0
    out = capsys.readouterr()
    assert "6/6 orders" in out.err and out.out.startswith("report summaries rebuilt: 6 orders, ")
    assert _snapshot(cloud_engine) == before
