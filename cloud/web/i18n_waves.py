"""Catalogue entries of the picking waves pages (波次拣货), merged into
:data:`cloud.web.i18n.MESSAGES` (kept apart so the area's texts stay together)."""

from __future__ import annotations

WAVE_MESSAGES: dict[str, tuple[str, str]] = {
    "nav.waves": ("波次拣货", "Picking waves"),
    "wv.title": ("波次拣货", "Picking waves"),
    "wv.help": ("把已下发到工作站的订单分成波次: 拣货员按库位顺序一次拣完, 多品波次再按格口播种。"
                "拣货缺货的订单被拦截, 在此显示。",
                "Group orders already sent to a station into waves: the picker walks the "
                "locations once; a multi-item wave is then sorted into put-wall slots. Orders "
                "a short pick left without goods are intercepted and show here."),
    "wv.new": ("生成波次", "Build waves"),
    "wv.station": ("工作站", "Station"),
    "wv.kind": ("类型", "Kind"),
    "wv.kind.single": ("单品单件", "Single-item"),
    "wv.kind.multi": ("多品 (播种)", "Multi-item (put wall)"),
    "wv.carrier": ("快递", "Courier"),
    "wv.carrier_any": ("全部快递", "Any courier"),
    "wv.ship_by_before": ("最晚发货时间早于", "Ship-by before"),
    "wv.zone": ("库区前缀", "Zone prefix"),
    "wv.zone_help": ("如 A 或 A-01: 只取商品都在该库区有库存的订单",
                     "e.g. A or A-01: only orders whose goods are all stocked in that zone"),
    "wv.max_orders": ("每波订单数", "Orders per wave"),
    "wv.build": ("生成并下发", "Build and send"),
    "wv.id": ("波次", "Wave"),
    "wv.one": ("波次 {id}", "Wave {id}"),
    "wv.orders": ("订单数", "Orders"),
    "wv.short": ("缺货订单", "Short orders"),
    "wv.created": ("生成", "Built"),
    "wv.picked": ("拣完", "Picked"),
    "wv.slot": ("格口", "Slot"),
    "wv.order": ("订单", "Order"),
    "wv.units": ("件数", "Units"),
    "wv.ship_by": ("最晚发货", "Ship by"),
    "wv.put": ("已播种", "Slot full"),
    "wv.is_short": ("拣货缺货", "Short pick"),
    "wv.pick_lines": ("拣货结果", "Pick result"),
    "wv.location": ("库位", "Location"),
    "wv.wanted": ("应拣", "Wanted"),
    "wv.got": ("实拣", "Picked"),
    "wv.cancel": ("取消波次", "Cancel the wave"),
    "wv.cancel_reason": ("取消原因", "Reason"),
    "wv.flash_built": ("已生成 {n} 个波次并下发到工作站", "{n} wave(s) built and sent to the station"),
    "wv.flash_none": ("没有符合条件的订单", "No order matches"),
    "wv.flash_cancelled": ("波次 {id} 已取消", "Wave {id} cancelled"),
    "wv_status.open": ("待拣货", "To pick"),
    "wv_status.picked": ("已拣完", "Picked"),
    "wv_status.cancelled": ("已取消", "Cancelled"),
}
"""Texts of the waves pages: key → (Chinese, English)."""
