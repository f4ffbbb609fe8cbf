"""A consistent, copy-free view of a live SQLite database's pages.

Why not ``sqlite3.Connection.backup()`` into a temp file?  It rewrites the whole
database on every cycle: on a Pi with a 1 GB store that is a gigabyte of SD-card
writes every few seconds.  Instead we hold a *read transaction* on our own
connection (which pins a snapshot: checkpoints cannot overwrite database pages our
snapshot still needs, and the WAL cannot be restarted under a reader that uses it),
then read the pages ourselves:

1. the ``-shm`` wal-index header (two copies, compared, like SQLite does) gives
   ``mxFrame`` (last committed frame; every frame up to it is fully written),
   ``nPage``, the salts and ``nBackfill``;
2. WAL frames ``1..mxFrame`` with matching salts are indexed (last frame of a page
   wins); if everything is already backfilled the database file alone is current;
3. a page is read from its WAL frame if it has one, else from the database file.

**POSIX lock trap.** Closing *any* descriptor of a file drops every ``fcntl`` lock
the process holds on it, including SQLite's WAL read lock on ``-shm`` and its locks on
the database file (also those of an application connection in the same process).
So the database and ``-shm`` descriptors are opened once per process and never
closed (:func:`_pinned_fd`); only the ``-wal`` file, which SQLite does not lock, is
opened and closed per view.

The state read is a committed one at least as new as our snapshot, and nothing in it
can change while we hold the transaction.  The salts and ``mxFrame`` are remembered so
the next cycle only needs to hash pages in newly appended frames
(:meth:`PageView.frames_pages`) when it can prove nothing else changed; the rules are in
:mod:`edge.backup.replicator`.  Zero salts mean there is no WAL behind the index (it was
deleted when the last connection closed): that is no WAL generation and proves nothing.
A database in rollback-journal mode works too: the shared lock of our read transaction
keeps the file still.
"""

from __future__ import annotations

import os
import sqlite3
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import BinaryIO

from edge.errors import BackupError

_WAL_HEADER = 32
_FRAME_HEADER = 24


@dataclass(frozen=True)
class WalMark:
    """Where in which WAL generation a view ended."""

    salts: bytes
    """The 8 salt bytes of the WAL generation."""
    mx_frame: int
    """Last committed frame of the view."""


_PINNED: dict[str, tuple[int, int, int]] = {}
_PINNED_LOCK = threading.Lock()


