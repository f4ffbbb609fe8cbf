"""Product edits in the cloud reach the stations (#13 item 3): a catalog import or a product
form save queues the SKUs' current state, with a version, for every station that is not
revoked; a station applies the newest copy, ignores an older one arriving late, takes
barcodes from whichever SKU had them, and keeps its own default location.

End to end through the real broker: cloud import → ingest publishes → both stations' sync
daemons apply → the kiosk's barcode lookup finds the new barcode."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud import catalog, products
from cloud.db import write_transaction
from cloud.db.schema import downlink_outbox, stations
from cloud.sync.outbound import enqueue_down
from edge.errors import LedgerError
from edge.store import Store
from edge.sync.schema import CatalogWire, SkuWire
from tests.fixtures.mosquitto import MosquittoFactory
from tests.sync.harness import make_cloud, make_station
from tests.sync.helpers import wait_until
from tests.sync.test_faults import STATIONS, running_daemon, running_ingest
from tests.sync.test_faults import stations as two_stations

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
HEADER = "商品编码,商品名称,重量(g),条码,箱规条码\n"


def _import(engine: Engine, tmp_path: Path, body: str, name: str = "cat.csv") -> catalog.ImportReport:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    with write_transaction(engine) as conn:
        return catalog.import_catalog(conn, path, actor="boss", now=NOW)


def _queued(engine: Engine) -> list[tuple[str, str, dict]]:  # type: ignore[type-arg]
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(
            downlink_outbox.c.station_id, downlink_outbox.c.kind, downlink_outbox.c.payload
        ).order_by(downlink_outbox.c.seq))]  # type: ignore[misc]


def test_an_import_and_a_form_save_queue_the_skus_for_every_live_station(tmp_path: Path) -> None:
    engine = make_cloud(tmp_path / "cloud.db", ("st-01", "st-02", "st-03"))
    with engine.begin() as conn:
        conn.execute(sa.update(stations).where(stations.c.id == "st-03").values(status="revoked"))
    report = _import(engine, tmp_path, "CUP-350,保温杯 350ml,320,6901234567892,16901234567899*12\n"
                                       "MUG-1,马克杯,410,6900000000014,\n")
    assert report.imported == 2
    queued = _queued(engine)
    assert [(st, kind) for st, kind, _ in queued] == [("st-01", "catalog"), ("st-02", "catalog")]
    skus = {s["sku"]: s for s in queued[0][2]["skus"]}
    assert skus["CUP-350"] == {
        "sku": "CUP-350", "name_zh": "保温杯 350ml", "name_en": None, "spec": "",
        "unit_weight_g": 320, "length_mm": None, "width_mm": None, "height_mm": None,
        "default_location": None, "active": True, "version": 1,
        "barcodes": [["16901234567899", 12], ["6901234567892", 1]], "components": []}
    # the form: a new name; the version goes up by one, only this SKU is sent
    with write_transaction(engine) as conn:
        form = products.ProductForm.of(products.get(conn, "CUP-350"))  # type: ignore[arg-type]
        form.values["name_zh"] = "保温杯 350ml 新款"
        products.save(conn, form, sku="CUP-350", actor="boss", now=NOW)
    later = _queued(engine)[2:]
    assert [(st, [s["sku"] for s in p["skus"]], p["skus"][0]["version"], p["skus"][0]["name_zh"])
            for st, _, p in later] == [("st-01", ["CUP-350"], 2, "保温杯 350ml 新款"),
                                       ("st-02", ["CUP-350"], 2, "保温杯 350ml 新款")]
    # a refused import and a dry run queue nothing
    before = len(_queued(engine))
    bad = _import(engine, tmp_path, "CUP-350,,320,,\n", "bad.csv")
    assert bad.imported == 0 and len(_queued(engine)) == before


def _sku(store: Store, sku: str) -> tuple[str, int | None, str | None]:
    row = store.writer.db.execute(
        "SELECT name_zh, cloud_version, default_location FROM skus WHERE sku = ?", [sku]).fetchone()
    return (row[0], row[1], row[2])


def _owner(store: Store, code: str) -> str | None:
    row = store.writer.db.execute("SELECT sku FROM barcodes WHERE barcode = ?", [code]).fetchone()
    return row[0] if row else None


def test_a_station_keeps_the_newest_copy_and_the_clouds_barcodes(tmp_path: Path) -> None:
    from edge.sync.inbox import apply_catalog

    store = make_station(tmp_path / "st.db", "st-01")
    assert _sku(store, "CUP-350") == ("保温杯 350ml", None, "A-01-01")

    def send(version: int, name: str, barcodes: list[tuple[str, int]], sku: str = "CUP-350") -> None:
        apply_catalog(store.writer, CatalogWire(skus=[SkuWire(
            sku=sku, name_zh=name, unit_weight_g=320, barcodes=barcodes, version=version)]))

    send(3, "三号", [("6901234567892", 1)])
    assert _sku(store, "CUP-350") == ("三号", 3, "A-01-01")  # its own default location stays
    send(2, "二号 (迟到)", [("6900000000090", 1)])  # overtaken by version 3: nothing changes
    assert _sku(store, "CUP-350") == ("三号", 3, "A-01-01")
    assert _owner(store, "6900000000090") is None
    # the cloud moved TOWEL-W's barcode to CUP-350: the station follows, before TOWEL-W's own copy
    send(4, "四号", [("6901234567892", 1), ("6909876543210", 1)])
    assert _owner(store, "6909876543210") == "CUP-350"
    # a local import (no version) still refuses a barcode another SKU has
    with pytest.raises(LedgerError):
        store.writer.upsert_skus([{"sku": "SOCK-M", "name_zh": "运动袜 M码",
                                   "barcodes": [("6909876543210", 1)]}])
    assert _owner(store, "6909876543210") == "CUP-350"


@pytest.mark.broker
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_an_import_in_the_cloud_reaches_both_stations_through_the_broker(
    mosquitto_factory: MosquittoFactory, tmp_path: Path,
) -> None:
    broker = mosquitto_factory(stations=STATIONS, cert_stations=())
    engine = make_cloud(tmp_path / "cloud.db", STATIONS)
    (one, two), syncers = two_stations(tmp_path)
    assert one.queries.lookup_barcode("6900000000021") is None
    _import(engine, tmp_path, "CUP-350,保温杯 350ml 升级款,330,6901234567892 6900000000021,\n"
                              "MUG-1,马克杯,410,6900000000014,\n")
    with running_ingest(broker, engine), running_daemon(broker, syncers[0]), \
            running_daemon(broker, syncers[1]):
        wait_until(lambda: all(s.queries.lookup_barcode("6900000000021") is not None
                               and s.queries.lookup_barcode("6900000000014") is not None
                               for s in (one, two)), 30, what="the new barcodes at both stations")
        # a late copy of version 1 (a re-send overtaken by the edit) changes nothing
        with write_transaction(engine) as conn:
            enqueue_down(conn, "st-01", "catalog", CatalogWire(skus=[SkuWire(
                sku="CUP-350", name_zh="旧名", unit_weight_g=320, version=1)]), now=NOW)
        with write_transaction(engine) as conn:
            form = products.ProductForm.of(products.get(conn, "CUP-350"))  # type: ignore[arg-type]
            form.values["name_zh"] = "保温杯 350ml 第三版"
            products.save(conn, form, sku="CUP-350", actor="boss", now=NOW)

        def acked() -> bool:
            with engine.connect() as conn:
                return not conn.execute(sa.select(downlink_outbox.c.msg_id).where(
                    downlink_outbox.c.acked_at.is_(None))).first()

        wait_until(acked, 30, what="every catalog message acked")
    for store in (one, two):
        assert _sku(store, "CUP-350") == ("保温杯 350ml 第三版", 2, "A-01-01")
        assert _sku(store, "MUG-1")[:2] == ("马克杯", 1)
        assert store.queries.lookup_barcode("6900000000021") is not None
