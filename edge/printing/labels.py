"""Waybill labels as TSPL bytes (``docs/specs/edge-devices-sync-backup.md`` §3.2).

``TsplBuilder`` writes TSPL commands (ASCII, CR LF after each line, text in GB18030 for
the resident Simplified Chinese font ``TSS24.BF2``); ``build_waybill`` lays a waybill out
on 100×180 mm or 76×130 mm stock at 203 or 300 dpi. The result is one complete job for
``Printer.write``. Known limit: ``TSS24.BF2`` is a GB font, so characters outside GBK
(rare name characters) need a rendered ``BITMAP`` instead; that is not done here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

DOTS_PER_MM = {203: 8, 300: 12}
"""Dots per millimetre by resolution (the TSC manual: 203 dpi, 1 mm = 8 dots)."""

SORT_CODE_MUL = 3
"""Magnification of the sort code (大头笔): 72-dot characters, read from across the bench."""
CHINESE_FONT = "TSS24.BF2"
"""Resident Simplified Chinese 24×24 font (GB); ASCII is 12 dots wide, CJK 24."""


@dataclass(frozen=True, slots=True)
class LabelStock:
    """Label size in millimetres and the gap between labels."""

    width_mm: int
    height_mm: int
    gap_mm: int = 2


STOCK_100X180 = LabelStock(100, 180)
"""The common e-waybill size (一联/二联 100×180)."""
STOCK_76X130 = LabelStock(76, 130)
"""The small e-waybill size (76×130)."""


@dataclass(frozen=True, slots=True)
class Bitmap:
    """A 1-bit image in TSPL polarity: MSB first, **bit 1 = white, 0 = black** (prints)."""

    width_bytes: int
    height: int
    data: bytes

    def __post_init__(self) -> None:
        if len(self.data) != self.width_bytes * self.height:
            raise ValueError("bitmap data length must be width_bytes * height")

    @classmethod
    def from_rows(cls, rows: Sequence[str]) -> Bitmap:
        """Build from text rows: ``#`` or ``X`` is black, anything else white; rows are padded to bytes."""
        width = max((len(r) for r in rows), default=0)
        width_bytes = (width + 7) // 8
        out = bytearray()
        for row in rows:
            bits = [c in "#X" for c in row.ljust(width_bytes * 8)]
            for i in range(0, len(bits), 8):
                byte = 0
                for black in bits[i : i + 8]:
                    byte = (byte << 1) | (0 if black else 1)
                out.append(byte)
        return cls(width_bytes, len(rows), bytes(out))

    @classmethod
    def from_image(cls, image: Any) -> Bitmap:
        """Build from a PIL image. PIL's mode ``1`` packs MSB first with 1 = white: TSPL's polarity.

        The width is padded to whole bytes with white (PIL pads with 0, which would print black).
        """
        mono = image.convert("1")
        width, height = mono.size
        width_bytes = (width + 7) // 8
        if width % 8:
            from PIL import Image

            padded = Image.new("1", (width_bytes * 8, height), 1)
            padded.paste(mono, (0, 0))
            mono = padded
        return cls(width_bytes, height, mono.tobytes())


def _quote(text: str) -> str:
    """Map ASCII ``"`` to full-width ``＂``: firmware escapes differ (docs/specs/edge-devices-sync-backup.md §3.2)."""
    return text.replace('"', "＂").replace("\r", " ").replace("\n", " ")


