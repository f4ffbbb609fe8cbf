"""The shop worker: order sync, push messages, allocation, waybills, write-backs, stock push.

``packline-cloud worker`` runs :class:`Worker` for every active shop. Each shop is a job
(``job_leases``, ``shop:<id>``) leased to one worker at a time, so several worker
processes share the shops: on PostgreSQL the lease is taken with
``SELECT ... FOR UPDATE SKIP LOCKED``; on SQLite the write lock serialises takers. A tick
of a shop runs, in order::

    refresh token if due → sync order windows → (refund windows) → TMC consume (Taobao)
    → allocate → e-waybills + pack tasks → collect shipments → tracking write-back
    → stock push

PDD push messages arrive on one PMC WebSocket per app (:meth:`Worker.listen_pdd`); each
message is recorded, the order re-read at once, then ACKed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud import retention
from cloud.crypto import Sealer
from cloud.db import write_transaction
from cloud.db.schema_orders import job_leases
from cloud.marketplaces.errors import (
    AuthorizationRefused,
    BusinessError,
    MarketplaceError,
    TokenExpired,
    platform_reason,
)
from cloud.marketplaces.http import RateLimiter, RetryPolicy, build_client
from cloud.orders import (
    allocation,
    listings,
    order_sync,
    stations,
    stock_push,
    waybills,
    writeback,
)
from cloud.reports import daily, summaries
from cloud.shops import (
    ShopClient,
    active_shop_ids,
    mark_reauth,
    mark_revoked,
    open_client,
    refresh_if_due,
)

log = logging.getLogger("packline.worker")

PDD_TOKEN_REFUSED = "20032"  # noqa: S105 - an error code, not a secret
"""PDD ``access_token或client_id错误``: the token is not (or no longer) valid."""

REAUTH_MARGIN_SECONDS = 120
"""A shop whose access token has expired and whose refresh token expires within this many
seconds needs re-authorising (docs/specs/marketplaces.md §1.6, client rule 5: "within
about 2 minutes of expiry")."""
TMC_BATCH = 100
"""Messages asked for per ``taobao.tmc.messages.consume`` call (the API takes 10–200,
docs/specs/marketplaces.md §2.7); each is re-read, then the batch is confirmed."""
TMC_ROUNDS = 20
"""Consume calls per tick at most: up to 2,000 messages, the rest next tick, so a flood of
pushes cannot starve the tick's later steps. An empty answer ends the drain early."""
LEASE_RENEWALS = 3
"""Times a running tick renews its shop's lease per ``WorkerSettings.lease_ttl``: every
40 s with the 2-minute default, so two renewals can fail before another worker may take
the shop."""
PMC_RECONNECT_FIRST = 1.0
"""Seconds before the first reconnect of a lost PDD PMC WebSocket; doubles per failure."""
PMC_RECONNECT_MAX = 60.0
"""Longest wait between PMC reconnects: pushes only speed things up (polling reconciles,
docs/specs/marketplaces.md §1.8), so a minute of delay loses nothing."""
SWITCH_INTERVAL = 0.001
"""Seconds a thread may keep the interpreter lock while another waits for it, in the worker
process (:func:`tune_interpreter`; Python's default is 0.005). Order sync writes a window
in a thread while the event loop reads and parses the next ones; SQLite lets go of the lock
at every row it steps, and at the default the writer then waits up to 5 ms to get it back
from a busy loop. ``python -m bench orders``: ingest/budget 0.66 at 5 ms, 0.78–0.82 from
0.2 to 1 ms, with the same CPU per order."""


def worker_id() -> str:
    """``host:pid`` — who holds a lease."""
    return f"{socket.gethostname()}:{os.getpid()}"


def acquire_lease(engine: Engine, job: str, owner: str, ttl: timedelta, *,
                  now: datetime) -> bool:
    """Take (or extend) the lease of ``job`` unless another live owner holds it."""
    j = job_leases.c
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(
                "INSERT INTO job_leases (job) VALUES (:job) ON CONFLICT (job) DO NOTHING"),
                {"job": job})
            query = sa.select(j.owner, j.lease_until).where(j.job == job).with_for_update(
                skip_locked=True)
        else:
            if conn.execute(sa.select(j.job).where(j.job == job)).first() is None:
                conn.execute(sa.insert(job_leases).values(job=job))
            query = sa.select(j.owner, j.lease_until).where(j.job == job)
        row = conn.execute(query).first()
        if row is None:
            return False  # another worker is taking it right now
        if row.owner not in (None, owner) and row.lease_until and row.lease_until > now:
            return False
        conn.execute(sa.update(job_leases).where(j.job == job).values(
            owner=owner, lease_until=now + ttl, last_run_at=now))
    return True


