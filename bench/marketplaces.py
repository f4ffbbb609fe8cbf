"""Marketplace layer benchmark: incremental sync against the fake platforms over HTTP.

Run: ``python -m bench marketplaces`` (or ``python -m bench.marketplaces``). Prints, side
by side in one run, orders synced per second with page size 100 vs 20 (PDD and TOP),
and the cost of the three TOP signing methods relative to md5.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from cloud.marketplaces.base import Token, plan_window
from cloud.marketplaces.fake_server import run_fake_platform
from cloud.marketplaces.http import RateLimiter, TokenManager, build_client
from cloud.marketplaces.pdd import PddClient, PddConfig
from cloud.marketplaces.taobao import TaobaoClient, TopConfig, top_sign


async def _sync(platform: str, page_size: int) -> tuple[int, float]:
    running = run_fake_platform(platform, 0, seed=1, history_hours=8, orders_per_hour=300,
                                limits={})
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
            client: PddClient | TaobaoClient
            if platform == "pdd":
                client = PddClient(PddConfig(s.app_key, s.app_secret,
                                             gateway_url=running.base_url + "/api/router"),
                                   s.shop_id, tokens, http=http, clock=fake.clock.now,
                                   limiter=RateLimiter({}))
                span = timedelta(minutes=30)
            else:
                client = TaobaoClient(TopConfig(s.app_key, s.app_secret,
                                                gateway_url=running.base_url + "/router/rest"),
                                      s.shop_id, tokens, http=http, clock=fake.clock.now)
                span = timedelta(hours=2)
            now = datetime.fromtimestamp(fake.now(), UTC)
            cursor = now - timedelta(hours=8)
            seen: set[str] = set()
            t0 = time.perf_counter()
            while (w := plan_window(cursor, now, max_span=span)) is not None:
                seen |= {o.order_id for o in await client.orders_in_window(
                    *w, page_size=page_size)}
                cursor = w[1]
            return len(seen), time.perf_counter() - t0
    finally:
        running.stop()


def _sign_cost(method: str, n: int = 20000) -> float:
    params = {f"k{i}": f"value-{i}" for i in range(15)}
    t0 = time.perf_counter()
    for _ in range(n):
        top_sign(params, "secret", method)
    return time.perf_counter() - t0


def main() -> None:
    """Print the side-by-side measurements."""
    for platform in ("pdd", "taobao"):
        n100, t100 = asyncio.run(_sync(platform, 100))
        n20, t20 = asyncio.run(_sync(platform, 20))
        print(f"{platform}: {n100} orders, page 100: {n100 / t100:8.0f} orders/s; "
              f"page 20: {n20 / t20:8.0f} orders/s; ratio 100/20 = {(n100 / t100) / (n20 / t20):.2f}")
    base = _sign_cost("md5")
    for method in ("hmac", "hmac-sha256"):
        print(f"TOP sign {method} / md5 time ratio: {_sign_cost(method) / base:.2f}")


if __name__ == "__main__":
    main()
