"""``ScaleSimulator``: a continuous-output scale on a pseudo-terminal (re-exported by ``fakes``)."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import tty
from typing import Self

from edge.hardware import framing


class ScaleSimulator:
    """A continuous-output scale on a pseudo-terminal, speaking a real frame protocol.

    ``path`` is a stable symlink to the pty slave (like ``/dev/serial/by-id/…``); point
    ``SerialScale`` (or ``serial://{path}?protocol=…``) at it. ``put(grams)`` starts
    ``settle_frames`` unstable frames (changing values; Toledo motion bit / ``US`` header)
    before the weight settles; ``remove()`` puts 0 g. ``bad_frames(n)`` corrupts the
    next n frames' checksums; ``unplug()`` / ``replug()`` remove and recreate the pty.
    """

    def __init__(
        self,
        protocol: str = "yaohua",
        *,
        interval: float = 0.02,
        settle_frames: int = 4,
        decimals: int = 3,
        directory: str | None = None,
    ) -> None:
        if protocol not in framing.PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}")
        self.protocol = protocol
        """Frame protocol written: ``yaohua``, ``toledo`` or ``generic``."""
        self.interval = interval
        """Seconds between frames (real scales: 0.05–0.1)."""
        self.settle_frames = settle_frames
        """Unstable frames after each ``put``."""
        self.decimals = decimals
        """Yaohua only: kg decimal places (3 = 1 g resolution)."""
        self.frames_written = 0
        """Frames written so far (dropped ones excluded)."""
        self._dir = directory or tempfile.mkdtemp(prefix="packline-scale-")
        self._own_dir = directory is None
        self.path = os.path.join(self._dir, "scale")
        """Stable path of the simulated device."""
        self._lock = threading.Lock()
        self._target = 0
        self._settle_left = 0
        self._bad_left = 0
        self._master: int | None = None
        self._slave: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def url(self, **params: object) -> str:
        """The device URL for ``open_scale``, e.g. ``serial:///tmp/…/scale?protocol=yaohua``."""
        query = "&".join([f"protocol={self.protocol}", *(f"{k}={v}" for k, v in params.items())])
        return f"serial://{self.path}?{query}"

    # -- lifecycle
    def start(self) -> None:
        """Create the pty and start sending frames."""
        self.replug()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="scale-simulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sending, remove the pty and the link."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        self.unplug()
        if self._own_dir:
            with contextlib.suppress(OSError):
                os.rmdir(self._dir)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def unplug(self) -> None:
        """Close the pty and remove the link: the reader sees an I/O error."""
        with self._lock:
            self._close_fds()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)

    def replug(self) -> None:
        """Create a fresh pty behind the same ``path``."""
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        tmp = self.path + ".new"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(os.ttyname(slave), tmp)
        with self._lock:
            self._close_fds()
            self._master, self._slave = master, slave
            os.replace(tmp, self.path)

    def _close_fds(self) -> None:
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None

    @property
    def plugged(self) -> bool:
        """Whether the simulated device exists."""
        return self._master is not None

    # -- the parcel
    def put(self, grams: int) -> None:
        """Place a parcel weighing ``grams`` (it settles after ``settle_frames`` frames)."""
        with self._lock:
            self._target = grams
            self._settle_left = self.settle_frames

    def remove(self) -> None:
        """Take the parcel off (settles to 0 g)."""
        self.put(0)

    def shake(self, frames: int = 5) -> None:
        """Disturb the platter (a hand on the parcel): ``frames`` unstable frames, same weight after."""
        with self._lock:
            self._settle_left = max(self._settle_left, frames)

    def bad_frames(self, count: int) -> None:
        """Corrupt the next ``count`` frames (wrong checksum or garbled text)."""
        with self._lock:
            self._bad_left += count

    # -- frames
    def _frame(self, grams: int, stable: bool) -> bytes:
        if self.protocol == "yaohua":
            return framing.encode_yaohua_a9(grams, self.decimals)
        if self.protocol == "toledo":
            return framing.encode_toledo(grams, motion=not stable)
        return framing.encode_generic(grams, stable=stable)

    def _corrupt(self, frame: bytes) -> bytes:
        if self.protocol == "yaohua":
            return frame[:9] + (b"ZZ" if frame[9:11] != b"ZZ" else b"00") + frame[11:]
        if self.protocol == "toledo":
            return frame[:4] + b"12X456" + frame[10:]
        return b"ST,GS,+ 1.2.3xx\r\n"

    def next_frame(self) -> bytes:
        """Advance one frame period and return the bytes a real scale would send."""
        with self._lock:
            target, left = self._target, self._settle_left
            if left > 0:
                self._settle_left -= 1
            bad = self._bad_left > 0
            if bad:
                self._bad_left -= 1
        step = 10 ** (3 - self.decimals) if self.protocol == "yaohua" else 1
        grams = target + left * 7 * step if left > 0 else target
        frame = self._frame(grams, stable=left == 0)
        return self._corrupt(frame) if bad else frame

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            frame = self.next_frame()
            with self._lock:
                master = self._master
                if master is None:
                    continue
                try:
                    os.write(master, frame)
                    self.frames_written += 1
                except (BlockingIOError, OSError):
                    pass  # nobody reading: a real scale's UART transmits into the void
