"""BackupRunner: keeps the replica current in a background thread.

It holds its own connection and read transaction on the database for as long as it runs
(:mod:`edge.backup.walguard`), so no other connection's close or checkpoint can hide a
write from it, and it runs the checkpoints itself after each capture.  Idle cost is two
``os.stat`` calls per poll.  When the database or its WAL changes (size or mtime), a
capture follows ``interval`` seconds later (so a burst of moves becomes one file).
Capture keeps working while the target is unreachable (changes wait in the local spool,
each with its own TXID); uploads retry with exponential backoff up to ``max_backoff`` and
catch up in order when the target returns.  When idle and ``verify_interval`` has passed
(and once soon after start) it verifies that the replica restores to the database.

At start it refuses (``refused``; the loop ends) to publish a database into a replica that
holds another database's history (:mod:`edge.backup.lineage`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from edge.backup.health import DEFAULT_VERIFY_INTERVAL
from edge.backup.lineage import ReplicaMismatch
from edge.backup.replica import Target, open_target
from edge.backup.replicator import BackupHealth, Replicator
from edge.errors import BackupError

log = logging.getLogger(__name__)


def _signature(db_path: str) -> tuple[int, ...]:
    sig: list[int] = []
    for suffix in ("", "-wal"):
        try:
            st = os.stat(db_path + suffix)
            sig += [st.st_size, st.st_mtime_ns, st.st_ino]
        except FileNotFoundError:
            sig += [-1, -1, -1]
    return tuple(sig)


class BackupRunner:
    """Runs a :class:`Replicator` continuously; ``start()``/``stop()`` or ``run(stop_event)``."""

    def __init__(
        self,
        db_path: str,
        target: Target | str,
        *,
        interval: float = 3.0,
        poll: float = 0.5,
        snapshot_interval: float = 3600.0,
        retention: float = 24 * 3600.0,
        max_backoff: float = 60.0,
        verify_interval: float = DEFAULT_VERIFY_INTERVAL,
        checkpoint_pages: int = 1000,
        truncate_pages: int = 16384,
        s3_client: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(target, str):
            target = open_target(target, s3_client=s3_client)
        self.replicator = Replicator(
            db_path, target, snapshot_interval=snapshot_interval, retention=retention, clock=clock,
            verify_interval=verify_interval, checkpoint_pages=checkpoint_pages, truncate_pages=truncate_pages,
        )
        self.db_path = db_path
        self.interval = interval
        """Seconds to wait after a detected write before capturing."""
        self.poll = poll
        """Seconds between cheap change checks."""
        self.max_backoff = max_backoff
        """Upper bound of the retry delay after a failure."""
        self.cycles = 0
        """Captures attempted (for tests and the benchmark)."""
        self.refused: ReplicaMismatch | None = None
        """Set when the replica holds another database's history (the loop has ended)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def health(self) -> BackupHealth:
        """Current health.  Never waits for a running capture (a 1 GB snapshot takes a
        while): it reads the replicator's fields as they are, which is safe in CPython."""
        return self.replicator.health()

    def start(self) -> None:
        """Run in a daemon thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, args=(self._stop,), name="backup", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the loop to finish its current step and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _failed(self, err: Exception) -> None:
        msg = str(err) if isinstance(err, BackupError) else f"{type(err).__name__}: {err}"
        with self._lock:
            self.replicator.last_error = msg
        log.warning("backup: %s", msg)

    def run(self, stop: threading.Event) -> None:
        """The loop; returns when ``stop`` is set (or the replica is refused)."""
        r = self.replicator
        r.hold = True
        try:
            self._loop(stop)
        except ReplicaMismatch as err:
            self.refused = err
            self._failed(err)
        finally:
            with self._lock:
                r.close()

    def _loop(self, stop: threading.Event) -> None:
        r = self.replicator
        try:
            with self._lock:
                r.check_replica()
        except ReplicaMismatch:
            raise
        except Exception as err:  # noqa: BLE001 - unreachable now: checked again at capture
            self._failed(err)
        last_sig: tuple[int, ...] | None = None
        dirty_since: float | None = time.monotonic() - self.interval  # first capture at once
        backoff = 0.0
        retry_at = 0.0
        capture_retry_at = 0.0
        while not stop.is_set():
            now = time.monotonic()
            sig = _signature(self.db_path)
            if sig != last_sig:
                last_sig = sig
                if dirty_since is None:
                    dirty_since = now
            due = dirty_since is not None and now - dirty_since >= self.interval
            if (due or r.snapshot_due()) and now >= capture_retry_at:
                try:
                    with self._lock:
                        self.cycles += 1
                        r.capture()
                        r.maybe_checkpoint()
                    dirty_since = None
                except ReplicaMismatch:
                    raise
                except Exception as err:  # noqa: BLE001 - the loop must survive anything
                    self._failed(err)
                    capture_retry_at = now + self.interval
            if now >= retry_at and r.spooled():
                try:
                    with self._lock:
                        r.upload()
                    backoff = 0.0
                except Exception as err:  # noqa: BLE001
                    self._failed(err)
                    backoff = min(self.max_backoff, max(0.5, backoff * 2))
                    retry_at = time.monotonic() + backoff
            if now >= retry_at and not r.spooled() and r.verify_due():
                # against the pinned state of the last capture, even while new writes wait
                try:
                    with self._lock:
                        r.verify_held()
                except Exception as err:  # noqa: BLE001
                    self._failed(err)
                    backoff = min(self.max_backoff, max(0.5, backoff * 2))
                    retry_at = time.monotonic() + backoff
            stop.wait(self.poll)
