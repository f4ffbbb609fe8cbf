"""Catalogue entries of the report pages (报表: sales, daily summary), merged into
:data:`cloud.web.i18n.MESSAGES` (kept apart so the area's texts stay together)."""

from __future__ import annotations

REPORT_MESSAGES: dict[str, tuple[str, str]] = {
    "nav.reports": ("销售报表", "Sales report"),
    "nav.daily": ("每日概况", "Daily summary"),
    "rep.sales_title": ("销售报表", "Sales report"),
    "rep.daily_title": ("每日概况 · {day}", "Daily summary · {day}"),
    "rep.from": ("从", "From"),
    "rep.to": ("到", "To"),
    "rep.period": ("周期", "Period"),
    "rep.period.day": ("按日", "Daily"),
    "rep.period.week": ("按周", "Weekly"),
    "rep.period.month": ("按月", "Monthly"),
    "rep.period.quarter": ("按季度", "Quarterly"),
    "rep.shop": ("店铺", "Shop"),
    "rep.platform": ("平台", "Platform"),
    "rep.sku": ("SKU", "SKU"),
    "rep.category": ("类目", "Category"),
    "rep.slow_days": ("滞销天数", "Slow after (days)"),
    "rep.show": ("查看", "Show"),
    "rep.stock_title": ("库存报表", "Stock report"),
    "nav.fulfilment": ("发货绩效", "Fulfilment"),
    "nav.reports_all": ("报表", "Reports"),
    "rep.export_pdf": ("导出 PDF", "Export PDF"),
    "rp.title": ("补货建议", "Replenishment"),
    "rp.help": ("日均 = (近 {recent} 天日均 + 近 {window} 天日均) ÷ 2 (按仓实际发货); 需备 = ⌈日均 × (交期 + "
                "{review} 天补货周期)⌉ + 安全库存; 库存位置 = 在库 − 占用 + 调拨在途 + 采购在途 (含草稿); "
                "建议 = 需备 − 库存位置。交期取供应商约定天数, 未填时按 {default} 天。供应商与单价取该商品最近一张采购单。",
                "Daily pace = (the last {recent} days' pace + the last {window} days' pace) ÷ 2 "
                "(what the warehouse shipped); need = ⌈pace × (lead time + {review} review "
                "days)⌉ + safety stock; position = on hand − held + in transit + on order "
                "(drafts included); suggested = need − position. The lead time is the "
                "supplier's; {default} days when none is stated. Supplier and unit cost "
                "come from the SKU's latest purchase order."),
    "rp.why": ("日均 {daily} (近{recent}天 {r} 件, 近{window}天 {w} 件) × ({lead} + {review}) 天 → {base}; "
               "+ 安全 {safety} = 需备 {need}; 在库 {on_hand} − 占用 {reserved} + 调拨 {transit} + "
               "采购 {on_order} = {position}",
               "pace {daily}/day ({r} in {recent} d, {w} in {window} d) × ({lead} + {review}) d → "
               "{base}; + safety {safety} = need {need}; on hand {on_hand} − held {reserved} + "
               "transfers {transit} + on order {on_order} = {position}"),
    "rp.suggested": ("建议数量", "Suggested"),
    "rp.order_qty": ("采购数量", "Order qty"),
    "rp.why_col": ("计算依据", "Why this number"),
    "rp.lead_default": ("默认", "default"),
    "rp.no_supplier": ("无供应商", "no supplier"),
    "rp.draft": ("生成采购单草稿", "Draft purchase orders"),
    "rp.pick": ("选择", "Pick"),
    "rp.none": ("目前没有需要补货的商品。", "Nothing needs buying now."),
    "rp.flash_drafted": ("已生成 {n} 张采购单草稿: {ids}", "{n} draft purchase orders: {ids}"),
    "nav.po_report": ("采购报表", "Purchasing report"),
    "rep.po_title": ("采购报表", "Purchasing report"),
    "rep.supplier": ("供应商", "Supplier"),
    "rep.pos_sent": ("发出采购单", "POs sent"),
    "rep.ordered": ("订购 (件 / 金额)", "Ordered (units / amount)"),
    "rep.received": ("到货 (件 / 金额)", "Received (units / amount)"),
    "rep.on_order": ("在途 (件 / 金额)", "On order (units / amount)"),
    "rep.lead": ("到货天数 平均 / 最长", "Lead days avg / max"),
    "rep.stated_lead": ("约定天数", "Stated lead days"),
    "rep.on_time": ("准时率", "On time"),
    "rep.fill_rate": ("满足率", "Fill rate"),
    "rep.po_help": ("订购为范围内发出的采购单; 到货为范围内各工作站收货的金额 (单价为采购单价); 在途为当前"
                    "未收齐的采购单; 到货天数 = 发出到首次收货; 准时 = 首次收货不晚于预计到货日; "
                    "满足率 = 已完成采购单的实收 ÷ 订购 (超收不计)。",
                    "Ordered = purchase orders sent in the range; received = what the stations "
                    "received in the range at the PO's unit cost; on order = open purchase "
                    "orders now; lead days = from sending to the first receipt; on time = the "
                    "first receipt on or before the expected day; fill rate = received ÷ "
                    "ordered over finished purchase orders (over-receipts not counted)."),
    "rep.fulfil_title": ("发货绩效", "Fulfilment and packers"),
    "rep.station": ("工作站", "Station"),
    "rep.carrier": ("快递", "Courier"),
    "rep.fulfil_packers": ("打包员", "Packers"),
    "rep.fulfil_stations": ("工作站", "Stations"),
    "rep.fulfil_bands": ("快递与重量段", "Parcels by courier and weight"),
    "rep.fulfil_series": ("按周期", "By period"),
    "rep.operator": ("工号", "Operator"),
    "rep.operator_name": ("姓名", "Name"),
    "rep.parcels": ("包裹", "Parcels"),
    "rep.fulfil_orders": ("订单", "Orders"),
    "rep.hours": ("在岗小时", "Hours"),
    "rep.per_hour": ("每小时包裹", "Parcels/hour"),
    "rep.avg_pack": ("平均打包秒数", "Avg pack (s)"),
    "rep.wrong_scans": ("错扫", "Wrong scans"),
    "rep.reweighed": ("复称", "Reweighed"),
    "rep.overrides": ("重量放行", "Weight overrides"),
    "rep.reprints": ("补打", "Reprints"),
    "rep.late_parcels": ("超时发货", "Shipped late"),
    "rep.weight_band": ("重量段", "Weight band"),
    "rep.fulfil_help": ("包裹按工作站发货时间 (北京时间) 统计; 在岗小时 = 签到到下次签到/签退 (最长 12 小时, "
                        "未签退的算到其最后一个包裹); 每小时包裹 = 包裹 ÷ 在岗小时; 错扫 = 扫到订单外商品; "
                        "复称 = 称重不止一次; 重量放行 = 组长放行超差重量; 补打 = 第二次及以后的面单打印 "
                        "(不分快递); 超时 = 晚于平台最晚发货时间。",
                        "Parcels count by when the station shipped them (China time); hours = sign-in "
                        "to the next sign-in or sign-out (12 h at most; a shift never signed out ends "
                        "at its last parcel); parcels/hour = parcels ÷ hours; wrong scans = items "
                        "scanned that were not in the order; reweighed = weighed more than once; "
                        "overrides = a lead let an out-of-tolerance weight ship; reprints = label "
                        "prints after the first (no courier); late = after the platform's ship-by "
                        "deadline."),
    "rep.stock_days": ("销售天数", "Sales window (days)"),
    "rep.below_only": ("只看低于安全库存", "Below safety stock only"),
    "rep.age_0": ("库龄≤30天", "Age ≤30 d"),
    "rep.age_1": ("31–60天", "31–60 d"),
    "rep.age_2": ("61–90天", "61–90 d"),
    "rep.age_3": (">90天", ">90 d"),
    "rep.stock_value": ("库存金额", "Stock value"),
    "rep.stock_help": ("库存金额 = 在库 × 移动平均成本; 发货为近 {days} 天各仓实际发出 (已冲销的不计); "
                       "可售天数 = 在库 ÷ 日均发货; 周转次数 = 发货 ÷ 在库。在库、占用、在途为当前数。",
                       "Value = on hand × moving-average cost; shipped = what each warehouse "
                       "really sent out in the last {days} days (reversed shipments excluded); "
                       "days of cover = on hand ÷ shipped per day; turnover = shipped ÷ on "
                       "hand. On hand, reserved and in transit are as of now."),
    "rep.reserved": ("占用", "Reserved"),
    "rep.in_transit": ("在途", "In transit"),
    "rep.unit_cost": ("成本单价", "Unit cost"),
    "rep.shipped_n": ("近{days}天发货", "Shipped, {days} d"),
    "rep.cover_days": ("可售天数", "Days of cover"),
    "rep.turnover": ("周转次数", "Turnover"),
    "rep.below_safety": ("低于安全库存", "below safety"),
    "rep.gmv": ("GMV (元)", "GMV (yuan)"),
    "rep.orders": ("订单数", "Orders"),
    "rep.units": ("件数", "Units"),
    "rep.aov": ("客单价 (元)", "Avg. order (yuan)"),
    "rep.refunds": ("退款 (元)", "Refunds (yuan)"),
    "rep.net": ("净销售额 (元)", "Net sales (yuan)"),
    "rep.change": ("环比", "vs. before"),
    "rep.previous": ("上期 {start} — {end}", "previous {start} – {end}"),
    "rep.series": ("按周期", "By period"),
    "rep.by_shop": ("按店铺", "By shop"),
    "rep.by_platform": ("按平台", "By platform"),
    "rep.by_sku": ("畅销 SKU (前 {n})", "Best sellers (top {n})"),
    "rep.by_province": ("按买家省份", "By buyer province"),
    "rep.province": ("买家省份", "Buyer province"),
    "rep.by_city": ("按买家城市 (前 {n})", "By buyer city (top {n})"),
    "rep.city": ("省份 城市", "Province, city"),
    "rep.city_note": ("退款不按城市拆分, 此表退款列为 0。", "Refunds are not split by city (0 here)."),
    "rep.where_sold": ("卖到哪些省份", "Where it sells (by province)"),
    "rep.sold_there": ("{province} 畅销款 (前 {n})", "Best sellers in {province} (top {n})"),
    "rep.geo_months": ("按自然月统计: {months} (地区 × SKU 按月汇总, 覆盖所选期间涉及的整月)",
                       "By whole months: {months} (region × SKU is kept per month, so the "
                       "months the range touches are shown whole)"),
    "rep.slow": ("滞销: 有库存但 {n} 天内没有卖出", "Slow movers: on hand, no sale in {n} days"),
    "rep.on_hand": ("在库", "On hand"),
    "rep.last_sold": ("最近售出", "Last sold"),
    "rep.never": ("从未", "never"),
    "rep.name": ("名称", "Name"),
    "rep.total": ("合计", "Total"),
    "rep.unknown_province": ("(未知)", "(unknown)"),
    "rep.unmapped": ("(未关联 SKU)", "(not mapped)"),
    "rep.sku_note": ("按 SKU/类目筛选时, 订单数为含这些 SKU 的订单; 退款和省份不按 SKU 统计。",
                     "Filtered by SKU or category: orders are orders containing them; refunds "
                     "and provinces are not split by SKU."),
    "rep.rules": ("GMV = 单价 × 数量, 按下单日 (北京时间) 计; 已取消 (未发货关闭) 的订单不计; "
                  "退款按退款成功日计入。",
                  "GMV = price × quantity, on the order's day (China Standard Time); "
                  "cancelled orders (closed before shipping) do not count; refunds count on "
                  "the day they succeeded."),
    "rep.export_xlsx": ("导出 XLSX", "Export XLSX"),
    "rep.export_csv": ("导出 CSV", "Export CSV"),
    "rep.shipped_parcels": ("发货包裹", "Parcels shipped"),
    "rep.shipped_orders": ("发货订单", "Orders shipped"),
    "rep.late": ("超时未发 (错过最晚发货时间)", "Late (missed ship-by)"),
    "rep.late_short": ("超时未发", "Late"),
    "rep.exceptions": ("异常订单 (当前)", "Order exceptions (now)"),
    "rep.alerts": ("工作站告警", "Station alerts"),
    "rep.low_stock": ("低于安全库存 (当前)", "Below safety stock (now)"),
    "rep.order": ("订单", "Order"),
    "rep.ship_by": ("最晚发货", "Ship by"),
    "rep.shipped_at": ("发货时间", "Shipped"),
    "rep.state": ("状态", "State"),
    "rep.warehouse": ("仓库", "Warehouse"),
    "rep.safety": ("安全库存", "Safety stock"),
    "rep.count": ("数量", "Count"),
    "rep.day": ("日期", "Day"),
    "rep.prev_day": ("前一天", "Day before"),
    "rep.next_day": ("后一天", "Day after"),
    "rep.kept_note": ("这是 {at} 保存的当日概况: 异常订单和低库存为当时的状态。",
                      "The summary as kept at {at}: order exceptions and low stock as they were then."),
    "rep.now_note": ("尚未保存 (当天或工作进程未运行): 异常订单和低库存为当前状态。",
                     "Not kept yet (today, or the worker has not run): order exceptions and low "
                     "stock are as they are now."),
    "nav.profit": ("利润报表", "Profit report"),
    "rep.profit_title": ("利润报表", "Profit report"),
    "rep.revenue": ("收入 (元)", "Revenue (yuan)"),
    "rep.cogs": ("商品成本 (元)", "Cost of goods (yuan)"),
    "rep.courier_fee": ("快递费 (元)", "Courier (yuan)"),
    "rep.platform_fee": ("平台费 (元)", "Platform fee (yuan)"),
    "rep.profit": ("利润 (元)", "Profit (yuan)"),
    "rep.margin": ("利润率", "Margin"),
    "rep.uncosted": ("未计成本件数", "Units without cost"),
    "rep.unbilled": ("未计费包裹", "Parcels not charged"),
    "rep.fee_rate": ("平台费率", "Fee rate"),
    "rep.fee_unset": ("未设置平台费率", "fee rate not set"),
    "rep.fee_unset_note": ("以下店铺未设置平台费率, 平台费按 0 计: {shops} (在店铺页设置)。",
                           "These shops have no platform fee rate, counted as 0: {shops} (set "
                           "it on the shops page)."),
    "rep.profit_by_order": ("按订单 (利润从低到高, 最多 {n} 单, 共 {total} 单)",
                            "By order (lowest profit first, at most {n} of {total})"),
    "rep.profit_by_sku": ("按 SKU", "By SKU"),
    "rep.profit_rules": ("利润 = 收入 − 商品成本 − 快递费 − 平台费 − 退款。只计已发货且未取消的订单; 收入、成本、"
                         "快递费和平台费按下单日 (北京时间) 计, 退款按退款成功日计。商品成本 = 发货件数 × 发货出库"
                         "到达云端时该 SKU 的移动平均成本; 快递费按运费模板计算每个包裹; 平台费 = 收入 × 店铺平台"
                         "费率。按 SKU 时快递费和退款按收入比例分摊。按订单为订单全部数字 (含任何日期的退款)。",
                         "Profit = revenue − cost of goods − courier − platform fee − refunds. "
                         "Only shipped, not cancelled orders count; revenue, cost, courier and "
                         "fee on the order's day (China Standard Time), refunds on the day they "
                         "succeeded. Cost of goods = units shipped × the SKU's moving-average "
                         "cost when the SHIP move reached the cloud; courier = each parcel by "
                         "the rate card; fee = revenue × the shop's fee rate. Per SKU, courier "
                         "and refunds are split by revenue. Per order: the order's whole "
                         "figures (refunds of any day)."),
}
"""Report page texts: key → (Chinese, English)."""
