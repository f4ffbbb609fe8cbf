"""The runner's hold on the database: its own connection and a read transaction, as
litestream keeps ``rtx`` on ``_litestream_seq``.

Why: SQLite checkpoints and **deletes** the WAL when the last connection closes, and a
checkpoint may copy frames into the database file and restart the WAL at any time.  Either
hides from a reader of the WAL which pages changed.  While the runner holds

- a connection (``conn``, ``wal_autocheckpoint=0``: it only checkpoints when told), the
  application's connections are never the last one, so the WAL is never deleted;
- a read transaction (the *pin*: the :class:`~edge.backup.dbread.PageView` of the state it
  last captured), no checkpoint copies a frame newer than that state into the database
  file, and the WAL cannot be restarted under it while it reads the WAL (read mark > 0);
  if it reads the database file only (read mark 0, everything was checkpointed) no
  checkpoint can run at all, so a restart leaves the database file equal to that state.

A new pin is always opened before the old one is closed, so the hold is never let go
between captures.  The application keeps SQLite's default autocheckpoint (PASSIVE, it
cannot pass the pin); the runner adds its own PASSIVE checkpoint after each capture once
the WAL is long, and lets go of its pin only for a TRUNCATE when the WAL grew very large
(after the captured pages are in the spool), accepting that the next capture compares
every page.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3

from edge.backup.dbread import PageView
from edge.errors import BackupError

log = logging.getLogger(__name__)

_WAL_HEADER, _FRAME_HEADER = 32, 24


class WalGuard:
    """A connection and a pinned read transaction on one database."""

    def __init__(self, db_path: str, *, busy_timeout_ms: int = 2000) -> None:
        self.db_path = db_path
        self.busy_timeout_ms = busy_timeout_ms
        self.conn: sqlite3.Connection | None = None
        """The runner's read-write connection (checkpoints, the lineage row)."""
        self.pin: PageView | None = None
        """The read transaction held between captures."""
        self.pin_txid: int | None = None
        """The TXID whose state the pin shows (None when unknown)."""
        self.releases = 0
        """Times the pin was let go without a successor (the hold was broken)."""

    def connect(self) -> sqlite3.Connection:
        """Open the connection once (the database must exist)."""
        if self.conn is None:
            try:
                conn = sqlite3.connect(f"file:{self.db_path}?mode=rw", uri=True, isolation_level=None,
                                       check_same_thread=False)
                conn.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")
                conn.execute("PRAGMA wal_autocheckpoint=0")
            except sqlite3.Error as err:
                raise BackupError(f"无法打开数据库 / cannot open database {self.db_path}: {err}") from err
            self.conn = conn
        return self.conn

    def hold(self, view: PageView, txid: int | None) -> None:
        """Make ``view`` the pin, then release the previous one (never both gone)."""
        old = self.pin
        self.pin, self.pin_txid = view, txid
        if old is not None and old is not view:
            old.close()

    def repin(self) -> bool:
        """A fresh pin on the newest state (opened before the old one is closed);
        True when it shows the same state as the old pin."""
        old = self.pin
        view = PageView(self.db_path).open()
        same = old is not None and old.mark == view.mark and old.page_count == view.page_count
        self.hold(view, self.pin_txid if same else None)
        return same

    def release(self) -> None:
        """Let go of the pin."""
        if self.pin is not None:
            self.pin.close()
            self.releases += 1
        self.pin, self.pin_txid = None, None

    def checkpoint(self, mode: str) -> tuple[int, int, int]:
        """``PRAGMA wal_checkpoint(MODE)``: (busy, frames in the WAL, frames checkpointed)."""
        if mode not in ("PASSIVE", "TRUNCATE"):
            raise ValueError(mode)
        row = self.connect().execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def checkpoint_after_capture(self, passive_pages: int, truncate_pages: int) -> str | None:
        """Run after a capture is in the spool (the pin shows it): PASSIVE once the WAL has
        ``passive_pages`` frames (then a fresh pin, so the next writer may restart the WAL),
        TRUNCATE once the WAL file is ``truncate_pages`` frames long (the pin is let go for
        it).  Returns the mode run, or None."""
        pin = self.pin
        if pin is None or pin.mark is None or not pin.page_size:
            return None
        try:
            size = os.path.getsize(self.db_path + "-wal")
        except FileNotFoundError:
            return None
        try:
            if (size - _WAL_HEADER) // (_FRAME_HEADER + pin.page_size) >= truncate_pages:
                self.release()  # every reader must be gone, ours too
                try:
                    self.checkpoint("TRUNCATE")
                except sqlite3.Error as err:
                    log.info("backup: TRUNCATE checkpoint failed: %s", err)
                self.hold(PageView(self.db_path).open(), None)
                return "TRUNCATE"
            if pin.mark.mx_frame >= passive_pages:
                _busy, in_wal, done = self.checkpoint("PASSIVE")
                if in_wal >= 0 and done == in_wal:
                    self.repin()
                return "PASSIVE"
        except sqlite3.Error as err:
            log.info("backup: checkpoint skipped: %s", err)
        return None

    def close(self) -> None:
        """Release the pin and close the connection."""
        self.release()
        if self.conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self.conn.close()
            self.conn = None
