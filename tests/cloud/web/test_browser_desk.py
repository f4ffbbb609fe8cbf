"""打单台 in headless Chromium with a print component: a warehouse lead ticks every order,
connects the page to the Cainiao-protocol print component (the fake, on loopback), prints
the two with a waybill as one task (the third waits for its number) — the component receives, byte for byte, the print command carrying the
platform's print data unchanged plus the custom area — sees both printed, is refused a
reprint without a reason, reprints one with a reason and sees it printed twice; the 发货单
lists the ticked orders."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, expect
from sqlalchemy.engine import Engine

from cloud.db.schema_couriers import courier_choices, desk_prints
from cloud.db.schema_orders import order_lines, orders, waybills
from edge.hardware.print_component import FakePrintComponent, encode, print_command
from tests.cloud.web.support import T0
from tests.cloud.web.test_browser import backend_of, browser, server, shot, sign_in

__all__ = ["browser", "server"]  # the fixtures, shared with the other browser tests

PRINT_DATA = {
    "3001": {"encryptedData": "AES:3001", "signature": "sig-3001", "templateURL":
             "https://file-link.pinduoduo.com/fake_std_template_0", "ver": "1"},
    "3002": {"encryptedData": "AES:3002", "signature": "sig-3002", "templateURL":
             "https://file-link.pinduoduo.com/fake_std_template_0", "ver": "1"}}
"""The platform's print data of each order's waybill (what the fake PDD issues)."""
LAYOUT = "https://cloudprint.cainiao.com/template/custom/4711"
"""The shop's custom-area template for ZTO."""


@pytest.fixture
def component() -> Iterator[FakePrintComponent]:
    fake = FakePrintComponent()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


def _tasked(engine: Engine) -> None:
    base = {"shop_id": "shop-pdd", "platform": "pdd", "platform_status": "paid",
            "raw_status": "1", "platform_updated_at": T0, "first_seen_at": T0,
            "updated_at": T0, "ordered_at": T0, "receiver_masked": {"province": "浙江"},
            "state": "tasked", "warehouse_id": "WH1", "station_id": "st-1"}
    with engine.begin() as conn:
        conn.execute(courier_choices.insert().values(
            shop_id="shop-pdd", carrier_code="ZTO", branch_code="B1", province="浙江省",
            city="杭州市", district="余杭区", detail="仓前街道1号", template_id="T76",
            template_url="https://t/std76", custom_area_url=LAYOUT, chosen_by="boss",
            chosen_at=T0))
        for pid, sku, qty in (("3001", "SKU-1", 1), ("3002", "SKU-2", 2)):
            conn.execute(orders.insert().values(id=f"pdd-{pid}", platform_order_id=pid, **base))
            conn.execute(order_lines.insert().values(order_id=f"pdd-{pid}", line_no=1, qty=qty,
                                                     price_fen=100, sku=sku, sku_qty=qty))
            conn.execute(waybills.insert().values(
                order_id=f"pdd-{pid}", waybill_no=f"ZT{pid}", carrier_code="ZTO",
                print_data=json.dumps(PRINT_DATA[pid]), issued_at=T0))


def test_a_lead_prints_a_batch_and_reprints_one_with_a_reason(
        server: tuple[str, str], browser: Browser, cloud_engine: Engine, cloud_db_url: str,
        component: FakePrintComponent) -> None:
    base, _secret = server
    backend = backend_of(cloud_db_url)
    _tasked(cloud_engine)
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    sign_in(page, base, "u-warehouse-lead")
    page.goto(f"{base}/desk")
    expect(page.locator("h1")).to_have_text("打单台")
    rows = page.locator("#desk-table tbody tr")
    expect(rows).to_have_count(3)  # and the demo's 1003, allocated, waiting for its number
    expect(page.locator("#desk-table")).to_contain_text("未打印")
    page.fill("#desk-url", component.url())
    page.click("#desk-connect")
    expect(page.locator("#desk-printer option")).to_have_count(2)
    expect(page.locator("#desk-printer")).to_have_value("Deli DL-888D")
    page.check("#desk-all")
    page.click("#desk-print")
    expect(page.locator('tr[data-order="pdd-3001"] .desk-status')).to_contain_text("已打印")
    expect(page.locator('tr[data-order="pdd-3002"] .desk-status')).to_contain_text("已打印")
    expect(page.locator('tr[data-order="pdd-1003"] .desk-status')).to_contain_text("未打印")
    # what the component received: the print command, byte for byte
    sent = [json.loads(t) for t in component.received]
    (command,) = [m for m in sent if m["cmd"] == "print"]
    custom = {"3001": ("保温杯 500ml", "SKU-1", 1), "3002": ("帆布袋", "SKU-2", 2)}
    docs = []
    for doc in command["task"]["documents"]:
        pid = doc["documentID"].removeprefix("ZT")
        name, sku, qty = custom[pid]
        assert doc["contents"][0] == PRINT_DATA[pid]  # the platform's, unchanged
        assert doc["contents"][1]["templateURL"] == LAYOUT
        area = doc["contents"][1]["data"]
        assert (area["orderNo"], area["items"], area["itemsSummary"]) == (
            pid, [{"sku": sku, "name": name, "qty": qty}], f"{name}×{qty}")
        docs.append((doc["documentID"], doc["contents"]))
    assert [d for d, _ in docs] == ["ZT3001", "ZT3002"]
    raw = next(t for t in component.received if json.loads(t)["cmd"] == "print")
    assert raw == encode(print_command(command["requestID"], command["task"]["taskID"],
                                       "Deli DL-888D", docs))
    assert [doc_id for _p, doc_id, _c in component.printed] == ["ZT3001", "ZT3002"]
    shot(page, "desk-printed-zh", backend)
    # a reprint needs a reason (the page connected again by itself after reloading)
    expect(page.locator("#desk-printer option")).to_have_count(2)
    page.check('tr[data-order="pdd-3001"] input[name="ids"]')
    page.click("#desk-print")
    expect(page.locator("#desk-message")).to_have_text("1 单已打印过, 重打请填写原因")
    page.fill("#desk-reason", "面单卡纸")
    page.click("#desk-print")
    expect(page.locator('tr[data-order="pdd-3001"] .desk-status')).to_contain_text("已打印 2 次")
    shot(page, "desk-reprinted-zh", backend)
    with cloud_engine.connect() as conn:
        kept = conn.execute(sa.select(desk_prints.c.order_id, desk_prints.c.n,
                                      desk_prints.c.reason).order_by(
            desk_prints.c.order_id, desk_prints.c.n)).all()
    assert [tuple(k) for k in kept] == [("pdd-3001", 1, None), ("pdd-3001", 2, "面单卡纸"),
                                        ("pdd-3002", 1, None)]
    # the packing list of the ticked orders
    slip = browser.new_page(locale="zh-CN")
    slip.context.add_cookies(page.context.cookies())
    slip.goto(f"{base}/desk/packing-list?ids=pdd-3002&ids=pdd-3001&order_by=ship_by")
    expect(slip.locator("h1")).to_have_text("发货单")
    expect(slip.locator(".packing-slip")).to_have_count(2)
    expect(slip.locator("#slip-3002")).to_contain_text("帆布袋")
