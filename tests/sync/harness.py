"""A small sync world for tests and the benchmark: a cloud database, station stores, and
the convergence check every fault test ends with."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud import ledger_store
from cloud.db import make_engine, migrate
from cloud.db.schema import stations, stock_moves, warehouses
from edge.domain.models import MoveReason, MoveRequest, NegativeStockPolicy
from edge.store import Store, open_store
from tests.fixtures.edge_store import seed_small_catalog

WAREHOUSE = "WH1"
"""The warehouse every test station records moves in."""


def make_cloud(path: Path, station_ids: tuple[str, ...], warehouse: str = WAREHOUSE) -> Engine:
    """A migrated SQLite cloud database that knows the warehouse and its stations."""
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(sa.insert(warehouses).values(id=warehouse, name="杭州主仓"))
        conn.execute(sa.insert(warehouses).values(id="WH2", name="义乌仓"))
        conn.execute(sa.insert(stations), [
            {"id": s, "warehouse_id": warehouse, "name": s, "status": "active", "created_at": now}
            for s in station_ids
        ])
    return engine


def make_station(path: Path | str, station_id: str) -> Store:
    """A station database with the small catalog (WH1 locations A-01-01, A-01-02).

    WH1 allows negative stock with an alert: stations of one warehouse picking at once may
    take a balance below zero between syncs, and a test must not stop on that."""
    store = open_store(path, station_id=station_id)
    if store.queries.sku("CUP-350") is None:
        seed_small_catalog(store, NegativeStockPolicy.ALLOW_WITH_ALERT)
    return store


def record_moves(store: Store, n: int, *, start: int = 0, per_tx: int = 1) -> list[str]:
    """``n`` moves alternating SKUs/locations of WH1: receives, and a pick every 4th
    (only when stock allows), ``per_tx`` moves per transaction."""
    ids: list[str] = []
    running: dict[tuple[str, str], int] = {}
    batch: list[MoveRequest] = []
    for i in range(start, start + n):
        key = (("CUP-350", "A-01-01"), ("TOWEL-W", "A-01-02"))[i % 2]
        have = running.setdefault(key, store.queries.balance(*key))
        delta = -1 if i % 4 == 3 and have > 0 else 1 + i % 5
        running[key] = have + delta
        batch.append(MoveRequest(
            sku=key[0], location=key[1], qty_delta=delta,
            reason=MoveReason.PICK if delta < 0 else MoveReason.RECEIVE,
            source_type="test", source_id=f"{store.writer.station_id}-{i}", operator_id="op1"))
        if len(batch) >= per_tx:
            ids += [m.move_id for m in store.writer.record_moves(batch)]
            batch = []
    if batch:
        ids += [m.move_id for m in store.writer.record_moves(batch)]
    return ids


def own_move_ids(store: Store) -> set[str]:
    rows = store.writer.db.execute(
        "SELECT move_id FROM stock_moves WHERE station_id = ?", [store.writer.station_id]).fetchall()
    return {r[0] for r in rows}


def cloud_move_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.select(stock_moves.c.move_id))]


def station_balances(store: Store) -> dict[tuple[str, str], int]:
    rows = store.writer.db.execute(
        """SELECT b.sku, b.location, b.qty FROM balances b JOIN locations l ON l.code = b.location
           WHERE l.warehouse_id = ? AND b.qty <> 0""", [WAREHOUSE]).fetchall()
    return {(s, loc): q for s, loc, q in rows}


def cloud_balances(engine: Engine) -> dict[tuple[str, str], int]:
    with engine.connect() as conn:
        return {(b.sku, b.location): b.qty for b in ledger_store.balances(conn, warehouse_id=WAREHOUSE)}


def converged(engine: Engine, stores: list[Store]) -> bool:
    """True when the cloud has exactly the stations' moves and every station's balances match."""
    written = set().union(*(own_move_ids(s) for s in stores))
    in_cloud = cloud_move_ids(engine)
    if set(in_cloud) != written:
        return False
    cloud = cloud_balances(engine)
    return all(station_balances(s) == cloud and unacked_moves(s) == 0 for s in stores)


def unacked_moves(store: Store) -> int:
    row = store.writer.db.execute(
        "SELECT COUNT(*) FROM outbox WHERE acked_at IS NULL AND kind = 'move'").fetchone()
    return int(row[0])


def assert_converged(engine: Engine, stores: list[Store]) -> None:
    """The check every fault test ends with."""
    written = set().union(*(own_move_ids(s) for s in stores))
    in_cloud = cloud_move_ids(engine)
    dupes = [m for m, c in Counter(in_cloud).items() if c > 1]
    assert dupes == []
    missing, extra = written - set(in_cloud), set(in_cloud) - written
    assert (len(missing), len(extra)) == (0, 0), f"missing {len(missing)}, extra {len(extra)}"
    with engine.connect() as conn:
        assert ledger_store.check_balances(conn) == []
    cloud = cloud_balances(engine)
    assert cloud, "no balances at all"
    for s in stores:
        assert station_balances(s) == cloud, s.writer.station_id
        assert s.queries.fold_moves() == s.queries.cached_balances()
        assert unacked_moves(s) == 0


# ------------------------------------------------------------------ orders on top


class WaybillDesk:
    """The platform as the cloud's worker sees it in these tests: one waybill per package
    asked (numbered in order), and the stock each listing was last set to."""

    def __init__(self) -> None:
        self.issued = 0
        self.updates: list[Any] = []

    async def get_waybills(self, carrier: str, sender: Any, packages: Sequence[Any]) -> list[Any]:
        from cloud.marketplaces.base import Waybill

        out = []
        for p in packages:
            self.issued += 1
            out.append(Waybill(number=f"YT{self.issued:08d}", carrier=carrier, print_data="{}",
                               object_id=p.object_id))
        return out

    async def update_stock(self, update: Any) -> None:
        self.updates.append(update)

    def shows(self, sku_id: str) -> int | None:
        """What the platform shows for a listing (None: never pushed)."""
        mine = [u.quantity for u in self.updates if u.sku_id == sku_id]
        return mine[-1] if mine else None


@dataclass
class ShopClient:
    """What the worker's steps take as ``sc``: the shop and its platform client."""

    shop: Any
    client: WaybillDesk


def add_pdd_shop(engine: Engine, listings: dict[str, str], *, now: datetime) -> ShopClient:
    """Shop ``pdd1`` on WH1 with ``listings`` (Packline SKU → platform SKU id, one unit per
    listing unit, no buffer), its pushes confirmed and trusted; the SKUs are added to the
    catalog when missing."""
    from cryptography.fernet import Fernet

    from cloud.crypto import Sealer
    from cloud.db.schema import skus
    from cloud.orders.stock_push import add_mapping, confirm_pushes
    from cloud.shops import add_shop, load_shop

    sealer = Sealer(Fernet.generate_key())
    with engine.begin() as conn:
        known = set(conn.execute(sa.select(skus.c.sku)).scalars())
        for sku in listings:
            if sku not in known:
                conn.execute(sa.insert(skus).values(sku=sku, name_zh=sku))
        add_shop(conn, sealer, platform="pdd", name="pdd1", app_key="k", app_secret="x",
                 shop_id="pdd1", default_warehouse_id=WAREHOUSE, now=now)
        for sku, sku_id in listings.items():
            add_mapping(conn, "pdd1", item_id=f"I-{sku}", sku_id=sku_id, sku=sku, now=now)
        confirm_pushes(conn, "pdd1", actor="test", now=now, trust=True)
        shop = load_shop(conn, sealer, "pdd1")
    return ShopClient(shop, WaybillDesk())
