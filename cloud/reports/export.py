"""CSV and XLSX exports of the reports, the way the payables statement does XLSX: typed
cells (numbers as numbers, yuan with two decimals, days as dates, text never a formula),
bold headings frozen in view, a totals row, sized columns. CSV is UTF-8 with a BOM (Excel
reads Chinese), every text cell neutralised against formulas, produced line by line so a
route can stream it.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from cloud.config import DISPLAY_TZ
from cloud.reports.daily import DailySummary
from cloud.reports.sales import Figures, Row, SalesReport
from cloud.reports.stock_value import AGE_BUCKETS
from edge.domain.spreadsheet import is_risky, protect

KINDS: Final = ("text", "int", "yuan", "date", "percent", "datetime", "decimal")
"""Column kinds: how a value is written and formatted."""
WIDTHS: Final = {"text": 22, "int": 10, "yuan": 14, "date": 12, "percent": 10, "datetime": 18,
                  "decimal": 10}
"""Column width (characters) by kind."""
FORMATS: Final = {"int": "#,##0", "yuan": "#,##0.00", "date": "yyyy-mm-dd",
                  "percent": "0.0%", "datetime": "yyyy-mm-dd hh:mm", "decimal": "#,##0.0"}
"""XLSX number format by kind."""
FEN_PER_YUAN: Final = 100
"""Money is stored in fen and exported in yuan."""


@dataclass(slots=True)
class Sheet:
    """One table of an export: a title (the XLSX sheet name), headings with their kinds,
    rows of raw values (money in fen) and an optional totals row."""

    title: str
    columns: Sequence[tuple[str, str]]
    """(heading, kind)."""
    rows: list[Sequence[Any]] = field(default_factory=list)
    totals: Sequence[Any] | None = None


def _value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "yuan":
        return Decimal(int(value)) / FEN_PER_YUAN
    if kind == "datetime" and isinstance(value, datetime):
        return value.astimezone(DISPLAY_TZ).replace(tzinfo=None)
    return value


def _text(value: Any, kind: str) -> str:
    return cell_text(value, kind)


def cell_text(value: Any, kind: str, *, guard_formulas: bool = True) -> str:
    """A value as text the way the CSV writes it (yuan with two decimals, dates in ISO, China
    time); a text cell is neutralised against spreadsheet formulas unless ``guard_formulas``
    is False (a PDF is not a spreadsheet)."""
    if value is None:
        return ""
    if kind == "yuan":
        return f"{Decimal(int(value)) / FEN_PER_YUAN:.2f}"
    if kind == "percent":
        return f"{value * 100:.1f}%"
    if kind == "decimal":
        return f"{float(value):.1f}"
    if kind == "datetime" and isinstance(value, datetime):
        return value.astimezone(DISPLAY_TZ).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return protect(str(value)) if kind == "text" and guard_formulas else str(value)


def csv_lines(sheet: Sheet) -> Iterator[str]:
    """The sheet as CSV, one line at a time (the first starts with the BOM)."""
    body: Iterator[Sequence[Any]] = iter(sheet.rows)
    if sheet.totals is not None:
        body = itertools.chain(body, [sheet.totals])
    return csv_stream(sheet.columns, body)


def csv_stream(columns: Sequence[tuple[str, str]], rows: Iterable[Sequence[Any]]
               ) -> Iterator[str]:
    """Headings and rows as CSV, one line at a time (the first starts with the BOM)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")

    def line(values: Sequence[Any], kinds: Sequence[str]) -> str:
        buf.seek(0)
        buf.truncate()
        writer.writerow([_text(v, k) for v, k in zip(values, kinds, strict=True)])
        return buf.getvalue()

    kinds = [k for _h, k in columns]
    yield "\ufeff" + line([h for h, _k in columns], ["text"] * len(kinds))
    for row in rows:
        yield line(row, kinds)


