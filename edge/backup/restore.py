"""Restore a database from a replica without the litestream binary.

The plan follows litestream's ``CalcRestorePlan``: the newest snapshot (level 9) at or
before the target, then the longest contiguous chain of files from levels 0-8, each
starting at most one past the previous file's MaxTXID.  Every file's checksum is
validated before its pages are applied.  A corrupt snapshot makes us try the next
older one; a corrupt increment ends the chain there: the result is the last good
point, and :class:`RestoreResult` says so (``warnings``, ``complete=False``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field

from edge.backup import ltx
from edge.backup.replica import FileInfo, Target, iter_levels
from edge.errors import BackupError, CorruptReplica

Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes total) while restoring."""


@dataclass
class RestoreResult:
    """What a restore produced."""

    path: str
    """The restored database."""
    txid: int
    """TXID of the restored state."""
    timestamp: dt.datetime | None
    """Timestamp of the last applied file."""
    files: list[str] = field(default_factory=list)
    """Applied files as ``<level>/<name>``."""
    warnings: list[str] = field(default_factory=list)
    """Corrupt objects skipped, and what we fell back to."""
    complete: bool = True
    """False when corruption made us stop before the requested point."""


def _ts(info_header: ltx.Header) -> dt.datetime:
    return dt.datetime.fromtimestamp(info_header.timestamp_ms / 1000, tz=dt.UTC)


class _Applier:
    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        self.page_size = 0
        self.commit = 0

    def apply(self, target: Target, info: FileInfo, progress: Callable[[int], None]) -> ltx.Header:
        name = f"L{info.level}/{info.name}"
        with target.open(info) as src:
            dec = ltx.Decoder(src, name=name)
            hdr = dec.header
            if hdr.min_txid != info.min_txid or hdr.max_txid != info.max_txid:
                raise CorruptReplica(f"{name}: 文件头事务号与文件名不符 / header TXIDs do not match the name")
            if self.page_size and hdr.page_size != self.page_size:
                raise CorruptReplica(f"{name}: 页大小改变 / page size changed")
            if hdr.is_snapshot:
                # Stream straight into the file; a bad checksum discards the whole output.
                seen = 0
                for pgno, data in dec.pages():
                    os.pwrite(self.fd, data, (pgno - 1) * hdr.page_size)
                    progress(dec.bytes_read - seen)
                    seen = dec.bytes_read
                progress(max(0, info.size - seen))
            else:
                # Small: validate completely before touching the output.
                pages = list(dec.pages())
                for pgno, data in pages:
                    os.pwrite(self.fd, data, (pgno - 1) * hdr.page_size)
                progress(info.size)
        self.page_size = hdr.page_size
        self.commit = hdr.commit
        os.ftruncate(self.fd, hdr.commit * hdr.page_size)
        return hdr

    def close(self) -> None:
        if self.fd >= 0:
            os.fsync(self.fd)
            os.close(self.fd)
            self.fd = -1


def plan(target: Target, txid: int | None = None, timestamp: dt.datetime | None = None) -> tuple[list[FileInfo], list[FileInfo]]:
    """(snapshots newest first, other files) eligible for the requested point."""

    def before(info: FileInfo) -> bool:
        if txid is not None and info.max_txid > txid:
            return False
        if timestamp is not None:
            hdr = ltx.Header.unpack(target.read_header(info))
            return _ts(hdr) < timestamp
        return True

    snaps = [s for s in target.files(ltx.SNAPSHOT_LEVEL) if before(s)]
    snaps.sort(key=lambda s: s.max_txid, reverse=True)
    rest = [i for i in iter_levels(target, range(0, ltx.SNAPSHOT_LEVEL)) if txid is None or i.max_txid <= txid]
    if timestamp is not None:
        rest = [i for i in rest if before(i)]
    return snaps, rest