class TsplBuilder:
    """Accumulates TSPL commands; ``to_bytes()`` returns the job. Methods chain."""

    def __init__(self, encoding: str = "gb18030") -> None:
        self.encoding = encoding
        """Text encoding for TEXT content (GB18030, a superset of GBK)."""
        self._parts: list[bytes] = []

    def command(self, line: str) -> Self:
        """Append one command line (CR LF added)."""
        self._parts.append(line.encode(self.encoding) + b"\r\n")
        return self

    def size(self, width_mm: int, height_mm: int) -> Self:
        """``SIZE w mm,h mm`` — the first setup command."""
        return self.command(f"SIZE {width_mm} mm,{height_mm} mm")

    def gap(self, gap_mm: int, offset_mm: int = 0) -> Self:
        """``GAP g mm,o mm``."""
        return self.command(f"GAP {gap_mm} mm,{offset_mm} mm")

    def direction(self, direction: int = 1, mirror: int = 0) -> Self:
        """``DIRECTION d,m``."""
        return self.command(f"DIRECTION {direction},{mirror}")

    def reference(self, x: int = 0, y: int = 0) -> Self:
        """``REFERENCE x,y``."""
        return self.command(f"REFERENCE {x},{y}")

    def density(self, value: int) -> Self:
        """``DENSITY 0..15``."""
        if not 0 <= value <= 15:
            raise ValueError("density must be 0..15")
        return self.command(f"DENSITY {value}")

    def speed(self, value: int) -> Self:
        """``SPEED n``."""
        return self.command(f"SPEED {value}")

    def cls(self) -> Self:
        """``CLS`` — clear the image buffer."""
        return self.command("CLS")

    def text(
        self,
        x: int,
        y: int,
        content: str,
        *,
        font: str = CHINESE_FONT,
        rotation: int = 0,
        xmul: int = 1,
        ymul: int = 1,
    ) -> Self:
        """``TEXT x,y,"font",rotation,xmul,ymul,"content"`` with content in GB18030."""
        return self.command(f'TEXT {x},{y},"{font}",{rotation},{xmul},{ymul},"{_quote(content)}"')

    def barcode(
        self,
        x: int,
        y: int,
        data: str,
        *,
        height: int,
        kind: str = "128",
        human_readable: int = 1,
        rotation: int = 0,
        narrow: int = 2,
        wide: int = 4,
    ) -> Self:
        """``BARCODE x,y,"128",height,human_readable,rotation,narrow,wide,"data"``."""
        if '"' in data or not data.isascii():
            raise ValueError(f"barcode data must be ASCII without quotes: {data!r}")
        return self.command(
            f'BARCODE {x},{y},"{kind}",{height},{human_readable},{rotation},{narrow},{wide},"{data}"'
        )

    def qrcode(
        self, x: int, y: int, data: str, *, ecc: str = "M", cell: int = 6, mode: str = "A", rotation: int = 0
    ) -> Self:
        """``QRCODE x,y,ECC,cell_width,mode,rotation,"data"``."""
        if ecc not in ("L", "M", "Q", "H"):
            raise ValueError("ecc must be L, M, Q or H")
        return self.command(f'QRCODE {x},{y},{ecc},{cell},{mode},{rotation},"{_quote(data)}"')

    def bar(self, x: int, y: int, width: int, height: int) -> Self:
        """``BAR x,y,w,h`` — a filled rectangle (rules and lines)."""
        return self.command(f"BAR {x},{y},{width},{height}")

    def box(self, x1: int, y1: int, x2: int, y2: int, thickness: int) -> Self:
        """``BOX x1,y1,x2,y2,thickness``."""
        return self.command(f"BOX {x1},{y1},{x2},{y2},{thickness}")

    def bitmap(self, x: int, y: int, image: Bitmap, *, mode: int = 0) -> Self:
        """``BITMAP x,y,width_bytes,height,mode,<raw bytes>`` then CR LF."""
        head = f"BITMAP {x},{y},{image.width_bytes},{image.height},{mode},".encode("ascii")
        self._parts.append(head + image.data + b"\r\n")
        return self

    def print_(self, sets: int = 1, copies: int = 1) -> Self:
        """``PRINT sets,copies`` — always last."""
        return self.command(f"PRINT {sets},{copies}")

    def to_bytes(self) -> bytes:
        """The job so far."""
        return b"".join(self._parts)