def _pinned_fd(path: str) -> int | None:
    """A read-only descriptor of ``path`` kept open for the life of the process.

    Reopened (the old one closed: its inode is gone, so are any locks on it) only
    when the path now names a different file.  None if the file does not exist.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    with _PINNED_LOCK:
        cached = _PINNED.get(path)
        if cached is not None and (cached[1], cached[2]) == (st.st_dev, st.st_ino):
            return cached[0]
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        _PINNED[path] = (fd, st.st_dev, st.st_ino)
        if cached is not None:
            os.close(cached[0])
        return fd


def _read_shm_header(path: str) -> tuple[int, int, int, bytes, int, int] | None:
    """(mxFrame, nPage, page size, salts, nBackfill, iChange) from ``-shm``, or None."""
    fd = _pinned_fd(path)
    if fd is None:
        return None
    raw = os.pread(fd, 136, 0)
    if len(raw) < 136:
        return None
    for _ in range(100):
        if raw[:48] == raw[48:96]:
            break
        raw = os.pread(fd, 136, 0)
    else:
        raise BackupError("WAL 索引头一直在变 / wal-index header kept changing")
    (version, _unused, change, is_init, _big, sz_page, mx_frame, n_page) = struct.unpack(
        "=IIIBBHII", raw[:24]
    )
    if not is_init or version != 3007000:
        return None
    page_size = (sz_page & 0xFF00) | ((sz_page & 0x0001) << 16)
    salts = raw[32:40]
    (n_backfill,) = struct.unpack("=I", raw[96:100])
    return mx_frame, n_page, page_size, salts, n_backfill, change


class PageView:
    """Read-only pages of one consistent database state; use as a context manager."""

    def __init__(self, db_path: str) -> None:
        self.db_path = db_path
        self._conn = sqlite3.connect(
            f"file:{db_path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
        fd = _pinned_fd(db_path)
        if fd is None:
            raise FileNotFoundError(db_path)
        self._db_fd = fd
        self._wal: BinaryIO | None = None
        self._frames: dict[int, int] = {}
        self._appended: set[int] = set()
        self.mark: WalMark | None = None
        self.page_size = 0
        self.page_count = 0

    # -- lifecycle -------------------------------------------------------
    def open(self) -> PageView:
        """Start the read transaction and index the WAL."""
        try:
            self._conn.execute("BEGIN")
            self._conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as err:
            raise BackupError(f"无法读取数据库 / cannot read database {self.db_path}: {err}") from err
        self.page_size = int(self._conn.execute("PRAGMA page_size").fetchone()[0])
        shm = _read_shm_header(self.db_path + "-shm")
        if shm is not None:
            self._index_wal(*shm)
        if not self._frames:
            self.page_count = self._header_page_count()
        return self

    def close(self) -> None:
        """End the read transaction and close files."""
        try:
            self._conn.execute("COMMIT")
        except sqlite3.Error:
            pass
        self._conn.close()
        if self._wal is not None:
            self._wal.close()

    def __enter__(self) -> PageView:
        return self.open()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- internals ---------------------------------------------------------
    def _header_page_count(self) -> int:
        page1 = self._read_db_page(1)
        size = os.fstat(self._db_fd).st_size // self.page_size
        if len(page1) >= 100 and page1[24:28] == page1[92:96]:
            (n,) = struct.unpack(">I", page1[28:32])
            if n > 0:
                return int(n)
        return size

    def _index_wal(
        self, mx_frame: int, n_page: int, page_size: int, salts: bytes, n_backfill: int, _c: int
    ) -> None:
        self.mark = WalMark(salts, mx_frame)
        if mx_frame == 0:
            return
        if page_size != self.page_size:
            raise BackupError("WAL 页大小与数据库不符 / WAL page size differs from the database")
        try:
            wal = open(self.db_path + "-wal", "rb")
        except FileNotFoundError:
            if n_backfill >= mx_frame:
                return
            raise
        self._wal = wal
        head = wal.read(_WAL_HEADER)
        if n_backfill >= mx_frame:
            # Everything is in the database file already.  The WAL stays open so that
            # frames_pages() can tell which pages those frames held, unless a writer has
            # already restarted it (then frames_pages() answers None: compare every page).
            if len(head) != _WAL_HEADER or head[16:24] != salts:
                wal.close()
                self._wal = None
            return
        if len(head) != _WAL_HEADER or head[16:24] != salts:
            raise BackupError("WAL 与索引不符 / WAL header does not match the wal-index")
        frame_size = _FRAME_HEADER + page_size
        frames: dict[int, int] = {}
        fd = wal.fileno()
        for i in range(mx_frame):
            off = _WAL_HEADER + i * frame_size
            fh = os.pread(fd, 16, off)
            if len(fh) != 16 or fh[8:16] != salts:
                raise BackupError("WAL 帧与索引不符 / WAL frame does not match the wal-index")
            frames[int.from_bytes(fh[:4], "big")] = off + _FRAME_HEADER
        self._frames = frames
        self.page_count = n_page

    def _read_db_page(self, pgno: int) -> bytes:
        return os.pread(self._db_fd, self.page_size, (pgno - 1) * self.page_size)

    # -- public ------------------------------------------------------------
    def page(self, pgno: int) -> bytes:
        """The content of page ``pgno`` in this state (zero-filled past the file end)."""
        off = self._frames.get(pgno)
        if off is not None and self._wal is not None:
            data = os.pread(self._wal.fileno(), self.page_size, off)
        else:
            data = self._read_db_page(pgno)
        if len(data) < self.page_size:
            data = data + b"\x00" * (self.page_size - len(data))
        return data

    def pages(self, first: int = 1, last: int | None = None, chunk: int = 256) -> Iterator[tuple[int, bytes]]:
        """All pages ``first..last`` (default: to the end), reading the file in big chunks."""
        last = self.page_count if last is None else last
        ps = self.page_size
        pgno = first
        while pgno <= last:
            n = min(chunk, last - pgno + 1)
            buf = os.pread(self._db_fd, n * ps, (pgno - 1) * ps)
            view = memoryview(buf)
            for i in range(n):
                p = pgno + i
                if p in self._frames or (i + 1) * ps > len(buf):
                    yield p, self.page(p)
                else:
                    yield p, bytes(view[i * ps : (i + 1) * ps])
            pgno += n

    def frames_pages(self, first: int, last: int) -> set[int] | None:
        """The page numbers held by WAL frames ``first+1..last`` of this view's WAL
        generation, or None when they cannot be read any more (the WAL was restarted
        under a reader that only uses the database file)."""
        if first >= last:
            return set()
        wal = self._wal
        if wal is None or self.mark is None:
            return None
        frame_size = _FRAME_HEADER + self.page_size
        fd = wal.fileno()
        out: set[int] = set()
        for i in range(first, last):
            fh = os.pread(fd, 16, _WAL_HEADER + i * frame_size)
            if len(fh) != 16 or fh[8:16] != self.mark.salts:
                return None
            out.add(int.from_bytes(fh[:4], "big"))
        return out


NO_SALTS = b"\x00" * 8
"""The salts of a wal-index with no WAL behind it (the file was deleted or is empty)."""


def salt1(salts: bytes) -> int:
    """The first WAL salt: SQLite adds one to it each time it restarts the WAL."""
    return int.from_bytes(salts[:4], "big")
