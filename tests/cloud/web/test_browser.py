"""The web app in headless Chromium (Debian's ``chromium``, driven by Playwright).

``packline-cloud serve`` runs as a subprocess on a free loopback port, on each database
engine. A manager signs in, reads stock and orders (htmx filters), switches language; an
admin signs in with a TOTP code and reads users and the audit log; an admin imports products
with a bad row, reads the row report, fixes it, edits a cost and finds the change in the
audit log; with JavaScript off the forms still work. Screenshots of the main pages in Chinese and English go to
``var/screenshots/`` (or ``$PACKLINE_SCREENSHOT_DIR``).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy.engine import Engine

from cloud.crypto import Sealer
from cloud.db.schema import station_alerts
from cloud.db.schema_orders import orders
from cloud.web import accounts
from cloud.web.assets import VENDOR_FILES, vendor_assets
from edge.domain.models import Role
from tests.cloud.web.support import PASSWORD, T0, add_users, seed_data
from tests.fixtures.mosquitto import MosquittoFactory

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
SHOTS = Path(os.environ.get("PACKLINE_SCREENSHOT_DIR", ROOT / "var" / "screenshots"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server(cloud_engine: Engine, cloud_db_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``serve`` on a free port over a database with users and demo rows; yields (url, secret)."""
    missing = vendor_assets(None).missing()
    assert not missing, f"run `npm ci` in {ROOT} first (missing {missing})"
    assert CHROMIUM.exists(), "apt-get install chromium (./packline test does)"
    made = add_users(cloud_engine)
    seed_data(cloud_engine)
    key = Fernet.generate_key()
    (tmp_path / "secret.key").write_bytes(key + b"\n")
    secret = accounts.new_totp_secret()
    with cloud_engine.begin() as conn:
        accounts.enable_totp(conn, T0, Sealer(key), made[Role.ADMIN].id, secret,
                             pyotp.TOTP(secret).at(T0))
    port = _free_port()
    env = {**os.environ, "PACKLINE_CLOUD_DATA_DIR": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    env.pop("PACKLINE_WEB_VENDOR_DIR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cloud", "--db", cloud_db_url, "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.stdout.read() if proc.stdout else ""
                    pytest.fail(f"serve did not start: {out}")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", secret
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def shot(page: Page, name: str, backend: str) -> None:
    if backend == "sqlite":  # the pages are the same on both engines: keep one set
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, base: str, user: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")


def backend_of(url: str) -> str:
    return url.split(":", 1)[0].split("+", 1)[0]


def test_manager_reads_stock_and_orders_in_both_languages(
        server: tuple[str, str], browser: Browser, cloud_db_url: str) -> None:
    base, _secret = server
    backend = backend_of(cloud_db_url)
    page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page.goto(f"{base}/login")
    expect(page.locator("h1")).to_have_text("登录")
    shot(page, "login-zh", backend)
    sign_in(page, base, "u-manager")
    expect(page.locator("h1")).to_have_text("你好, 测试manager")
    expect(page.locator("#orders-chart canvas")).to_have_count(1)  # ECharts drew the chart
    shot(page, "home-zh", backend)

    page.click("nav.mainnav >> text=库存")
    expect(page.locator("#stock-table tbody tr")).to_have_count(2)
    assert page.evaluate("typeof window.htmx") == "object"
    page.fill("input[name=sku]", "SKU-1")
    page.press("input[name=sku]", "Enter")  # htmx swaps the table and pushes the URL
    expect(page.locator("#stock-table tbody tr")).to_have_count(1)
    expect(page).to_have_url(f"{base}/stock?warehouse=&sku=SKU-1&location=")
    expect(page.locator("#stock-table tbody tr td").nth(2)).to_have_text("保温杯 500ml")
    page.goto(f"{base}/stock")
    shot(page, "stock-zh", backend)

    page.goto(f"{base}/orders")
    expect(page.locator("#orders-table tbody tr")).to_have_count(3)
    page.select_option("#f-state", "exception")
    page.click("form.filters button.primary")
    expect(page.locator("#orders-table tbody tr")).to_have_count(1)
    expect(page.locator("#orders-table")).to_contain_text("请发顺丰")
    page.goto(f"{base}/orders")
    page.fill("#f-q", "5678")  # the masked phone's last 4 digits
    page.press("#f-q", "Enter")  # htmx swaps the table and pushes the URL
    expect(page.locator("#orders-table tbody tr")).to_have_count(1)
    expect(page.locator("#orders-table")).to_contain_text("138****5678")
    expect(page).to_have_url(re.compile(r"/orders\?.*q=5678"))
    page.goto(f"{base}/orders")
    shot(page, "orders-zh", backend)

    page.click("#lang-toggle")
    expect(page.locator("h1")).to_have_text("Orders")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#orders-table")).to_contain_text("Pinduoduo")
    shot(page, "orders-en", backend)
    page.goto(f"{base}/stock")
    expect(page.locator("#stock-table")).to_contain_text("Vacuum flask 500ml")
    shot(page, "stock-en", backend)
    page.goto(f"{base}/")
    expect(page.locator("h1")).to_have_text("Hello, 测试manager")
    shot(page, "home-en", backend)
    page.goto(f"{base}/stations")
    expect(page.locator("#stations-table")).to_contain_text("Backup failing")
    shot(page, "stations-en", backend)

    page.click("#lang-toggle")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(f"{base}/stock/moves")
    expect(page.locator("h1")).to_have_text("库存流水")
    shot(page, "moves-zh-phone", backend)
    page.goto(f"{base}/users")  # managers do not manage users
    expect(page.locator("h1")).to_have_text("无权访问")


def test_admin_signs_in_with_totp(server: tuple[str, str], browser: Browser,
                                  cloud_db_url: str) -> None:
    base, secret = server
    backend = backend_of(cloud_db_url)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    sign_in(page, base, "u-admin")
    expect(page.locator("h1")).to_have_text("两步验证")
    shot(page, "totp-zh", backend)
    page.fill("#code", "000000")
    page.click("#totp-submit")
    expect(page.locator("#login-error")).to_have_text("验证码不对")
    page.fill("#code", pyotp.TOTP(secret).now())  # the server runs on the wall clock (travelled, too)
    page.click("#totp-submit")
    expect(page.locator("h1")).to_have_text("你好, 测试admin")
    page.click("nav.mainnav >> text=用户")
    expect(page.locator("#users-table tbody tr")).to_have_count(6)
    shot(page, "users-zh", backend)
    page.click("nav.mainnav >> text=审计日志")
    expect(page.locator("#audit-table")).to_contain_text("登录失败")
    shot(page, "audit-zh", backend)
    page.click("#lang-toggle")
    expect(page.locator("#audit-table")).to_contain_text("sign-in failed")
    shot(page, "audit-en", backend)
    page.click("#logout")
    expect(page.locator("h1")).to_have_text("Sign in")


def test_import_products_with_a_bad_row_then_edit_a_cost_and_find_it_in_the_audit_log(
        server: tuple[str, str], browser: Browser, cloud_db_url: str, tmp_path: Path) -> None:
    base, secret = server
    backend = backend_of(cloud_db_url)
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    sign_in(page, base, "u-admin")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("#totp-submit")
    expect(page.locator("h1")).to_have_text("你好, 测试admin")
    page.click('nav.mainnav a[href="/products"]')
    expect(page.locator("#products-table tbody tr")).to_have_count(2)
    page.click("#product-import")
    expect(page.locator("h1")).to_have_text("批量导入商品")

    bad = tmp_path / "新品.csv"
    bad.write_text("商品编码,商品名称,成本价(元)\nNEW-1,新品一号,9.90\nNEW-2,,5\n", encoding="utf-8")
    page.set_input_files("#import-file", str(bad))
    page.click("#import-submit")
    expect(page.locator("#import-refused")).to_have_text(
        "1 行有错误 (共 2 行), 未导入任何数据. 请修改后重新上传.")
    report = page.locator("#import-report tbody tr")
    expect(report).to_have_count(1)
    expect(report.locator("td")).to_have_text(["3", "商品名称", "缺少商品名称"])
    shot(page, "import-report-zh", backend)

    good = tmp_path / "新品-改.csv"
    good.write_text("商品编码,商品名称,成本价(元)\nNEW-1,新品一号,9.90\nNEW-2,新品二号,5\n",
                    encoding="utf-8")
    page.set_input_files("#import-file", str(good))
    page.click("#import-submit")
    expect(page.locator("#import-done")).to_have_text("已导入 2 个商品.")

    page.goto(f"{base}/products")
    page.fill("#f-q", "NEW-1")
    page.press("#f-q", "Enter")  # htmx swaps the table
    expect(page.locator("#products-table tbody tr")).to_have_count(1)
    page.click("#products-table >> text=NEW-1")
    expect(page.locator("h1")).to_have_text("商品 NEW-1")
    expect(page.locator("#f-cost")).to_have_value("9.90")
    page.fill("#f-cost", "12.80")
    page.click("#product-save")
    expect(page.locator(".notice")).to_have_text("商品 NEW-1 已保存")
    expect(page.locator("#f-cost")).to_have_value("12.80")
    shot(page, "product-zh", backend)

    page.click('nav.mainnav a[href="/audit"]')
    page.select_option("#f-action", "product.cost")
    page.click("form.filters button.primary")
    rows = page.locator("#audit-table tbody tr")
    expect(rows).to_have_count(1)  # the import created NEW-1: no cost changed then
    expect(rows.locator("td").nth(1)).to_have_text("u-admin")
    expect(rows.locator("td").nth(2)).to_have_text("修改成本价")
    expect(rows.locator("td").nth(3)).to_have_text("NEW-1")
    expect(rows.locator("td").nth(4)).to_have_text("from=9.90, to=12.80, via=web")
    shot(page, "audit-cost-zh", backend)

    page.goto(f"{base}/mappings")
    expect(page.locator("#mappings-table")).to_contain_text("本关联分得 12")
    shot(page, "mappings-zh", backend)
    page.click("#mappings-table >> text=#1")
    expect(page.locator("#push-now")).to_contain_text("在库 12 − 占用 0, 本关联分得 12, 减安全库存 2 → 可售 10")
    shot(page, "mapping-zh", backend)
    page.click("#lang-toggle")
    expect(page.locator("#push-now")).to_contain_text("10 available")
    page.goto(f"{base}/mappings")
    expect(page.locator("#mappings-table")).to_contain_text("this mapping's share 12")
    shot(page, "mappings-en", backend)
    page.goto(f"{base}/products")
    expect(page.locator("h1")).to_have_text("Products")
    shot(page, "products-en", backend)


def test_forms_work_with_javascript_off(server: tuple[str, str], browser: Browser) -> None:
    base, _secret = server
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, base, "u-finance")
    expect(page.locator("h1")).to_have_text("你好, 测试finance")
    page.goto(f"{base}/orders")
    page.fill("input[name=q]", "1003")
    page.click("form.filters button.primary")  # a plain GET form
    expect(page).to_have_url(f"{base}/orders?state=&platform=&shop=&q=1003&since=&until="
                             "&sku=&exception=&carrier=&waybill=&printed=&tag=&sort=")
    expect(page.locator("#orders-table tbody tr")).to_have_count(1)
    page.click("#lang-toggle")  # a plain POST form with the CSRF token
    expect(page.locator("h1")).to_have_text("Orders")
    context.close()

    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, base, "u-manager")
    page.goto(f"{base}/products")
    page.fill("#f-q", "帆布")
    page.click("form.filters button.primary")
    expect(page).to_have_url(f"{base}/products?q=%E5%B8%86%E5%B8%83&category=&tag=")
    page.click("#products-table >> text=SKU-2")
    page.fill("#f-price", "abc")
    page.click("#product-save")
    expect(page.locator('[data-field="price"]')).to_have_text("售价不是数字: abc")
    page.fill("#f-price", "19.90")
    page.click("#product-save")
    expect(page.locator(".notice")).to_have_text("商品 SKU-2 已保存")
    page.goto(f"{base}/mappings/1")
    page.fill("#r-buffer_units", "3")
    page.click("#rule-save")
    expect(page.locator(".notice")).to_contain_text("关联 #1 的推送规则已保存")
    context.close()


