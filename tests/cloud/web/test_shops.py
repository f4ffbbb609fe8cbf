"""店铺授权 page: each shop's authorisation (authorised until …, expiring within N days,
expired, revoked) and the consent flow from the browser, in-process against the fake PDD's
consent page: 授权 stores a state in the session and goes to the platform, the merchant
approves, the platform's redirect comes back to ``/shops/callback`` where the state is
checked (a forged or replayed callback is refused, nothing stored), the code is exchanged
through ``pdd.pop.auth.token.create`` and an audit entry written. A revocation on the
platform shows once the refresh fails with the platform's error."""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.crypto import Sealer
from cloud.db import write_transaction
from cloud.db.schema import audit_log, shops
from cloud.db.schema_orders import shop_config
from cloud.marketplaces.fake_server import run_fake_platform
from cloud.shops import AuthState, add_shop, authorisation_state
from edge.domain.models import Role
from tests.cloud.web.support import FakeClock, csrf_of, signed_in

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
"""A fixed 'now' for the classification table."""


def test_authorisation_states_by_hand() -> None:
    day = timedelta(days=1)
    assert authorisation_state("new", None, None, T) == AuthState("none", None)
    assert authorisation_state("active", T + 2 * day, T + 30 * day, T) == AuthState(
        "active", T + 30 * day, 30)
    # refresh token ends in 6.5 days: within the 7-day window, 7 days rounded up
    assert authorisation_state("active", T + day, T + 6 * day + day / 2, T) == AuthState(
        "expiring", T + 6 * day + day / 2, 7)
    # no refresh token (Taobao 商家后台 apps): the access token's expiry is the end
    assert authorisation_state("active", T + 8 * day, None, T) == AuthState(
        "active", T + 8 * day, 8)
    assert authorisation_state("active", T - day, T - 1 * day / 24, T) == AuthState(
        "expired", T - day / 24)
    assert authorisation_state("reauth", T + day, T + 9 * day, T) == AuthState(
        "expired", T + 9 * day)
    assert authorisation_state("revoked", T + day, T + 9 * day, T) == AuthState(
        "revoked", T + 9 * day)


def row_of(html: str, shop_id: str) -> str:
    start = html.index(f'id="shop-{shop_id}"')
    return html[start:html.index("</tr>", start)]


