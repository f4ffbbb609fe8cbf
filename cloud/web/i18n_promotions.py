"""Catalogue entries of the promotion gift (赠品) and review-rule (审单规则) pages, merged into
:data:`cloud.web.i18n.MESSAGES` (kept apart so the two areas' texts stay together)."""

from __future__ import annotations

PROMOTION_MESSAGES: dict[str, tuple[str, str]] = {
    "nav.promotions": ("赠品活动", "Gift promotions"),
    "nav.review_rules": ("审单规则", "Review rules"),
    "promo.title": ("赠品活动", "Gift promotions"),
    "promo.help": ("订单审核通过时 (自动审单或人工审核通过), 符合条件的活动各加一行 0 元赠品, 每单每个活动只加一次; "
                   "赠品随订单占用库存、下发到工作站打包。",
                   "When an order passes review (automatically or approved by hand), each "
                   "matching promotion adds one zero-price gift line, once per order and "
                   "promotion; the gift is reserved and packed with the order."),
    "promo.new": ("新建赠品活动", "New gift promotion"),
    "promo.edit": ("修改赠品活动 #{id}", "Edit gift promotion #{id}"),
    "promo.saved": ("赠品活动 #{id} 已保存", "Gift promotion #{id} saved"),
    "promo.deactivated": ("赠品活动 #{id} 已停用", "Gift promotion #{id} stopped"),
    "promo.deactivate": ("停用", "Stop"),
    "promo.name": ("活动名称", "Name"),
    "promo.shop": ("店铺", "Shop"),
    "promo.all_shops": ("全部店铺", "All shops"),
    "promo.kind": ("类型", "Kind"),
    "promo.kind.amount": ("满就送 (实付金额)", "By amount paid"),
    "promo.kind.qty": ("满件送 (件数)", "By units"),
    "promo.threshold": ("门槛 (满就送填元, 满件送填件数)",
                        "Threshold (yuan by amount, units by units)"),
    "promo.trigger_sku": ("计件商品 SKU (满件送, 留空为整单件数)",
                          "SKU counted (by units; blank counts the whole order)"),
    "promo.gift_sku": ("赠品 SKU", "Gift SKU"),
    "promo.gift_qty": ("赠品数量", "Gift quantity"),
    "promo.starts_on": ("开始日期", "First day"),
    "promo.ends_on": ("结束日期 (含当天)", "Last day (inclusive)"),
    "promo.dates": ("下单日期", "Ordered on"),
    "promo.rule": ("条件", "Rule"),
    "promo.gift": ("赠品", "Gift"),
    "promo.rule_amount": ("实付满 ¥{amount}", "paid ≥ ¥{amount}"),
    "promo.rule_qty": ("满 {n} 件", "≥ {n} units"),
    "promo.rule_qty_sku": ("{sku} 满 {n} 件", "≥ {n} units of {sku}"),
    "promo.active": ("启用", "Active"),
    "promo.bad_number": ("请填写数字", "enter a number"),
    "order.gift": ("赠品", "gift"),
    "review.act.gift": ("加赠品", "gift added"),
    "rules.title": ("审单规则", "Review rules"),
    "rules.help": ("自动审单时, 符合以下规则的订单转入异常等待人工审核。未关联 SKU 和库存不足总会转入异常。"
                   "保存后, 不再被规则暂停的订单重新审核。",
                   "Automatic review holds the orders these rules catch for a person. "
                   "Unmapped SKUs and missing stock always hold an order. A change applies to "
                   "orders reviewed from now on, and the orders no longer held go back to review."),
    "rules.hold_buyer_note": ("有买家留言时暂停", "Hold on a buyer note"),
    "rules.hold_risk_review": ("平台风控审核时暂停", "Hold under platform risk review"),
    "rules.max_amount": ("实付金额超过 (元) 时暂停, 留空不限", "Hold over this amount (yuan), blank: no limit"),
    "rules.hold": ("暂停, 人工审核", "hold for review"),
    "rules.pass": ("不暂停", "let it through"),
    "rules.default": ("默认规则", "defaults"),
    "rules.saved": ("店铺 {shop} 的审单规则已保存, {n} 个被规则暂停的订单重新审核",
                    "Review rules of {shop} saved; {n} order(s) they no longer hold go back to review"),
    "review.act.requeue": ("规则修改后重新审核", "back to review (rules changed)"),
    "rules.choose": ("请选择", "choose one"),
}
"""key → (Chinese, English) for the promotion and review-rule pages."""
