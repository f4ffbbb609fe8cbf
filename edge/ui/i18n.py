"""Every string the kiosk shows, in one table: Chinese by default, English switchable live.

``I18n.t(key, **values)`` formats the entry for the current language. A missing key is a
programming error and raises ``KeyError`` (the table test checks every entry has both).
"""

from __future__ import annotations

from typing import Final

LANGS: Final = ("zh", "en")

TEXT: Final[dict[str, tuple[str, str]]] = {
    # app and status bar
    "app.title": ("Packline 打包工作站", "Packline packing station"),
    "lang.toggle": ("English", "中文"),
    "status.station": ("工作站 {station}", "Station {station}"),
    "status.operator": ("{name}（{role}）", "{name} ({role})"),
    "status.nobody": ("未登录", "Not signed in"),
    "status.sync.reading": ("同步: …", "Sync: …"),
    "sync.online": ("在线", "online"),
    "sync.offline": ("离线", "offline"),
    "sync.not_running": ("离线(同步未运行)", "offline (sync not running)"),
    "sync.synced": ("已全部同步", "all synced"),
    "sync.backlog": ("待同步 {n} 条", "{n} waiting"),
    "sync.oldest": ("最早 {age}", "oldest {age}"),
    "sync.last_ack": ("确认 {time}", "ack {time}"),
    "sync.error.short": ("出错", "error"),
    "age.s": ("{n}秒", "{n}s"),
    "age.m": ("{n}分钟", "{n}m"),
    "age.h": ("{n}小时", "{n}h"),
    "age.d": ("{n}天", "{n}d"),
    "time.never": ("从未", "never"),
    "device.scanner": ("扫描枪", "Scanner"),
    "device.scale": ("电子秤", "Scale"),
    "device.label_printer": ("面单打印机", "Label printer"),
    "device.slip_printer": ("小票打印机", "Slip printer"),
    "device.state.ok": ("正常", "OK"),
    "device.state.off": ("未配置", "none"),
    "device.state.error": ("故障", "fault"),
    "device.state.busy": ("工作中", "busy"),
    "device.short.scanner": ("扫码", "Scan"),
    "device.short.scale": ("秤", "Scale"),
    "device.short.label_printer": ("面单", "Label"),
    "device.short.slip_printer": ("小票", "Slip"),
    "device.icon.ok": ("✓", "✓"),
    "device.icon.off": ("-", "-"),
    "device.icon.error": ("✗", "✗"),
    "device.icon.busy": ("…", "…"),
    "role.packer": ("打包员", "packer"),
    "role.warehouse_lead": ("组长", "lead"),
    "role.manager": ("经理", "manager"),
    "role.admin": ("管理员", "admin"),
    "role.purchaser": ("采购", "purchaser"),
    "role.finance": ("财务", "finance"),
    # sign-in
    "signin.title": ("请登录", "Sign in"),
    "signin.prompt": ("请扫描工牌，或点您的名字输入密码", "Scan your badge, or tap your name and enter your PIN"),
    "signin.unknown_badge": ("工牌无效: {code}", "Unknown badge: {code}"),
    "signin.bad_pin": ("密码错误", "Wrong PIN"),
    "signin.welcome": ("欢迎，{name}", "Welcome, {name}"),
    "signin.role_refused": ("{name}（{role}）不能使用打包台", "{name} ({role}) cannot use the pack station"),
    "signin.no_pin": ("{name} 没有设置密码，请扫描工牌", "{name} has no PIN: scan the badge"),
    # home
    "home.title": ("主菜单", "Home"),
    "home.pack": ("打包发货", "Pack & ship"),
    "home.devices": ("设备测试", "Devices"),
    "home.signout": ("退出登录", "Sign out"),
    "home.hint": ("扫描面单或商品即可开始打包", "Scan a waybill or an item to start packing"),
    # pack
    "pack.title": ("打包发货", "Pack & ship"),
    "pack.step.verify": ("验货", "Verify"),
    "pack.step.weigh": ("称重", "Weigh"),
    "pack.step.print": ("打印", "Print"),
    "pack.step.ship": ("发货", "Ship"),
    "pack.idle": ("请扫描面单号、订单号或商品条码", "Scan a waybill, an order number or an item"),
    "pack.col.sku": ("商品编码", "SKU"),
    "pack.col.name": ("名称", "Name"),
    "pack.col.location": ("库位", "Location"),
    "pack.col.count": ("已扫/应扫", "Scanned/expected"),
    "pack.order": ("订单 {no}  面单 {waybill}  {carrier}", "Order {no}  Waybill {waybill}  {carrier}"),
    "pack.note": ("买家留言: {note}", "Buyer note: {note}"),
    "pack.expected_weight": ("预计重量 {grams} g（±{tol} g）", "Expected {grams} g (±{tol} g)"),
    "pack.weight": ("秤: {grams} g {state}", "Scale: {grams} g {state}"),
    "pack.weight.none": ("秤: 无读数", "Scale: no reading"),
    "pack.weight.stable": ("稳定", "stable"),
    "pack.weight.unstable": ("不稳定", "settling"),
    "pack.weigh_now": ("请把包裹放到秤上", "Put the parcel on the scale"),
    "pack.remove_parcel": ("请先取下上一个包裹", "Take the previous parcel off the scale"),
    "pack.put_parcel": ("放上包裹", "Put parcel"),
    "pack.reweigh": ("重新称重", "Weigh again"),
    "pack.override": ("组长放行", "Lead override"),
    "pack.reprint": ("补打面单", "Reprint label"),
    "pack.retry_print": ("重试打印", "Retry print"),
    "pack.retry_ship": ("重试发货", "Retry ship"),
    "pack.cancel": ("取消本单", "Drop order"),
    "pack.home": ("返回", "Back"),
    "pack.printing": ("正在打印面单…", "Printing the label…"),
    "pack.shipped": ("已发货 {no}  {grams} g  面单 {waybill}", "Shipped {no}  {grams} g  waybill {waybill}"),
    "pack.reprinted": ("已补打面单（第 {n} 次打印）", "Label reprinted (print #{n})"),
    "pack.dropped": ("已取消订单 {no}，请重新扫描", "Dropped order {no}; scan again"),
    "pack.confirm_drop": ("确定取消正在打包的订单 {no} 吗？", "Drop order {no} that is being packed?"),
    # scan outcomes
    "scan.order_opened": ("订单 {no}: 请扫描商品", "Order {no}: scan the items"),
    "scan.counted": ("{name} +{units}", "{name} +{units}"),
    "scan.complete": ("验货完成 {no}", "All items checked {no}"),
    "scan.wrong_item": ("错货！{name} 不在本订单上", "WRONG ITEM! {name} is not on this order"),
    "scan.extra_item": ("多货！{name} 已够数（{detail}）", "EXTRA ITEM! {name} is already complete ({detail})"),
    "scan.unknown_code": ("无法识别的条码: {code}", "Unknown barcode: {code}"),
    "scan.no_order_for_item": ("没有等待发货的单品订单: {name}", "No waiting single-item order for {name}"),
    "scan.intercepted": ("订单已拦截，禁止发货！{no}: {detail}", "ORDER INTERCEPTED, do not ship! {no}: {detail}"),
    "scan.not_packable": ("订单 {no} 状态为 {detail}，不能打包", "Order {no} is {detail}: cannot pack"),
    "scan.busy": ("请先完成或取消订单 {detail}", "Finish or drop order {detail} first"),
    # weigh
    "weigh.ok": ("重量合格 {grams} g", "Weight OK {grams} g"),
    "weigh.out": ("重量不符！称得 {grams} g，预计 {expected} g（允许 ±{tol} g）",
                  "WEIGHT MISMATCH! {grams} g, expected {expected} g (±{tol} g)"),
    "weigh.overridden": ("组长 {lead} 已放行: {reason}", "Lead {lead} overrode: {reason}"),
    # errors
    "error.printer": ("打印失败: {detail}", "Print failed: {detail}"),
    "error.device": ("设备故障: {detail}", "Device fault: {detail}"),
    "error.ship": ("未发货: {detail}", "Not shipped: {detail}"),
    "error.pack": ("{detail}", "{detail}"),
    "error.other": ("出错了: {detail}", "Something went wrong: {detail}"),
    "error.not_lead": ("需要组长权限", "A warehouse lead is needed"),
    "error.unexpected": ("出错了: {detail}。请再试一次；仍然出错请叫组长",
                         "Something went wrong: {detail}. Try again; if it keeps failing, call a lead"),
    "error.ship_retry": ("未发货: {detail}。面单已打印，请点「重试发货」，不要重打面单",
                         "Not shipped: {detail}. The label is printed: press Retry ship, "
                         "do not print it again"),
    "error.print_unlogged": ("面单已打印，但未能记录: {detail}。请点「重试打印」（只记录，不再打印）",
                             "The label printed but was not logged: {detail}. Press Retry print "
                             "(it logs, it does not print again)"),
    "error.print_retry": ("打印失败: {detail}。请点「重试打印」", "Print failed: {detail}. Press Retry print"),
    # dialogs
    "dialog.yes": ("确定", "Yes"),
    "dialog.no": ("取消", "No"),
    "dialog.ok": ("确定", "OK"),
    "dialog.cancel": ("取消", "Cancel"),
    "dialog.clear": ("清除", "Clear"),
    "dialog.back": ("退格", "Del"),
    "pin.title": ("{name}: 请输入密码", "{name}: enter PIN"),
    "reason.title.override": ("放行原因", "Override reason"),
    "reason.title.count": ("盘点调整原因", "Why the books were wrong"),
    "reason.count.miscounted": ("账面数量有误", "Books miscounted"),
    "reason.count.unrecorded_receipt": ("到货未入账", "Received, not recorded"),
    "reason.count.found_elsewhere": ("在其他位置找到", "Found elsewhere"),
    "reason.count.recounted": ("已复盘确认", "Recounted and confirmed"),
    "pack.count_fix": ("组长盘点调整", "Lead's count"),
    "pack.late": ("⚠ 已超发货时限 {due}", "⚠ Late: ship-by was {due}"),
    "pack.late_opened": ("订单 {no} 已超发货时限 ({due}), 请优先发出", "Order {no} is late (ship-by {due}): ship it first"),
    "pack.stock_short": ("库存不足, 未打印面单: {detail}。货在手上? 请组长盘点调整 (F8)", "Stock short, no label printed: {detail}. Goods in hand? A lead can count (F8)"),
    "pack.not_printed": ("不能发货, 未打印面单: {detail}", "Cannot ship, no label printed: {detail}"),
    "pack.count_fixed": ("组长 {lead} 盘点 {sku} 为 {counted}, 继续打印发货", "Lead {lead} counted {sku}: {counted}; printing and shipping"),
    "count.title": ("盘点 {sku} {name} @ {location}: 账面可发 {has}, 本单需要 {need}。实际数量?", "Count {sku} {name} at {location}: the books have {has}, the order needs {need}. How many are there?"),
    "reason.title.reprint": ("补打原因", "Reprint reason"),
    "reason.override.packaging": ("包装材料不同", "Different packaging"),
    "reason.override.gift": ("加了赠品", "Gift added"),
    "reason.override.sku_weight": ("商品重量资料有误", "SKU weight is wrong in the catalog"),
    "reason.override.checked": ("已人工复核", "Checked by hand"),
    "reason.reprint.jam": ("卡纸", "Paper jam"),
    "reason.reprint.smudged": ("面单模糊", "Label smudged"),
    "reason.reprint.damaged": ("面单破损", "Label damaged"),
    "reason.reprint.lost": ("面单丢失", "Label lost"),
    "lead.title": ("组长放行: 请扫描组长工牌，或选组长输入密码",
                   "Lead override: scan a lead's badge, or pick a lead and enter the PIN"),
    # devices
    "devices.title": ("设备测试", "Devices"),
    "devices.scan_echo": ("扫描测试: 请扫描任意条码", "Scan test: scan any barcode"),
    "devices.last_scan": ("最近扫描: {code}", "Last scan: {code}"),
    "devices.test_label": ("测试面单打印机", "Test label printer"),
    "devices.test_slip": ("测试小票打印机", "Test slip printer"),
    "devices.test_ok": ("{device}: 测试打印成功", "{device}: test print sent"),
    "devices.none": ("{device} 未配置", "{device} is not configured"),
    "devices.sync.title": ("同步", "Sync"),
    "devices.sync.state": ("状态: {state}", "State: {state}"),
    "devices.sync.backlog": ("待同步: {n} 条", "Waiting: {n}"),
    "devices.sync.oldest": ("最早未发送: {age}前", "Oldest unsent: {age} ago"),
    "devices.sync.last_ack": ("最近确认: {time}", "Last ack: {time}"),
    "devices.sync.error": ("最近错误: {error}", "Last error: {error}"),
    "devices.backup.title": ("备份", "Backup"),
    "devices.backup.ok": ("状态: 正常", "State: OK"),
    "devices.backup.behind": ("状态: 落后", "State: behind"),
    "devices.backup.failed": ("状态: 出错", "State: failing"),
    "devices.backup.none": ("状态: 未运行过", "State: never ran"),
    "devices.backup.last_success": ("最近上传成功: {time}", "Last upload: {time}"),
    "devices.backup.lag": ("落后: {n} 个事务，{age}", "Lag: {n} transactions, {age}"),
    "devices.backup.error": ("最近错误: {error}", "Last error: {error}"),
    "devices.none_short": ("无", "none"),
    "devices.reading": ("读取中…", "reading…"),
}
"""key → (Chinese, English)."""


class I18n:
    """The current language and the lookup; one instance per app."""

    def __init__(self, lang: str = "zh") -> None:
        if lang not in LANGS:
            raise ValueError(f"unknown language {lang!r}; use one of {LANGS}")
        self.lang = lang
        """``zh`` or ``en``."""

    def t(self, key: str, **values: object) -> str:
        """The text for ``key`` in the current language, formatted with ``values``."""
        zh, en = TEXT[key]
        text = zh if self.lang == "zh" else en
        return text.format(**values) if values else text

    def toggle(self) -> str:
        """Switch zh ↔ en; returns the new language."""
        self.lang = "en" if self.lang == "zh" else "zh"
        return self.lang

    def role(self, role: str) -> str:
        key = f"role.{role}"
        return self.t(key) if key in TEXT else role
