"""Orders ingested per second from the fake PDD over HTTP, against its rate limit.

Side by side in one run, over the same windows of the same fake shop (the fake runs in its
own process and enforces the limit server-side; the client's own limiter paces the calls):

* **ingest** — :func:`cloud.orders.order_sync.sync_orders` into a fresh SQLite database
  (windows read ahead, backwards paging, normalisation, SKU mapping, upsert, checkpoint);
* **discard** — the same windows with the same client and the same read-ahead, results
  thrown away;
* **ceiling** — the fastest the fake's limit on ``pdd.order.number.list.increment.get``
  accepts the calls the phase made (orders per call as the phase had them);
* **budget** — the same for the client's own limiter, which keeps to ``safety`` (0.9) of
  the limit with a ``guard`` added to each period (``cloud.marketplaces.http.RateLimiter``),
  so that no call is ever refused. ``ingest/budget`` says how much of what the client may
  use the ingest uses; ``ingest/ceiling`` can never pass ``budget/ceiling`` (≈ 0.90).

Why the limit is scaled. PDD allows 3000 calls per 60 s per shop: a sliding window that
admits a burst of 2700 calls (the client's share) at once. A run of this size makes a few
hundred calls, so at the real scale the limit never binds and a "ceiling" of 50 calls/s
is a sustained rate that the burst beats (that is how discard once came out above its
ceiling). The bench therefore divides the limit's calls, its period and the client's guard
by the same factor (``BENCH_ORDERS_LIMIT_SCALE``, default 100: 30 calls / 0.6 s on the
fake, 27 calls / 0.601 s in the client): the sustained rate stays PDD's, the burst shrinks
so that the limit binds through the run, on both sides equally. The ceiling of N calls is
then exact, burst included: a sliding window of ``k`` calls per ``p`` seconds needs at
least ``⌊(N − 1) / k⌋ · p`` seconds for N calls; the ratios are that time over the phase's
time. Every other API keeps its published limit. "No ban": the fake's rate-limit refusals
are counted and printed (0 expected). The process runs with the worker's interpreter
setting (``cloud.orders.worker.SWITCH_INTERVAL``), as ``packline-cloud worker`` does.

``python -m bench orders`` (``BENCH_ORDERS_HOURS`` sets the history size, default 12 h of
1500 orders/h; ``BENCH_ORDERS_LIMIT_SCALE`` the factor; 1 means PDD's real limit). Quote
the default run: with ``BENCH_ORDERS_HOURS=4`` (10 windows) the pipeline's fill (the first
read-ahead windows share the limit before anything is written) and drain (the last window
is written after the last read) weigh on the ratio, so it is a smoke run.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta

import httpx

LIST_API = "pdd.order.number.list.increment.get"
"""The API whose limit paces order sync (count call and pages)."""


def fastest(calls: int, allowed: int, period: float) -> float:
    """Seconds a sliding window of ``allowed`` calls per ``period`` needs, at least, to let
    ``calls`` calls through (the first ``allowed`` at once, each next one a period after
    the call ``allowed`` places before it)."""
    return ((calls - 1) // allowed) * period if calls > 0 else 0.0


def main() -> None:
    """Run the benchmark and print the numbers."""
    asyncio.run(_main())


async def _main() -> None:
    from cryptography.fernet import Fernet

    from cloud.crypto import Sealer
    from cloud.db import make_engine, migrate
    from cloud.marketplaces.base import plan_window
    from cloud.marketplaces.http import Limit, RateLimiter
    from cloud.marketplaces.pdd import LIMITS
    from cloud.orders.order_sync import SyncSettings, fetch_window, sync_orders
    from cloud.orders.worker import SWITCH_INTERVAL, tune_interpreter
    from cloud.shops import open_client
    from tests.cloud.orders.remote_fake import RemoteFake
    from tests.cloud.orders.support import connect_shop, seed_warehouses

    tune_interpreter()  # as the worker process runs sync_orders
    hours = float(os.environ.get("BENCH_ORDERS_HOURS", "12"))
    scale = int(os.environ.get("BENCH_ORDERS_LIMIT_SCALE", "100"))
    (real,) = LIMITS[LIST_API]
    if scale < 1 or real.calls % scale:
        raise SystemExit(f"BENCH_ORDERS_LIMIT_SCALE must divide {real.calls}")
    scaled = Limit(real.calls // scale, real.period / scale, real.scope)
    limits = {**LIMITS, LIST_API: [scaled]}
    limiter = RateLimiter(limits, guard=0.1 / scale)
    allowed = max(1, int(scaled.calls * limiter.safety))
    paced = scaled.period + limiter.guard
    wire = {k: [(x.calls, x.period, x.scope) for x in v] for k, v in limits.items()}
    fake = RemoteFake("pdd", seed=3, history_hours=hours + 0.5, orders_per_hour=1500,
                      limits=wire)

    def list_calls() -> int:
        return int(fake.stats()["calls"].get(LIST_API, 0))

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
                                 limiter=limiter)
                before = list_calls()
                t0, c0 = time.perf_counter(), time.process_time()
                result = await sync_orders(engine, sc, platform_now=now, now=now, settings=settings)
                ingest_s, ingest_cpu = time.perf_counter() - t0, time.process_time() - c0
                ingest_calls = list_calls() - before
                # Let both sliding windows empty, then the same windows, results discarded.
                await asyncio.sleep(paced)
                spans = []
                cursor = now - timedelta(hours=hours)
                while (w := plan_window(cursor, now, max_span=settings.span,
                                        overlap=settings.overlap, lag=settings.lag)):
                    spans.append(w)
                    cursor = w[1]
                gate = asyncio.Semaphore(settings.read_ahead)

                async def read(window: tuple[datetime, datetime]) -> int:
                    async with gate:
                        return len(await fetch_window(sc.client, *window))

                before = list_calls()
                t0, c0 = time.perf_counter(), time.process_time()
                fetched = sum(await asyncio.gather(*(read(w) for w in spans)))
                discard_s, discard_cpu = time.perf_counter() - t0, time.process_time() - c0
                discard_calls = list_calls() - before
            engine.dispose()
        stats = fake.stats()
    finally:
        fake.stop()
    refused = [r for r in stats["rejections"] if r[0] == LIST_API]

    def rates(orders: int, calls: int, seconds: float) -> tuple[float, float, float]:
        """(orders/s, ceiling orders/s, budget orders/s) of one phase."""
        ceiling_s = fastest(calls, scaled.calls, scaled.period)
        budget_s = fastest(calls, allowed, paced)
        return (orders / seconds, orders / ceiling_s if ceiling_s else float("inf"),
                orders / budget_s if budget_s else float("inf"))

    ingest, ceiling, budget = rates(result.fetched, ingest_calls, ingest_s)
    discard, d_ceiling, d_budget = rates(fetched, discard_calls, discard_s)
    print(f"orders: {result.inserted} stored from {result.fetched} fetched in {result.windows} "
          f"windows ({ingest_calls} list calls; discard {discard_calls})")
    print(f"limit: {real.calls}/{real.period:g} s scaled 1/{scale} → fake {scaled.calls} calls / "
          f"{scaled.period:g} s; client {allowed} / {paced:.4g} s; "
          f"rate-limit refusals: {len(refused)}; switch interval {SWITCH_INTERVAL * 1000:g} ms")
    print(f"  ingest  (HTTP → SQLite): {ingest:8.0f} orders/s  ({ingest_s:.1f} s; this process's "
          f"CPU {1000 * ingest_cpu / result.fetched:.3f} ms/order)")
    print(f"  discard (HTTP only)    : {discard:8.0f} orders/s  ({discard_s:.1f} s; "
          f"CPU {1000 * discard_cpu / fetched:.3f} ms/order)")
    print(f"  budget  (client limiter): {budget:7.0f} orders/s  (discard's: {d_budget:.0f})")
    print(f"  ceiling (fake's limit)  : {ceiling:7.0f} orders/s  (discard's: {d_ceiling:.0f})")
    print(f"  ratio ingest/budget = {ingest / budget:.2f}, ingest/ceiling = {ingest / ceiling:.2f}, "
          f"discard/budget = {discard / d_budget:.2f}, discard/ceiling = {discard / d_ceiling:.2f}, "
          f"ingest/discard = {ingest / discard:.2f}")


if __name__ == "__main__":
    main()
