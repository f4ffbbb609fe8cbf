"""商品匹配 page against the fake PDD over HTTP: 下载并匹配 reads every listing, maps those
whose 商家编码 is a SKU (no stock push reaches the platform), lists the unmatched with the
platform's quantity, and a SKU chosen by hand maps one (CSRF-protected, audited; a bad SKU is
shown next to the field and nothing is written). Both engines."""

from __future__ import annotations

import re

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.crypto import Sealer
from cloud.db import audit_log, skus, write_transaction
from cloud.db.schema_orders import platform_listings, sku_mappings
from cloud.marketplaces.fake_server import run_fake_platform
from edge.domain.models import Role
from tests.cloud.orders.support import connect_shop
from tests.cloud.web.support import FakeClock, csrf_of, field_errors, signed_in


async def test_a_purchaser_downloads_listings_and_matches_the_rest_by_hand(
        client: httpx.AsyncClient, cloud_engine: Engine, sealer: Sealer,
        clock: FakeClock) -> None:
    running = run_fake_platform("pdd", 0, 201, history_hours=0, orders_per_hour=0.0001)
    try:
        fake = running.fake
        clock.now = fake.clock.now()
        await signed_in(client, cloud_engine, Role.PURCHASER)
        shop_id = await connect_shop(cloud_engine, sealer, running, stock=None,
                                     map_catalog=False, trust_pushes=False)
        with write_transaction(cloud_engine) as conn:  # SKU-0012's code is not a SKU here
            conn.execute(sa.update(skus).where(skus.c.sku == "SKU-0012").values(sku="TOWEL-G"))
        with fake.lock:
            fake.gen.catalog[11].quantity = 37  # what the platform shows now
        page = (await client.get("/listings")).text
        assert "从未下载" in page and f'id="download-{shop_id}"' in page
        csrf = csrf_of(page)

        r = await client.post("/listings/download", data={"shop_id": shop_id})
        assert r.status_code == 403  # no CSRF token: refused, nothing read
        assert fake.calls["pdd.goods.list.get"] == 0
        r = await client.post("/listings/download", data={"csrf_token": csrf,
                                                          "shop_id": shop_id})
        assert r.status_code == 303
        page = (await client.get(r.headers["location"])).text
        assert f"店铺 {shop_id}: 平台商品 12 个, 自动匹配 11 个, 未匹配 1 个" in page
        rows = re.findall(r'<tr id="listing-(\d+)" data-matched="(\w+)"', page)
        assert [m for _id, m in rows] == ["no"]  # only the unmatched are listed
        listing_id = rows[0][0]
        row = page[page.index(f'id="listing-{listing_id}"'):]
        row = row[:row.index("</tr>")]
        assert "SKU-0012" in row and "1000000011" in row
        assert '<span class="platform-qty">37</span>' in row
        assert fake.stock_pushes == []

        r = await client.post("/listings/match", data={"csrf_token": csrf,
                                                       "listing_id": listing_id, "sku": "NOPE"})
        assert r.status_code == 400
        assert "商品 NOPE 不存在" in " ".join(field_errors(r.text)["sku"])
        r = await client.post("/listings/match", data={"csrf_token": csrf,
                                                       "listing_id": listing_id,
                                                       "sku": "TOWEL-G", "shop": shop_id})
        assert r.status_code == 303
        page = (await client.get(r.headers["location"])).text
        assert "没有未匹配的平台商品" in page
        everything = (await client.get("/listings?all=1")).text
        assert len(re.findall(r'data-matched="yes"', everything)) == 12
        with cloud_engine.connect() as conn:
            assert conn.execute(sa.select(sku_mappings.c.sku).where(
                sku_mappings.c.platform_sku_id == "1000000011")).scalar() == "TOWEL-G"
            assert conn.execute(sa.select(sa.func.count()).select_from(
                platform_listings)).scalar() == 12
            assert conn.execute(sa.select(audit_log.c.action, audit_log.c.actor).where(
                audit_log.c.action.in_(["listings.download", "mapping.create"]))
                .order_by(audit_log.c.id)).all() == [
                ("listings.download", "u-purchaser"), ("mapping.create", "u-purchaser")]
        assert fake.stock_pushes == []  # the first push is still the manager's call
    finally:
        running.stop()


async def test_a_lead_sees_the_listings_but_cannot_match(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    page = await client.get("/listings")
    assert page.status_code == 200 and "下载并匹配" not in page.text
    csrf = csrf_of(page.text)
    r = await client.post("/listings/match", data={"csrf_token": csrf, "listing_id": "1",
                                                   "sku": "X"})
    assert r.status_code == 403