@dataclass(frozen=True, slots=True)
class WaybillLabel:
    """What a waybill label shows. The receiver's address is printed in full."""

    waybill_no: str
    carrier: str
    sender_name: str
    sender_phone: str
    sender_address: str
    receiver_name: str
    receiver_phone: str
    receiver_address: str
    items_summary: str
    order_no: str
    sequence: str = ""
    """Print sequence shown top right, e.g. ``"3/20"`` (batch position)."""
    sort_code: str = ""
    """Sort code (大头笔), printed large under the barcode when the waybill gave one."""
    package_centre: str = ""
    """Package centre (集包地), printed under the sort code when the waybill gave one."""
    print_time: str = ""
    """When the label was printed (``YYYY-MM-DD HH:MM``), after the order number."""


def text_width(text: str, xmul: int = 1) -> int:
    """Width in dots with the 24-dot font: ASCII 12 dots, anything else 24, times ``xmul``."""
    return sum(12 if ord(c) < 128 else 24 for c in text) * xmul


def wrap(text: str, width: int, xmul: int = 1) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` dots (character by character)."""
    lines: list[str] = []
    current = ""
    for char in text:
        if current and text_width(current + char, xmul) > width:
            lines.append(current)
            current = ""
        current += char
    if current:
        lines.append(current)
    return lines


def build_waybill(
    label: WaybillLabel,
    stock: LabelStock = STOCK_100X180,
    dpi: int = 203,
    *,
    logo: Bitmap | None = None,
    density: int = 10,
    speed: int = 4,
    copies: int = 1,
    max_item_lines: int = 3,
) -> bytes:
    """Lay out a waybill as one TSPL job.

    Layout, with ``d`` dots per mm, margin ``m = 3d``, rule thickness ``3d//8``: carrier
    (2×) top left, sequence (2×) top right with the optional ``logo`` bitmap left of it;
    a rule; CODE128 of the waybill number ``12d`` high (narrow ``d//4``, wide twice that,
    human-readable below); a rule; when the waybill gave them, the sort code (3×, pitch
    ``72 + d``) and "集包地: …" (2×, 60-dot pitch) then a rule; receiver name and phone (2×, 60-dot pitch), receiver
    address in full (1×, 30-dot pitch); sender line and address (1×); a rule; items
    summary (at most ``max_item_lines``, "…" when cut), order number and print time (when
    given) beside a QR code
    of the waybill number (cell ``3d//4``, 25 modules reserved) in the bottom right corner.
    """
    if dpi not in DOTS_PER_MM:
        raise ValueError(f"dpi must be one of {sorted(DOTS_PER_MM)}")
    d = DOTS_PER_MM[dpi]
    width, height = stock.width_mm * d, stock.height_mm * d
    m = 3 * d
    rule = d * 3 // 8
    content_w = width - 2 * m

    b = TsplBuilder()
    b.size(stock.width_mm, stock.height_mm).gap(stock.gap_mm, 0).direction(1, 0).reference(0, 0)
    b.density(density).speed(speed).cls()

    y = m
    b.text(m, y, label.carrier, xmul=2, ymul=2)
    right = width - m
    if label.sequence:
        right -= text_width(label.sequence, 2)
        b.text(right, y, label.sequence, xmul=2, ymul=2)
        right -= d
    header_h = 48
    if logo is not None:
        b.bitmap(right - logo.width_bytes * 8, y, logo)
        header_h = max(header_h, logo.height)
    y += header_h + d
    b.bar(m, y, content_w, rule)
    y += rule + 2 * d

    bar_h = 12 * d
    narrow = d // 4
    b.barcode(m, y, label.waybill_no, height=bar_h, narrow=narrow, wide=2 * narrow)
    y += bar_h + 4 * d
    b.bar(m, y, content_w, rule)
    y += rule + d

    if label.sort_code or label.package_centre:
        if label.sort_code:
            for line in wrap(label.sort_code, content_w, SORT_CODE_MUL):
                b.text(m, y, line, xmul=SORT_CODE_MUL, ymul=SORT_CODE_MUL)
                y += 24 * SORT_CODE_MUL + d
        if label.package_centre:
            for line in wrap(f"集包地: {label.package_centre}", content_w, 2):
                b.text(m, y, line, xmul=2, ymul=2)
                y += 60
        b.bar(m, y, content_w, rule)
        y += rule + d

    for line in wrap(f"收: {label.receiver_name} {label.receiver_phone}", content_w, 2):
        b.text(m, y, line, xmul=2, ymul=2)
        y += 60
    for line in wrap(label.receiver_address, content_w):
        b.text(m, y, line)
        y += 30
    y += d
    for line in wrap(f"寄: {label.sender_name} {label.sender_phone}", content_w):
        b.text(m, y, line)
        y += 30
    for line in wrap(label.sender_address, content_w):
        b.text(m, y, line)
        y += 30
    y += d
    b.bar(m, y, content_w, rule)
    y += rule + d

    cell = d * 3 // 4
    qr_size = 25 * cell
    qr_x, qr_y = width - m - qr_size, height - m - qr_size
    text_w = qr_x - m - d
    items = wrap(f"品名: {label.items_summary}", text_w)
    kept = 30 * (2 if label.print_time else 1)  # the order number (and print time) lines
    room = max(0, (height - m - kept - y) // 30)
    limit = min(max_item_lines, room)
    if len(items) > limit:
        items = items[:limit]
        if items:
            items[-1] = items[-1][:-1] + "…"
    for line in items:
        b.text(m, y, line)
        y += 30
    for line in wrap(f"订单: {label.order_no}", text_w):
        b.text(m, y, line)
        y += 30
    if label.print_time:
        b.text(m, y, f"打印: {label.print_time}")
        y += 30
    b.qrcode(qr_x, qr_y, label.waybill_no, ecc="M", cell=cell)
    b.print_(1, copies)
    return b.to_bytes()


STOCK_60X40 = LabelStock(60, 40)
"""The small goods label (60×40) stuck on items that arrive without a barcode."""


@dataclass(frozen=True, slots=True)
class ItemLabel:
    """What a goods label shows: the code to scan (the SKU's barcode, else the SKU code),
    the SKU and its name."""

    code: str
    sku: str
    name: str


def build_item_label(label: ItemLabel, stock: LabelStock = STOCK_60X40, dpi: int = 203, *,
                     copies: int = 1, density: int = 10, speed: int = 4) -> bytes:
    """Lay out ``copies`` goods labels as one TSPL job.

    Layout, with ``d`` dots per mm and margin ``m = 2d``: the name (1×, one line, "…" when
    cut) at the top; CODE128 of ``code`` ``12d`` high (narrow ``d//4``, wide twice that,
    human-readable below) ``4d`` lower; the SKU (1×) under the human-readable line.
    """
    if dpi not in DOTS_PER_MM:
        raise ValueError(f"dpi must be one of {sorted(DOTS_PER_MM)}")
    if copies < 1:
        raise ValueError("copies must be at least 1")
    d = DOTS_PER_MM[dpi]
    m = 2 * d
    content_w = stock.width_mm * d - 2 * m
    b = TsplBuilder()
    b.size(stock.width_mm, stock.height_mm).gap(stock.gap_mm, 0).direction(1, 0).reference(0, 0)
    b.density(density).speed(speed).cls()
    lines = wrap(label.name, content_w)
    name = lines[0] if lines else ""
    if len(lines) > 1:
        name = name[:-1] + "…"
    b.text(m, m, name)
    y = m + 4 * d
    bar_h = 12 * d
    narrow = d // 4
    b.barcode(m, y, label.code, height=bar_h, narrow=narrow, wide=2 * narrow)
    y += bar_h + 4 * d
    b.text(m, y, f"SKU: {label.sku}")
    b.print_(1, copies)
    return b.to_bytes()
