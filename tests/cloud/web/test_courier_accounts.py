"""快递账号: a manager fetches a shop's courier subscriptions and templates from the fake
platform over real HTTP, chooses a sender address and template (CSRF, audited, errors next
to the fields, nothing half-written), and the next waybill taken for an order carries that
sender and template to the platform and, through the pack task, onto the station's label.
Runs on SQLite and PostgreSQL (the ``cloud_engine`` fixture)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from PIL import Image
from sqlalchemy.engine import Engine

from cloud.crypto import Sealer
from cloud.db.schema import audit_log, downlink_outbox
from cloud.db.schema_couriers import courier_accounts, courier_choices, courier_templates
from cloud.db.schema_orders import waybills
from cloud.marketplaces.fake_server import run_fake_platform
from cloud.orders.worker import Worker, WorkerSettings
from edge.domain.models import Role
from edge.hardware.fakes import parse_tspl
from edge.store import open_store
from edge.store.packing import PackingWriter, StoreOrderSource
from edge.sync.inbox import apply_task
from edge.sync.schema import TaskWire
from edge.ui import printouts
from tests.cloud.orders.support import connect_shop, seed_warehouses
from tests.cloud.web.support import add_users, csrf_of, field_errors, login, signed_in

pytestmark = pytest.mark.timeout(60)

XIAOSHAN = "宁围街道 88 号 二号仓"
"""The second sender address of the fake's ZTO branch (``fake_server._default_subscriptions``)."""

CUSTOM = "https://cloudprint.cainiao.com/template/custom/4711"
"""A custom-area template URL."""


def _station_label_texts(tmp_path: Path, payload: dict[str, object]) -> list[str]:
    """Apply the task at a fresh station and return the TEXT contents of its label."""
    store = open_store(tmp_path / "edge.db", station_id="ST1")
    try:
        task = TaskWire.model_validate(payload)
        apply_task(store.writer, task)
        order = StoreOrderSource(store.queries).order(task.order_id)
        assert order is not None
        facts = PackingWriter(store.writer).print_facts(task.order_id)
        facts.update(now=datetime(2026, 12, 4, 4, 5, tzinfo=UTC),
                     tz=timezone(timedelta(hours=8)))
        job = printouts.waybill(order, facts)
    finally:
        store.close()
    return [c.args[-1] for c in parse_tspl(job) if c.name == "TEXT"]


