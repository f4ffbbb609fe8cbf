"""The audit log (``audit_log``, append-only): write an entry in the caller's transaction,
read entries back by filter.

Actions written by the web app and the ``user`` CLI: ``login``, ``login.failed``,
``login.throttled``, ``login.refused_locked``, ``logout``, ``user.locked``,
``user.create``, ``user.role``, ``user.enable``, ``user.disable``,
``user.password_reset``, ``user.totp_enable``, ``user.totp_disable``; the product pages
``product.create``, ``product.update``, ``product.cost`` and ``product.price`` (old → new),
``mapping.create``, ``mapping.rule``. Other parts of the cloud write their own
(``catalog.import``, ``stock.adjust``, ...); the audit page (:mod:`cloud.web.audit`) lists
them all. Anything in the cloud may write here; this module imports no web code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud.db.schema import audit_log


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