def _cells(ws: Any, columns: Sequence[tuple[str, str]], values: Sequence[Any],
           font: Any) -> list[Any]:
    """One row of typed write-only cells (``font`` on each, e.g. bold totals)."""
    from openpyxl.cell import WriteOnlyCell

    from edge.domain.spreadsheet import xlsx_text_cell

    out = []
    for value, (_h, kind) in zip(values, columns, strict=True):
        if kind == "text" and value is not None:
            cell = xlsx_text_cell(ws, str(value))
        else:
            cell = WriteOnlyCell(ws, value=_value(value, kind))
            if kind in FORMATS:
                cell.number_format = FORMATS[kind]
        if font is not None:
            cell.font = font
        out.append(cell)
    return out


def _start_sheet(wb: Any, title: str, columns: Sequence[tuple[str, str]]) -> Any:
    """A write-only sheet with sized columns and its bold headings frozen in view."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from edge.domain.spreadsheet import xlsx_text_cell

    ws = wb.create_sheet(title[:31])
    ws.freeze_panes = "A2"  # the headings stay in view
    for n, (_h, kind) in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(n)].width = WIDTHS[kind]
    heads = []
    for heading, _k in columns:
        cell = xlsx_text_cell(ws, heading)
        cell.font = Font(bold=True)
        heads.append(cell)
    ws.append(heads)
    return ws


def xlsx(sheets: Sequence[Sheet]) -> bytes:
    """The sheets as one XLSX workbook (write-only: memory stays flat on long sheets)."""
    import openpyxl
    from openpyxl.styles import Font

    wb = openpyxl.Workbook(write_only=True)
    bold = Font(bold=True)
    for sheet in sheets:
        ws = _start_sheet(wb, sheet.title, sheet.columns)
        for row in sheet.rows:
            ws.append(_cells(ws, sheet.columns, row, None))
        if sheet.totals is not None:
            ws.append(_cells(ws, sheet.columns, sheet.totals, bold))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


XLSX_MAX_ROWS: Final = 1_048_576
"""Rows an XLSX sheet holds (Excel's limit), the headings' row included."""


def xlsx_file(path: Path, title: str, columns: Sequence[tuple[str, str]],
              rows: Iterable[Sequence[Any]], *, max_rows: int = XLSX_MAX_ROWS) -> int:
    """Rows streamed into an XLSX file at ``path`` by XlsxWriter in constant-memory mode
    (each row goes to disk as it is written; 2.3 times openpyxl's write-only speed on the
    order export), typed as :func:`xlsx` types them; a full sheet goes on in the next,
    "title (2)" and so on. Returns rows written."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {
        "constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
        "strings_to_urls": False})
    formats = {kind: wb.add_format({"num_format": fmt}) for kind, fmt in FORMATS.items()}
    bold, quoted = wb.add_format({"bold": True}), wb.add_format({"quote_prefix": True})
    kinds = [kind for _h, kind in columns]

    def sheet(name: str) -> Any:
        ws = wb.add_worksheet(name[:31])
        ws.freeze_panes(1, 0)  # the headings stay in view
        for n, kind in enumerate(kinds):
            ws.set_column(n, n, WIDTHS[kind])
        for n, (heading, _k) in enumerate(columns):
            ws.write_string(0, n, heading, bold)
        return ws

    ws, at, n, part = sheet(title), 1, 0, 1
    try:
        for row in rows:
            if at == max_rows:
                part += 1
                ws, at = sheet(f"{title} ({part})"), 1
            for c, (value, kind) in enumerate(zip(row, kinds, strict=True)):
                if value is None:
                    continue
                if kind == "text":
                    text = str(value)
                    ws.write_string(at, c, text, quoted if is_risky(text) else None)
                elif kind == "datetime":
                    ws.write_datetime(at, c, _value(value, kind), formats[kind])
                elif kind == "date":
                    ws.write_datetime(at, c, datetime(value.year, value.month, value.day),
                                      formats[kind])
                else:
                    ws.write_number(at, c, float(_value(value, kind)), formats.get(kind))
            at += 1
            n += 1
    finally:
        wb.close()
    return n


