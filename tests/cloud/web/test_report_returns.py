"""退货报表 against a dataset worked out by hand, on both engines, with its exports.

Sold (``sales_daily_sku``) in 2026-11-20..30: SKU-1 10 + 6 = 16 (the 100 of October is
outside), SKU-2 4. Returns inspected (station time, China days):

====  ==========  =======  ==================  ========================================
ret   day         refund   reason              items
====  ==========  =======  ==================  ========================================
1     11-26       R-1      七天无理由退货       SKU-1 good 2, SKU-1 damaged 1, SKU-2 not ours 1
2     11-27       R-2      质量问题             SKU-1 damaged 1
3     11-28       (none)   —                   SKU-2 good 1
4     12-10       R-1      (outside the range)  SKU-1 good 5
====  ==========  =======  ==================  ========================================

By SKU: SKU-1 sold 16, returned 2 + 2 = 4, rate 4 ÷ 16 = 25.0%; SKU-2 sold 4, returned 1,
not ours 1, rate 25.0%. Total 20 sold, 5 returned (3 good, 2 damaged), 1 not ours, 25.0%.
By reason (one parcel each, then by the reason's text): no request (1 good), 七天无理由退货
(3 returned: 2 good, 1 damaged; 1 not ours), 质量问题 (1 damaged).
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

import httpx
import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud import returns
from cloud.db.schema_orders import refunds
from cloud.db.schema_reports import sales_daily_sku
from cloud.reports import returns as returns_report
from edge.domain.models import Role
from edge.sync.schema import ReturnWire
from tests.cloud.web.support import T0, cells, signed_in

RANGE = {"from": "2026-11-20", "to": "2026-11-30"}


def _line(sku: str | None, condition: str, qty: int, in_order: bool = True) -> dict[str, Any]:
    return {"sku": sku, "code": sku or "X", "qty": qty, "condition": condition,
            "in_order": in_order, "location": None if condition == "wrong" else "A-01",
            "move_id": None if condition == "wrong" else f"m-{sku}-{condition}-{qty}"}


def _seed(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.insert(sales_daily_sku), [
            {"day": date(2026, 11, 20), "shop_id": "shop-pdd", "sku": "SKU-1", "platform": "pdd",
             "orders": 5, "units": 10, "gmv_fen": 1},
            {"day": date(2026, 11, 25), "shop_id": "shop-pdd", "sku": "SKU-1", "platform": "pdd",
             "orders": 3, "units": 6, "gmv_fen": 1},
            {"day": date(2026, 10, 1), "shop_id": "shop-pdd", "sku": "SKU-1", "platform": "pdd",
             "orders": 50, "units": 100, "gmv_fen": 1},
            {"day": date(2026, 11, 21), "shop_id": "shop-pdd", "sku": "SKU-2", "platform": "pdd",
             "orders": 4, "units": 4, "gmv_fen": 1}])
        conn.execute(sa.insert(refunds), [
            {"shop_id": "shop-pdd", "refund_id": rid, "platform_order_id": no, "status": "3",
             "succeeded": False, "amount_fen": 100, "platform_updated_at": T0, "seen_at": T0,
             "returns_goods": True, "reason": why}
            for rid, no, why in (("R-1", "1001", "七天无理由退货"), ("R-2", "1003", "质量问题"))])
        parcels = [(1, "pdd-1001", "R-1", datetime(2026, 11, 26, 2, tzinfo=UTC),
                    [_line("SKU-1", "good", 2), _line("SKU-1", "damaged", 1),
                     _line("SKU-2", "wrong", 1, in_order=False)]),
                   (2, "pdd-1003", "R-2", datetime(2026, 11, 27, 2, tzinfo=UTC),
                    [_line("SKU-1", "damaged", 1)]),
                   (3, "pdd-1002", None, datetime(2026, 11, 28, 2, tzinfo=UTC),
                    [_line("SKU-2", "good", 1)]),
                   (4, "pdd-1001", "R-1", datetime(2026, 12, 10, 2, tzinfo=UTC),
                    [_line("SKU-1", "good", 5)])]
        for n, order, rid, at, lines in parcels:
            wire = ReturnWire(return_id=f"st-01-RT{n:05d}", warehouse_id="WH1", order_id=order,
                              shop_id="shop-pdd", refund_id=rid, scanned="YT", operator_id="P01",
                              at=at, lines=lines)
            returns.record(conn, "st-01", wire.return_id, wire, now=at)


@pytest.mark.parametrize("names_in", [500, 0], ids=["names-by-id", "whole-catalogue"])
async def test_each_figure_as_worked_out_by_hand(
        client: httpx.AsyncClient, cloud_engine: Engine, names_in: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(returns_report, "NAMES_IN", names_in)  # 0: every name read at once
    await signed_in(client, cloud_engine, Role.MANAGER)
    _seed(cloud_engine)
    page = await client.get("/reports/returns", params=RANGE)
    assert page.status_code == 200, page.text
    assert cells(page.text, "rt-skus") == [
        ["SKU-1", "保温杯 500ml", "16", "4", "2", "2", "0", "25.0%"],
        ["SKU-2", "帆布袋", "4", "1", "1", "0", "1", "25.0%"],
        ["合计", "", "20", "5", "3", "2", "1", "25.0%"]]
    assert cells(page.text, "rt-reasons") == [
        ["无售后单", "1", "1", "1", "0", "0"],
        ["七天无理由退货", "1", "3", "2", "1", "1"],
        ["质量问题", "1", "1", "0", "1", "0"]]
    one = await client.get("/reports/returns", params={**RANGE, "sku": "SKU-2"})
    assert [r[0] for r in cells(one.text, "rt-skus")] == ["SKU-2", "合计"]
    bad = await client.get("/reports/returns", params={"from": "2026-11-30", "to": "2026-11-01"})
    assert bad.status_code == 400 and "结束日期早于开始日期" in bad.text
    assert 'href="/reports/returns"' in page.text  # a tab of the reports


async def test_exports_carry_the_same_figures(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.FINANCE)
    _seed(cloud_engine)
    book = openpyxl.load_workbook(io.BytesIO(
        (await client.get("/reports/returns.xlsx", params=RANGE)).content))
    skus, reasons = book.worksheets
    rows = list(skus.iter_rows(min_row=2, values_only=True))
    assert rows[0][:7] == ("SKU-1", "保温杯 500ml", 16, 4, 2, 2, 0)
    assert round(rows[0][7], 3) == 0.25
    assert rows[-1][:7] == ("合计", None, 20, 5, 3, 2, 1)
    assert list(reasons.iter_rows(min_row=2, values_only=True))[1] == (
        "七天无理由退货", 1, 3, 2, 1, 1)
    csv_text = (await client.get("/reports/returns.csv",
                                 params={**RANGE, "section": "reasons"})).text
    assert "质量问题,1,1,0,1,0" in csv_text
    pdf = await client.get("/reports/returns.pdf", params=RANGE)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


async def test_a_packer_cannot_read_it(client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.PACKER)
    assert (await client.get("/reports/returns")).status_code == 403
