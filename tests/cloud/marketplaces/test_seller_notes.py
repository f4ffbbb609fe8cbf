"""Seller notes and flags (卖家备注 / 旗帜) written to the platforms by the real clients over
HTTP, checked against each fake's ground truth and what its order API then reports; a
malformed call gets the platform's error, not a 500."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from cloud.marketplaces.errors import MarketplaceError
from cloud.marketplaces.fake_server import RunningFake
from cloud.marketplaces.generator import Phase
from cloud.marketplaces.pdd import pdd_sign
from tests.cloud.marketplaces.mp_support import pdd_client, top_client


def awaiting(running: RunningFake) -> str:
    return next(o.order_id for o in running.fake.orders() if o.phase is Phase.AWAITING)


async def test_pdd_note_and_tag(serve: Callable[..., RunningFake], http: httpx.AsyncClient) -> None:
    running = serve("pdd", seed=71)
    client = pdd_client(running, http)
    order_id = awaiting(running)
    before = running.fake.order(order_id).updated_at
    await client.set_seller_note(order_id, "客户要求周五后发", 2)
    truth = running.fake.order(order_id)
    assert (truth.seller_note, truth.seller_flag) == ("客户要求周五后发", 2)
    assert truth.updated_at > before  # the incremental list sees the change
    seen = await client.get_order(order_id)
    assert seen.seller_note == "客户要求周五后发"
    await client.set_seller_note(order_id, "改了", 0)  # no tag sent: the tag stays yellow
    assert (running.fake.order(order_id).seller_note, running.fake.order(order_id).seller_flag) \
        == ("改了", 2)
    with pytest.raises(MarketplaceError):
        await client.set_seller_note("999999-000000000000000", "x", 1)


async def test_top_memo_and_flag(serve: Callable[..., RunningFake], http: httpx.AsyncClient) -> None:
    running = serve("taobao", seed=72)
    client = top_client(running, http)
    order_id = awaiting(running)
    await client.set_seller_note(order_id, "加急", 1)
    truth = running.fake.order(order_id)
    assert (truth.seller_note, truth.seller_flag) == ("加急", 1)
    assert (await client.get_order(order_id)).seller_note == "加急"
    await client.set_seller_note(order_id, "", 0)  # cleared (reset=true), grey flag
    assert (truth.seller_note, truth.seller_flag) == ("", 0)
    with pytest.raises(MarketplaceError):
        await client.set_seller_note(order_id, "长" * 400, 1)  # 1,200 bytes > 1,000
    assert truth.seller_note == ""


async def test_pdd_fake_refuses_malformed_note_calls(serve: Callable[..., RunningFake]) -> None:
    running = serve("pdd", seed=73)
    fake = running.fake
    token = fake.issue_token().access_token
    order_id = awaiting(running)

    def call(**extra: str) -> dict:  # type: ignore[type-arg]
        params = {"client_id": fake.settings.app_key, "type": "pdd.order.note.update",
                  "timestamp": str(fake.now()), "access_token": token, "data_type": "JSON",
                  "order_sn": order_id, **extra}
        params["sign"] = pdd_sign(params, fake.settings.app_secret)
        r = httpx.post(f"{running.base_url}/api/router", data=params)
        assert r.status_code == 200
        return r.json()  # type: ignore[no-any-return]

    assert "error_response" in call(note="x", tag="1")                 # tag without tag_name
    assert "error_response" in call(note="x", tag="9", tag_name="红")   # tag out of range
    assert "error_response" in call(note="x", tag="1", tag_name="红色色色")
    assert "error_response" in call(note="x", tag="a", tag_name="红")
    assert call(note="好", tag="3", tag_name="绿色") == {"response": {"success": True}}
    assert (fake.order(order_id).seller_note, fake.order(order_id).seller_flag) == ("好", 3)


async def test_ship_by_deadlines(serve: Callable[..., RunningFake], http: httpx.AsyncClient) -> None:
    """PDD reports ``last_ship_time`` (the fake promises 48 h after the order); Taobao has no
    ship-by field, so the client takes payment + 48 h, its default 发货时限."""
    from datetime import UTC, datetime, timedelta

    pdd_running, top_running = serve("pdd", seed=74), serve("taobao", seed=75)
    for running, client in ((pdd_running, pdd_client(pdd_running, http)),
                            (top_running, top_client(top_running, http))):
        order_id = awaiting(running)
        created = running.fake.order(order_id).created_at
        seen = await client.get_order(order_id)
        assert seen.ship_by == datetime.fromtimestamp(created, UTC) + timedelta(hours=48), \
            running.fake.platform