FIGURE_COLUMNS: Final = (("订单数", "int"), ("件数", "int"), ("GMV(元)", "yuan"),
                         ("客单价(元)", "yuan"), ("退款(元)", "yuan"))
"""The measures of every sales table."""


def _figs(f: Figures) -> list[Any]:
    return [f.orders, f.units, f.gmv_fen, f.aov_fen, f.refund_fen]


def _table(title: str, first: Sequence[tuple[str, str]], rows: list[Row],
           extra: bool = False, changes: bool = False) -> Sheet:
    cols = [*first, *FIGURE_COLUMNS, *((("环比", "percent"),) if changes else ())]
    sheet = Sheet(title, cols)
    total = Figures()
    for r in rows:
        head: list[Any] = [r.key, r.label] if len(first) > 1 else [r.label]
        if extra:
            head.append(r.extra)
        sheet.rows.append([*head, *_figs(r.figures), *((r.change,) if changes else ())])
        total.add(r.figures.orders, r.figures.units, r.figures.gmv_fen, r.figures.refund_fen)
    blanks = [None] * (len(first) - 1)
    sheet.totals = ["合计", *blanks, *_figs(total), *((None,) if changes else ())]
    return sheet


SERIES_TITLE: Final = "按周期"
"""Sheet names of the sales export; :data:`SECTIONS` maps the CSV section names to them."""
SECTIONS: Final = ("series", "shop", "platform", "sku", "province", "city", "where", "there",
                   "slow")
"""What a sales CSV can hold (``?section=``)."""


def sales_sheets(rep: SalesReport) -> dict[str, Sheet]:
    """The sales report as sheets, by section name (only the sections the filters show:
    cities without a SKU filter, provinces a SKU sells in with one, a province's best
    sellers instead of the best sellers with a province)."""
    f = rep.filters
    summary = Sheet("汇总", (("项目", "text"), ("本期", "int"), ("上期", "int"),
                             ("环比", "percent")))
    for label, now, before in (("订单数", rep.totals.orders, rep.previous.orders),
                               ("件数", rep.totals.units, rep.previous.units)):
        summary.rows.append([label, now, before, (now - before) / before if before else None])
    out = {"summary": summary}
    money = Sheet("金额", (("项目", "text"), ("本期(元)", "yuan"), ("上期(元)", "yuan"),
                           ("环比", "percent")))
    for label, now, before in (("GMV", rep.totals.gmv_fen, rep.previous.gmv_fen),
                               ("客单价", rep.totals.aov_fen, rep.previous.aov_fen),
                               ("退款", rep.totals.refund_fen, rep.previous.refund_fen)):
        money.rows.append([label, now, before, (now - before) / before if before else None])
    money.rows.append([f"期间 {f.start.isoformat()} — {f.end.isoformat()}", None, None, None])
    out["money"] = money
    out["series"] = _table(SERIES_TITLE, (("周期", "text"),), rep.series, changes=True)
    out["shop"] = _table("按店铺", (("店铺", "text"), ("名称", "text"), ("平台", "text")),
                         rep.by_shop, extra=True)
    out["platform"] = _table("按平台", (("平台", "text"),), rep.by_platform)
    out["sku"] = _table("畅销SKU", (("SKU", "text"), ("名称", "text"), ("类目", "text")),
                        rep.by_sku, extra=True)
    out["province"] = _table("按省份", (("省份", "text"),), rep.by_province)
    months = (f"{rep.geo_months[0]:%Y-%m}~{rep.geo_months[1]:%Y-%m}" if rep.geo_months
              else "")
    if f.by_sku:
        out["where"] = _table(f"卖到哪些省份 {months}"[:31], (("省份", "text"),), rep.where_sold)
    else:
        out["city"] = _table("按城市", (("省份 城市", "text"),), rep.by_city)
    if f.province:
        del out["sku"]
        out["there"] = _table(f"该省畅销款 {months}"[:31],
                              (("SKU", "text"), ("名称", "text"), ("类目", "text")),
                              rep.sold_there, extra=True)
    slow = Sheet("滞销", (("SKU", "text"), ("名称", "text"), ("在库", "int"),
                          ("最近售出", "date")))
    slow.rows = [[m.sku, m.name, m.on_hand, m.last_sold] for m in rep.slow]
    out["slow"] = slow
    return out


