"""File adapters of the domain: catalog spreadsheets and the station key file.

``edge.domain`` does no file I/O (its functions take and return bytes and rows); this
module reads and writes the files for the command lines, the kiosk and the cloud:

* :func:`read_table` / :func:`parse_catalog` — read a CSV/XLSX catalog file
  (``edge.domain.catalog.parse_table`` / ``parse_records`` do the rest);
* :func:`export_catalog` — write ``edge.domain.catalog.render_catalog``'s bytes;
* :func:`key_path_for` / :func:`create_key_file` / :func:`read_key_file` — the station's
  PII key (``edge.domain.pii``), mode 0600, never overwritten.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from edge.domain.catalog import (
    CatalogRow,
    ParseResult,
    parse_records,
    parse_table,
    render_catalog,
    table_format,
)
from edge.domain.pii import new_key
from edge.errors import ConfigError, UnreadableFile


def read_table(path: str | Path) -> tuple[list[str], list[tuple[int, list[str]]], str]:
    """(headers, [(line, cells)], encoding) of a CSV or XLSX file's first sheet. Raises
    ``UnreadableFile`` for a missing, unreadable, empty, corrupt or unsupported file."""
    p = Path(path)
    table_format(p.name)  # an unsupported kind of file is refused before it is read
    try:
        data = p.read_bytes()
    except FileNotFoundError as err:
        raise UnreadableFile(f"文件不存在 / no such file: {p}") from err
    except IsADirectoryError as err:
        raise UnreadableFile(f"这是一个目录 / is a directory: {p}") from err
    except PermissionError as err:
        raise UnreadableFile(f"没有权限读取 / permission denied: {p}") from err
    return parse_table(data, p.name)


def parse_catalog(
    path: str | Path,
    *,
    existing_barcodes: Mapping[str, str] | None = None,
    known_locations: Collection[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ParseResult:
    """Read and validate a catalog file (CSV in UTF-8/UTF-8-BOM/GBK, or XLSX); see
    ``edge.domain.catalog.parse_records`` for the arguments and the row report."""
    headers, records, encoding = read_table(path)
    return parse_records(
        headers, records, encoding=encoding, existing_barcodes=existing_barcodes,
        known_locations=known_locations, progress=progress,
    )


def export_catalog(rows: Iterable[Mapping[str, Any] | CatalogRow], path: str | Path) -> int:
    """Write rows as ``path`` (``.csv`` or ``.xlsx``, see
    ``edge.domain.catalog.render_catalog``); returns the number of rows written."""
    p = Path(path)
    data, count = render_catalog(rows, p.name)
    p.write_bytes(data)
    return count


def key_path_for(db_path: str | Path) -> Path:
    """Where a station database keeps its key: ``edge.db`` → ``edge.db.key`` beside it."""
    p = Path(db_path)
    return p.with_name(p.name + ".key")


def create_key_file(path: str | Path) -> bytes:
    """Create the key file (mode 0600, never overwritten) and return its key.

    An existing file is read instead, so ``init`` can run twice.
    """
    p = Path(path)
    if p.exists():
        return read_key_file(p)
    key = new_key()
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key + b"\n")
    return key


def read_key_file(path: str | Path) -> bytes:
    """The key in ``path``; ``ConfigError`` when missing or malformed."""
    p = Path(path)
    try:
        key = p.read_bytes().strip()
    except FileNotFoundError as err:
        raise ConfigError(f"缺少工作站密钥文件 / station key file missing: {p}") from err
    try:
        Fernet(key)
    except ValueError as err:
        raise ConfigError(f"工作站密钥文件损坏 / station key file is malformed: {p}") from err
    return key
