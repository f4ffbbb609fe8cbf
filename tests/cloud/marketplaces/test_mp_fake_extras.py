"""Fake platform details: body encodings, settings for open questions, generator, CLI."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import httpx
import pytest

from cloud.marketplaces.errors import BusinessError, MarketplaceError, RateLimited
from cloud.marketplaces.fake_server import make_fake
from cloud.marketplaces.generator import Phase, SimClock
from cloud.marketplaces.http import RetryPolicy
from cloud.marketplaces.pdd import pdd_sign
from tests.cloud.marketplaces.mp_support import pdd_client

pytestmark = pytest.mark.timeout(30)


def _signed(fake, **params: str) -> dict[str, str]:
    s = fake.settings
    out = {"client_id": s.app_key, "timestamp": str(fake.now()), "data_type": "JSON",
           "version": "V1", **params}
    out["sign"] = pdd_sign(out, s.app_secret)
    return out


@pytest.mark.parametrize("encoding", ["json", "form", "multipart", "query"])
async def test_pdd_fake_accepts_all_sdk_encodings(serve, encoding: str) -> None:
    running = serve("pdd", seed=50)
    params = _signed(running.fake, type="pdd.time.get")
    url = running.base_url + "/api/router"
    async with httpx.AsyncClient() as raw:
        if encoding == "json":
            response = await raw.post(url, json=params)
        elif encoding == "form":
            response = await raw.post(url, data=params)
        elif encoding == "multipart":
            response = await raw.post(url, data=params, files={"dummy": ("", b"")})
        else:
            response = await raw.post(url, params=params)
    assert "time_get_response" in response.json(), response.text


async def test_pdd_empty_value_signing_setting(serve) -> None:
    strict = serve("pdd", seed=51)
    lenient = serve("pdd", seed=51, accept_empty_signed=True)
    for running, ok in ((strict, False), (lenient, True)):
        params = {"client_id": running.fake.settings.app_key, "type": "pdd.time.get",
                  "timestamp": str(running.fake.now()), "extra": ""}
        params["sign"] = pdd_sign(params, running.fake.settings.app_secret)  # "" included
        async with httpx.AsyncClient() as raw:
            body = (await raw.post(running.base_url + "/api/router", data=params)).json()
        assert ("time_get_response" in body) is ok, body


@pytest.mark.parametrize("code", [10001, 20032])
async def test_missing_token_code_setting(serve, code: int) -> None:
    running = serve("pdd", seed=52, missing_token_code=code)
    params = _signed(running.fake, type="pdd.order.information.get", order_sn="1")
    async with httpx.AsyncClient() as raw:
        body = (await raw.post(running.base_url + "/api/router", data=params)).json()
    assert body["error_response"]["error_code"] == code


async def test_time_and_refund_epoch_formats_and_70031(serve, http) -> None:
    running = serve("pdd", seed=53, time_format="epoch", refund_time_epoch=True,
                    error_http_status=500, orders_per_hour=300, refund_after_ship_rate=0.5,
                    limits={"pdd.refund.list.increment.get": [(1000, 10, "shop")],
                            "pdd.order.information.get": [(1, 60, "shop")]},
                    limit_codes={"shop": 70031, "app": 52101, "api": 52101})
    fake = running.fake
    client = pdd_client(running, http)
    assert abs((await client.server_time()).timestamp() - fake.now()) <= 2
    end = fake.now()
    refunds = []
    for k in range(12):
        refunds += await client.refunds_in_window(
            datetime.fromtimestamp(end - 1800 * (k + 1), UTC),
            datetime.fromtimestamp(end - 1800 * k, UTC), statuses=(2, 3, 10, 11))
    assert refunds
    by_id = {r.refund_id: r for r in fake.gen.refunds.values()}
    assert all(int(r.updated_at.timestamp()) == by_id[r.refund_id].updated_at for r in refunds)
    order_id = fake.orders()[0].order_id
    await client.get_order(order_id)
    impatient = pdd_client(running, http, retry=RetryPolicy(base_delay=0.01,
                                                            rate_limited_attempts=2))
    with pytest.raises(RateLimited):
        await impatient.get_order(order_id)
    assert ("pdd.order.information.get", "70031") in fake.rejections


async def test_window_and_index_lag_settings(serve, http) -> None:
    running = serve("pdd", seed=54, end_lag_seconds=180, index_lag_seconds=600,
                    orders_per_hour=600)
    fake = running.fake
    client = pdd_client(running, http)
    now = fake.now()
    with pytest.raises(BusinessError):
        await client.list_orders(datetime.fromtimestamp(now - 600, UTC),
                                 datetime.fromtimestamp(now - 60, UTC))
    page = await client.list_orders(datetime.fromtimestamp(now - 1500, UTC),
                                    datetime.fromtimestamp(now - 200, UTC))
    assert page.orders and all(o.updated_at.timestamp() <= now - 600 for o in page.orders)
    assert any(now - 600 < o.updated_at <= now - 200 for o in fake.orders())


def test_generator_is_seeded_and_realistic() -> None:
    start = 1_763_000_000.0
    a = make_fake("pdd", 5, history_hours=72, orders_per_hour=60, clock=SimClock(start))
    time.sleep(1.1)  # the same seed and simulated start give the same stream
    b = make_fake("pdd", 5, history_hours=72, orders_per_hour=60, clock=SimClock(start))
    c = make_fake("pdd", 6, history_hours=72, orders_per_hour=60, clock=SimClock(start))
    ids_a = [o.order_id for o in a.orders()]
    assert ids_a == [o.order_id for o in b.orders()]
    assert ids_a != [o.order_id for o in c.orders()]
    orders = a.orders()
    assert any(len([ln for ln in o.lines if not ln.is_gift]) > 1 for o in orders)
    assert any(ln.is_gift for o in orders for ln in o.lines)
    assert any(o.buyer_note for o in orders) and any(o.risk_review for o in orders)
    phases = {o.phase for o in orders}
    assert {Phase.AWAITING, Phase.SHIPPED, Phase.DELIVERED, Phase.CLOSED} <= phases
    assert any(r.after_shipping for r in a.gen.refunds.values())
    assert any(e.kind == "address_changed" for e in a.gen.events)
    top = make_fake("taobao", 5, history_hours=2)
    assert all(int(o.order_id) > 2**53 for o in top.orders())


@pytest.mark.timeout(90)  # a fresh interpreter importing the cloud, on a loaded CI machine
def test_cli_command_serves_until_interrupted(tmp_path) -> None:
    """The command serves, and new orders keep arriving in real time without ``--tick``
    (they once arrived only when the clock was ticked: none in 12 minutes of a demo)."""
    with __import__("socket").socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = "from cloud.cli.platform import fake_platform_command; fake_platform_command()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "pdd", "--port", str(port), "--seed", "3",
         "--fault-rate", "0", "--orders-per-hour", "36000"], cwd=os.getcwd(), stdout=subprocess.PIPE, text=True,
        # a run started in the background (`cmd &` without job control) ignores SIGINT, and a
        # child inherits that: Python then installs no KeyboardInterrupt handler. Ctrl-C is
        # what the command is tested against, so the child gets the default back.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        env={**os.environ, "PYTHONPATH": os.pathsep.join(
            [os.getcwd(), *filter(None, [os.environ.get("PYTHONPATH")])])})
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
        assert lines[0].startswith(f"fake pdd on http://127.0.0.1:{port}/api/router")
        token = lines[2].split()[0].split("=", 1)[1]
        fake_secret = "demo_secret"
        started = int(time.time())

        def count(since: int) -> int:
            params = {"client_id": "demo_client_id", "type": "pdd.order.number.list.increment.get",
                      "timestamp": str(int(time.time())), "access_token": token,
                      "start_updated_at": str(since), "end_updated_at": str(int(time.time())),
                      "order_status": "5", "refund_status": "5", "is_lucky_flag": "0", "page": "1"}
            params["sign"] = pdd_sign(params, fake_secret)
            body = httpx.post(f"http://127.0.0.1:{port}/api/router", data=params).json()
            return int(body["order_sn_increment_get_response"]["total_count"])

        assert count(started - 1800) > 0
        time.sleep(3.0)  # 10 orders a second: P(none in 2 s) = e^-20
        assert count(started + 1) > 0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)  # a hang guard
    assert proc.returncode == 0


async def test_oauth_code_exchange_both_platforms(serve, http) -> None:
    from cloud.marketplaces import pdd, taobao
    from tests.cloud.marketplaces.mp_support import pdd_config

    pdd_running = serve("pdd", seed=60)
    code = pdd_running.fake.tokens.grant_code()  # the merchant approved on the consent page
    token = await pdd.exchange_code(pdd_config(pdd_running), http, code,
                                    clock=pdd_running.fake.clock.now)
    assert pdd_running.fake.tokens.check(token.access_token) == "ok"
    assert token.owner_id == pdd_running.fake.settings.shop_id
    with pytest.raises(MarketplaceError):
        await pdd.exchange_code(pdd_config(pdd_running, secret="bad"), http, code)
    with pytest.raises(MarketplaceError):  # a code works once
        await pdd.exchange_code(pdd_config(pdd_running), http, code)
    with pytest.raises(MarketplaceError):  # and only a code the platform issued
        await pdd.exchange_code(pdd_config(pdd_running), http, "made-up")
    top_running = serve("taobao", seed=61)
    s = top_running.fake.settings
    config = taobao.TopConfig(s.app_key, s.app_secret, oauth_url=top_running.base_url + "/token")
    top_token = await taobao.exchange_code(config, http, top_running.fake.tokens.grant_code(),
                                           clock=top_running.fake.clock.now)
    assert top_running.fake.tokens.check(top_token.access_token) == "ok"
    assert top_token.refresh_expires_at > top_token.expires_at


@pytest.mark.parametrize("applies", [True, False])
async def test_timeout_fault_lost_reply_hazard(serve, applies: bool) -> None:
    running = serve("pdd", seed=62, fault_rate=1.0, fault_kinds=("timeout",),
                    timeout_delay=0.4, timeout_applies_effect=applies)
    fake = running.fake
    order = next(o for o in fake.orders() if o.phase is Phase.AWAITING and not o.risk_review)
    async with httpx.AsyncClient(timeout=0.15) as short:
        client = pdd_client(running, short, retry=RetryPolicy(base_delay=0.01,
                                                               transient_attempts=2))
        with pytest.raises(MarketplaceError):
            await client.ship(order.order_id, "115", "7711")
    for _ in range(100):  # the stalled requests finish server-side after the client gave up
        if fake.calls["pdd.logistics.online.send"] == 2 and (
                len(fake.shipments) + len(fake.rejections)) >= 2:
            break
        await asyncio.sleep(0.02)
    assert (order.phase is Phase.SHIPPED) is applies
    assert len(fake.shipments) == (1 if applies else 0)
