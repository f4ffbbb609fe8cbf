"""平台商品关联 pages in process on both engines: each mapping's last push and why, the push
rule form, new mappings. Expected numbers are worked out by hand from docs/stock-model.md."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema import audit_log, shops, warehouses
from cloud.db.schema_orders import (
    order_lines,
    orders,
    reservations,
    shop_warehouses,
    sku_mappings,
    stock_pushes,
)
from edge.domain.models import Role
from tests.cloud.web.support import T0, cells, count, field_errors, signed_in, token

RULE = {"buffer_units": "2", "buffer_percent": "0", "stock_share": "1", "push_stock": "1"}
"""Mapping #1's rule as seeded."""


def mapping(engine: Engine, mapping_id: int) -> dict[str, Any]:
    with engine.begin() as conn:
        return dict(conn.execute(sa.select(sku_mappings).where(
            sku_mappings.c.id == mapping_id)).mappings().one())


def audits(engine: Engine, action: str) -> list[tuple[str, str | None, Any]]:
    with engine.begin() as conn:
        return [(r.actor, r.subject, r.detail) for r in conn.execute(
            sa.select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.id))]


async def test_each_mapping_with_its_last_push_and_why(client: httpx.AsyncClient,
                                                       cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    rows = cells((await client.get("/mappings")).text, "mappings-table")
    assert rows == [[
        "拼多多 拼多多旗舰店", "#1 9001 sku_id 90011", "SKU-1 保温杯 500ml",
        "安全库存 2 件 + 0%, 份额 1", "10 2026-12-01 10:00",
        "在库 12 − 占用 0, 本关联分得 12, 减安全库存 2 → 可售 10"]]
    # a later push the platform refused is the last one, and says so
    with cloud_engine.begin() as conn:
        conn.execute(stock_pushes.insert().values(
            shop_id="shop-pdd", mapping_id=1, sku="SKU-1", on_hand=15, reserved=1, buffer=2,
            allotted=14, available=12, pushed=12, units=1, guard_units=14, detail={}, ok=False,
            answer="MarketplaceError: 限流", at=T0 + timedelta(minutes=5)))
    rows = cells((await client.get("/mappings")).text, "mappings-table")
    assert rows[0][4:] == ["12 失败 2026-12-01 10:05",
                           "在库 15 − 占用 1, 本关联分得 14, 减安全库存 2 → 可售 12"]
    assert "没有记录" in (await client.get("/mappings", params={"sku": "SKU-2"})).text
    assert len(cells((await client.get("/mappings", params={"sku": "90011"})).text,
                     "mappings-table")) == 1
    assert len(cells((await client.get("/mappings", params={"shop": "shop-pdd"})).text,
                     "mappings-table")) == 1
    page = await client.get("/mappings")
    assert 'id="new-mapping"' not in page.text  # warehouse leads read, they do not map


async def test_shared_stock_reservations_and_percent_buffer_on_the_mapping_page(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    """SKU-1 in WH1: 12 on hand, 3 reserved; mapping #1 (buffer 2 + 10%) shares it 1:1 with a
    Taobao listing. free 9 → ½ × 9 = 4.5 → 4; buffer 2 + ⌈½ × 12 × 10%⌉ = 2 + ⌈0.6⌉ = 3;
    available 4 − 3 = 1."""
    await signed_in(client, cloud_engine, Role.MANAGER)
    with cloud_engine.begin() as conn:
        conn.execute(shops.insert().values(id="shop-tb", platform="taobao", name="淘宝店",
                                           created_at=T0))
        conn.execute(sku_mappings.insert().values(shop_id="shop-tb", platform_item_id="55",
                                                  platform_sku_id="551", sku="SKU-1"))  # #2
        conn.execute(reservations.insert().values(order_id="pdd-1003", sku="SKU-1",
                                                  warehouse_id="WH1", qty=3, created_at=T0))
    csrf = await token(client, "/mappings/1")
    r = await client.post("/mappings/1", data={"csrf_token": csrf, **RULE, "buffer_percent": "10"})
    assert r.status_code == 303 and r.headers["location"] == "/mappings/1"
    page = await client.get("/mappings/1")
    assert "关联 #1 的推送规则已保存, 下次库存推送时生效" in page.text
    now = page.text.split('id="push-now"', 1)[1].split("</section>", 1)[0]
    assert "<strong>1</strong>" in now
    assert "在库 12 − 占用 3, 本关联分得 4, 减安全库存 3 → 可售 1" in now
    assert "WH1: 在库 12, 占用 3, 份额 1/2." in now
    assert "WH1 <span class=\"muted\">(店铺未指定发货仓, 计入全部仓库)</span>" in page.text
    pushes = cells(page.text, "pushes-table")
    assert pushes == [["2026-12-01 10:00", "10",
                       "在库 12 − 占用 0, 本关联分得 12, 减安全库存 2 → 可售 10 "
                       "WH1: 在库 12, 占用 0, 份额 1/1.", "12", "成功"]]
    # the Taobao shop is served by WH2 only: its mapping counts WH2, where nothing is
    with cloud_engine.begin() as conn:
        conn.execute(warehouses.insert().values(id="WH2", name="义乌仓"))
        conn.execute(shop_warehouses.insert().values(shop_id="shop-tb", warehouse_id="WH2"))
    tb = await client.get("/mappings/2")
    assert '<dd id="counted-warehouses">WH2</dd>' in tb.text
    assert "在库 0 − 占用 0, 本关联分得 0, 减安全库存 0 → 可售 0" in tb.text
    assert "还没有推送过" in tb.text
    # and mapping #1 no longer shares WH1 with it: ½ becomes 1/1 → free 9, buffer 2 + ⌈1.2⌉ = 4
    one = (await client.get("/mappings/1")).text.split('id="push-now"', 1)[1]
    assert "在库 12 − 占用 3, 本关联分得 9, 减安全库存 4 → 可售 5" in one


async def test_a_rule_change_is_audited_and_bad_input_writes_nothing(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.PURCHASER)
    csrf = await token(client, "/mappings/1")
    before = mapping(cloud_engine, 1)
    bad = await client.post("/mappings/1", data={
        "csrf_token": csrf, "buffer_units": "", "buffer_percent": "150", "stock_share": "-1"})
    assert bad.status_code == 400
    assert field_errors(bad.text) == {
        "buffer_units": ["请填写安全库存件数"],
        "buffer_percent": ["安全库存百分比应在 0 到 100 之间: 150"],
        "stock_share": ["共享份额应在 0 到 10,000 之间: -1"]}
    assert 'value="150"' in bad.text
    assert mapping(cloud_engine, 1) == before and audits(cloud_engine, "mapping.rule") == []
    ok = await client.post("/mappings/1", data={"csrf_token": csrf, "buffer_units": "5",
                                                "buffer_percent": "0", "stock_share": "3"})
    assert ok.status_code == 303
    after = mapping(cloud_engine, 1)
    assert (after["push_stock"], after["buffer_units"], after["stock_share"]) == (False, 5, 3)
    assert audits(cloud_engine, "mapping.rule") == [("u-purchaser", "shop-pdd/1", {
        "sku": "SKU-1", "push_stock": "on → off", "buffer_units": "2 → 5",
        "stock_share": "1 → 3"})]
    rows = cells((await client.get("/mappings")).text, "mappings-table")
    assert rows[0][3] == "不推送"
    assert (await client.get("/mappings/99")).status_code == 404


async def test_a_new_mapping_reserves_the_orders_waiting_for_it(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    with cloud_engine.begin() as conn:  # a paid order whose line no mapping knew yet
        conn.execute(orders.insert().values(
            id="pdd-2001", shop_id="shop-pdd", platform="pdd", platform_order_id="2001",
            platform_status="awaiting_shipment", raw_status="1", platform_updated_at=T0,
            first_seen_at=T0, updated_at=T0, state="exception", exception_code="unmapped",
            receiver_masked={}, ordered_at=T0))
        conn.execute(order_lines.insert().values(order_id="pdd-2001", line_no=1,
                                                 platform_sku_id="777", qty=2, price_fen=990))
    csrf = await token(client, "/mappings")
    new = {"csrf_token": csrf, "shop_id": "shop-pdd", "item_id": "7000", "sku_id": "777",
           "outer_id": "", "sku": "SKU-2", "units": "3", "buffer_units": "1",
           "buffer_percent": "5", "stock_share": "1", "push_stock": "1"}
    r = await client.post("/mappings", data=new)
    assert r.status_code == 303 and r.headers["location"] == "/mappings/2"
    made = mapping(cloud_engine, 2)
    assert (made["sku"], made["units"], made["buffer_units"], made["buffer_percent"]) == (
        "SKU-2", 3, 1, 5)
    with cloud_engine.begin() as conn:
        held = conn.execute(sa.select(reservations.c.sku, reservations.c.warehouse_id,
                                      reservations.c.qty).where(
            reservations.c.order_id == "pdd-2001")).all()
    assert [tuple(h) for h in held] == [("SKU-2", "WH1", 6)]  # 2 platform units × 3
    assert audits(cloud_engine, "mapping.create") == [("u-manager", "shop-pdd/2", {
        "sku": "SKU-2", "item_id": "7000", "sku_id": "777", "outer_id": "", "units": 3,
        "push_stock": "on", "buffer_units": "1", "buffer_percent": "5", "stock_share": "1",
        "push_min": "-", "push_max": "-"})]
    # refused: the same platform SKU again, an unknown product, no platform SKU at all
    again = await client.post("/mappings", data={**new, "item_id": "7001"})
    assert again.status_code == 400
    assert field_errors(again.text) == {"sku_id": ["此平台 SKU 在该店铺已关联到 SKU-2 (#2)"]}
    assert 'value="7001"' in again.text
    wrong = await client.post("/mappings", data={
        **new, "shop_id": "", "sku_id": "", "sku": "NOPE", "units": "0", "stock_share": "x"})
    assert field_errors(wrong.text) == {
        "shop_id": ["请选择店铺"], "sku_id": ["平台 SKU ID 和商家编码至少填一个"],
        "sku": ["商品 NOPE 不存在, 请先在商品资料中添加"],
        "units": ["每件平台商品含数量应在 1 到 10,000 之间: 0"],
        "stock_share": ["共享份额必须是整数: x"]}
    assert "有 5 处需要修改, 未保存任何内容" in wrong.text
    assert count(cloud_engine, sku_mappings) == 2
    assert len(audits(cloud_engine, "mapping.create")) == 1


async def test_a_floor_and_a_cap_limit_what_a_push_offers(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    """Mapping #1: SKU-1 12 on hand, nothing reserved, buffer 2 → 10 before limits. A cap
    of 6 offers 6; a floor of 11 (no cap) offers 0, since 10 is below it; a floor above the
    cap is refused."""
    await signed_in(client, cloud_engine, Role.MANAGER)
    csrf = await token(client, "/mappings/1")

    def now(html: str) -> str:
        return html.split('id="push-now"', 1)[1].split("</section>", 1)[0]

    r = await client.post("/mappings/1", data={"csrf_token": csrf, **RULE, "push_max": "6"})
    assert r.status_code == 303
    page = (await client.get("/mappings/1")).text
    assert "<strong>6</strong>" in now(page) and "同步范围 —~6" in now(page)
    await client.post("/mappings/1", data={"csrf_token": csrf, **RULE, "push_min": "11"})
    page = (await client.get("/mappings/1")).text
    assert "<strong>0</strong>" in now(page) and "同步范围 11~—" in now(page)
    bad = await client.post("/mappings/1", data={"csrf_token": csrf, **RULE, "push_min": "8",
                                                 "push_max": "5"})
    assert bad.status_code == 400
    assert field_errors(bad.text) == {"push_min": ["最小同步数不能大于最大同步数"]}
    assert (mapping(cloud_engine, 1)["push_min"], mapping(cloud_engine, 1)["push_max"]) == (11, None)
