"""库存报表 (#16, the stock report): value on hand at moving-average cost, shipped in the
window net of reversed shipments, days of cover, turnover, below-safety — written out by
hand from the moves below, on both engines; the XLSX and CSV carry the same figures."""

from __future__ import annotations

import io
from datetime import timedelta

import httpx
import openpyxl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema import sku_safety_stock, skus
from cloud.ledger_store import insert_moves
from edge.domain.models import MoveReason, Role
from tests.cloud.helpers import make_move
from tests.cloud.web.support import T0, cells, signed_in

# The web app's clock stands at T0. RPT-1 (cost 12.50) in WH1:
#   +100 received 60 days before; −5 shipped 40 days before (outside a 30-day window);
#   −10 shipped 5 days before; −3 shipped 2 days before and reversed (+3).
#   On hand 100 − 5 − 10 − 3 + 3 = 85 → value 85 × 12.50 = 1,062.50.
#   Shipped in 30 days: 10 + 3 − 3 = 10 → days of cover 85 × 30 / 10 = 255.0,
#   turnover 10 / 85 = 0.12. Safety 90 > available 85: below safety.
# RPT-2 (no cost): +4 received 10 days before → value 0, nothing shipped: no cover,
# turnover 0 / 4 = 0.00.


def _moves(engine: Engine) -> None:
    day = timedelta(days=1)
    ship = {"reason": MoveReason.SHIP, "source_type": "order"}
    with engine.begin() as conn:
        conn.execute(sa.insert(skus), [
            {"sku": "RPT-1", "name_zh": "报表杯", "cost_fen": 1250},
            {"sku": "RPT-2", "name_zh": "报表巾", "cost_fen": None}])
        conn.execute(sa.insert(sku_safety_stock).values(sku="RPT-1", warehouse_id="WH1", qty=90))
        insert_moves(conn, [
            make_move(900, sku="RPT-1", qty_delta=100, balance_after=100,
                      occurred_at=T0 - 60 * day),
            make_move(901, sku="RPT-1", qty_delta=-5, balance_after=95, source_id="o-1",
                      occurred_at=T0 - 40 * day, **ship),
            make_move(902, sku="RPT-1", qty_delta=-10, balance_after=85, source_id="o-2",
                      occurred_at=T0 - 5 * day, **ship),
            make_move(903, sku="RPT-1", qty_delta=-3, balance_after=82, source_id="o-3",
                      occurred_at=T0 - 2 * day, **ship),
            make_move(904, sku="RPT-1", qty_delta=3, balance_after=85, source_type="move",
                      source_id="rev", reason=MoveReason.REVERSAL,
                      reverses_move_id=make_move(903).move_id, occurred_at=T0 - 1 * day),
            make_move(905, sku="RPT-2", qty_delta=4, balance_after=4,
                      occurred_at=T0 - 10 * day),
        ])


async def test_the_stock_report_values_and_paces_each_sku(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.FINANCE)
    _moves(cloud_engine)
    page = await client.get("/reports/stock", params={"warehouse": "WH1"})
    assert page.status_code == 200, page.text
    rows = {r[1]: r for r in cells(page.text, "stock-report") if r[1].startswith("RPT-")}
    assert rows["RPT-1"][3:] == ["85", "0", "0", "90 低于安全库存", "12.50", "1,062.50", "10",
                                 "255.0", "0.12", "0", "85", "0", "0"]  # received 60 days before
    assert rows["RPT-2"][3:] == ["4", "0", "0", "—", "—", "0.00", "0", "—", "0.00",
                                 "4", "0", "0", "0"]
    # a 60-day window takes the shipment of 40 days before too: 15 shipped
    longer = await client.get("/reports/stock", params={"warehouse": "WH1", "days": "60"})
    rpt = next(r for r in cells(longer.text, "stock-report") if r[1] == "RPT-1")
    assert rpt[9:12] == ["15", "340.0", "0.18"]  # 85 × 60 / 15; 15 / 85
    # filters: a code fragment (any case), below safety only
    only = await client.get("/reports/stock", params={"warehouse": "WH1", "sku": "rpt-2"})
    assert [r[1] for r in cells(only.text, "stock-report")] == ["RPT-2"]
    low = await client.get("/reports/stock", params={"warehouse": "WH1", "below": "1"})
    assert [r[1] for r in cells(low.text, "stock-report")] == ["RPT-1"]
    assert 'href="/reports/stock.csv?warehouse=WH1&amp;below=1"' in low.text
    with cloud_engine.begin() as conn:
        conn.execute(sa.update(skus).where(skus.c.sku == "RPT-2").values(category="毛巾"))
    towels = await client.get("/reports/stock", params={"warehouse": "WH1", "category": "毛巾"})
    assert [r[1] for r in cells(towels.text, "stock-report")] == ["RPT-2"]
    bad = await client.get("/reports/stock", params={"days": "0"})
    assert bad.status_code == 400 and "天数须为 1–365" in bad.text

    book = openpyxl.load_workbook(io.BytesIO(
        (await client.get("/reports/stock.xlsx", params={"warehouse": "WH1"})).content))
    sheet = book.active
    got = {row[1]: row for row in sheet.iter_rows(min_row=2, values_only=True)
           if str(row[1]).startswith("RPT-")}
    assert got["RPT-1"][3] == 85 and float(got["RPT-1"][8]) == 1062.5
    csv_text = (await client.get("/reports/stock.csv", params={"warehouse": "WH1"})).text
    assert "WH1,RPT-1,报表杯,85,0,0,90,12.50,1062.50,10,255.0,0.12,0,85,0,0" in csv_text


