"""卖家备注 from the order page, through the real PDD client to the fake platform over HTTP:
the note and flag reach the platform's order, then are kept here with who and when; too
long a note, or the platform's refusal, is shown next to the field and nothing changes."""

from __future__ import annotations

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.crypto import Sealer
from cloud.db.schema import audit_log
from cloud.db.schema_orders import order_events, orders
from cloud.marketplaces.fake_server import run_fake_platform
from cloud.marketplaces.generator import Phase
from cloud.orders.worker import Worker, WorkerSettings
from edge.domain.models import Role
from tests.cloud.orders.support import connect_shop
from tests.cloud.web.support import csrf_of, field_errors, signed_in


async def test_a_lead_writes_a_seller_note_to_the_platform(
        client: httpx.AsyncClient, cloud_engine: Engine, sealer: Sealer) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    running = run_fake_platform("pdd", 0, 81, history_hours=2, orders_per_hour=30)
    try:
        fake = running.fake
        shop_id = await connect_shop(cloud_engine, sealer, running, map_catalog=False,
                                     stock=None)
        async with Worker(cloud_engine, sealer, settings=WorkerSettings(
                listen_push=False)) as worker:
            assert (await worker.tick(shop_id)).error == ""
        awaiting = {o.order_id for o in fake.orders() if o.phase is Phase.AWAITING}
        with cloud_engine.connect() as conn:
            order_id, platform_id = next(
                (r.id, r.platform_order_id) for r in conn.execute(
                    sa.select(orders.c.id, orders.c.platform_order_id).where(
                        orders.c.shop_id == shop_id).order_by(orders.c.id))
                if r.platform_order_id in awaiting)
        page = (await client.get(f"/orders/{order_id}")).text
        assert 'id="seller-note-form"' in page
        csrf = csrf_of(page)
        url = f"/orders/{order_id}/seller-note"

        r = await client.post(url, data={"csrf_token": csrf, "seller_note": "长" * 301,
                                         "flag": "2"})
        assert r.status_code == 400 and "seller_note" in field_errors(r.text)
        assert fake.order(platform_id).seller_note == ""

        r = await client.post(url, data={"csrf_token": csrf, "seller_note": " 周五后发 ",
                                         "flag": "2"})
        assert r.status_code == 303
        truth = fake.order(platform_id)
        assert (truth.seller_note, truth.seller_flag) == ("周五后发", 2)
        with cloud_engine.connect() as conn:
            assert conn.execute(sa.select(orders.c.seller_note).where(
                orders.c.id == order_id)).scalar() == "周五后发"
            assert conn.execute(sa.select(order_events.c.actor, order_events.c.action,
                                          order_events.c.reason).where(
                order_events.c.order_id == order_id)).all() == [
                ("u-warehouse-lead", "seller_note", "[2] 周五后发")]
            assert conn.execute(sa.select(sa.func.count()).select_from(audit_log).where(
                audit_log.c.action == "order.seller_note")).scalar() == 1
        assert "周五后发" in (await client.get(f"/orders/{order_id}")).text

        with fake.lock:  # the platform no longer knows the order: its refusal is shown
            del fake.gen.orders[platform_id]
        r = await client.post(url, data={"csrf_token": csrf, "seller_note": "再改", "flag": "1"})
        assert r.status_code == 400
        assert "订单不存在" in " ".join(field_errors(r.text)["seller_note"])
        with cloud_engine.connect() as conn:
            assert conn.execute(sa.select(orders.c.seller_note).where(
                orders.c.id == order_id)).scalar() == "周五后发"
    finally:
        running.stop()
