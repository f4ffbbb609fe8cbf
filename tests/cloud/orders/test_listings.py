"""商品匹配: a hand-made listing set matched by 商家编码 (expected matched/unmatched written
out), matching by hand and its refusals, a download from the fake PDD that maps without
pushing stock, and the worker downloading again when an order names a platform SKU the
last download did not have (both engines)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.crypto import Sealer
from cloud.db import audit_log, shops, skus, write_transaction
from cloud.db.schema_orders import orders, platform_listings, sku_mappings, stock_pushes
from cloud.errors import InputError
from cloud.marketplaces.base import Listing
from cloud.marketplaces.fake_server import RunningFake
from cloud.marketplaces.generator import Line
from cloud.orders import listings
from cloud.orders.stock_push import add_mapping
from cloud.orders.worker import Worker, WorkerSettings
from tests.cloud.marketplaces.mp_support import fast_retry
from tests.cloud.orders.support import connect_shop

T = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
"""The listing set's download time."""

HAND_MADE = [
    Listing("1", "11", "SKU-A", "杯子", "白色", 5),        # 商家编码 is a SKU: matched
    Listing("1", "12", "sku-x", "杯子", "黑色", 0),        # no such SKU: unmatched
    Listing("2", "21", "", "数据线", "", 3),               # no 商家编码: unmatched
    Listing("3", "31", "SKU-B", "雨伞", "", 9),            # mapped already (by hand): left alone
    Listing("4", "", "SKU-B", "毛巾", "", 2, on_sale=False),  # item without SKUs: by outer id
]


def seed(engine: Engine) -> None:
    with write_transaction(engine) as conn:
        conn.execute(sa.insert(shops).values(id="s1", platform="pdd", name="店一", created_at=T))
        conn.execute(sa.insert(skus), [{"sku": "SKU-A", "name_zh": "杯子"},
                                      {"sku": "SKU-B", "name_zh": "雨伞"}])
        add_mapping(conn, "s1", item_id="3", sku_id="31", sku="SKU-A", now=T)


def test_a_hand_made_listing_set_is_matched_by_merchant_code(cloud_engine: Engine) -> None:
    seed(cloud_engine)
    with write_transaction(cloud_engine) as conn:
        listings.store(conn, "s1", HAND_MADE, now=T)
        result = listings.match_automatically(conn, "s1", actor="t", now=T)
    assert result.listings == 5
    assert result.matched == [("1", "11", "SKU-A"), ("4", "", "SKU-B")]
    assert result.unmatched == [("1", "12", "sku-x"), ("2", "21", "")]
    with cloud_engine.connect() as conn:
        m = sku_mappings.c
        assert sorted(map(tuple, conn.execute(sa.select(
            m.platform_item_id, m.platform_sku_id, m.outer_id, m.sku, m.push_stock)))) == [
            ("1", "11", "SKU-A", "SKU-A", True), ("3", "31", "", "SKU-A", True),
            ("4", "", "SKU-B", "SKU-B", True)]
        assert conn.execute(sa.select(sa.func.count()).select_from(stock_pushes)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log).where(
            audit_log.c.action == "mapping.auto")).scalar() == 2
        rows = listings.listing_rows(conn, shop_id="s1")
        assert [(r.item_id, r.sku_id, r.quantity, r.mapped_sku) for r in rows] == [
            ("1", "11", 5, "SKU-A"), ("1", "12", 0, None), ("2", "21", 3, None),
            ("3", "31", 9, "SKU-A"), ("4", "", 2, "SKU-B")]
        unmatched = listings.listing_rows(conn, unmatched_only=True)
        assert [(r.item_id, r.sku_id) for r in unmatched] == [("1", "12"), ("2", "21")]
    # a second pass finds nothing new
    with write_transaction(cloud_engine) as conn:
        again = listings.match_automatically(conn, "s1", actor="t", now=T)
    assert (again.matched, again.unmatched) == ([], [("1", "12", "sku-x"), ("2", "21", "")])

    by_id = {(r.item_id, r.sku_id): r.id for r in unmatched}
    with write_transaction(cloud_engine) as conn:
        with pytest.raises(InputError) as bad:
            listings.match_by_hand(conn, {"listing_id": str(by_id["2", "21"]), "sku": "NOPE"},
                                   actor="u", now=T)
        assert [p.field for p in bad.value.problems] == ["sku"]
        with pytest.raises(InputError) as bad:
            listings.match_by_hand(conn, {"listing_id": "999999", "sku": ""}, actor="u", now=T)
        assert [p.field for p in bad.value.problems] == ["listing_id", "sku"]
        mapped_id = conn.execute(sa.select(platform_listings.c.id).where(
            platform_listings.c.sku_id == "11")).scalar()
        with pytest.raises(InputError) as bad:
            listings.match_by_hand(conn, {"listing_id": str(mapped_id), "sku": "SKU-B"},
                                   actor="u", now=T)
        assert [p.field for p in bad.value.problems] == ["listing_id"]
    with write_transaction(cloud_engine) as conn:
        listings.match_by_hand(conn, {"listing_id": str(by_id["2", "21"]), "sku": "SKU-B"},
                               actor="u", now=T)
    with cloud_engine.connect() as conn:
        assert [(r.item_id, r.sku_id) for r in listings.listing_rows(
            conn, unmatched_only=True)] == [("1", "12")]
        assert conn.execute(sa.select(audit_log.c.actor, audit_log.c.subject).where(
            audit_log.c.action == "mapping.create")).all() == [("u", "s1/4")]
        assert conn.execute(sa.select(sa.func.count()).select_from(stock_pushes)).scalar() == 0


