"""Shops (OAuth, encrypted tokens, refresh), push messages, leases, stock push, the CLI."""

from __future__ import annotations

import asyncio
import re
import sys
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from cloud.cli import run
from cloud.crypto import Sealer, load_or_create_key
from cloud.db import make_engine, migrate, shops, write_transaction
from cloud.db.schema_orders import orders, push_inbox, stock_pushes
from cloud.marketplaces.base import OrderLine, OrderStatus, PlatformOrder, StockUpdate
from cloud.marketplaces.fake_server import RunningFake
from cloud.orders.order_sync import upsert_order
from cloud.orders.stock_push import add_mapping, push_stock
from cloud.orders.worker import Worker, WorkerSettings, acquire_lease, release_lease
from cloud.shops import ShopError, add_shop, authorize_url, exchange_code, load_shop
from tests.cloud.orders.support import (
    connect_shop,
    fast_retry,
    merchant_approves,
    receive,
    seed_warehouses,
    ship_at_station,
)

QUIET = WorkerSettings(listen_push=False, poll_refunds=False, http_timeout=1.0)


async def test_several_shops_on_both_platforms_with_tokens_encrypted_and_refreshed(
    cloud_engine: Engine, sealer: Sealer, serve: Callable[..., RunningFake],
) -> None:
    pdd_a = serve("pdd", seed=1, shop_id="501", orders_per_hour=60, history_hours=1)
    pdd_b = serve("pdd", seed=2, shop_id="502", orders_per_hour=60, history_hours=1)
    top = serve("taobao", seed=3, shop_id="503", orders_per_hour=60, history_hours=1)
    seed_warehouses(cloud_engine)
    ids = [await connect_shop(cloud_engine, sealer, r, name=f"店{i}")
           for i, r in enumerate((pdd_a, pdd_b, top))]
    assert ids == ["pdd1", "pdd2", "taobao1"]
    with cloud_engine.connect() as conn:
        sellers = conn.execute(sa.select(shops.c.id, shops.c.seller_id).order_by(shops.c.id)).all()
        stored = load_shop(conn, sealer, "pdd1")
        raw = conn.execute(sa.select(shops.c.access_token_enc).where(shops.c.id == "pdd1")
                           ).scalar_one()
    assert [tuple(r) for r in sellers] == [("pdd1", "501"), ("pdd2", "502"), ("taobao1", "503")]
    assert stored.token is not None and stored.token.access_token not in raw
    # The token dies on the platform: the next call refreshes it once and stores the new one.
    pdd_a.fake.expire_token(stored.token.access_token)
    async with Worker(cloud_engine, sealer, settings=QUIET, clock=pdd_a.fake.clock.now,
                      retry=fast_retry()) as worker:
        reports = await worker.run(once=True)
    assert [r.shop_id for r in reports] == ids and all(not r.error for r in reports)
    assert pdd_a.fake.tokens.refreshes == 1 and pdd_b.fake.tokens.refreshes == 0
    with cloud_engine.connect() as conn:
        fresh = load_shop(conn, sealer, "pdd1").token
        counts = dict(conn.execute(sa.select(orders.c.shop_id, sa.func.count()).group_by(
            orders.c.shop_id)).all())
    assert fresh is not None and fresh.access_token != stored.token.access_token
    assert pdd_a.fake.tokens.check(fresh.access_token) == "ok"
    assert set(counts) == set(ids) and all(n > 10 for n in counts.values())


async def test_authorisation_is_refused_for_a_wrong_secret(
    cloud_engine: Engine, sealer: Sealer, serve: Callable[..., RunningFake],
) -> None:
    running = serve("pdd")
    with write_transaction(cloud_engine) as conn:
        shop_id = add_shop(conn, sealer, platform="pdd", name="x", app_key="demo_client_id",
                           app_secret="wrong", gateway_url=running.base_url)
        shop = load_shop(conn, sealer, shop_id)
    url = authorize_url(shop, "http://127.0.0.1/cb", "st8")
    assert url.startswith(f"{running.base_url}/oauth/authorize?response_type=code&client_id=")
    async with httpx.AsyncClient() as http:
        with pytest.raises(ShopError, match="授权失败"):
            await exchange_code(cloud_engine, sealer, shop_id, "c", http=http)


