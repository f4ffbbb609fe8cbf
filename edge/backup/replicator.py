"""Turns changes in the live database into LTX files and ships them in order.

One *capture* reads a consistent view (:class:`~edge.backup.dbread.PageView`), finds the
pages that may have changed since the last capture, hashes them (BLAKE2b-64) against the
hash table kept in the sidecar directory, and writes the changed ones as one incremental
LTX file with the next transaction id (``L0 <N>-<N>``) into a local spool.  When a
snapshot is due the same view also becomes ``L9 <1>-<N>``.  *Upload* ships spooled files
to the target in TXID order, then deletes them; retention prunes old snapshots and the
increments that only they could use.

Which pages may have changed (the bug of issue #10 was trusting the WAL when it could not
be trusted):

- same WAL generation (equal, non-zero salts) and the WAL only grew: the pages of the
  frames appended since; within one generation the database file only changes by copying
  those frames;
- the runner held its read transaction since the last capture (:mod:`edge.backup.walguard`)
  and the WAL was restarted exactly once (first salt + 1) or was empty then: the pages of
  every frame of the new WAL (the pin kept the database file at the captured state);
- anything else (the WAL was deleted because the last connection closed, reset by a
  checkpoint we did not run, restarted more than once, a new sidecar): **every** page is
  hashed and compared with the table of what was shipped, and when that finds a change the
  capture also ships a full snapshot; ``meta.json`` records the reset (``last_reset``).

Crash safety (sidecar ``.<db>-backup/``):

- spool files are written to ``.tmp`` and renamed;
- ``meta.json`` (atomic rename) holds the TXID the hash table describes and a
  ``clean`` flag that is false while ``hashes.bin`` is being patched in place;
- on start, if the meta is dirty or the spool holds a TXID newer than the meta,
  the hash table is not trusted and the next file carries *every* page (a full
  increment is a valid step from any state), so no change can be lost and the
  chain never breaks.  A killed upload leaves no object (S3) or a ``.tmp`` (file);
  the spool still has the file and it is uploaded again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from edge.backup import lineage, ltx
from edge.backup.dbread import NO_SALTS, PageView, salt1
from edge.backup.health import (
    DEFAULT_VERIFY_INTERVAL,
    BackupHealth,
    compute_health,
    read_health,
    redact,
)
from edge.backup.replica import FileInfo, Target, iter_levels
from edge.backup.sidecar import Meta, SpoolFile, fsync_dir, list_spool, sidecar_dir
from edge.backup.verify import compare_restore
from edge.backup.walguard import WalGuard
from edge.errors import BackupError

__all__ = ["BackupHealth", "Meta", "Replicator", "SpoolFile", "list_spool", "page_hash",
           "read_health", "sidecar_dir"]

log = logging.getLogger(__name__)

HASH_SIZE = 8
_ZERO_HASH = b"\x00" * HASH_SIZE


def page_hash(data: bytes) -> bytes:
    """8-byte BLAKE2b of a page (never all zero, so zero means "unknown")."""
    h = hashlib.blake2b(data, digest_size=HASH_SIZE).digest()
    return h if h != _ZERO_HASH else b"\x00" * (HASH_SIZE - 1) + b"\x01"


@dataclass
class Replicator:
    """Captures and uploads one database's changes (no threads; see BackupRunner)."""

    db_path: str
    target: Target
    snapshot_interval: float = 3600.0
    """Seconds between full snapshots (L9)."""
    retention: float = 24 * 3600.0
    """Keep snapshots this long (the newest is always kept)."""
    clock: Callable[[], float] = time.time
    """Wall clock (seconds); injectable for tests."""
    compress: bool = True
    """LZ4-compress pages (literal-only blocks otherwise)."""
    verify_interval: float = DEFAULT_VERIFY_INTERVAL
    """Seconds between verification restores (0: at every sync)."""
    hold: bool = False
    """Keep a connection and the last capture's read transaction between captures (the
    runner); a one-shot sync lets go when it returns."""
    checkpoint_pages: int = 1000
    """With ``hold``: a PASSIVE checkpoint after a capture once the WAL has this many frames."""
    truncate_pages: int = 16384
    """With ``hold``: a TRUNCATE checkpoint once the WAL file is this many frames long."""
    bytes_uploaded: int = 0
    """Bytes shipped by this instance."""
    _meta: Meta = field(default_factory=Meta)
    _hashes: bytearray = field(default_factory=bytearray)
    _trusted: bool = False
    _fresh: bool = True
    _checked: bool = False
    _continuous: bool = False
    _expect_reset: bool = False
    _last_verify: bool | None = None

    def __post_init__(self) -> None:
        self.dir = sidecar_dir(self.db_path)
        self.spool = os.path.join(self.dir, "spool")
        os.makedirs(self.spool, exist_ok=True)
        self.guard = WalGuard(self.db_path)
        self._load()

    @property
    def last_error(self) -> str | None:
        """Last error seen by capture or upload (None after a success); persisted."""
        return self._meta.last_error or None

    @last_error.setter
    def last_error(self, value: str | None) -> None:
        if (value or "") != self._meta.last_error:
            self._meta.last_error = value or ""
            with contextlib.suppress(OSError):
                self._save_meta()

    # -- sidecar -----------------------------------------------------------
    @property
    def meta(self) -> Meta:
        """Current sidecar state (read-only use)."""
        return self._meta

    def _meta_path(self) -> str:
        return os.path.join(self.dir, "meta.json")

    def _hash_path(self) -> str:
        return os.path.join(self.dir, "hashes.bin")

    def _load(self) -> None:
        for name in os.listdir(self.spool):
            if name.endswith(".tmp"):
                os.remove(os.path.join(self.spool, name))
        try:
            with open(self._meta_path()) as f:
                raw = json.load(f)
            self._meta = Meta(**{k: v for k, v in raw.items() if k in Meta.__dataclass_fields__})
            self._fresh = False
        except (OSError, ValueError, TypeError):
            self._meta = Meta()
            self._fresh = True
        try:
            with open(self._hash_path(), "rb") as f:
                self._hashes = bytearray(f.read())
        except FileNotFoundError:
            self._hashes = bytearray()
        spool_max = max((s.max_txid for s in self.spooled()), default=0)
        self._trusted = (
            not self._fresh
            and self._meta.clean
            and spool_max <= self._meta.txid
            and len(self._hashes) == HASH_SIZE * self._meta.page_count
        )
        if spool_max > self._meta.txid:
            self._meta.txid = spool_max

    def _save_meta(self) -> None:
        tmp = self._meta_path() + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self._meta.__dict__, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._meta_path())

    def _save_hashes(self, changed: list[int], full: bool) -> None:
        self._meta.clean = False
        self._save_meta()
        if full:
            tmp = self._hash_path() + ".tmp"
            with open(tmp, "wb") as f:
                f.write(self._hashes)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._hash_path())
        else:
            with open(self._hash_path(), "r+b") as f:
                f.truncate(len(self._hashes))
                for pgno in changed:
                    off = (pgno - 1) * HASH_SIZE
                    f.seek(off)
                    f.write(self._hashes[off : off + HASH_SIZE])
                f.flush()
                os.fsync(f.fileno())
        self._meta.clean = True

    # -- spool -------------------------------------------------------------
    def spooled(self) -> list[SpoolFile]:
        """Spool files in upload order (L0 N before L9 1-N before L0 N+1)."""
        return list_spool(self.spool)

    def _spool_path(self, level: int, min_txid: int, max_txid: int) -> str:
        return os.path.join(self.spool, f"{level}_{ltx.filename(min_txid, max_txid)}")

    def _write_spool(
        self, view: PageView, level: int, min_txid: int, max_txid: int, pages: list[int] | range, ts_ms: int
    ) -> int:
        path = self._spool_path(level, min_txid, max_txid)
        tmp = path + ".tmp"
        node = int(self._meta.lineage, 16) if self._meta.lineage else 0
        header = ltx.Header(view.page_size, view.page_count, min_txid, max_txid, ts_ms, node_id=node)
        lock = ltx.lock_pgno(view.page_size)
        with open(tmp, "wb", buffering=1 << 20) as f:
            enc = ltx.Encoder(f, header, compress=self.compress)
            if isinstance(pages, range):
                source = view.pages(pages.start, pages.stop - 1)
            else:
                source = ((p, view.page(p)) for p in pages)
            for pgno, data in source:
                if pgno != lock:
                    enc.add_page(pgno, data)
            size = enc.close()
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(self.spool)
        return size

    # -- which database ------------------------------------------------------
    def check_replica(self) -> None:
        """Make sure this database may publish into the target (:mod:`edge.backup.lineage`);
        raises :class:`~edge.backup.lineage.ReplicaMismatch` when it holds another history."""
        if not os.path.exists(self.db_path):
            raise BackupError(f"数据库不存在 / database not found: {self.db_path}")
        if self.hold:
            conn = self.guard.connect()
        else:
            try:
                conn = sqlite3.connect(f"file:{self.db_path}?mode=rw", uri=True, isolation_level=None,
                                       timeout=5.0)
            except sqlite3.Error as err:
                raise BackupError(f"无法打开数据库 / cannot open database {self.db_path}: {err}") from err
        try:
            self._check_lineage(conn)
        except sqlite3.Error as err:
            raise BackupError(f"数据库错误 / database error {self.db_path}: {err}") from err
        finally:
            if not self.hold:
                conn.close()
        self._checked = True

    def _check_lineage(self, conn: sqlite3.Connection) -> None:
        m = self._meta
        meta_id = int(m.lineage, 16) if m.lineage else None
        decided = lineage.decide(conn, self.target, meta_id, fresh=self._fresh, shipped=m.txid,
                                 target_url=redact(self.target.url), db_path=self.db_path)
        if decided is None:
            return  # the database this sidecar has been shipping
        lid, remote_max = decided
        # never reuse a TXID that is already in the replica
        m.txid = max(m.txid, remote_max)
        m.uploaded_txid = max(m.uploaded_txid, remote_max)
        if meta_id != lid:
            self._trusted = False  # the hash table does not describe this database
        m.lineage = f"{lid:016x}"
        self._fresh = False
        self._save_meta()

    # -- capture -----------------------------------------------------------
    def snapshot_due(self) -> bool:
        """True when no snapshot exists yet or the interval has passed."""
        m = self._meta
        return m.snapshot_txid == 0 or (self.clock() * 1000 - m.snapshot_ms) >= self.snapshot_interval * 1000

    def capture(self, *, force_snapshot: bool = False) -> int | None:
        """Spool the changes since the last capture; return the new TXID or None."""
        txid, view = self._capture_view(force_snapshot)
        self._settle(view)
        return txid

    def _capture_view(self, force_snapshot: bool) -> tuple[int | None, PageView]:
        if self.hold:
            self.guard.connect()
        if not self._checked or self._fresh:
            self.check_replica()
        try:
            view = PageView(self.db_path).open()
        except FileNotFoundError as err:
            raise BackupError(f"数据库不存在 / database not found: {self.db_path}") from err
        try:
            return self._capture(view, force_snapshot), view
        except BaseException:
            view.close()
            raise

    def _settle(self, view: PageView) -> None:
        """After a capture: the view becomes the pin (hold) or is closed."""
        if self.hold:
            self.guard.hold(view, self._meta.txid)
            self._continuous = True
        else:
            view.close()
            self._continuous = False

    def _candidates(self, view: PageView) -> tuple[set[int] | None, str]:
        """Pages that may differ from the captured state, or None and why we cannot tell."""
        mark, cur = self._meta.mark, view.mark
        if mark is None or cur is None:
            return None, "没有 WAL 位置 / no WAL position to compare"
        if mark.salts == cur.salts and mark.salts != NO_SALTS and cur.mx_frame >= mark.mx_frame:
            pages = view.frames_pages(mark.mx_frame, cur.mx_frame)
            if pages is not None:
                return pages, ""
        elif self._continuous and (
            mark.mx_frame == 0 or (mark.salts != NO_SALTS and salt1(cur.salts) == (salt1(mark.salts) + 1) % 2**32)
        ):
            pages = view.frames_pages(0, cur.mx_frame)
            if pages is not None:
                return pages, ""
        if cur.salts == NO_SALTS:
            return None, ("WAL 已被检查点合并并删除（最后一个连接关闭）/ "
                          "the WAL was checkpointed and deleted (the last connection closed)")
        if cur.salts != mark.salts:
            return None, "WAL 已被重置（盐值改变）/ the WAL was reset (its salts changed)"
        return None, "WAL 变短 / the WAL shrank (reset)"

    def _capture(self, view: PageView, force_snapshot: bool) -> int | None:
        m = self._meta
        n = view.page_count
        if n == 0:
            return None  # an empty file: nothing to back up yet
        lock = ltx.lock_pgno(view.page_size)
        trusted = self._trusted and m.page_size == view.page_size
        candidates, why = self._candidates(view) if trusted else (None, "")
        reset = trusted and candidates is None and not self._expect_reset
        self._expect_reset = False
        old = self._hashes
        new = bytearray(old[: n * HASH_SIZE])
        if len(new) < n * HASH_SIZE:
            new += bytes(n * HASH_SIZE - len(new))
        changed: list[int] = []
        if candidates is None:
            source = view.pages(1, n)
        else:
            source = ((p, view.page(p)) for p in sorted(candidates) if p <= n)
        for pgno, data in source:
            if pgno == lock:
                continue
            h = page_hash(data)
            off = (pgno - 1) * HASH_SIZE
            if old[off : off + HASH_SIZE] != h:
                changed.append(pgno)
                new[off : off + HASH_SIZE] = h
        now_ms = int(self.clock() * 1000)
        txid: int | None = None
        if changed or n != m.page_count or not trusted or m.txid == 0:
            txid = m.txid + 1
            full = not trusted or txid == 1
            pages: list[int] | range = range(1, n + 1) if full else changed
            self._write_spool(view, 0, txid, txid, pages, now_ms)
            self._hashes = new
            m.txid = txid
            m.page_size = view.page_size
            m.page_count = n
            m.last_capture_ms = now_ms
            self._save_hashes(changed, full=full or candidates is None)
            self._trusted = True
        if reset and txid is not None:
            m.last_reset, m.last_reset_ms, m.resets = why, now_ms, m.resets + 1
            log.warning("backup: %s: compared every page, txid %d + snapshot", why, txid)
        if view.mark is not None:
            m.salts, m.mx_frame = view.mark.salts.hex(), view.mark.mx_frame
        else:
            m.salts, m.mx_frame = "", 0
        snap = force_snapshot or self.snapshot_due() or (reset and txid is not None)
        if snap and m.snapshot_txid != m.txid:
            self._write_spool(view, ltx.SNAPSHOT_LEVEL, 1, m.txid, range(1, n + 1), now_ms)
            m.snapshot_txid = m.txid
            m.snapshot_ms = now_ms
        self._save_meta()
        return txid

    def maybe_checkpoint(self) -> str | None:
        """With ``hold``, after a capture: take over checkpointing.  Returns the mode run."""
        if not self.hold:
            return None
        before = self.guard.releases
        try:
            return self.guard.checkpoint_after_capture(self.checkpoint_pages, self.truncate_pages)
        finally:
            if self.guard.releases != before:
                # our pin was let go: the next capture compares every page (no snapshot needed)
                self._continuous, self._expect_reset = False, True

    def close(self) -> None:
        """Let go of the database (pin and connection)."""
        self.guard.close()
        self._continuous = False

    # -- upload ------------------------------------------------------------
    def upload(self) -> int:
        """Ship spooled files in order; return how many were uploaded."""
        done = 0
        uploaded_snapshot = False
        for sf in self.spooled():
            if sf.level == 0 and sf.max_txid <= self._meta.uploaded_txid and self._meta.uploaded_txid:
                os.remove(sf.path)
                continue
            with open(sf.path, "rb") as f:
                hdr = ltx.Header.unpack(f.read(ltx.HEADER_SIZE))
            self.target.put(sf.level, sf.min_txid, sf.max_txid, sf.path, hdr.timestamp_ms)
            self.bytes_uploaded += os.path.getsize(sf.path)
            if sf.level == 0:
                self._meta.uploaded_txid = max(self._meta.uploaded_txid, sf.max_txid)
            self._meta.last_success_ms = int(self.clock() * 1000)
            self._save_meta()
            os.remove(sf.path)
            done += 1
            uploaded_snapshot |= sf.level == ltx.SNAPSHOT_LEVEL
        if uploaded_snapshot:
            self.apply_retention()
        self.last_error = None
        return done

    def apply_retention(self) -> list[FileInfo]:
        """Drop snapshots older than ``retention`` (never the newest) and the
        increments only they could use; a kept snapshot's chain is never touched."""
        snaps = self.target.files(ltx.SNAPSHOT_LEVEL)
        if len(snaps) <= 1:
            return []
        cutoff = self.clock() - self.retention
        kept = [s for s in snaps if s.created is None or s.created.timestamp() >= cutoff]
        if not kept:
            kept = [snaps[-1]]
        oldest = min(s.max_txid for s in kept)
        drop = [s for s in snaps if s.max_txid < oldest]
        drop += [i for i in iter_levels(self.target, range(0, 9)) if i.max_txid <= oldest]
        if drop:
            self.target.delete(drop)
        return drop

    def sync(self, *, force_snapshot: bool = False, verify: bool | None = None) -> int | None:
        """Capture, upload, and (when ``verify`` or, by default, when due) verify a restore
        against the captured state.  Capture/upload errors are recorded in ``last_error``
        and re-raised; a verification's verdict is recorded in the sidecar."""
        try:
            txid, view = self._capture_view(force_snapshot)
            try:
                self.upload()
                if verify or (verify is None and self.verify_due()):
                    self._verify_with(view)
            finally:
                self._settle(view)
            return txid
        except BackupError as err:
            self.last_error = str(err)
            raise

    # -- verification ----------------------------------------------------------
    def verify_due(self) -> bool:
        """Never verified, last one failed, or ``verify_interval`` passed (and no attempt
        within the last minute)."""
        m, now_ms = self._meta, self.clock() * 1000
        if m.verify_attempt_ms and now_ms - m.verify_attempt_ms < min(self.verify_interval, 60.0) * 1000:
            return False
        if m.verify_error or not m.verified_ms:
            return True
        return now_ms - m.verified_ms >= self.verify_interval * 1000

    def verify(self) -> bool | None:
        """Sync, then restore the replica and compare it with the database now.  True: equal;
        False: it differs (recorded; status red); None: could not run (changes waiting).
        An unreachable target raises, like an upload."""
        self.sync(verify=True)
        return self._last_verify

    def verify_held(self) -> bool | None:
        """With ``hold``: verify against the pinned state when it is the last captured TXID
        and everything is uploaded (no new capture; writes since wait for the next one)."""
        pin = self.guard.pin
        if not self.hold or pin is None or self.guard.pin_txid != self._meta.txid:
            return None
        return self._verify_with(pin)

    def _verify_with(self, view: PageView) -> bool | None:
        m = self._meta
        self._last_verify = None
        if m.txid == 0 or m.uploaded_txid != m.txid or any(s.level == 0 for s in self.spooled()):
            return None
        now_ms = int(self.clock() * 1000)
        m.verify_interval = self.verify_interval
        # TargetUnavailable propagates: no verdict, and due again once the target answers
        problem = compare_restore(self.target, m.txid, view, self.dir)
        m.verify_attempt_ms = now_ms
        m.last_error = ""  # the target answered (an unreachable one raised above)
        if problem is None:
            m.verified_ms, m.verified_txid, m.verify_error = now_ms, m.txid, ""
        else:
            m.verify_error = problem
            log.error("backup: verification restore failed: %s", problem)
        self._save_meta()
        self._last_verify = problem is None
        return self._last_verify

    def health(self) -> BackupHealth:
        """Current backup health."""
        return compute_health(self._meta, self.spooled(), redact(self.target.url), self.clock())
