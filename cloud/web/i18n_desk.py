"""Catalogue entries of the 打单台 (the office's batch printing desk), merged into
:data:`cloud.web.i18n.MESSAGES`."""

from __future__ import annotations

DESK_MESSAGES: dict[str, tuple[str, str]] = {
    "nav.desk": ("打单台", "Print desk"),
    "desk.title": ("打单台", "Print desk"),
    "desk.help": ("勾选要打印的订单, 选择打印顺序, 通过电脑上的菜鸟打印组件批量打印电子面单; "
                  "发货单可同时打印。已打印过的订单重打需要填写原因。",
                  "Tick the orders, choose the print order and print their e-waybills in one "
                  "batch through the Cainiao print component on this PC; print the packing "
                  "list alongside. Reprinting needs a reason."),
    "desk.shop": ("店铺", "Shop"),
    "desk.carrier": ("快递", "Courier"),
    "desk.single": ("只看单品单件", "Single item only"),
    "desk.sku": ("包含 SKU", "With SKU"),
    "desk.province": ("省份", "Province"),
    "desk.paid_before": ("付款早于", "Paid before"),
    "desk.ship_by_before": ("最晚发货早于", "Ship by before"),
    "desk.order_by": ("打印顺序", "Print order"),
    "desk.order.ship_by": ("按最晚发货时间", "By ship-by deadline"),
    "desk.order.sku": ("按 SKU", "By SKU"),
    "desk.order.location": ("按库位 (拣货顺序)", "By location (pick order)"),
    "desk.any": ("全部", "All"),
    "desk.order": ("订单", "Order"),
    "desk.items": ("商品", "Items"),
    "desk.waybill": ("面单号", "Waybill"),
    "desk.no_waybill": ("待取号", "awaiting number"),
    "desk.location": ("库位", "Location"),
    "desk.ship_by": ("最晚发货", "Ship by"),
    "desk.late": ("已超时", "late"),
    "desk.status": ("打印状态", "Print status"),
    "desk.not_printed": ("未打印", "Not printed"),
    "desk.printed": ("已打印", "Printed"),
    "desk.reprinted": ("已打印 {n} 次", "Printed {n} times"),
    "desk.select_all": ("全选", "Select all"),
    "desk.component": ("打印组件地址", "Print component"),
    "desk.connect": ("连接打印组件", "Connect"),
    "desk.printer": ("打印机", "Printer"),
    "desk.reason": ("重打原因", "Reprint reason"),
    "desk.print": ("打印面单", "Print waybills"),
    "desk.packing_list": ("打印发货单", "Packing list"),
    "desk.needs_js": ("打印面单需要启用 JavaScript, 并在本机运行菜鸟打印组件。",
                      "Printing waybills needs JavaScript and the Cainiao print component "
                      "running on this PC."),
    "desk.none": ("没有待打印的订单", "No orders to print"),
    "desk.shown": ("显示 {n} 单 (最多 {limit} 单, 请缩小筛选范围)",
                   "{n} orders shown (at most {limit}: narrow the filter)"),
    "desk.packing_title": ("发货单", "Packing list"),
    "desk.seller_note": ("卖家备注", "Seller note"),
    "desk.printed_at": ("打印时间", "Printed at"),
    "desk.qty": ("数量", "Qty"),
    "desk.take_numbers": ("取号 (勾选的待取号订单)", "Take waybill numbers (ticked)"),
    "desk.numbers_done": ("取号完成: 成功 {issued} 单, 待重试 {deferred} 单, 平台拒绝 {refused} 单, "
                          "无需取号 {skipped} 单",
                          "Numbers: {issued} taken, {deferred} to retry, {refused} refused by "
                          "the platform, {skipped} needed none"),
    "desk.numbers_retry": ("平台未及时应答或限流: 稍后勾选这些订单再取一次。",
                           "The platform did not answer in time or throttled: tick them and "
                           "take numbers again later."),
    "desk.refused_why": ("平台拒绝原因", "The platform's reason"),
    "review.act.desk_print": ("打单台打印面单", "waybill printed at the desk"),
    "review.act.desk_reprint": ("打单台重打面单", "waybill reprinted at the desk"),
}
