"""Order sync: windows, overlap, backwards paging, checkpoint resume, idempotent upsert, PII."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from cloud.crypto import Sealer
from cloud.db import metadata, shops, write_transaction
from cloud.db.schema_orders import order_lines, orders, sync_cursors
from cloud.marketplaces.base import OrderLine, OrderStatus, PlatformOrder, Receiver
from cloud.marketplaces.fake_server import RunningFake
from cloud.orders.order_sync import SyncSettings, get_cursor, sync_orders, upsert_order
from cloud.orders.worker import Worker, WorkerSettings
from cloud.shops import add_shop, open_client
from tests.cloud.orders.support import connect_shop, fast_retry, seed_warehouses

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
"""A fixed time for rows stamped outside a worker."""

class Recorder:
    """Wraps a client's ``list_orders`` to record (start, end, page, use_has_next)."""

    def __init__(self, client: Any, fail_at: int | None = None) -> None:
        self.client = client
        self.calls: list[tuple[datetime, datetime, int, bool]] = []
        self.fail_at = fail_at
        self._orig = client.list_orders
        client.list_orders = self.list_orders

    async def list_orders(self, start: datetime, end: datetime, *, page: int = 1,
                          page_size: int = 100, use_has_next: bool = False) -> Any:
        self.calls.append((start, end, page, use_has_next))
        if self.fail_at is not None and len(self.calls) == self.fail_at:
            from cloud.marketplaces.errors import TransientError

            raise TransientError("injected crash")
        return await self._orig(start, end, page=page, page_size=page_size,
                                use_has_next=use_has_next)


async def test_windows_overlap_backwards_paging_and_resume_after_a_crash(
    cloud_engine: Engine, sealer: Sealer, serve: Callable[..., RunningFake],
) -> None:
    running = serve("pdd", history_hours=3, orders_per_hour=900)
    fake = running.fake
    seed_warehouses(cloud_engine)
    shop_id = await connect_shop(cloud_engine, sealer, running, stock=None)
    # One window at a time, so "the 9th call" has one meaning (read-ahead: the test below).
    sync = SyncSettings(initial_lookback=timedelta(hours=3, minutes=10), page_size=40,
                        read_ahead=1)
    now = datetime.fromtimestamp(fake.now(), UTC)
    import httpx

    async with httpx.AsyncClient(timeout=5) as http:
        sc = open_client(cloud_engine, sealer, shop_id, http=http, clock=fake.clock.now,
                         retry=fast_retry())
        rec = Recorder(sc.client, fail_at=9)  # dies inside a multi-page window
        with pytest.raises(Exception, match="injected crash"):
            await sync_orders(cloud_engine, sc, platform_now=now, now=now, settings=sync)
        with cloud_engine.connect() as conn:
            cursor_after_crash = get_cursor(conn, shop_id, "orders")
        # Only windows whose every page was read moved the checkpoint.
        windows = sorted({(c[0], c[1]) for c in rec.calls})
        assert cursor_after_crash == windows[-2][1]
        # A fresh process resumes from the checkpoint.
        sc2 = open_client(cloud_engine, sealer, shop_id, http=http, clock=fake.clock.now,
                          retry=fast_retry())
        rec2 = Recorder(sc2.client)
        result = await sync_orders(cloud_engine, sc2, platform_now=now, now=now, settings=sync)
    assert rec2.calls[0][0] == cursor_after_crash - timedelta(minutes=5)
    by_window: dict[tuple[datetime, datetime], list[tuple[int, bool]]] = {}
    for start, end, page, has_next in rec2.calls:
        by_window.setdefault((start, end), []).append((page, has_next))
    spans = sorted(by_window)
    for (_s1, e1), (s2, _e2) in itertools.pairwise(spans):
        assert s2 == e1 - timedelta(minutes=5)  # 5-minute overlap
    for (start, end), pages in by_window.items():
        assert end - start <= timedelta(minutes=30)
        assert pages[0] == (1, False)  # count first
        rest = [p for p, _ in pages[1:]]
        assert rest == sorted(rest, reverse=True) and all(h for _, h in pages[1:])
        if rest:
            assert rest[-1] == 1  # page 1 read again, last
    assert spans[-1][1] == now - timedelta(minutes=3)
    assert any(len(p) > 2 for p in by_window.values())  # multi-page windows happened
    assert result.windows == len(spans)
    truth = {o.order_id: o for o in fake.orders()}
    with cloud_engine.connect() as conn:
        stored = dict(conn.execute(sa.select(orders.c.platform_order_id,
                                             orders.c.platform_updated_at)).all())
        cursor = conn.execute(sa.select(sync_cursors.c.cursor_at)).scalar_one()
    assert cursor == now - timedelta(minutes=3)
    expected = {k for k, o in truth.items() if o.updated_at <= now.timestamp() - 180}
    assert set(stored) == expected
    for k in expected:
        assert stored[k] == datetime.fromtimestamp(truth[k].updated_at, UTC)


