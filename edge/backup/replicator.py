"""Turns changes in the live database into LTX files and ships them in order.

One *capture* reads a consistent view (:class:`~edge.backup.dbread.PageView`),
finds the pages whose BLAKE2b-64 hash differs from the hash table kept in the
sidecar directory, and writes them as one incremental LTX file with the next
transaction id (``L0 <N>-<N>``) into a local spool.  When a snapshot is due the same
view also becomes ``L9 <1>-<N>``.  *Upload* ships spooled files to the target in
TXID order, then deletes them; retention prunes old snapshots and the increments
that only they could use.

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
import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from edge.backup import ltx
from edge.backup.dbread import PageView, WalMark
from edge.backup.replica import FileInfo, Target, iter_levels
from edge.errors import BackupError

HASH_SIZE = 8
_ZERO_HASH = b"\x00" * HASH_SIZE


def page_hash(data: bytes) -> bytes:
    """8-byte BLAKE2b of a page (never all zero, so zero means "unknown")."""
    h = hashlib.blake2b(data, digest_size=HASH_SIZE).digest()
    return h if h != _ZERO_HASH else b"\x00" * (HASH_SIZE - 1) + b"\x01"


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

    @property
    def mark(self) -> WalMark | None:
        """The WAL position of the captured state, if any."""
        return WalMark(bytes.fromhex(self.salts), self.mx_frame) if self.salts else None


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

    @property
    def ok(self) -> bool:
        """No error and nothing waiting."""
        return self.last_error is None and self.lag_txids == 0

    def summary(self) -> str:
        """One line, Chinese then English."""
        when = self.last_success_at.strftime("%Y-%m-%d %H:%M:%S UTC") if self.last_success_at else "从未 / never"
        state = "正常 / OK" if self.ok else "落后 / behind"
        line = (
            f"备份 {state}: 已上传 txid {self.uploaded_txid}/{self.txid}, 落后 {self.lag_txids} 个 "
            f"({self.lag_seconds:.0f}s), 上次成功 {when} / last success {when}"
        )
        if self.last_error:
            line += f"; 错误 / error: {self.last_error}"
        return line


@dataclass
class SpoolFile:
    """An LTX file waiting in the spool."""

    level: int
    min_txid: int
    max_txid: int
    path: str
    timestamp_ms: int = 0


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
    bytes_uploaded: int = 0
    """Bytes shipped by this instance."""
    _meta: Meta = field(default_factory=Meta)
    _hashes: bytearray = field(default_factory=bytearray)
    _trusted: bool = False
    _fresh: bool = True

    def __post_init__(self) -> None:
        self.dir = sidecar_dir(self.db_path)
        self.spool = os.path.join(self.dir, "spool")
        os.makedirs(self.spool, exist_ok=True)
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
        except FileNotFoundError:
            self._meta = Meta()
            self._fresh = True
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
        header = ltx.Header(view.page_size, view.page_count, min_txid, max_txid, ts_ms)
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
        _fsync_dir(self.spool)
        return size

    # -- capture -----------------------------------------------------------
    def _remote_max(self) -> int:
        return max((i.max_txid for i in iter_levels(self.target, range(0, 10))), default=0)

    def snapshot_due(self) -> bool:
        """True when no snapshot exists yet or the interval has passed."""
        m = self._meta
        return m.snapshot_txid == 0 or (self.clock() * 1000 - m.snapshot_ms) >= self.snapshot_interval * 1000

    def capture(self, *, force_snapshot: bool = False) -> int | None:
        """Spool the changes since the last capture; return the new TXID or None."""
        if self._fresh:
            # No sidecar: never reuse TXIDs a previous install may have uploaded.
            remote = self._remote_max()
            self._meta.txid = max(self._meta.txid, remote)
            self._meta.uploaded_txid = max(self._meta.uploaded_txid, remote)
            self._fresh = False
        try:
            view = PageView(self.db_path).open()
        except FileNotFoundError as err:
            raise BackupError(f"数据库不存在 / database not found: {self.db_path}") from err
        try:
            return self._capture(view, force_snapshot)
        finally:
            view.close()

    def _capture(self, view: PageView, force_snapshot: bool) -> int | None:
        m = self._meta
        n = view.page_count
        if n == 0:
            return None  # an empty file: nothing to back up yet
        lock = ltx.lock_pgno(view.page_size)
        trusted = self._trusted and m.page_size == view.page_size
        candidates = view.changed_since(m.mark) if trusted else None
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
        if view.mark is not None:
            m.salts, m.mx_frame = view.mark.salts.hex(), view.mark.mx_frame
        else:
            m.salts, m.mx_frame = "", 0
        if (force_snapshot or self.snapshot_due()) and m.snapshot_txid != m.txid:
            self._write_spool(view, ltx.SNAPSHOT_LEVEL, 1, m.txid, range(1, n + 1), now_ms)
            m.snapshot_txid = m.txid
            m.snapshot_ms = now_ms
        self._save_meta()
        return txid

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

    def sync(self, *, force_snapshot: bool = False) -> int | None:
        """Capture then upload; errors are recorded in ``last_error`` and re-raised."""
        try:
            txid = self.capture(force_snapshot=force_snapshot)
            self.upload()
            return txid
        except BackupError as err:
            self.last_error = str(err)
            raise

    def health(self) -> BackupHealth:
        """Current backup health."""
        return compute_health(self._meta, self.spooled(), _redact(self.target.url), self.clock())

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
    last = dt.datetime.fromtimestamp(meta.last_success_ms / 1000, tz=dt.UTC) if meta.last_success_ms else None
    return BackupHealth(
        target=target,
        last_success_at=last,
        lag_seconds=lag_s,
        lag_txids=max(0, txid - meta.uploaded_txid),
        last_error=meta.last_error or None,
        txid=txid,
        uploaded_txid=meta.uploaded_txid,
    )


def read_health(db_path: str, now_s: float | None = None) -> BackupHealth | None:
    """Backup health read from the sidecar without touching it (for the kiosk, the sync
    daemon and ``backup status``: constructing a ``Replicator`` would create directories and
    delete a running backup's ``.tmp`` spool files). None when never backed up."""
    side = sidecar_dir(db_path)
    try:
        with open(os.path.join(side, "meta.json")) as f:
            raw = json.load(f)
        meta = Meta(**{k: v for k, v in raw.items() if k in Meta.__dataclass_fields__})
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as err:
        return BackupHealth(target="-", last_success_at=None, lag_seconds=0.0, lag_txids=0,
                            last_error=f"meta.json: {err}", txid=0, uploaded_txid=0)
    return compute_health(meta, list_spool(os.path.join(side, "spool")), "-",
                          time.time() if now_s is None else now_s)


def _redact(url: str) -> str:
    """Drop anything that looks like a credential from a URL's query."""
    from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

    p = urlparse(url)
    q = [(k, v) for k, v in parse_qsl(p.query) if "secret" not in k.lower() and "key" not in k.lower()]
    return urlunparse(p._replace(query=urlencode(q, safe=":/")))
