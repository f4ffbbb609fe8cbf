"""工作人员: the kiosk operators (packers and leads) — list, add, change, set a PIN or a
badge, deactivate; every save goes to the stations and the audit log (``cloud.operators``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cloud import operators
from cloud.errors import InputError, Problem
from cloud.web import session
from cloud.web.context import read, web, write
from cloud.web.forms import text
from cloud.web.permissions import Permission, requires
from cloud.web.render import render

FIELDS = ("id", "name", "role", "badge", "pin")
"""The form's text fields (``active`` is a checkbox)."""


async def _list_page(request: Request, form: dict[str, str] | None = None,
                     errors: list[Problem] | None = None, status_code: int = 200) -> Response:
    rows = await read(request, operators.list_operators)
    return render(request, "operators.html", {
        "rows": rows, "roles": operators.ROLES, "form": form or {"role": "packer"},
        "errors": errors or []}, status_code=status_code)


async def _read_form(request: Request) -> tuple[dict[str, str], operators.OperatorForm]:
    raw = await request.form()
    form = {k: text(raw, k, 200) or "" for k in FIELDS}
    active = raw.get("active") == "1"
    return form, operators.OperatorForm(form["id"], form["name"], form["role"], form["badge"],
                                        form["pin"], active)


@requires(Permission.OPERATORS_MANAGE)
async def operator_list(request: Request) -> Response:
    """Every operator; the form to add one."""
    return await _list_page(request)


@requires(Permission.OPERATORS_MANAGE)
async def operator_create(request: Request) -> Response:
    """Add an operator; problems next to their fields, nothing written."""
    ctx, actor = web(request), request.state.user.username
    form, typed = await _read_form(request)
    typed = operators.OperatorForm(typed.id, typed.name, typed.role, typed.badge, typed.pin, True)
    try:
        saved = await write(request, operators.save, typed, existing=None, actor=actor,
                            now=ctx.now())
    except InputError as err:
        form["pin"] = ""  # never echoed back
        return await _list_page(request, form, err.problems, 400)
    session.flash(request, "operators.saved", id=saved.id)
    return RedirectResponse("/operators", status_code=303)


async def _edit_page(request: Request, op: operators.Operator, form: dict[str, str],
                     active: bool, errors: list[Problem], status_code: int = 200) -> Response:
    return render(request, "operator_edit.html", {
        "op": op, "form": form, "active": active, "roles": operators.ROLES, "errors": errors},
        status_code=status_code)


@requires(Permission.OPERATORS_MANAGE)
async def operator_edit(request: Request) -> Response:
    """One operator's form."""
    op = await read(request, operators.get, request.path_params["operator_id"])
    if op is None:
        return RedirectResponse("/operators", status_code=303)
    form = {"id": op.id, "name": op.name, "role": op.role, "badge": op.badge or "", "pin": ""}
    return await _edit_page(request, op, form, op.active, [])


@requires(Permission.OPERATORS_MANAGE)
async def operator_update(request: Request) -> Response:
    """Save one operator (a blank PIN keeps the current one)."""
    ctx, actor = web(request), request.state.user.username
    op = await read(request, operators.get, request.path_params["operator_id"])
    if op is None:
        return RedirectResponse("/operators", status_code=303)
    form, typed = await _read_form(request)
    try:
        saved = await write(request, operators.save, typed, existing=op.id, actor=actor,
                            now=ctx.now())
    except InputError as err:
        form["pin"] = ""
        return await _edit_page(request, op, form, typed.active, err.problems, 400)
    session.flash(request, "operators.saved", id=saved.id)
    return RedirectResponse("/operators", status_code=303)


routes: list[BaseRoute] = [
    Route("/operators", operator_list, methods=["GET"]),
    Route("/operators", operator_create, methods=["POST"]),
    Route("/operators/{operator_id}", operator_edit, methods=["GET"]),
    Route("/operators/{operator_id}", operator_update, methods=["POST"]),
]
