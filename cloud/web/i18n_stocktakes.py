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
    "st.plans": ("盘点计划", "Planned counts"),
    "st.plans_help": ("在这里安排盘点, 计划发到该仓库的工作站; 组长在工作站「计划盘点」开始, 盲盘, 审核后差异回到这里。",
                      "Plan a count here: it goes to the warehouse's stations, where a lead starts "
                      "it (计划盘点), counts blind and approves; the variances come back here."),
    "st.scope_choice.full": ("全仓", "Whole warehouse"),
    "st.scope_choice.zone": ("按库区", "One zone"),
    "st.scope_choice.sku": ("按商品", "One SKU"),
    "st.scope_value": ("库区或 SKU", "Zone or SKU"),
    "st.note": ("备注", "Note"),
    "st.plan_send": ("下发到工作站", "Send to the stations"),
    "st.plan": ("计划", "Plan"),
    "st.plan_state": ("状态", "State"),
    "st.plan_state.open": ("待开始", "waiting"),
    "st.plan_state.done": ("已完成", "done"),
    "st.plan_state.cancelled": ("已取消", "cancelled"),
    "st.planned_by": ("安排人", "Planned by"),
    "st.plan_cancel": ("取消", "Cancel"),
    "st.planned": ("盘点计划 {id} 已下发到工作站", "Plan {id} sent to the stations"),
    "st.plan_cancelled": ("盘点计划 {id} 已取消", "Plan {id} cancelled"),
    "st.approved_list": ("已审核的盘点", "Approved stocktakes"),
}
"""Key → (中文, English)."""