def test_lead_closes_an_alert_and_adjusts_stock(
        server: tuple[str, str], browser: Browser, cloud_engine: Engine, cloud_db_url: str) -> None:
    base, _secret = server
    backend = backend_of(cloud_db_url)
    with cloud_engine.begin() as conn:
        conn.execute(station_alerts.insert().values(
            msg_id="a-neg-1", station_id="st-1", kind="negative_stock", subject="SKU-2@B-02",
            detail={"balance": -1}, raised_at=T0, received_at=T0))
    page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    sign_in(page, base, "u-warehouse-lead")
    page.click("nav.mainnav >> text=预警")
    expect(page.locator("#alerts-table tbody tr")).to_have_count(1)
    expect(page.locator("#alerts-table")).to_contain_text("负库存")
    shot(page, "alerts-zh", backend)
    page.fill('#alerts-table input[name="note"]', "已盘点")
    page.click("#alerts-table >> text=标记已处理")
    expect(page.locator(".notice")).to_have_text("已标记为已处理")
    expect(page.locator("#station-alerts")).to_contain_text("没有未处理的提醒")
    expect(page.locator("#closed-alerts")).to_contain_text("u-warehouse-lead")

    page.set_viewport_size({"width": 390, "height": 844})  # on the phone, on the floor
    page.goto(f"{base}/stock?sku=SKU-2")
    page.click('#stock-table a[aria-label="库存调整 SKU-2 B-02"]')
    expect(page.locator("h1")).to_have_text("库存调整")
    page.fill('input[name="qty"]', "-1")
    page.click("text=记录调整")  # no reason: the browser's own check stops the form
    expect(page.locator("h1")).to_have_text("库存调整")
    page.fill('input[name="note"]', "破损 1 件")
    shot(page, "adjust-zh-phone", backend)
    page.click("text=记录调整")
    expect(page.locator(".notice")).to_have_text("已调整 SKU-2@B-02 -1, 结余 6")
    expect(page.locator("h1")).to_have_text("库存流水")