async def test_the_worker_downloads_again_when_an_order_names_an_unknown_sku(
        cloud_engine: Engine, sealer: Sealer, serve: Callable[..., RunningFake]) -> None:
    running = serve("pdd", seed=191)
    fake = running.fake
    shop_id = await connect_shop(cloud_engine, sealer, running, stock=None,
                                 skip_outer=("SKU-0005",), trust_pushes=False)
    with fake.lock:  # an order for the one listing the shop has not mapped
        order = fake.gen.new_order(fake.now() - 600)
        order.buyer_note, order.risk_review = "", False
        order.lines = [Line(sku=fake.gen.catalog[4], qty=1, price_fen=100, line_id="")]
    settings = WorkerSettings(listen_push=False, poll_refunds=False, http_timeout=1.0)
    async with Worker(cloud_engine, sealer, settings=settings, clock=fake.clock.now,
                      retry=fast_retry()) as worker:
        report = await worker.tick(shop_id)
        assert report.error == ""
        assert report.listings is not None
        assert (report.listings.listings, report.listings.matched) == (
            12, [("100000004", "1000000004", "SKU-0005")])
        assert fake.calls["pdd.goods.list.get"] == 1
        with cloud_engine.connect() as conn:
            assert conn.execute(sa.select(orders.c.exception_code).where(
                orders.c.platform_order_id == order.order_id)).scalar() != "unmapped"
        report = await worker.tick(shop_id)  # nothing unknown now: no second download
        assert report.listings is None and fake.calls["pdd.goods.list.get"] == 1
    assert fake.stock_pushes == []  # the shop's first push was never confirmed


async def test_a_download_from_the_fake_maps_by_merchant_code_without_pushing(
        cloud_engine: Engine, sealer: Sealer, serve: Callable[..., RunningFake]) -> None:
    import httpx

    from cloud.shops import open_client

    running = serve("pdd", seed=192)
    fake = running.fake
    shop_id = await connect_shop(cloud_engine, sealer, running, stock=None, map_catalog=False)
    with write_transaction(cloud_engine) as conn:  # two listings' codes are not SKUs here
        conn.execute(sa.update(skus).where(skus.c.sku.in_(["SKU-0011", "SKU-0012"]))
                     .values(sku=sa.func.lower(skus.c.sku)))
    now = datetime.fromtimestamp(fake.clock.now(), UTC)
    async with httpx.AsyncClient() as http:
        sc = open_client(cloud_engine, sealer, shop_id, http=http, clock=fake.clock.now)
        result = await listings.download(cloud_engine, sc, actor="t", now=now)
    assert result.listings == 12
    assert [sku for _i, _s, sku in result.matched] == [f"SKU-{n:04d}" for n in range(1, 11)]
    assert result.unmatched == [("100000010", "1000000010", "SKU-0011"),
                                ("100000011", "1000000011", "SKU-0012")]
    assert fake.stock_pushes == []
    with cloud_engine.connect() as conn:
        last = listings.last_download(conn, shop_id)
        assert last is not None and abs(last - now) < timedelta(seconds=1)
        assert conn.execute(sa.select(audit_log.c.detail).where(
            audit_log.c.action == "listings.download")).scalar() == {
            "listings": 12, "matched": 10, "unmatched": 2}


def test_cli_shop_listings_downloads_with_progress(
        tmp_path: Path, serve: Callable[..., RunningFake], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from cloud.cli import run
    from cloud.db import make_engine
    from tests.cloud.orders.support import merchant_approves

    running = serve("pdd", seed=193)
    monkeypatch.setenv("PACKLINE_CLOUD_DATA_DIR", str(tmp_path))
    assert run(["init-db"]) == 0
    assert run(["shop", "add", "--platform", "pdd", "--name", "旗舰店", "--app-key",
                "demo_client_id", "--app-secret", "demo_secret", "--gateway",
                running.base_url]) == 0
    assert run(["shop", "authorize", "pdd1", "--code",
                merchant_approves(running.base_url, "demo_client_id")]) == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'cloud.db'}")
    try:
        with write_transaction(engine) as conn:
            conn.execute(sa.insert(skus), [{"sku": f"SKU-{n:04d}", "name_zh": "品"}
                                          for n in (1, 2, 3)])
        capsys.readouterr()
        assert run(["shop", "listings", "pdd1"]) == 0
        out = capsys.readouterr().out
        assert "已读取 12/12" in out
        assert "店铺 pdd1: 平台商品 12 个, 自动匹配 3 个, 未匹配 9 个 (未推送库存)" in out
        assert "未匹配 100000011 sku_id 1000000011 商家编码 SKU-0012" in out
        with engine.connect() as conn:
            assert conn.execute(sa.select(audit_log.c.actor).where(
                audit_log.c.action == "shop.authorized")).scalar() == "cli"
    finally:
        engine.dispose()
    assert running.fake.stock_pushes == []
    running.fake.revoke_authorisation()  # the token stops working: the platform's reason
    assert run(["shop", "listings", "pdd1"]) == 1
    assert "下载失败 / download failed: 20032: access_token或client_id错误" in (
        capsys.readouterr().err)
