"""用户: the user list, creating users and changing roles (admins; every change audited)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cloud.web import accounts, session
from cloud.web.accounts import AccountError
from cloud.web.context import read, web, write
from cloud.web.forms import text
from cloud.web.permissions import Permission, requires
from cloud.web.render import render
from edge.domain.models import Role


async def _page(request: Request, form: dict[str, Any] | None = None,
                error: AccountError | None = None, status_code: int = 200) -> Response:
    rows = await read(request, accounts.list_users)
    return render(request, "users.html", {
        "rows": rows, "roles": list(Role), "form": form or {}, "error": error,
        "now": web(request).now()}, status_code=status_code)


@requires(Permission.USERS_MANAGE)
async def user_list(request: Request) -> Response:
    """Users with role, second factor and last sign-in; the new-user form."""
    return await _page(request)


@requires(Permission.USERS_MANAGE)
async def user_create(request: Request) -> Response:
    """Create a user (form); errors are shown next to the field, nothing is half-written."""
    ctx, actor = web(request), request.state.user.username
    form = await request.form()
    values = {k: text(form, k, 200) or "" for k in ("username", "display_name", "role")}
    password = form.get("password")
    try:
        role = accounts.parse_role(values["role"])
        user = await write(request, accounts.create_user, ctx.now(), actor,
                           username=values["username"], display_name=values["display_name"],
                           role=role, password=password if isinstance(password, str) else "")
    except AccountError as err:
        return await _page(request, values, err, status_code=400)
    session.flash(request, "users.created", name=user.username)
    return RedirectResponse("/users", status_code=303)


@requires(Permission.USERS_MANAGE)
async def user_role(request: Request) -> Response:
    """Change a user's role (form); audited, and the user's sessions end."""
    ctx, actor = web(request), request.state.user.username
    target = await read(request, accounts.get_user, request.path_params["user_id"])
    if target is None:
        return RedirectResponse("/users", status_code=303)
    form = await request.form()
    try:
        role = accounts.parse_role(text(form, "role", 32) or "")
        await write(request, accounts.set_role, ctx.now(), actor, target.username, role)
    except AccountError as err:
        return await _page(request, None, err, status_code=400)
    session.flash(request, "users.role_changed", name=target.username,
                  role_key=f"role.{role.value}")
    return RedirectResponse("/users", status_code=303)


routes: list[BaseRoute] = [
    Route("/users", user_list, methods=["GET"]),
    Route("/users", user_create, methods=["POST"]),
    Route("/users/{user_id}/role", user_role, methods=["POST"]),
]