def test_lead_reviews_an_order_with_a_buyer_note(
        server: tuple[str, str], browser: Browser, cloud_engine: Engine, cloud_db_url: str) -> None:
    base, _secret = server
    backend = backend_of(cloud_db_url)
    with cloud_engine.begin() as conn:  # pdd-1002 waits for its buyer note ("请发顺丰")
        conn.execute(sa.update(orders).where(orders.c.id == "pdd-1002").values(
            exception_code="buyer_note", exception_detail="买家留言需人工审核: 请发顺丰"))
    page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    sign_in(page, base, "u-warehouse-lead")
    page.goto(f"{base}/orders")
    page.click("#orders-table >> text=1002")
    expect(page.locator("h1")).to_have_text("订单 1002")
    expect(page.locator("#order-exception")).to_have_text("买家留言待审核")
    expect(page.locator("#buyer-note")).to_contain_text("请发顺丰")
    shot(page, "order-review-zh", backend)
    page.fill('#approve-form input[name="reason"]', "已确认发顺丰")
    page.click("#approve")
    expect(page.locator(".notice")).to_have_text("已审核通过, 订单将重新分配")
    expect(page.locator("#order-state")).to_have_text("待审核")
    expect(page.locator("#events-table")).to_contain_text("已确认发顺丰")
    page.click("#hold")  # no reason: the browser's own check keeps the form
    page.fill('#hold-form input[name="reason"]', "等买家补款")
    page.click("#hold")
    expect(page.locator("#order-exception")).to_have_text("人工挂起")
    page.click("#lang-toggle")
    expect(page.locator("#order-exception")).to_have_text("held by hand")
    shot(page, "order-held-en", backend)


