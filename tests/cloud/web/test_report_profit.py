"""利润报表 (#16, the profit report): revenue − cost of goods (moving average at ship time) −
courier − platform fee − refunds, per period, shop, SKU and order — every figure written out
by hand from the events below, on both engines; the shop's fee rate set on the shops page;
the XLSX and CSV carry the same figures.

Events, in the order they reach the cloud (China Standard Time = UTC + 8):

* Shops 拼多多店 ``pdd1`` (fee rate 5 %, set on the shops page) and 淘宝店 ``tb1`` (no rate:
  未设置平台费率, fee 0). SKUs S1 保温杯 (杯子), S2 茶壶 (壶). ZTO card from 11-01:
  any province, first 1000 g 3.00, each further 1000 g 1.00.
* Receipts: S1 10 @ 10.00 → S1 cost 10.00; S2 5 @ 30.00 → S2 cost 30.00.
* O1 pdd1 12-01 10:00: A1 (S1) × 2 @ 25.00 + A2 (S2) × 1 @ 60.00 = 110.00.
  Ships 12-02 07:00: S1 2 @ 10.00 + S2 1 @ 30.00 = 50.00; parcel 1200 g → 3.00 + 1.00 = 4.00;
  fee 5 %: S1 2.50 + S2 3.00 = 5.50. Profit 110.00 − 50.00 − 4.00 − 5.50 = 50.50 (45.9 %).
  Courier per SKU by revenue 50 : 60 → S1 1.81… + the odd fen = 1.82, S2 2.18.
* Receipt S1 10 @ 16.00 with 8 on hand at 10.00: (8 × 10.00 + 10 × 16.00) ÷ 18 = 13.333… →
  13.33: the moving average changes between O1 and O2.
* O2 tb1 12-02 09:00: B1 (S1) × 3 @ 30.00 = 90.00. Ships 12-03 11:00: S1 3 @ 13.33 = 39.99;
  parcel 800 g → 3.00; no fee rate → 0. Profit 47.01 on 12-02.
* O3 pdd1 12-02: A1 × 1 @ 25.00, never ships → not in the report.
* O4 pdd1 12-03 10:00: A2 × 1 @ 60.00. Ships 12-03 16:00: S2 1 @ 30.00; the station sent no
  weight → 未计费, courier 0.00; fee 3.00. Profit 27.00 (45.0 %).
* Late: O2's refund of 15.00 succeeds 12-05 10:00 and arrives last → booked on 12-05, O2's
  day keeps its 47.01; O2's own row shows 47.01 − 15.00 = 32.01.

12-01..12-07: 3 orders, 7 units, revenue 260.00, cost 119.99, courier 7.00, fee 8.50, refunds
15.00, profit 109.51, margin 42.1 %.
Per shop: pdd1 2 orders 4 units 170.00 80.00 4.00 8.50 0.00 → 77.50 (45.6 %); tb1 1 order
3 units 90.00 39.99 3.00 0.00 15.00 → 32.01 (35.6 %).
Per SKU: S1 2 orders 5 units 140.00 59.99 4.82 2.50 15.00 → 57.69 (41.2 %); S2 2 orders
2 units 120.00 60.00 2.18 6.00 0.00 → 51.82 (43.2 %).
"""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine

from cloud import courier_charges, ledger_store, purchasing
from cloud.crypto import Sealer
from cloud.db import write_transaction
from cloud.db.schema import audit_log, shops, skus
from cloud.db.schema_orders import orders
from cloud.db.schema_purchasing import purchase_order_lines, purchase_orders, suppliers
from cloud.db.schema_reports import (
    profit_daily,
    profit_daily_shop,
    profit_monthly,
    profit_monthly_sku,
    profit_orders,
    profit_ship_costs,
)
from cloud.marketplaces.base import OrderLine, OrderStatus, PlatformOrder, Receiver, RefundEvent
from cloud.orders.order_sync import upsert_order, upsert_refund
from cloud.orders.stock_push import add_mapping
from cloud.reports import profit
from cloud.shops import add_shop
from cloud.sync.reports import record_report
from edge.domain.models import Move, MoveReason, Role
from edge.sync.schema import Envelope, MoveWire, ShipmentWire
from tests.cloud.orders.support import seed_warehouses
from tests.cloud.web.support import add_users, cells, csrf_of, login, username

