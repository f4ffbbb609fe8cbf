"""Reports as PDF: the same tables as the XLSX and CSV exports (``cloud.reports.export``
sheets), laid out on A4 landscape pages with the headings repeated on every page and page
numbers, Chinese text set in Noto Sans CJK and embedded (subset) in the file, so it prints
and archives the same on any machine.

WeasyPrint renders an HTML template to PDF: it is a well-kept library that lays out CSS
(repeated table headers, page counters) and embeds fonts through fontconfig and Pango — what
a hand-drawn PDF would have to re-implement. The font comes from Debian's ``fonts-noto-cjk``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import jinja2

from cloud.reports.export import Sheet, cell_text

TEMPLATES: Final = Path(__file__).parent / "templates"
"""Where the PDF's HTML template lives."""

_env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                          autoescape=jinja2.select_autoescape(["html"]))


def html(title: str, subtitle: str, sheets: Sequence[Sheet], lang: str = "zh") -> str:
    """The report as the HTML the PDF is made from (values formatted as in the CSV)."""
    shown: list[dict[str, Any]] = []
    for s in sheets:
        kinds = [k for _h, k in s.columns]
        shown.append({
            "title": s.title, "columns": s.columns, "kinds": kinds,
            "rows": [[cell_text(v, k, guard_formulas=False) for v, k in zip(row, kinds, strict=True)]
                     for row in s.rows],
            "totals": None if s.totals is None else [
                cell_text(v, k, guard_formulas=False) for v, k in zip(s.totals, kinds, strict=True)]})
    return _env.get_template("report.html").render(
        title=title, subtitle=subtitle, sheets=shown, lang="zh-CN" if lang == "zh" else "en")


def pdf(title: str, subtitle: str, sheets: Sequence[Sheet], lang: str = "zh") -> bytes:
    """The report as a PDF document."""
    from weasyprint import HTML

    return bytes(HTML(string=html(title, subtitle, sheets, lang)).write_pdf())