def test_manager_creates_a_promotion_and_an_approved_order_gets_its_gift(
        server: tuple[str, str], browser: Browser, cloud_engine: Engine, cloud_db_url: str) -> None:
    base, _secret = server
    backend = backend_of(cloud_db_url)
    with cloud_engine.begin() as conn:  # pdd-1002 (paid ¥5.00) waits for its buyer note
        conn.execute(sa.update(orders).where(orders.c.id == "pdd-1002").values(
            exception_code="buyer_note", exception_detail="买家留言需人工审核: 请发顺丰"))
    page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    sign_in(page, base, "u-manager")
    page.click("nav.mainnav >> text=赠品活动")
    expect(page.locator("h1")).to_have_text("赠品活动")
    page.fill('#promotion-form input[name="name"]', "满5元送帆布袋")
    page.select_option("#promo-kind", "amount")
    page.fill('#promotion-form input[name="threshold"]', "5")
    page.fill('#promotion-form input[name="gift_sku"]', "SKU-2")
    page.fill('#promotion-form input[name="gift_qty"]', "1")
    page.fill('#promotion-form input[name="starts_on"]', "2026-12-01")
    page.fill('#promotion-form input[name="ends_on"]', "2026-12-31")
    page.click("#promotion-create")
    expect(page.locator(".notice")).to_have_text("赠品活动 #1 已保存")
    expect(page.locator("#promotions-table")).to_contain_text("实付满 ¥5.00")
    shot(page, "promotions-zh", backend)
    page.goto(f"{base}/orders/pdd-1002")
    expect(page.locator("#order-exception")).to_have_text("买家留言待审核")
    page.fill('#approve-form input[name="reason"]', "已确认发顺丰")
    page.click("#approve")
    expect(page.locator(".notice")).to_have_text("已审核通过, 订单将重新分配")
    gift = page.locator("#lines-table tbody tr").filter(has_text="SKU-2")
    expect(gift.locator(".badge.gift")).to_have_text("赠品")
    expect(gift).to_contain_text("0.00")
    expect(page.locator("#events-table")).to_contain_text("加赠品")
    shot(page, "order-gift-zh", backend)


