"""A one-shot local OAuth callback for ``shop authorize``: listens on 127.0.0.1, takes the
one redirect that carries ``code`` and the expected ``state``, answers the browser with a
page saying it can be closed, and hands the code back. A redirect with the wrong state (or
an ``error``) is answered and reported; nothing else is accepted."""

from __future__ import annotations

import http.server
import threading
import urllib.parse
from dataclasses import dataclass, field

CALLBACK_PATH = "/packline/callback"
"""The path the platform redirects to (register ``http://127.0.0.1:PORT`` + this)."""


@dataclass
class _Result:
    code: str | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)


class OAuthCallback:
    """``with OAuthCallback(state) as cb: … cb.redirect_uri … cb.wait(timeout)``."""

    def __init__(self, state: str, port: int = 0) -> None:
        self.state = state
        """The ``state`` the authorise URL was given (anything else is refused)."""
        result = _Result()
        self._result = result

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(url.query)
                if url.path != CALLBACK_PATH:
                    self._answer(404, "not found")
                    return
                if query.get("state") != [state]:
                    result.error = "state 不符 / the state does not match"
                elif "code" not in query:
                    result.error = query.get("error_description", query.get("error", ["?"]))[0]
                else:
                    result.code = query["code"][0]
                self._answer(200 if result.code else 400,
                             "授权完成, 可以关闭此页 / authorised: you can close this page"
                             if result.code else f"授权失败 / refused: {result.error}")
                result.done.set()

            def _answer(self, status: int, text: str) -> None:
                body = (f'<!doctype html><meta charset="utf-8"><title>Packline</title>'
                        f"<p>{text}</p>").encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the command says what happened."""

        self._server = http.server.HTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="oauth-callback")

    @property
    def redirect_uri(self) -> str:
        """Where the platform should send the browser back to."""
        return f"http://127.0.0.1:{self._server.server_address[1]}{CALLBACK_PATH}"

    def __enter__(self) -> OAuthCallback:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, timeout: float) -> str:
        """The code, once the browser comes back; ``TimeoutError`` or ``ValueError``."""
        if not self._result.done.wait(timeout):
            raise TimeoutError
        if self._result.code is None:
            raise ValueError(self._result.error or "?")
        return self._result.code
