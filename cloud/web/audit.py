"""The audit page's helpers: cells made safe for spreadsheets and the CSV export. The log
itself (write, filter) is :mod:`cloud.audit`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from cloud.audit import AuditEntry
from cloud.web.config import DISPLAY_TZ
from edge.domain.spreadsheet import protect


def neutralize(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text (``edge.domain.spreadsheet.protect``, as
    the catalog export writes it): a leading ``= + - @`` (or their full-width forms), tab or
    CR gets ``'``."""
    return protect("" if value is None else str(value))


def detail_text(detail: dict[str, Any] | None) -> str:
    """``key=value`` pairs, sorted, for the page and the export."""
    if not detail:
        return ""
    return ", ".join(f"{k}={detail[k]}" for k in sorted(detail))


def to_csv(rows: Iterable[AuditEntry], headers: Sequence[str]) -> str:
    """The entries as CSV (UTF-8 with BOM so Excel reads Chinese; times in China Standard
    Time), every cell neutralised."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralize(h) for h in headers])
    for e in rows:
        writer.writerow([neutralize(v) for v in (
            e.at.astimezone(DISPLAY_TZ).strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.action, e.subject or "",
            detail_text(e.detail))])
    return out.getvalue()
