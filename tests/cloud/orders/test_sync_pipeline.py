"""Order sync writes windows off the event loop: reads go on while a window is written, the
windows are written one at a time and in order, and the checkpoint never passes a window
whose write failed (cloud.orders.order_sync.sync_orders).

Driven by events between the reader and the writer (no timing): the writer of the first
window waits until the reader has done something that it can only do while that write runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.crypto import Sealer
from cloud.db.schema_orders import orders
from cloud.marketplaces.errors import TransientError
from cloud.marketplaces.fake_server import RunningFake
from cloud.orders import order_sync
from cloud.orders.order_sync import SyncSettings, get_cursor, sync_orders
from cloud.shops import ShopClient, open_client
from tests.cloud.orders.support import connect_shop, fast_retry, seed_warehouses

WAIT = 10.0
"""Longest a writer waits for the reader: reached only when the behaviour is broken (the
write then blocks the loop the reader needs), never in a passing run."""


@pytest.fixture
async def shop(cloud_engine: Engine, sealer: Sealer, serve: Callable[..., RunningFake]
               ) -> tuple[RunningFake, str]:
    """A PDD fake with 3 hours of orders, connected as a shop."""
    running = serve("pdd", history_hours=3, orders_per_hour=300)
    seed_warehouses(cloud_engine)
    return running, await connect_shop(cloud_engine, sealer, running, stock=None)


@contextmanager
def patched(name: str, value: Any) -> Iterator[None]:
    orig = getattr(order_sync, name)
    setattr(order_sync, name, value)
    try:
        yield
    finally:
        setattr(order_sync, name, orig)


def client(engine: Engine, sealer: Sealer, running: RunningFake, shop_id: str,
           http: httpx.AsyncClient) -> ShopClient:
    return open_client(engine, sealer, shop_id, http=http, clock=running.fake.clock.now,
                       retry=fast_retry())


def windows_of(now: datetime) -> list[tuple[datetime, datetime]]:
    """Hand-planned: 30-minute windows from now − 3 h − 5 min overlap, 25 minutes apart,
    the last one ending 3 minutes before now."""
    out, start = [], now - timedelta(hours=3, minutes=5)
    while start + timedelta(minutes=5) < now - timedelta(minutes=3):
        end = min(start + timedelta(minutes=30), now - timedelta(minutes=3))
        out.append((start, end))
        start = end - timedelta(minutes=5)
    return out


def stored_ids(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.select(orders.c.platform_order_id)).scalars())


async def test_reads_go_on_while_a_window_is_written_one_window_at_a_time_in_order(
    cloud_engine: Engine, sealer: Sealer, shop: tuple[RunningFake, str],
) -> None:
    running, shop_id = shop
    now = datetime.fromtimestamp(running.fake.now(), UTC)
    writing = threading.Event()
    read_while_writing = threading.Event()
    written: list[tuple[datetime, datetime]] = []
    in_flight = {"now": 0, "max": 0}
    lock = threading.Lock()
    real = order_sync._store_window

    def store(engine: Engine, shop_id: str, window: tuple[datetime, datetime],
              *args: Any, **kwargs: Any) -> None:
        with lock:
            in_flight["now"] += 1
            in_flight["max"] = max(in_flight["max"], in_flight["now"])
        try:
            if not written:
                writing.set()
                read_while_writing.wait(WAIT)
            real(engine, shop_id, window, *args, **kwargs)
            written.append(window)
        finally:
            writing.clear()
            with lock:
                in_flight["now"] -= 1

    async with httpx.AsyncClient(timeout=5) as http:
        sc = client(cloud_engine, sealer, running, shop_id, http)
        inner = sc.client.list_orders

        async def list_orders(start: datetime, end: datetime, **kw: Any) -> Any:
            if writing.is_set():
                read_while_writing.set()
            return await inner(start, end, **kw)

        sc.client.list_orders = list_orders  # type: ignore[method-assign]
        with patched("_store_window", store):
            result = await sync_orders(cloud_engine, sc, platform_now=now, now=now,
                                       settings=SyncSettings(initial_lookback=timedelta(hours=3),
                                                             read_ahead=1))
    # The next window was read while the first one was being written.
    assert read_while_writing.is_set()
    assert written == windows_of(now) and result.windows == len(written)
    assert in_flight["max"] == 1
    truth = {o.order_id for o in running.fake.orders()
             if o.updated_at <= now.timestamp() - 180}
    assert stored_ids(cloud_engine) == truth


async def test_a_window_whose_write_fails_keeps_the_checkpoint_and_is_read_again(
    cloud_engine: Engine, sealer: Sealer, shop: tuple[RunningFake, str],
) -> None:
    running, shop_id = shop
    now = datetime.fromtimestamp(running.fake.now(), UTC)
    planned = windows_of(now)
    third = planned[2]
    real_set_cursor = order_sync.set_cursor

    def set_cursor(conn: Any, shop_id: str, stream: str, cursor: datetime, *args: Any,
                   **kwargs: Any) -> None:
        if cursor == third[1]:
            raise RuntimeError("injected write failure")  # inside the window's transaction
        real_set_cursor(conn, shop_id, stream, cursor, *args, **kwargs)

    settings = SyncSettings(initial_lookback=timedelta(hours=3), read_ahead=4)
    async with httpx.AsyncClient(timeout=5) as http:
        sc = client(cloud_engine, sealer, running, shop_id, http)
        with patched("set_cursor", set_cursor), \
                pytest.raises(RuntimeError, match="injected write failure"):
            await sync_orders(cloud_engine, sc, platform_now=now, now=now, settings=settings)
        with cloud_engine.connect() as conn:
            assert get_cursor(conn, shop_id, "orders") == planned[1][1]
        truth = {o.order_id: o.updated_at for o in running.fake.orders()}
        # Nothing of the failed window (nor of later ones) is stored.
        assert stored_ids(cloud_engine) == {
            k for k, at in truth.items() if at <= planned[1][1].timestamp()}
        # The next run starts at the window that failed.
        starts: list[datetime] = []
        sc2 = client(cloud_engine, sealer, running, shop_id, http)
        inner = sc2.client.list_orders

        async def list_orders(start: datetime, end: datetime, **kw: Any) -> Any:
            starts.append(start)
            return await inner(start, end, **kw)

        sc2.client.list_orders = list_orders  # type: ignore[method-assign]
        result = await sync_orders(cloud_engine, sc2, platform_now=now, now=now,
                                   settings=settings)
    assert min(starts) == third[0] == planned[1][1] - timedelta(minutes=5)
    assert result.windows == len(planned) - 2
    with cloud_engine.connect() as conn:
        assert get_cursor(conn, shop_id, "orders") == now - timedelta(minutes=3)
    assert stored_ids(cloud_engine) == {
        k for k, at in truth.items() if at <= now.timestamp() - 180}


async def test_a_read_failing_while_a_window_is_written_waits_for_that_write(
    cloud_engine: Engine, sealer: Sealer, shop: tuple[RunningFake, str],
) -> None:
    running, shop_id = shop
    now = datetime.fromtimestamp(running.fake.now(), UTC)
    planned = windows_of(now)
    read_failed = threading.Event()
    wrote_first = threading.Event()
    real = order_sync._store_window

    def store(engine: Engine, shop_id: str, window: tuple[datetime, datetime],
              *args: Any, **kwargs: Any) -> None:
        if window == planned[0]:
            read_failed.wait(WAIT)
        real(engine, shop_id, window, *args, **kwargs)
        if window == planned[0]:
            wrote_first.set()

    async with httpx.AsyncClient(timeout=5) as http:
        sc = client(cloud_engine, sealer, running, shop_id, http)
        inner = sc.client.list_orders

        async def list_orders(start: datetime, end: datetime, **kw: Any) -> Any:
            if start == planned[1][0]:
                read_failed.set()
                raise TransientError("injected read failure")
            return await inner(start, end, **kw)

        sc.client.list_orders = list_orders  # type: ignore[method-assign]
        with patched("_store_window", store), \
                pytest.raises(TransientError, match="injected read failure"):
            await sync_orders(cloud_engine, sc, platform_now=now, now=now,
                              settings=SyncSettings(initial_lookback=timedelta(hours=3),
                                                    read_ahead=1))
        # The error came up only after the window being written had committed.
        assert read_failed.is_set() and wrote_first.is_set()
    with cloud_engine.connect() as conn:
        assert get_cursor(conn, shop_id, "orders") == planned[0][1]
