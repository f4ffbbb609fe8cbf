"""From a packed order to printer bytes: the TSPL waybill and the ESC/POS packing slip.

The layouts live in ``edge.printing``; this only fills them from the order, the receiver
(unsealed with the station key for the label; the masked copy when there is no key) and
the sender settings of the station.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from edge.domain.packing import PackOrder
from edge.domain.pii import unseal
from edge.errors import PrinterError
from edge.hardware.print_component import waybill_contents
from edge.printing.labels import ItemLabel, WaybillLabel, build_item_label, build_waybill
from edge.printing.receipts import (
    HandoverList,
    PackingSlip,
    SlipLine,
    build_handover_list,
    build_packing_slip,
)
from edge.store.handover import ClosedBatch


def _receiver(facts: dict[str, Any]) -> dict[str, str]:
    """The full receiver when the station key unsealed it, else the masked copy."""
    full = facts.get("receiver")
    if isinstance(full, dict):
        region = "".join(str(full.get(k) or "") for k in ("province", "city", "district"))
        return {"name": str(full.get("name", "")), "phone": str(full.get("phone", "")),
                "address": region + str(full.get("address") or "")}
    raw = facts.get("receiver_masked") or "{}"
    try:
        data = json.loads(raw) if isinstance(raw, str) else dict(raw)
    except ValueError:
        data = {}
    return {k: str(data.get(k, "")) for k in ("name", "phone", "address")}


def unseal_receiver(facts: dict[str, Any], key: bytes | None) -> dict[str, Any]:
    """Add ``receiver`` (the full address) to ``facts`` when the station key opens it."""
    token = facts.get("receiver_sealed")
    if key and token:
        facts = {**facts, "receiver": unseal(str(token), key)}
    return facts


CARRIER_NAMES: dict[str, str] = {
    "ZTO": "中通快递", "YTO": "圆通速递", "STO": "申通快递", "YUNDA": "韵达快递",
    "SF": "顺丰速运", "EMS": "邮政EMS", "JD": "京东快递", "HT": "百世快递",
    "DB": "德邦快递", "YZXB": "邮政快递包裹", "JTSD": "极兔速递",
}
"""Chinese courier names by carrier code, for tasks from a cloud that sends no name."""


def courier_name(carrier: str, lang: str) -> str:
    """How the kiosk names a courier: the Chinese name (``CARRIER_NAMES``) in Chinese, the
    carrier code in English (and for a code without a known name)."""
    return CARRIER_NAMES.get(carrier, carrier) if lang == "zh" else carrier


def local_clock(stamp: str, tz: tzinfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored ISO UTC timestamp in the kiosk's zone."""
    return datetime.fromisoformat(stamp).astimezone(tz).strftime(fmt)


def handover_list(batch: ClosedBatch, *, t: Callable[..., str], lang: str, tz: tzinfo,
                  station: str, operator_name: str) -> bytes:
    """The handover list (交接单) of a closed batch as ESC/POS bytes, in the kiosk's
    language (``t`` its lookup): the courier's counts, every parcel, the waybills shipped but
    not handed over, and the lines the courier and the operator sign."""
    courier = courier_name(batch.carrier, lang)
    counts = [t("handover.slip.counts", courier=courier, expected=batch.expected,
                handed=len(batch.parcels), missing=len(batch.not_handed_over))]
    if batch.not_handed_over:
        counts.append(t("handover.slip.missing"))
    return build_handover_list(HandoverList(
        title=t("handover.slip.title"),
        header=[t("handover.slip.courier", courier=courier),
                t("handover.slip.batch", batch=batch.batch_id),
                t("handover.slip.station", station=station),
                t("handover.slip.time", time=local_clock(batch.closed_at, tz)),
                t("handover.slip.operator", name=operator_name)],
        rows=[(p.waybill_no, local_clock(p.scanned_at, tz, "%H:%M")) for p in batch.parcels],
        counts=counts, missing=list(batch.not_handed_over),
        signature=[t("handover.slip.sign_courier"), t("handover.slip.sign_operator")],
        barcode=batch.batch_id,
    ))


def task_label(facts: dict[str, Any]) -> dict[str, str]:
    """The cloud's label fields (``print_data["label"]``, see ``TaskLabelWire``), or {}."""
    raw = facts.get("print_data")
    try:
        data = json.loads(raw) if isinstance(raw, str) else (raw or {})
    except ValueError:
        return {}
    label = data.get("label") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in label.items()} if isinstance(label, dict) else {}


