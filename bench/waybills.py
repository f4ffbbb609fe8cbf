"""Bulk waybill numbers benchmark (issue #15 item 3a).

Run: ``python -m bench waybills``. The fake PDD is given a ``pdd.waybill.get`` ceiling of
:data:`CEILING_CALLS` calls per second (the published 12,000/s is far beyond one machine);
the bulk taker paces to that ceiling with batches of 10, and the bench prints waybill
numbers per second against the ceiling (calls/s × 10) as a ratio measured in one run.
"""

from __future__ import annotations

import asyncio
import time

from cloud.marketplaces.base import Address, Token, WaybillRequest
from cloud.marketplaces.fake_server import run_fake_platform
from cloud.marketplaces.http import RateLimiter, TokenManager, build_client
from cloud.marketplaces.pdd import PddClient, PddConfig
from cloud.orders.bulk_waybills import BULK_BATCH, take_waybill_numbers

CEILING_CALLS = 20
"""The fake's ``pdd.waybill.get`` limit in calls per second for this bench."""
ORDERS = 1000
"""Packages numbered in the run."""
SENDER = Address("仓库", "13800000000", "浙江省", "杭州市", "余杭区", "仓前街道1号")
"""Sender of every package."""


async def _run() -> tuple[int, float, int]:
    running = run_fake_platform("pdd", 0, seed=3, history_hours=12, orders_per_hour=200,
                                limits={"pdd.waybill.get": [(CEILING_CALLS, 1.0, "api")]})
    try:
        fake = running.fake
        s = fake.settings
        issued = fake.issue_token()
        async with build_client() as http:

            async def refresh(token: Token) -> Token:
                raise AssertionError("no refresh expected")

            tokens = TokenManager(refresh)
            tokens.set(s.shop_id, Token(issued.access_token, issued.refresh_token,
                                        issued.expires_at, issued.refresh_expires_at))
            client = PddClient(PddConfig(s.app_key, s.app_secret,
                                         gateway_url=running.base_url + "/api/router"),
                               s.shop_id, tokens, http=http, clock=fake.clock.now,
                               limiter=RateLimiter({}))
            orders = list(fake.orders())[:ORDERS]
            packages = [WaybillRequest(o.order_id, (o.order_id,), Address(
                "张三", "13900000000", "浙江省", "杭州市", "西湖区", "文三路1号"),
                (("保温杯", 1),)) for o in orders]
            start = time.perf_counter()
            result = await take_waybill_numbers(client, "ZTO", SENDER, packages,
                                                calls_per_second=CEILING_CALLS)
            took = time.perf_counter() - start
            limited = sum(1 for api, _ in fake.rejections if api == "pdd.waybill.get")
            return len(result.numbers), took, limited
    finally:
        running.stop()


def main(argv: list[str] | None = None) -> None:
    """Print numbers per second, the ceiling, and their ratio."""
    numbers, took, limited = asyncio.run(_run())
    rate = numbers / took
    ceiling = CEILING_CALLS * BULK_BATCH
    print(f"waybills: {numbers} numbers in {took:.2f} s = {rate:.1f}/s; ceiling "
          f"{ceiling}/s ({CEILING_CALLS} calls/s × {BULK_BATCH}); ratio {rate / ceiling:.2f}; "
          f"limiter rejections {limited}")


if __name__ == "__main__":
    main()
