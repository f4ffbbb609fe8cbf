"""采购报表 (#16, the purchasing report): ordered, received (spend), on order, lead time,
on-time and fill rate per supplier — every figure written out by hand from the purchase
orders and receipts below, on both engines; the XLSX and CSV carry the same figures."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema_purchasing import (
    cost_changes,
    purchase_order_lines,
    purchase_orders,
    suppliers,
)
from cloud.ledger_store import insert_moves
from edge.domain.models import Role
from tests.cloud.helpers import make_move
from tests.cloud.web.support import T0, cells, signed_in

CST = ZoneInfo("Asia/Shanghai")


def _at(month: int, day: int, hour: int) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=CST).astimezone(UTC)


# Range 2026-11-01 .. 11-30 (China time).
# PO-1 甲厂 sent 11-02 10:00, expected 11-06, received: SKU-1 10 @ 5.00 (10 in, 11-05 09:00),
#      SKU-2 4 @ 2.50 (5 in, 11-07 12:00). Lead 2 d 23 h = 2.958 d, on time, fill (10 + 4) / 14.
# PO-2 甲厂 sent 11-10 10:00, expected 11-12, partial: SKU-1 20 @ 5.00, 8 in 11-20 10:00.
#      Lead 10.0 d, late; 12 on order (60.00).
# PO-3 乙厂 sent 11-15, no expected date, sent: SKU-2 6 @ 10.00, nothing in: 6 on order (60.00).
# PO-4 乙厂 sent 10-20 (before the range), partial: SKU-1 10 @ 3.00, 4 in 11-03: received in
#      the range (12.00), 6 on order (18.00); no lead time or fill (not sent in the range).
# PO-5 甲厂 sent 11-25 10:00, closed short: SKU-2 10 @ 1.00, 6 in 11-26 10:00. Lead 1.0 d,
#      no expected date, fill 6 / 10.
# PO-6 丙厂 draft: nothing anywhere, 丙厂 not shown.
# 甲厂: 3 POs; ordered 44 units, 50.00 + 10.00 + 100.00 + 10.00 = 170.00; received 15 + 8 + 6 =
#       29 units, 50.00 + 12.50 + 40.00 + 6.00 = 108.50; on order 12 / 60.00; lead (2.958 + 10
#       + 1) / 3 = 4.7, max 10.0; on time 1 of 2 = 50.0 %; fill (14 + 6) / (14 + 10) = 83.3 %.
# 乙厂: 1 PO, 6 / 60.00; received 4 / 12.00; on order 6 + 6 = 12 / 60.00 + 18.00 = 78.00.


def _seed(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.insert(suppliers), [
            {"id": "SUP-A", "name": "甲厂", "lead_days": 5, "created_at": T0},
            {"id": "SUP-B", "name": "乙厂", "lead_days": None, "created_at": T0},
            {"id": "SUP-C", "name": "丙厂", "lead_days": 3, "created_at": T0}])
        pos = [("PO-1", "SUP-A", "received", _at(11, 2, 10), date(2026, 11, 6)),
               ("PO-2", "SUP-A", "partial", _at(11, 10, 10), date(2026, 11, 12)),
               ("PO-3", "SUP-B", "sent", _at(11, 15, 8), None),
               ("PO-4", "SUP-B", "partial", _at(10, 20, 10), None),
               ("PO-5", "SUP-A", "closed", _at(11, 25, 10), None),
               ("PO-6", "SUP-C", "draft", None, None)]
        conn.execute(sa.insert(purchase_orders), [
            {"id": i, "supplier_id": s, "warehouse_id": "WH1", "status": st, "sent_at": sent,
             "expected_on": exp, "created_by": "u-purchaser", "created_at": T0, "updated_at": T0}
            for i, s, st, sent, exp in pos])
        lines = [("PO-1", 1, "SKU-1", 10, 500, 10), ("PO-1", 2, "SKU-2", 4, 250, 5),
                 ("PO-2", 1, "SKU-1", 20, 500, 8), ("PO-3", 1, "SKU-2", 6, 1000, 0),
                 ("PO-4", 1, "SKU-1", 10, 300, 4), ("PO-5", 1, "SKU-2", 10, 100, 6),
                 ("PO-6", 1, "SKU-1", 99, 100, 0)]
        conn.execute(sa.insert(purchase_order_lines), [
            {"po_id": p, "line_no": n, "sku": sku, "qty_ordered": q, "unit_cost_fen": c,
             "qty_received": r} for p, n, sku, q, c, r in lines])
        receipts = [(100, "PO-1", "1", "SKU-1", 10, 500, _at(11, 5, 9)),
                    (101, "PO-1", "2", "SKU-2", 5, 250, _at(11, 7, 12)),
                    (102, "PO-2", "1", "SKU-1", 8, 500, _at(11, 20, 10)),
                    (103, "PO-4", "1", "SKU-1", 4, 300, _at(11, 3, 10)),
                    (104, "PO-5", "1", "SKU-2", 6, 100, _at(11, 26, 10))]
        insert_moves(conn, [make_move(n, sku=sku, qty_delta=q, balance_after=q, source_id=p,
                                      source_line=ln, occurred_at=at)
                            for n, p, ln, sku, q, _c, at in receipts])
        conn.execute(sa.insert(cost_changes), [
            {"move_id": make_move(n).move_id, "sku": sku, "po_id": p, "qty": q,
             "unit_cost_fen": c, "on_hand_before": 0, "cost_before_fen": None,
             "cost_after_fen": c, "at": T0} for n, p, _ln, sku, q, c, _at2 in receipts])


RANGE = {"from": "2026-11-01", "to": "2026-11-30"}


async def test_each_supplier_figure_as_worked_out_by_hand(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.FINANCE)
    _seed(cloud_engine)
    page = await client.get("/reports/purchasing", params=RANGE)
    assert page.status_code == 200, page.text
    assert cells(page.text, "po-report") == [
        ["甲厂", "3", "44 / 170.00", "29 / 108.50", "12 / 60.00", "4.7 / 10.0", "5", "50.0%",
         "83.3%"],
        ["乙厂", "1", "6 / 60.00", "4 / 12.00", "12 / 78.00", "— / —", "—", "—", "—"],
        ["合计", "4", "50 / 230.00", "33 / 120.50", "24 / 138.00", "4.7 / 10.0", "", "50.0%",
         "83.3%"]]
    one = await client.get("/reports/purchasing", params={**RANGE, "supplier": "SUP-B"})
    assert [r[0] for r in cells(one.text, "po-report")] == ["乙厂", "合计"]
    bad = await client.get("/reports/purchasing", params={"from": "2026-11-30", "to": "2026-11-01"})
    assert bad.status_code == 400 and "结束日期早于开始日期" in bad.text


async def test_exports_carry_the_same_figures(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    _seed(cloud_engine)
    book = openpyxl.load_workbook(io.BytesIO(
        (await client.get("/reports/purchasing.xlsx", params=RANGE)).content))
    rows = list(book.active.iter_rows(min_row=2, values_only=True))
    first = rows[0]
    assert first[:9] == ("SUP-A", "甲厂", 3, 44, 170, 29, 108.5, 12, 60)
    assert (first[9], first[10], first[11]) == (4.7, 10.0, 5)
    assert round(first[12], 3) == 0.5 and round(first[13], 3) == 0.833
    assert rows[-1][:9] == ("合计", None, 4, 50, 230, 33, 120.5, 24, 138)
    csv_text = (await client.get("/reports/purchasing.csv", params=RANGE)).text
    assert "SUP-B,乙厂,1,6,60.00,4,12.00,12,78.00,,,,," in csv_text


async def test_a_packer_cannot_read_it(client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.PACKER)
    assert (await client.get("/reports/purchasing")).status_code == 403
