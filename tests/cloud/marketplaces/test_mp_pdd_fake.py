"""PDD client against the fake PDD over real HTTP (uvicorn on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from cloud.marketplaces.base import (
    Address,
    OrderStatus,
    StockUpdate,
    Token,
    WaybillRequest,
    plan_window,
)
from cloud.marketplaces.errors import BusinessError, MarketplaceError
from cloud.marketplaces.generator import Phase
from cloud.marketplaces.http import RateLimiter, RetryPolicy, build_client
from cloud.marketplaces.pdd import parse_order
from cloud.marketplaces.pdd_push import PddPushClient, run_push
from tests.cloud.marketplaces.mp_support import pdd_client, pdd_config

pytestmark = pytest.mark.timeout(20)

SENDER = Address("仓库", "13800000000", "浙江省", "杭州市", "余杭区", "仓前街道1号")


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


async def test_time_and_full_window_sync_matches_ground_truth(serve, http) -> None:
    running = serve("pdd", orders_per_hour=120)
    fake = running.fake
    client = pdd_client(running, http)
    now = await client.server_time()
    assert abs(now.timestamp() - fake.now()) <= 2
    cursor = _dt(fake.now() - 4 * 3600)
    got: dict[str, datetime] = {}
    windows = 0
    while (window := plan_window(cursor, now, max_span=timedelta(minutes=30))) is not None:
        start, end = window
        assert end - start <= timedelta(minutes=30)
        for order in await client.orders_in_window(start, end, page_size=7):
            got[order.order_id] = max(order.updated_at, got.get(order.order_id, order.updated_at))
        cursor = end
        windows += 1
    truth = {o.order_id: o.updated_at for o in fake.orders()
             if fake.now() - 4 * 3600 - 300 <= o.updated_at <= now.timestamp() - 180}
    assert windows >= 8
    assert truth and set(truth) <= set(got)
    for order_id, updated in truth.items():
        assert int(got[order_id].timestamp()) == updated


async def test_order_fields_pii_and_detail(serve, http) -> None:
    running = serve("pdd", seed=11, orders_per_hour=200, history_hours=12)
    fake = running.fake
    client = pdd_client(running, http)
    orders = fake.orders()
    awaiting = next(o for o in orders if o.phase is Phase.AWAITING and not o.risk_review)
    shipped = next(o for o in orders if o.phase is Phase.SHIPPED)
    detail = await client.get_order(awaiting.order_id)
    assert detail.status is OrderStatus.AWAITING_SHIPMENT
    assert detail.receiver.has_ciphertext
    assert detail.receiver.name_cipher.startswith("~") and awaiting.receiver.name not in (
        detail.receiver.name_cipher)
    assert detail.receiver.phone_mask.startswith(awaiting.receiver.phone[:3])
    assert [(ln.sku_id, ln.qty, ln.price_fen) for ln in detail.lines] == [
        (ln.sku.sku_id, ln.qty, ln.price_fen) for ln in awaiting.lines if not ln.is_gift] + [
        (ln.sku.sku_id, ln.qty, 0) for ln in awaiting.lines if ln.is_gift]
    assert detail.pay_fen == awaiting.pay_fen
    hidden = await client.get_order(shipped.order_id)
    assert hidden.status is OrderStatus.SHIPPED and not hidden.receiver.has_ciphertext
    assert hidden.receiver.name_mask and hidden.tracking_number == shipped.tracking_number
    with fake.lock:
        awaiting.risk_review = True
    risky = await client.get_order(awaiting.order_id)
    assert risky.risk_review and not risky.receiver.has_ciphertext


async def test_decrypt_roundtrip_batch_limit_and_quota(serve, http) -> None:
    running = serve("pdd", seed=12, orders_per_hour=200, decrypt_daily_quota=230)
    fake = running.fake
    client = pdd_client(running, http)
    targets = [o for o in fake.orders() if o.phase is Phase.AWAITING and not o.risk_review][:3]
    details = [await client.get_order(o.order_id) for o in targets]
    pairs = [(d.order_id, d.receiver.name_cipher) for d in details]
    pairs += [(d.order_id, d.receiver.phone_cipher) for d in details]
    result = await client.decrypt(pairs)
    plain = {(r.tag, r.data_type): r.plaintext for r in result}
    for o in targets:
        assert plain[(o.order_id, 5)] == o.receiver.name
        assert plain[(o.order_id, 6)] == o.receiver.phone
    # a ciphertext sent with the wrong tag does not decrypt
    wrong = await client.decrypt([(targets[1].order_id, details[0].receiver.name_cipher)])
    assert wrong[0].error_code != 0 and wrong[0].plaintext == ""
    # more than 100 per call is rejected by the fake
    too_many = [{"data_tag": targets[0].order_id, "encrypted_data": pairs[0][1]}] * 101
    with pytest.raises(BusinessError) as info:
        await client.call("pdd.open.decrypt.batch", {"data_list": too_many})
    assert info.value.code == "10000"
    # the client splits into batches of 100; the daily quota (230 items) then runs out
    ok = await client.decrypt([pairs[0]] * 200)
    assert len(ok) == 200 and all(r.plaintext == targets[0].receiver.name for r in ok)
    with pytest.raises(BusinessError) as info:
        await client.decrypt([pairs[0]] * 100)
    assert info.value.code == "50001" and "额度" in info.value.sub_msg
    assert sum(fake.decrypt_used.values()) == 7 + 200


async def test_ship_first_modify_and_invalid_transitions(serve, http) -> None:
    running = serve("pdd", seed=13, orders_per_hour=200)
    fake = running.fake
    client = pdd_client(running, http)
    companies = {c.code: c for c in await client.logistics_companies()}
    zto, tt = companies["ZTO"], companies["TT"]
    assert zto.id == "115" and zto.available and not tt.available
    order = next(o for o in fake.orders() if o.phase is Phase.AWAITING and not o.risk_review)
    before = order.updated_at
    fake.advance(5)
    with pytest.raises(BusinessError):
        await client.ship(order.order_id, tt.id, "7700000001")
    with pytest.raises(BusinessError, match="未发货"):
        await client.ship(order.order_id, zto.id, "7700000001", modify=True)
    await client.ship(order.order_id, zto.id, "7700000001")
    assert order.phase is Phase.SHIPPED and order.updated_at > before
    with pytest.raises(BusinessError) as info:
        await client.ship(order.order_id, zto.id, "7700000002")
    assert info.value.code == "50001" and "已发货" in info.value.sub_msg
    await client.ship(order.order_id, companies["SF"].id, "SF1234567890123", modify=True)
    assert [(s.order_id, s.carrier, s.tracking_number, s.modification)
            for s in fake.shipments] == [
        (order.order_id, "115", "7700000001", False),
        (order.order_id, "44", "SF1234567890123", True)]
    detail = await client.get_order(order.order_id)
    assert detail.status is OrderStatus.SHIPPED and detail.tracking_number == "SF1234567890123"
    risky = next((o for o in fake.orders() if o.risk_review and o.phase is Phase.AWAITING), None)
    if risky is None:
        risky = next(o for o in fake.orders() if o.phase is Phase.AWAITING
                     and o.order_id != order.order_id)
        with fake.lock:
            risky.risk_review = True
    with pytest.raises(BusinessError, match="审核"):
        await client.ship(risky.order_id, zto.id, "7700000003")
    assert len(fake.shipments) == 2


async def test_waybill_plain_and_cipher_recipient(serve, http) -> None:
    running = serve("pdd", seed=14, orders_per_hour=200)
    fake = running.fake
    client = pdd_client(running, http)
    orders = [o for o in fake.orders() if o.phase is Phase.AWAITING and not o.risk_review][:2]
    d = await client.get_order(orders[1].order_id)
    packages = [
        WaybillRequest("pkg-1", (orders[0].order_id,), Address(
            "张三", "13900000000", "浙江省", "杭州市", "西湖区", "文三路1号"),
            (("保温杯", 1),), template_url="https://fake/template/1"),
        WaybillRequest("pkg-2", (orders[1].order_id,), Address(
            d.receiver.name_cipher, d.receiver.phone_cipher, d.receiver.province,
            d.receiver.city, d.receiver.district, d.receiver.address_cipher), (("数据线", 2),)),
    ]
    waybills = await client.get_waybills("ZTO", SENDER, packages)
    assert [w.object_id for w in waybills] == ["pkg-1", "pkg-2"]
    assert [w.number for w in waybills] == [w.number for w in fake.waybills]
    assert all(w.print_data.startswith("{") and w.carrier == "ZTO" for w in waybills)
    bad = WaybillRequest("pkg-3", (orders[0].order_id,), Address(
        "~Zm9v~", "1", "a", "b", "c", "d"), (("x", 1),))
    with pytest.raises(BusinessError, match="密文"):
        await client.get_waybills("ZTO", SENDER, [bad])
    with pytest.raises(BusinessError):
        await client.get_waybills("NOPE", SENDER, packages[:1])


async def test_stock_full_incremental_never_below_zero(serve, http) -> None:
    running = serve("pdd", seed=15)
    fake = running.fake
    client = pdd_client(running, http)
    sku = fake.gen.catalog[0]
    await client.update_stock(StockUpdate(sku.item_id, 7, sku_id=sku.sku_id))
    assert fake.stock(sku.item_id, sku.sku_id) == 7
    await client.update_stock(StockUpdate(sku.item_id, -3, sku_id=sku.sku_id, incremental=True))
    assert fake.stock(sku.item_id, sku.sku_id) == 4
    await client.update_stock(StockUpdate(sku.item_id, 2, outer_id=sku.outer_id,
                                          incremental=True))
    assert fake.stock(sku.item_id, sku.sku_id) == 6
    with pytest.raises(BusinessError, match="不能小于0"):
        await client.update_stock(StockUpdate(sku.item_id, -7, sku_id=sku.sku_id,
                                              incremental=True))
    with pytest.raises(BusinessError):
        await client.update_stock(StockUpdate(sku.item_id, -1, sku_id=sku.sku_id))
    assert fake.stock(sku.item_id, sku.sku_id) == 6
    assert [(p.quantity, p.incremental, p.result) for p in fake.stock_pushes] == [
        (7, False, 7), (-3, True, 4), (2, True, 6)]


async def test_refunds_incremental(serve, http) -> None:
    running = serve("pdd", seed=16, orders_per_hour=300, history_hours=8,
                    refund_after_ship_rate=0.5)
    fake = running.fake
    client = pdd_client(running, http)
    end = fake.now() - 180
    start = end - 8 * 3600
    got = {}
    t = start
    while t < end:
        window = (_dt(t), _dt(min(t + 1800, end)))
        for r in await client.refunds_in_window(*window, statuses=(2, 3, 10, 11)):
            got[r.refund_id] = r
        t += 1800
    truth = {r.refund_id: r for r in fake.gen.refunds.values() if start <= r.updated_at <= end}
    assert truth and set(truth) == set(got)
    for rid, r in truth.items():
        assert got[rid].order_id == r.order.order_id
        assert got[rid].amount_fen == r.amount_fen
        assert got[rid].succeeded == (r.status.value == "success")
        # 退货退款 on a shipped order: goods come back by the parcel the fake names YT + id
        assert got[rid].returns_goods == r.after_shipping and not got[rid].exchange
        assert got[rid].return_waybill == (f"YT{rid}" if r.after_shipping else "")
        assert got[rid].return_carrier == ("圆通速递" if r.after_shipping else "")
        assert got[rid].reason == ("七天无理由退货" if r.after_shipping else "不想要了")
    assert any(r.after_shipping for r in truth.values())


async def test_fake_rejects_bad_signature_stale_timestamp_window_and_tokens(serve, http) -> None:
    running = serve("pdd", seed=17)
    fake = running.fake
    now = fake.now()
    bad_sign = pdd_client(running, http, secret="wrong")
    with pytest.raises(BusinessError) as info:
        await bad_sign.server_time()
    assert info.value.code == "20004"
    stale = pdd_client(running, http, clock=lambda: fake.clock.now() - 700)
    with pytest.raises(BusinessError) as info:
        await stale.server_time()
    assert info.value.code == "10001" and "timestamp" in info.value.msg
    client = pdd_client(running, http)
    with pytest.raises(BusinessError) as info:
        await client.list_orders(_dt(now - 1900), _dt(now - 60))
    assert info.value.code == "10000"
    client.tokens.set(client.shop_id, client.tokens.current(client.shop_id).__class__("bogus"))
    with pytest.raises(BusinessError) as info:
        await client.get_order(fake.orders()[0].order_id)
    assert info.value.code == "20032"
    assert ("pdd.time.get", "20004") in fake.rejections


async def test_expired_token_refreshes_via_oauth(serve, http) -> None:
    running = serve("pdd", seed=18)
    fake = running.fake
    client = pdd_client(running, http)
    old = client.tokens.current(client.shop_id)
    fake.expire_token(old.access_token)
    order = await client.get_order(fake.orders()[0].order_id)
    assert order.order_id == fake.orders()[0].order_id
    new = client.tokens.current(client.shop_id)
    assert new.access_token != old.access_token and fake.tokens.refreshes == 1
    assert ("pdd.order.information.get", "10019") in fake.rejections


async def test_client_rate_limiter_keeps_fake_under_its_limit(serve, http) -> None:
    limit = [(5, 0.5, "shop")]
    running = serve("pdd", seed=19, limits={"pdd.order.information.get": limit})
    fake = running.fake
    order_id = fake.orders()[0].order_id
    from cloud.marketplaces.http import Limit
    limiter = RateLimiter({"pdd.order.information.get": [Limit(5, 0.5, "shop")]})
    client = pdd_client(running, http, limiter=limiter)
    t0 = time.monotonic()
    await asyncio.gather(*(client.get_order(order_id) for _ in range(12)))
    assert time.monotonic() - t0 >= 0.9
    assert fake.calls["pdd.order.information.get"] == 12
    assert not [r for r in fake.rejections if r[1] == "52101"]
    # without a client limiter the fake throttles, and the client backs off and retries
    naive = pdd_client(running, http, limiter=RateLimiter({}),
                       retry=RetryPolicy(base_delay=0.2, max_delay=0.5,
                                         rate_limited_attempts=10))
    await asyncio.gather(*(naive.get_order(order_id) for _ in range(12)))
    assert [r for r in fake.rejections if r[1] == "52101"]


async def test_pmc_push_ack_and_redelivery(serve, http) -> None:
    running = serve("pdd", seed=20, orders_per_hour=600, redelivery_seconds=0.3)
    fake = running.fake
    fake.advance(120)
    expected = set(fake.pmc_pending)
    assert expected
    config = pdd_config(running)
    received: list[str] = []
    acked: set[int] = set()
    async with PddPushClient(config, clock=fake.clock.now) as push:
        async for message in push.messages():
            received.append(message.id)
            assert message.topic.startswith("pdd_")
            assert message.order_id in fake.gen.orders
            if len(received) == 1:
                continue  # not acked: must come again
            await push.ack(message)
            acked.add(int(message.id))
            if expected <= acked:
                break
        for _ in range(100):
            if expected <= set(fake.pmc_acked):
                break
            await asyncio.sleep(0.02)
    assert received.count(received[0]) >= 2
    assert set(fake.pmc_acked) == expected and not fake.pmc_pending
    assert all(int(mid) > 2**53 for mid in received)
    assert fake.pmc_deliveries[int(received[0])] >= 2


async def test_pmc_rejects_bad_sign(serve, http) -> None:
    running = serve("pdd", seed=21)
    config = pdd_config(running, secret="wrong")
    with pytest.raises(MarketplaceError):
        async with PddPushClient(config, clock=running.fake.clock.now):
            pass


async def test_fault_mode_client_survives_or_raises_our_errors(serve) -> None:
    running = serve("pdd", seed=22, fault_rate=0.4, timeout_delay=0.6)
    fake = running.fake
    ok = errors = 0
    async with httpx.AsyncClient(timeout=0.3) as short:
        client = pdd_client(running, short, retry=RetryPolicy(base_delay=0.01, max_delay=0.02,
                                                               transient_attempts=4))
        for o in fake.orders()[:25]:
            try:
                got = await client.get_order(o.order_id)
                assert got.order_id == o.order_id
                ok += 1
            except MarketplaceError:
                errors += 1
    assert ok >= 15
    assert sum(fake.faults.injected.values()) >= 5
    assert ok + errors == 25


def test_parse_order_keeps_ids_exact() -> None:
    order = parse_order({"order_sn": "240101-123456789012345", "order_status": 1,
                         "updated_at": "2024-01-01 08:00:00",
                         "item_list": [{"sku_id": 90071992547409931, "goods_id": 1,
                                        "goods_count": 1, "goods_price": 1}]})
    assert order.lines[0].sku_id == "90071992547409931"


async def test_unacked_message_redelivered_after_reconnect(serve, http) -> None:
    running = serve("pdd", seed=23, orders_per_hour=600, redelivery_seconds=30)
    fake = running.fake
    fake.advance(60)
    config = pdd_config(running)
    async with PddPushClient(config, clock=fake.clock.now) as push:
        stream = push.messages()
        first = await anext(stream)
        await stream.aclose()
    async with PddPushClient(config, clock=fake.clock.now) as push:
        async for again in push.messages():
            if again.id == first.id:
                await push.ack(again)
                break
    for _ in range(100):
        if int(first.id) in fake.pmc_acked:
            break
        await asyncio.sleep(0.02)
    assert fake.pmc_connections == 2 and int(first.id) in fake.pmc_acked
    assert fake.pmc_deliveries[int(first.id)] == 2


async def test_run_push_handles_acks_and_retries_failed_handler(serve, http) -> None:
    running = serve("pdd", seed=24, orders_per_hour=600, redelivery_seconds=0.2)
    fake = running.fake
    fake.advance(60)
    expected = set(fake.pmc_pending)
    assert expected
    handled: list[str] = []
    failed_once: set[str] = set()
    stop = asyncio.Event()

    async def handle(message) -> None:
        if message.id not in failed_once:
            failed_once.add(message.id)
            raise RuntimeError("db down")
        handled.append(message.id)
        if {int(x) for x in handled} >= expected:
            stop.set()

    await asyncio.wait_for(run_push(pdd_config(running), handle, stop, clock=fake.clock.now),
                           timeout=15)
    assert {int(x) for x in handled} == expected
    for _ in range(100):
        if set(fake.pmc_acked) == expected:
            break
        await asyncio.sleep(0.02)
    assert set(fake.pmc_acked) == expected
    assert all(fake.pmc_deliveries[m] >= 2 for m in expected)


async def test_a_refresh_whose_caller_is_cancelled_still_keeps_the_new_token(serve, http) -> None:
    # The order pull reads windows side by side and cancels the others when one fails. A
    # read cancelled while its token refresh was in flight dropped the reply: the platform
    # had used up the refresh token, so every later refresh was refused (seen in CI at
    # 00:09 Beijing time, when the pull spans two windows).
    running = serve("pdd", seed=18)
    fake = running.fake
    client = pdd_client(running, http)
    tokens = client.tokens
    arrived, release = asyncio.Event(), asyncio.Event()
    real = tokens._refresher  # slow the reply down, not the platform

    async def slow_reply(stale: Token) -> Token:
        token = await real(stale)  # the platform has rotated the pair here
        arrived.set()
        await release.wait()
        return token

    tokens._refresher = slow_reply
    old = tokens.current(client.shop_id)
    fake.expire_token(old.access_token)
    order_id = fake.orders()[0].order_id
    read = asyncio.ensure_future(client.get_order(order_id))
    await asyncio.wait_for(arrived.wait(), 10)
    read.cancel()
    with pytest.raises(asyncio.CancelledError):
        await read
    settled = asyncio.ensure_future(tokens.settle())  # what a worker does when it stops
    await asyncio.sleep(0.05)
    assert not settled.done()  # it waits for the refresh the platform answered
    release.set()
    await asyncio.wait_for(settled, 10)
    assert tokens.current(client.shop_id).access_token != old.access_token
    # the next call (a new tick) finds the rotated token, without a second refresh
    order = await asyncio.wait_for(client.get_order(order_id), 10)
    assert order.order_id == order_id
    assert fake.tokens.refreshes == 1 and tokens.refresh_count == 1
    assert tokens.current(client.shop_id).access_token != old.access_token


async def test_an_orders_after_sales_status_follows_the_documented_enum(serve, http) -> None:
    """pdd.order.information.get's ``after_sales_status`` (docs/specs/marketplaces.md §1.7: 0 无售后, 2 买家申请退款
    待商家处理, 3 退货退款待商家处理, 10 退款成功, 11 买家撤销/关闭), read through the gateway."""
    from cloud.marketplaces.generator import RefundPhase

    running = serve("pdd", seed=18, history_hours=1, orders_per_hour=60)
    fake = running.fake
    client = pdd_client(running, http)
    with fake.lock:
        before, after, done, closed = list(fake.gen.orders.values())[:4]
        for o in (before, after, done, closed):
            o.refund = None
        fake.gen._refund(before, fake.now(), after_shipping=False)
        fake.gen._refund(after, fake.now(), after_shipping=True)
        for o, phase in ((done, RefundPhase.SUCCESS), (closed, RefundPhase.CLOSED)):
            fake.gen._refund(o, fake.now(), after_shipping=False).status = phase
            o.refund = phase
        untouched = next(o for o in fake.gen.orders.values()
                         if o.refund is None and o not in (before, after, done, closed))

    async def status(order_id: str) -> int:
        raw = await client.call("pdd.order.information.get", {"order_sn": order_id})
        return int(raw["order_info"]["after_sales_status"])

    assert [await status(o.order_id) for o in (untouched, before, after, done, closed)] == [
        0, 2, 3, 10, 11]


async def test_order_list_get_by_confirm_time(serve, http) -> None:
    """pdd.order.list.get (what public SDKs call): the orders confirmed in the window, each
    once across pages, as the fake's own record has them; a window over a day is refused."""
    running = serve("pdd", seed=19, history_hours=6, orders_per_hour=120)
    fake = running.fake
    client = pdd_client(running, http)
    end = fake.now() - 60
    start = end - 4 * 3600
    truth = sorted(o.order_id for o in fake.gen.orders.values() if start <= o.created_at <= end)
    got: list[str] = []
    page = 1
    while True:
        body = await client.call("pdd.order.list.get", {
            "order_status": 5, "refund_status": 5, "start_confirm_at": start,
            "end_confirm_at": end, "page": page, "page_size": 100})
        got += [o["order_sn"] for o in body["order_list"]]
        assert body["total_count"] == len(truth)
        if not body["has_next"]:
            break
        page += 1
    assert truth and sorted(got) == truth and len(got) == len(set(got)) and page > 1
    with pytest.raises(BusinessError) as info:
        await client.call("pdd.order.list.get", {
            "order_status": 5, "refund_status": 5, "start_confirm_at": end - 86401,
            "end_confirm_at": end})
    assert info.value.code == "10000" and "24小时" in str(info.value)
    with pytest.raises(BusinessError):  # a required parameter missing
        await client.call("pdd.order.list.get", {"order_status": 5, "refund_status": 5})


async def test_a_slow_refresh_reply_is_waited_for_not_given_up(serve) -> None:
    # The worker's calls have a short timeout of their own. A refresh given up on after the
    # platform answered leaves a spent refresh token: every later refresh is refused and the
    # shop stops syncing until its owner authorises again (the soak lost the last hours of
    # its day this way on a loaded CI machine, where its 0.1 s timeout ran out on a refresh).
    running = serve("pdd", seed=18)
    fake = running.fake
    real = fake._handlers["pdd.pop.auth.token.refresh"]

    def slow_refresh(params: dict[str, str]) -> dict[str, object]:
        answer = real(params)  # the pair is rotated here
        time.sleep(0.5)        # the reply is slow to leave
        return answer

    fake._handlers["pdd.pop.auth.token.refresh"] = slow_refresh
    async with build_client(timeout=0.2) as http:
        client = pdd_client(running, http)
        old = client.tokens.current(client.shop_id)
        fake.expire_token(old.access_token)
        order_id = fake.orders()[0].order_id
        order = await asyncio.wait_for(client.get_order(order_id), 10)
    assert order.order_id == order_id
    assert fake.tokens.refreshes == 1
    assert client.tokens.current(client.shop_id).access_token != old.access_token