def test_lead_merges_two_orders_and_splits_one(
        server: tuple[str, str], browser: Browser, cloud_engine: Engine, cloud_db_url: str) -> None:
    from tests.cloud.web.test_order_merge import seed_merge_orders

    base, _secret = server
    backend = backend_of(cloud_db_url)
    seed_merge_orders(cloud_engine)  # 3001 and 3002 to one receiver, 3003 elsewhere
    page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    sign_in(page, base, "u-warehouse-lead")
    page.goto(f"{base}/orders")
    page.check('#orders-table input[aria-label="3001"]')
    page.check('#orders-table input[aria-label="3003"]')
    page.click("#merge")
    expect(page.locator('[data-field="orders"]')).to_have_text("不同收件地址的订单不能合并")
    shot(page, "order-merge-refused-zh", backend)
    page.uncheck('#merge-table input[aria-label="3003"]')
    page.goto(f"{base}/orders")
    page.check('#orders-table input[aria-label="3001"]')
    page.check('#orders-table input[aria-label="3002"]')
    page.click("#merge")
    expect(page.locator(".notice")).to_have_text("已合并 2 个订单, 将作为一个包裹发货")
    expect(page.locator("h1")).to_have_text("订单 3001")
    expect(page.locator("#parcel-members li")).to_have_count(2)
    expect(page.locator("#order-parcel")).to_contain_text("主订单")
    shot(page, "order-merged-zh", backend)
    page.click("#parcel-members >> text=3002")
    expect(page.locator("#order-exception")).to_have_text("已合并到其他订单")
    page.goto(f"{base}/orders/pdd-3001")
    page.fill('#unmerge-form input[name="reason"]', "买家要分开发")
    page.click("#unmerge")
    expect(page.locator(".notice")).to_have_text("已取消合并")
    expect(page.locator("#order-parcel")).to_have_count(0)
    expect(page.locator("#events-table")).to_contain_text("买家要分开发")

    page.goto(f"{base}/orders/pdd-3003")  # 拆单: one of its three units ships first
    page.fill("#split-qty-1", "1")
    page.fill('#split-form input[name="reason"]', "一件先发")
    page.click("#split-submit")
    expect(page.locator(".notice")).to_have_text("已拆出第二个包裹 3003#2")
    expect(page.locator("#split-parcels li")).to_have_count(2)
    shot(page, "order-split-zh", backend)
    page.click("#split-parcels >> text=3003#2")
    expect(page.locator("h1")).to_have_text("订单 3003#2")
    page.click("#unsplit")
    expect(page.locator(".notice")).to_have_text("已取消拆单")
    expect(page.locator("h1")).to_have_text("订单 3003")


def test_a_purchaser_writes_a_purchase_order_and_a_manager_approves_it(
        server: tuple[str, str], browser: Browser, cloud_db_url: str) -> None:
    base, _secret = server
    backend = backend_of(cloud_db_url)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, base, "u-purchaser")
    page.click("nav.mainnav >> text=采购")
    page.click("text=供应商")
    page.fill('#new-supplier input[name="id"]', "YW01")
    page.fill('#new-supplier input[name="name"]', "义乌日用品厂")
    page.fill('#new-supplier input[name="lead_days"]', "7")
    page.click("#supplier-save")
    expect(page.locator(".notice")).to_have_text("已添加供应商 义乌日用品厂")
    page.goto(f"{base}/purchasing/new")
    page.select_option('select[name="supplier"]', "YW01")
    page.fill('textarea[name="lines"]', "SKU-1 200 12.50\nSKU-9 1 1")
    page.click("#po-save")
    expect(page.locator('[data-field="lines"]')).to_have_text("第 2 行: 未知商品 SKU-9")
    page.fill('textarea[name="lines"]', "SKU-1 200 12.50\nSKU-2 50 3")
    page.click("#po-save")
    expect(page.locator("#po-status")).to_have_text("草稿")
    expect(page.locator("#po-total")).to_have_text("2,650.00")
    expect(page.locator("#po-approve")).to_have_count(0)  # not the purchaser's to approve
    po_url = page.url
    context.close()

    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()  # the manager, on a phone
    sign_in(page, base, "u-manager")
    page.goto(po_url)
    page.click("#po-approve")
    expect(page.locator("#po-status")).to_have_text("已审批")
    shot(page, "purchase-order-zh-phone", backend)
    page.click("#po-send")
    expect(page.locator("#po-status")).to_have_text("已发送")
    page.goto(f"{base}/purchasing")
    expect(page.locator("#po-table tbody tr")).to_have_count(1)
    context.close()


