"""Devices by URL, and importing edge.hardware without device libraries."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from edge.errors import ConfigError
from edge.hardware import Printer, Scale, Scanner, open_printer, open_scale, open_scanner
from edge.hardware.fakes import FakePrinter, FakeScale, FakeScanner
from edge.hardware.printer_escpos import EscposPrinter
from edge.hardware.printer_tspl import NetTransport, SerialTransport, TsplPrinter, UsbFileTransport
from edge.hardware.scale_serial import SerialScale
from edge.hardware.scanner_evdev import EvdevScanner
from edge.hardware.scanner_serial import SerialScanner


def test_scale_urls() -> None:
    s = open_scale("serial:///dev/ttyUSB0?baud=4800&protocol=toledo&bytesize=7&parity=E&stable=3")
    assert isinstance(s, SerialScale)
    assert s.link.port == "/dev/ttyUSB0" and s.protocol == "toledo"
    assert s.link.settings == {"baudrate": 4800, "bytesize": 7, "parity": "E", "stopbits": 1}
    h = open_scale("hwgrep://0403:6001?protocol=generic&n=1")
    assert isinstance(h, SerialScale) and h.link.port == "hwgrep://0403:6001?n=1"
    assert isinstance(open_scale("fake://"), FakeScale)


@pytest.mark.parametrize(
    "url",
    ["serial:///dev/ttyUSB0?protocol=nope", "serial:///dev/ttyUSB0?baud=fast", "usb://x", "serial://host/dev"],
)
def test_bad_scale_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        open_scale(url)


def test_scanner_urls() -> None:
    e = open_scanner("evdev:///dev/input/by-id/usb-Datalogic-event-kbd?tab=1")
    assert isinstance(e, EvdevScanner)
    assert e.path == "/dev/input/by-id/usb-Datalogic-event-kbd" and e.decoder.tab_terminates
    assert isinstance(open_scanner("serial:///dev/ttyACM0"), SerialScanner)
    assert isinstance(open_scanner("fake://"), FakeScanner)
    with pytest.raises(ConfigError):
        open_scanner("hid://x")


def test_printer_urls() -> None:
    p = open_printer("tspl+net://10.0.0.9:9100")
    assert isinstance(p, TsplPrinter) and isinstance(p.transport, NetTransport)
    assert (p.transport.host, p.transport.port, p.query_status) == ("10.0.0.9", 9100, True)
    u = open_printer("tspl+usb:///dev/usb/lp0")
    assert isinstance(u, TsplPrinter) and isinstance(u.transport, UsbFileTransport)
    assert u.transport.path == "/dev/usb/lp0" and not u.query_status
    s = open_printer("tspl+serial:///dev/ttyUSB1?baud=115200")
    assert isinstance(s, TsplPrinter) and isinstance(s.transport, SerialTransport)
    assert s.transport.link.settings["baudrate"] == 115200
    e = open_printer("escpos+usb://04b8:0202")
    assert isinstance(e, EscposPrinter) and e.name == "usb 04b8:0202"
    n = open_printer("escpos+net://10.0.0.8")
    assert isinstance(n, EscposPrinter) and n.name == "10.0.0.8:9100"
    assert isinstance(open_printer("fake://"), FakePrinter)
    for bad in ("escpos+usb://epson", "zpl+net://x:9100", "tspl+net://h:port"):
        with pytest.raises(ConfigError):
            open_printer(bad)


@pytest.mark.parametrize(
    ("factory", "url", "port"),
    [
        (open_scanner, "fake://", Scanner),
        (open_scanner, "evdev:///dev/input/event0", Scanner),
        (open_scanner, "serial:///dev/ttyACM0", Scanner),
        (open_scale, "fake://", Scale),
        (open_scale, "serial:///dev/ttyUSB0", Scale),
        (open_printer, "fake://", Printer),
        (open_printer, "tspl+net://h:9100", Printer),
        (open_printer, "tspl+usb:///dev/usb/lp0", Printer),
        (open_printer, "escpos+net://h:9100", Printer),
    ],
)
def test_every_device_implements_its_port(factory: Any, url: str, port: type) -> None:
    assert isinstance(factory(url), port)


def test_import_without_device_libraries() -> None:
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('evdev', 'serial', 'escpos', 'usb'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import edge.hardware, edge.hardware.fakes, edge.hardware.framing\n"
        "import edge.hardware.scale_serial, edge.hardware.scanner_evdev, edge.hardware.printer_tspl\n"
        "import edge.hardware.printer_escpos, edge.printing.labels, edge.printing.receipts\n"
        "from edge.errors import DeviceUnavailable\n"
        "try:\n"
        "    edge.hardware.open_scanner('evdev:///dev/input/event0').open()\n"
        "except DeviceUnavailable as e:\n"
        "    print('ok', e)\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('evdev', 'serial', 'escpos')]\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok ") and "evdev" in out.stdout
