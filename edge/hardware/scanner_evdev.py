"""USB HID (keyboard-wedge) barcode scanner read through evdev, with an exclusive grab.

The grab (EVIOCGRAB) keeps the scanner's keystrokes away from the console and from
whichever Textual widget has focus (docs/specs/edge-devices-sync-backup.md §1.1). python-evdev is imported only when the
device opens. Tests inject a device factory (``fakes.FakeEvdevDevice``) because
``/dev/uinput`` may not exist (docs/specs/edge-devices-sync-backup.md §1.2).
"""

from __future__ import annotations

import logging
import select
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol, Self

from edge.errors import DeviceUnavailable
from edge.hardware.framing import KeyDecoder, KeyEventLike
from edge.hardware.ports import Scan

log = logging.getLogger(__name__)


class EvdevDeviceLike(Protocol):
    """The part of ``evdev.InputDevice`` the adapter uses."""

    @property
    def fd(self) -> int: ...
    def read(self) -> Iterable[KeyEventLike]: ...
    def grab(self) -> None: ...
    def ungrab(self) -> None: ...
    def close(self) -> None: ...


def _open_evdev(path: str) -> EvdevDeviceLike:
    try:
        import evdev
    except ImportError as err:  # pragma: no cover - only without the edge-hw extra
        raise DeviceUnavailable(
            "未安装 evdev（pip install packline[edge-hw]）/ python-evdev is not installed"
        ) from err
    device: Any = evdev.InputDevice(path)
    return device  # type: ignore[no-any-return]


class EvdevScanner:
    """A keyboard-wedge scanner at an evdev path such as ``/dev/input/by-id/usb-…-event-kbd``.

    ``open()`` opens and grabs the device and raises DeviceUnavailable when it is missing,
    unreadable (not in the ``input`` group) or grabbed by another process.
    ``scans(timeout)`` is a blocking iterator: it yields each scan, ends after
    ``timeout`` seconds without one (never when None) or on ``close()``, and reopens
    the device after an unplug (``connected`` is False meanwhile).
    """

    def __init__(
        self,
        path: str,
        *,
        grab: bool = True,
        tab_terminates: bool = False,
        reconnect_interval: float = 1.0,
        device_factory: Callable[[str], EvdevDeviceLike] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.path = path
        """The evdev device node (best a stable ``/dev/input/by-id`` link)."""
        self.grab = grab
        """Whether to hold an exclusive grab (always, on a kiosk)."""
        self.decoder = KeyDecoder(tab_terminates=tab_terminates)
        """The pure key decoder (``decoder.dropped`` counts unmapped keys)."""
        self.reconnect_interval = reconnect_interval
        """Seconds between reopen attempts after an unplug."""
        self.last_error = ""
        """The last open or read error, one line."""
        self._factory = device_factory or _open_evdev
        self._clock = clock or (lambda: datetime.now(UTC))
        self._dev: EvdevDeviceLike | None = None
        self._closed = threading.Event()
        self._next_try = 0.0

    @property
    def connected(self) -> bool:
        """Whether the device is open and grabbed now."""
        return self._dev is not None

    def _connect(self) -> None:
        try:
            dev = self._factory(self.path)
        except DeviceUnavailable:
            raise
        except OSError as err:
            raise DeviceUnavailable(
                f"扫码枪无法打开 / cannot open scanner {self.path}: {err.strerror or err}"
            ) from err
        if self.grab:
            try:
                dev.grab()
            except OSError as err:
                dev.close()
                raise DeviceUnavailable(
                    f"扫码枪已被其他程序占用 / scanner {self.path} is grabbed by another process"
                ) from err
        self.decoder.reset()
        self._dev = dev

    def open(self) -> None:
        """Open and grab the device (idempotent)."""
        self._closed.clear()
        if self._dev is None:
            self._connect()

    def _drop(self) -> None:
        dev, self._dev = self._dev, None
        if dev is None:
            return
        for step in (dev.ungrab, dev.close) if self.grab else (dev.close,):
            try:
                step()
            except OSError:
                pass

    def close(self) -> None:
        """Release the grab, close the device and end any ``scans()`` loop."""
        self._closed.set()
        self._drop()

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _reconnect(self) -> bool:
        now = time.monotonic()
        if now < self._next_try:
            return False
        self._next_try = now + self.reconnect_interval
        try:
            self._connect()
        except DeviceUnavailable as err:
            self.last_error = str(err)
            return False
        log.info("scanner %s reconnected", self.path)
        return True

    def scans(self, timeout: float | None = None) -> Iterator[Scan]:
        """Yield scans; stop after ``timeout`` idle seconds or on ``close()``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._closed.is_set():
            left = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
            if left <= 0:
                return
            dev = self._dev
            if dev is None and not self._reconnect():
                time.sleep(left)
                continue
            dev = self._dev
            assert dev is not None
            codes: list[str] = []
            try:
                ready, _, _ = select.select([dev.fd], [], [], left)
                if not ready:
                    continue
                for event in dev.read():
                    code = self.decoder.feed_event(event)
                    if code is not None:
                        codes.append(code)
            except BlockingIOError:
                pass
            except (OSError, ValueError) as err:  # ENODEV after unplug; ValueError: fd closed
                self.last_error = f"扫码枪断开 / scanner disconnected: {err}"
                log.warning("scanner %s lost: %s", self.path, err)
                self._drop()
                self._next_try = time.monotonic() + self.reconnect_interval
            for code in codes:
                yield Scan(code=code, at=self._clock(), source=self.path)
            if codes and timeout is not None:
                deadline = time.monotonic() + timeout
