"""CSRF protection: every unsafe request must carry the session's token.

A pure ASGI middleware placed inside ``SessionMiddleware``: for ``POST``, ``PUT``,
``PATCH`` and ``DELETE`` it takes the token from the ``X-CSRF-Token`` header (htmx sends
it, see ``base.html``) or else from the ``csrf_token`` field of a urlencoded or multipart
form, compares it in constant time with the one in the session, and answers 403 when it
is missing or wrong. The body it read is handed on unchanged to the app. Forms render the
token with ``{{ csrf_token }}`` (:func:`cloud.web.session.csrf_token`).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FIELD = "csrf_token"
HEADER = "x-csrf-token"
MAX_BODY = 8 * 1024 * 1024
"""Largest body read while looking for the token (bigger requests get 413)."""

Reject = Callable[[Request], Awaitable[Response]]


class CSRFMiddleware:
    """Refuse unsafe requests without the session's CSRF token (see module doc)."""

    def __init__(self, app: ASGIApp, on_reject: Reject | None = None) -> None:
        self.app = app
        self.on_reject = on_reject

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                await PlainTextResponse("请求太大 / request too large", 413)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        request = Request(scope, replay)
        expected = scope.get("session", {}).get("csrf")
        token = request.headers.get(HEADER)
        if token is None:
            token = await _form_token(request)
        replayed = False
        if (isinstance(expected, str) and expected and isinstance(token, str)
                and hmac.compare_digest(token.encode(), expected.encode())):
            await self.app(scope, replay, send)
            return
        if self.on_reject is not None:
            response = await self.on_reject(request)
        else:
            response = PlainTextResponse("CSRF 校验失败 / CSRF check failed", 403)
        await response(scope, replay, send)


async def _form_token(request: Request) -> str | None:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return None
    try:
        async with request.form() as form:
            value = form.get(FIELD)
    except Exception:  # noqa: BLE001  (a malformed body has no token: refused below)
        return None
    return value if isinstance(value, str) else None