def restore(
    target: Target,
    out_path: str,
    *,
    txid: int | None = None,
    timestamp: dt.datetime | None = None,
    progress: Progress | None = None,
    integrity_check: bool = True,
) -> RestoreResult:
    """Rebuild the database at ``out_path`` (must not exist) from ``target``.

    ``txid`` or ``timestamp`` picks a point in time (the newest state at or before it);
    neither means the latest.  Raises BackupError when nothing usable exists.
    """
    if txid is not None and timestamp is not None:
        raise BackupError("不能同时指定 txid 和时间 / give either a TXID or a timestamp, not both")
    if os.path.exists(out_path):
        raise BackupError(f"目标文件已存在 / output already exists: {out_path}")
    tmp = out_path + ".restoring"
    try:
        return _restore(target, out_path, tmp, txid, timestamp, progress, integrity_check)
    except BaseException:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(tmp + suffix)
        raise


def _restore(
    target: Target,
    out_path: str,
    tmp: str,
    txid: int | None,
    timestamp: dt.datetime | None,
    progress: Progress | None,
    integrity_check: bool,
) -> RestoreResult:
    snaps, rest = plan(target, txid, timestamp)
    warnings: list[str] = []
    everything = snaps + rest
    if not everything:
        raise BackupError(f"备份为空 / the replica is empty: {target.url}")
    wanted = txid if txid is not None else max(i.max_txid for i in everything)
    start = snaps[0].max_txid if snaps else 0
    total = sum(s.size for s in snaps[:1]) + sum(i.size for i in rest if i.max_txid > start and i.level == 0)
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, max(total, done))

    attempts: list[FileInfo | None] = [*snaps] if snaps else [None]
    for snap in attempts:
        applier = _Applier(tmp)
        try:
            current = 0
            files: list[str] = []
            last_hdr: ltx.Header | None = None
            try:
                if snap is not None:
                    last_hdr = applier.apply(target, snap, tick)
                    current = snap.max_txid
                    files.append(f"L{snap.level}/{snap.name}")
            except CorruptReplica as err:
                applier.close()
                warnings.append(f"损坏的快照已跳过 / corrupt snapshot skipped: {err}")
                continue
            bad: set[tuple[int, int, int]] = set()
            while True:
                cands = [
                    i for i in rest
                    if i.min_txid <= current + 1 and i.max_txid > current and (i.level, i.min_txid, i.max_txid) not in bad
                ]
                if not cands:
                    break
                # Prefer the longest step, then the widest range, then the higher level.
                cands.sort(key=lambda i: (-i.max_txid, i.min_txid, -i.level))
                nxt = cands[0]
                if current == 0 and nxt.min_txid != 1:
                    break
                try:
                    last_hdr = applier.apply(target, nxt, tick)
                except CorruptReplica as err:
                    bad.add((nxt.level, nxt.min_txid, nxt.max_txid))
                    warnings.append(f"损坏的文件 / corrupt object: {err}")
                    continue
                current = nxt.max_txid
                files.append(f"L{nxt.level}/{nxt.name}")
        except BaseException:
            applier.close()
            raise
        applier.close()
        if last_hdr is None:
            os.remove(tmp)
            continue
        if current < wanted and not warnings:
            os.remove(tmp)
            raise BackupError(f"备份中没有事务 {wanted} / TXID {wanted} is not in the replica (chain ends at {current})")
        if current < wanted:
            warnings.append(
                f"已回退到最后完好的时间点 txid {current} (目标 {wanted}) / "
                f"fell back to the last good point, TXID {current} (wanted {wanted})"
            )
        if integrity_check:
            _check(tmp)
        os.replace(tmp, out_path)
        if progress is not None:
            progress(done, done)
        return RestoreResult(out_path, current, _ts(last_hdr), files, warnings, current >= wanted)
    raise BackupError(
        "备份中没有可用的快照 / no usable snapshot in the replica"
        + (f" ({'; '.join(warnings)})" if warnings else "")
    )


def _check(path: str) -> None:
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.DatabaseError as err:
        raise BackupError(f"恢复的数据库无法打开 / restored database is unreadable: {err}") from err
    finally:
        conn.close()
    if row is None or row[0] != "ok":
        raise BackupError(f"恢复的数据库完整性检查失败 / integrity check failed: {row}")
