"""Waybills printed through a Cainiao-protocol print component (#15 item 2): the kiosk sends
the platform's print data as it came plus the custom area, over the real WebSocket adapter,
to a fake component speaking the protocol; it ships only once the component says printed.

The expected commands are written out by hand from the protocol (docs/specs/marketplaces.md
§1.7.8), not built with the adapter's own helpers."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from edge.hardware.print_component import FakePrintComponent, PrintComponent
from edge.ui.app import PacklineApp, make_app
from edge.ui.i18n import I18n
from edge.ui.services import Devices, Services
from tests.edge.ui.conftest import (
    NOW,
    SIZE,
    Rig,
    banner_kind,
    banner_text,
    scan,
    sign_in_by_badge,
    wait_for,
)

CUP = "6901234567892"

# What the fake PDD's pdd.waybill.get returns as print_data (cloud/marketplaces/fake_pdd.py),
# stored by the cloud in the task's print data under "print_data", unchanged.
PLATFORM_PRINT_DATA = ('{"encryptedData":"q83vEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0Vng=",'
                       '"signature":"5f4dcc3b5aa765d61d8327deb882cf99",'
                       '"templateUrl":"https://fake/template/1","ver":"fake_waybill_print_v1"}')


@pytest.fixture
def component() -> Iterator[FakePrintComponent]:
    fake = FakePrintComponent()
    fake.start()
    yield fake
    fake.stop()


def _app(rig: Rig, component: FakePrintComponent, **settings: object) -> PacklineApp:
    kiosk = rig.settings(**{"lang": "zh", "component_carriers": frozenset({"SF"}),
                            "custom_area_template": "https://fake/custom/9", **settings})
    client = PrintComponent(component.url(), printer="Xprinter XP-420B")
    client.open()
    devices = Devices(scale=rig.scale, label_printer=rig.label, slip_printer=rig.slip,
                      print_component=client, put_parcel=rig.scale.put,
                      remove_parcel=rig.scale.remove)
    return make_app(kiosk, services=Services(store=rig.store, devices=devices, settings=kiosk,
                                             i18n=I18n("zh"), wall_clock=lambda: NOW))


def _with_platform_print_data(rig: Rig, order_id: str) -> None:
    with rig.store.writer.transaction() as db:
        db.execute("UPDATE orders SET print_data = ? WHERE order_id = ?", [json.dumps(
            {"platform": "pdd", "print_data": PLATFORM_PRINT_DATA}), order_id])


async def _pack_o1(app: PacklineApp, rig: Rig, until: str = "shipped") -> str:
    """Pack O1 to ``until`` (``shipped``, or ``error``: a red banner); the last banner."""
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_by_badge(pilot)
        await scan(pilot, CUP)
        await wait_for(pilot, lambda: str(getattr(app.screen, "step", "")) == "weigh")
        rig.scale.put(352)
        await wait_for(pilot, lambda: (until == "shipped" and str(
            getattr(app.screen, "step", "")) == "shipped") or (until != "shipped"
            and banner_kind(app) == "error"), timeout=15)
        banner = banner_text(app)
        app.services.devices.close()
    return banner


async def test_the_waybill_goes_to_the_component_unchanged_with_the_custom_area(
        rig: Rig, component: FakePrintComponent) -> None:
    _with_platform_print_data(rig, "O1")
    app = _app(rig, component)
    await _pack_o1(app, rig)
    assert rig.status("O1") == "shipped" and rig.label.jobs == []  # nothing drawn here
    print_requests = [t for t in component.received if '"cmd":"print"' in t]
    assert len(print_requests) == 1
    sent = json.loads(print_requests[0])
    request_id, task_id = sent["requestID"], sent["task"]["taskID"]
    assert task_id.startswith("O1:")
    assert print_requests[0] == (
        '{"cmd":"print","requestID":"' + request_id + '","version":"1.0","task":{"taskID":"'
        + task_id + '","printer":"Xprinter XP-420B","preview":false,"documents":[{'
        '"documentID":"SF1001","contents":[' + PLATFORM_PRINT_DATA + ','
        '{"templateURL":"https://fake/custom/9","data":{"orderNo":"PDD-240001","items":[{'
        '"sku":"CUP-350","name":"保温杯 350ml","qty":1}],"itemsSummary":"保温杯 350ml×1",'
        '"buyerNote":"","printTime":"2026-11-23 16:10"}}]}]}}')
    assert [(p, d) for p, d, _ in component.printed] == [("Xprinter XP-420B", "SF1001")]
    assert rig.rows("SELECT order_id, kind, is_reprint, operator_id FROM print_log") == [
        ("O1", "label", 0, "P01")]


async def test_a_jammed_component_ships_nothing(rig: Rig, component: FakePrintComponent) -> None:
    _with_platform_print_data(rig, "O1")
    component.set_jammed()
    app = _app(rig, component)
    assert "卡纸" in await _pack_o1(app, rig, until="error")
    assert rig.status("O1") != "shipped" and rig.outbox("shipment") == []
    assert rig.rows("SELECT COUNT(*) FROM print_log") == [(0,)]


async def test_an_order_without_platform_print_data_is_refused_in_words(
        rig: Rig, component: FakePrintComponent) -> None:
    app = _app(rig, component)  # O1 keeps the fixture's print data: no platform print_data
    assert "没有平台面单打印数据" in await _pack_o1(app, rig, until="error")
    assert rig.status("O1") != "shipped" and component.printed == []


async def test_other_carriers_still_print_tspl_here(rig: Rig,
                                                    component: FakePrintComponent) -> None:
    _with_platform_print_data(rig, "O1")
    app = _app(rig, component, component_carriers=frozenset({"ZTO"}))
    await _pack_o1(app, rig)
    assert rig.status("O1") == "shipped" and len(rig.label.jobs) == 1
    assert not any('"cmd":"print"' in t for t in component.received)


def test_the_fake_component_refuses_what_a_component_refuses(
        component: FakePrintComponent) -> None:
    def ask(message: dict[str, object]) -> dict[str, object]:
        return component.answer(json.dumps(message))[0]

    base = {"cmd": "print", "requestID": "r1", "version": "1.0"}
    doc = {"documentID": "D1", "contents": [json.loads(PLATFORM_PRINT_DATA)]}
    assert ask({**base, "task": {"taskID": "t", "printer": "HP", "documents": [doc]}})[
        "msg"] == "无效的打印机"
    assert ask({**base, "task": {"taskID": "t", "documents": []}})["msg"] == "documents不能为空"
    assert ask({**base, "task": {"taskID": "t", "documents": [
        {"documentID": "D1", "contents": [{"templateURL": "x"}]}]}})["msg"] == "打印数据无效"
    assert ask({**base, "task": {"documents": [doc]}})["msg"] == "缺少task或taskID"
    assert component.answer("not json")[0]["status"] == "failed"
    assert ask({"cmd": "getPrinters", "requestID": "r2", "version": "1.0"}) == {
        "cmd": "getPrinters", "requestID": "r2", "status": "success", "msg": "",
        "defaultPrinter": "Deli DL-888D", "printers": [
            {"name": "Deli DL-888D", "status": "enable"},
            {"name": "Xprinter XP-420B", "status": "enable"}]}
    assert component.printed == []
