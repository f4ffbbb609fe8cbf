"""What every route reaches through ``request.app.state.web``: settings, the database, the
clock, the sealer and the templates; and the two ways a route touches the database.

SQLAlchemy is synchronous here: :func:`read` and :func:`write` run a plain function
``fn(conn, ...)`` in Starlette's thread pool inside one transaction, so queries stay
ordinary functions (tested on their own) and the event loop never blocks on the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy.engine import Connection, Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from cloud.config import CloudSettings
from cloud.crypto import Sealer
from cloud.db import write_transaction
from cloud.web.accounts import LoginPolicy
from cloud.web.assets import VendorAssets
from cloud.web.config import DISPLAY_TZ, WebSettings

__all__ = ["DISPLAY_TZ", "WebContext", "client_ip", "read", "web", "write"]

P = ParamSpec("P")
T = TypeVar("T")

@dataclass(frozen=True, slots=True)
class WebContext:
    """The app's dependencies, made once by :func:`cloud.web.app.create_app`."""

    settings: CloudSettings
    web: WebSettings
    engine: Engine
    clock: Callable[[], float]
    sealer: Sealer
    templates: Jinja2Templates
    vendor: VendorAssets

    def now(self) -> datetime:
        """The clock's time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.clock(), UTC)

    def policy(self) -> LoginPolicy:
        """Lock-out and throttling limits from the settings."""
        w = self.web
        return LoginPolicy(
            max_failed_logins=w.max_failed_logins, lockout=timedelta(minutes=w.lockout_minutes),
            ip_max_failures=w.ip_max_failures, ip_window=timedelta(minutes=w.ip_window_minutes))


def web(request: Request) -> WebContext:
    """The app's :class:`WebContext`."""
    ctx: WebContext = request.app.state.web
    return ctx


async def read(request: Request, fn: Callable[Concatenate[Connection, P], T],
               *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``fn(conn, *args, **kwargs)`` in a read transaction, off the event loop."""
    engine = web(request).engine

    def run() -> T:
        with engine.begin() as conn:
            return fn(conn, *args, **kwargs)

    return await run_in_threadpool(run)


async def write(request: Request, fn: Callable[Concatenate[Connection, P], T],
                *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``fn(conn, *args, **kwargs)`` in a write transaction (``BEGIN IMMEDIATE`` on
    SQLite), off the event loop; committed when ``fn`` returns, rolled back if it raises."""
    engine = web(request).engine

    def run() -> T:
        with write_transaction(engine) as conn:
            return fn(conn, *args, **kwargs)

    return await run_in_threadpool(run)


def client_ip(request: Request) -> str:
    """The client's address (behind a proxy, run uvicorn with ``--forwarded-allow-ips``)."""
    return request.client.host if request.client else "unknown"
