"""Who is signed in: the signed session cookie's contents, expiry on the app's clock.

The cookie (Starlette's ``SessionMiddleware``, signed with the session key) holds the
language, the CSRF token, a flash message and, once signed in, the user id, the user's
``session_version`` and two clock times: ``iat`` (sign-in) and ``seen`` (last request).
:func:`current_user` ends a session idle longer than ``session_idle_minutes`` or older
than ``session_max_hours`` (times from the injected clock), and one whose user was
disabled or had their password or role changed since (``session_version``).
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request

from cloud.web import accounts
from cloud.web.accounts import User
from cloud.web.context import read, web
from cloud.web.i18n import normalize_lang

_KEEP_ON_RESET = ("lang",)


def lang(request: Request) -> str:
    """The session's language (``zh`` unless switched)."""
    return normalize_lang(request.session.get("lang"))


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def flash(request: Request, key: str, **params: Any) -> None:
    """Show a message (a catalogue key) on the next page rendered."""
    request.session["flash"] = [key, params]


def pop_flash(request: Request) -> tuple[str, dict[str, Any]] | None:
    """The pending flash message, removed."""
    value = request.session.pop("flash", None)
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
        return value[0], dict(value[1] or {})
    return None


def _reset(request: Request) -> None:
    kept = {k: request.session[k] for k in _KEEP_ON_RESET if k in request.session}
    request.session.clear()
    request.session.update(kept)


def start(request: Request, user: User) -> None:
    """Sign ``user`` in: a fresh session (new CSRF token) keeping only the language."""
    now = web(request).clock()
    _reset(request)
    request.session.update({"uid": user.id, "sv": user.session_version, "iat": now, "seen": now})
    csrf_token(request)


def start_totp(request: Request, user: User) -> None:
    """Remember that ``user`` gave the right password and owes a TOTP code."""
    _reset(request)
    request.session.update({"totp_uid": user.id, "totp_at": web(request).clock()})
    csrf_token(request)


def pending_totp_user(request: Request) -> str | None:
    """The user id waiting for a TOTP code, if the password step was recent (5 minutes)."""
    uid, at = request.session.get("totp_uid"), request.session.get("totp_at")
    if not isinstance(uid, str) or not isinstance(at, int | float):
        return None
    if web(request).clock() - at > 300:
        return None
    return uid


def end(request: Request) -> None:
    """Sign out (the language stays)."""
    _reset(request)


async def current_user(request: Request) -> User | None:
    """The signed-in user, or ``None`` (expired sessions are ended with a message)."""
    cached = getattr(request.state, "user", None)
    if isinstance(cached, User):
        return cached
    uid = request.session.get("uid")
    if not isinstance(uid, str):
        return None
    ctx = web(request)
    now = ctx.clock()
    iat, seen = request.session.get("iat"), request.session.get("seen")
    if (not isinstance(iat, int | float) or not isinstance(seen, int | float)
            or now - seen > ctx.web.session_idle_minutes * 60
            or now - iat > ctx.web.session_max_hours * 3600):
        _reset(request)
        flash(request, "login.expired")
        return None
    user = await read(request, accounts.get_user, uid)
    if user is None or not user.active or user.session_version != request.session.get("sv"):
        _reset(request)
        flash(request, "login.expired")
        return None
    request.session["seen"] = now
    request.state.user = user
    return user
