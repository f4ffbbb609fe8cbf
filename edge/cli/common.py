"""Shared CLI plumbing: one-line errors, opening the station store, plain-text tables."""

from __future__ import annotations

import functools
import sqlite3
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from edge.errors import EdgeError
from edge.store import Store, open_store

P = ParamSpec("P")
R = TypeVar("R")


class UserError(click.ClickException):
    """A one-line error for the operator: ``错误 / error: …`` on stderr, exit 1."""

    def show(self, file: Any = None) -> None:
        click.echo(f"错误 / error: {self.format_message()}", err=True)


class BadArguments(UserError):
    """A usage error in one line; exit status 2 like click's own usage errors."""

    exit_code = 2


def friendly(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn edge, SQLite and OS errors raised by a command into one ``UserError`` line."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except click.ClickException:
            raise
        except EdgeError as err:
            raise UserError(str(err).splitlines()[0]) from err
        except sqlite3.DatabaseError as err:
            raise UserError(f"数据库错误（文件损坏或不是数据库？） / database error: {err}") from err
        except OSError as err:
            where = f": {err.filename}" if err.filename else ""
            raise UserError(f"{err.strerror or err}{where}") from err

    return wrapper


def db_path(ctx: click.Context) -> Path:
    """The ``--db`` given to the group (or its default)."""
    obj = ctx.find_root().obj or {}
    path = obj.get("db_path")
    if path is None:
        from edge.__main__ import default_db

        path = default_db()
    return Path(path)


@contextmanager
def station(ctx: click.Context, *, must_exist: bool = True,
            station_id: str | None = None) -> Iterator[Store]:
    """Open the station store for a command, closing it afterwards.

    With ``must_exist`` a missing database is an error telling the user to run ``init``.
    """
    path = db_path(ctx)
    if must_exist and not path.exists():
        raise UserError(f"数据库不存在，请先运行 init / no station database at {path}; run init first")
    obj = ctx.find_root().obj or {}
    tracer = (lambda sql, params: click.echo(f"SQL: {sql} {params!r}", err=True)) \
        if obj.get("debug_sql") else None
    try:
        store = open_store(path, station_id=station_id, tracer=tracer)
    except sqlite3.DatabaseError as err:
        raise UserError(f"无法打开数据库（文件损坏或不是数据库） / cannot open database {path}: {err}") from err
    try:
        yield store
    finally:
        store.close()


def require_operator(store: Store, operator_id: str) -> None:
    """Refuse an unknown or inactive operator id."""
    row = store.queries.db.execute(
        "SELECT 1 FROM operators WHERE operator_id = ? AND active = 1", [operator_id]
    ).fetchone()
    if row is None:
        raise UserError(f"未知操作员 / unknown operator: {operator_id}")


def width(text: str) -> int:
    """Display width: CJK wide and full-width characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]],
                 align_right: Sequence[int] = ()) -> str:
    """A plain aligned text table that lines up Chinese text."""
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [width(h) for h in headers]
    for row in cells:
        for i, v in enumerate(row):
            widths[i] = max(widths[i], width(v))

    def line(values: Sequence[str]) -> str:
        out = []
        for i, v in enumerate(values):
            pad = " " * (widths[i] - width(v))
            out.append(pad + v if i in align_right else v + pad)
        return "  ".join(out).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), sep, *(line(r) for r in cells)])


class Command(click.Command):
    """A click command whose usage errors are one line (exit 2) instead of click's three."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as err:
            raise BadArguments(f"参数错误 / bad arguments: {err.format_message()} "
                               f"(--help 查看用法 / see --help)") from err
