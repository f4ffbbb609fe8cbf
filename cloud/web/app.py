"""``create_app(settings, engine, clock=...)``: the web app, wired (no logic here).

Middleware, outermost first: security headers, the signed session cookie, CSRF. Routes
come from ``cloud.web.routes`` (one module per area), static files from the package's
``static/`` and vendor JavaScript from ``node_modules`` (:mod:`cloud.web.assets`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import jinja2
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloud.config import CloudSettings
from cloud.crypto import Sealer, load_or_create_key, sealer_for
from cloud.web.assets import vendor_assets
from cloud.web.config import WebSettings
from cloud.web.context import WebContext
from cloud.web.csrf import CSRFMiddleware
from cloud.web.permissions import mark_public, public
from cloud.web.render import render_error
from cloud.web.routes import all_routes

log = logging.getLogger(__name__)

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'; connect-src 'self' ws: wss:"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
"""Sent with every response: only this site's scripts, no framing, no sniffing. Pages may
open WebSockets anywhere (``connect-src ws: wss:``): the 打单台 talks to the print component
on the office PC or LAN, whose address the user sets."""


class SecurityHeaders:
    """Add :data:`SECURITY_HEADERS` (and ``Cache-Control: no-store`` on pages)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


@public
async def vendor_file(request: Request) -> Response:
    """htmx / ECharts from ``node_modules`` (404 when not installed)."""
    path = request.app.state.web.vendor.path(request.path_params["name"])
    if path is None:
        raise HTTPException(404)
    return FileResponse(path, media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    if status == 405:
        return Response("405", status_code=405)
    return render_error(request, 404, "error.not_found_title", "error.not_found")


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("web request failed: %s %s", request.method, request.url.path, exc_info=exc)
    return render_error(request, 500, "error.server_title", "error.server")


async def _csrf_rejected(request: Request) -> Response:
    return render_error(request, 403, "error.csrf_title", "error.csrf")


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cloud.web", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return Jinja2Templates(env=env)


def create_app(settings: CloudSettings, engine: Engine, *, clock: Callable[[], float] = time.time,
               web_settings: WebSettings | None = None, sealer: Sealer | None = None) -> Starlette:
    """The web app on ``engine`` (already migrated), with every timestamp from ``clock``."""
    web = web_settings or WebSettings()
    key_file = web.session_key_file or settings.data_dir / "session.key"
    session_key = load_or_create_key(key_file).decode("ascii")
    static = mark_public(StaticFiles(packages=[("cloud.web", "static")]))
    routes = [
        Route("/static/vendor/{name}", vendor_file, methods=["GET"]),
        Mount("/static", app=static, name="static"),
        *all_routes(),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(SessionMiddleware, secret_key=session_key, session_cookie="packline_session",
                       max_age=web.session_max_hours * 3600, same_site="lax",
                       https_only=web.cookie_secure),
            Middleware(CSRFMiddleware, on_reject=_csrf_rejected),
        ],
        exception_handlers={404: _not_found, 405: _not_found, 500: _server_error},
    )
    app.state.web = WebContext(
        settings=settings, web=web, engine=engine, clock=clock,
        sealer=sealer or sealer_for(settings), templates=_templates(),
        vendor=vendor_assets(web.vendor_dir))
    return app
