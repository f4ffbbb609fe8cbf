"""Catalogue entries of the handover (交接) pages, merged into
:data:`cloud.web.i18n.MESSAGES` (kept apart so the area's texts stay together)."""

from __future__ import annotations

HANDOVER_MESSAGES: dict[str, tuple[str, str]] = {
    "nav.handovers": ("快递交接", "Handovers"),
    "ho.title": ("快递交接", "Courier handovers"),
    "ho.help": ("工作站在快递员揽收时逐件扫描包裹, 结束交接时打印交接单由快递员签字。"
                "未交接: 该快递在本站已发货但不在这一批里的包裹。",
                "Stations scan each parcel when the courier picks up and print a list the "
                "courier signs when the batch closes. Not handed over: parcels of that courier "
                "shipped at the station but not in the batch."),
    "ho.batch": ("批次", "Batch"),
    "ho.courier": ("快递", "Courier"),
    "ho.closed_at": ("交接时间", "Handed over"),
    "ho.operator": ("交接人", "Operator"),
    "ho.expected": ("应交", "Due"),
    "ho.handed": ("实交", "Handed over"),
    "ho.missing": ("未交接", "Not handed over"),
    "ho.order_section": ("快递交接", "Handed to the courier"),
    "ho.waybill": ("面单号", "Waybill"),
}
"""key → (Chinese, English)."""
