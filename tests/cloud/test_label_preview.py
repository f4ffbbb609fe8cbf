"""The label preview: the station's TSPL layout drawn with Pillow at 203 dpi."""

from __future__ import annotations

import io

from PIL import Image

from cloud.label_preview import preview_png, read_tspl, render, stock_of
from edge.printing.labels import STOCK_76X130, STOCK_100X180, WaybillLabel

LABEL = WaybillLabel(
    waybill_no="SF1", carrier="中通快递", sender_name="W", sender_phone="138",
    sender_address="B2", receiver_name="Li", receiver_phone="139", receiver_address="A1",
    items_summary="T x1", order_no="P1", sort_code="310-A01", package_centre="杭州转运中心")


def test_template_names_pick_the_stock() -> None:
    assert stock_of("ZTO 标准模板 76×130") == STOCK_76X130
    assert stock_of("ZTO 标准模板 100×180") == STOCK_100X180


def test_rules_and_text_land_where_the_job_puts_them() -> None:
    job = (b"SIZE 76 mm,130 mm\r\nCLS\r\nBAR 24,80,560,3\r\n"
           + 'TEXT 24,238,"TSS24.BF2",0,3,3,"310"\r\n'.encode("gb18030") + b"PRINT 1,1\r\n")
    assert [c.name for c in read_tspl(job)] == ["SIZE", "CLS", "BAR", "TEXT", "PRINT"]
    img = render(job, STOCK_76X130)
    assert img.size == (608, 1040)  # 76 × 8, 130 × 8
    assert img.getpixel((30, 80)) == 0 and img.getpixel((583, 82)) == 0  # the rule's corners
    assert img.getpixel((30, 79)) == 255 and img.getpixel((584, 81)) == 255
    sort_code = img.crop((24, 238, 24 + 3 * 36, 238 + 72))  # 3 characters of 36 dots at 3×
    assert sort_code.getextrema()[0] < 128  # ink where the sort code goes
    assert img.crop((24, 400, 600, 1000)).getextrema() == (255, 255)  # nothing below


def test_preview_png_of_a_full_label() -> None:
    img = Image.open(io.BytesIO(preview_png(LABEL, STOCK_100X180)))
    assert img.format == "PNG" and img.size == (800, 1440)
    assert img.crop((24, 24, 24 + 4 * 48, 72)).getextrema()[0] < 128  # 中通快递 at 2×
