"""Allocation rules, exceptions, intercepts and exactly-once tracking write-back."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.crypto import Sealer
from cloud.db import write_transaction
from cloud.db.schema import downlink_outbox
from cloud.db.schema_orders import orders, reservations, tracking_writebacks, waybills
from cloud.marketplaces.errors import TransientError
from cloud.marketplaces.fake_server import RunningFake
from cloud.marketplaces.generator import Phase
from cloud.orders.stock_push import add_mapping
from cloud.orders.worker import Worker, WorkerSettings
from cloud.orders.writeback import collect_shipments, write_back
from cloud.shops import open_client
from tests.cloud.orders.support import (
    connect_shop,
    fast_retry,
    receive,
    seed_warehouses,
    ship_at_station,
    ship_many,
)

SETTINGS = WorkerSettings(listen_push=False, poll_refunds=False, http_timeout=1.0,
                          match_unknown_skus=False,
                          writeback_backoff=0.0)


def _plain(fake: object, n: int, *, skus: list[int] | None = None, qty: int = 1,
           ago: int = 600) -> list[str]:
    """``n`` reviewable orders (no note, no risk) created ``ago`` seconds back."""
    out = []
    f = fake.fake if isinstance(fake, RunningFake) else fake  # type: ignore[attr-defined]
    with f.lock:
        for i in range(n):
            o = f.gen.new_order(f.now() - ago + i)
            o.buyer_note, o.risk_review = "", False
            if skus is not None:
                from cloud.marketplaces.generator import Line

                o.lines = [Line(sku=f.gen.catalog[k], qty=qty, price_fen=100, line_id="")
                           for k in skus]
            out.append(o.order_id)
    return out


def _state(engine: Engine, platform_order_id: str) -> sa.Row[tuple[object, ...]]:
    with engine.connect() as conn:
        return conn.execute(sa.select(orders).where(
            orders.c.platform_order_id == platform_order_id)).one()


async def test_allocation_rules_and_the_exception_list(
    cloud_engine: Engine, sealer: Sealer, serve: Callable[..., RunningFake],
) -> None:
    running = serve("pdd")
    fake = running.fake
    seed_warehouses(cloud_engine)
    shop_id = await connect_shop(cloud_engine, sealer, running, stock=None,
                                 skip_outer=("SKU-0005",))
    receive(cloud_engine, "WH1", "SKU-0001", 5)
    receive(cloud_engine, "WH2", "SKU-0002", 5)
    [in_default] = _plain(fake, 1, skus=[0], qty=2)
    [in_other] = _plain(fake, 1, skus=[1], qty=2)
    [too_many] = _plain(fake, 1, skus=[0], qty=9)
    [unmapped] = _plain(fake, 1, skus=[0, 4])
    [noted] = _plain(fake, 1, skus=[0])
    [risky] = _plain(fake, 1, skus=[0])
    with fake.lock:
        fake.order(noted).buyer_note = "请发顺丰"
        fake.order(risky).risk_review = True
    async with Worker(cloud_engine, sealer, settings=SETTINGS, clock=fake.clock.now,
                      retry=fast_retry()) as worker:
        await worker.tick(shop_id)
        got = {k: _state(cloud_engine, k) for k in
               (in_default, in_other, too_many, unmapped, noted, risky)}
        assert (got[in_default].state, got[in_default].warehouse_id) == ("tasked", "WH1")
        assert (got[in_other].state, got[in_other].warehouse_id,
                got[in_other].station_id) == ("tasked", "WH2", "ST2")
        assert {k: (r.state, r.exception_code) for k, r in got.items()
                if r.state == "exception"} == {
            too_many: ("exception", "out_of_stock"), unmapped: ("exception", "unmapped"),
            noted: ("exception", "buyer_note"), risky: ("exception", "risk_review")}
        assert "SKU-0005" in got[unmapped].exception_detail
        assert "请发顺丰" in got[noted].exception_detail
        with cloud_engine.connect() as conn:
            held = conn.execute(sa.select(orders.c.platform_order_id, reservations.c.warehouse_id,
                                          reservations.c.sku, reservations.c.qty)
                                .join(orders, orders.c.id == reservations.c.order_id)
                                .where(reservations.c.released_at.is_(None))).all()
        # Every paid order holds its units, held or not: allocated ones in their warehouse,
        # the others in the shop's default warehouse; an unmapped line holds nothing.
        assert sorted(map(tuple, held)) == sorted([
            (in_default, "WH1", "SKU-0001", 2), (in_other, "WH2", "SKU-0002", 2),
            (too_many, "WH1", "SKU-0001", 9), (unmapped, "WH1", "SKU-0001", 1),
            (noted, "WH1", "SKU-0001", 1), (risky, "WH1", "SKU-0001", 1)])
        # Fixing the causes (stock arrives, the SKU gets mapped) allocates on the next pass.
        receive(cloud_engine, "WH1", "SKU-0001", 20)
        catalog = fake.gen.catalog[4]
        with write_transaction(cloud_engine) as conn:
            add_mapping(conn, shop_id, item_id=catalog.item_id, sku_id=catalog.sku_id,
                        outer_id=catalog.outer_id, sku=catalog.outer_id, now=datetime.now(UTC))
        receive(cloud_engine, "WH1", "SKU-0005", 3)
        await worker.tick(shop_id)
    assert _state(cloud_engine, too_many).state == "tasked"
    assert _state(cloud_engine, unmapped).state == "tasked"
    assert _state(cloud_engine, noted).state == "exception"


async def test_tracking_written_back_exactly_once_despite_faults(
    cloud_engine: Engine, sealer: Sealer, serve: Callable[..., RunningFake],
) -> None:
    # the client waits 0.6 s and a timeout fault stalls 0.9 s: an ordinary reply slowed by a
    # busy machine must not time out too (at 0.15 s it did, 1 run in ~7 under load)
    running = serve("pdd", fault_rate=0.3, timeout_delay=0.9)
    fake = running.fake
    seed_warehouses(cloud_engine)
    shop_id = await connect_shop(cloud_engine, sealer, running)
    ids = _plain(fake, 40, skus=[2])
    settings = WorkerSettings(listen_push=False, poll_refunds=False, http_timeout=0.6,
                              writeback_backoff=0.0)
    async with Worker(cloud_engine, sealer, settings=settings, clock=fake.clock.now,
                      retry=fast_retry()) as worker:
        for _ in range(15):
            await worker.tick(shop_id)
            with cloud_engine.connect() as conn:
                tasked = conn.execute(sa.select(orders.c.id, waybills.c.waybill_no).join(
                    waybills, waybills.c.order_id == orders.c.id).where(
                    orders.c.state == "tasked")).all()
                pending = conn.execute(sa.select(sa.func.count()).select_from(
                    tracking_writebacks).where(tracking_writebacks.c.state != "done")).scalar()
            ship_many(cloud_engine, [(o, w, True) for o, w in tasked])
            with cloud_engine.connect() as conn:
                done = conn.execute(sa.select(sa.func.count()).select_from(
                    tracking_writebacks).where(tracking_writebacks.c.state == "done")).scalar()
            if done == len(ids) and not pending:
                break
        # A relabelled parcel: the second waybill is a modification, written once too.
        first = f"pdd-{ids[0]}"
        ship_at_station(cloud_engine, first, "ZT999000111", moves=False)
        for _ in range(10):
            await worker.tick(shop_id)
            with cloud_engine.connect() as conn:
                states = conn.execute(sa.select(tracking_writebacks.c.state)).scalars().all()
            if all(s == "done" for s in states):
                break
    assert fake.faults.injected.total() > 10
    with cloud_engine.connect() as conn:
        rows = conn.execute(sa.select(tracking_writebacks)).all()
    assert len(rows) == len(ids) + 1 and all(r.state == "done" for r in rows)
    firsts = Counter(s.order_id for s in fake.shipments if not s.modification)
    assert firsts == Counter({i: 1 for i in ids})
    mods = [(s.order_id, s.tracking_number) for s in fake.shipments if s.modification]
    assert mods == [(ids[0], "ZT999000111")]
    assert fake.order(ids[0]).tracking_number == "ZT999000111"


async def test_refund_and_address_change_intercept_the_station_once(
    cloud_engine: Engine, sealer: Sealer, serve: Callable[..., RunningFake],
) -> None:
    running = serve("pdd")
    fake = running.fake
    seed_warehouses(cloud_engine)
    shop_id = await connect_shop(cloud_engine, sealer, running)
    refunded, moved, untouched = _plain(fake, 3, skus=[3])
    async with Worker(cloud_engine, sealer, settings=SETTINGS, clock=fake.clock.now,
                      retry=fast_retry()) as worker:
        await worker.tick(shop_id)
        assert {_state(cloud_engine, k).state for k in (refunded, moved, untouched)} == {"tasked"}
        with fake.lock:
            now = fake.now()
            fake.gen._refund(fake.order(refunded), now, after_shipping=False)
            fake.gen._apply(now, "address", moved)
        fake.advance(400)
        await worker.tick(shop_id)
        await worker.tick(shop_id)  # a second pass sends nothing new
    with cloud_engine.connect() as conn:
        intercepts = conn.execute(sa.select(downlink_outbox.c.station_id,
                                            downlink_outbox.c.payload).where(
            downlink_outbox.c.kind == "intercept")).all()
    got = sorted((st, p["order_id"], p["reason"]) for st, p in intercepts)
    assert got == sorted([("ST1", f"pdd-{refunded}", "买家申请退款 / refund requested"),
                          ("ST1", f"pdd-{moved}", "收货地址已修改 / address changed")])
    assert _state(cloud_engine, refunded).state == "intercepted"
    assert _state(cloud_engine, moved).state == "intercepted"
    assert _state(cloud_engine, untouched).state == "tasked"
    assert fake.order(untouched).phase is Phase.AWAITING


@pytest.mark.parametrize("platform", ["pdd", "taobao"])
async def test_refund_success_before_shipping_cancels_and_releases_stock(
    cloud_engine: Engine, sealer: Sealer, serve: Callable[..., RunningFake], platform: str,
) -> None:
    running = serve(platform)
    fake = running.fake
    seed_warehouses(cloud_engine)
    shop_id = await connect_shop(cloud_engine, sealer, running)
    [oid] = _plain(fake, 1, skus=[5], qty=3)
    async with Worker(cloud_engine, sealer, settings=SETTINGS, clock=fake.clock.now,
                      retry=fast_retry()) as worker:
        await worker.tick(shop_id)
        assert _state(cloud_engine, oid).state == "tasked"
        with fake.lock:
            refund = fake.gen._refund(fake.order(oid), fake.now(), after_shipping=False)
        with fake.lock:
            fake.gen.rng.random = lambda: 0.0  # type: ignore[method-assign]  # refund succeeds
            fake.gen._apply(fake.now() + 5, "refund_done:" + refund.refund_id, oid)
        fake.advance(400)
        branch = fake.waybill_book.of("ZTO")[0].branch_account_cols[0]
        balance = branch.quantity
        await worker.tick(shop_id)
        await worker.tick(shop_id)  # the number is cancelled once, not again
    row = _state(cloud_engine, oid)
    assert row.state == "cancelled"
    with cloud_engine.connect() as conn:
        open_qty = conn.execute(sa.select(sa.func.count()).select_from(reservations).where(
            reservations.c.order_id == row.id, reservations.c.released_at.is_(None))).scalar()
        kinds = conn.execute(sa.select(downlink_outbox.c.kind)).scalars().all()
        wb = conn.execute(sa.select(waybills).where(waybills.c.order_id == row.id)).one()
    assert open_qty == 0
    assert kinds.count("intercept") >= 1
    # its e-waybill number went back to the courier branch (回收), once
    [issued] = [w for w in fake.waybills if oid in w.order_ids]
    assert issued.number == wb.waybill_no and issued.cancelled
    assert (wb.cancelled_at is not None, wb.cancel_attempts, wb.cancel_error) == (True, 1, None)
    assert (branch.quantity, branch.cancel_quantity) == (balance + 1, 1)


async def test_a_dead_waybill_whose_cancel_reply_was_lost_counts_as_cancelled(
    cloud_engine: Engine, sealer: Sealer, serve: Callable[..., RunningFake],
) -> None:
    running = serve("pdd")
    fake = running.fake
    seed_warehouses(cloud_engine)
    shop_id = await connect_shop(cloud_engine, sealer, running)
    dead, shipped = _plain(fake, 2, skus=[4])
    async with Worker(cloud_engine, sealer, settings=SETTINGS, clock=fake.clock.now,
                      retry=fast_retry()) as worker:
        await worker.tick(shop_id)
    with write_transaction(cloud_engine) as conn:
        numbers = dict(conn.execute(sa.select(waybills.c.order_id, waybills.c.waybill_no)).all())
        # cancelled here after a station shipped it: its number is in use, left alone
        conn.execute(sa.update(orders).where(orders.c.id.in_(
            [f"pdd-{dead}", f"pdd-{shipped}"])).values(state="cancelled"))
    ship_at_station(cloud_engine, f"pdd-{shipped}", numbers[f"pdd-{shipped}"], moves=False)

    class ReplyLostOnce:
        """The real client; the first cancel arrives but its reply is lost."""

        def __init__(self, real: object) -> None:
            self.real, self.calls = real, 0

        async def cancel_waybill(self, carrier: str, number: str) -> None:
            self.calls += 1
            await self.real.cancel_waybill(carrier, number)  # type: ignore[attr-defined]
            if self.calls == 1:
                raise TransientError("pdd.waybill.cancel 请求超时", platform="pdd",
                                     api="pdd.waybill.cancel")

    from cloud.orders.waybills import cancel_dead_waybills

    async with httpx.AsyncClient() as http:
        sc = open_client(cloud_engine, sealer, shop_id, http=http, clock=fake.clock.now,
                         retry=fast_retry())
        sc.writer = ReplyLostOnce(sc.writer)  # type: ignore[assignment]
        now = datetime.fromtimestamp(fake.clock.now(), UTC)
        first = await cancel_dead_waybills(cloud_engine, sc, now=now)
        second = await cancel_dead_waybills(cloud_engine, sc, now=now)  # "已取消": done
        third = await cancel_dead_waybills(cloud_engine, sc, now=now)
    assert [(r.cancelled, r.refused) for r in (first, second, third)] == [(0, 1), (1, 0), (0, 0)]
    assert sc.writer.calls == 2  # type: ignore[attr-defined]
    with cloud_engine.connect() as conn:
        rows = {r.order_id: r for r in conn.execute(sa.select(waybills))}
    assert rows[f"pdd-{dead}"].cancelled_at is not None
    assert rows[f"pdd-{dead}"].cancel_attempts == 2
    assert rows[f"pdd-{shipped}"].cancelled_at is None  # shipped with: never sent
    assert [w.cancelled for w in fake.waybills if shipped in w.order_ids] == [False]


async def test_refund_list_windows_intercept_without_the_order_stream(
    cloud_engine: Engine, sealer: Sealer, serve: Callable[..., RunningFake],
) -> None:
    from datetime import UTC, datetime

    from cloud.db.schema_orders import order_intercepts, refunds
    from cloud.orders.order_sync import sync_refunds

    running = serve("pdd")
    fake = running.fake
    seed_warehouses(cloud_engine)
    shop_id = await connect_shop(cloud_engine, sealer, running)
    [oid] = _plain(fake, 1, skus=[6])
    async with Worker(cloud_engine, sealer, settings=SETTINGS, clock=fake.clock.now,
                      retry=fast_retry()) as worker:
        await worker.tick(shop_id)
        assert _state(cloud_engine, oid).state == "tasked"
        with fake.lock:
            refund = fake.gen._refund(fake.order(oid), fake.now(), after_shipping=False)
        fake.advance(400)
        sc = worker.client(shop_id)
        read = await sync_refunds(cloud_engine, sc,
                                  platform_now=datetime.fromtimestamp(fake.now(), UTC),
                                  now=worker.now())
    assert read == 1
    with cloud_engine.connect() as conn:
        causes = conn.execute(sa.select(order_intercepts.c.cause)).scalars().all()
        stored = conn.execute(sa.select(refunds.c.refund_id, refunds.c.amount_fen)).all()
    assert causes == [f"refund:{refund.refund_id}"]
    assert [tuple(r) for r in stored] == [(refund.refund_id, refund.amount_fen)]
    assert _state(cloud_engine, oid).state == "intercepted"


async def test_a_relabel_waits_for_the_first_shipment_to_be_written(
    cloud_engine: Engine, sealer: Sealer, serve: Callable[..., RunningFake],
) -> None:
    # Seen in the soak: the first shipment's call timed out after the platform had shipped
    # the order; the relabel (a modification) went out while the first was waiting for its
    # retry, so the retry met "订单已发货" with the second number, twelve times, and failed.
    running = serve("pdd")
    fake = running.fake
    seed_warehouses(cloud_engine)
    shop_id = await connect_shop(cloud_engine, sealer, running)
    [oid] = _plain(fake, 1, skus=[2])
    async with Worker(cloud_engine, sealer, settings=SETTINGS, clock=fake.clock.now,
                      retry=fast_retry()) as worker:
        await worker.tick(shop_id)
    order_id = f"pdd-{oid}"
    start = datetime.fromtimestamp(fake.clock.now(), UTC)
    ship_at_station(cloud_engine, order_id, "ZT100000001", now=start)
    # the relabel arrives a minute later (shipments are taken in the order they came)
    ship_at_station(cloud_engine, order_id, "ZT100000002", moves=False,
                    now=start + timedelta(minutes=1))

    class ReplyLostOnce:
        """The real platform client, but the first ship's reply never arrives."""

        def __init__(self, real: object) -> None:
            self.real, self.lost = real, 0

        async def ship(self, *args: object, **kw: object) -> None:
            await self.real.ship(*args, **kw)  # type: ignore[attr-defined]
            if not self.lost:
                self.lost += 1
                raise TransientError("pdd.logistics.online.send 请求超时", platform="pdd",
                                     api="pdd.logistics.online.send")

    with write_transaction(cloud_engine) as conn:
        assert collect_shipments(conn, shop_id, now=start) == 2
    async with httpx.AsyncClient() as http:
        sc = open_client(cloud_engine, sealer, shop_id, http=http, clock=fake.clock.now,
                         retry=fast_retry())
        sc.writer = ReplyLostOnce(sc.writer)  # type: ignore[assignment]
        now = start
        for _ in range(8):
            await write_back(cloud_engine, sc, now=now)
            now += timedelta(seconds=30)  # past every backoff of the first attempts
    with cloud_engine.connect() as conn:
        rows = conn.execute(sa.select(tracking_writebacks).order_by(
            tracking_writebacks.c.id)).all()
    assert [(r.waybill_no, r.modify, r.state) for r in rows] == [
        ("ZT100000001", False, "done"), ("ZT100000002", True, "done")]
    assert [(s.tracking_number, s.modification) for s in fake.shipments] == [
        ("ZT100000001", False), ("ZT100000002", True)]
    assert fake.order(oid).tracking_number == "ZT100000002"
