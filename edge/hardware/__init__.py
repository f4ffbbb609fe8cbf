"""Devices by URL: ``open_scanner(url)``, ``open_scale(url)``, ``open_printer(url)``.

One string picks a device (like pySerial's ``serial_for_url``); names survive replugging
when they use ``/dev/…/by-id`` paths or ``hwgrep://VID:PID``. The returned object is not
opened yet: use it as a context manager (``with open_scale(url) as scale:``).

Scanners::

    evdev:///dev/input/by-id/usb-…-event-kbd[?grab=1&tab=0]
    serial:///dev/ttyACM0[?baud=9600]          hwgrep://05e0:1200[?baud=9600]
    fake://                                    (FakeScanner)

Scales (``protocol`` = yaohua | toledo | generic; ``stable`` = N equal reads when the
protocol has no flag)::

    serial:///dev/ttyUSB0?baud=9600&protocol=yaohua[&bytesize=8&parity=N&stopbits=1&stable=5&tolerance=0]
    hwgrep://0403:6001?protocol=toledo&bytesize=7&parity=E
    socket://10.0.0.5:8899?protocol=generic    (RS-232-to-Ethernet converter)
    fake://                                    (FakeScale)

Printers::

    tspl+net://10.0.0.9:9100[?status=1&timeout=5]   tspl+usb:///dev/usb/lp0
    tspl+serial:///dev/ttyUSB1?baud=9600[&status=1]
    escpos+net://10.0.0.8:9100[?status=1&timeout=5] escpos+usb://04b8:0202[?status=1]
    escpos+file:///dev/usb/lp1                       escpos+serial:///dev/ttyUSB2?baud=19200
    fake://                                          (FakePrinter)

No device library is imported here: evdev, pySerial and python-escpos load when a
device opens, so ``import edge.hardware`` works without the ``edge-hw`` extra.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from edge.errors import ConfigError
from edge.hardware.ports import Printer, Scale, Scan, Scanner, Weight

__all__ = [
    "Printer",
    "Scale",
    "Scan",
    "Scanner",
    "Weight",
    "open_printer",
    "open_scale",
    "open_scanner",
]

_SERIAL_KEYS = {"baud", "protocol", "bytesize", "parity", "stopbits", "stable", "tolerance"}


def _params(url: str) -> tuple[str, str, str, dict[str, str]]:
    parts = urlsplit(url)
    params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    return parts.scheme.lower(), parts.netloc, parts.path, params


def _int(params: dict[str, str], key: str, default: int, url: str) -> int:
    try:
        return int(params.get(key, default))
    except ValueError:
        raise ConfigError(f"设备地址参数 {key} 不是整数 / device URL parameter {key} is not an integer: {url}") from None


def _flag(params: dict[str, str], key: str, default: bool) -> bool:
    value = params.get(key)
    if value is None:
        return default
    return value.lower() not in ("0", "false", "no", "off", "")


def _serial_port(scheme: str, netloc: str, path: str, params: dict[str, str], url: str) -> str:
    """The pySerial port for a URL: a device path, or the URL minus our own parameters."""
    if scheme == "serial":
        if netloc or not path:
            raise ConfigError(f"串口地址应为 serial:///dev/ttyUSB0 / serial URL must be serial:///dev/…: {url}")
        return path
    rest = "&".join(f"{k}={v}" for k, v in params.items() if k not in _SERIAL_KEYS)
    return f"{scheme}://{netloc}{path}" + (f"?{rest}" if rest else "")


def _hostport(netloc: str, url: str) -> tuple[str, int]:
    host, _, port = netloc.rpartition(":")
    if not host:
        return netloc, 9100
    try:
        return host, int(port)
    except ValueError:
        raise ConfigError(f"端口无效 / bad port in {url}") from None


def open_scanner(url: str) -> Scanner:
    """Build the scanner a URL names (not opened yet)."""
    scheme, netloc, path, params = _params(url)
    if scheme == "evdev":
        from edge.hardware.scanner_evdev import EvdevScanner

        return EvdevScanner(path, grab=_flag(params, "grab", True), tab_terminates=_flag(params, "tab", False))
    if scheme in ("serial", "hwgrep", "socket"):
        from edge.hardware.scanner_serial import SerialScanner

        port = _serial_port(scheme, netloc, path, params, url)
        return SerialScanner(port, baudrate=_int(params, "baud", 9600, url))
    if scheme == "fake":
        from edge.hardware.fakes import FakeScanner

        return FakeScanner()
    raise ConfigError(f"不支持的扫码枪地址 / unsupported scanner URL: {url}")


def open_scale(url: str) -> Scale:
    """Build the scale a URL names (not opened yet)."""
    scheme, netloc, path, params = _params(url)
    if scheme in ("serial", "hwgrep", "socket"):
        from edge.hardware.framing import PROTOCOLS
        from edge.hardware.scale_serial import SerialScale

        protocol = params.get("protocol", "yaohua")
        if protocol not in PROTOCOLS:
            raise ConfigError(
                f"未知电子秤协议 {protocol} / unknown scale protocol {protocol!r} "
                f"(expected {', '.join(PROTOCOLS)}): {url}"
            )
        parity = params.get("parity", "N").upper()
        if parity not in ("N", "E", "O", "M", "S"):
            raise ConfigError(f"校验位无效 / bad parity in {url}")
        return SerialScale(
            _serial_port(scheme, netloc, path, params, url),
            protocol=protocol,
            baudrate=_int(params, "baud", 9600, url),
            bytesize=_int(params, "bytesize", 8, url),
            parity=parity,
            stopbits=_int(params, "stopbits", 1, url),
            stable_count=_int(params, "stable", 5, url),
            tolerance_g=_int(params, "tolerance", 0, url),
        )
    if scheme == "fake":
        from edge.hardware.fakes import FakeScale

        return FakeScale()
    raise ConfigError(f"不支持的电子秤地址 / unsupported scale URL: {url}")


def open_printer(url: str) -> Printer:
    """Build the printer a URL names (not opened yet)."""
    scheme, netloc, path, params = _params(url)
    timeout = float(_int(params, "timeout", 5, url))
    if scheme.startswith("tspl+"):
        from edge.hardware import printer_tspl as t

        kind = scheme.removeprefix("tspl+")
        transport: t.Transport
        if kind == "net":
            host, port = _hostport(netloc, url)
            transport = t.NetTransport(host, port, timeout=timeout)
            default_status = True
        elif kind == "usb":
            transport = t.UsbFileTransport(path)
            default_status = False
        elif kind == "serial":
            transport = t.SerialTransport(path or netloc, baudrate=_int(params, "baud", 9600, url))
            default_status = True
        else:
            raise ConfigError(f"不支持的标签打印机地址 / unsupported label printer URL: {url}")
        return t.TsplPrinter(transport, query_status=_flag(params, "status", default_status))
    if scheme.startswith("escpos+"):
        from edge.hardware.printer_escpos import EscposPrinter

        kind = scheme.removeprefix("escpos+")
        if kind == "net":
            host, port = _hostport(netloc, url)
            return EscposPrinter.network(host, port, timeout=timeout, check_paper=_flag(params, "status", True))
        if kind == "usb":
            try:
                vid, pid = (int(x, 16) for x in netloc.split(":"))
            except ValueError:
                raise ConfigError(f"USB 地址应为 VID:PID / USB URL must be escpos+usb://VID:PID: {url}") from None
            return EscposPrinter.usb(vid, pid, check_paper=_flag(params, "status", True))
        if kind == "file":
            return EscposPrinter.file(path)
        if kind == "serial":
            return EscposPrinter.serial(path or netloc, baudrate=_int(params, "baud", 9600, url))
        raise ConfigError(f"不支持的小票打印机地址 / unsupported receipt printer URL: {url}")
    if scheme == "fake":
        from edge.hardware.fakes import FakePrinter

        return FakePrinter()
    raise ConfigError(f"不支持的打印机地址 / unsupported printer URL: {url}")
