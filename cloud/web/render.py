"""Rendering a page: the template context every page gets, and the error pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from cloud.web import session
from cloud.web.context import DISPLAY_TZ, web
from cloud.web.i18n import MESSAGES, gettext


def fmt_time(value: datetime | None) -> str:
    """``2026-12-03 16:30`` in China Standard Time, or an empty string."""
    return value.astimezone(DISPLAY_TZ).strftime("%Y-%m-%d %H:%M") if value else ""


def fmt_fen(value: int | None) -> str:
    """Fen as yuan with two decimals: ``12345`` → ``123.45``."""
    if value is None:
        return ""
    sign = "-" if value < 0 else ""
    return f"{sign}{abs(value) // 100:,}.{abs(value) % 100:02d}"


def duration(lang: str, seconds: float) -> str:
    """A rough duration: ``45 秒``, ``12 分钟``, ``3 小时``, ``2 天``."""
    s = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return gettext(lang, f"duration.{unit}", n=s // size)
    return gettext(lang, "duration.s", n=s)


def _flash_text(request: Request, lang: str) -> str | None:
    flashed = session.pop_flash(request)
    if flashed is None:
        return None
    key, params = flashed
    resolved = {(k[:-4] if k.endswith("_key") else k): (gettext(lang, v) if k.endswith("_key") else v)
                for k, v in params.items()}
    return gettext(lang, key, **resolved)


def render(request: Request, template: str, context: dict[str, Any] | None = None,
           status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A page in the session's language, with the user, CSRF token and flash message."""
    lang = session.lang(request)

    def _(key: str, **params: Any) -> str:
        return gettext(lang, key, **params)

    user = getattr(request.state, "user", None)
    from cloud.web.permissions import MATRIX, Permission  # permissions imports this module

    can = {p.value: (user is not None and user.role in MATRIX[p]) for p in Permission}
    base: dict[str, Any] = {
        "_": _, "lang": lang, "user": user, "can": can, "csrf_token": session.csrf_token(request),
        "flash": _flash_text(request, lang), "fmt_time": fmt_time, "fmt_fen": fmt_fen,
        "duration": lambda seconds: duration(lang, seconds),
        "vendor": {name: web(request).vendor.path(name) is not None
                   for name in ("htmx.min.js", "echarts.min.js")},
        "path": request.url.path,
        "exception_text": lambda code: (gettext(lang, f"exception.{code}")
                                        if f"exception.{code}" in MESSAGES else code),
    }
    base.update(context or {})
    return web(request).templates.TemplateResponse(
        request, template, base, status_code=status_code, headers=headers)


def render_error(request: Request, status_code: int, title_key: str, message_key: str,
                 role_key: str | None = None) -> Response:
    """An error page (403, 404, CSRF, 500) in the frame of the app."""
    lang = session.lang(request)
    params = {"role": gettext(lang, role_key)} if role_key else {}
    return render(request, "error.html", {
        "title_key": title_key, "message": gettext(lang, message_key, **params)},
        status_code=status_code)
