"""Scanner adapters: EvdevScanner on synthetic evdev streams, SerialScanner over a pty, FakeScanner."""

from __future__ import annotations

import os
import threading
import time
import tty
from pathlib import Path

import pytest

from edge.errors import DeviceUnavailable
from edge.hardware import open_scanner
from edge.hardware.fakes import FakeEvdevDevice, FakeScanner, key_events
from edge.hardware.scanner_evdev import EvdevScanner
from edge.hardware.scanner_serial import SerialScanner


def test_evdev_scanner_grabs_decodes_and_releases() -> None:
    dev = FakeEvdevDevice()
    scanner = EvdevScanner(dev.path, device_factory=lambda path: dev)
    with scanner:
        assert dev.grabbed
        dev.push(key_events("SF1234567890123") + key_events("JD0001234567-1-1-", terminator="kpenter"))
        codes = [s.code for s in scanner.scans(timeout=0.5)]
        assert codes == ["SF1234567890123", "JD0001234567-1-1-"]
    assert not dev.grabbed and dev.closed


def test_evdev_scanner_refuses_a_device_grabbed_elsewhere() -> None:
    dev = FakeEvdevDevice()
    dev.grab()  # another process holds it
    scanner = EvdevScanner(dev.path, device_factory=lambda path: dev)
    with pytest.raises(DeviceUnavailable, match="grabbed by another process"):
        scanner.open()


def test_evdev_scanner_missing_device_is_unavailable(tmp_path: Path) -> None:
    scanner = open_scanner(f"evdev://{tmp_path}/no-such-event-kbd")
    with pytest.raises(DeviceUnavailable, match="cannot open scanner"):
        scanner.open()


def test_evdev_scanner_reconnects_after_unplug() -> None:
    devices = [FakeEvdevDevice(), FakeEvdevDevice()]
    opened: list[FakeEvdevDevice] = []

    def factory(path: str) -> FakeEvdevDevice:
        dev = devices[len(opened)]
        opened.append(dev)
        return dev

    scanner = EvdevScanner("/dev/input/by-id/x", device_factory=factory, reconnect_interval=0.05)
    with scanner:
        devices[0].push(key_events("A1"))
        first = scanner.scans(timeout=0.3)
        assert next(first).code == "A1"
        devices[0].unplug()
        assert list(first) == []
        assert devices[0].closed and "disconnected" in scanner.last_error
        devices[1].push(key_events("B2"))
        assert [s.code for s in scanner.scans(timeout=1.0)] == ["B2"]
        assert scanner.connected and devices[1].grabbed


def test_close_from_another_thread_ends_scans() -> None:
    dev = FakeEvdevDevice()
    scanner = EvdevScanner(dev.path, device_factory=lambda path: dev)
    scanner.open()
    threading.Timer(0.2, scanner.close).start()
    t0 = time.monotonic()
    assert list(scanner.scans()) == []
    assert time.monotonic() - t0 < 2.0


def test_serial_scanner_over_pty() -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        scanner = open_scanner(f"serial://{os.ttyname(slave)}?baud=9600")
        assert isinstance(scanner, SerialScanner)
        with scanner:
            os.write(master, b"SF1234567890123\r\n(01)0950110153")
            os.write(master, b"0003\r")
            scans = list(scanner.scans(timeout=0.5))
        assert [s.code for s in scans] == ["SF1234567890123", "(01)09501101530003"]
        assert all(s.source == os.ttyname(slave) for s in scans)
    finally:
        os.close(master)
        os.close(slave)


def test_fake_scanner_feed_from_another_thread() -> None:
    scanner = open_scanner("fake://")
    assert isinstance(scanner, FakeScanner)
    with scanner:
        threading.Timer(0.05, scanner.feed, args=("SF1", "SF2")).start()
        assert [s.code for s in scanner.scans(timeout=0.5)] == ["SF1", "SF2"]
        scanner.feed("SF3")
        it = scanner.scans()
        assert next(it).code == "SF3"
        scanner.close()
        assert list(it) == []
