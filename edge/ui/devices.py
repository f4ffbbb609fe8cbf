"""Open the kiosk's devices from settings, real or simulated (``--fake-hardware``).

With ``fake_hardware`` the real adapters still run: the scale is ``SerialScale`` reading a
pty ``ScaleSimulator`` (Yaohua frames), the printers are the TSPL and ESC/POS network
adapters talking to ``FakeNetPrinter`` sockets on 127.0.0.1, and a ``FakeScanner`` joins
the keyboard wedge. ``Devices.put_parcel`` drives the simulated scale.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from edge.errors import DeviceError, EdgeError
from edge.hardware import open_printer, open_scale, open_scanner
from edge.hardware.fakes import FakeNetPrinter, FakeScanner, ScaleSimulator
from edge.ui.services import Devices, KioskSettings

log = logging.getLogger(__name__)


def open_devices(settings: KioskSettings) -> Devices:
    """Build and open every configured device. A device that fails to open is left out
    (None) and its error is kept in ``Devices.errors`` for the status bar."""
    devices = Devices()
    urls = {"scanner": settings.scanner_url, "scale": settings.scale_url,
            "label_printer": settings.label_printer_url, "slip_printer": settings.slip_printer_url}
    if settings.fake_hardware:
        fake_scanner = FakeScanner(source="fake")
        devices.fake_scanner = fake_scanner
        if urls["scanner"] is None:
            devices.scanner = fake_scanner
        if urls["scale"] is None:
            sim = ScaleSimulator("yaohua", interval=0.05, settle_frames=4)
            sim.start()
            devices.closers.append(sim.stop)
            devices.put_parcel = sim.put
            devices.remove_parcel = sim.remove
            urls["scale"] = sim.url()
        for name, scheme in (("label_printer", "tspl+net"), ("slip_printer", "escpos+net")):
            if urls[name] is None:
                fake = FakeNetPrinter()
                fake.start()
                devices.closers.append(fake.stop)
                devices.fake_printers[name] = fake
                urls[name] = fake.url(scheme) + "?timeout=2"
    opened: dict[str, Callable[[str], Any]] = {"scanner": open_scanner, "scale": open_scale, "label_printer": open_printer,
              "slip_printer": open_printer}
    for name, url in urls.items():
        if url is None or getattr(devices, name) is not None:
            continue
        try:
            device = opened[name](url)
            device.open()
        except (DeviceError, OSError) as err:
            devices.errors[name] = str(err)
            log.warning("device %s (%s) failed to open: %s", name, url, err)
            continue
        except EdgeError:
            devices.close()
            raise
        setattr(devices, name, device)
    _open_component(settings, devices)
    return devices


def _open_component(settings: KioskSettings, devices: Devices) -> None:
    """The print component, when waybills are routed to one: the configured address, or
    with ``fake_hardware`` and no address a ``FakePrintComponent`` on 127.0.0.1."""
    url = settings.print_component_url
    if url is None and not (settings.fake_hardware and settings.component_carriers):
        return
    from edge.hardware.print_component import FakePrintComponent, PrintComponent

    if url is None:
        fake = FakePrintComponent()
        fake.start()
        devices.closers.append(fake.stop)
        devices.fake_printers["print_component"] = fake
        url = fake.url()
    component = PrintComponent(url, printer=settings.component_printer)
    try:
        component.open()
    except DeviceError as err:
        devices.errors["print_component"] = str(err)
        log.warning("print component (%s) failed to open: %s", url, err)
        return
    devices.print_component = component
