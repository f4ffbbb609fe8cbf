"""A preview image of the station's self-drawn waybill label, for the manager to check a
courier template before printing.

The layout is the station's own (``edge.printing.labels.build_waybill``: the one module of
``edge.printing`` the cloud may import, pure layout with no hardware); its TSPL job is read
back and drawn with Pillow at 203 dpi, text in the Noto Sans CJK font (Debian's
``fonts-noto-cjk``). Known limits: the barcode and QR code are drawn as stand-ins of the
right size and position (bars from the data's bytes, a framed square), not as scannable
symbols; characters are drawn with the CJK font, not the printer's resident ``TSS24.BF2``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy.engine import Connection

from cloud import couriers
from cloud.crypto import Sealer
from cloud.shops import ShopError, load_shop
from edge.printing.labels import (
    STOCK_76X130,
    STOCK_100X180,
    LabelStock,
    WaybillLabel,
    build_waybill,
)

FONT_PATH = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
"""Debian ``fonts-noto-cjk``."""
FONT_INDEX_SC = 2
"""Face of the collection that is Simplified Chinese (Noto Sans CJK SC)."""
FONT_DOTS = 24
"""Height in dots of the printer's 1× font (``TSS24.BF2``): the drawn font's size."""
DPI = 203
"""Preview resolution (the station's printers)."""
DOTS_PER_MM = 8
"""Dots per millimetre at :data:`DPI` (as ``edge.printing.labels.DOTS_PER_MM[203]``)."""
BEIJING = timezone(timedelta(hours=8))
"""Print times on the preview are Beijing time, as the stations print them."""
QR_MODULES = 25
"""Modules the label reserves for the QR code (``build_waybill``)."""


@dataclass(frozen=True)
class Command:
    """A TSPL command of the job: name and comma-separated arguments, quotes removed."""

    name: str
    args: tuple[str, ...]


def _split(text: str) -> tuple[str, ...]:
    args: list[str] = []
    current, quoted = "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            args.append(current)
            current = ""
        else:
            current += char
    args.append(current)
    return tuple(args)


def read_tspl(job: bytes) -> list[Command]:
    """The job's commands (``BITMAP`` skipped with its raw bytes)."""
    out: list[Command] = []
    pos = 0
    while pos < len(job):
        if job.startswith(b"BITMAP ", pos):
            head = pos
            for _ in range(5):
                head = job.index(b",", head) + 1
            _x, _y, wb, h, _m = job[pos + len(b"BITMAP "):head - 1].decode("ascii").split(",")
            pos = head + int(wb) * int(h) + 2
            continue
        end = job.index(b"\r\n", pos)
        name, _, rest = job[pos:end].decode("gb18030").partition(" ")
        out.append(Command(name, _split(rest) if rest else ()))
        pos = end + 2
    return out


def stock_of(template_name: str) -> LabelStock:
    """The label size a template name stands for (76×130, else 100×180)."""
    return STOCK_76X130 if "76" in template_name else STOCK_100X180


def render(job: bytes, stock: LabelStock) -> Image.Image:
    """Draw a waybill job made for ``stock`` at 203 dpi."""
    d = DOTS_PER_MM
    img = Image.new("L", (stock.width_mm * d, stock.height_mm * d), 255)
    draw = ImageDraw.Draw(img)
    fonts: dict[int, ImageFont.FreeTypeFont] = {}

    def font(mul: int) -> ImageFont.FreeTypeFont:
        if mul not in fonts:
            fonts[mul] = ImageFont.truetype(str(FONT_PATH), FONT_DOTS * mul, index=FONT_INDEX_SC)
        return fonts[mul]

    for c in read_tspl(job):
        a = c.args
        if c.name == "TEXT":
            draw.text((int(a[0]), int(a[1])), a[6], fill=0, font=font(int(a[5])))
        elif c.name == "BAR":
            x, y, w, h = (int(v) for v in a[:4])
            draw.rectangle((x, y, x + w - 1, y + h - 1), fill=0)
        elif c.name == "BARCODE":
            x, y, height, narrow, data = int(a[0]), int(a[1]), int(a[3]), int(a[6]), a[8]
            cx = x
            for byte in data.encode("ascii"):  # a stand-in: not a scannable symbol
                for bit in range(8):
                    width = narrow * (2 if byte >> bit & 1 else 1)
                    if bit % 2 == 0:
                        draw.rectangle((cx, y, cx + width - 1, y + height - 1), fill=0)
                    cx += width
            draw.text((x, y + height + 2), data, fill=0, font=font(1))
        elif c.name == "QRCODE":
            x, y, cell = int(a[0]), int(a[1]), int(a[3])
            size = QR_MODULES * cell
            draw.rectangle((x, y, x + size, y + size), outline=0, width=cell)
            draw.text((x + cell * 2, y + size // 2 - FONT_DOTS // 2), "QR", fill=0, font=font(1))
    return img


def preview_png(label: WaybillLabel, stock: LabelStock) -> bytes:
    """The label as the station lays it out on ``stock``, as PNG bytes."""
    out = io.BytesIO()
    render(build_waybill(label, stock, DPI), stock).save(out, format="PNG")
    return out.getvalue()


SAMPLE_RECEIVER = ("张三", "139****0000", "江苏省苏州市姑苏区人民路 1 号")
"""The made-up receiver of the preview (name, phone, address)."""
SAMPLE_WAYBILL = "7000000000001"
"""The preview's waybill number."""


def sample(conn: Connection, sealer: Sealer, shop_id: str, carrier: str,
           now: datetime) -> tuple[WaybillLabel, LabelStock] | None:
    """The sample label of the shop's chosen sender for ``carrier`` and the stock of the
    chosen template; None when nothing is chosen. ``now`` is printed as the print time."""
    choice = couriers.choice_of(conn, shop_id, carrier)
    if choice is None:
        return None
    try:
        sender = load_shop(conn, sealer, shop_id).sender
    except ShopError:
        sender = {}
    names = {t.template_id: t.name for t in couriers.templates_of(conn, shop_id)
             if t.carrier_code == carrier}
    name, phone, address = SAMPLE_RECEIVER
    label = WaybillLabel(
        waybill_no=SAMPLE_WAYBILL, carrier=couriers.carrier_name(carrier),
        sender_name=sender.get("name", ""), sender_phone=sender.get("mobile", ""),
        sender_address=couriers.one_line(choice.address), receiver_name=name,
        receiver_phone=phone, receiver_address=address, items_summary="保温杯 500ml×2",
        order_no="240101-000000001", sort_code="310-A01", package_centre="杭州转运中心",
        print_time=now.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M"))
    return label, stock_of(names.get(choice.template_id, ""))
