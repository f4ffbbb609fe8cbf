"""Catalogue entries of the transfer (调拨) pages and the 在途 column, merged into
:data:`cloud.web.i18n.MESSAGES` (kept apart so the area's texts stay together)."""

from __future__ import annotations

TRANSFER_MESSAGES: dict[str, tuple[str, str]] = {
    "nav.transfers": ("调拨", "Transfers"),
    "tr.title": ("调拨单", "Transfers"),
    "tr.help": ("调出仓库的工作站出库 (调拨出库), 货物即为在途; 调入仓库的工作站收货 (调拨入库)。"
                "未到齐的可以结案, 已发未收的数量记为短少。",
                "A station of the source warehouse ships (transfer out): the goods are in "
                "transit; a station of the destination receives them (transfer in). A "
                "transfer can be closed short: what shipped and did not arrive is recorded "
                "missing."),
    "tr.new": ("新建调拨单", "New transfer"),
    "tr.one": ("调拨单 {id}", "Transfer {id}"),
    "tr.id": ("单号", "No."),
    "tr.from": ("调出仓库", "From"),
    "tr.to": ("调入仓库", "To"),
    "tr.lines": ("调拨明细", "Lines"),
    "tr.lines_help": ("每行: 商品编码 数量", "one per row: SKU quantity"),
    "tr.lines_count": ("行数", "Lines"),
    "tr.note": ("备注", "Note"),
    "tr.save_draft": ("保存草稿", "Save draft"),
    "tr.created": ("创建", "Created"),
    "tr.sent": ("发送", "Sent"),
    "tr.closed": ("结案", "Closed"),
    "tr.qty": ("调拨数量", "Quantity"),
    "tr.shipped": ("已调出", "Shipped"),
    "tr.received": ("已调入", "Received"),
    "tr.in_transit": ("在途", "In transit"),
    "tr.missing": ("短少", "Missing"),
    "tr.diffs": ("收货差异", "Receipt discrepancies"),
    "tr.diff_expected": ("在途", "In transit"),
    "tr.diff_counted": ("实收", "Counted"),
    "tr.diff_delta": ("差异", "Difference"),
    "tr.diff_reason": ("原因", "Reason"),
    "tr.diff_by": ("记录", "Recorded"),
    "tr.total": ("合计", "Total"),
    "tr.send": ("发送到两个仓库的工作站", "Send to both warehouses' stations"),
    "tr.cancel": ("取消调拨单", "Cancel the transfer"),
    "tr.cancel_reason": ("取消原因", "Why cancel"),
    "tr.close": ("结案 (未到的记为短少)", "Close short (what has not arrived is missing)"),
    "tr.close_reason": ("结案原因", "Why close"),
    "tr.close_reason_shown": ("结案原因", "Closed because"),
    "tr.cancel_reason_shown": ("取消原因", "Cancelled because"),
    "tr_status.draft": ("草稿", "Draft"),
    "tr_status.sent": ("已发送", "Sent"),
    "tr_status.shipped": ("已调出", "Shipped"),
    "tr_status.partial": ("部分调入", "Partly received"),
    "tr_status.received": ("已完成", "Received"),
    "tr_status.cancelled": ("已取消", "Cancelled"),
    "tr.flash_created": ("已保存调拨单 {id} (草稿)", "Transfer {id} saved as a draft"),
    "tr.flash_sent": ("调拨单 {id} 已发送到工作站", "Transfer {id} sent to the stations"),
    "tr.flash_cancelled": ("调拨单 {id} 已取消", "Transfer {id} cancelled"),
    "tr.flash_closed": ("调拨单 {id} 已结案", "Transfer {id} closed"),
    "stock.in_transit": ("在途", "In transit"),
}
"""key → (Chinese, English)."""