def test_key_file_is_private_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "k" / "secret.key"
    key = load_or_create_key(path)
    assert load_or_create_key(path) == key and path.stat().st_mode & 0o777 == 0o600
    assert Sealer(key).unseal(Sealer(key).seal("x")) == "x"


async def test_a_pdd_push_message_brings_the_order_in_before_polling(
    cloud_engine: Engine, sealer: Sealer, serve: Callable[..., RunningFake],
) -> None:
    running = serve("pdd", orders_per_hour=0.0001)
    fake = running.fake
    seed_warehouses(cloud_engine)
    shop_id = await connect_shop(cloud_engine, sealer, running)
    with fake.lock:
        order = fake.gen.new_order(fake.now())
        fake._publish_events()
    stop = asyncio.Event()
    async with Worker(cloud_engine, sealer, settings=QUIET, clock=fake.clock.now,
                      retry=fast_retry()) as worker:
        worker.client(shop_id)
        task = asyncio.create_task(worker.listen_pdd(shop_id, stop))
        for _ in range(100):
            await asyncio.sleep(0.05)
            with cloud_engine.connect() as conn:
                got = conn.execute(sa.select(orders.c.platform_order_id)).scalars().all()
            if got and fake.pmc_acked:
                break
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    assert got == [order.order_id]
    with cloud_engine.connect() as conn:
        inbox = conn.execute(sa.select(push_inbox.c.topic, push_inbox.c.platform_order_id)).all()
    assert [tuple(r) for r in inbox] == [("pdd_trade_TradeConfirmed", order.order_id)]
    assert len(fake.pmc_acked) == 1


def test_a_shop_lease_has_one_holder(cloud_engine: Engine) -> None:
    now = datetime.now(UTC)
    ttl = timedelta(minutes=1)
    assert acquire_lease(cloud_engine, "shop:x", "w1", ttl, now=now)
    assert not acquire_lease(cloud_engine, "shop:x", "w2", ttl, now=now)
    assert acquire_lease(cloud_engine, "shop:x", "w1", ttl, now=now)  # renewal
    assert acquire_lease(cloud_engine, "shop:x", "w2", ttl, now=now + 2 * ttl)  # expired
    release_lease(cloud_engine, "shop:x", "w2")
    assert acquire_lease(cloud_engine, "shop:x", "w1", ttl, now=now + 2 * ttl)


class RecordingClient:
    """A platform stub for stock pushes: records every update."""

    def __init__(self) -> None:
        self.updates: list[StockUpdate] = []

    async def update_stock(self, update: StockUpdate) -> None:
        self.updates.append(update)


class _SC:
    def __init__(self, shop: object, client: RecordingClient) -> None:
        self.shop, self.client = shop, client


STEPS = st.lists(st.tuples(st.sampled_from(["order", "ship", "cancel", "receive"]),
                           st.integers(0, 2), st.integers(1, 6)), min_size=1, max_size=25)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS, buffer_units=st.integers(0, 3), buffer_percent=st.integers(0, 30))