def renew_lease(engine: Engine, job: str, owner: str, ttl: timedelta, *,
                now: datetime) -> bool:
    """Extend a lease ``owner`` holds; False when another owner has taken it.

    Unlike :func:`acquire_lease` this waits for the row: another worker merely looking at
    the lease (its ``SKIP LOCKED`` probe holds the row for a moment) must not make the
    holder believe it lost the lease and stop renewing it."""
    j = job_leases.c
    with write_transaction(engine) as conn:
        done = conn.execute(sa.update(job_leases).where(j.job == job, j.owner == owner).values(
            lease_until=now + ttl, last_run_at=now))
    return bool(done.rowcount)


def release_lease(engine: Engine, job: str, owner: str) -> None:
    """Give a lease back (only if we hold it)."""
    with write_transaction(engine) as conn:
        conn.execute(sa.update(job_leases).where(
            job_leases.c.job == job, job_leases.c.owner == owner).values(lease_until=None))


def tune_interpreter() -> None:
    """Set the worker process's interpreter switch interval (:data:`SWITCH_INTERVAL`)."""
    sys.setswitchinterval(SWITCH_INTERVAL)


@dataclass
class WorkerSettings:
    """Knobs of the worker loop."""

    interval: float = 10.0
    """Seconds between ticks of a shop."""
    lease_ttl: timedelta = timedelta(minutes=2)
    """How long a shop lease lasts without renewal."""
    sync: order_sync.SyncSettings = field(default_factory=order_sync.SyncSettings)
    """Window planning."""
    poll_refunds: bool = True
    """Also read the refund-list windows (refunds also show on orders and in pushes)."""
    listen_push: bool = True
    """Listen to PDD PMC / consume Taobao TMC."""
    platform_time: bool = True
    """Plan windows on the platform's clock (``pdd.time.get`` / ``taobao.time.get``)."""
    http_timeout: float = 15.0
    """HTTP timeout for platform calls."""
    writeback_concurrency: int = writeback.CONCURRENCY
    """Parallel tracking write-backs per shop."""
    writeback_backoff: float = writeback.FIRST_BACKOFF_SECONDS
    """First retry delay of a failed write-back, seconds (doubles per attempt; see
    :data:`cloud.orders.writeback.FIRST_BACKOFF_SECONDS`)."""
    match_unknown_skus: bool = True
    """When an order names a platform SKU the shop's last listing download did not have,
    download the listings again and match them by 商家编码 (``cloud.orders.listings``)."""
    keep_reports: int = 100
    """``run`` returns at most this many tick reports, the latest (a worker that runs for
    months must not keep one per tick)."""
    retention: retention.RetentionSettings = field(default_factory=retention.RetentionSettings)
    """What the worker prunes, and how often (``cloud.retention``)."""


@dataclass
class TickReport:
    """What one shop tick did (for logs, tests and the CLI)."""

    shop_id: str
    """Shop."""
    sync: order_sync.SyncResult | None = None
    """Order windows read."""
    refunds: int = 0
    """Refund records read."""
    pushes_handled: int = 0
    """Orders re-read because of push messages."""
    listings: listings.MatchResult | None = None
    """Listings downloaded again because an order named an unknown platform SKU."""
    allocated: int = 0
    """Orders allocated."""
    exceptions: int = 0
    """Orders sent to (or kept in) the exception list."""
    moved: int = 0
    """Tasks moved off stations offline too long (``cloud.orders.stations``)."""
    waybills: waybills.WaybillResult | None = None
    """Waybills and tasks."""
    waybills_cancelled: int = 0
    """E-waybills of orders cancelled before shipping, cancelled on the platform (回收)."""
    shipments: int = 0
    """New station shipments collected."""
    writeback: writeback.WritebackResult | None = None
    """Tracking write-backs."""
    stock: stock_push.PushResult | None = None
    """Stock pushes."""
    error: str = ""
    """Set when the tick stopped on an error (retried next tick)."""
    busy: bool = False
    """Another worker holds the shop's lease: this one did nothing for it."""


