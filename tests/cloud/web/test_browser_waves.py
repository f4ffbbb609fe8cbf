"""波次拣货 in headless Chromium: a warehouse lead builds a multi-item wave for a station from
the orders tasked to it, reads its orders and put-wall slots on a phone, and cancels it with a reason
(a cancel without one is refused, the reason asked for next to the field)."""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import Browser, expect
from sqlalchemy.engine import Engine

from cloud.db.schema_orders import order_lines, orders, waybills
from tests.cloud.web.support import T0
from tests.cloud.web.test_browser import backend_of, browser, server, shot, sign_in

__all__ = ["browser", "server"]  # the fixtures, shared with the other browser tests


def _tasked(engine: Engine) -> None:
    """Two orders tasked to st-1 with ZTO waybills: 2001 one SKU-1 (a single), 2002 one
    SKU-1 and one SKU-2 (a multi)."""
    base = {"shop_id": "shop-pdd", "platform": "pdd", "platform_status": "paid",
            "raw_status": "1", "platform_updated_at": T0, "first_seen_at": T0,
            "updated_at": T0, "ordered_at": T0, "receiver_masked": {}, "state": "tasked",
            "warehouse_id": "WH1", "station_id": "st-1"}
    with engine.begin() as conn:
        for pid, skus in (("2001", ["SKU-1"]), ("2002", ["SKU-1", "SKU-2"])):
            conn.execute(orders.insert().values(id=f"pdd-{pid}", platform_order_id=pid, **base))
            conn.execute(order_lines.insert(), [
                {"order_id": f"pdd-{pid}", "line_no": n, "qty": 1, "price_fen": 100,
                 "sku": sku, "sku_qty": 1} for n, sku in enumerate(skus, 1)])
            conn.execute(waybills.insert().values(
                order_id=f"pdd-{pid}", waybill_no=f"ZT{pid}", carrier_code="ZTO",
                print_data="{}", issued_at=T0))


def test_a_lead_builds_a_multi_wave_and_cancels_it(
        server: tuple[str, str], browser: Browser, cloud_engine: Engine,
        cloud_db_url: str) -> None:
    base, _secret = server
    backend = backend_of(cloud_db_url)
    _tasked(cloud_engine)
    page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")  # a phone
    sign_in(page, base, "u-warehouse-lead")
    page.goto(f"{base}/waves")
    expect(page.locator("h1")).to_have_text("波次拣货")
    page.select_option("#wv-station", "st-1")
    page.select_option("#wv-kind", "multi")
    page.click("#wv-build")
    expect(page).to_have_url(re.compile(r"/waves/WV\d{8}-001$"))
    expect(page.locator("#wv-status")).to_have_text("待拣货")
    orders_table = page.locator("#wv-orders tbody tr")
    expect(orders_table).to_have_count(1)  # the multi only: 2001 is a single
    expect(orders_table.first).to_contain_text("2002")
    expect(orders_table.first.locator("td").first).to_have_text("1")  # its put-wall slot
    shot(page, "wave-multi-phone-zh", backend)
    page.click("#wv-cancel")  # no reason: refused, said next to the field, nothing changed
    expect(page.locator("#wv-actions")).to_contain_text("请写明取消原因")
    expect(page.locator("#wv-status")).to_have_text("待拣货")
    page.fill("#wv-reason", "重新分波")
    page.click("#wv-cancel")
    expect(page.locator("#wv-status")).to_have_text("已取消")
    with cloud_engine.connect() as conn:
        assert conn.execute(sa.select(orders.c.state).where(
            orders.c.id == "pdd-2002")).scalar_one() == "tasked"  # back to plain packing