def daily_sheets(d: DailySummary) -> list[Sheet]:
    """The daily summary as sheets: figures, late orders, exceptions and alerts, low stock."""
    figures = Sheet("概况", (("项目", "text"), ("数值", "int")))
    figures.rows = [["日期 " + d.day.isoformat(), None], ["订单数", d.sales.orders],
                    ["件数", d.sales.units], ["发货包裹", d.parcels],
                    ["发货订单", d.shipped_orders], ["超时未发", d.late_count],
                    ["异常订单(当前)", sum(d.exceptions.values())],
                    ["低于安全库存(当前)", len(d.low_stock)]]
    money = Sheet("金额", (("项目", "text"), ("元", "yuan")))
    money.rows = [["GMV", d.sales.gmv_fen], ["客单价", d.sales.aov_fen],
                  ["退款", d.sales.refund_fen]]
    late = Sheet("超时未发", (("订单", "text"), ("店铺", "text"), ("最晚发货", "datetime"),
                              ("发货时间", "datetime"), ("状态", "text")))
    late.rows = [[x.order_id, x.shop_id, x.ship_by, x.shipped_at, x.state] for x in d.late]
    issues = Sheet("异常", (("类别", "text"), ("原因", "text"), ("数量", "int")))
    issues.rows = [*(["订单异常", code, n] for code, n in d.exceptions.items()),
                   *(["工作站告警", kind, n] for kind, n in d.alerts.items())]
    low = Sheet("低库存", (("仓库", "text"), ("SKU", "text"), ("名称", "text"),
                           ("在库", "int"), ("安全库存", "int")))
    low.rows = [[x.warehouse_id, x.sku, x.name, x.on_hand, x.safety] for x in d.low_stock]
    return [figures, money, late, issues, low]


def stock_sheet(rows: Sequence[Any], days: int, lang_zh: bool = True) -> Sheet:
    """The stock report (``cloud.reports.stock_value``) as one sheet, with its value total."""
    zh = lang_zh
    sheet = Sheet("库存报表" if zh else "Stock", [
        ("仓库" if zh else "Warehouse", "text"), ("SKU", "text"),
        ("名称" if zh else "Name", "text"), ("在库" if zh else "On hand", "int"),
        ("占用" if zh else "Reserved", "int"), ("在途" if zh else "In transit", "int"),
        ("安全库存" if zh else "Safety", "int"), ("成本单价" if zh else "Unit cost", "yuan"),
        ("库存金额" if zh else "Value", "yuan"),
        (f"近{days}天发货" if zh else f"Shipped {days} d", "int"),
        ("可售天数" if zh else "Days of cover", "text"),
        ("周转次数" if zh else "Turnover", "text"),
        ("库龄≤30天" if zh else "Age ≤30 d", "int"), ("31–60天" if zh else "31–60 d", "int"),
        ("61–90天" if zh else "61–90 d", "int"), (">90天" if zh else ">90 d", "int")])
    for r in rows:
        sheet.rows.append([r.warehouse_id, r.sku, r.name, r.on_hand, r.reserved, r.in_transit,
                           r.safety, r.cost_fen, r.value_fen, r.shipped,
                           "" if r.days_of_cover is None else f"{r.days_of_cover:.1f}",
                           "" if r.turnover is None else f"{r.turnover:.2f}", *r.ages])
    sheet.totals = ["合计" if zh else "Total", "", "", sum(r.on_hand for r in rows),
                    sum(r.reserved for r in rows), sum(r.in_transit for r in rows), None, None,
                    sum(r.value_fen for r in rows), sum(r.shipped for r in rows), "", "",
                    *(sum(r.ages[i] for r in rows) for i in range(len(AGE_BUCKETS) + 1))]
    return sheet