@pytest.mark.broker
def test_a_purchase_order_received_at_a_station_through_the_broker(
        server: tuple[str, str], browser: Browser, cloud_engine: Engine, cloud_db_url: str,
        mosquitto_factory: MosquittoFactory, tmp_path: Path) -> None:
    """Sent from the cloud, received at station st-01 (120 of 200), back through the real
    broker: the purchaser sees the order partly received and the moving-average cost —
    (100 on hand × 10.00 + 120 × 12.50) / 220 = 11.3636… → 11.36 — and the receipt among the
    stock moves."""
    from cloud import purchasing
    from cloud.db import write_transaction
    from cloud.db.schema import skus, stations
    from cloud.db.schema_purchasing import purchase_orders
    from cloud.stock import record_cloud_move
    from edge.domain.models import MoveReason
    from tests.sync.harness import make_station
    from tests.sync.helpers import wait_until
    from tests.sync.test_faults import running_daemon, running_ingest

    base, _secret = server
    backend = backend_of(cloud_db_url)
    broker = mosquitto_factory(stations=("st-01",), cert_stations=())
    now = datetime.now(UTC)
    with write_transaction(cloud_engine) as conn:
        conn.execute(sa.insert(stations).values(id="st-01", warehouse_id="WH1", name="收货台",
                                                status="active", created_at=now))
        conn.execute(sa.insert(skus).values(sku="CUP-350", name_zh="保温杯 350ml", cost_fen=1000))
        record_cloud_move(conn, warehouse_id="WH1", sku="CUP-350", location="A-01-01",
                          qty_delta=100, reason=MoveReason.RECEIVE, operator_id="M01",
                          note="期初", source_type="opening", source_id="O-1", now=now)
        purchasing.create_supplier(conn, supplier_id="YW01", name="义乌日用品厂", contact="",
                                   phone="", lead_days="", actor="u-purchaser", now=now)
        po_id = purchasing.create_po(conn, supplier_id="YW01", warehouse_id="WH1",
                                     lines="CUP-350 200 12.50", expected_on="", note="",
                                     actor="u-purchaser", now=now)
        purchasing.approve(conn, po_id, actor="u-manager", now=now)
        purchasing.send(conn, po_id, actor="u-manager", now=now)
    kiosk, syncer = (make_station(tmp_path / "st-01.db", "st-01") for _ in range(2))

    def cloud_status() -> str:
        with cloud_engine.connect() as conn:
            return str(conn.execute(sa.select(purchase_orders.c.status).where(
                purchase_orders.c.id == po_id)).scalar_one())

    with running_ingest(broker, cloud_engine), running_daemon(broker, syncer):
        wait_until(lambda: kiosk.queries.balance("CUP-350", "A-01-01") == 100 and
                   kiosk.writer.db.execute("SELECT 1 FROM purchase_orders WHERE po_id = ?",
                                           [po_id]).fetchone() is not None, 30,
                   what="the order and the opening stock at st-01")
        kiosk.writer.receive_po(po_id, 1, 120, location="A-01-01", operator_id="P01")
        wait_until(lambda: cloud_status() == "partial", 30, what="the receipt in the cloud")
    page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    sign_in(page, base, "u-purchaser")
    page.goto(f"{base}/purchasing/{po_id}")
    expect(page.locator("#po-status")).to_have_text("部分收货")
    expect(page.locator("#po-lines tbody tr td").nth(6)).to_have_text("120")
    shot(page, "purchase-order-received-zh", backend)
    page.goto(f"{base}/products/sku/CUP-350")
    expect(page.locator("#f-cost")).to_have_value("11.36")
    page.goto(f"{base}/stock/moves?sku=CUP-350")
    expect(page.locator("#moves-table tbody")).to_contain_text(po_id)
    expect(page.locator("#moves-table tbody")).to_contain_text("st-01")


def test_vendor_files_are_the_pinned_npm_packages() -> None:
    import json

    lock = json.loads((ROOT / "package-lock.json").read_text())
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]
    for name, path in VENDOR_FILES.items():
        package = path.split("/", 1)[0]
        assert lock["packages"][f"node_modules/{package}"]["version"] == pinned[package], name


