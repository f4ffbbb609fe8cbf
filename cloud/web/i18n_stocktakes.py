"""Catalogue entries of the stocktake variance report (盘点差异), merged into
:data:`cloud.web.i18n.MESSAGES` (kept apart so the area's texts stay together)."""

from __future__ import annotations

STOCKTAKE_MESSAGES: dict[str, tuple[str, str]] = {
    "nav.stocktakes": ("盘点差异", "Stocktakes"),
    "st.title": ("盘点差异", "Stocktake variances"),
    "st.help": ("工作站审核的盘点: 实盘数与盘点时的账面数之差写入库存 (盘点调整)。"
                "差异过大的库位复盘过一次, 以复盘数为准。",
                "Stocktakes approved at stations: the difference between the count and the "
                "books at count time was recorded as a count adjustment. A location that "
                "differed too much was counted twice; the recount stands."),
    "st.one": ("盘点 {id}", "Stocktake {id}"),
    "st.id": ("盘点单号", "Stocktake"),
    "st.station": ("工作站", "Station"),
    "st.warehouse": ("仓库", "Warehouse"),
    "st.scope": ("范围", "Scope"),
    "st.scope.full": ("全仓", "Whole warehouse"),
    "st.scope.zone": ("库区 {value}", "Zone {value}"),
    "st.scope.sku": ("商品 {value}", "SKU {value}"),
    "st.started": ("开始", "Started"),
    "st.approved": ("审核", "Approved"),
    "st.lines": ("盘点行", "Lines"),
    "st.varied": ("有差异", "Differ"),
    "st.over": ("盘盈", "Over"),
    "st.short": ("盘亏", "Short"),
    "st.recounts": ("复盘", "Recounts"),
    "st.location": ("库位", "Location"),
    "st.sku": ("商品", "SKU"),
    "st.round": ("轮次", "Round"),
    "st.round.1": ("初盘", "First count"),
    "st.round.2": ("复盘", "Recount"),
    "st.expected": ("账面 (盘点时)", "Books (at count)"),
    "st.counted": ("实盘", "Counted"),
    "st.variance": ("差异", "Variance"),
    "st.superseded": ("已被复盘取代", "replaced by the recount"),
    "st.move": ("调整记录", "Adjustment"),
    "st.by": ("{who} 于 {at}", "{who} at {at}"),
    "st.snapshot": ("快照位置 (工作站流水号)", "Snapshot (station ledger seq)"),
    "st.back": ("返回盘点列表", "Back to stocktakes"),
}
"""Key → (中文, English)."""
