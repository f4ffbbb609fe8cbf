"""导出任务: ``POST /orders/export`` starts an export of the order list's orders (its filters)
in the background (``cloud.web.order_export``); ``/exports`` lists the person's exports with
their progress (``static/exports.js`` polls ``/exports/{id}.json``) and the download link of
each finished file. Only the person who asked for an export may download it."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cloud.errors import InputError, Problem
from cloud.web import order_export, session
from cloud.web.context import read, web
from cloud.web.i18n import gettext
from cloud.web.permissions import Permission, requires
from cloud.web.render import render
from cloud.web.routes.orders import FILTERS, order_filter

JOB_ID_MAX = 64
"""Longest job id taken from a URL."""


def exporter(request: Request) -> order_export.Exporter:
    """The app's exporter: its database, data directory and clock."""
    ctx = web(request)
    return order_export.Exporter(ctx.engine, ctx.settings.data_dir, ctx.now)


def _status(request: Request, job: order_export.Job) -> dict[str, Any]:
    lang = session.lang(request)
    state = job.state(web(request).now())
    expired = job.expired(web(request).now())
    return {
        "id": job.id, "state": state, "state_text": gettext(lang, f"exports.state.{state}"),
        "done": job.done_rows, "total": job.total_rows, "percent": job.percent(),
        "rows_text": (gettext(lang, "exports.rows", done=f"{job.done_rows:,}",
                              total=f"{job.total_rows:,}") if job.total_rows is not None
                      else gettext(lang, "exports.counting")),
        "download_text": gettext(lang, "exports.download"), "size": job.size_bytes,
        "file_name": job.file_name, "error": job.error,
        "download": (f"/exports/{job.id}/file" if state == order_export.DONE and not expired
                     else None)}


async def _page(request: Request, errors: list[Problem] | None = None,
                status_code: int = 200) -> Response:
    user = request.state.user.username
    jobs = await read(request, order_export.jobs_of, user)
    return render(request, "exports.html", {
        "jobs": [(j, _status(request, j), json.loads(j.params)) for j in jobs],
        "errors": errors or []}, status_code=status_code)


@requires(Permission.ORDERS_EXPORT)
async def exports_page(request: Request) -> Response:
    """The person's exports, newest first, with progress and downloads."""
    return await _page(request)


@requires(Permission.ORDERS_EXPORT)
async def start_order_export(request: Request) -> Response:
    """Start exporting the orders the list's filters match (the form carries them)."""
    form = await request.form()
    fields = {k: str(form.get(k) or "") for k in FILTERS}
    flt, bad = order_filter(request, fields)
    if bad is not None:
        return await _page(request, [Problem("", gettext("zh", bad.key), gettext("en", bad.key))],
                           400)
    try:
        job_id = exporter(request).start(
            flt, fields, fmt=str(form.get("fmt") or ""), user=request.state.user.username,
            lang=session.lang(request))
    except InputError as err:
        return await _page(request, err.problems, 400)
    session.flash(request, "exports.started")
    return RedirectResponse(f"/exports#job-{job_id}", status_code=303)


async def _own(request: Request) -> order_export.Job | None:
    job_id = request.path_params["job_id"][:JOB_ID_MAX]
    job = await read(request, order_export.job, job_id)
    if job is None or job.requested_by != request.state.user.username:
        return None
    return job


@requires(Permission.ORDERS_EXPORT)
async def export_status(request: Request) -> Response:
    """One export's progress as JSON (the page polls it)."""
    job = await _own(request)
    if job is None:
        return JSONResponse({"error": "没有这个导出 / no such export"}, status_code=404)
    return JSONResponse(_status(request, job))


@requires(Permission.ORDERS_EXPORT)
async def export_file(request: Request) -> Response:
    """A finished export's file."""
    job = await _own(request)
    path = (order_export.file_path(web(request).settings.data_dir, job)
            if job is not None and _status(request, job)["download"] is not None else None)
    if path is None or not path.exists():
        session.flash(request, "exports.gone")
        return RedirectResponse("/exports", status_code=303)
    assert job is not None  # (a path is only made for a job)
    media = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
             if job.fmt == "xlsx" else "text/csv; charset=utf-8")
    return FileResponse(path, media_type=media, filename=job.file_name)


routes: list[BaseRoute] = [
    Route("/orders/export", start_order_export, methods=["POST"]),
    Route("/exports", exports_page, methods=["GET"]),
    Route("/exports/{job_id}.json", export_status, methods=["GET"]),
    Route("/exports/{job_id}/file", export_file, methods=["GET"]),
]