def test_a_manager_reads_each_report_and_downloads_each_export(
        server: tuple[str, str], browser: Browser, cloud_engine: Engine, cloud_db_url: str,
        tmp_path: Path) -> None:
    """The seven reports and the returns page render (screenshots kept); every XLSX, CSV and
    PDF button downloads a file that opens: typed cells in the XLSX, a BOM-led CSV, a PDF."""
    import io

    import openpyxl

    from tests.cloud.web import (
        test_report_fulfilment,
        test_report_profit,
        test_report_purchasing,
        test_report_returns,
    )

    test_report_fulfilment._seed(cloud_engine)
    test_report_purchasing._seed(cloud_engine)
    test_report_profit.seed(cloud_engine, warehouse=False)
    test_report_returns._seed(cloud_engine)
    base, _secret = server
    backend = backend_of(cloud_db_url)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN",
                                  accept_downloads=True)
    page = context.new_page()
    sign_in(page, base, "u-manager")
    pages = [
        ("sales", "/reports/sales?from=2026-11-01&to=2026-12-01", "#sales-totals",
         ["#sales-xlsx", "#sales-pdf"]),
        ("daily", "/reports/daily?day=2026-11-30", "#daily-tiles",
         ["#daily-xlsx", "#daily-csv", "#daily-pdf"]),
        ("stock", "/reports/stock", "#stock-report", ["#stock-xlsx", "#stock-csv", "#stock-pdf"]),
        ("fulfilment", "/reports/fulfilment?from=2026-11-30&to=2026-12-01", "#fulfil-packers",
         ["#fulfil-xlsx", "#fulfil-pdf"]),
        ("purchasing", "/reports/purchasing?from=2026-11-01&to=2026-11-30", "#po-report",
         ["#po-xlsx", "#po-csv", "#po-pdf"]),
        ("profit", "/reports/profit?from=2026-12-01&to=2026-12-07", "#profit-by-order",
         ["#profit-xlsx", "#profit-csv", "#profit-pdf"]),
        ("returns", "/reports/returns?from=2026-11-20&to=2026-11-30", "#rt-skus",
         ["#rt-xlsx", "#rt-csv", "#rt-pdf"]),
        ("returns-page", "/returns", "#received-table", []),
    ]
    charts = {"sales": "#sales-chart", "fulfilment": "#fulfil-chart", "profit": "#profit-chart"}
    for name, path, table, buttons in pages:
        page.goto(base + path)
        expect(page.locator(table)).to_be_visible()
        if name in charts:  # ECharts drew the series
            expect(page.locator(f"{charts[name]} canvas")).to_have_count(1)
        shot(page, f"report-{name}-zh", backend)
        for button in buttons:
            with page.expect_download() as info:
                page.click(button)
            body = Path(info.value.path()).read_bytes()
            kind = button.rsplit("-", 1)[1]
            if kind == "xlsx":
                sheet = openpyxl.load_workbook(io.BytesIO(body)).worksheets[0]
                assert sheet.max_row >= 1, (name, button)
            elif kind == "csv":
                assert body.startswith("\ufeff".encode()), (name, button)
            else:
                assert body.startswith(b"%PDF-"), (name, button)
    # the fulfilment report's figures in the browser, as worked out by hand in its own test
    page.goto(f"{base}/reports/fulfilment?from=2026-11-30&to=2026-12-01")
    expect(page.locator("#t-parcels")).to_have_text("5")
    expect(page.locator("#fulfil-packers tbody tr").first).to_contain_text("小王")
    # the profit report: its tab, the shop without a fee rate, O2 at its hand-computed profit
    page.goto(f"{base}/reports/profit?from=2026-12-01&to=2026-12-07")
    expect(page.locator('#report-tabs a[href="/reports/profit"]')).to_have_class("active")
    expect(page.locator("#profit-fee-unset")).to_contain_text("淘宝店")
    expect(page.locator("#profit-chart canvas")).to_have_count(1)  # revenue and profit drawn
    expect(page.locator("#profit-by-order tr", has_text="taobao-O2")).to_contain_text("32.01")
    context.close()


