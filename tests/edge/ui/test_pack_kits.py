"""A kit's (组合商品) own barcode at the kiosk, driven like a packer (Pilot): one scan counts
every component of the kit; a kit the order cannot take is refused with nothing counted
(a kit of one SKU is refused as that SKU, like a case).

Order O3 (waybill SF1003) is 1 × CUP-350 + 2 × TOWEL-W, 570 g expected (320 + 2 × 110 +
30 packaging). GIFT-1 = 1 × CUP-350 + 2 × TOWEL-W; BIG-2 = 2 × CUP-350."""

from __future__ import annotations

from edge.sync.inbox import apply_catalog
from edge.sync.schema import CatalogWire, SkuWire
from edge.ui.app import PacklineApp
from tests.edge.ui.conftest import (
    SIZE,
    Rig,
    banner_kind,
    banner_text,
    scan,
    sign_in_by_badge,
    wait_for,
)

GIFT, BIG = "6900000000212", "6900000000229"
"""GIFT-1's and BIG-2's barcodes (check digits by hand: 690000000021 → 2, 690000000022 → 9)."""


def counts(app: PacklineApp) -> dict[str, int]:
    packer = app.screen.packer  # type: ignore[attr-defined]
    return dict(packer.session.counts) if packer.session else {}


def step(app: PacklineApp) -> str:
    return str(getattr(app.screen, "step", ""))


async def test_a_kit_barcode_counts_its_components_and_the_parcel_ships(rig: Rig) -> None:
    apply_catalog(rig.store.writer, CatalogWire(skus=[
        SkuWire(sku="GIFT-1", name_zh="保温杯毛巾礼盒", barcodes=[(GIFT, 1)], version=1,
                components=[("CUP-350", 1), ("TOWEL-W", 2)]),
        SkuWire(sku="BIG-2", name_zh="双杯装", barcodes=[(BIG, 1)], version=1,
                components=[("CUP-350", 2)])]))
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)
        await pilot.click("#go-pack")
        await scan(pilot, "SF1003")
        await scan(pilot, BIG)  # a kit of one SKU is a case: 2 CUP-350 with 1 expected
        assert banner_kind(app) == "error" and banner_text(app) == "多货！保温杯 350ml 已够数（0/1）"
        assert counts(app) == {"CUP-350": 0, "TOWEL-W": 0}
        await scan(pilot, GIFT)
        await wait_for(pilot, lambda: step(app) == "weigh")
        assert counts(app) == {"CUP-350": 1, "TOWEL-W": 2}
        rig.scale.put(570)
        await wait_for(pilot, lambda: step(app) == "shipped")
    assert rig.ship_moves("O3") == [("CUP-350", "A-01-01", -1), ("TOWEL-W", "A-01-02", -2)]
    (shipment,) = rig.outbox("shipment")
    assert shipment["order_id"] == "O3" and shipment["kpis"]["rejected_scans"] == 1
