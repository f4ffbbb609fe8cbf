"""应付账款 pages: finance records a payment (bad input shown next to the field, nothing
written), reverses one, reads the statement and downloads it; a purchaser may read but not
pay; a lead sees nothing."""

from __future__ import annotations

import io

import httpx
import openpyxl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema_purchasing import supplier_payments
from edge.domain.models import Role
from tests.cloud.test_payables import seed
from tests.cloud.web.support import cells, csrf_of, field_errors, login, signed_in, username


async def test_finance_pays_reverses_and_exports(client: httpx.AsyncClient,
                                                 cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.FINANCE)
    seed(cloud_engine, warehouse=False)  # receipts of 1,410 yuan from S1 (28 Nov – 2 Dec)
    page = (await client.get("/payables")).text
    assert cells(page, "payables-table")[0] == ["S1", "义乌杯业", "1,410.00", "0.00", "1,410.00", "—"]
    csrf = csrf_of((await client.get("/payables/S1")).text)
    # the clock is 10:00 on 1 December in Beijing: 2 December is in the future
    r = await client.post("/payables/S1/payments", data={
        "csrf_token": csrf, "amount": "12.345", "paid_on": "2026-12-02", "method": "bank"})
    assert r.status_code == 400
    errors = field_errors(r.text)
    assert set(errors) == {"amount", "paid_on"}, errors
    assert 'value="12.345"' in r.text  # what was typed is kept
    with cloud_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(supplier_payments)).scalar() == 0
    for amount, method in (("1000", "bank"), ("300", "wechat")):
        r = await client.post("/payables/S1/payments", data={
            "csrf_token": csrf, "amount": amount, "paid_on": "2026-12-01", "method": method,
            "reference": "TX-1"})
        assert r.status_code == 303
    r = await client.post("/payables/S1/reverse", data={"csrf_token": csrf, "payment": "2",
                                                        "reason": "付错了"})
    assert r.status_code == 303
    page = (await client.get("/payables/S1?from=2026-11-01&to=2026-12-01")).text
    rows = cells(page, "statement")
    # opening 0; 750 (28 Nov) → 750; 500 (1 Dec 23:30) → 1,250; paid 1,000 → 250;
    # paid 300 → −50; reversed → 250. The 2 Dec lids are after the period.
    assert [r[-1] for r in rows[:-1]] == ["0.00", "750.00", "1,250.00", "250.00", "-50.00",
                                          "250.00"]
    assert rows[-1][-3:] == ["1,250.00", "1,000.00", "250.00"]
    assert "已冲销" in page
    r = await client.get("/payables/S1/statement.xlsx?from=2026-11-01&to=2026-12-01")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxml")
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    assert ws is not None and [c.value for c in ws[ws.max_row]][-3:] == [1250, 1000, 250]
    # a purchaser reads, does not pay; a lead has no payables at all
    client.cookies.clear()
    await login(client, username(Role.PURCHASER))
    page = (await client.get("/payables/S1")).text
    assert 'id="statement"' in page and 'id="new-payment"' not in page
    assert (await client.post("/payables/S1/payments", data={
        "csrf_token": csrf_of(page), "amount": "1", "paid_on": "2026-12-01",
        "method": "bank"})).status_code == 403
    client.cookies.clear()
    await login(client, username(Role.WAREHOUSE_LEAD))
    assert (await client.get("/payables")).status_code == 403