CST = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
RANGE = {"from": "2026-12-01", "to": "2026-12-07"}


def _at(day: int, hour: int) -> datetime:
    """A China Standard Time wall-clock time in December 2026, as UTC."""
    return datetime(2026, 12, day, hour, tzinfo=CST).astimezone(UTC)


_seq = iter(range(0x7000_0000, 0x7000_9999))
"""Move ids (UUIDs from integers) no other report test's data uses."""


def _moves(engine: Engine, specs: list[tuple[str, int, MoveReason, str, str, str | None]],
           at: datetime) -> None:
    """Moves as ingest applies them: stored once, then receipts (moving-average cost), then
    SHIP moves (the cost at ship time), in one transaction.
    ``specs``: (sku, delta, reason, source type, source id, source line)."""
    moves = [Move(move_id=str(uuid.UUID(int=next(_seq))), sku=sku, location="A-01", qty_delta=delta,
                  balance_after=0, reason=reason, source_type=stype, source_id=sid,
                  source_line=line, operator_id="u1", station_id="ST1", device_id=None,
                  occurred_at=at, recorded_at=at, warehouse_id="WH1")
             for sku, delta, reason, stype, sid, line in specs]
    with write_transaction(engine) as conn:
        new = set(ledger_store.insert_moves(conn, moves, received_at=at))
        wires = [MoveWire.from_move(m) for m in moves if m.move_id in new]
        purchasing.on_receipts(conn, wires, now=at)
        profit.on_moves(conn, wires, now=at)


def _ship(engine: Engine, order_id: str, grams: int | None, at: datetime,
          lines: list[tuple[str, int]]) -> None:
    _moves(engine, [(sku, -qty, MoveReason.SHIP, "order", order_id, None)
                    for sku, qty in lines], at)
    with write_transaction(engine) as conn:
        msg = f"ship-{order_id}"
        record_report(conn, "ST1", Envelope(msg_id=msg, kind="shipment", station_id="ST1",
                                            created_at=at, payload={}),
                      ShipmentWire(order_id=order_id, waybill_no=f"WB-{order_id}",
                                   carrier="ZTO", weight_g=grams, operator_id="u1",
                                   shipped_at=at, kpis={}), at)


def _order(engine: Engine, shop: str, platform: str, oid: str,
           lines: list[tuple[str, int, int]], ordered: datetime,
           status: OrderStatus = OrderStatus.AWAITING_SHIPMENT) -> None:
    with write_transaction(engine) as conn:
        upsert_order(conn, shop, PlatformOrder(
            platform=platform, order_id=oid, status=status, raw_status="1",
            updated_at=ordered, created_at=ordered, ship_by=None,
            receiver=Receiver(province="浙江省"),
            lines=tuple(OrderLine(sku_id=s, outer_id="", qty=q, price_fen=p)
                        for s, q, p in lines)), now=ordered)


def _refund(engine: Engine) -> None:
    with write_transaction(engine) as conn:
        upsert_refund(conn, "tb1", RefundEvent(
            platform="taobao", refund_id="R2", order_id="O2", status="10", amount_fen=1500,
            updated_at=_at(5, 10), succeeded=True), now=NOW)


