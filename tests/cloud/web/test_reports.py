"""报表 pages: the sales report and the daily summary render the hand-computed figures of
``tests.cloud.test_reports`` as tables (no JavaScript needed), keep bad filters next to their
field, and download as typed XLSX and as CSV; finance sees them, a warehouse lead does not."""

from __future__ import annotations

import io

import httpx
import openpyxl
from sqlalchemy.engine import Engine

from edge.domain.models import Role
from tests.cloud.test_reports import seed
from tests.cloud.web.support import add_users, cells, field_errors, login, username

RANGE = "from=2026-12-01&to=2026-12-07"
"""The dataset's week."""


async def _as(client: httpx.AsyncClient, role: Role) -> None:
    client.cookies.clear()
    assert (await login(client, username(role))).status_code == 303


async def test_the_sales_report_page_and_exports(client: httpx.AsyncClient,
                                                 cloud_engine: Engine) -> None:
    add_users(cloud_engine)
    seed(cloud_engine)
    await _as(client, Role.MANAGER)
    r = await client.get(f"/reports/sales?{RANGE}")
    assert r.status_code == 200
    page = r.text
    assert 'id="total-gmv">232.00<' in page and 'id="total-aov">46.40<' in page
    assert 'id="total-refunds">70.00<' in page and 'id="total-net">162.00<' in page
    assert cells(page, "sales-series")[:2] == [
        ["2026-12-01", "2", "7", "75.00", "37.50", "0.00", "—"],
        ["2026-12-02", "3", "4", "157.00", "52.33", "0.00", "+109.3%"]]
    assert cells(page, "sales-by-shop") == [
        ["淘宝店", "taobao", "2", "3", "150.00", "75.00", "70.00"],
        ["拼多多店", "pdd", "3", "8", "82.00", "27.33", "0.00"]]
    assert cells(page, "sales-by-sku")[0] == ["S1", "保温杯", "杯子", "4", "8", "200.00", "50.00", "0.00"]
    assert cells(page, "sales-by-province")[0] == ["广东", "1", "2", "100.00", "100.00", "50.00"]
    assert cells(page, "slow-movers") == [["S3", "茶壶", "5", "从未"]]
    assert 'id="sales-chart-data">{"gmv": [75.0, 157.0, 0.0, 0.0]' in page
    monthly = (await client.get(f"/reports/sales?{RANGE}&period=month&shop=pdd1")).text
    assert cells(monthly, "sales-series") == [  # the period, then the totals row
        ["2026-12", "3", "8", "82.00", "27.33", "0.00", "—"],
        ["合计", "3", "8", "82.00", "27.33", "0.00", ""]]
    bad = await client.get("/reports/sales?from=2026-12-07&to=2026-12-01&slow_days=x")
    assert bad.status_code == 400 and set(field_errors(bad.text)) == {"to", "slow_days"}
    x = await client.get(f"/reports/sales.xlsx?{RANGE}")
    assert x.status_code == 200 and x.headers["content-type"].startswith("application/vnd.openxml")
    assert 'filename="sales-report-2026-12-01-2026-12-07.xlsx"' in x.headers["content-disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(x.content))
    assert wb.sheetnames == ["汇总", "金额", "按周期", "按店铺", "按平台", "畅销SKU", "按省份", "按城市",
                             "滞销"]
    ws = wb["按平台"]
    assert [c.value for c in ws[2]] == ["taobao", 2, 3, 150, 75, 70] and ws["D2"].data_type == "n"
    c = await client.get(f"/reports/sales.csv?{RANGE}&section=sku")
    assert c.status_code == 200 and c.headers["content-type"].startswith("text/csv")
    lines = c.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "SKU,名称,类目,订单数,件数,GMV(元),客单价(元),退款(元)"
    assert lines[1] == "S1,保温杯,杯子,4,8,200.00,50.00,0.00"
    assert (await client.get(f"/reports/sales.csv?{RANGE}&section=nope")).status_code == 400
    assert cells(page, "sales-by-city")[0] == ["广东 广州市", "1", "2", "100.00", "100.00", "0.00"]


async def test_which_styles_sell_where(client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    """A SKU's buyers by province; a province's best sellers and cities (by whole months)."""
    add_users(cloud_engine)
    seed(cloud_engine)
    await _as(client, Role.FINANCE)
    s1 = (await client.get(f"/reports/sales?{RANGE}&sku=S1")).text
    assert cells(s1, "sales-where-sold") == [
        ["广东", "1", "2", "100.00", "100.00", "0.00"], ["浙江", "2", "3", "70.00", "35.00", "0.00"],
        ["江苏", "1", "3", "30.00", "30.00", "0.00"]]
    assert "按自然月统计: 2026-12 ~ 2026-12" in s1 and 'id="sales-by-city"' not in s1
    zj = (await client.get(f"/reports/sales?{RANGE}&province=浙江")).text
    assert 'id="total-gmv">95.00<' in zj
    assert cells(zj, "sales-sold-there") == [
        ["S1", "保温杯", "杯子", "2", "3", "70.00", "35.00", "0.00"],
        ["S2", "玻璃杯", "杯子", "1", "2", "25.00", "25.00", "0.00"]]
    assert [r[0] for r in cells(zj, "sales-by-city")] == ["浙江 宁波市", "浙江 杭州市"]
    assert '<option value="浙江" selected>' in zj
    x = await client.get(f"/reports/sales.xlsx?{RANGE}&province=浙江")
    wb = openpyxl.load_workbook(io.BytesIO(x.content))
    assert "该省畅销款 2026-12~2026-12" in wb.sheetnames and "畅销SKU" not in wb.sheetnames
    where = await client.get(f"/reports/sales.csv?{RANGE}&sku=S1&section=where")
    assert where.content.decode("utf-8-sig").splitlines()[1] == "广东,1,2,100.00,100.00,0.00"
    assert (await client.get(f"/reports/sales.csv?{RANGE}&sku=S1&section=city")).status_code == 400
    both = await client.get(f"/reports/sales?{RANGE}&sku=S1&province=浙江")
    assert both.status_code == 400 and "province" in field_errors(both.text)


async def test_the_daily_summary_page_and_exports(client: httpx.AsyncClient,
                                                  cloud_engine: Engine) -> None:
    add_users(cloud_engine)
    seed(cloud_engine)
    await _as(client, Role.FINANCE)
    page = (await client.get("/reports/daily?day=2026-12-02")).text
    assert 'id="d-orders">3<' in page and 'id="d-gmv">157.00<' in page
    assert 'id="d-parcels">4<' in page and 'id="d-late">2<' in page
    assert [row[0] for row in cells(page, "late-orders")] == ["taobao-O6", "pdd-O5"]
    assert cells(page, "low-stock") == [["WH1", "S1", "保温杯", "10", "20"],
                                        ["WH1", "S2", "玻璃杯", "0", "1"]]
    # by default: yesterday (the test clock is 1 December in Beijing): 30 November, no orders
    default = (await client.get("/reports/daily")).text
    assert "每日概况 · 2026-11-30" in default and 'id="d-orders">0<' in default
    assert (await client.get("/reports/daily?day=12/02")).status_code == 400
    x = await client.get("/reports/daily.xlsx?day=2026-12-02")
    ws = openpyxl.load_workbook(io.BytesIO(x.content))["概况"]
    assert [c.value for c in ws[7]] == ["超时未发", 2]
    csv_text = (await client.get("/reports/daily.csv?day=2026-12-02")).content.decode("utf-8-sig")
    assert "超时未发,2" in csv_text and "taobao-O6" in csv_text
    await _as(client, Role.WAREHOUSE_LEAD)
    assert (await client.get("/reports/daily")).status_code == 403
    assert (await client.get(f"/reports/sales.xlsx?{RANGE}")).status_code == 403
    await _as(client, Role.ADMIN)
    home = (await client.get("/")).text
    assert 'href="/reports/daily"' in home  # one 报表 entry in the menu …
    tabs = (await client.get("/reports/daily")).text  # … and a tab per report
    assert all(f'href="/reports/{r}"' in tabs
               for r in ("daily", "sales", "profit", "stock", "fulfilment", "purchasing"))


async def test_the_report_pages_work_in_english_and_narrow(client: httpx.AsyncClient,
                                                           cloud_engine: Engine) -> None:
    add_users(cloud_engine)
    await _as(client, Role.MANAGER)
    r = await client.get("/reports/sales")  # an empty database: no rows, no error
    assert r.status_code == 200 and 'class="table-wrap"' in r.text and "没有记录" in r.text
    assert 'name="viewport"' in r.text
