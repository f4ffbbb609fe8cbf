"""The backup's sidecar directory ``.<db>-backup/`` beside the database: ``meta.json``
(what was captured, uploaded and verified), ``hashes.bin`` and the spool of LTX files."""

from __future__ import annotations

import os
from dataclasses import dataclass

from edge.backup import ltx
from edge.backup.dbread import WalMark


def sidecar_dir(db_path: str) -> str:
    """``<dir>/.<name>-backup``, next to the database."""
    d, name = os.path.split(os.path.abspath(db_path))
    return os.path.join(d, f".{name}-backup")


@dataclass
class Meta:
    """What the sidecar remembers between runs (``meta.json``)."""

    txid: int = 0
    """Last TXID captured into the spool (the hash table describes this state)."""
    uploaded_txid: int = 0
    """Last L0 TXID the target has confirmed."""
    page_size: int = 0
    """Page size of the captured state."""
    page_count: int = 0
    """Page count of the captured state."""
    clean: bool = True
    """False while hashes.bin is being patched."""
    salts: str = ""
    """WAL salts (hex) of the captured state's view."""
    mx_frame: int = 0
    """Last WAL frame of the captured state's view."""
    snapshot_txid: int = 0
    """TXID of the last snapshot written to the spool."""
    snapshot_ms: int = 0
    """When that snapshot was taken (ms since epoch)."""
    last_success_ms: int = 0
    """Last successful upload (ms since epoch)."""
    last_capture_ms: int = 0
    """Last capture that produced a file."""
    last_error: str = ""
    """Last error of capture or upload ('' once one succeeds), kept here so the kiosk and
    ``backup status`` (other processes) can show it."""
    lineage: str = ""
    """The database's lineage id (16 hex digits), also in the database and in every LTX
    header's NodeID (:mod:`edge.backup.lineage`)."""
    last_reset: str = ""
    """Why the last capture could not trust the WAL (a reset it did not perform)."""
    last_reset_ms: int = 0
    """When that was."""
    resets: int = 0
    """Captures that found such a reset (each compared every page and shipped a snapshot)."""
    verify_interval: float = 0.0
    """Seconds between verification restores of the runner that wrote this (for staleness)."""
    verify_attempt_ms: int = 0
    """Last verification attempt."""
    verified_ms: int = 0
    """Last verification that restored the replica equal to the database."""
    verified_txid: int = 0
    """The TXID it restored."""
    verify_error: str = ""
    """Why the last verification failed ('' when it succeeded)."""

    @property
    def mark(self) -> WalMark | None:
        """The WAL position of the captured state, if any."""
        return WalMark(bytes.fromhex(self.salts), self.mx_frame) if self.salts else None


@dataclass
class SpoolFile:
    """An LTX file waiting in the spool."""

    level: int
    min_txid: int
    max_txid: int
    path: str
    timestamp_ms: int = 0


def fsync_dir(path: str) -> None:
    """Make a rename in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def list_spool(spool: str) -> list[SpoolFile]:
    """The spool's LTX files in upload order; an absent spool is empty."""
    out = []
    try:
        names = os.listdir(spool)
    except FileNotFoundError:
        return []
    for name in names:
        if not name.endswith(".ltx") or "_" not in name:
            continue
        level_s, rest = name.split("_", 1)
        parsed = ltx.parse_filename(rest)
        if parsed is None or not level_s.isdigit():
            continue
        out.append(SpoolFile(int(level_s), parsed[0], parsed[1], os.path.join(spool, name)))
    out.sort(key=lambda s: (s.max_txid, s.level))
    return out
