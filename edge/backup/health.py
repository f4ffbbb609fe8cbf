"""Backup health: what the runner recorded in its sidecar, read by anyone without side effects.

Green (``ok``) only when nothing failed, nothing waits for upload, and a verification
restore (:mod:`edge.backup.verify`) recently rebuilt the replica equal to the database.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

from edge.backup import ltx
from edge.backup.sidecar import Meta, SpoolFile, list_spool, sidecar_dir
from edge.errors import BackupError

DEFAULT_VERIFY_INTERVAL = 6 * 3600.0
"""Seconds between verification restores unless configured."""
STALE_MARGIN = 600.0
"""A verification is stale after twice its interval plus this margin."""


def _utc(ms: int) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC) if ms else None


@dataclass(frozen=True)
class BackupHealth:
    """Backup state for the kiosk devices screen and for sync to send to the cloud."""

    target: str
    """Replica URL (credentials never appear in it)."""
    last_success_at: dt.datetime | None
    """Last successful upload (UTC)."""
    lag_seconds: float
    """Age of the oldest change not yet uploaded (0 when up to date)."""
    lag_txids: int
    """Captured transactions not yet uploaded."""
    last_error: str | None
    """Last error message, cleared by the next success."""
    txid: int
    """Last captured TXID."""
    uploaded_txid: int
    """Last uploaded TXID."""
    verified_at: dt.datetime | None = None
    """Last verification restore that matched the database (UTC)."""
    verified_txid: int = 0
    """The TXID that verification restored."""
    verify_error: str | None = None
    """Why the last verification failed (None when it matched)."""
    verify_stale: bool = True
    """No matching verification within twice the interval (or never)."""

    @property
    def level(self) -> str:
        """``error`` (a failure, or the replica does not restore to the database), ``warn``
        (behind, or not verified recently) or ``ok``."""
        if self.last_error or self.verify_error:
            return "error"
        if self.lag_txids or self.verify_stale:
            return "warn"
        return "ok"

    @property
    def ok(self) -> bool:
        """No error, nothing waiting, and a recent verification restore matched."""
        return self.level == "ok"

    @property
    def problem(self) -> str | None:
        """The error to show or report (upload/capture first, then verification)."""
        if self.last_error:
            return self.last_error
        return f"验证失败 / verification failed: {self.verify_error}" if self.verify_error else None

    def summary(self) -> str:
        """One line, Chinese then English."""
        when = self.last_success_at.strftime("%Y-%m-%d %H:%M:%S UTC") if self.last_success_at else "从未 / never"
        if self.verify_error:
            state = "验证失败 / verification failed"
        elif self.last_error:
            state = "出错 / failing"
        elif self.lag_txids:
            state = "落后 / behind"
        elif self.verify_stale:
            state = "未验证 / not verified"
        else:
            state = "正常 / OK"
        line = (
            f"备份 {state}: 已上传 txid {self.uploaded_txid}/{self.txid}, 落后 {self.lag_txids} 个 "
            f"({self.lag_seconds:.0f}s), 上次成功 {when} / last success {when}"
        )
        if self.verified_at:
            vt = self.verified_at.strftime("%Y-%m-%d %H:%M:%S UTC")
            line += f"; 恢复验证 / restore verified: txid {self.verified_txid} {vt}"
            if self.verify_stale:
                line += " (过期 / stale)"
        else:
            line += "; 恢复验证 / restore verified: 从未 / never"
        if self.last_error:
            line += f"; 错误 / error: {self.last_error}"
        if self.verify_error:
            line += f"; 验证 / verification: {self.verify_error}"
        return line


def compute_health(meta: Meta, spooled: list[SpoolFile], target: str, now_s: float) -> BackupHealth:
    """Health from the sidecar state: the one rule for the runner and for readers."""
    pending = [s for s in spooled if s.level == 0 and s.max_txid > meta.uploaded_txid]
    txid = max([meta.txid, *(s.max_txid for s in spooled)])
    lag_s = 0.0
    if pending:
        # The runner may upload and delete the file between listing and opening it.
        with contextlib.suppress(OSError, BackupError), open(pending[0].path, "rb") as f:
            ts = ltx.Header.unpack(f.read(ltx.HEADER_SIZE)).timestamp_ms
            lag_s = max(0.0, now_s - ts / 1000)
    interval = meta.verify_interval or DEFAULT_VERIFY_INTERVAL
    stale = not meta.verified_ms or (now_s * 1000 - meta.verified_ms) > (2 * interval + STALE_MARGIN) * 1000
    return BackupHealth(
        target=target,
        last_success_at=_utc(meta.last_success_ms),
        lag_seconds=lag_s,
        lag_txids=max(0, txid - meta.uploaded_txid),
        last_error=meta.last_error or None,
        txid=txid,
        uploaded_txid=meta.uploaded_txid,
        verified_at=_utc(meta.verified_ms),
        verified_txid=meta.verified_txid,
        verify_error=meta.verify_error or None,
        verify_stale=stale,
    )


def load_meta(db_path: str) -> Meta | None:
    """The sidecar's ``meta.json`` (None when never backed up); raises OSError/ValueError."""
    try:
        with open(os.path.join(sidecar_dir(db_path), "meta.json")) as f:
            raw = json.load(f)
    except FileNotFoundError:
        return None
    return Meta(**{k: v for k, v in raw.items() if k in Meta.__dataclass_fields__})


def read_health(db_path: str, now_s: float | None = None) -> BackupHealth | None:
    """Backup health read from the sidecar without touching it (for the kiosk, the sync
    daemon and ``backup status``: constructing a ``Replicator`` would create directories and
    delete a running backup's ``.tmp`` spool files). None when never backed up."""
    try:
        meta = load_meta(db_path)
    except (OSError, ValueError, TypeError) as err:
        return BackupHealth(target="-", last_success_at=None, lag_seconds=0.0, lag_txids=0,
                            last_error=f"meta.json: {err}", txid=0, uploaded_txid=0)
    if meta is None:
        return None
    return compute_health(meta, list_spool(os.path.join(sidecar_dir(db_path), "spool")), "-",
                          time.time() if now_s is None else now_s)


def redact(url: str) -> str:
    """Drop anything that looks like a credential from a URL's query."""
    p = urlparse(url)
    q = [(k, v) for k, v in parse_qsl(p.query) if "secret" not in k.lower() and "key" not in k.lower()]
    return urlunparse(p._replace(query=urlencode(q, safe=":/")))
