"""Kits (组合商品) at the pack station: the cloud sends a kit's components with the kit's next
catalog version; the station keeps them, and a scan of the kit's own barcode counts every
component at once (like a case barcode counts N of one SKU).

Barcodes: GIFT-1's item code 6900000000212 and its two-kit case code 16900000000219 (check
digits worked out by hand: 690000000021 → 2, 1690000000021 → 9)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud import catalog, kits
from cloud.db import write_transaction
from cloud.db.schema import downlink_outbox
from edge.domain.barcodes import is_gtin
from edge.domain.packing import Outcome, Packer
from edge.store.packing import StoreOrderSource
from edge.sync.inbox import apply_catalog, apply_task
from edge.sync.schema import CatalogWire, SkuWire, TaskLineWire, TaskWire
from tests.fixtures.mosquitto import MosquittoFactory
from tests.sync.harness import make_cloud, make_station
from tests.sync.helpers import wait_until
from tests.sync.test_faults import STATIONS, running_daemon, running_ingest
from tests.sync.test_faults import stations as two_stations

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
KIT_CODE = "6900000000212"
"""GIFT-1's own barcode (one kit)."""
KIT_CASE = "16900000000219"
"""A case of two GIFT-1."""


def test_the_barcodes_check_digits_by_hand() -> None:
    assert is_gtin(KIT_CODE) and is_gtin(KIT_CASE)


def _queued(engine: Engine) -> list[tuple[str, str, dict]]:  # type: ignore[type-arg]
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(
            downlink_outbox.c.station_id, downlink_outbox.c.kind, downlink_outbox.c.payload
        ).order_by(downlink_outbox.c.seq))]  # type: ignore[misc]


def test_saving_a_kit_sends_its_components_to_every_station(tmp_path: Path) -> None:
    engine = make_cloud(tmp_path / "cloud.db", ("st-01", "st-02"))
    path = tmp_path / "cat.csv"
    path.write_text("商品编码,商品名称,重量(g),条码,箱规条码\n"
                    "CUP-350,保温杯 350ml,320,6901234567892,\n"
                    "TOWEL-W,纯棉毛巾 白色,110,,\n"
                    f"GIFT-1,保温杯礼盒,0,{KIT_CODE},{KIT_CASE}*2\n", encoding="utf-8")
    with write_transaction(engine) as conn:
        assert catalog.import_catalog(conn, path, actor="boss", now=NOW).imported == 3
    before = len(_queued(engine))
    with write_transaction(engine) as conn:
        assert kits.save(conn, "GIFT-1", kits.KitForm([("CUP-350", "2"), ("TOWEL-W", "1")]),
                         actor="boss", now=NOW)
    sent = _queued(engine)[before:]
    # version 1 from the import, 2 with the components; only the kit is sent
    assert [(st, kind, [(s["sku"], s["version"], s["components"], s["barcodes"])
                        for s in p["skus"]]) for st, kind, p in sent] == [
        (st, "catalog", [("GIFT-1", 2, [["CUP-350", 2], ["TOWEL-W", 1]],
                          [[KIT_CASE, 2], [KIT_CODE, 1]])]) for st in ("st-01", "st-02")]
    # a plain SKU goes out with no components (a station drops any it had)
    with write_transaction(engine) as conn:
        catalog.send_to_stations(conn, ["CUP-350"], now=NOW)
    assert [s["components"] for _st, _k, p in _queued(engine)[before + 2:]
            for s in p["skus"]] == [[], []]


def _kit(version: int, components: list[tuple[str, int]] | None) -> CatalogWire:
    return CatalogWire(skus=[SkuWire(
        sku="GIFT-1", name_zh="保温杯礼盒", barcodes=[(KIT_CODE, 1), (KIT_CASE, 2)],
        version=version, components=components)])