@pytest.mark.parametrize("platform", ["pdd", "taobao"])
async def test_manager_chooses_sender_and_the_label_carries_it(
        client: httpx.AsyncClient, cloud_engine: Engine, sealer: Sealer, tmp_path: Path,
        platform: str) -> None:
    add_users(cloud_engine)  # no seed_data: the orders' warehouses come from seed_warehouses
    assert (await login(client, "u-manager")).status_code == 303
    running = run_fake_platform(platform, 0, 91, history_hours=0, orders_per_hour=0.0001)
    try:
        fake = running.fake
        seed_warehouses(cloud_engine)
        shop_id = await connect_shop(cloud_engine, sealer, running)
        listing = (await client.get("/shops/couriers")).text
        assert f'href="/shops/{shop_id}/couriers"' in listing
        page = (await client.get(f"/shops/{shop_id}/couriers")).text
        assert 'id="never"' in page
        csrf = csrf_of(page)

        r = await client.post(f"/shops/{shop_id}/couriers/refresh", data={"csrf_token": csrf})
        assert r.status_code == 303
        with cloud_engine.connect() as conn:
            accounts = conn.execute(sa.select(
                courier_accounts.c.carrier_code, courier_accounts.c.branch_code,
                courier_accounts.c.quantity).where(courier_accounts.c.shop_id == shop_id)
                .order_by(courier_accounts.c.carrier_code)).all()
            n_templates = conn.execute(sa.select(sa.func.count()).select_from(
                courier_templates).where(courier_templates.c.shop_id == shop_id)).scalar()
        assert accounts == [("YTO", "571088", 100_000), ("ZTO", "571001", 100_000)]
        assert n_templates == 4  # 76×130 and 100×180 of each subscribed courier
        page = (await client.get(f"/shops/{shop_id}/couriers")).text
        assert 'id="courier-ZTO"' in page and "中通杭州余杭网点" in page and XIAOSHAN in page

        url = f"/shops/{shop_id}/couriers/choose"
        r = await client.post(url, data={"csrf_token": csrf, "carrier": "ZTO",
                                         "address": "571001|7", "template": "nope",
                                         "custom_area_url": "ftp://x"})
        assert r.status_code == 400
        assert set(field_errors(r.text)) == {"address", "template", "custom_area_url"}
        r = await client.post(url, data={"carrier": "ZTO", "address": "571001|1",
                                         "template": "50002"})  # no CSRF token
        assert r.status_code == 403
        with cloud_engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(
                courier_choices)).scalar() == 0
        # ZTO's 100×180 template: id 10000 × (carrier index + 1) + 2; ZTO is the PDD fake's
        # 5th carrier (50002) and the TOP fake's 1st (10002)
        large = "50002" if platform == "pdd" else "10002"
        r = await client.post(url, data={"csrf_token": csrf, "carrier": "ZTO",
                                         "address": "571001|1", "template": large,
                                         "custom_area_url": CUSTOM})
        assert r.status_code == 303
        with cloud_engine.connect() as conn:
            choice = conn.execute(sa.select(courier_choices)).one()
            actions = conn.execute(sa.select(audit_log.c.actor, audit_log.c.action).where(
                audit_log.c.action.like("courier.%")).order_by(audit_log.c.id)).all()
        assert (choice.branch_code, choice.district, choice.detail) == (
            "571001", "萧山区", XIAOSHAN)
        assert choice.template_url.endswith(large)
        assert choice.custom_area_url == CUSTOM
        assert actions == [("u-manager", "courier.refresh"), ("u-manager", "courier.choose")]
        page = (await client.get(f"/shops/{shop_id}/couriers")).text
        assert 'value="571001|1" checked' in page and f'value="{large}" selected' in page
        assert f'value="{CUSTOM}"' in page
        assert 'id="preview-ZTO"' in page
        png = await client.get(f"/shops/{shop_id}/couriers/preview.png?carrier=ZTO")
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(png.content)).size == (800, 1440)  # 100×180 mm × 8 dots
        none = await client.get(f"/shops/{shop_id}/couriers/preview.png?carrier=YTO")
        assert none.status_code == 400  # nothing chosen for YTO
        await client.post("/lang", data={"csrf_token": csrf, "lang": "en", "next": "/"})
        assert "Courier accounts of" in (await client.get(f"/shops/{shop_id}/couriers")).text

        with fake.lock:  # an order to take a waybill for
            order = fake.gen.new_order(fake.now() - 600)
            order.buyer_note = ""
            order.risk_review = False
            province = "江苏省"
            order.receiver.province = province
        async with Worker(cloud_engine, sealer, settings=WorkerSettings(
                listen_push=False, poll_refunds=False), clock=fake.clock.now) as worker:
            assert (await worker.tick(shop_id)).error == ""
        issued = fake.waybills[-1]
        assert issued.sender["address"] == {  # type: ignore[comparison-overlap]
            "province": "浙江省", "city": "杭州市", "district": "萧山区", "detail": XIAOSHAN}
        assert issued.template_url == choice.template_url
        with cloud_engine.connect() as conn:
            wb = conn.execute(sa.select(waybills)).one()
            [payload] = conn.execute(sa.select(downlink_outbox.c.payload).where(
                downlink_outbox.c.kind == "task")).scalars().all()
        assert wb.waybill_no == issued.number
        label = payload["label"]
        assert (label["carrier_name"], label["sender_address"]) == (
            "中通快递", "浙江省杭州市萧山区" + XIAOSHAN)
        routed = ("200-B12", "苏州集包中心") if platform == "taobao" else ("", "")
        assert (label["sort_code"], label["package_centre"]) == routed
        assert payload["print_data"]["print_data"] == wb.print_data  # forwarded unchanged

        texts = _station_label_texts(tmp_path, payload)
        assert texts[0] == "中通快递"
        assert f"寄: {label['sender_name']} {label['sender_phone']}" in texts
        assert "浙江省杭州市萧山区" + XIAOSHAN in texts
        assert "打印: 2026-12-04 12:05" in texts
        if platform == "taobao":
            assert "200-B12" in texts and "集包地: 苏州集包中心" in texts
    finally:
        running.stop()


async def test_refresh_of_a_shop_the_platform_cannot_reach_changes_nothing(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.ADMIN)
    page = (await client.get("/shops/shop-pdd/couriers")).text
    r = await client.post("/shops/shop-pdd/couriers/refresh",
                          data={"csrf_token": csrf_of(page)})
    assert r.status_code == 400 and 'id="form-problems"' in r.text
    assert (await client.get("/shops/no-such/couriers")).status_code == 404
    with cloud_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(
            courier_accounts)).scalar() == 0