def seed(engine: Engine, *, refund: bool = True, warehouse: bool = True) -> None:
    """The events of the module docstring (the fee rate is left to the caller); without
    ``warehouse`` WH1 exists already (the browser test's data)."""
    if warehouse:
        seed_warehouses(engine, stations_per={"WH1": ["ST1"]})
    t = _at(1, 8)
    with write_transaction(engine) as conn:
        sealer = Sealer(Fernet.generate_key())
        add_shop(conn, sealer, platform="pdd", name="拼多多店", app_key="k1", app_secret="x",
                 shop_id="pdd1", default_warehouse_id="WH1", now=t)
        add_shop(conn, sealer, platform="taobao", name="淘宝店", app_key="k2", app_secret="x",
                 shop_id="tb1", default_warehouse_id="WH1", now=t)
        conn.execute(sa.insert(skus), [{"sku": "S1", "name_zh": "保温杯", "category": "杯子"},
                                       {"sku": "S2", "name_zh": "茶壶", "category": "壶"}])
        add_mapping(conn, "pdd1", item_id="I1", sku_id="A1", sku="S1", now=t)
        add_mapping(conn, "pdd1", item_id="I2", sku_id="A2", sku="S2", now=t)
        add_mapping(conn, "tb1", item_id="I3", sku_id="B1", sku="S1", now=t)
        courier_charges.save_card(conn, "ZTO", effective_from="2026-11-01",
                                  rows="* 1000 3.00 1000 1.00", actor="u-finance", now=t)
        conn.execute(sa.insert(suppliers), [{"id": "SUP-P", "name": "利润厂", "created_at": t}])
        conn.execute(sa.insert(purchase_orders), [
            {"id": po, "supplier_id": "SUP-P", "warehouse_id": "WH1", "status": "sent",
             "sent_at": t, "created_by": "u-purchaser", "created_at": t, "updated_at": t}
            for po in ("PO-P1", "PO-P2")])
        conn.execute(sa.insert(purchase_order_lines), [
            {"po_id": "PO-P1", "line_no": 1, "sku": "S1", "qty_ordered": 10, "unit_cost_fen": 1000},
            {"po_id": "PO-P1", "line_no": 2, "sku": "S2", "qty_ordered": 5, "unit_cost_fen": 3000},
            {"po_id": "PO-P2", "line_no": 1, "sku": "S1", "qty_ordered": 10,
             "unit_cost_fen": 1600}])
    _moves(engine, [("S1", 10, MoveReason.RECEIVE, "po", "PO-P1", "1"),
                    ("S2", 5, MoveReason.RECEIVE, "po", "PO-P1", "2")], _at(1, 9))
    _order(engine, "pdd1", "pdd", "O1", [("A1", 2, 2500), ("A2", 1, 6000)], _at(1, 10))
    _order(engine, "tb1", "taobao", "O2", [("B1", 3, 3000)], _at(2, 9), OrderStatus.SHIPPED)
    _order(engine, "pdd1", "pdd", "O3", [("A1", 1, 2500)], _at(2, 12))
    _order(engine, "pdd1", "pdd", "O4", [("A2", 1, 6000)], _at(3, 10))
    _ship(engine, "pdd-O1", 1200, _at(2, 7), [("S1", 2), ("S2", 1)])
    _moves(engine, [("S1", 10, MoveReason.RECEIVE, "po", "PO-P2", "1")], _at(2, 8))
    _ship(engine, "taobao-O2", 800, _at(3, 11), [("S1", 3)])
    _ship(engine, "pdd-O4", None, _at(3, 16), [("S2", 1)])
    if refund:
        _refund(engine)


async def _as(client: httpx.AsyncClient, role: Role) -> None:
    client.cookies.clear()
    assert (await login(client, username(role))).status_code == 303


async def _set_fee(client: httpx.AsyncClient, shop: str, fee: str) -> httpx.Response:
    page = await client.get("/shops")
    return await client.post(f"/shops/{shop}/fee", data={"csrf_token": csrf_of(page.text),
                                                         "fee": fee})