def test_a_kit_barcode_counts_its_components_at_the_pack_station(tmp_path: Path) -> None:
    store = make_station(tmp_path / "st.db", "st-01")
    apply_catalog(store.writer, _kit(1, [("CUP-350", 2), ("TOWEL-W", 1)]))
    assert store.queries.kit_components("GIFT-1") == [("CUP-350", 2), ("TOWEL-W", 1)]
    assert store.queries.lookup_barcode(KIT_CASE) == ("GIFT-1", 2)
    # the cloud's task carries the kit as its components: 2 kits = 4 CUP-350 + 2 TOWEL-W
    apply_task(store.writer, TaskWire(
        order_id="O-1", platform="pdd", platform_order_no="PDD-1", waybill_no="YT1",
        carrier="YTO", ordered_at=NOW, lines=[TaskLineWire(line_no=1, sku="CUP-350", qty=4),
                                              TaskLineWire(line_no=2, sku="TOWEL-W", qty=2)]))
    apply_task(store.writer, TaskWire(
        order_id="O-2", platform="pdd", platform_order_no="PDD-2", waybill_no="YT2",
        carrier="YTO", ordered_at=NOW, lines=[TaskLineWire(line_no=1, sku="CUP-350", qty=2)]))
    packer = Packer(StoreOrderSource(store.queries))
    # no order open: a kit of several SKUs opens none
    assert packer.scan(KIT_CODE).outcome is Outcome.NO_ORDER_FOR_ITEM
    assert packer.scan("YT1").outcome is Outcome.ORDER_OPENED
    one = packer.scan(KIT_CODE)
    assert (one.outcome, one.sku, one.units, one.detail) == (
        Outcome.COUNTED, "GIFT-1", 1, "CUP-350×2 + TOWEL-W×1")
    assert packer.session is not None and packer.session.counts == {"CUP-350": 2, "TOWEL-W": 1}
    # a case of two kits would need 4 CUP-350 with 2 left: refused, nothing counted
    extra = packer.scan(KIT_CASE)
    assert (extra.outcome, extra.detail) == (Outcome.EXTRA_ITEM, "CUP-350×4 + TOWEL-W×2")
    assert packer.session.counts == {"CUP-350": 2, "TOWEL-W": 1} and packer.session.rejected == 1
    assert packer.scan(KIT_CODE).outcome is Outcome.COMPLETE
    assert packer.session.counts == {"CUP-350": 4, "TOWEL-W": 2}
    # a kit with a component the order lacks is a wrong item
    packer.reset()
    assert packer.scan("YT2").outcome is Outcome.ORDER_OPENED
    wrong = packer.scan(KIT_CODE)
    assert wrong.outcome is Outcome.WRONG_ITEM and packer.session.counts == {"CUP-350": 0}
    # a copy that names no components (an older cloud) keeps them; [] makes it a plain SKU
    apply_catalog(store.writer, _kit(2, None))
    assert store.queries.kit_components("GIFT-1") == [("CUP-350", 2), ("TOWEL-W", 1)]
    apply_catalog(store.writer, _kit(3, []))
    assert store.queries.kit_components("GIFT-1") == []
    # a late copy of version 1 changes nothing
    apply_catalog(store.writer, _kit(1, [("CUP-350", 2), ("TOWEL-W", 1)]))
    assert store.queries.kit_components("GIFT-1") == []


@pytest.mark.broker
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_kit_saved_in_the_cloud_reaches_both_stations_through_the_broker(
    mosquitto_factory: MosquittoFactory, tmp_path: Path,
) -> None:
    broker = mosquitto_factory(stations=STATIONS, cert_stations=())
    engine = make_cloud(tmp_path / "cloud.db", STATIONS)
    (one, two), syncers = two_stations(tmp_path)
    path = tmp_path / "cat.csv"
    path.write_text("商品编码,商品名称,重量(g),条码,箱规条码\n"
                    "CUP-350,保温杯 350ml,320,6901234567892,\n"
                    "TOWEL-W,纯棉毛巾 白色,110,,\n"
                    f"GIFT-1,保温杯礼盒,0,{KIT_CODE},\n", encoding="utf-8")
    with write_transaction(engine) as conn:
        catalog.import_catalog(conn, path, actor="boss", now=NOW)
        kits.save(conn, "GIFT-1", kits.KitForm([("CUP-350", "1"), ("TOWEL-W", "2")]),
                  actor="boss", now=NOW)
    with running_ingest(broker, engine), running_daemon(broker, syncers[0]), \
            running_daemon(broker, syncers[1]):
        wait_until(lambda: all(s.queries.kit_components("GIFT-1") == [("CUP-350", 1),
                                                                      ("TOWEL-W", 2)]
                               for s in (one, two)), 30, what="the kit at both stations")
    for store in (one, two):
        assert store.queries.lookup_barcode(KIT_CODE) == ("GIFT-1", 1)