async def test_windows_are_read_ahead_together_but_stored_in_order(
    cloud_engine: Engine, sealer: Sealer, serve: Callable[..., RunningFake],
) -> None:
    """Several windows are read at once; a failure in the third leaves the checkpoint at
    the end of the second, even though later windows were read."""
    running = serve("pdd", history_hours=3, orders_per_hour=300)
    seed_warehouses(cloud_engine)
    shop_id = await connect_shop(cloud_engine, sealer, running, stock=None)
    now = datetime.fromtimestamp(running.fake.now(), UTC)
    sync = SyncSettings(initial_lookback=timedelta(hours=3), read_ahead=4)
    # Hand-planned: 30-minute windows from now − 3 h − 5 min overlap, 25 minutes apart.
    first = now - timedelta(hours=3, minutes=5)
    third_start = first + timedelta(minutes=50)
    second_end = first + timedelta(minutes=55)
    import asyncio

    import httpx

    async with httpx.AsyncClient(timeout=5) as http:
        sc = open_client(cloud_engine, sealer, shop_id, http=http, clock=fake_clock(running),
                         retry=fast_retry())
        inner = sc.client.list_orders
        flight = {"now": 0, "max": 0}
        starts: list[datetime] = []

        async def list_orders(start: datetime, end: datetime, **kw: Any) -> Any:
            flight["now"] += 1
            flight["max"] = max(flight["max"], flight["now"])
            starts.append(start)
            try:
                await asyncio.sleep(0.05)
                if start == third_start:
                    from cloud.marketplaces.errors import TransientError

                    raise TransientError("injected crash")
                return await inner(start, end, **kw)
            finally:
                flight["now"] -= 1

        sc.client.list_orders = list_orders  # type: ignore[method-assign]
        with pytest.raises(Exception, match="injected crash"):
            await sync_orders(cloud_engine, sc, platform_now=now, now=now, settings=sync)
    assert flight["max"] >= 4
    assert any(s > third_start for s in starts)  # a later window was read too
    with cloud_engine.connect() as conn:
        assert get_cursor(conn, shop_id, "orders") == second_end


def fake_clock(running: RunningFake) -> Callable[[], float]:
    return running.fake.clock.now  # type: ignore[no-any-return]


def _po(n: int, *, note: str = "", qty: int = 1, status: OrderStatus = OrderStatus.AWAITING_SHIPMENT
        ) -> PlatformOrder:
    return PlatformOrder(
        platform="pdd", order_id="261123-000000000000001", status=status, raw_status="1",
        updated_at=datetime(2026, 11, 23, 8, 0, tzinfo=UTC) + timedelta(minutes=n),
        lines=(OrderLine(sku_id="1000000001", outer_id="SKU-0002", qty=qty, price_fen=990),),
        buyer_note=note, receiver=Receiver(name_cipher="~abc~", name_mask="王*"), pay_fen=990 * qty)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=12))