async def test_a_manager_authorises_a_shop_through_the_platforms_consent_page(
        client: httpx.AsyncClient, cloud_engine: Engine, sealer: Sealer,
        clock: FakeClock) -> None:
    running = run_fake_platform("pdd", 0, 177, history_hours=0, orders_per_hour=0.0001,
                                access_ttl=86400, refresh_ttl=30 * 86400)
    try:
        fake = running.fake
        clock.now = fake.clock.now()  # the app signs its token calls with its own clock
        await signed_in(client, cloud_engine, Role.MANAGER)
        with write_transaction(cloud_engine) as conn:
            shop_id = add_shop(conn, sealer, platform="pdd", name="授权测试店",
                               app_key=fake.settings.app_key,
                               app_secret=fake.settings.app_secret,
                               gateway_url=running.base_url, now=clock.dt())
        page = (await client.get("/shops")).text
        row = row_of(page, shop_id)
        assert 'data-auth="none"' in row and "未授权" in row
        assert f'href="/shops/{shop_id}/authorize"' in row

        # a callback nobody started is refused; nothing is stored
        r = await client.get("/shops/callback", params={"code": "x", "state": "forged"})
        assert r.status_code == 400 and "state 不符" in r.text

        r = await client.get(f"/shops/{shop_id}/authorize")
        assert r.status_code == 303
        consent = r.headers["location"]
        assert consent.startswith(f"{running.base_url}/oauth/authorize?")
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(consent).query))
        assert query["redirect_uri"] == "http://testserver/shops/callback"
        assert query["client_id"] == fake.settings.app_key and len(query["state"]) >= 32

        shown = httpx.get(consent)  # the merchant sees the platform's consent page …
        assert shown.status_code == 200 and "同意授权" in shown.text
        approved = httpx.post(f"{running.base_url}/oauth/authorize", data=query,
                              follow_redirects=False)  # … and approves
        assert approved.status_code == 302
        back = urllib.parse.urlsplit(approved.headers["location"])
        assert back.path == "/shops/callback"

        wrong = dict(urllib.parse.parse_qsl(back.query))
        r = await client.get("/shops/callback", params={**wrong, "state": "other"})
        assert r.status_code == 400  # right code, wrong state: refused (and the state is spent)
        with cloud_engine.connect() as conn:
            assert conn.execute(sa.select(shop_config.c.status).where(
                shop_config.c.shop_id == shop_id)).scalar() == "new"

        r = await client.get(f"/shops/{shop_id}/authorize")  # start again
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.headers["location"]).query))
        approved = httpx.post(f"{running.base_url}/oauth/authorize", data=query,
                              follow_redirects=False)
        callback = urllib.parse.urlsplit(approved.headers["location"])
        r = await client.get(f"{callback.path}?{callback.query}")
        assert r.status_code == 303 and r.headers["location"] == "/shops"
        assert fake.calls["pdd.pop.auth.token.create"] == 1
        with cloud_engine.connect() as conn:
            status, seller = conn.execute(
                sa.select(shop_config.c.status, shops.c.seller_id)
                .join(shops, shops.c.id == shop_config.c.shop_id)
                .where(shop_config.c.shop_id == shop_id)).one()
            assert (status, seller) == ("active", "100200300")
            assert conn.execute(sa.select(audit_log.c.actor, audit_log.c.action,
                                          audit_log.c.subject).where(
                audit_log.c.action.like("shop.%"))).all() == [
                ("u-manager", "shop.authorized", shop_id)]
        page = (await client.get("/shops")).text
        assert "店铺 " + shop_id + " 已授权" in page
        row = row_of(page, shop_id)
        assert 'data-auth="active"' in row and "有效至" in row and "重新授权" in row
        # the same callback again: the state was used
        r = await client.get(f"{callback.path}?{callback.query}")
        assert r.status_code == 400
        assert fake.calls["pdd.pop.auth.token.create"] == 1

        # three days before the refresh token ends: expiring, with the days left
        with write_transaction(cloud_engine) as conn:
            conn.execute(sa.update(shops).where(shops.c.id == shop_id).values(
                refresh_expires_at=clock.dt() + timedelta(days=3)))
        row = row_of((await client.get("/shops")).text, shop_id)
        assert 'data-auth="expiring"' in row and "3 天内到期" in row

        # 检查授权 while it holds: the token is refreshed through the gateway
        csrf = csrf_of(page)
        r = await client.post(f"/shops/{shop_id}/check", data={"csrf_token": csrf})
        assert r.status_code == 303
        assert fake.calls["pdd.pop.auth.token.refresh"] == 1
        row = row_of((await client.get("/shops")).text, shop_id)
        assert 'data-auth="active"' in row  # the new refresh token lasts 30 days

        fake.revoke_authorisation()  # the merchant cancels the app in the PDD backend
        r = await client.post(f"/shops/{shop_id}/check", data={"csrf_token": csrf})
        assert r.status_code == 303
        page = (await client.get("/shops")).text
        assert "授权已被取消" in page
        row = row_of(page, shop_id)
        assert 'data-auth="revoked"' in row and "已被取消" in row
        assert "平台答复: 20032: 商家已取消授权, 需重新授权" in row
        assert "重新授权" in row
        with cloud_engine.connect() as conn:
            assert conn.execute(sa.select(audit_log.c.actor, audit_log.c.detail).where(
                audit_log.c.action == "shop.revoked")).all() == [
                ("u-manager", {"reason": "20032: 商家已取消授权, 需重新授权"})]

        # authorising again ends it
        r = await client.get(f"/shops/{shop_id}/authorize")
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.headers["location"]).query))
        approved = httpx.post(f"{running.base_url}/oauth/authorize", data=query,
                              follow_redirects=False)
        callback = urllib.parse.urlsplit(approved.headers["location"])
        assert (await client.get(f"{callback.path}?{callback.query}")).status_code == 303
        row = row_of((await client.get("/shops")).text, shop_id)
        assert 'data-auth="active"' in row

        await client.post("/lang", data={"csrf_token": csrf, "lang": "en"})
        page = (await client.get("/shops")).text
        assert "Shop authorisation" in page and "Authorise again" in page
    finally:
        running.stop()


async def test_a_lead_cannot_see_or_start_an_authorisation(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    assert (await client.get("/shops")).status_code == 403
    assert (await client.get("/shops/pdd1/authorize")).status_code == 403
    assert (await client.get("/shops/callback?code=x&state=y")).status_code == 403


@pytest.mark.parametrize(("platform", "reason"), [
    ("pdd", "20032: 商家已取消授权, 需重新授权"),
    ("taobao", "invalid_grant: 用户已取消对应用的授权"),
])
async def test_the_worker_finds_a_revoked_authorisation_and_the_page_shows_it(
        client: httpx.AsyncClient, cloud_engine: Engine, sealer: Sealer,
        clock: FakeClock, platform: str, reason: str) -> None:
    from cloud.orders.worker import Worker, WorkerSettings
    from tests.cloud.orders.support import connect_shop

    running = run_fake_platform(platform, 0, 178, history_hours=0, orders_per_hour=0.0001)
    try:
        fake = running.fake
        clock.now = fake.clock.now()
        await signed_in(client, cloud_engine, Role.ADMIN)
        shop_id = await connect_shop(cloud_engine, sealer, running, stock=None)
        settings = WorkerSettings(listen_push=False, poll_refunds=False, http_timeout=1.0)
        async with Worker(cloud_engine, sealer, settings=settings,
                          clock=fake.clock.now) as worker:
            assert (await worker.tick(shop_id)).error == ""
            fake.revoke_authorisation()
            fake.advance(400)               # the next order window comes due
            report = await worker.tick(shop_id)
        assert report.error != "", report
        with cloud_engine.connect() as conn:
            assert conn.execute(sa.select(shop_config.c.status).where(
                shop_config.c.shop_id == shop_id)).scalar() == "revoked"
            assert conn.execute(sa.select(audit_log.c.actor, audit_log.c.detail).where(
                audit_log.c.action == "shop.revoked")).all() == [
                ("worker", {"reason": reason})]
        row = row_of((await client.get("/shops")).text, shop_id)
        assert 'data-auth="revoked"' in row and reason.split(": ")[1] in row and "重新授权" in row
    finally:
        running.stop()
