"""Loading generated demo data (``edge.domain.demo``) into a station store."""

from __future__ import annotations

from pathlib import Path

from edge import fileio
from edge.domain import pii
from edge.domain.auth import hash_pin
from edge.domain.demo import DemoData, opening_move_id
from edge.domain.models import MoveReason, MoveRequest, NegativeStockPolicy
from edge.store import Store

DEMO_SETTING = "demo_seed"
"""Settings key recording which seed a database was filled from."""


def initialise(store: Store, *, station_id: str, warehouse_id: str, warehouse_name: str,
               policy: NegativeStockPolicy, db_path: Path) -> bytes:
    """Bind the database to a station and warehouse, and create the station key file.

    Returns the station key. Running it again with the same station is harmless.
    """
    w = store.writer
    with w.transaction():
        w.set_setting("station_id", station_id)
        w.set_setting("warehouse_id", warehouse_id)
        w.upsert_warehouse(warehouse_id, warehouse_name, policy)
        w.audit("system", "station.init", station_id,
                {"warehouse_id": warehouse_id, "negative_stock": policy.value})
    w.station_id = station_id
    return fileio.create_key_file(fileio.key_path_for(db_path))


def apply_demo(store: Store, data: DemoData, key: bytes, *, operator_id: str = "system") -> None:
    """Write the demo catalog, operators, opening stock and orders in one transaction."""
    w = store.writer
    with w.transaction():
        wh = data.warehouse
        w.upsert_warehouse(wh["warehouse_id"], wh["name"], NegativeStockPolicy(wh["policy"]))
        w.upsert_locations(data.locations)
        w.upsert_skus(data.skus)
        for op in data.operators:
            w.upsert_operator(op.operator_id, op.name, op.role, badge=op.badge,
                              pin_hash=hash_pin(op.pin))
        w.record_moves([
            MoveRequest(sku=sku, location=loc, qty_delta=qty, reason=MoveReason.RECEIVE,
                        source_type="opening", source_id=f"demo-{data.seed}",
                        source_line=str(n), operator_id=operator_id, note="期初库存 / opening stock",
                        move_id=opening_move_id(data.seed, data.warehouse["warehouse_id"], sku, loc))
            for n, (sku, loc, qty) in enumerate(data.stock, start=1)
        ])
        for demo_order in data.orders:
            order = dict(demo_order.order)
            order["receiver_masked"] = pii.mask(demo_order.receiver)
            order["receiver_sealed"] = pii.seal(demo_order.receiver, key)
            w.upsert_order(order, demo_order.lines)
        w.set_setting(DEMO_SETTING, str(data.seed))
        w.audit(operator_id, "demo.seed", str(data.seed),
                {"skus": len(data.skus), "orders": len(data.orders), "moves": len(data.stock)})