def print_time(facts: dict[str, Any]) -> str:
    """The kiosk's clock (``now``) in its zone (``tz``) as ``YYYY-MM-DD HH:MM``, else ""."""
    tz: tzinfo | None = facts.get("tz")
    when: datetime | None = facts.get("now")
    if when is None or when.tzinfo is None or tz is None:
        return ""
    return when.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def waybill(order: PackOrder, facts: dict[str, Any]) -> bytes:
    """The waybill label of ``order`` as one TSPL job: the sender the waybill was taken
    with (from the task; the station's sender settings for tasks without one), the
    courier's Chinese name, the sort code and package centre when the waybill gave them."""
    r = _receiver(facts)
    got = task_label(facts)
    sender = got if got.get("sender_name") else {
        k: str(facts.get(k, "")) for k in ("sender_name", "sender_phone", "sender_address")}
    carrier = order.carrier or ""
    items = "，".join(f"{line.name}×{line.qty}" for line in order.lines)
    return build_waybill(WaybillLabel(
        waybill_no=order.waybill_no or order.order_id,
        carrier=got.get("carrier_name") or CARRIER_NAMES.get(carrier, carrier),
        sender_name=sender.get("sender_name", ""), sender_phone=sender.get("sender_phone", ""),
        sender_address=sender.get("sender_address", ""),
        receiver_name=r["name"], receiver_phone=r["phone"], receiver_address=r["address"],
        items_summary=items, order_no=order.platform_order_no,
        sort_code=got.get("sort_code", ""), package_centre=got.get("package_centre", ""),
        print_time=print_time(facts),
    ))


def routed_to_component(carriers: frozenset[str], carrier: str | None) -> bool:
    """Whether a waybill of ``carrier`` prints through the print component (the carrier is
    in ``carriers``, or ``carriers`` has ``*``)."""
    return bool(carriers) and ("*" in carriers or (carrier or "") in carriers)


def platform_print_data(facts: dict[str, Any]) -> str | None:
    """The platform's ``print_data`` of the order's e-waybill, as the platform sent it (the
    task keeps it in its print data under ``print_data``), or None."""
    raw = facts.get("print_data")
    try:
        data = json.loads(raw) if isinstance(raw, str) else (raw or {})
    except ValueError:
        return None
    inner = data.get("print_data") if isinstance(data, dict) else None
    return inner if isinstance(inner, str) and inner else None


def component_document(order: PackOrder, facts: dict[str, Any],
                       template_url: str = "") -> tuple[str, list[dict[str, Any]]]:
    """The order's waybill for a print component: (documentID = the waybill number,
    contents = the platform's print data unchanged, then the custom area: order no.,
    items with quantities, the buyer's note, the print time)."""
    print_data = platform_print_data(facts)
    if print_data is None:
        raise PrinterError("此单没有平台面单打印数据, 打印组件无法打印 / this order has no "
                           "platform print data for the print component")
    custom = {"templateURL": template_url, "data": {
        "orderNo": order.platform_order_no,
        "items": [{"sku": line.sku, "name": line.name, "qty": line.qty} for line in order.lines],
        "itemsSummary": "，".join(f"{line.name}×{line.qty}" for line in order.lines),
        "buyerNote": order.buyer_note or "", "printTime": print_time(facts)}}
    return order.waybill_no or order.order_id, waybill_contents(print_data, custom)


def local_time(facts: dict[str, Any]) -> str:
    """When the order was packed (else ``now``), as ``YYYY-MM-DD HH:MM`` in ``tz``: the
    print worker puts the kiosk's clock (``now``, aware) and zone (``tz``) in the facts."""
    tz: tzinfo | None = facts.get("tz")
    when: datetime | None = facts.get("now")
    packed = facts.get("packed_at")
    if packed:
        when = datetime.fromisoformat(str(packed))
    if when is None or when.tzinfo is None or tz is None:
        return "-"  # never guess a zone: a slip without a time beats a wrong one
    return when.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def slip(order: PackOrder, facts: dict[str, Any]) -> bytes:
    """The packing slip of ``order`` as ESC/POS bytes."""
    r = _receiver(facts)
    return build_packing_slip(PackingSlip(
        order_no=order.platform_order_no, waybill_no=order.waybill_no or order.order_id,
        carrier=order.carrier or "", receiver_name=r["name"],
        lines=[SlipLine(line.sku, line.name, line.qty) for line in order.lines],
        packed_at=local_time(facts),
        station=str(facts.get("station", "")), note=order.buyer_note or "",
    ))


def test_waybill() -> bytes:
    """A test label (devices screen)."""
    return build_waybill(WaybillLabel(
        waybill_no="TEST0000000001", carrier="测试 TEST", sender_name="Packline",
        sender_phone="", sender_address="", receiver_name="测试打印", receiver_phone="",
        receiver_address="打印机工作正常 / printer works", items_summary="-", order_no="TEST",
    ))


def test_slip() -> bytes:
    """A test slip (devices screen)."""
    return build_packing_slip(PackingSlip(
        order_no="TEST", waybill_no="TEST0000000001", carrier="TEST", receiver_name="测试打印",
        lines=[SlipLine("TEST", "打印机工作正常", 1)], packed_at="-",
    ))


def goods_labels(sku: str, name: str, barcode: str | None, copies: int) -> bytes:
    """``copies`` goods labels for ``sku`` as one TSPL job: its barcode, or the SKU code
    itself as CODE128 when it has none (what the kiosk scans back is then the SKU)."""
    return build_item_label(ItemLabel(code=barcode or sku, sku=sku, name=name), copies=copies)