def fulfilment_sheets(rep: Any, lang_zh: bool = True) -> list[Sheet]:
    """The fulfilment report (``cloud.reports.fulfilment``) as sheets: per packer, per
    station (each with a totals row), parcels by courier and weight band, and the series."""
    zh = lang_zh

    def figures_sheet(title: str, key_head: str, rows: Sequence[Any], with_name: bool) -> Sheet:
        cols: list[tuple[str, str]] = [(key_head, "text")]
        if with_name:
            cols.append(("姓名" if zh else "Name", "text"))
        cols += [("包裹" if zh else "Parcels", "int"), ("订单" if zh else "Orders", "int"),
                 ("在岗小时" if zh else "Hours", "decimal"),
                 ("每小时包裹" if zh else "Parcels/hour", "decimal"),
                 ("平均打包秒数" if zh else "Avg pack s", "decimal"),
                 ("错扫" if zh else "Wrong scans", "int"), ("复称" if zh else "Reweighed", "int"),
                 ("重量放行" if zh else "Overrides", "int"), ("补打" if zh else "Reprints", "int"),
                 ("超时发货" if zh else "Late", "int")]
        sheet = Sheet(title, cols)

        def values(x: Any, head: list[Any]) -> list[Any]:
            return [*head, x.parcels, x.orders, x.hours, x.per_hour, x.avg_pack_seconds,
                    x.wrong_scans, x.reweighed, x.overrides, x.reprints, x.late]

        for x in rows:
            sheet.rows.append(values(x, [x.key, x.name] if with_name else [x.key]))
        t = rep.total
        sheet.totals = values(t, ["合计" if zh else "Total", ""] if with_name
                              else ["合计" if zh else "Total"])
        return sheet

    bands = Sheet("快递与重量" if zh else "Courier x weight", [
        ("快递" if zh else "Courier", "text"), ("重量段" if zh else "Weight band", "text"),
        ("包裹" if zh else "Parcels", "int")])
    bands.rows = [[b.carrier, b.band, b.parcels] for b in rep.bands]
    bands.totals = ["合计" if zh else "Total", "", sum(b.parcels for b in rep.bands)]
    series = Sheet("按周期" if zh else "By period", [
        ("周期" if zh else "Period", "text"), ("起始日" if zh else "First day", "date"),
        ("包裹" if zh else "Parcels", "int"), ("超时发货" if zh else "Late", "int")])
    series.rows = [[r.label, r.first_day, r.parcels, r.late] for r in rep.series]
    series.totals = ["合计" if zh else "Total", None, sum(r.parcels for r in rep.series),
                     sum(r.late for r in rep.series)]
    return [figures_sheet("打包员" if zh else "Packers", "工号" if zh else "Operator",
                          rep.packers, True),
            figures_sheet("工作站" if zh else "Stations", "工作站" if zh else "Station",
                          rep.stations, False),
            bands, series]


