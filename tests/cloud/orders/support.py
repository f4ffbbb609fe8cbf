"""Shared setup for order tests: a cloud database, a fake platform over real HTTP, a shop."""

from __future__ import annotations

import itertools
import urllib.parse
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud import ledger_store
from cloud.crypto import Sealer
from cloud.db import skus, stations, warehouses, write_transaction
from cloud.db.schema import station_shipments
from cloud.marketplaces.fake_server import RunningFake
from cloud.marketplaces.http import RetryPolicy
from cloud.orders.reservations import on_ingest
from cloud.orders.stock_push import add_mapping, confirm_pushes
from cloud.shops import add_shop, exchange_code
from edge.domain.models import Move, MoveReason

_seq = itertools.count(1)


@dataclass(frozen=True)
class _GiftSku:
    item_id: str
    sku_id: str
    outer_id: str
    title: str


def fast_retry() -> RetryPolicy:
    """Retries without real waiting beyond a few ms."""

    async def nap(_: float) -> None:
        import asyncio

        await asyncio.sleep(0.001)

    return RetryPolicy(rate_limited_attempts=8, transient_attempts=4, base_delay=0.001,
                       max_delay=0.01, sleep=nap)


def seed_warehouses(engine: Engine, *, stations_per: dict[str, list[str]] | None = None) -> None:
    """Warehouses WH1 (station ST1) and WH2 (station ST2) unless told otherwise."""
    layout = stations_per or {"WH1": ["ST1"], "WH2": ["ST2"]}
    now = datetime.now(UTC)
    with write_transaction(engine) as conn:
        for wh, sts in layout.items():
            conn.execute(sa.insert(warehouses).values(id=wh, name=f"仓库 {wh}"))
            for st in sts:
                conn.execute(sa.insert(stations).values(id=st, warehouse_id=wh, name=st,
                                                        status="active", created_at=now))


def receive(engine: Engine, warehouse: str, sku: str, qty: int, *, source: str = "PO-1") -> None:
    """Put stock on hand (a RECEIVE move, as a station would report)."""
    move(engine, warehouse, sku, qty, MoveReason.RECEIVE, "po", source)


def move(engine: Engine, warehouse: str, sku: str, delta: int, reason: MoveReason,
         source_type: str, source_id: str, station: str = "ST1") -> None:
    """Record one ledger move in the cloud."""
    now = datetime.now(UTC)
    with write_transaction(engine) as conn:
        ledger_store.insert_moves(conn, [Move(
            move_id=str(uuid.uuid4()), sku=sku, location="A-01", qty_delta=delta,
            balance_after=0, reason=reason, source_type=source_type, source_id=source_id,
            source_line="1", operator_id="u1", station_id=station, device_id=None,
            occurred_at=now, recorded_at=now, warehouse_id=warehouse)])


def ship_at_station(engine: Engine, order_id: str, waybill_no: str, *, station: str = "ST1",
                    carrier: str = "ZTO", moves: bool = True, now: datetime | None = None) -> str:
    """What ingest stores when a station ships: SHIP moves and a station_shipments row
    (``moves=False``: the shipment arrives first, its moves are still on the way), at
    ``now`` on ingest's clock (the wall clock by default)."""
    return ship_many(engine, [(order_id, waybill_no, moves)], station=station,
                     carrier=carrier, now=now)[0]


def ship_many(engine: Engine, shipments: list[tuple[str, str, bool]], *, station: str = "ST1",
              carrier: str = "ZTO", now: datetime | None = None) -> list[str]:
    """Several station shipments (order id, waybill, with SHIP moves?) in one transaction."""
    from cloud.db.schema_orders import orders, reservations

    now = now or datetime.now(UTC)
    ids = []
    with write_transaction(engine) as conn:
        all_moves: list[Move] = []
        rows = []
        for order_id, waybill_no, with_moves in shipments:
            msg_id = f"ship-{next(_seq)}-{uuid.uuid4().hex[:8]}"
            ids.append(msg_id)
            mine: list[Move] = []
            if with_moves:
                wh = conn.execute(sa.select(orders.c.warehouse_id).where(
                    orders.c.id == order_id)).scalar_one()
                lines = conn.execute(sa.select(reservations.c.sku, reservations.c.qty).where(
                    reservations.c.order_id == order_id,
                    reservations.c.released_at.is_(None))).all()
                mine = [Move(
                    move_id=str(uuid.uuid4()), sku=sku, location="A-01", qty_delta=-qty,
                    balance_after=0, reason=MoveReason.SHIP, source_type="order",
                    source_id=order_id, source_line=None, operator_id="u1", station_id=station,
                    device_id=None, occurred_at=now, recorded_at=now,
                    warehouse_id=wh or "WH1") for sku, qty in lines]
                all_moves += mine
            rows.append({"msg_id": msg_id, "station_id": station, "order_id": order_id,
                         "waybill_no": waybill_no, "carrier": carrier, "weight_g": 500,
                         "operator_id": "u1", "shipped_at": now, "received_at": now,
                         "move_ids": [m.move_id for m in mine] if with_moves else None})
        new_ids = ledger_store.insert_moves(conn, all_moves) if all_moves else []
        if rows:
            conn.execute(sa.insert(station_shipments), rows)
        # As ingest does: the SHIP moves consume the reservations in the same transaction.
        on_ingest(conn, new_ids, [r["order_id"] for r in rows], now=now)
    return ids


