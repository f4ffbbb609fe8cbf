"""审计日志: filter the audit log and export it as CSV (admins)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cloud import audit
from cloud.audit import AuditFilter
from cloud.web import audit as audit_csv
from cloud.web import session
from cloud.web.context import read
from cloud.web.forms import BadInput, day_start, limit, text
from cloud.web.i18n import MESSAGES, gettext
from cloud.web.permissions import Permission, requires
from cloud.web.render import render

EXPORT_LIMIT = 100_000
"""Most rows one CSV export holds."""


def _filter(request: Request) -> AuditFilter:
    q = request.query_params
    return AuditFilter(action=text(q, "action", 64), actor=text(q, "actor", 128),
                       subject=text(q, "subject", 200), since=day_start(q, "since"),
                       until=day_start(q, "until", end=True))


def action_label(lang: str, action: str) -> str:
    """The catalogue label of an audit action, else the action code itself."""
    key = f"audit.{action}"
    return gettext(lang, key) if key in MESSAGES else action


@requires(Permission.AUDIT_VIEW)
async def audit_page(request: Request) -> Response:
    """The audit log, newest first, with filters."""
    q = request.query_params
    error = None
    try:
        flt = _filter(request)
    except BadInput as err:
        flt, error = AuditFilter(), err
    n = limit(q, default=200, maximum=2000)
    rows = [] if error else await read(request, audit.entries, flt, limit=n)
    lang = session.lang(request)
    return render(request, "audit.html", {
        "rows": rows, "error": error, "action_choices": [
            (a, action_label(lang, a)) for a in await read(request, audit.actions)],
        "f": {k: q.get(k, "") for k in ("action", "actor", "subject", "since", "until")},
        "label": lambda action: action_label(lang, action), "detail_text": audit_csv.detail_text,
        "query": request.url.query}, status_code=400 if error else 200)


@requires(Permission.AUDIT_VIEW)
async def audit_export(request: Request) -> Response:
    """The filtered audit log as CSV (cells neutralised against spreadsheet formulas)."""
    try:
        flt = _filter(request)
    except BadInput:
        flt = AuditFilter()
    rows = await read(request, audit.entries, flt, limit=EXPORT_LIMIT)
    lang = session.lang(request)
    headers = [gettext(lang, k) for k in
               ("col.time", "col.actor", "col.action", "col.subject", "col.detail")]
    return Response(audit_csv.to_csv(rows, headers), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="packline-audit.csv"'})


routes: list[BaseRoute] = [
    Route("/audit", audit_page, methods=["GET"]),
    Route("/audit/export.csv", audit_export, methods=["GET"]),
]
