"""Catalogue entries of the courier accounts pages (快递账号: subscriptions, sender
addresses, templates), merged into :data:`cloud.web.i18n.MESSAGES`."""

from __future__ import annotations

COURIER_ACCOUNT_MESSAGES: dict[str, tuple[str, str]] = {
    "ca.custom_area": ("自定义区模板", "Custom area template"),
    "ca.custom_area_help": ("菜鸟云打印自定义模板网址, 按此快递的标准模板排版商品、数量、备注和单号; 留空则不打自定义区",
                            "the Cainiao cloud-print custom template URL laying out items, "
                            "quantities, note and order no. on this courier's template; "
                            "empty: no custom area"),
    "nav.courier_accounts": ("快递账号", "Courier accounts"),
    "ca.shops_title": ("快递账号 · 店铺", "Courier accounts · shops"),
    "ca.title": ("{shop} 的快递账号", "Courier accounts of {shop}"),
    "ca.help": ("电子面单订购 (网点、余额、发件地址) 与标准模板取自平台; 为每个快递选定发件地址和模板, "
                "取面单时使用。", "E-waybill subscriptions (branch, balance, sender addresses) "
                "and standard templates come from the platform; choose a sender address and "
                "template per courier for waybill requests."),
    "ca.shop": ("店铺", "Shop"),
    "ca.platform": ("平台", "Platform"),
    "ca.waybill_courier": ("面单快递", "Waybill courier"),
    "ca.open": ("查看", "Open"),
    "ca.refresh": ("从平台刷新", "Refresh from the platform"),
    "ca.fetched_at": ("上次刷新: {at}", "Last refreshed: {at}"),
    "ca.never": ("尚未从平台获取, 请刷新。", "Not fetched from the platform yet: refresh."),
    "ca.branch": ("网点", "Branch"),
    "ca.balance": ("余额", "Balance"),
    "ca.allocated": ("已用", "Issued"),
    "ca.cancelled": ("已取消", "Cancelled"),
    "ca.recycled": ("已回收", "Recycled"),
    "ca.address": ("发件地址", "Sender address"),
    "ca.template": ("模板", "Template"),
    "ca.save": ("保存选择", "Save choice"),
    "ca.preview": ("面单预览 (示例收件人; 条码和二维码为示意)",
                   "Label preview (sample receiver; barcode and QR code are stand-ins)"),
    "ca.current": ("当前: {branch} · {address} · 模板 {template} ({by})",
                   "Current: {branch} · {address} · template {template} ({by})"),
    "ca.none_chosen": ("未选择: 取面单时用店铺默认发件人, 不指定模板。",
                       "None chosen: waybills use the shop's default sender and no template."),
    "ca.flash_refreshed": ("已刷新: {accounts} 个网点账号, {templates} 个模板",
                           "Refreshed: {accounts} branch accounts, {templates} templates"),
    "ca.flash_chosen": ("已保存 {carrier} 的发件地址和模板", "Saved {carrier}'s sender address and template"),
}
"""(zh, en) per key."""