class Worker:
    """Runs shop ticks; one instance per process."""

    def __init__(
        self, engine: Engine, sealer: Sealer, *, settings: WorkerSettings | None = None,
        http: httpx.AsyncClient | None = None, clock: Callable[[], float] = time.time,
        limiter_factory: Callable[[str], RateLimiter | None] | None = None,
        retry: RetryPolicy | None = None, owner: str | None = None,
    ) -> None:
        self.engine = engine
        """The cloud database."""
        self.sealer = sealer
        """Decrypts shop secrets."""
        self.settings = settings or WorkerSettings()
        """Loop knobs."""
        self.clock = clock
        """Epoch seconds (the fakes' simulated clock in tests)."""
        self.owner = owner or worker_id()
        """Lease owner name."""
        self._http = http
        self._own_http = http is None
        self._limiter_factory = limiter_factory
        self._retry = retry
        self._clients: dict[str, ShopClient] = {}
        self._limiters: dict[str, RateLimiter | None] = {}
        self._pruned_at: float | None = None
        self._kept_day: date | None = None

    async def __aenter__(self) -> Worker:
        if self._http is None:
            self._http = build_client(timeout=self.settings.http_timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for sc in list(self._clients.values()):
            await sc.tokens.settle()  # a refresh the platform answered is kept
        if self._own_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    def client(self, shop_id: str) -> ShopClient:
        """The (cached) client of a shop; one rate limiter per app."""
        sc = self._clients.get(shop_id)
        if sc is None:
            assert self._http is not None, "use the worker as an async context manager"
            with self.engine.connect() as conn:
                from cloud.shops import load_shop

                shop = load_shop(conn, self.sealer, shop_id)
            key = f"{shop.platform}:{shop.app_key}:{shop.gateway_url}"
            if key not in self._limiters:
                self._limiters[key] = (self._limiter_factory(shop.platform)
                                       if self._limiter_factory else None)
            sc = open_client(self.engine, self.sealer, shop_id, http=self._http,
                             clock=self.clock, limiter=self._limiters[key], retry=self._retry)
            self._clients[shop_id] = sc
        return sc

    def now(self) -> datetime:
        """The worker's clock as a UTC datetime: every timestamp and "is it due" of a tick."""
        return datetime.fromtimestamp(self.clock(), UTC)

    def forget(self, shop_id: str) -> None:
        """Drop a cached client (after re-authorisation)."""
        self._clients.pop(shop_id, None)

    async def tick(self, shop_id: str) -> TickReport:
        """One pass over a shop (the caller holds its lease).

        Each step runs even when an earlier one failed (a failed order sync must not stop
        write-backs); the first error is reported and everything is retried next tick.
        """
        report = TickReport(shop_id)
        s = self.settings
        try:
            sc = self.client(shop_id)
            await refresh_if_due(sc, now=self.clock())
        except MarketplaceError as err:
            return self._failed(report, shop_id, err)
        now = self.now()
        if s.platform_time:
            # Windows follow the platform's clock (spec: calibrate with pdd.time.get).
            try:
                now = await sc.client.server_time()
            except MarketplaceError as err:
                log.info("platform time unavailable, using ours: %s", err.message)

        async def sync() -> None:
            report.sync = await order_sync.sync_orders(self.engine, sc, platform_now=now,
                                                       now=self.now(), settings=s.sync)
            if s.poll_refunds:
                report.refunds = await order_sync.sync_refunds(self.engine, sc,
                                                               platform_now=now, now=self.now(),
                                                               settings=s.sync)
            if s.listen_push and sc.shop.platform == "taobao":
                report.pushes_handled = await self.consume_tmc(sc)

        async def match() -> None:
            if s.match_unknown_skus:
                report.listings = await listings.refresh_for_unknown(self.engine, sc,
                                                                     now=self.now())

        async def allocate() -> None:
            alloc = allocation.allocate_pending(self.engine, shop_id,
                                                sc.shop.default_warehouse_id, now=self.now())
            report.allocated, report.exceptions = len(alloc.allocated), len(alloc.exceptions)
            report.moved = len(stations.move_offline_tasks(self.engine, shop_id,
                                                           now=self.now()).moved)
            report.waybills = await waybills.request_waybills(self.engine, sc, now=self.now(),
                                                                owner=self.owner)
            report.waybills_cancelled = (await waybills.cancel_dead_waybills(
                self.engine, sc, now=self.now())).cancelled

        async def ship() -> None:
            with write_transaction(self.engine) as conn:
                report.shipments = writeback.collect_shipments(conn, shop_id, now=self.now())
            report.writeback = await writeback.write_back(
                self.engine, sc, now=self.now(), concurrency=s.writeback_concurrency,
                backoff=s.writeback_backoff)

        async def stock() -> None:
            report.stock = await stock_push.push_stock(self.engine, sc, now=self.now())

        for step in (sync, match, allocate, ship, stock):
            try:
                await step()
            except MarketplaceError as err:
                self._failed(report, shop_id, await self._refused_or(sc, err))
                if shop_id not in self._clients:
                    break
        return report

    async def _refused_or(self, sc: ShopClient, err: MarketplaceError) -> MarketplaceError:
        """PDD answers a call with a cancelled authorisation's token with 20032 (not 10019,
        so no refresh was tried): refresh now; the platform's refusal
        (:class:`AuthorizationRefused`) replaces ``err``, anything else leaves it."""
        if not (isinstance(err, BusinessError) and sc.shop.platform == "pdd"
                and err.code == PDD_TOKEN_REFUSED):
            return err
        try:
            await sc.tokens.refresh(sc.shop.id, sc.tokens.current(sc.shop.id))
        except AuthorizationRefused as refused:
            return refused
        except MarketplaceError:
            return err
        return err

    def _failed(self, report: TickReport, shop_id: str, err: MarketplaceError) -> TickReport:
        report.error = report.error or err.message
        if isinstance(err, AuthorizationRefused):  # the platform refused the refresh token
            with write_transaction(self.engine) as conn:
                mark_revoked(conn, shop_id, platform_reason(err), actor="worker",
                             now=self.now())
            self.forget(shop_id)
        elif isinstance(err, TokenExpired):
            sc = self._clients.get(shop_id)
            token = sc.tokens.current(shop_id) if sc else None
            dead = token is None or not token.refresh_token or (
                token.refresh_expires_at
                and token.refresh_expires_at <= self.clock() + REAUTH_MARGIN_SECONDS)
            if dead:
                mark_reauth(self.engine, shop_id)
                self.forget(shop_id)
        return report

    async def consume_tmc(self, sc: ShopClient) -> int:
        """Drain Taobao TMC messages for the shop's app: re-read, then confirm."""
        client: Any = sc.client
        handled = 0
        for _ in range(TMC_ROUNDS):
            messages = await client.tmc_consume(quantity=TMC_BATCH)
            if not messages:
                break
            mine = [m for m in messages if not sc.shop.seller_id or m.shop_id == sc.shop.seller_id]
            handled += await order_sync.handle_push(self.engine, sc, mine, now=self.now())
            await client.tmc_confirm([m.id for m in messages])
        return handled

    async def listen_pdd(self, shop_id: str, stop: asyncio.Event) -> None:
        """Listen to PMC for the shop's app until ``stop``; reconnects with backoff."""
        from cloud.marketplaces.pdd_push import PddPushClient

        delay = PMC_RECONNECT_FIRST
        while not stop.is_set():
            sc = self.client(shop_id)
            cfg = getattr(sc.client, "config", None)
            try:
                async with PddPushClient(cfg, clock=self.clock) as push:  # type: ignore[arg-type]
                    delay = PMC_RECONNECT_FIRST

                    async def consume(push: PddPushClient = push, sc: ShopClient = sc) -> None:
                        async for msg in push.messages():
                            target = self._pdd_shop_for(msg.shop_id) or sc
                            await order_sync.handle_push(self.engine, target, [msg],
                                                         now=self.now())
                            await push.ack(msg)  # only after the re-read was stored

                    consumer = asyncio.create_task(consume())
                    stopper = asyncio.create_task(stop.wait())
                    await asyncio.wait({consumer, stopper}, return_when=asyncio.FIRST_COMPLETED)
                    for task in (consumer, stopper):
                        task.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await task
                    if consumer.done() and not consumer.cancelled() and consumer.exception():
                        raise consumer.exception()  # type: ignore[misc]
            except MarketplaceError as err:
                log.info("PMC connection lost: %s", err.message)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, PMC_RECONNECT_MAX)

    def _pdd_shop_for(self, mall_id: str) -> ShopClient | None:
        for sc in self._clients.values():
            if sc.shop.platform == "pdd" and sc.shop.seller_id == mall_id:
                return sc
        return None

    async def run(self, *, once: bool = False, stop: asyncio.Event | None = None,
                  max_ticks: int | None = None,
                  on_report: Callable[[TickReport], None] | None = None) -> list[TickReport]:
        """Tick every active shop we can lease, every ``interval`` seconds, until ``stop``;
        ``on_report`` is told each shop's pass as it ends (the command's log)."""
        stop = stop or asyncio.Event()
        reports: deque[TickReport] = deque(maxlen=self.settings.keep_reports)
        listeners: dict[str, asyncio.Task[None]] = {}
        ticks = 0
        held: set[str] = set()
        try:
            while not stop.is_set():
                with self.engine.connect() as conn:
                    shop_ids = active_shop_ids(conn)
                for shop_id in shop_ids:
                    job = f"shop:{shop_id}"
                    if not acquire_lease(self.engine, job, self.owner, self.settings.lease_ttl,
                                         now=self.now()):
                        if once and on_report is not None:  # say why nothing happened
                            on_report(TickReport(shop_id, busy=True))
                        continue
                    held.add(shop_id)
                    if (self.settings.listen_push and not once and shop_id not in listeners
                            and self.client(shop_id).shop.platform == "pdd"):
                        listeners[shop_id] = asyncio.create_task(self.listen_pdd(shop_id, stop))
                    report = await self.tick_leased(shop_id)
                    reports.append(report)
                    if on_report is not None:
                        on_report(report)
                self.prune_if_due()
                self.keep_daily_summary()
                ticks += 1
                if once or (max_ticks is not None and ticks >= max_ticks):
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.settings.interval)
        finally:
            stop.set()
            for task in listeners.values():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            # every lease taken here goes back at once: the next worker (a second
            # ``worker --once``, the service after a restart) need not wait for it to lapse
            for shop_id in held | set(listeners):
                release_lease(self.engine, f"shop:{shop_id}", self.owner)
        return list(reports)

    async def tick_leased(self, shop_id: str) -> TickReport:
        """``tick`` while renewing the shop's lease every third of its TTL, so a tick that
        runs longer than the TTL is not joined by another worker half-way."""
        renewer = asyncio.create_task(self._renew(f"shop:{shop_id}"))
        try:
            return await self.tick(shop_id)
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

    async def _renew(self, job: str) -> None:
        ttl = self.settings.lease_ttl
        while True:
            await asyncio.sleep(ttl.total_seconds() / LEASE_RENEWALS)
            if not await asyncio.to_thread(renew_lease, self.engine, job, self.owner, ttl,
                                          now=self.now()):
                log.warning("lease %s was taken over while its tick ran", job)
                return

    def keep_daily_summary(self) -> date | None:
        """Keep yesterday's 每日概况 (China time, on the worker's clock) once it has ended:
        the first pass of a new day does it (``cloud.reports.daily.keep``); returns the day
        when this call kept it."""
        now = self.now()
        yesterday = summaries.local_day(now) - timedelta(days=1)
        if self._kept_day == yesterday:
            return None
        with write_transaction(self.engine) as conn:
            kept = daily.keep(conn, yesterday, now=now)
        self._kept_day = yesterday
        return yesterday if kept else None

    def prune_if_due(self) -> dict[str, int] | None:
        """Apply the retention policy when ``retention.every`` seconds passed on the
        worker's clock and no other worker is pruning; returns rows deleted per table."""
        r = self.settings.retention
        now_s = self.clock()
        if self._pruned_at is not None and now_s - self._pruned_at < r.every:
            return None
        now = datetime.fromtimestamp(now_s, UTC)
        if not acquire_lease(self.engine, "retention", self.owner, timedelta(seconds=r.every),
                             now=now):
            return None
        self._pruned_at = now_s
        done = retention.prune(self.engine, now, r)
        if any(done.values()):
            log.info("retention pruned %s", done)
        return done