def test_stock_push_never_exceeds_available_to_sell(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, int, int]],
    buffer_units: int, buffer_percent: int,
) -> None:
    from cloud.orders.allocation import allocate_pending

    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('p')}/p.db")
    migrate(engine)
    sealer = Sealer(Fernet.generate_key())
    seed_warehouses(engine, stations_per={"WH1": ["ST1"]})
    skus_ = ["S0", "S1", "S2"]
    with write_transaction(engine) as conn:
        add_shop(conn, sealer, platform="pdd", name="s", app_key="k", app_secret="x",
                 shop_id="pdd1", default_warehouse_id="WH1")
        from cloud.db import skus as skus_table

        for n, sku in enumerate(skus_):
            conn.execute(sa.insert(skus_table).values(sku=sku, name_zh=sku))
            add_mapping(conn, "pdd1", item_id=f"I{n}", sku_id=f"K{n}", sku=sku,
                        buffer_units=buffer_units, buffer_percent=buffer_percent,
                        now=datetime.now(UTC))
    with engine.connect() as conn:
        shop = load_shop(conn, sealer, "pdd1")
    client = RecordingClient()
    open_orders: list[str] = []
    seq = 0
    now = datetime(2026, 11, 25, tzinfo=UTC)  # the one clock of this run (after every order)
    for kind, k, qty in steps:
        if kind == "receive":
            receive(engine, "WH1", skus_[k], qty)
        elif kind == "order":
            seq += 1
            po = PlatformOrder(platform="pdd", order_id=f"261123-{seq:015d}",
                               status=OrderStatus.AWAITING_SHIPMENT, raw_status="1",
                               updated_at=datetime(2026, 11, 23, tzinfo=UTC) + timedelta(seconds=seq),
                               lines=(OrderLine(sku_id=f"K{k}", outer_id="", qty=qty, price_fen=1),))
            with write_transaction(engine) as conn:
                upsert_order(conn, "pdd1", po, now=now)
            allocate_pending(engine, "pdd1", "WH1", now=now)
            open_orders.append(f"pdd-{po.order_id}")
        elif kind in ("ship", "cancel") and open_orders:
            oid = open_orders.pop(k % len(open_orders))
            with engine.connect() as conn:
                state = conn.execute(sa.select(orders.c.state).where(orders.c.id == oid)
                                     ).scalar_one()
            if state != "allocated":
                continue
            if kind == "ship":
                ship_at_station(engine, oid, f"W{oid[-6:]}")
                from cloud.orders.writeback import collect_shipments

                with write_transaction(engine) as conn:
                    collect_shipments(conn, "pdd1", now=now)
            else:
                old = PlatformOrder(platform="pdd", order_id=oid.split("-", 1)[1],
                                    status=OrderStatus.CLOSED, raw_status="1",
                                    updated_at=datetime(2026, 11, 24, tzinfo=UTC) + timedelta(
                                        seconds=seq), lines=())
                with write_transaction(engine) as conn:
                    upsert_order(conn, "pdd1", old, now=now)
        asyncio.run(push_stock(engine, _SC(shop, client), now=now))
        # Independently: on-hand and open reservations straight from the tables.
        with engine.connect() as conn:
            for n, sku in enumerate(skus_):
                on_hand = conn.execute(sa.text(
                    "SELECT COALESCE(SUM(qty), 0) FROM stock_balances WHERE sku = :s"),
                    {"s": sku}).scalar_one()
                held = conn.execute(sa.text(
                    "SELECT COALESCE(SUM(qty - shipped_qty), 0) FROM reservations"
                    " WHERE sku = :s AND released_at IS NULL"), {"s": sku}).scalar_one()
                buffer = buffer_units + -(-max(on_hand, 0) * buffer_percent // 100)
                limit = max(0, on_hand - held - buffer)
                pushed = [u.quantity for u in client.updates if u.sku_id == f"K{n}"]
                if pushed:
                    assert pushed[-1] == limit  # the platform shows exactly what may be sold
                assert all(q >= 0 for q in pushed)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(stock_pushes)).all()
    engine.dispose()
    assert len(rows) == len(client.updates)
    for r in rows:
        assert r.ok and 0 <= r.pushed == r.available
        assert r.available == max(0, r.on_hand - r.reserved - r.buffer)
        assert r.pushed * r.units <= r.guard_units


