"""Catalogue entries of the shops page (店铺授权), merged into
:data:`cloud.web.i18n.MESSAGES` (kept apart so the area's texts stay together)."""

from __future__ import annotations

SHOP_MESSAGES: dict[str, tuple[str, str]] = {
    "nav.shops": ("店铺", "Shops"),
    "shops.title": ("店铺授权", "Shop authorisation"),
    "shops.help": ("授权到期前请重新授权; 被商家取消的授权需在平台上重新同意。",
                   "Authorise again before an authorisation ends; one the merchant "
                   "cancelled needs a new consent on the platform."),
    "shops.seller_id": ("平台店铺号", "Platform shop id"),
    "shops.auth": ("授权", "Authorisation"),
    "shops.authorized_at": ("上次授权", "Last authorised"),
    "shops.state.none": ("未授权", "Not authorised"),
    "shops.state.active": ("已授权", "Authorised"),
    "shops.state.expiring": ("即将到期", "Expiring"),
    "shops.state.expired": ("已过期", "Expired"),
    "shops.state.revoked": ("已被取消", "Revoked"),
    "shops.until": ("有效至 {until}", "until {until}"),
    "shops.expiring_in": ("{days} 天内到期 ({until})", "ends within {days} days ({until})"),
    "shops.expired_at": ("已于 {until} 过期", "ended {until}"),
    "shops.platform_said": ("平台答复: {detail}", "The platform said: {detail}"),
    "shops.authorize": ("授权", "Authorise"),
    "shops.reauthorize": ("重新授权", "Authorise again"),
    "shops.check": ("检查授权", "Check now"),
    "shops.err_state": ("授权回调无效 (state 不符或已使用), 请从本页重新点击授权。",
                        "This authorisation callback is not valid (state does not match or "
                        "was used): start again from this page."),
    "shops.err_stale": ("授权已超时, 请重新点击授权。",
                        "The authorisation took too long: start again."),
    "shops.err_declined": ("平台未给出授权码: {detail}",
                           "The platform gave no authorisation code: {detail}"),
    "shops.err_exchange": ("店铺 {shop} 授权失败: {detail}",
                           "Authorising shop {shop} failed: {detail}"),
    "shops.flash_authorized": ("店铺 {shop} 已授权", "Shop {shop} is authorised"),
    "shops.flash_not_configured": ("店铺 {shop} 没有应用配置, 请先用 shop add 添加",
                                   "Shop {shop} has no app settings: add it with shop add first"),
    "shops.flash_not_authorised": ("店铺 {shop} 尚未授权", "Shop {shop} is not authorised yet"),
    "shops.flash_check_ok": ("店铺 {shop} 的授权有效", "Shop {shop}'s authorisation holds"),
    "shops.flash_check_failed": ("无法检查店铺 {shop}: {detail}",
                                 "Could not check shop {shop}: {detail}"),
    "shops.flash_revoked": ("店铺 {shop} 的授权已被取消: {detail}",
                            "Shop {shop}'s authorisation was revoked: {detail}"),
    "audit.shop.authorized": ("店铺授权", "shop authorised"),
    "audit.shop.revoked": ("店铺授权被取消", "shop authorisation revoked"),
}
"""Shops page texts, (Chinese, English)."""

LISTING_MESSAGES: dict[str, tuple[str, str]] = {
    "nav.listings": ("商品匹配", "Listing matching"),
    "listings.title": ("商品匹配", "Listing matching"),
    "listings.help": ("从平台下载店铺的全部商品, 商家编码与商品编码相同的自动关联; 其余在此手动选择商品编码。"
                      "匹配不会推送库存 (首次推送仍需确认)。",
                      "Download every listing of a shop from the platform: those whose "
                      "merchant code (商家编码) is a SKU code are mapped automatically; match "
                      "the rest here by choosing a SKU. Matching pushes no stock (the first "
                      "push still waits for your confirmation)."),
    "listings.show_all": ("显示已匹配", "Show matched too"),
    "listings.fetched_at": ("上次下载", "Last downloaded"),
    "listings.never": ("从未下载", "never"),
    "listings.download": ("下载并匹配", "Download and match"),
    "listings.title_col": ("平台商品", "Listing"),
    "listings.platform_qty": ("平台库存", "Platform qty"),
    "listings.off_sale": ("未上架", "off sale"),
    "listings.match": ("关联", "Match"),
    "listings.unmatched": ("未匹配", "unmatched"),
    "listings.none": ("没有未匹配的平台商品", "No unmatched listings"),
    "listings.flash_downloaded": ("店铺 {shop}: 平台商品 {total} 个, 自动匹配 {matched} 个, 未匹配 {unmatched} 个",
                                  "Shop {shop}: {total} listing(s), {matched} matched "
                                  "automatically, {unmatched} unmatched"),
    "listings.flash_no_shop": ("店铺 {shop} 不存在或未授权", "Shop {shop} is unknown or not authorised"),
    "listings.flash_failed": ("店铺 {shop} 下载失败: {detail}", "Downloading shop {shop} failed: {detail}"),
    "listings.flash_matched": ("已关联 (#{id}), 未推送库存", "Matched (#{id}); no stock pushed"),
    "audit.mapping.auto": ("自动关联 (商家编码)", "mapped by merchant code"),
    "audit.listings.download": ("下载平台商品", "listings downloaded"),
}
"""商品匹配 page texts, (Chinese, English)."""
