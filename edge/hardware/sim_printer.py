"""``FakeNetPrinter``: a raw TCP 9100 printer for the real adapters (re-exported by ``fakes``)."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from typing import Self

TSPL_STATUS_QUERY = b"\x1b!?"
ESCPOS_STATUS_QUERIES = {b"\x10\x04\x01", b"\x10\x04\x02", b"\x10\x04\x03", b"\x10\x04\x04"}


class FakeNetPrinter:
    """A raw TCP 9100 printer on 127.0.0.1 that records what the real adapters send.

    Each connection is one job; ``jobs`` holds the bytes of printed jobs, with status
    queries at the start of a connection answered and left out (they are in
    ``queries``). Control it with ``set_out_of_paper()``, ``set_head_open()``,
    ``set_offline()`` (listener closed: connection refused), ``set_hangup()`` (accepts
    and closes at once) and ``set_silent()`` (never answers status queries).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        """Listening address."""
        self.port = port
        """Listening port (chosen at ``start()`` when 0)."""
        self.jobs: list[bytes] = []
        """Bytes of each job that printed."""
        self.rejected: list[bytes] = []
        """Bytes received while the printer was in a fault state (not printed)."""
        self.queries: list[bytes] = []
        """Status queries received, in order."""
        self.out_of_paper = False
        self.head_open = False
        self.hangup = False
        self.silent = False
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._cond = threading.Condition()

    # -- control
    def set_out_of_paper(self, value: bool = True) -> None:
        """Report paper-out to status queries and do not print received jobs."""
        self.out_of_paper = value

    def set_head_open(self, value: bool = True) -> None:
        """Report the print head open (TSPL status bit 0)."""
        self.head_open = value

    def set_hangup(self, value: bool = True) -> None:
        """Accept connections and close them at once."""
        self.hangup = value

    def set_silent(self, value: bool = True) -> None:
        """Never answer status queries (like firmware without them)."""
        self.silent = value

    def set_offline(self, value: bool = True) -> None:
        """Close the listener (clients get connection refused) or reopen it on the same port."""
        if value:
            self._close_listener()
        elif self._listener is None:
            self._listen()

    def url(self, scheme: str = "tspl+net") -> str:
        """The device URL, e.g. ``tspl+net://127.0.0.1:40123``."""
        return f"{scheme}://{self.host}:{self.port}"

    def wait_for_jobs(self, count: int, timeout: float = 5.0) -> list[bytes]:
        """Wait until ``count`` jobs printed (or timeout) and return a copy of ``jobs``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.jobs) < count and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
            return list(self.jobs)

    # -- lifecycle
    def start(self) -> None:
        """Listen and serve in background threads."""
        self._stop.clear()
        self._listen()

    def stop(self) -> None:
        """Close the listener and join the threads."""
        self._stop.set()
        self._close_listener()
        for t in self._threads:
            t.join(timeout=2.0)
        self._threads.clear()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(8)
        self.port = sock.getsockname()[1]
        self._listener = sock
        t = threading.Thread(target=self._accept_loop, args=(sock,), name="fake-printer", daemon=True)
        t.start()
        self._threads.append(t)

    def _close_listener(self) -> None:
        sock, self._listener = self._listener, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stop.is_set() and self._listener is listener:
            try:
                ready, _, _ = select.select([listener], [], [], 0.05)
                if not ready:
                    continue
                conn, _ = listener.accept()
            except (OSError, ValueError):
                return
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self._threads = [x for x in self._threads if x.is_alive()] + [t]

    def _status_answer(self, query: bytes) -> bytes:
        if query == TSPL_STATUS_QUERY:
            status = (0x01 if self.head_open else 0) | (0x04 if self.out_of_paper else 0)
            return bytes([status])
        if query == b"\x10\x04\x04":  # paper sensor: bits 1,4 fixed; 5,6 paper end
            return bytes([0x72 if self.out_of_paper else 0x12])
        if query == b"\x10\x04\x02":  # offline cause: bit 2 cover open
            return bytes([0x16 if self.head_open else 0x12])
        # DLE EOT 1/3: printer / error status; bit 3 offline
        return bytes([0x1A if (self.out_of_paper or self.head_open) else 0x12])

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            if self.hangup:
                return
            conn.settimeout(0.05)
            buf = bytearray()
            preamble = True
            deadline = time.monotonic() + 10.0
            while not self._stop.is_set() and time.monotonic() < deadline:
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                buf += chunk
                while preamble and buf:
                    query = next(
                        (q for q in (TSPL_STATUS_QUERY, *ESCPOS_STATUS_QUERIES) if buf.startswith(q)),
                        None,
                    )
                    if query is None:
                        if any(q.startswith(bytes(buf)) for q in (TSPL_STATUS_QUERY, *ESCPOS_STATUS_QUERIES)):
                            break  # a query split across reads: wait for the rest
                        preamble = False
                        break
                    del buf[: len(query)]
                    self.queries.append(query)
                    if not self.silent:
                        with contextlib.suppress(OSError):
                            conn.sendall(self._status_answer(query))
            if buf:
                with self._cond:
                    if self.out_of_paper or self.head_open:
                        self.rejected.append(bytes(buf))
                    else:
                        self.jobs.append(bytes(buf))
                    self._cond.notify_all()
