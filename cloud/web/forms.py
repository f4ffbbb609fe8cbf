"""Reading query strings and forms: dates, limits, safe redirect targets."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta

from cloud.errors import Problem
from cloud.web.context import DISPLAY_TZ

TIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d")
"""How a time bound is written: a ``datetime-local`` input, typed by hand, or a day (its
start)."""


class BadInput(ValueError):
    """A filter or form value that cannot be read; ``key`` is the catalogue message."""

    def __init__(self, key: str, field: str) -> None:
        super().__init__(key)
        self.key, self.field = key, field


def text(params: Mapping[str, object], name: str, max_len: int = 200) -> str | None:
    """A trimmed text parameter, ``None`` when absent or empty."""
    value = params.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()[:max_len]
    return value or None


def day_start(params: Mapping[str, object], name: str, *, end: bool = False) -> datetime | None:
    """A ``YYYY-MM-DD`` parameter as the start of that day in China Standard Time (UTC-aware);
    with ``end``, the start of the next day (an inclusive end date as an exclusive bound)."""
    value = text(params, name, 20)
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError as err:
        raise BadInput("filter.bad_date", name) from err
    start = datetime.combine(day, time(), DISPLAY_TZ)
    return start + timedelta(days=1) if end else start


def limit(params: Mapping[str, object], name: str = "limit", default: int = 100,
          maximum: int = 1000) -> int:
    """A row limit between 1 and ``maximum`` (bad values give ``default``)."""
    value = text(params, name, 10)
    if value is None or not value.isdigit():
        return default
    return max(1, min(int(value), maximum))


def safe_next(value: object, default: str = "/") -> str:
    """A redirect target on this site only (a path, never ``//host`` or a full URL)."""
    if (not isinstance(value, str) or not value.startswith("/") or value.startswith("//")
            or "\\" in value or any(ord(ch) < 32 for ch in value)):
        return default
    return value


def china_time(value: str, name: str, problems: list[Problem]) -> datetime | None:
    """A time bound written in China time (:data:`TIME_FORMATS`) as an aware datetime;
    None when empty, or unreadable with the reason added to ``problems`` under ``name``."""
    if not value:
        return None
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=DISPLAY_TZ)
        except ValueError:
            continue
    problems.append(Problem(name, "时间格式应为 YYYY-MM-DD HH:MM",
                            "write the time as YYYY-MM-DD HH:MM"))
    return None