def test_a_manager_connects_a_shop_and_nothing_is_pushed_before_the_confirmation(
        server: tuple[str, str], browser: Browser, cloud_engine: Engine, cloud_db_url: str,
        tmp_path: Path) -> None:
    """Onboarding as a new user does it (#17): authorise on the fake PDD's consent page,
    download the listings, see the automatic matches and the unmatched, match one by hand,
    read the first-push preview, confirm. A worker pass before the confirmation sends the
    platform nothing; the one after sends every listing what the preview said."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from cloud.db import skus, write_transaction
    from cloud.marketplaces.fake_server import run_fake_platform
    from cloud.orders import stock_push
    from cloud.shops import add_shop, open_client
    from tests.cloud.orders.support import receive

    base, _secret = server
    backend = backend_of(cloud_db_url)
    running = run_fake_platform("pdd", 0, 311, history_hours=0, orders_per_hour=0.0001)
    try:
        fake = running.fake
        sealer = Sealer((tmp_path / "secret.key").read_bytes().strip())  # the server's key
        catalog = fake.gen.catalog
        with write_transaction(cloud_engine) as conn:  # the seller's catalog lacks the last two
            shop_id = add_shop(conn, sealer, platform="pdd", name="新开的拼多多店",
                               app_key=fake.settings.app_key, app_secret=fake.settings.app_secret,
                               gateway_url=running.base_url, default_warehouse_id="WH1")
            conn.execute(sa.insert(skus), [{"sku": s.outer_id, "name_zh": s.title}
                                          for s in catalog[:-2]])
        receive(cloud_engine, "WH1", catalog[0].outer_id, 20)
        receive(cloud_engine, "WH1", catalog[1].outer_id, 7)

        async def push() -> None:
            async with httpx.AsyncClient() as http:
                sc = open_client(cloud_engine, sealer, shop_id, http=http, clock=fake.clock.now)
                await stock_push.push_stock(cloud_engine, sc, now=datetime.now(UTC))

        def worker_pass() -> None:  # the worker's stock pass (Playwright owns this thread's loop)
            with ThreadPoolExecutor(1) as pool:
                pool.submit(asyncio.run, push()).result()

        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        page = context.new_page()
        sign_in(page, base, "u-manager")
        page.goto(f"{base}/shops")
        page.click(f"#authorize-{shop_id}")
        expect(page.locator("#approve")).to_be_visible()  # the platform's consent page
        assert page.url.startswith(f"{running.base_url}/oauth/authorize?")
        page.click("#approve")
        expect(page.locator(".notice")).to_contain_text("已授权")
        assert fake.calls["pdd.pop.auth.token.create"] == 1

        page.goto(f"{base}/listings?shop={shop_id}")
        page.click(f"#download-{shop_id}")
        expect(page.locator(".notice")).to_contain_text("自动匹配 10")
        unmatched = page.locator('#listings-table tr[data-matched="no"]')
        expect(unmatched).to_have_count(2)  # the two codes the catalog does not have
        shot(page, "onboarding-listings-zh", backend)
        first = unmatched.first
        first.locator('input[name="sku"]').fill(catalog[0].outer_id)  # sold as the same goods
        first.locator("button").click()
        expect(page.locator('#listings-table tr[data-matched="no"]')).to_have_count(1)

        page.click(f"#push-preview-{shop_id}")
        expect(page.locator("#push-state")).to_have_attribute("data-confirmed", "0")
        expect(page.locator("#push-preview tbody tr")).to_have_count(11)
        shot(page, "onboarding-push-preview-zh", backend)
        worker_pass()
        assert fake.stock_pushes == [] and fake.calls["pdd.goods.quantity.update"] == 0

        page.fill('input[name="cut_percent"]', "40")
        page.click("#push-confirm-button")
        expect(page.locator("#push-state")).to_have_attribute("data-confirmed", "1")
        worker_pass()
        pushed = {p.sku_id: p.quantity for p in fake.stock_pushes}
        by_code = {s.outer_id: s.sku_id for s in catalog}
        # catalog[0]'s 20 units are shared by its own listing and the one matched by hand
        assert pushed[by_code[catalog[0].outer_id]] == 10
        assert pushed[by_code[catalog[1].outer_id]] == 7
        assert len(pushed) == 11 and sum(pushed.values()) == 10 + 10 + 7
        context.close()
    finally:
        running.stop()


def test_a_manager_makes_a_kit_with_javascript_off(server: tuple[str, str],
                                                   browser: Browser) -> None:
    """A new product KIT-A, then its components (组合商品): a bad row is shown next to its
    field and nothing is saved; fixed, the kit is saved and shown again."""
    base, _secret = server
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, base, "u-manager")
    page.goto(f"{base}/products/new")
    page.fill("#f-sku", "KIT-A")
    page.fill("#f-name_zh", "保温杯礼盒")
    page.click("#product-save")
    expect(page).to_have_url(f"{base}/products/sku/KIT-A")
    page.fill("#f-comp_sku_1", "SKU-1")
    page.fill("#f-comp_qty_1", "0")
    page.fill("#f-comp_sku_2", "KIT-A")
    page.fill("#f-comp_qty_2", "1")
    page.click("#kit-save")
    expect(page.locator('[data-field="comp_qty_1"]')).to_have_text("数量应为 1 到 1000 的整数: 0")
    expect(page.locator('[data-field="comp_sku_2"]')).to_have_text("组合商品不能包含自己")
    page.fill("#f-comp_qty_1", "2")
    page.fill("#f-comp_sku_2", "SKU-2")
    page.click("#kit-save")
    expect(page.locator(".notice")).to_have_text("KIT-A 的组合已保存")
    expect(page.locator("#f-comp_sku_1")).to_have_value("SKU-1")
    expect(page.locator("#f-comp_qty_1")).to_have_value("2")
    expect(page.locator("#f-comp_sku_2")).to_have_value("SKU-2")
    page.click("#lang-toggle")
    expect(page.locator("#kit h2")).to_have_text("Kit (bundle)")
    context.close()
