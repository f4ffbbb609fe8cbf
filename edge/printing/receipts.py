"""Packing slips as ESC/POS bytes, rendered with python-escpos's ``Dummy`` printer.

The slip is built into bytes first, so any ``Printer`` (network, USB, file, fake) can
send it. Text goes out as raw GB18030, which printers sold in China print in their
default Chinese mode (docs/specs/edge-devices-sync-backup.md §3.1; escpos's MagicEncode does the same for Hanzi but not
for full-width punctuation, so we encode ourselves). python-escpos is imported when a
slip is built, not when this module is imported.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from edge.errors import DeviceUnavailable


@dataclass(frozen=True, slots=True)
class SlipLine:
    """One item line on the slip."""

    sku: str
    name: str
    qty: int


@dataclass(frozen=True, slots=True)
class PackingSlip:
    """What a packing slip shows."""

    order_no: str
    waybill_no: str
    carrier: str
    receiver_name: str
    lines: Sequence[SlipLine]
    packed_at: str
    """Already formatted local time, e.g. ``"2026-11-23 14:05"``."""
    station: str = ""
    note: str = ""


def columns_of(text: str) -> int:
    """Printed width in columns: ASCII 1, anything else (CJK) 2."""
    return sum(1 if ord(c) < 128 else 2 for c in text)


def item_row(line: SlipLine, columns: int) -> list[str]:
    """``"SKU name"`` left and ``"xQTY"`` right on one row, or two rows when it does not fit."""
    left, right = f"{line.sku} {line.name}", f"x{line.qty}"
    gap = columns - columns_of(left) - columns_of(right)
    if gap >= 1:
        return [left + " " * gap + right]
    return [left, " " * max(0, columns - columns_of(right)) + right]


def _dummy(profile: str | None) -> Any:
    try:
        from escpos.printer import Dummy
    except ImportError as err:  # pragma: no cover - only without the edge-hw extra
        raise DeviceUnavailable(
            "未安装 python-escpos（pip install packline[edge-hw]）/ python-escpos is not installed"
        ) from err
    return Dummy(profile=profile) if profile else Dummy()


def build_packing_slip(slip: PackingSlip, *, columns: int = 32, profile: str | None = None) -> bytes:
    """Render a slip to ESC/POS bytes.

    ``columns`` is the font-A width of the paper: 32 for 58 mm, 48 for 80 mm. Layout:
    ``ESC @``; centred bold double-size title 装箱单; left-aligned normal text with the
    order, carrier and waybill, receiver, time and station; a dashed rule; one row per
    item; a rule; the total; an optional note; a centred CODE128 of the waybill number
    (height 64, module 2, text below); feed and full cut.
    """
    p = _dummy(profile)

    def line(text: str = "") -> None:
        p._raw(text.encode("gb18030") + b"\n")

    p.hw("INIT")
    p.set(bold=True, align="center")
    p.set(custom_size=True, width=2, height=2)
    line("装箱单")
    p.set(custom_size=True, width=1, height=1)
    p.set(bold=False, align="left")
    line(f"订单: {slip.order_no}")
    line(f"快递: {slip.carrier} {slip.waybill_no}")
    line(f"收件人: {slip.receiver_name}")
    line(f"时间: {slip.packed_at}")
    if slip.station:
        line(f"工位: {slip.station}")
    line("-" * columns)
    for item in slip.lines:
        for row in item_row(item, columns):
            line(row)
    line("-" * columns)
    line(f"合计: {sum(i.qty for i in slip.lines)} 件")
    if slip.note:
        line(f"备注: {slip.note}")
    with contextlib.redirect_stdout(io.StringIO()):  # escpos prints which renderer it used
        p.barcode("{B" + slip.waybill_no, "CODE128", height=64, width=2, pos="BELOW", align_ct=True)
    p.cut()
    output: bytes = p.output
    return output


@dataclass(frozen=True, slots=True)
class HandoverList:
    """What a courier handover list (交接单) shows, already in the kiosk's language."""

    title: str
    """E.g. ``快递交接单``."""
    header: Sequence[str]
    """Courier, batch, station, time, operator: one line each."""
    rows: Sequence[tuple[str, str]]
    """(waybill, order number) of each parcel handed over."""
    counts: Sequence[str]
    """The per-courier counts: expected, handed over, not handed over."""
    missing: Sequence[str]
    """Waybills shipped but not handed over (listed under the counts), may be empty."""
    signature: Sequence[str]
    """The signature lines (courier, operator), each ending in a rule to sign on."""
    barcode: str
    """The batch id, printed as CODE128 at the bottom."""


def build_handover_list(doc: HandoverList, *, columns: int = 32,
                        profile: str | None = None) -> bytes:
    """Render a handover list to ESC/POS bytes: ``ESC @``; the centred bold double-size
    title; the header lines; a dashed rule; one row per parcel (``n. waybill`` left, the
    order number right, two rows when it does not fit); a rule; the counts; the missing
    waybills; two blank lines and each signature line; a centred CODE128 of the batch id;
    feed and full cut."""
    p = _dummy(profile)

    def line(text: str = "") -> None:
        p._raw(text.encode("gb18030") + b"\n")

    p.hw("INIT")
    p.set(bold=True, align="center")
    p.set(custom_size=True, width=2, height=2)
    line(doc.title)
    p.set(custom_size=True, width=1, height=1)
    p.set(bold=False, align="left")
    for text in doc.header:
        line(text)
    line("-" * columns)
    for n, (waybill, order_no) in enumerate(doc.rows, start=1):
        left, right = f"{n}. {waybill}", order_no
        gap = columns - columns_of(left) - columns_of(right)
        if gap >= 1:
            line(left + " " * gap + right)
        else:
            line(left)
            line(" " * max(0, columns - columns_of(right)) + right)
    line("-" * columns)
    p.set(bold=True)
    for text in doc.counts:
        line(text)
    p.set(bold=False)
    for waybill in doc.missing:
        line(f"  ! {waybill}")
    for text in doc.signature:
        line()
        line()
        line(text)
    line()
    with contextlib.redirect_stdout(io.StringIO()):  # escpos prints which renderer it used
        p.barcode("{B" + doc.barcode, "CODE128", height=64, width=2, pos="BELOW", align_ct=True)
    p.cut()
    output: bytes = p.output
    return output
