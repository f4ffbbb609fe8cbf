"""The audit log (``audit_log``, append-only): write an entry, filter, export as CSV.

Actions written by the web app and the ``user`` CLI: ``login``, ``login.failed``,
``login.throttled``, ``login.refused_locked``, ``logout``, ``user.locked``,
``user.create``, ``user.role``, ``user.enable``, ``user.disable``,
``user.password_reset``, ``user.totp_enable``, ``user.totp_disable``; the product pages
``product.create``, ``product.update``, ``product.cost`` and ``product.price`` (old → new),
``mapping.create``, ``mapping.rule``. Other parts of the cloud write their own
(``catalog.import``, ``stock.adjust``, ...); the page lists them all.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud.db.schema import audit_log
from cloud.web.config import DISPLAY_TZ
from edge.domain.spreadsheet import protect


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One row of the audit log."""

    id: int
    at: datetime
    actor: str
    action: str
    subject: str | None
    detail: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What the audit page filters by (all optional); ``until`` is exclusive."""

    action: str | None = None
    actor: str | None = None
    subject: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def record(conn: Connection, at: datetime, actor: str, action: str,
           subject: str | None = None, detail: dict[str, Any] | None = None) -> None:
    """Append an entry in the caller's transaction."""
    conn.execute(audit_log.insert().values(
        at=at, actor=actor[:128], action=action[:64],
        subject=subject[:200] if subject is not None else None, detail=detail))


def _where(query: sa.Select[Any], flt: AuditFilter) -> sa.Select[Any]:
    a = audit_log.c
    if flt.action:
        query = query.where(a.action == flt.action)
    if flt.actor:
        query = query.where(a.actor == flt.actor)
    if flt.subject:
        query = query.where(a.subject == flt.subject)
    if flt.since is not None:
        query = query.where(a.at >= flt.since)
    if flt.until is not None:
        query = query.where(a.at < flt.until)
    return query


def entries(conn: Connection, flt: AuditFilter, *, limit: int = 200) -> list[AuditEntry]:
    """Entries matching ``flt``, newest first, at most ``limit``."""
    query = _where(sa.select(audit_log), flt).order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
    return [AuditEntry(r.id, r.at, r.actor, r.action, r.subject, r.detail)
            for r in conn.execute(query.limit(limit))]


def actions(conn: Connection) -> list[str]:
    """Every action that occurs in the log, sorted (for the filter's choices)."""
    return list(conn.execute(sa.select(audit_log.c.action).distinct().order_by(audit_log.c.action))
                .scalars())


def neutralize(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text (``edge.domain.spreadsheet.protect``, as
    the catalog export writes it): a leading ``= + - @`` (or their full-width forms), tab or
    CR gets ``'``."""
    return protect("" if value is None else str(value))


def detail_text(detail: dict[str, Any] | None) -> str:
    """``key=value`` pairs, sorted, for the page and the export."""
    if not detail:
        return ""
    return ", ".join(f"{k}={detail[k]}" for k in sorted(detail))


def to_csv(rows: Iterable[AuditEntry], headers: Sequence[str]) -> str:
    """The entries as CSV (UTF-8 with BOM so Excel reads Chinese; times in China Standard
    Time), every cell neutralised."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralize(h) for h in headers])
    for e in rows:
        writer.writerow([neutralize(v) for v in (
            e.at.astimezone(DISPLAY_TZ).strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.action, e.subject or "",
            detail_text(e.detail))])
    return out.getvalue()
