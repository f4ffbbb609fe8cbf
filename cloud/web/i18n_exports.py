"""Catalogue entries of 订单导出 (exports made in the background), merged into
:data:`cloud.web.i18n.MESSAGES`."""

from __future__ import annotations

EXPORT_MESSAGES: dict[str, tuple[str, str]] = {
    "exports.title": ("导出任务", "Exports"),
    "exports.help": ("导出在后台进行, 可以离开本页继续工作; 完成后在这里下载。文件保留 7 天。"
                     "收件人信息为脱敏后的内容。",
                     "Exports run in the background: you can leave this page and keep working, "
                     "then download the file here. Files are kept for 7 days. Receivers are "
                     "masked."),
    "exports.order_button": ("导出订单", "Export orders"),
    "exports.order_hint": ("按当前筛选条件导出全部订单", "All orders matching the filters"),
    "exports.started": ("导出已开始, 完成后可下载", "The export has started; download it when done"),
    "exports.none": ("还没有导出任务", "No exports yet"),
    "exports.kind": ("内容", "What"),
    "exports.kind.orders": ("订单", "Orders"),
    "exports.filters": ("筛选条件", "Filters"),
    "exports.asked": ("开始时间", "Started"),
    "exports.progress": ("进度", "Progress"),
    "exports.rows": ("{done} / {total} 行", "{done} / {total} rows"),
    "exports.counting": ("正在统计…", "Counting…"),
    "exports.state.running": ("导出中", "Running"),
    "exports.state.done": ("已完成", "Done"),
    "exports.state.failed": ("失败", "Failed"),
    "exports.state.interrupted": ("已中断, 请重新导出", "Interrupted; export again"),
    "exports.download": ("下载", "Download"),
    "exports.expired": ("文件已过期", "File expired"),
    "exports.file": ("文件", "File"),
    "exports.gone": ("没有这个文件 (已过期或不是你的导出)", "No such file (expired, or not your export)"),
    "nav.exports": ("导出任务", "Exports"),
}
"""key → (Chinese, English)."""
