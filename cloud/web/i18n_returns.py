"""Catalogue entries of the returns (退货入库) pages, merged into
:data:`cloud.web.i18n.MESSAGES` (kept apart so the area's texts stay together)."""

from __future__ import annotations

RETURN_MESSAGES: dict[str, tuple[str, str]] = {
    "nav.returns": ("退货", "Returns"),
    "rt.title": ("退货入库", "Returns"),
    "rt.help": ("买家退回的包裹在工作站扫描退货运单号 (或原面单号、订单号) 找到订单, 逐件验收: "
                "良品放回库位, 残次放入残次区, 非本单商品单独存放不入库。验收结果供退款决定参考。",
                "A returned parcel is found at a station by its return tracking number (or the "
                "original waybill or order number) and inspected item by item: good items go "
                "back to their location, damaged ones to the damage location, items not from "
                "the order are kept aside and not stocked. Use the result to decide the refund."),
    "rt.expected": ("待收退货", "Returns on their way"),
    "rt.expected_help": ("平台上买家要求退货 (退货退款、换货) 且尚未在工作站验收的售后单。",
                         "After-sales requests that send goods back (return for refund, "
                         "exchange) and have not been inspected at a station yet."),
    "rt.received": ("已验收", "Inspected"),
    "rt.return_id": ("退货单", "Return"),
    "rt.refund": ("售后单", "After-sales"),
    "rt.refund_status": ("售后状态", "Request status"),
    "rt.return_waybill": ("退货运单", "Return waybill"),
    "rt.return_carrier": ("退货快递", "Return courier"),
    "rt.kind": ("类型", "Kind"),
    "rt.kind_return": ("退货退款", "Return for refund"),
    "rt.kind_exchange": ("换货", "Exchange"),
    "rt.units": ("件数", "Units"),
    "rt.amount": ("退款金额", "Refund"),
    "rt.asked_at": ("更新时间", "Updated"),
    "rt.good": ("良品", "Good"),
    "rt.damaged": ("残次", "Damaged"),
    "rt.wrong": ("非本单", "Not from the order"),
    "rt.exchange": ("换货", "Exchange"),
    "rt.inspected_by": ("验收人", "Inspected by"),
    "rt.inspected_at": ("验收时间", "Inspected"),
    "rt.scanned": ("扫描", "Scanned"),
    "rt.no_refund": ("无售后单", "no request known"),
    "rt.not_yet": ("未寄出", "not sent yet"),
    "rt.order_section": ("退货验收", "Returns inspected"),
    "rt.item": ("商品", "Item"),
    "rt.condition": ("验收结果", "Condition"),
    "rt.location": ("放入库位", "Put in"),
    "rt.in_order": ("本单商品", "In the order"),
    "rt.unknown_code": ("未知条码 {code}", "unknown code {code}"),
    "rt.order": ("订单", "Order"),
    "review.act.return_received": ("退货验收", "Return inspected"),
    "nav.rt_report": ("退货报表", "Returns report"),
    "rt.exchange_title": ("换货", "Exchange"),
    "rt.exchange_help": ("给买家另发一个包裹 (换货单): 选择换出的商品和数量。换货单走审单、分仓、取号、打包, "
                         "面单挂在原订单上, 不回传物流单号。",
                         "Send the buyer another parcel (an exchange order): choose the SKU and "
                         "units. It goes through review, allocation, the e-waybill (for the "
                         "original's platform order) and packing; no tracking number is written "
                         "back."),
    "rt.exchange_reason": ("原因", "Reason"),
    "rt.exchange_send": ("创建换货单", "Make the exchange order"),
    "rt.exchange_of": ("这是换货单, 原订单:", "This is an exchange for order"),
    "order.flash_exchange": ("换货单 {id} 已创建, 等待审单和分仓", "Exchange order {id} made: it waits for review and allocation"),
    "review.act.exchange": ("换货", "Exchange"),
    "rep.rt_title": ("退货报表", "Returns report"),
    "rep.rt_help": ("销售件数为期间下单的件数; 退回件数为期间在工作站验收、属于该订单的件数 (良品 + 残次); "
                    "非本单为退回包裹里不属于该订单的件数; 退货率 = 退回 ÷ 销售 (同一期间, 不是同一批订单)。",
                    "Sold: units ordered in the range. Returned: units inspected at a station in "
                    "the range that were in the order (restocked + damaged). Not ours: units in "
                    "a return parcel that were not in its order. Return rate = returned ÷ sold "
                    "over the same range (not the same orders)."),
    "rep.rt_by_sku": ("按商品", "By SKU"),
    "rep.rt_by_reason": ("按退货原因", "By reason"),
    "rep.rt_sold": ("销售件数", "Sold"),
    "rep.rt_returned": ("退回件数", "Returned"),
    "rep.rt_rate": ("退货率", "Return rate"),
    "rep.rt_reason": ("退货原因", "Reason"),
    "rep.rt_parcels": ("退货包裹", "Parcels"),
}
"""key → (Chinese, English)."""

REFUND_STATUS_WORDS: dict[str, tuple[str, str]] = {
    # PDD after_sales_status (docs/specs/marketplaces.md §1.7.2)
    "2": ("买家申请退款待商家处理", "refund asked, seller to act"),
    "3": ("退货退款待商家处理", "return asked, seller to act"),
    "4": ("商家同意退款退款中", "seller agreed, refunding"),
    "5": ("平台同意退款退款中", "platform agreed, refunding"),
    "6": ("驳回退款待买家处理", "refused, buyer to act"),
    "7": ("已同意退货待用户发货", "return agreed, buyer to ship"),
    "8": ("平台处理中", "platform deciding"),
    "9": ("平台拒绝退款", "platform refused"),
    "10": ("退款成功", "refunded"),
    "11": ("买家撤销", "withdrawn by the buyer"),
    "12": ("买家逾期未处理", "lapsed (buyer)"),
    "13": ("买家逾期超过有效期", "lapsed"),
    # TOP refund status (§2.6.7)
    "WAIT_SELLER_AGREE": ("待商家同意", "seller to agree"),
    "WAIT_BUYER_RETURN_GOODS": ("待买家退货", "buyer to send the goods"),
    "WAIT_SELLER_CONFIRM_GOODS": ("待商家确认收货", "seller to confirm receipt"),
    "SELLER_REFUSE_BUYER": ("商家拒绝退款", "seller refused"),
    "CLOSED": ("退款关闭", "closed"),
    "SUCCESS": ("退款成功", "refunded"),
    "WAIT_BUYER_CONFIRM_EXCHANGE_SELLER_SEND_GOODS": ("换货待卖家发货", "exchange: seller to send"),
    "WAIT_SELLER_CONSIGN_GOODS": ("换货待卖家发货", "exchange: seller to send"),
    "EXCHANGE_TRANSFORM_TO_REFUND": ("换货转退款", "exchange turned into a refund"),
}
"""A platform's refund status in words; an unlisted code is shown as sent."""


def refund_status_text(status: str, lang: str) -> str:
    """The refund status in words in ``lang`` (``zh``/``en``), else the code itself."""
    words = REFUND_STATUS_WORDS.get(status)
    if words is None:
        return status
    return words[0] if lang == "zh" else words[1]
