"""The real TSPL and ESC/POS adapters against FakeNetPrinter on a loopback socket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.errors import PrinterError
from edge.hardware import open_printer
from edge.hardware.fakes import FakeNetPrinter, FakePrinter
from edge.hardware.printer_escpos import EscposPrinter
from edge.hardware.printer_tspl import TsplPrinter, status_message

JOB = b'SIZE 76 mm,130 mm\r\nCLS\r\nTEXT 10,10,"TSS24.BF2",0,1,1,"\xca\xd5"\r\nPRINT 1,1\r\n'
RECEIPT = b"\x1b@\xca\xd5\n\x1bd\x06\x1dV\x00"


@pytest.fixture
def fake() -> Iterator[FakeNetPrinter]:
    with FakeNetPrinter() as f:
        yield f


@pytest.mark.parametrize("scheme", ["tspl+net", "escpos+net"])
def test_job_arrives_byte_exact(fake: FakeNetPrinter, scheme: str) -> None:
    data = JOB if scheme == "tspl+net" else RECEIPT
    with open_printer(fake.url(scheme)) as printer:
        printer.write(data)
        printer.write(data + b"2")
    assert fake.wait_for_jobs(2) == [data, data + b"2"]
    # the adapter asked for status before each job, and that is not part of the job
    expected_query = b"\x1b!?" if scheme == "tspl+net" else b"\x10\x04\x04"
    assert fake.queries == [expected_query, expected_query]


def test_tspl_status_byte_is_remembered(fake: FakeNetPrinter) -> None:
    printer = open_printer(fake.url())
    assert isinstance(printer, TsplPrinter)
    printer.write(JOB)
    assert printer.last_status == 0


@pytest.mark.parametrize("scheme", ["tspl+net", "escpos+net"])
def test_out_of_paper_raises_and_prints_nothing(fake: FakeNetPrinter, scheme: str) -> None:
    fake.set_out_of_paper()
    printer = open_printer(fake.url(scheme))
    with pytest.raises(PrinterError) as err:
        printer.write(JOB)
    assert "缺纸" in str(err.value) and "out of paper" in str(err.value)
    assert fake.jobs == [] and fake.rejected == []
    fake.set_out_of_paper(False)
    printer.write(JOB)
    assert fake.wait_for_jobs(1) == [JOB]


def test_tspl_head_open_is_a_fault(fake: FakeNetPrinter) -> None:
    fake.set_head_open()
    with pytest.raises(PrinterError, match="print head open"):
        open_printer(fake.url()).write(JOB)


@pytest.mark.parametrize("scheme", ["tspl+net", "escpos+net"])
def test_offline_printer_raises_and_recovers(fake: FakeNetPrinter, scheme: str) -> None:
    printer = open_printer(fake.url(scheme))
    fake.set_offline()
    with pytest.raises(PrinterError) as err:
        printer.write(JOB)
    assert "离线" in str(err.value) and "offline" in str(err.value)
    assert isinstance(err.value.__cause__, Exception)
    fake.set_offline(False)
    printer.write(JOB)
    assert fake.wait_for_jobs(1) == [JOB]


@pytest.mark.parametrize("scheme", ["tspl+net", "escpos+net"])
def test_printer_that_hangs_up_raises(fake: FakeNetPrinter, scheme: str) -> None:
    fake.set_hangup()
    with pytest.raises(PrinterError):
        open_printer(fake.url(scheme)).write(JOB * 2000)
    assert fake.jobs == []


def test_tspl_printer_without_status_support_still_prints(fake: FakeNetPrinter) -> None:
    fake.set_silent()
    printer = TsplPrinter(open_printer(fake.url()).transport, status_timeout=0.2)  # type: ignore[attr-defined]
    printer.write(JOB)
    assert fake.wait_for_jobs(1) == [JOB]
    assert printer.last_status is None


def test_status_off_sends_only_the_job(fake: FakeNetPrinter) -> None:
    open_printer(fake.url() + "?status=0").write(JOB)
    assert fake.wait_for_jobs(1) == [JOB]
    assert fake.queries == []


def test_tspl_usb_file_gets_the_bytes(tmp_path: Path) -> None:
    dev = tmp_path / "lp0"
    dev.write_bytes(b"")
    open_printer(f"tspl+usb://{dev}").write(JOB)
    assert dev.read_bytes() == JOB


def test_tspl_usb_enospc_is_out_of_paper() -> None:
    # /dev/full fails every write with ENOSPC, which is how usblp reports paper-out.
    with pytest.raises(PrinterError, match="out of paper"):
        open_printer("tspl+usb:///dev/full").write(JOB)


def test_tspl_usb_missing_device_is_not_connected(tmp_path: Path) -> None:
    with pytest.raises(PrinterError, match="not connected"):
        open_printer(f"tspl+usb://{tmp_path}/nope/lp0").write(JOB)


def test_escpos_file_backend(tmp_path: Path) -> None:
    dev = tmp_path / "lp1"
    dev.write_bytes(b"")
    printer = open_printer(f"escpos+file://{dev}")
    assert isinstance(printer, EscposPrinter)
    printer.write(RECEIPT)
    assert dev.read_bytes() == RECEIPT


def test_status_messages() -> None:
    assert status_message(0x00) is None
    assert status_message(0x20) is None  # printing is not a fault
    assert status_message(0x04) == "缺纸 / out of paper"
    assert status_message(0x05) == "打印头打开 / print head open; 缺纸 / out of paper"


def test_fake_printer_records_and_fails() -> None:
    p = FakePrinter()
    p.write(b"a")
    p.write(b"bc")
    assert p.output == b"abc" and p.jobs == [b"a", b"bc"]
    p.out_of_paper = True
    with pytest.raises(PrinterError, match="out of paper"):
        p.write(b"x")
    p.out_of_paper = False
    p.fail_with(PrinterError("boom"))
    with pytest.raises(PrinterError, match="boom"):
        p.write(b"x")
    assert p.output == b"abc"