@dataclass(frozen=True)
class FakeInfo:
    """What connecting a shop needs from a fake (in-process or remote)."""

    platform: str
    """``pdd`` or ``taobao``."""
    base_url: str
    """``http://127.0.0.1:port``."""
    app_key: str
    """App key."""
    app_secret: str
    """App secret."""
    catalog: list[_GiftSku]
    """The fake's SKUs."""
    clock: Any
    """Simulated clock (``now()``)."""


def info(fake: Any) -> FakeInfo:
    """FakeInfo of a ``RunningFake`` or a ``RemoteFake``."""
    if isinstance(fake, RunningFake):
        f = fake.fake
        return FakeInfo(f.platform, fake.base_url, f.settings.app_key, f.settings.app_secret,
                        [_GiftSku(s.item_id, s.sku_id, s.outer_id, s.title)
                         for s in f.gen.catalog], f.clock)
    return FakeInfo(fake.platform, fake.base_url, fake.app_key, fake.app_secret,
                    [_GiftSku(*c) for c in fake.catalog], fake.clock)


def merchant_approves(base_url: str, app_key: str, state: str = "s") -> str:
    """The merchant presses 同意授权 on the fake's consent page; the one-use code it
    redirects with (read from the redirect, not followed)."""
    r = httpx.post(f"{base_url}/oauth/authorize", data={
        "response_type": "code", "client_id": app_key, "state": state,
        "redirect_uri": "http://127.0.0.1/packline/callback"}, follow_redirects=False)
    assert r.status_code == 302, r.text
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(r.headers["location"]).query)
    assert query["state"] == [state]
    return query["code"][0]


async def connect_shop(engine: Engine, sealer: Sealer, running: Any, *,
                       name: str = "测试店", default_warehouse: str | None = "WH1",
                       map_catalog: bool = True, stock: int | None = 100,
                       buffer_units: int = 0, buffer_percent: int = 0,
                       skip_outer: tuple[str, ...] = (), trust_pushes: bool = True) -> str:
    """Add a shop for the fake, authorise it (code flow), map its catalog, stock it;
    ``trust_pushes``: its first-push preview is confirmed and cuts need no approval (the
    push-safety tests turn this off)."""
    fake = info(running)
    with write_transaction(engine) as conn:
        shop_id = add_shop(conn, sealer, platform=fake.platform, name=name,
                           app_key=fake.app_key, app_secret=fake.app_secret,
                           gateway_url=fake.base_url,
                           default_warehouse_id=default_warehouse,
                           logistics_id="115", carrier_code="ZTO")
        if trust_pushes:
            confirm_pushes(conn, shop_id, actor="test", now=datetime.now(UTC), trust=True)
    async with httpx.AsyncClient() as http:
        code = merchant_approves(fake.base_url, fake.app_key)
        await exchange_code(engine, sealer, shop_id, code, http=http,
                            clock=fake.clock.now)
    catalog = [*fake.catalog, _gift(fake)]
    with write_transaction(engine) as conn:
        existing = set(conn.execute(sa.select(skus.c.sku)).scalars())
        for sku in catalog:
            if sku.outer_id not in existing:
                conn.execute(sa.insert(skus).values(sku=sku.outer_id, name_zh=sku.title,
                                                    unit_weight_g=200))
                existing.add(sku.outer_id)
            if map_catalog and sku.outer_id not in skip_outer:
                add_mapping(conn, shop_id, item_id=sku.item_id, sku_id=sku.sku_id,
                            outer_id=sku.outer_id, sku=sku.outer_id, buffer_units=buffer_units,
                            buffer_percent=buffer_percent, now=datetime.now(UTC))
    if stock:
        for sku in catalog:
            receive(engine, default_warehouse or "WH1", sku.outer_id, stock)
    return shop_id


def _gift(fake: Any) -> _GiftSku:
    pdd = fake.platform == "pdd"
    return _GiftSku(item_id="100099999" if pdd else "600000099999",
                    sku_id="1000099999" if pdd else "5000000099999",
                    outer_id="GIFT-001", title="赠品 钥匙扣")