async def test_a_packer_cannot_read_it(client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.PACKER)
    assert (await client.get("/reports/stock")).status_code == 403


async def test_ageing_is_first_in_first_out(client: httpx.AsyncClient,
                                            cloud_engine: Engine) -> None:
    """RPT-3 in WH1: +10 received 100 days before, +20 45 days before, +5 10 days before,
    −12 shipped 5 days before → 23 on hand, the latest arrivals: 5 aged 10 days (≤30) and 18
    of the 20 aged 45 days (31–60). RPT-4: +8 found by a count 120 days before and +3
    received 20 days before, −2 moved by a PICK in and out (not an inflow) → 11: 3 (≤30),
    8 (>90)."""
    day = timedelta(days=1)
    await signed_in(client, cloud_engine, Role.MANAGER)
    with cloud_engine.begin() as conn:
        conn.execute(sa.insert(skus), [{"sku": s, "name_zh": s} for s in ("RPT-3", "RPT-4")])
        insert_moves(conn, [
            make_move(950, sku="RPT-3", qty_delta=10, balance_after=10, occurred_at=T0 - 100 * day),
            make_move(951, sku="RPT-3", qty_delta=20, balance_after=30, occurred_at=T0 - 45 * day),
            make_move(952, sku="RPT-3", qty_delta=5, balance_after=35, occurred_at=T0 - 10 * day),
            make_move(953, sku="RPT-3", qty_delta=-12, balance_after=23, reason=MoveReason.SHIP,
                      source_type="order", source_id="o-9", occurred_at=T0 - 5 * day),
            make_move(960, sku="RPT-4", qty_delta=8, balance_after=8, reason=MoveReason.COUNT_ADJUST,
                      source_type="stocktake", source_id="ST-1", occurred_at=T0 - 120 * day),
            make_move(961, sku="RPT-4", qty_delta=3, balance_after=11, occurred_at=T0 - 20 * day),
            make_move(962, sku="RPT-4", qty_delta=-2, balance_after=9, reason=MoveReason.PICK,
                      source_type="order", source_id="o-8", occurred_at=T0 - 2 * day),
            make_move(963, sku="RPT-4", location="PACK", qty_delta=2, balance_after=2,
                      reason=MoveReason.PICK, source_type="order", source_id="o-8",
                      occurred_at=T0 - 2 * day),
        ])
    page = await client.get("/reports/stock", params={"warehouse": "WH1"})
    rows = {r[1]: r for r in cells(page.text, "stock-report")}
    assert rows["RPT-3"][3] == "23" and rows["RPT-3"][-4:] == ["5", "18", "0", "0"]
    assert rows["RPT-4"][3] == "11" and rows["RPT-4"][-4:] == ["3", "0", "0", "8"]


def test_units_no_inflow_covers_count_as_the_oldest(cloud_engine: Engine) -> None:
    """6 on hand where the ledger shows only 4 received (70 days before): 4 aged 61–90 days,
    the other 2 older than anything recorded (over 90)."""
    from cloud.reports.stock_value import ageing

    with cloud_engine.begin() as conn:
        insert_moves(conn, [make_move(980, sku="RPT-9", qty_delta=4, balance_after=4,
                                      occurred_at=T0 - timedelta(days=70))])
        assert ageing(conn, {("WH1", "RPT-9"): 6, ("WH1", "RPT-0"): 0}, now=T0) == {
            ("WH1", "RPT-9"): (0, 0, 4, 2)}
