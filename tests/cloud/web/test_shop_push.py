"""首次推送预览 in the web app (#17): each pushed listing with the platform's quantity at the
last download, what Packline last pushed, what it would push now and why — figures written
out by hand below — the listings a push would take off sale, and the manager's
confirmation (audited), on both engines."""

from __future__ import annotations

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.crypto import Sealer
from cloud.db import audit_log, skus, write_transaction
from cloud.db.schema_orders import platform_listings, shop_config
from cloud.ledger_store import insert_moves
from cloud.orders.stock_push import add_mapping
from cloud.shops import add_shop
from edge.domain.models import Role
from tests.cloud.helpers import make_move
from tests.cloud.web.support import T0, cells, csrf_of, signed_in

# PUSH-1: 30 on hand in WH1, buffer 5 → would push 30 − 5 = 25 (the platform shows 40).
# PUSH-2: nothing on hand → would push 0: off sale (the platform shows 8).


def _shop(engine: Engine, sealer: Sealer) -> str:
    with write_transaction(engine) as conn:
        shop_id = add_shop(conn, sealer, platform="pdd", name="新店", app_key="k",
                           app_secret="s", gateway_url="http://127.0.0.1:9", now=T0,
                           default_warehouse_id="WH1")
        conn.execute(sa.insert(skus), [{"sku": "PUSH-1", "name_zh": "保温杯"},
                                      {"sku": "PUSH-2", "name_zh": "雨伞"}])
        insert_moves(conn, [make_move(500, sku="PUSH-1", qty_delta=30, balance_after=30)])
        add_mapping(conn, shop_id, item_id="7001", sku_id="70011", sku="PUSH-1",
                    buffer_units=5, now=T0)
        add_mapping(conn, shop_id, item_id="7002", sku_id="70021", sku="PUSH-2", now=T0)
        conn.execute(sa.insert(platform_listings), [
            {"shop_id": shop_id, "item_id": "7001", "sku_id": "70011", "outer_id": "PUSH-1",
             "title": "保温杯 500ml", "quantity": 40, "fetched_at": T0},
            {"shop_id": shop_id, "item_id": "7002", "sku_id": "70021", "outer_id": "PUSH-2",
             "title": "折叠伞", "quantity": 8, "fetched_at": T0}])
    return shop_id


async def test_the_preview_then_the_confirmation(client: httpx.AsyncClient, cloud_engine: Engine,
                                                 sealer: Sealer) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    shop_id = _shop(cloud_engine, sealer)
    shops_page = (await client.get("/shops")).text
    assert f'href="/shops/{shop_id}/push"' in shops_page
    page = await client.get(f"/shops/{shop_id}/push")
    assert page.status_code == 200
    assert 'data-confirmed="0"' in page.text and "2 个商品中 1 个将推送为 0" in page.text
    assert cells(page.text, "push-preview") == [
        ["7001", "70011", "保温杯 500ml", "PUSH-1", "40", "—", "25",
         "在库 30 − 占用 0 → 份额 30 − 保留 5"],
        ["7002", "70021", "折叠伞", "PUSH-2", "8", "—", "0 下架",
         "在库 0 − 占用 0 → 份额 0 − 保留 0"]]
    csrf = csrf_of(page.text)
    bad = await client.post(f"/shops/{shop_id}/push/confirm",
                            data={"csrf_token": csrf, "cut_percent": "150"})
    assert bad.status_code == 400 and "应为 1–100 的整数" in bad.text
    with cloud_engine.connect() as conn:
        assert conn.execute(sa.select(shop_config.c.push_confirmed_at).where(
            shop_config.c.shop_id == shop_id)).scalar() is None
    done = await client.post(f"/shops/{shop_id}/push/confirm",
                             data={"csrf_token": csrf, "cut_percent": "30"})
    assert done.status_code == 303
    after = (await client.get(f"/shops/{shop_id}/push")).text
    assert 'data-confirmed="1"' in after and "下调到 0 或超过 30% 需批准" in after
    with cloud_engine.connect() as conn:
        row = conn.execute(sa.select(audit_log.c.actor, audit_log.c.detail).where(
            audit_log.c.action == "stock_push.confirm")).one()
    assert row.actor == "u-manager"
    assert row.detail == {"push_confirmed_by": "u-manager", "push_trust": False,
                          "push_cut_percent": 30}


async def test_finance_cannot_see_or_confirm(client: httpx.AsyncClient, cloud_engine: Engine,
                                             sealer: Sealer) -> None:
    await signed_in(client, cloud_engine, Role.FINANCE)
    shop_id = _shop(cloud_engine, sealer)
    assert (await client.get(f"/shops/{shop_id}/push")).status_code == 403
    assert (await client.post(f"/shops/{shop_id}/push/confirm", data={})).status_code == 403