def test_cli_add_authorise_sync_and_list(
    tmp_path: Path, serve: Callable[..., RunningFake], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    running = serve("pdd", history_hours=2, orders_per_hour=30)
    monkeypatch.setenv("PACKLINE_CLOUD_DATA_DIR", str(tmp_path))
    assert run(["init-db"]) == 0
    assert run(["shop", "add", "--platform", "pdd", "--name", "旗舰店", "--app-key",
                "demo_client_id", "--app-secret", "demo_secret", "--gateway",
                running.base_url, "--warehouse", "WH1"]) == 0
    assert "pdd1" in capsys.readouterr().out
    assert run(["shop", "authorize", "pdd1", "--code",
                merchant_approves(running.base_url, "demo_client_id")]) == 0
    assert "已授权" in capsys.readouterr().out
    assert run(["--lang", "en", "shop", "list"]) == 0
    listing = capsys.readouterr().out
    assert "pdd1" in listing and "active" in listing and "demo_secret" not in listing
    sku = running.fake.gen.catalog[0]
    assert run(["map", "add", "pdd1", "--item", sku.item_id, "--sku-id", sku.sku_id,
                "--sku", sku.outer_id, "--buffer", "1"]) == 0
    # the fake's gift (赠品) has no listing: mapped so orders with it are not unmapped, never pushed
    assert run(["map", "add", "pdd1", "--item", "100099999", "--sku-id", "1000099999",
                "--sku", "GIFT-001", "--no-push"]) == 0
    other = running.fake.gen.catalog[1]
    assert run(["map", "add", "pdd1", "--item", other.item_id, "--sku-id", other.sku_id,
                "--sku", other.outer_id, "--min", "9", "--max", "5"]) == 2
    assert "--min cannot be above --max" in capsys.readouterr().err
    switch: list[float] = []
    monkeypatch.setattr(sys, "setswitchinterval", switch.append)
    assert run(["--lang", "en", "worker", "--once", "--no-push"]) == 0
    assert switch == [0.001]  # the worker process's interpreter setting (worker.SWITCH_INTERVAL)
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("pdd1: new ")
    # A new shop pushes nothing before its first-push preview is confirmed.
    assert out.splitlines()[-1].endswith(
        "stock pushes 0, awaiting first-push confirmation 1 (shop push-preview)"), out
    assert running.fake.stock_pushes == []
    assert run(["--lang", "en", "shop", "push-preview", "pdd1"]) == 0
    preview = capsys.readouterr().out
    assert re.search(rf"{sku.item_id} +{sku.sku_id} +{sku.outer_id} +- +0 +on hand 0 − reserved "
                     r"[1-9]\d* → share -[1-9]\d* − buffer 1", preview), preview
    assert "1 listing(s) would be set to 0 (off sale)" in preview
    assert run(["--lang", "en", "shop", "confirm-push", "pdd1", "--trust"]) == 0
    assert "confirmed" in capsys.readouterr().out
    assert run(["--lang", "en", "worker", "--once", "--no-push"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("stock pushes 1")
    assert [(p.sku_id, p.quantity) for p in running.fake.stock_pushes] == [(sku.sku_id, 0)]
    assert run(["--lang", "en", "orders", "list", "--limit", "5"]) == 0
    out = capsys.readouterr().out
    assert "totals:" in out and "*" in out
    assert run(["--lang", "en", "orders", "exceptions"]) == 0
    assert "unmapped" in capsys.readouterr().out
    assert run(["--lang", "en", "map", "list", "pdd1"]) == 0
    # No stock yet; the paid orders of the SKU reserve it all the same (held: out of stock).
    listing = capsys.readouterr().out
    assert re.search(r" 0 \(0-[1-9]\d*-1\)", listing), listing
    assert run(["shop", "authorize", "nope", "--code", "x"]) == 1
    assert "no such shop" in capsys.readouterr().err
    secret = (tmp_path / "secret.key")
    assert secret.exists() and "demo_secret" not in (tmp_path / "cloud.db").read_bytes().decode(
        "latin-1")


def test_a_refused_push_says_what_the_platform_said(
    tmp_path: Path, serve: Callable[..., RunningFake], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A listing the platform does not know: the worker's line and ``map list`` carry the
    platform's code and message (they once showed only "✗" and "stock pushes 0")."""
    running = serve("pdd", history_hours=0, orders_per_hour=0.0001)
    monkeypatch.setenv("PACKLINE_CLOUD_DATA_DIR", str(tmp_path))
    assert run(["init-db"]) == 0
    assert run(["shop", "add", "--platform", "pdd", "--name", "旗舰店", "--app-key",
                "demo_client_id", "--app-secret", "demo_secret", "--gateway",
                running.base_url, "--warehouse", "WH1"]) == 0
    assert run(["shop", "authorize", "pdd1", "--code",
                merchant_approves(running.base_url, "demo_client_id")]) == 0
    assert run(["map", "add", "pdd1", "--item", "777", "--sku-id", "7770", "--sku", "NOPE"]) == 0
    assert run(["shop", "confirm-push", "pdd1", "--trust"]) == 0
    capsys.readouterr()
    assert run(["--lang", "en", "worker", "--once", "--no-push"]) == 0
    line = capsys.readouterr().out.splitlines()[-1]
    assert line.endswith("push failures 1 (e.g. 777/7770 50001: 商品或SKU不存在; map list pdd1)"), line
    assert run(["--lang", "en", "map", "list", "pdd1"]) == 0
    assert "✗ 50001: 商品或SKU不存在" in capsys.readouterr().out


def test_shop_authorize_takes_the_redirect_on_a_local_callback(
    tmp_path: Path, serve: Callable[..., RunningFake], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As on the platforms: `shop authorize` prints the consent page's address and listens
    on 127.0.0.1; the merchant approves in the browser, which the fake redirects to the
    local callback with a one-use code and the state; the command exchanges it. A redirect
    with another state is refused."""
    import os
    import subprocess
    import sys

    running = serve("taobao", history_hours=0, orders_per_hour=0.0001)
    monkeypatch.setenv("PACKLINE_CLOUD_DATA_DIR", str(tmp_path))
    assert run(["init-db"]) == 0
    assert run(["shop", "add", "--platform", "taobao", "--name", "专营店", "--app-key",
                "12345678", "--app-secret", "helloworld", "--gateway", running.base_url]) == 0
    env = {**os.environ, "PACKLINE_CLOUD_DATA_DIR": str(tmp_path), "PACKLINE_LANG": "en",
           "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "cloud", "shop", "authorize", "taobao1",
                             "--wait", "60"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        url = ""
        for line in proc.stdout:
            if line.startswith(running.base_url):
                url = line.strip()
                break
        assert url.startswith(f"{running.base_url}/oauth/authorize?"), url
        page = httpx.get(url)
        assert page.status_code == 200 and "同意授权" in page.text
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        forged = httpx.get(query["redirect_uri"], params={"code": "x", "state": "forged"})
        assert forged.status_code == 400  # not ours: refused, the command keeps nothing
        rest = proc.communicate(timeout=30)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0 and "the state does not match" in rest, rest

    proc = subprocess.Popen([sys.executable, "-m", "cloud", "shop", "authorize", "taobao1",
                             "--wait", "60"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        url = next(line.strip() for line in proc.stdout if line.startswith(running.base_url))
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        approved = httpx.post(f"{running.base_url}/oauth/authorize", data=query,
                              follow_redirects=True)  # 同意授权, then back to the callback
        assert approved.status_code == 200 and "authorised" in approved.text
        out = proc.communicate(timeout=30)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "shop taobao1 authorised (platform shop 2200012345678" in out


async def test_one_pass_gives_its_leases_back_and_says_when_a_shop_is_busy(
    cloud_engine: Engine, sealer: Sealer, serve: Callable[..., RunningFake],
) -> None:
    """``worker --once`` twice in a row: the second pass runs too (the first gave its
    leases back at once instead of letting them lapse); a shop another worker holds is
    reported as busy, not silently skipped."""
    running = serve("pdd", seed=4, orders_per_hour=60, history_hours=1)
    seed_warehouses(cloud_engine)
    shop_id = await connect_shop(cloud_engine, sealer, running)
    for _ in range(2):
        async with Worker(cloud_engine, sealer, settings=QUIET, clock=running.fake.clock.now,
                          retry=fast_retry()) as worker:
            reports = await worker.run(once=True)
        assert [(r.shop_id, r.busy) for r in reports] == [(shop_id, False)]
    now = datetime.fromtimestamp(running.fake.clock.now(), UTC)
    assert acquire_lease(cloud_engine, f"shop:{shop_id}", "someone-else", QUIET.lease_ttl,
                         now=now)
    told: list[tuple[str, bool]] = []
    async with Worker(cloud_engine, sealer, settings=QUIET, clock=running.fake.clock.now,
                      retry=fast_retry()) as worker:
        assert await worker.run(once=True, on_report=lambda r: told.append(
            (r.shop_id, r.busy))) == []
    assert told == [(shop_id, True)]
