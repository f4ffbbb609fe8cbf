"""Courier subscriptions and standard templates against the fakes over real HTTP:
``pdd.waybill.search`` / ``pdd.cloudprint.stdtemplates.get`` (docs/specs/marketplaces.md
§1.7.8) and the Cainiao equivalents on the TOP fake; waybills take from the balance and
record the sender and template sent."""

from __future__ import annotations

import json

import pytest

from cloud.marketplaces.base import (
    Address,
    BranchAccount,
    SenderAddress,
    StandardTemplate,
    WaybillRequest,
)
from cloud.marketplaces.errors import BusinessError, MarketplaceError
from cloud.marketplaces.fake_server import FakeBranchAccount, FakeSubscription
from cloud.marketplaces.generator import Phase
from tests.cloud.marketplaces.mp_support import pdd_client, top_client

pytestmark = pytest.mark.timeout(30)

HOME = SenderAddress("浙江省", "杭州市", "余杭区", "仓前街道文一西路 1 号 Packline 仓")
SECOND = SenderAddress("浙江省", "杭州市", "萧山区", "宁围街道 88 号 二号仓")
SENDER2 = Address("仓库", "13800000000", "浙江省", "杭州市", "萧山区", "宁围街道 88 号 二号仓")


def _zto(balance: int = 100_000) -> BranchAccount:
    return BranchAccount("ZTO", "571001", "中通杭州余杭网点", balance, 0, 0, 0, (HOME, SECOND))


@pytest.mark.parametrize("platform", ["pdd", "taobao"])
async def test_search_lists_subscriptions_and_filters(serve, http, platform: str) -> None:
    running = serve(platform, seed=41)
    client = (pdd_client if platform == "pdd" else top_client)(running, http)
    accounts = await client.waybill_accounts()
    assert accounts == [
        _zto(),
        BranchAccount("YTO", "571088", "圆通杭州萧山网点", 100_000, 0, 0, 0, (SECOND,)),
    ]
    assert await client.waybill_accounts("ZTO") == [_zto()]
    assert await client.waybill_accounts("SF") == []  # known carrier, no subscription
    with pytest.raises(MarketplaceError, match="无效"):
        await client.waybill_accounts("NOPE")


async def test_pdd_stdtemplates_per_carrier(serve, http) -> None:
    running = serve("pdd", seed=42)
    client = pdd_client(running, http)
    zto = await client.standard_templates("ZTO")
    # ZTO is the 5th carrier of the fake's list (index 4): ids 50001 / 50002
    base = "https://file-link.pinduoduo.com/fake_std_template_"
    assert zto == [
        StandardTemplate("ZTO", "50001", "ZTO 标准模板 76×130", base + "50001", 6),
        StandardTemplate("ZTO", "50002", "ZTO 标准模板 100×180", base + "50002", 1),
    ]
    every = await client.standard_templates()
    # 18 carriers, 天天 and 国通 unavailable: 16 × 2 templates
    assert len(every) == 32
    assert {t.carrier for t in every} >= {"ZTO", "YTO", "SF"} and "TT" not in {
        t.carrier for t in every}
    with pytest.raises(MarketplaceError, match="无效"):
        await client.standard_templates("NOPE")


async def test_top_stdtemplates_cainiao_urls(serve, http) -> None:
    running = serve("taobao", seed=43)
    client = top_client(running, http)
    [small, large] = await client.standard_templates("YTO")
    assert small.url.startswith("http://cloudprint.cainiao.com/template/standard/")
    assert small.url.endswith(small.template_id) and small.name.endswith("76×130")
    assert large.name.endswith("100×180") and large.carrier == "YTO"


async def test_pdd_waybill_takes_balance_from_sender_branch(serve, http) -> None:
    running = serve("pdd", seed=44, waybill_subscriptions=[FakeSubscription(
        wp_code="ZTO", branch_account_cols=[FakeBranchAccount(
            branch_code="B1", branch_name="一网点", quantity=1,
            shipp_address_cols=[{"province": "浙江省", "city": "杭州市",  # type: ignore[list-item]
                                 "district": "萧山区", "detail": "宁围街道 88 号 二号仓"}])])])
    fake = running.fake
    client = pdd_client(running, http)
    order = next(o for o in fake.orders() if o.phase is Phase.AWAITING and not o.risk_review)
    pkg = WaybillRequest("p1", (order.order_id,), Address(
        "张三", "13900000000", "浙江省", "杭州市", "西湖区", "文三路1号"), (("杯", 1),),
        template_url="https://file-link.pinduoduo.com/fake_std_template_50002")
    [wb] = await client.get_waybills("ZTO", SENDER2, [pkg])
    assert fake.waybills[0].sender["name"] == "仓库"
    assert fake.waybills[0].sender["address"] == {  # type: ignore[comparison-overlap]
        "province": "浙江省", "city": "杭州市", "district": "萧山区", "detail": "宁围街道 88 号 二号仓"}
    assert fake.waybills[0].template_url.endswith("50002")
    assert wb.sort_code == "" and wb.package_centre == ""  # PDD print_data stays opaque
    [acc] = await client.waybill_accounts()
    assert (acc.quantity, acc.allocated) == (0, 1)
    with pytest.raises(BusinessError, match="余额不足"):
        await client.get_waybills("ZTO", SENDER2, [pkg])


async def test_cainiao_plain_print_data_gives_routing(serve, http) -> None:
    running = serve("taobao", seed=45)
    fake = running.fake
    client = top_client(running, http)
    order = next(o for o in fake.orders() if o.phase is Phase.AWAITING)
    rec = Address("李四", "13900000000", "江苏省", "苏州市", "姑苏区", "人民路 1 号")
    [wb] = await client.get_waybills("ZTO", SENDER2, [WaybillRequest(
        "o-1", (order.order_id,), rec, (("杯", 1),))])
    assert (wb.sort_code, wb.package_centre) == ("200-B12", "苏州集包中心")
    assert json.loads(wb.print_data)["data"]["waybillCode"] == wb.number  # unchanged
    [_zto_acc, _yto] = await client.waybill_accounts()
    assert _zto_acc.allocated == 1 and _zto_acc.quantity == 99_999


@pytest.mark.parametrize("platform", ["pdd", "taobao"])
async def test_a_refused_request_issues_no_number(serve, http, platform: str) -> None:
    # Three packages, the third for an order the platform does not know: the request is
    # refused and takes nothing — no number for the first two that the caller never hears
    # of, and the balance unchanged.
    running = serve(platform, seed=46)
    fake = running.fake
    client = pdd_client(running, http) if platform == "pdd" else top_client(running, http)
    known = [o for o in fake.orders() if o.phase is Phase.AWAITING][:2]
    rec = Address("张三", "13900000000", "浙江省", "杭州市", "西湖区", "文三路1号")
    pkgs = [WaybillRequest(f"p{i}", (o.order_id,), rec, (("杯", 1),))
            for i, o in enumerate(known)]
    [before, *_] = await client.waybill_accounts()
    with pytest.raises(BusinessError):
        await client.get_waybills("ZTO", SENDER2, [*pkgs, WaybillRequest(
            "p9", ("999999-000000000000009",), rec, (("杯", 1),))])
    [after, *_] = await client.waybill_accounts()
    assert fake.waybills == []
    assert (after.quantity, after.allocated) == (before.quantity, before.allocated)
