"""快递对账 pages: finance enters rate cards (every bad row reported, nothing written),
reads a carrier's statement with charges and province subtotals, downloads it, and checks
the courier's bill; a warehouse lead sees none of it."""

from __future__ import annotations

import io

import httpx
import openpyxl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema import audit_log
from cloud.db.schema_purchasing import courier_rates
from edge.domain.models import Role
from tests.cloud.test_courier_charges import CARD_DEC, CARD_NOV, seed
from tests.cloud.web.support import cells, csrf_of, field_errors, login, signed_in, username

PERIOD = "carrier=ZTO&from=2026-12-01&to=2026-12-02"


async def test_finance_enters_cards_reads_statement_and_checks_bill(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.FINANCE)
    seed(cloud_engine, cards=False)
    page = (await client.get(f"/courier?{PERIOD}")).text
    csrf = csrf_of(page)
    assert "未计费: 无运费模板" in page
    r = await client.post("/courier/rates", data={
        "csrf_token": csrf, "carrier": "ZTO", "effective_from": "2026-11-01",
        "rows": "浙江 1000 3.00 1000 1.00\n广东 1000 x 1000 1\n* 1000 5.00 1000"})
    assert r.status_code == 400
    errors = field_errors(r.text)
    assert set(errors) == {"rows"}, errors
    assert "第 2 行" in r.text and "第 3 行" in r.text and "广东 1000 x 1000 1" in r.text
    with cloud_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(courier_rates)).scalar() == 0
    for day, rows in (("2026-11-01", CARD_NOV), ("2026-12-02", CARD_DEC)):
        r = await client.post("/courier/rates", data={
            "csrf_token": csrf, "carrier": "ZTO", "effective_from": day, "rows": rows})
        assert r.status_code == 303
    page = (await client.get(f"/courier?{PERIOD}")).text
    rows = cells(page, "courier-statement")
    assert [row[-1] for row in rows] == [
        "5.00", "3.00", "4.00", "8.00", "未计费: 无重量", "5.10", "未计费: 模板无此省份",
        "25.10"]
    assert rows[-1][-2] == "8251"
    assert cells(page, "by-province") == [["浙江", "5", "5951", "17.10"],
                                          ["广东", "2", "2300", "8.00"]]
    r = await client.get(f"/courier/statement.xlsx?{PERIOD}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxml")
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    assert ws is not None and [c.value for c in ws[12]][4:6] == [8251, 25.1]
    bill = "运单号,重量,金额\nW1,2.35,5.00\nW2,1.00,3.50\nW3,1.20,4.00\nW4,1.5,8\nWX,0.5,6.00\n"
    r = await client.post(f"/courier/bill?{PERIOD}", data={"csrf_token": csrf},
                          files={"bill": ("zto.csv", bill.encode(), "text/csv")})
    assert r.status_code == 200
    assert [row[-1] for row in cells(r.text, "bill-summary")] == [
        "2", "1", "1", "1", "3", "25.10 / 26.50"]
    assert cells(r.text, "bill-differences") == [
        ["金额不符", "W2", "1000", "1000", "3.00", "3.50", "0.50"],
        ["重量不符", "W3", "1001", "1200", "4.00", "4.00", "0.00"]]
    r = await client.post(f"/courier/bill?{PERIOD}", data={"csrf_token": csrf},
                          files={"bill": ("bad.csv", "运单号,金额\nW1,abc\n".encode(), "text/csv")})
    assert r.status_code == 400 and "第 2 行无法读取" in r.text
    with cloud_engine.connect() as conn:
        actions = [a for (a,) in conn.execute(sa.select(audit_log.c.action).where(
            audit_log.c.action.like("courier%")).order_by(audit_log.c.id))]
    assert actions == ["courier_rates.save", "courier_rates.save", "courier_bill.check"]
    client.cookies.clear()
    await login(client, username(Role.WAREHOUSE_LEAD))
    assert (await client.get("/courier")).status_code == 403