def purchasing_sheet(rep: Any, lang_zh: bool = True) -> Sheet:
    """The purchasing report (``cloud.reports.purchasing``) as one sheet with totals."""
    zh = lang_zh
    sheet = Sheet("采购报表" if zh else "Purchasing", [
        ("供应商" if zh else "Supplier", "text"), ("名称" if zh else "Name", "text"),
        ("发出采购单" if zh else "POs sent", "int"), ("订购件数" if zh else "Units ordered", "int"),
        ("订购金额" if zh else "Ordered", "yuan"), ("到货件数" if zh else "Units received", "int"),
        ("到货金额" if zh else "Received", "yuan"), ("在途件数" if zh else "Units on order", "int"),
        ("在途金额" if zh else "On order", "yuan"),
        ("平均到货天数" if zh else "Avg lead days", "decimal"),
        ("最长到货天数" if zh else "Max lead days", "decimal"),
        ("约定天数" if zh else "Stated lead days", "int"),
        ("准时率" if zh else "On time", "percent"), ("满足率" if zh else "Fill rate", "percent")])

    def values(r: Any, head: list[Any]) -> list[Any]:
        return [*head, r.pos_sent, r.ordered_units, r.ordered_fen, r.received_units,
                r.received_fen, r.on_order_units, r.on_order_fen, r.avg_lead_days,
                r.max_lead_days]

    for r in rep.rows:
        sheet.rows.append([*values(r, [r.supplier_id, r.name]), r.stated_lead_days,
                           r.on_time_rate, r.fill_rate])
    t = rep.total()
    sheet.totals = [*values(t, ["合计" if zh else "Total", ""]), None, t.on_time_rate, t.fill_rate]
    return sheet


PROFIT_SECTIONS: Final = ("series", "shop", "sku", "order")
"""Tables of the profit report a CSV download may ask for (``?section=``)."""


def profit_sheets(rep: Any, lang_zh: bool = True) -> list[Sheet]:
    """The profit report (``cloud.reports.profit_report``) as sheets in the order of
    :data:`PROFIT_SECTIONS`: by period, by shop, by SKU and by order, each with its totals."""
    zh = lang_zh
    money = [("订单数" if zh else "Orders", "int"), ("件数" if zh else "Units", "int"),
             ("收入(元)" if zh else "Revenue", "yuan"),
             ("商品成本(元)" if zh else "Cost of goods", "yuan"),
             ("快递费(元)" if zh else "Courier", "yuan"),
             ("平台费(元)" if zh else "Platform fee", "yuan"),
             ("退款(元)" if zh else "Refunds", "yuan"), ("利润(元)" if zh else "Profit", "yuan"),
             ("利润率" if zh else "Margin", "percent"),
             ("未计成本件数" if zh else "Units without cost", "int")]

    def figs(x: Any) -> list[Any]:
        return [x.orders, x.units, x.revenue_fen, x.cogs_fen, x.courier_fen, x.fee_fen,
                x.refund_fen, x.profit_fen, x.margin, x.uncosted]

    total = "合计" if zh else "Total"
    series = Sheet("按周期" if zh else "By period", [("周期" if zh else "Period", "text"), *money])
    series.rows = [[r.label, *figs(r.figures)] for r in rep.series]
    series.totals = [total, *figs(rep.totals)]
    shop = Sheet("按店铺" if zh else "By shop", [
        ("店铺" if zh else "Shop", "text"), ("名称" if zh else "Name", "text"),
        ("平台" if zh else "Platform", "text"), ("平台费率" if zh else "Fee rate", "text"),
        *money])
    shop.rows = [[r.key, r.label, r.extra, ("未设置平台费率" if zh else "fee rate not set")
                  if r.fee_bp is None else f"{r.fee_bp / 100:.2f}%", *figs(r.figures)]
                 for r in rep.by_shop]
    shop.totals = [total, None, None, None, *figs(rep.totals)]
    sku = Sheet("按SKU" if zh else "By SKU", [
        ("SKU", "text"), ("名称" if zh else "Name", "text"),
        ("类目" if zh else "Category", "text"), *money])
    sku.rows = [[r.key, r.label, r.extra, *figs(r.figures)] for r in rep.by_sku]
    order = Sheet("按订单" if zh else "By order", [
        ("订单" if zh else "Order", "text"), ("日期" if zh else "Day", "date"),
        ("店铺" if zh else "Shop", "text"), *money[1:],
        ("未计费包裹" if zh else "Parcels not charged", "int")])
    order.rows = [[r.key, r.day, r.extra, *figs(r.figures)[1:], r.unbilled] for r in rep.orders]
    return [series, shop, sku, order]
