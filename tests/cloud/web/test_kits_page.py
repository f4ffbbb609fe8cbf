"""组合商品 on the product page, in process on both engines: define, change and clear a kit's
components; every refusal shown next to its row with nothing written; CSRF and roles.

The seed has SKU-1 (12 on hand) and SKU-2 (7 on hand); the tests add KIT-A and BOX-9 with
no stock. Expected rows and messages are written out by hand.
"""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema import audit_log, kit_components, skus, stock_moves
from cloud.db.schema_orders import order_lines, orders
from cloud.db.schema_purchasing import purchase_orders
from edge.domain.models import Role
from tests.cloud.web.support import T0, count, field_errors, signed_in, token


def add_products(engine: Engine) -> None:
    """KIT-A and BOX-9: products with no stock."""
    with engine.begin() as conn:
        conn.execute(skus.insert(), [{"sku": "KIT-A", "name_zh": "保温杯礼盒"},
                                     {"sku": "BOX-9", "name_zh": "礼品盒"}])


def parts(engine: Engine, kit: str) -> list[tuple[str, int]]:
    with engine.begin() as conn:
        k = kit_components.c
        return [(c, int(q)) for c, q in conn.execute(sa.select(k.component_sku, k.qty).where(
            k.kit_sku == kit).order_by(k.component_sku))]


def kit_audit(engine: Engine) -> list[tuple[str, str | None, Any]]:
    with engine.begin() as conn:
        return [(r.actor, r.subject, r.detail) for r in conn.execute(sa.select(audit_log).where(
            audit_log.c.action == "product.kit").order_by(audit_log.c.id))]


def rows(**cells: str) -> dict[str, str]:
    """Form fields from ``sku_1="SKU-1", qty_1="2"`` style names."""
    return {f"comp_{name.split('_')[0]}_{name.split('_')[1]}": v for name, v in cells.items()}