def test_upsert_is_idempotent_and_newest_wins(tmp_path_factory: pytest.TempPathFactory,
                                              order: list[int]) -> None:
    from cryptography.fernet import Fernet

    from cloud.db import make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('u')}/u.db")
    migrate(engine)
    sealer = Sealer(Fernet.generate_key())
    versions = {n: _po(n, note=f"v{n}", qty=n + 1) for n in range(5)}
    with write_transaction(engine) as conn:
        add_shop(conn, sealer, platform="pdd", name="s", app_key="k", app_secret="s",
                 shop_id="pdd1")
        kinds = [upsert_order(conn, "pdd1", versions[n], now=datetime(2026, 11, 23, 12, tzinfo=UTC))[0]
                 for n in order]
    newest = max(order)
    with engine.connect() as conn:
        row = conn.execute(sa.select(orders)).one()
        lines = conn.execute(sa.select(order_lines.c.qty)).scalars().all()
    engine.dispose()
    assert row.platform_updated_at == versions[newest].updated_at
    assert row.buyer_note == f"v{newest}" and lines == [newest + 1]
    # One insert, then an update exactly when a strictly newer version arrives.
    expected, best = [], -1
    for n in order:
        expected.append("inserted" if best < 0 else "updated" if n > best else "stale")
        best = max(best, n)
    assert kinds == expected
    assert row.revision == 1 + expected.count("updated")


@pytest.mark.parametrize("platform", ["pdd", "taobao"])
async def test_no_buyer_pii_or_secret_in_clear_anywhere(
    cloud_engine: Engine, sealer: Sealer, serve: Callable[..., RunningFake], platform: str,
) -> None:
    running = serve(platform, history_hours=2, orders_per_hour=120)
    fake = running.fake
    seed_warehouses(cloud_engine)
    shop_id = await connect_shop(cloud_engine, sealer, running)
    settings_ = WorkerSettings(listen_push=False, poll_refunds=False, http_timeout=2.0)
    async with Worker(cloud_engine, sealer, settings=settings_, clock=fake.clock.now,
                      retry=fast_retry()) as worker:
        report = await worker.tick(shop_id)
    assert report.error == "" and report.sync is not None and report.sync.inserted > 100
    dump: list[str] = []
    with cloud_engine.connect() as conn:
        for table in metadata.sorted_tables:
            if not sa.inspect(cloud_engine).has_table(table.name):
                continue
            for row in conn.execute(sa.select(table)):
                dump += [json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list)
                         else str(v) for v in row]
        token_enc = conn.execute(sa.select(shops.c.access_token_enc)).scalar_one()
        masked = conn.execute(sa.select(orders.c.receiver_masked)).scalars().first()
    text = "\n".join(dump)
    people = [o.receiver for o in fake.orders()]
    assert len(people) > 100
    for p in people:
        assert p.phone not in text
        assert p.detail not in text
        assert p.name not in text
    for token in [*fake.tokens.by_access, *fake.tokens.by_refresh]:
        assert token not in text
    assert fake.settings.app_secret not in text
    assert sealer.unseal(token_enc) in fake.tokens.by_access
    assert masked and "*" in (masked["name"] + masked["phone"])


def test_a_change_in_the_same_second_is_an_update_and_a_repeat_is_stale(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    from cryptography.fernet import Fernet

    from cloud.db import make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('s')}/s.db")
    migrate(engine)
    first = _po(0, note="请放门口", qty=1)
    noted = _po(0, note="请放快递柜", qty=1)  # the buyer edited the note within the same second
    more = _po(0, note="请放快递柜", qty=2)
    with write_transaction(engine) as conn:
        add_shop(conn, Sealer(Fernet.generate_key()), platform="pdd", name="s", app_key="k",
                 app_secret="s", shop_id="pdd1")
        kinds = [upsert_order(conn, "pdd1", po, now=NOW)[0]
                 for po in (first, first, noted, noted, more, more)]
    with engine.connect() as conn:
        row = conn.execute(sa.select(orders)).one()
        lines = conn.execute(sa.select(order_lines.c.qty)).scalars().all()
    engine.dispose()
    assert kinds == ["inserted", "stale", "updated", "stale", "updated", "stale"]
    assert (row.buyer_note, row.revision, lines) == ("请放快递柜", 3, [2])
