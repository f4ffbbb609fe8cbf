"""Taobao client against the fake TOP over real HTTP (uvicorn on 127.0.0.1)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from cloud.marketplaces.base import Address, OrderStatus, StockUpdate, WaybillRequest, plan_window
from cloud.marketplaces.errors import BusinessError, MarketplaceError, TokenExpired
from cloud.marketplaces.generator import Phase
from cloud.marketplaces.http import Limit, RateLimiter, RetryPolicy
from cloud.marketplaces.taobao import top_sign
from tests.cloud.marketplaces.mp_support import top_client

pytestmark = pytest.mark.timeout(30)

SENDER = Address("仓库", "13800000000", "浙江省", "杭州市", "余杭区", "仓前街道1号")


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@pytest.mark.parametrize("sign_method", ["md5", "hmac", "hmac-sha256"])
async def test_window_sync_matches_ground_truth(serve, http, sign_method: str) -> None:
    running = serve("taobao", orders_per_hour=150)
    fake = running.fake
    client = top_client(running, http, sign_method=sign_method)
    now = await client.server_time()
    assert abs(now.timestamp() - fake.now()) <= 2
    cursor = _dt(fake.now() - 5 * 3600)
    got = {}
    while (w := plan_window(cursor, now, max_span=timedelta(hours=2))) is not None:
        for order in await client.orders_in_window(*w, page_size=9):
            got[order.order_id] = order
        cursor = w[1]
    truth = {o.order_id: o for o in fake.orders()
             if fake.now() - 5 * 3600 - 300 <= o.updated_at <= now.timestamp() - 180}
    assert truth and set(truth) <= set(got)
    for tid, o in truth.items():
        assert int(tid) > 2**53
        assert int(got[tid].updated_at.timestamp()) == o.updated_at
        assert [ln.qty for ln in got[tid].lines] == [ln.qty for ln in o.lines]
        assert got[tid].receiver.oaid == fake.oaid(o)
        assert o.receiver.name not in got[tid].receiver.name_mask


async def test_detail_status_and_masks(serve, http) -> None:
    running = serve("taobao", seed=31, orders_per_hour=200, history_hours=12)
    fake = running.fake
    client = top_client(running, http)
    awaiting = next(o for o in fake.orders() if o.phase is Phase.AWAITING and not o.risk_review)
    shipped = next(o for o in fake.orders() if o.phase is Phase.SHIPPED)
    d = await client.get_order(awaiting.order_id)
    assert d.status is OrderStatus.AWAITING_SHIPMENT and d.raw_status == "WAIT_SELLER_SEND_GOODS"
    assert d.pay_fen == awaiting.pay_fen and d.buyer_note == awaiting.buyer_note
    assert [(ln.sku_id, ln.outer_id, ln.price_fen) for ln in d.lines] == [
        (ln.sku.sku_id, ln.sku.outer_id, ln.price_fen) for ln in awaiting.lines]
    s = await client.get_order(shipped.order_id)
    assert s.status is OrderStatus.SHIPPED and s.tracking_number == shipped.tracking_number
    with fake.lock:
        awaiting.risk_review = True
    r = await client.get_order(awaiting.order_id)
    assert r.risk_review and r.raw_status == "PAID_FORBID_CONSIGN"


async def test_ship_modify_and_invalid_transitions(serve, http) -> None:
    running = serve("taobao", seed=32, orders_per_hour=200)
    fake = running.fake
    client = top_client(running, http)
    codes = {c.code for c in await client.logistics_companies()}
    assert {"ZTO", "SF", "YTO"} <= codes
    order = next(o for o in fake.orders() if o.phase is Phase.AWAITING and not o.risk_review)
    with pytest.raises(BusinessError) as info:
        await client.ship(order.order_id, "ZTO", "750000000001", modify=True)
    assert info.value.sub_code == "isv.logistics-resend-service-error"
    with pytest.raises(BusinessError) as info:  # not a ZTO number (reg_mail_no ^[0-9]{12,15}$)
        await client.ship(order.order_id, "ZTO", "75000001")
    assert info.value.sub_code == "isv.invalid-parameter:out_sid" and fake.shipments == []
    await client.ship(order.order_id, "ZTO", "750000000001")
    with pytest.raises(BusinessError, match="已发货"):
        await client.ship(order.order_id, "ZTO", "750000000002")
    await client.ship(order.order_id, "SF", "SF0000000000001", modify=True)
    assert [(s.carrier, s.tracking_number, s.modification) for s in fake.shipments] == [
        ("ZTO", "750000000001", False), ("SF", "SF0000000000001", True)]
    d = await client.get_order(order.order_id)
    assert d.status is OrderStatus.SHIPPED and d.carrier == "SF"
    with pytest.raises(BusinessError):
        await client.ship(order.order_id, "NOPE", "1")


async def test_waybill_by_oaid(serve, http) -> None:
    running = serve("taobao", seed=33, orders_per_hour=200)
    fake = running.fake
    client = top_client(running, http)
    order = next(o for o in fake.orders() if o.phase is Phase.AWAITING)
    d = await client.get_order(order.order_id)
    rec = Address(d.receiver.name_mask, d.receiver.phone_mask, d.receiver.province,
                  d.receiver.city, d.receiver.district, d.receiver.address_mask,
                  oaid=d.receiver.oaid)
    [wb] = await client.get_waybills("YTO", SENDER, [WaybillRequest(
        "o-1", (order.order_id,), rec, (("保温杯", 1),))])
    assert wb.number.startswith("YT") and wb.object_id == "o-1"
    assert fake.waybills[0].order_ids == (order.order_id,)
    bad = Address("x", "1", "a", "b", "c", "d", oaid="0" * 32)
    with pytest.raises(BusinessError, match="oaid"):
        await client.get_waybills("YTO", SENDER, [WaybillRequest(
            "o-2", (order.order_id,), bad, (("x", 1),))])


async def test_stock_full_incremental_never_below_zero(serve, http) -> None:
    running = serve("taobao", seed=34)
    fake = running.fake
    client = top_client(running, http)
    sku = fake.gen.catalog[3]
    assert len(sku.item_id) == 12 and int(sku.item_id) < 2**53  # looks like a real num_iid
    await client.update_stock(StockUpdate(sku.item_id, 10, sku_id=sku.sku_id))
    await client.update_stock(StockUpdate(sku.item_id, -4, outer_id=sku.outer_id,
                                          incremental=True))
    assert fake.stock(sku.item_id, sku.sku_id) == 6
    with pytest.raises(BusinessError, match="不能小于0"):
        await client.update_stock(StockUpdate(sku.item_id, -7, sku_id=sku.sku_id,
                                              incremental=True))
    assert fake.stock(sku.item_id, sku.sku_id) == 6
    assert [p.result for p in fake.stock_pushes] == [10, 6]


async def test_refunds_window(serve, http) -> None:
    running = serve("taobao", seed=35, orders_per_hour=300, history_hours=10,
                    refund_after_ship_rate=0.5)
    fake = running.fake
    client = top_client(running, http)
    end, start = fake.now(), fake.now() - 10 * 3600
    got = {r.refund_id: r for r in await client.refunds_in_window(_dt(start), _dt(end),
                                                                  page_size=5)}
    truth = {r.refund_id: r for r in fake.gen.refunds.values() if start <= r.updated_at <= end}
    assert len(truth) > 5 and set(got) == set(truth)
    for rid, r in truth.items():
        assert got[rid].order_id == r.order.order_id and got[rid].amount_fen == r.amount_fen
        assert got[rid].returns_goods == r.after_shipping
        assert got[rid].return_waybill == (f"YT{rid}" if r.after_shipping else "")
        assert got[rid].return_carrier == ("圆通速递" if r.after_shipping else "")
        assert got[rid].reason == ("七天无理由退货" if r.after_shipping else "不想要了")
    assert any(r.after_shipping for r in truth.values())


async def test_tmc_consume_confirm_and_redelivery(serve, http) -> None:
    running = serve("taobao", seed=36, orders_per_hour=600, redelivery_seconds=0.3)
    fake = running.fake
    client = top_client(running, http)
    fake.advance(300)
    expected = set(fake.tmc_pending)
    assert len(expected) > 10
    first = await client.tmc_consume(quantity=10)
    assert len(first) == 10 and all(m.order_id in fake.gen.orders for m in first)
    await client.tmc_confirm([m.id for m in first[1:]])
    await asyncio.sleep(0.35)
    seen = {m.id for m in first}
    for _ in range(20):
        batch = await client.tmc_consume(quantity=200)
        if not batch:
            break
        seen |= {m.id for m in batch}
        await client.tmc_confirm([m.id for m in batch])
    assert {int(x) for x in seen} == expected
    assert set(fake.tmc_confirmed) == expected
    assert fake.tmc_deliveries[int(first[0].id)] == 2


async def test_fake_rejections(serve, http) -> None:
    running = serve("taobao", seed=37)
    fake = running.fake
    with pytest.raises(BusinessError) as info:
        await top_client(running, http, secret="bad").server_time()
    assert info.value.code == "25"
    stale = top_client(running, http, clock=lambda: fake.clock.now() - 3600)
    with pytest.raises(BusinessError) as info:
        await stale.server_time()
    assert info.value.code == "31"
    client = top_client(running, http)
    now = fake.now()
    with pytest.raises(BusinessError) as info:
        await client.list_orders(_dt(now - 86400 - 60), _dt(now))
    assert info.value.code == "41" and info.value.sub_code == "isv.invalid-parameter"


async def test_epoch_ms_timestamp_accepted(serve) -> None:
    running = serve("taobao", seed=38)
    fake = running.fake
    s = fake.settings
    params = {"method": "taobao.time.get", "app_key": s.app_key, "v": "2.0",
              "format": "json", "sign_method": "md5", "timestamp": str(int(fake.now() * 1000))}
    params["sign"] = top_sign(params, s.app_secret, "md5")
    async with httpx.AsyncClient() as raw:
        query = {k: params[k] for k in ("method", "app_key", "v", "sign_method", "timestamp",
                                        "sign")}
        body = {k: params[k] for k in params if k not in query}
        response = await raw.post(running.base_url + "/router/rest", params=query, data=body)
    assert "time_get_response" in response.json()


async def test_expired_session_refreshes(serve, http) -> None:
    running = serve("taobao", seed=39)
    fake = running.fake
    client = top_client(running, http)
    fake.expire_token(client.tokens.current(client.shop_id).access_token)
    order = fake.orders()[0]
    assert (await client.get_order(order.order_id)).order_id == order.order_id
    assert fake.tokens.refreshes == 1 and ("taobao.trade.fullinfo.get", "27") in fake.rejections


async def test_refresh_not_allowed_surfaces_token_expired(serve, http) -> None:
    running = serve("taobao", seed=40, refresh_allowed=False)
    fake = running.fake
    client = top_client(running, http)
    fake.expire_token(client.tokens.current(client.shop_id).access_token)
    with pytest.raises(TokenExpired):
        await client.get_order(fake.orders()[0].order_id)


async def test_rate_limit_code_7_and_client_limiter(serve, http) -> None:
    running = serve("taobao", seed=41, ban_seconds=0, limits={
        "taobao.trade.fullinfo.get": [(4, 0.5, "app")]})
    fake = running.fake
    tid = fake.orders()[0].order_id
    limited = top_client(running, http, limiter=RateLimiter({
        "taobao.trade.fullinfo.get": [Limit(4, 0.5, "app")]}))
    await asyncio.gather(*(limited.get_order(tid) for _ in range(9)))
    assert not [r for r in fake.rejections if r[1] == "7"]
    naive = top_client(running, http, retry=RetryPolicy(base_delay=0.2, max_delay=0.4,
                                                        rate_limited_attempts=10))
    await asyncio.gather(*(naive.get_order(tid) for _ in range(9)))
    assert [r for r in fake.rejections if r[1] == "7"]


async def test_non_simplified_shape_over_http(serve, http) -> None:
    running = serve("taobao", seed=42)
    fake = running.fake
    client = top_client(running, http)
    order = fake.orders()[0]
    raw = await client.call("taobao.trade.fullinfo.get",
                            {"fields": "tid,orders,modified", "tid": order.order_id,
                             "simplify": "false"})
    assert isinstance(raw["trade"]["orders"], dict) and "order" in raw["trade"]["orders"]
    assert raw["trade"]["tid"] == int(order.order_id)


async def test_fault_mode(serve) -> None:
    running = serve("taobao", seed=43, fault_rate=0.4, timeout_delay=0.6)
    fake = running.fake
    ok = 0
    async with httpx.AsyncClient(timeout=0.3) as short:
        client = top_client(running, short, retry=RetryPolicy(base_delay=0.01, max_delay=0.02,
                                                              transient_attempts=4))
        for o in fake.orders()[:20]:
            try:
                assert (await client.get_order(o.order_id)).order_id == o.order_id
                ok += 1
            except MarketplaceError:
                pass
    assert ok >= 12 and sum(fake.faults.injected.values()) >= 4


async def test_oaid_follows_address_change(serve, http) -> None:
    running = serve("taobao", seed=44)
    fake = running.fake
    client = top_client(running, http)
    order = next(o for o in fake.orders() if o.phase is Phase.AWAITING)
    before = (await client.get_order(order.order_id)).receiver.oaid
    assert before == fake.oaid(order)
    with fake.lock:
        order.receiver = replace(order.receiver, detail="新地址88号")
    after = (await client.get_order(order.order_id)).receiver.oaid
    assert after == fake.oaid(order) and after != before


async def test_oaid_decrypt_batch_and_quota(serve, http) -> None:
    running = serve("taobao", seed=45, orders_per_hour=200, oaid_daily_quota=30)
    fake = running.fake
    client = top_client(running, http)
    orders = fake.orders()[:25]
    pairs = [(o.order_id, fake.oaid(o)) for o in orders]
    got = await client.decrypt_receivers(pairs)
    assert [(tid, a.name, a.mobile, a.detail) for tid, a in got] == [
        (o.order_id, o.receiver.name, o.receiver.phone, o.receiver.detail) for o in orders]
    assert fake.calls["taobao.top.oaid.decrypt"] == 2  # 20 + 5
    with pytest.raises(BusinessError) as info:
        await client.call("taobao.top.oaid.decrypt", {"query_list": [
            {"tid": int(orders[0].order_id), "oaid": pairs[0][1], "scene": "1006"}] * 21})
    assert info.value.code == "41"
    with pytest.raises(BusinessError, match="额度"):
        await client.decrypt_receivers(pairs[:10])


async def test_a_malformed_waybill_request_gets_the_platforms_error_not_a_500(serve, http) -> None:
    """cainiao.waybill.ii.get with the recipient (or its address) as a string, as a careless
    caller sends it: code 41 isv.invalid-parameter, and the fake keeps serving."""
    import json

    running = serve("taobao", seed=35, orders_per_hour=200)
    fake = running.fake
    client = top_client(running, http)
    order = next(o for o in fake.orders() if o.phase is Phase.AWAITING)
    for recipient in ("张三 浙江省杭州市", {"name": "张三", "address": "浙江省杭州市文三路1号"}):
        request = {"cp_code": "ZTO", "sender": {}, "trade_order_info_dtos": [{
            "object_id": "1", "order_info": {"order_channels_type": "TB",
                                             "trade_order_list": [order.order_id]},
            "recipient": recipient}]}
        with pytest.raises(BusinessError) as info:
            await client.call("cainiao.waybill.ii.get", {
                "param_waybill_cloud_print_apply_new_request": json.dumps(request)})
        assert (info.value.code, info.value.sub_code) == ("41", "isv.invalid-parameter")
    assert fake.waybills == []
    assert (await client.server_time()) is not None