async def test_each_profit_figure_as_worked_out_by_hand(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    add_users(cloud_engine)
    seed(cloud_engine)
    await _as(client, Role.MANAGER)
    shops_page = (await client.get("/shops")).text
    assert "未设置平台费率" in shops_page
    assert (await _set_fee(client, "pdd1", "5")).status_code == 303
    with cloud_engine.connect() as conn:
        assert conn.execute(sa.select(shops.c.fee_bp).where(shops.c.id == "pdd1")).scalar() == 500
        entry = conn.execute(sa.select(audit_log.c.actor, audit_log.c.detail).where(
            audit_log.c.action == "shop.fee")).one()
    assert entry.actor == "u-manager" and entry.detail == {"from_bp": None, "to_bp": 500}
    page = await client.get("/reports/profit", params=RANGE)
    assert page.status_code == 200, page.text
    text = page.text
    assert 'id="t-revenue">260.00<' in text and 'id="t-cogs">119.99<' in text
    assert 'id="t-courier">7.00<' in text and 'id="t-fee">8.50<' in text
    assert 'id="t-refunds">15.00<' in text and 'id="t-profit">109.51<' in text
    assert "42.1%" in text.split('id="t-margin">', 1)[1][:80]
    assert "以下店铺未设置平台费率, 平台费按 0 计: 淘宝店" in text
    # period, orders, units, revenue, cost, courier, fee, refunds, profit, margin, no cost
    assert cells(text, "profit-series") == [
        ["2026-12-01", "1", "3", "110.00", "50.00", "4.00", "5.50", "0.00", "50.50", "45.9%", "0"],
        ["2026-12-02", "1", "3", "90.00", "39.99", "3.00", "0.00", "0.00", "47.01", "52.2%", "0"],
        ["2026-12-03", "1", "1", "60.00", "30.00", "0.00", "3.00", "0.00", "27.00", "45.0%", "0"],
        ["2026-12-05", "0", "0", "0.00", "0.00", "0.00", "0.00", "15.00", "-15.00", "—", "0"],
        ["合计", "3", "7", "260.00", "119.99", "7.00", "8.50", "15.00", "109.51", "42.1%", "0"]]
    assert cells(text, "profit-by-shop") == [
        ["拼多多店", "pdd", "5.00%", "2", "4", "170.00", "80.00", "4.00", "8.50", "0.00",
         "77.50", "45.6%", "0"],
        ["淘宝店", "taobao", "未设置平台费率", "1", "3", "90.00", "39.99", "3.00", "0.00",
         "15.00", "32.01", "35.6%", "0"],
        ["合计", "", "", "3", "7", "260.00", "119.99", "7.00", "8.50", "15.00", "109.51",
         "42.1%", "0"]]
    assert cells(text, "profit-by-sku") == [
        ["S1", "保温杯", "杯子", "2", "5", "140.00", "59.99", "4.82", "2.50", "15.00", "57.69",
         "41.2%", "0"],
        ["S2", "茶壶", "壶", "2", "2", "120.00", "60.00", "2.18", "6.00", "0.00", "51.82",
         "43.2%", "0"]]
    assert "最多 200 单, 共 3 单" in text  # the count: O1, O2, O4
    # order, day, shop, units, revenue, cost, courier, fee, refunds, profit, margin, no cost,
    # parcels not charged — lowest profit first; O3 never shipped
    assert cells(text, "profit-by-order") == [
        ["pdd-O4", "2026-12-03", "pdd1", "1", "60.00", "30.00", "0.00", "3.00", "0.00",
         "27.00", "45.0%", "0", "1"],
        ["taobao-O2", "2026-12-02", "tb1", "3", "90.00", "39.99", "3.00", "0.00", "15.00",
         "32.01", "35.6%", "0", "0"],
        ["pdd-O1", "2026-12-01", "pdd1", "3", "110.00", "50.00", "4.00", "5.50", "0.00",
         "50.50", "45.9%", "0", "0"]]
    # filters: one SKU (orders holding it), one shop, a warehouse with nothing, by month
    s2 = (await client.get("/reports/profit", params={**RANGE, "sku": "S2"})).text
    assert cells(s2, "profit-series")[-1] == [
        "合计", "2", "2", "120.00", "60.00", "2.18", "6.00", "0.00", "51.82", "43.2%", "0"]
    assert [r[0] for r in cells(s2, "profit-by-order")] == ["pdd-O4", "pdd-O1"]
    tb = (await client.get("/reports/profit", params={**RANGE, "shop": "tb1"})).text
    assert [r[0] for r in cells(tb, "profit-by-shop")] == ["淘宝店", "合计"]
    cups = (await client.get("/reports/profit", params={**RANGE, "category": "杯子"})).text
    assert cells(cups, "profit-series")[-1][8] == "57.69"
    month = (await client.get("/reports/profit", params={**RANGE, "period": "month",
                                                         "warehouse": "WH1"})).text
    assert [r[0] for r in cells(month, "profit-series")] == ["2026-12", "合计"]
    bad = await client.get("/reports/profit", params={"from": "2026-12-07", "to": "2026-12-01"})
    assert bad.status_code == 400 and "结束日期早于开始日期" in bad.text
    refused = await _set_fee(client, "pdd1", "abc")
    assert refused.status_code == 400 and "费率应为百分数" in refused.text


async def test_the_page_in_english(client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    add_users(cloud_engine)
    seed(cloud_engine)
    await _as(client, Role.FINANCE)
    await client.post("/lang", data={"csrf_token": csrf_of((await client.get("/")).text),
                                     "lang": "en", "next": "/"})
    page = (await client.get("/reports/profit", params=RANGE)).text
    assert "Profit report" in page and "fee rate not set" in page
    assert "Cost of goods (yuan)" in page and "利润报表" not in page.split("<main", 1)[-1]
    assert cells(page, "profit-series")[-1][0] == "Total"
    book = openpyxl.load_workbook(io.BytesIO(
        (await client.get("/reports/profit.xlsx", params=RANGE)).content))
    assert book.sheetnames == ["By period", "By shop", "By SKU", "By order"]


async def test_a_late_refund_moves_only_its_own_day(cloud_engine: Engine) -> None:
    """Before the refund arrives 12-01..12-04 shows 124.51; after it, the same range still
    does (the refund belongs to 12-05) and 12-05 alone shows −15.00; the incremental
    summaries equal the rebuild from the source tables and the kept ship costs."""
    from cloud.reports import profit_report

    add_users(cloud_engine)
    seed(cloud_engine, refund=False)
    with write_transaction(cloud_engine) as conn:
        profit.set_fee(conn, "pdd1", "5", actor="u-manager", now=NOW)

    def profit_of(start: int, end: int) -> int:
        with cloud_engine.connect() as conn:
            rep = profit_report.report(conn, profit_report.Filters(date(2026, 12, start),
                                                                   date(2026, 12, end)))
        return rep.totals.profit_fen

    assert profit_of(1, 4) == 12451 and profit_of(5, 5) == 0
    _refund(cloud_engine)
    assert profit_of(1, 4) == 12451 and profit_of(5, 5) == -1500 and profit_of(1, 7) == 10951

    def snapshot() -> tuple[list[tuple[object, ...]], ...]:
        with cloud_engine.connect() as conn:
            return ([tuple(r) for r in conn.execute(sa.select(profit_daily).order_by(
                        *profit_daily.primary_key.columns))],
                    [tuple(r) for r in conn.execute(sa.select(profit_daily_shop).order_by(
                        *profit_daily_shop.primary_key.columns))],
                    [tuple(r)[:15] for r in conn.execute(sa.select(profit_orders).order_by(
                        profit_orders.c.order_id))],
                    [tuple(r) for r in conn.execute(sa.select(profit_monthly).order_by(
                        *profit_monthly.primary_key.columns))],
                    [tuple(r) for r in conn.execute(sa.select(profit_monthly_sku).order_by(
                        *profit_monthly_sku.primary_key.columns))])

    incremental = snapshot()
    with write_transaction(cloud_engine) as conn:
        assert profit.rebuild(conn, now=NOW) == 3
    assert snapshot() == incremental


async def test_a_refund_gives_the_platform_fee_back_on_its_day(cloud_engine: Engine) -> None:
    """O1 (pdd1, 5 %) is refunded 20.00 on 12-06 (O2's refund left out). Split by revenue
    50 : 60 in fen: S1 2000 × 50/110 = 909.09 → 909, S2 1090.9 → 1090 + the odd fen = 1091.
    Fee back 5 %, half up per SKU: S1 45.45 → 45, S2 54.55 → 55 (1.00 in all), a negative
    fee on 12-06: that day −20.00 + 1.00 = −19.00. 12-01..12-07: fee 8.50 − 1.00 = 7.50,
    profit 124.51 − 20.00 + 1.00 = 105.51; S1 fee 2.50 − 0.45 = 2.05, S2 6.00 − 0.55 = 5.45;
    O1's row: fee 5.50 − 1.00 = 4.50, profit 50.50 − 20.00 + 1.00 = 31.50."""
    from cloud.reports import profit_report

    add_users(cloud_engine)
    seed(cloud_engine, refund=False)
    with write_transaction(cloud_engine) as conn:
        profit.set_fee(conn, "pdd1", "5", actor="u-manager", now=NOW)
        conn.execute(sa.update(orders).where(orders.c.id == "pdd-O1").values(state="shipped"))
        upsert_refund(conn, "pdd1", RefundEvent(
            platform="pdd", refund_id="R1", order_id="O1", status="10", amount_fen=2000,
            updated_at=_at(6, 10), succeeded=True), now=NOW)
    with cloud_engine.connect() as conn:
        day = profit_report.report(conn, profit_report.Filters(date(2026, 12, 6),
                                                               date(2026, 12, 6)))
        week = profit_report.report(conn, profit_report.Filters(date(2026, 12, 1),
                                                                date(2026, 12, 7)))
    assert (day.totals.refund_fen, day.totals.fee_fen, day.totals.profit_fen) == (
        2000, -100, -1900)
    assert (week.totals.fee_fen, week.totals.refund_fen, week.totals.profit_fen) == (
        750, 2000, 10551)
    fees = {r.key: r.figures.fee_fen for r in week.by_sku}
    assert (fees["S1"], fees["S2"]) == (205, 545)
    o1 = next(r for r in week.orders if r.key == "pdd-O1")
    assert (o1.figures.fee_fen, o1.figures.refund_fen, o1.figures.profit_fen) == (
        450, 2000, 3150)


async def test_a_long_range_reads_whole_months_with_the_same_figures(
        cloud_engine: Engine) -> None:
    """2026-11-15..2027-01-10 by SKU reads December from ``profit_monthly_sku`` (from
    ``profit_monthly`` with a shop filter; the partial
    months at either end by day) and gives the figures of the module doc; December's
    monthly rows hold them (S1 in two warehouse-shop rows: pdd1 and tb1)."""
    from cloud.reports import profit_report

    add_users(cloud_engine)
    seed(cloud_engine)
    with write_transaction(cloud_engine) as conn:
        profit.set_fee(conn, "pdd1", "5", actor="u-manager", now=NOW)
        rep = profit_report.report(conn, profit_report.Filters(
            date(2026, 11, 15), date(2027, 1, 10), period="month"))
        december = conn.execute(sa.select(
            profit_monthly.c.shop_id, profit_monthly.c.sku, profit_monthly.c.units,
            profit_monthly.c.revenue_fen, profit_monthly.c.refund_fen).where(
            profit_monthly.c.month == date(2026, 12, 1)).order_by(
            profit_monthly.c.shop_id, profit_monthly.c.sku)).all()
        m = profit_monthly_sku.c
        december_sku = conn.execute(sa.select(m.sku, m.units, m.revenue_fen, m.refund_fen).where(
            m.month == date(2026, 12, 1)).order_by(m.sku)).all()
        pdd1 = profit_report.report(conn, profit_report.Filters(  # by shop: profit_monthly
            date(2026, 11, 15), date(2027, 1, 10), period="month", shop_id="pdd1"))
    by_sku = {r.key: r.figures for r in rep.by_sku}
    s1, s2 = by_sku["S1"], by_sku["S2"]
    assert (s1.orders, s1.units, s1.revenue_fen, s1.cogs_fen, s1.courier_fen, s1.fee_fen,
            s1.refund_fen, s1.profit_fen) == (2, 5, 14000, 5999, 482, 250, 1500, 5769)
    assert (s2.orders, s2.units, s2.revenue_fen, s2.cogs_fen, s2.courier_fen, s2.fee_fen,
            s2.refund_fen, s2.profit_fen) == (2, 2, 12000, 6000, 218, 600, 0, 5182)
    assert rep.totals.profit_fen == 10951
    assert [tuple(r) for r in december] == [("pdd1", "S1", 2, 5000, 0),
                                            ("pdd1", "S2", 2, 12000, 0),
                                            ("tb1", "S1", 3, 9000, 1500)]
    assert [tuple(r) for r in december_sku] == [("S1", 5, 14000, 1500), ("S2", 2, 12000, 0)]
    assert {r.key: (r.figures.units, r.figures.revenue_fen) for r in pdd1.by_sku} == {
        "S1": (2, 5000), "S2": (2, 12000)}


async def test_a_late_rate_card_and_a_reversed_shipment_reprice(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    """A ZTO card from 12-03 (first 1000 g 5.00) saved on the courier page reprices O2's
    800 g parcel (shipped 12-03) from 3.00 to 5.00; O1's parcel (12-02) keeps 4.00: courier
    9.00, profit 109.51 − 2.00 = 107.51. Then the station reverses O4's SHIP move (S2 back on
    the shelf): its 30.00 of cost goes, units 7 → 6, profit 137.51."""
    add_users(cloud_engine)
    seed(cloud_engine)
    with write_transaction(cloud_engine) as conn:
        profit.set_fee(conn, "pdd1", "5", actor="u-manager", now=NOW)
    await _as(client, Role.FINANCE)
    page = await client.get("/courier")
    saved = await client.post("/courier/rates", data={
        "csrf_token": csrf_of(page.text), "carrier": "ZTO", "effective_from": "2026-12-03",
        "rows": "* 1000 5.00 1000 2.00"})
    assert saved.status_code == 303
    text = (await client.get("/reports/profit", params=RANGE)).text
    assert 'id="t-courier">9.00<' in text and 'id="t-profit">107.51<' in text
    with cloud_engine.connect() as conn:
        shipped = conn.execute(sa.select(profit_ship_costs.c.move_id).where(
            profit_ship_costs.c.order_id == "pdd-O4")).scalar_one()
    back = Move(move_id=str(uuid.UUID(int=next(_seq))), sku="S2", location="A-01", qty_delta=1,
                balance_after=0, reason=MoveReason.REVERSAL, source_type="order",
                source_id="pdd-O4", source_line=None, operator_id="u1", station_id="ST1",
                device_id=None, occurred_at=_at(4, 9), recorded_at=_at(4, 9),
                warehouse_id="WH1", reverses_move_id=shipped)
    with write_transaction(cloud_engine) as conn:
        ledger_store.insert_moves(conn, [back], received_at=_at(4, 9))
        profit.on_moves(conn, [MoveWire.from_move(back)], now=_at(4, 9))
    text = (await client.get("/reports/profit", params=RANGE)).text
    assert 'id="t-cogs">89.99<' in text and 'id="t-profit">137.51<' in text
    assert cells(text, "profit-series")[-1][2] == "6"


def test_a_reversal_arriving_before_its_ship_move(cloud_engine: Engine) -> None:
    """O3's SHIP move and its reversal reach the cloud reversal first: both are kept (1 unit
    out at 13.33, 1 back at the same cost) and O3, never really shipped, stays out."""
    add_users(cloud_engine)
    seed(cloud_engine)
    ship_id = str(uuid.UUID(int=next(_seq)))

    def one(move_id: str, delta: int, reason: MoveReason, reverses: str | None) -> Move:
        return Move(move_id=move_id, sku="S1", location="A-01", qty_delta=delta, balance_after=0,
                    reason=reason, source_type="order", source_id="pdd-O3", source_line=None,
                    operator_id="u1", station_id="ST1", device_id=None, occurred_at=_at(4, 9),
                    recorded_at=_at(4, 9), warehouse_id="WH1", reverses_move_id=reverses)

    for m in (one(str(uuid.UUID(int=next(_seq))), 1, MoveReason.REVERSAL, ship_id),
              one(ship_id, -1, MoveReason.SHIP, None)):
        with write_transaction(cloud_engine) as conn:
            ledger_store.insert_moves(conn, [m], received_at=_at(4, 9))
            profit.on_moves(conn, [MoveWire.from_move(m)], now=_at(4, 9))
    with cloud_engine.connect() as conn:
        kept = conn.execute(sa.select(profit_ship_costs.c.units, profit_ship_costs.c.unit_cost_fen)
                            .where(profit_ship_costs.c.order_id == "pdd-O3")
                            .order_by(profit_ship_costs.c.units)).all()
        assert [tuple(r) for r in kept] == [(-1, 1333), (1, 1333)]
        assert conn.execute(sa.select(profit_orders.c.order_id).where(
            profit_orders.c.order_id == "pdd-O3")).first() is None


def test_units_of_a_sku_without_cost_are_counted_apart(cloud_engine: Engine) -> None:
    """O3 (A1 = S1 × 1 @ 25.00, 12-02) goes out with a sample S9 that has no cost: its cost of
    goods is 0.00 and 1 unit is 未计成本; the 500 g parcel's 3.00 goes to S1, the SKU with the
    revenue; no fee rate is set. O3: 25.00 − 0.00 − 3.00 = 22.00."""
    from cloud.reports import profit_report

    add_users(cloud_engine)
    seed(cloud_engine)
    with write_transaction(cloud_engine) as conn:
        conn.execute(sa.insert(skus).values(sku="S9", name_zh="试用装"))
    _ship(cloud_engine, "pdd-O3", 500, _at(4, 9), [("S9", 1)])
    with cloud_engine.connect() as conn:
        rep = profit_report.report(conn, profit_report.Filters(date(2026, 12, 2),
                                                               date(2026, 12, 2)))
    o3 = next(r for r in rep.orders if r.key == "pdd-O3")
    assert (o3.figures.revenue_fen, o3.figures.cogs_fen, o3.figures.courier_fen,
            o3.figures.uncosted, o3.figures.profit_fen) == (2500, 0, 300, 1, 2200)
    by_sku = {r.key: r.figures for r in rep.by_sku}
    assert (by_sku["S9"].units, by_sku["S9"].uncosted, by_sku["S9"].courier_fen) == (1, 1, 0)
    assert rep.totals.uncosted == 1


async def test_exports_carry_the_same_figures(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    add_users(cloud_engine)
    seed(cloud_engine)
    with write_transaction(cloud_engine) as conn:
        profit.set_fee(conn, "pdd1", "5", actor="u-manager", now=NOW)
    await _as(client, Role.FINANCE)
    book = openpyxl.load_workbook(io.BytesIO(
        (await client.get("/reports/profit.xlsx", params=RANGE)).content))
    assert book.sheetnames == ["按周期", "按店铺", "按SKU", "按订单"]
    rows = list(book["按店铺"].iter_rows(min_row=2, values_only=True))
    assert rows[0][:12] == ("pdd1", "拼多多店", "pdd", "5.00%", 2, 4, 170, 80, 4, 8.5, 0, 77.5)
    assert rows[1][3] == "未设置平台费率" and rows[1][11] == 32.01
    assert rows[-1][0] == "合计" and rows[-1][11] == 109.51
    assert round(rows[-1][12], 4) == round(10951 / 26000, 4)
    assert book["按店铺"].freeze_panes == "A2"
    csv_text = (await client.get("/reports/profit.csv",
                                 params={**RANGE, "section": "sku"})).content.decode("utf-8-sig")
    assert "S1,保温杯,杯子,2,5,140.00,59.99,4.82,2.50,15.00,57.69,41.2%,0" in csv_text
    orders_csv = (await client.get("/reports/profit.csv",
                                   params={**RANGE, "section": "order"})).text
    assert "pdd-O4,2026-12-03,pdd1,1,60.00,30.00,0.00,3.00,0.00,27.00,45.0%,0,1" in orders_csv
    assert (await client.get("/reports/profit.csv",
                             params={**RANGE, "section": "nope"})).status_code == 400


async def test_a_warehouse_lead_cannot_read_it(client: httpx.AsyncClient,
                                               cloud_engine: Engine) -> None:
    add_users(cloud_engine)
    await _as(client, Role.WAREHOUSE_LEAD)
    assert (await client.get("/reports/profit")).status_code == 403
    assert (await client.get("/reports/profit.xlsx")).status_code == 403
