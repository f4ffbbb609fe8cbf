"""Orders ingested per second from the fake PDD over HTTP into the cloud database.

Side by side in one run, over the same windows of the same fake shop (the fake runs in its
own process, with PDD's published rate limits):

* **ingest** — :func:`cloud.orders.order_sync.sync_orders` into a fresh SQLite database
  (windows, backwards paging, normalisation, SKU mapping, upsert, checkpoint);
* **discard** — the same paging with the same client, results thrown away;
* **ceiling** — what the rate limit of ``pdd.order.number.list.increment.get`` allows
  (3000 calls / 60 s per shop × 100 orders per page, less the count call of each window).

Prints orders/s for each and the ratios ingest/discard, ingest/ceiling, discard/ceiling.
``python -m bench orders`` (``BENCH_ORDERS_HOURS`` sets the history size, default 12 h of
1500 orders/h).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta

import httpx


def main() -> None:
    """Run the benchmark and print the numbers."""
    asyncio.run(_main())


async def _main() -> None:
    from cryptography.fernet import Fernet

    from cloud.crypto import Sealer
    from cloud.db import make_engine, migrate
    from cloud.marketplaces.http import RateLimiter
    from cloud.marketplaces.pdd import LIMITS
    from cloud.orders.order_sync import SyncSettings, fetch_window, sync_orders
    from cloud.shops import open_client
    from tests.cloud.orders.remote_fake import RemoteFake
    from tests.cloud.orders.support import connect_shop, seed_warehouses

    hours = float(os.environ.get("BENCH_ORDERS_HOURS", "12"))
    limits = {k: [(x.calls, x.period, x.scope) for x in v] for k, v in LIMITS.items()}
    fake = RemoteFake("pdd", seed=3, history_hours=hours + 0.5, orders_per_hour=1500,
                      limits=limits)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{tmp}/bench.db")
            migrate(engine)
            sealer = Sealer(Fernet.generate_key())
            seed_warehouses(engine)
            shop_id = await connect_shop(engine, sealer, fake, stock=None)
            now = datetime.fromtimestamp(fake.now(), UTC)
            settings = SyncSettings(initial_lookback=timedelta(hours=hours), max_windows=10_000)
            async with httpx.AsyncClient(timeout=10) as http:
                sc = open_client(engine, sealer, shop_id, http=http, clock=fake.clock.now,
                                 limiter=RateLimiter(LIMITS))
                t0 = time.perf_counter()
                result = await sync_orders(engine, sc, platform_now=now, now=now, settings=settings)
                ingest_s = time.perf_counter() - t0
                windows = result.windows
                # The same windows again, results discarded.
                start = now - timedelta(hours=hours)
                spans = []
                cursor = start
                from cloud.marketplaces.base import plan_window

                while (w := plan_window(cursor, now, max_span=settings.span,
                                        overlap=settings.overlap, lag=settings.lag)):
                    spans.append(w)
                    cursor = w[1]
                fetched = 0
                t0 = time.perf_counter()
                for s, e in spans:
                    fetched += len(await fetch_window(sc.client, s, e))
                discard_s = time.perf_counter() - t0
            engine.dispose()
        calls = sum(fake.stats()["calls"].values())
    finally:
        fake.stop()
    ingest = result.fetched / ingest_s
    discard = fetched / discard_s
    pages_per_window = max(1.0, result.fetched / max(windows, 1) / 100)
    ceiling = 3000 / 60 * 100 * pages_per_window / (pages_per_window + 1)
    print(f"orders: {result.inserted} stored from {result.fetched} fetched in {windows} windows "
          f"({calls} platform calls)")
    print(f"  ingest  (HTTP → SQLite): {ingest:8.0f} orders/s  ({ingest_s:.1f} s)")
    print(f"  discard (HTTP only)    : {discard:8.0f} orders/s  ({discard_s:.1f} s)")
    print(f"  ceiling (rate limit)   : {ceiling:8.0f} orders/s")
    print(f"  ratio ingest/discard = {ingest / discard:.2f}, ingest/ceiling = "
          f"{ingest / ceiling:.2f}, discard/ceiling = {discard / ceiling:.2f}")


if __name__ == "__main__":
    main()
