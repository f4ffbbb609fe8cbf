"""``pdd.pop.auth.token.create`` / ``pdd.pop.auth.token.refresh`` on the fake PDD gateway
(spec §1.6): the documented request (business param ``code`` / ``refresh_token``, signed
like every gateway call, no ``access_token``) and response (root
``pop_auth_token_create_response`` / ``pop_auth_token_refresh_response`` with the token
fields); the platform's error JSON for bad, used and revoked codes and refresh tokens and
for malformed input; and the PDD client using them (code exchange and token refresh)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from cloud.marketplaces import pdd
from cloud.marketplaces.base import Token
from cloud.marketplaces.errors import AuthorizationRefused, BusinessError
from cloud.marketplaces.fake_server import RunningFake
from cloud.marketplaces.http import TokenManager
from cloud.marketplaces.pdd import PddClient, pdd_sign
from tests.cloud.marketplaces.mp_support import fast_retry, pdd_config

TOKEN_FIELDS = {
    "access_token", "expires_at", "expires_in", "refresh_token", "refresh_token_expires_at",
    "refresh_token_expires_in", "owner_id", "owner_name", "scope",
    "r1_expires_at", "r1_expires_in", "r2_expires_at", "r2_expires_in",
    "w1_expires_at", "w1_expires_in", "w2_expires_at", "w2_expires_in"}
"""The token fields §1.6 lists [S1]."""


def gateway(running: RunningFake, api: str, **business: str) -> dict[str, Any]:
    """One signed form POST to the fake gateway, as the Node SDK sends it."""
    s = running.fake.settings
    params = {"type": api, "client_id": s.app_key, "data_type": "JSON", "version": "V1",
              "timestamp": str(int(running.fake.clock.now())), **business}
    params["sign"] = pdd_sign({k: v for k, v in params.items() if v != ""}, s.app_secret)
    body: dict[str, Any] = httpx.post(running.base_url + "/api/router", data=params).json()
    return body


def code_of(running: RunningFake) -> str:
    """The merchant approved on the consent page: a one-use code."""
    with running.fake.lock:
        return running.fake.tokens.grant_code()


def test_token_create_and_refresh_answer_the_documented_fields(serve: Any) -> None:
    running = serve("pdd", seed=171, access_ttl=3600, refresh_ttl=86400)
    fake = running.fake
    now = int(fake.clock.now())
    created = gateway(running, "pdd.pop.auth.token.create", code=code_of(running))
    body = created["pop_auth_token_create_response"]
    assert set(body) == TOKEN_FIELDS
    assert body["owner_id"] == "100200300" and body["owner_name"] == "模拟店铺"
    assert now + 3600 - 2 <= body["expires_at"] <= now + 3600 + 2
    assert 3600 - 2 <= body["expires_in"] <= 3600
    assert now + 86400 - 2 <= body["refresh_token_expires_at"] <= now + 86400 + 2
    assert "pdd.pop.auth.token.refresh" in body["scope"]
    assert fake.tokens.check(body["access_token"]) == "ok"

    refreshed = gateway(running, "pdd.pop.auth.token.refresh",
                        refresh_token=body["refresh_token"])["pop_auth_token_refresh_response"]
    assert set(refreshed) == TOKEN_FIELDS
    assert refreshed["access_token"] != body["access_token"]
    assert fake.tokens.check(refreshed["access_token"]) == "ok"
    assert fake.tokens.check(body["access_token"]) == "unknown"  # the old pair is used up
    assert fake.tokens.refreshes == 1


def test_token_apis_refuse_bad_input_with_the_platforms_error_json(serve: Any) -> None:
    running = serve("pdd", seed=172)
    fake = running.fake
    code = code_of(running)
    first = gateway(running, "pdd.pop.auth.token.create", code=code)
    assert "pop_auth_token_create_response" in first

    def error(body: dict[str, Any]) -> tuple[int, str]:
        err = body["error_response"]
        assert set(err) == {"error_code", "error_msg", "sub_code", "sub_msg", "request_id"}
        return err["error_code"], err["sub_msg"]

    used = gateway(running, "pdd.pop.auth.token.create", code=code)
    assert error(used) == (20032, "授权码无效、已使用或已过期")
    assert error(gateway(running, "pdd.pop.auth.token.create", code="made-up")) == (
        20032, "授权码无效、已使用或已过期")
    assert error(gateway(running, "pdd.pop.auth.token.create")) == (10000, "code 不能为空")
    assert error(gateway(running, "pdd.pop.auth.token.refresh")) == (
        10000, "refresh_token 不能为空")
    assert error(gateway(running, "pdd.pop.auth.token.refresh", refresh_token="rt-nope")) == (
        20032, "refresh_token 无效或已使用")
    fake.revoke_authorisation()  # the merchant cancels the app in the PDD backend
    refresh = first["pop_auth_token_create_response"]["refresh_token"]
    assert error(gateway(running, "pdd.pop.auth.token.refresh", refresh_token=refresh)) == (
        20032, "商家已取消授权, 需重新授权")
    # JSON body with a nested object where a string belongs: still the error JSON, not a 500
    s = fake.settings
    params = {"type": "pdd.pop.auth.token.refresh", "client_id": s.app_key,
              "timestamp": str(int(fake.clock.now())), "refresh_token": "{\"a\":1}"}
    params["sign"] = pdd_sign(params, s.app_secret)
    r = httpx.post(running.base_url + "/api/router", json={**params, "refresh_token": {"a": 1}})
    assert r.status_code == 200 and r.json()["error_response"]["error_code"] == 20032
    bad_sign = httpx.post(running.base_url + "/api/router", data={**params, "sign": "0" * 32})
    assert bad_sign.json()["error_response"]["error_code"] == 20004
    # approving again ends the revocation
    again = gateway(running, "pdd.pop.auth.token.create", code=code_of(running))
    token = again["pop_auth_token_create_response"]
    assert fake.tokens.check(token["access_token"]) == "ok"
    assert "pop_auth_token_refresh_response" in gateway(
        running, "pdd.pop.auth.token.refresh", refresh_token=token["refresh_token"])


async def test_the_client_exchanges_codes_and_refreshes_through_the_gateway(
        serve: Any, http: httpx.AsyncClient) -> None:
    running = serve("pdd", seed=173)
    fake = running.fake
    config = pdd_config(running)
    token = await pdd.exchange_code(config, http, code_of(running), clock=fake.clock.now)
    assert fake.calls["pdd.pop.auth.token.create"] == 1
    assert fake.tokens.check(token.access_token) == "ok"
    assert token.owner_id == "100200300"
    assert token.refresh_expires_at > token.expires_at

    tokens = TokenManager(PddClient.token_refresher(config, http, clock=fake.clock.now),
                          clock=fake.clock.now)
    tokens.set(fake.settings.shop_id, token)
    client = PddClient(config, fake.settings.shop_id, tokens, http=http,
                       clock=fake.clock.now, retry=fast_retry())
    fake.expire_token(token.access_token)
    await client.server_time()  # no token needed
    await client.list_orders(*_window(fake))  # 10019 → pdd.pop.auth.token.refresh → retry
    assert fake.calls["pdd.pop.auth.token.refresh"] == 1
    fresh = tokens.current(fake.settings.shop_id)
    assert fresh.access_token != token.access_token
    assert fake.tokens.check(fresh.access_token) == "ok"

    fake.revoke_authorisation()
    with pytest.raises(AuthorizationRefused) as refused:
        await tokens.refresh(fake.settings.shop_id, fresh)
    assert (refused.value.code, refused.value.message) == ("20032", "商家已取消授权, 需重新授权")
    with pytest.raises(BusinessError):  # a wrong secret is the app's fault, not a refusal
        await pdd.exchange_code(pdd_config(running, secret="bad"), http, code_of(running),
                                clock=fake.clock.now)


def _window(fake: Any) -> tuple[Any, Any]:
    from datetime import UTC, datetime, timedelta

    end = datetime.fromtimestamp(fake.clock.now(), UTC)
    return end - timedelta(minutes=20), end


def test_the_token_helper_reads_expires_in_when_expires_at_is_missing() -> None:
    token = pdd.parse_token({"access_token": "a", "refresh_token": "r", "expires_in": 100,
                             "refresh_token_expires_in": 1000, "owner_id": "9"}, 5000.0)
    assert token == Token("a", "r", 5100.0, 6000.0, "9")