async def test_define_change_and_clear_a_kit(client: httpx.AsyncClient,
                                             cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    add_products(cloud_engine)
    page = await client.get("/products/sku/KIT-A")
    assert page.status_code == 200 and 'id="kit-form"' in page.text
    for n in (1, 2, 3):  # three blank rows, no fourth
        assert f'name="comp_sku_{n}"' in page.text
    assert 'name="comp_sku_4"' not in page.text
    csrf = await token(client, "/products/sku/KIT-A")
    r = await client.post("/products/kit/KIT-A", data={
        "csrf_token": csrf, **rows(sku_1="SKU-1", qty_1="2", sku_3="SKU-2", qty_3="1")})
    assert r.status_code == 303 and r.headers["location"] == "/products/sku/KIT-A#kit"
    assert parts(cloud_engine, "KIT-A") == [("SKU-1", 2), ("SKU-2", 1)]
    assert kit_audit(cloud_engine) == [
        ("u-manager", "KIT-A", {"components": "- → SKU-1×2 + SKU-2×1"})]
    shown = await client.get("/products/sku/KIT-A")
    assert "KIT-A 的组合已保存" in shown.text
    assert 'name="comp_sku_1" id="f-comp_sku_1" value="SKU-1"' in shown.text
    assert 'name="comp_qty_2" id="f-comp_qty_2" value="1"' in shown.text
    assert 'name="comp_sku_5"' in shown.text and 'name="comp_sku_6"' not in shown.text
    # the component's page says which kits it is in
    component = await client.get("/products/sku/SKU-1")
    assert "此商品是这些组合商品的组件: KIT-A" in component.text
    # the same again changes nothing and audits nothing
    same = await client.post("/products/kit/KIT-A", data={
        "csrf_token": csrf, **rows(sku_1="SKU-2", qty_1="1", sku_2="SKU-1", qty_2="2")})
    assert same.status_code == 303 and len(kit_audit(cloud_engine)) == 1
    changed = await client.post("/products/kit/KIT-A", data={
        "csrf_token": csrf, **rows(sku_1="SKU-1", qty_1="3", sku_2="BOX-9", qty_2="1")})
    assert changed.status_code == 303
    assert parts(cloud_engine, "KIT-A") == [("BOX-9", 1), ("SKU-1", 3)]
    cleared = await client.post("/products/kit/KIT-A", data={"csrf_token": csrf})
    assert cleared.status_code == 303 and parts(cloud_engine, "KIT-A") == []
    assert [d["components"] for _a, _s, d in kit_audit(cloud_engine)] == [
        "- → SKU-1×2 + SKU-2×1", "SKU-1×2 + SKU-2×1 → BOX-9×1 + SKU-1×3", "BOX-9×1 + SKU-1×3 → -"]


async def test_bad_rows_are_shown_next_to_their_fields_and_nothing_is_written(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    add_products(cloud_engine)
    csrf = await token(client, "/products/sku/KIT-A")
    assert (await client.post("/products/kit/BOX-9", data={
        "csrf_token": csrf, **rows(sku_1="SKU-2", qty_1="4")})).status_code == 303
    audited = count(cloud_engine, audit_log)
    bad = rows(sku_1="SKU-1", qty_1="0", sku_2="NOPE", qty_2="1", sku_3="KIT-A", qty_3="1",
               sku_4="BOX-9", qty_4="1", sku_5="SKU-2", qty_5="x", sku_6="SKU-2", qty_6="1",
               sku_7="", qty_7="2", sku_8="SKU-1", qty_8="1001")
    r = await client.post("/products/kit/KIT-A", data={"csrf_token": csrf, **bad})
    assert r.status_code == 400
    assert field_errors(r.text) == {
        "comp_qty_1": ["数量应为 1 到 1000 的整数: 0"],
        "comp_sku_2": ["商品 NOPE 不存在"],
        "comp_sku_3": ["组合商品不能包含自己"],
        "comp_sku_4": ["BOX-9 是组合商品, 组合商品不能包含组合商品"],
        "comp_qty_5": ["数量应为 1 到 1000 的整数: x"],
        "comp_sku_6": ["SKU-2 重复, 请合并为一行"],
        "comp_sku_7": ["请填写组件商品编码"],
        "comp_sku_8": ["SKU-1 重复, 请合并为一行"],
        "comp_qty_8": ["数量应为 1 到 1000 的整数: 1001"],
    }
    assert 'value="NOPE"' in r.text and 'value="x"' in r.text  # shown again as typed
    assert parts(cloud_engine, "KIT-A") == [] and count(cloud_engine, audit_log) == audited
    # a component of a kit cannot become a kit (BOX-9 holds SKU-2); a SKU with stock neither
    nested = await client.post("/products/kit/SKU-2", data={
        "csrf_token": csrf, **rows(sku_1="BOX-9", qty_1="1")})
    assert nested.status_code == 400
    assert field_errors(nested.text) == {
        "comp_sku_1": ["BOX-9 是组合商品, 组合商品不能包含组合商品"]}
    assert "SKU-2 是组合商品 BOX-9 的组件, 不能再做成组合商品" in nested.text
    assert "SKU-2 有库存 7 件, 组合商品不能有自己的库存" in nested.text
    stocked = await client.post("/products/kit/SKU-1", data={
        "csrf_token": csrf, **rows(sku_1="KIT-A", qty_1="1")})
    assert stocked.status_code == 400 and "SKU-1 有库存 12 件, 组合商品不能有自己的库存" in stocked.text
    assert parts(cloud_engine, "SKU-1") == [] and parts(cloud_engine, "SKU-2") == []
    en = await client.post("/lang", data={"csrf_token": csrf, "lang": "en", "next": "/"})
    assert en.status_code == 303
    english = await client.post("/products/kit/KIT-A", data={
        "csrf_token": csrf, **rows(sku_1="KIT-A", qty_1="1", sku_2="SKU-1", qty_2="0")})
    assert field_errors(english.text) == {
        "comp_sku_1": ["a kit cannot contain itself"],
        "comp_qty_2": ["units must be a whole number from 1 to 1000: 0"]}
    assert count(cloud_engine, audit_log) == audited


async def test_a_kit_at_a_station_cannot_change(client: httpx.AsyncClient,
                                                 cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.ADMIN)
    add_products(cloud_engine)
    csrf = await token(client, "/products/sku/KIT-A")
    assert (await client.post("/products/kit/KIT-A", data={
        "csrf_token": csrf, **rows(sku_1="SKU-1", qty_1="2")})).status_code == 303
    with cloud_engine.begin() as conn:  # pdd-1003 is allocated: its station packs 2 × SKU-1
        conn.execute(order_lines.insert().values(
            order_id="pdd-1003", line_no=1, qty=1, price_fen=100, sku="KIT-A", sku_qty=1))
    r = await client.post("/products/kit/KIT-A", data={
        "csrf_token": csrf, **rows(sku_1="SKU-1", qty_1="3")})
    assert r.status_code == 400
    assert "1 个含此组合商品的订单已分配到工作站 (如 pdd-1003), 发货或取消后再修改" in r.text
    assert parts(cloud_engine, "KIT-A") == [("SKU-1", 2)]
    with cloud_engine.begin() as conn:
        conn.execute(orders.update().where(orders.c.id == "pdd-1003").values(
            state="shipped", updated_at=T0))
    assert (await client.post("/products/kit/KIT-A", data={
        "csrf_token": csrf, **rows(sku_1="SKU-1", qty_1="3")})).status_code == 303
    assert parts(cloud_engine, "KIT-A") == [("SKU-1", 3)]


async def test_csrf_and_roles(client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    add_products(cloud_engine)
    page = await client.get("/products/sku/KIT-A")
    assert 'id="kit-form"' in page.text and 'id="kit-save"' not in page.text
    csrf = await token(client, "/products/sku/KIT-A")
    refused = await client.post("/products/kit/KIT-A", data={
        "csrf_token": csrf, **rows(sku_1="SKU-1", qty_1="2")})
    assert refused.status_code == 403
    forged = await client.post("/products/kit/KIT-A", data={
        "csrf_token": "forged", **rows(sku_1="SKU-1", qty_1="2")})
    assert forged.status_code == 403
    assert parts(cloud_engine, "KIT-A") == [] and kit_audit(cloud_engine) == []
    assert (await client.post("/products/kit/NOPE", data={"csrf_token": csrf})).status_code == 403


async def test_the_order_page_keeps_the_kit_line_and_shows_its_components(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    add_products(cloud_engine)
    csrf = await token(client, "/products/sku/KIT-A")
    assert (await client.post("/products/kit/KIT-A", data={
        "csrf_token": csrf, **rows(sku_1="SKU-1", qty_1="2", sku_2="SKU-2", qty_2="1")})
            ).status_code == 303
    with cloud_engine.begin() as conn:  # 2 kits bought: 4 × SKU-1 + 2 × SKU-2 to pick
        conn.execute(order_lines.insert().values(
            order_id="pdd-1002", line_no=1, platform_sku_id="P-KITA", qty=2, price_fen=5000,
            sku="KIT-A", sku_qty=2))
    page = await client.get("/orders/pdd-1002")
    assert page.status_code == 200
    assert "KIT-A × 2" in page.text and "保温杯礼盒" in page.text
    assert "组合商品, 按组件拣货: SKU-1×4 + SKU-2×2" in page.text


async def test_a_kit_is_neither_bought_nor_stocked_up_by_hand(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    """A purchase order line or a manual adjustment up of a kit is refused next to its field
    (its components are bought and counted); taking stock off a kit stays possible."""
    await signed_in(client, cloud_engine, Role.MANAGER)
    add_products(cloud_engine)
    csrf = await token(client, "/products/sku/KIT-A")
    assert (await client.post("/products/kit/KIT-A", data={
        "csrf_token": csrf, **rows(sku_1="SKU-1", qty_1="2")})).status_code == 303
    assert (await client.post("/suppliers", data={
        "csrf_token": csrf, "id": "YW01", "name": "义乌日用品厂", "lead_days": "5"})
            ).status_code == 303
    po = await client.post("/purchasing/new", data={
        "csrf_token": csrf, "supplier": "YW01", "warehouse": "WH1", "expected_on": "",
        "lines": "SKU-1 10 1.00\nKIT-A 5 2.00\n", "note": ""})
    assert po.status_code == 400
    assert field_errors(po.text)["lines"] == ["第 2 行: KIT-A 是组合商品, 请采购它的组件"]
    assert count(cloud_engine, purchase_orders) == 0
    up = await client.post("/stock/adjust", data={
        "csrf_token": csrf, "warehouse": "WH1", "sku": "KIT-A", "location": "A-01",
        "qty": "5", "note": "盘盈"})
    assert up.status_code == 400
    assert field_errors(up.text) == {"sku": ["KIT-A 是组合商品, 没有自己的库存: 请调整它的组件"]}
    assert count(cloud_engine, stock_moves, stock_moves.c.sku == "KIT-A") == 0


async def test_searching_orders_by_a_component_finds_the_kit_orders(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    add_products(cloud_engine)
    csrf = await token(client, "/products/sku/KIT-A")
    assert (await client.post("/products/kit/KIT-A", data={
        "csrf_token": csrf, **rows(sku_1="SKU-2", qty_1="1")})).status_code == 303
    with cloud_engine.begin() as conn:
        conn.execute(order_lines.insert().values(
            order_id="pdd-1002", line_no=1, qty=1, price_fen=5000, sku="KIT-A", sku_qty=1))
    page = await client.get("/orders?sku=SKU-2")
    assert page.status_code == 200
    assert "pdd-1002" in page.text and "pdd-1003" not in page.text
    assert "pdd-1002" not in (await client.get("/orders?sku=SKU-1")).text
