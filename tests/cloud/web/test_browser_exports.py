"""订单导出 in headless Chromium: a manager filters the order list, exports what it shows as
XLSX, watches the exports page fill its progress bar (``exports.js`` polling) and downloads
the file, which openpyxl reads back with typed cells; then a CSV of every order."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import openpyxl
import sqlalchemy as sa
from playwright.sync_api import Browser, expect
from sqlalchemy.engine import Engine

from cloud.db.schema_orders import orders
from tests.cloud.web.test_browser import backend_of, browser, server, shot, sign_in

__all__ = ["browser", "server"]  # the fixtures, shared with the other browser tests


def test_a_manager_exports_the_order_list(server: tuple[str, str], browser: Browser,
                                          cloud_engine: Engine, cloud_db_url: str) -> None:
    base, _secret = server
    backend = backend_of(cloud_db_url)
    with cloud_engine.connect() as conn:
        ids = sorted(conn.execute(sa.select(orders.c.platform_order_id).where(
            orders.c.platform == "pdd")).scalars())
        everyone = conn.execute(sa.select(sa.func.count()).select_from(orders)).scalar_one()
    assert ids, "the demo rows have PDD orders"
    page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    sign_in(page, base, "u-manager")
    page.goto(f"{base}/orders?platform=pdd")
    page.click("#export-orders")
    expect(page.locator("h1")).to_have_text("导出任务")
    row = page.locator("#exports tbody tr").first
    link = row.locator(".export-file a")
    expect(link).to_have_text("下载", timeout=20_000)  # the page polled until it was done
    expect(row.locator("progress")).to_have_attribute("value", "100")
    shot(page, "exports-zh", backend)
    with page.expect_download() as info:
        link.click()
    assert info.value.suggested_filename.startswith("orders-")
    sheet = openpyxl.load_workbook(io.BytesIO(Path(info.value.path()).read_bytes())).worksheets[0]
    got = list(sheet.iter_rows(min_row=2, values_only=True))
    assert sorted(r[0] for r in got) == ids
    assert all(r[1] == "拼多多" and isinstance(r[4], datetime) for r in got)
    assert all(isinstance(r[5], (int, float)) for r in got)  # money is a number
    page.goto(f"{base}/orders")
    page.select_option("#export-fmt", "csv")
    page.click("#export-orders")
    link = page.locator("#exports tbody tr").first.locator(".export-file a")
    expect(link).to_have_text("下载", timeout=20_000)
    with page.expect_download() as info:
        link.click()
    body = Path(info.value.path()).read_bytes().decode("utf-8")
    assert body.startswith("\ufeff订单号,平台,店铺")
    assert len(body.strip().split("\r\n")) == everyone + 1
