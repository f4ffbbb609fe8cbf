"""TSPL waybill labels, byte-exact against expectations written out by hand from spec §3.2."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from edge.hardware import open_printer
from edge.hardware.fakes import FakeNetPrinter, FakePrinter
from edge.printing.labels import (
    STOCK_76X130,
    STOCK_100X180,
    Bitmap,
    ItemLabel,
    TsplBuilder,
    WaybillLabel,
    build_item_label,
    build_waybill,
    text_width,
    wrap,
)

SMALL = WaybillLabel(
    waybill_no="SF1",
    carrier="SF",
    sender_name="W",
    sender_phone="138",
    sender_address="B2",
    receiver_name="Li",
    receiver_phone="139",
    receiver_address="A1",
    items_summary="T x1",
    order_no="P1",
    sequence="1/2",
)

LONG = WaybillLabel(
    waybill_no="SF1234567890123",
    carrier="顺丰速运",
    sender_name="仓库A-03",
    sender_phone="0755-88886666",
    sender_address="广东省深圳市宝安区福永街道物流园3栋",
    receiver_name="张三",
    receiver_phone="13912345678",
    receiver_address="广东省深圳市南山区科技园XX路1号XX大厦12楼某某某某某某某某某某某某某某某某某某某某",
    items_summary="纯棉T恤 白色 XL x2, 运动袜 x3, 帆布包 x1, 保温杯 500ml x1",
    order_no="240101-123456789012345",
    sequence="12/200",
)


def test_builder_golden_bytes() -> None:
    job = (
        TsplBuilder()
        .size(40, 30)
        .gap(2, 0)
        .cls()
        .text(16, 16, '收: 张三 "A"')
        .barcode(16, 60, "SF1", height=40)
        .qrcode(200, 16, "SF1", cell=4)
        .bitmap(16, 120, Bitmap.from_rows(["#.......", "........"]))
        .bar(0, 110, 320, 2)
        .print_(1, 1)
        .to_bytes()
    )
    expected = (
        b"SIZE 40 mm,30 mm\r\n"
        b"GAP 2 mm,0 mm\r\n"
        b"CLS\r\n"
        # 收 = CA D5, 张 = D5 C5, 三 = C8 FD (GB2312); ＂ (U+FF02) = A3 A2
        b'TEXT 16,16,"TSS24.BF2",0,1,1,"\xca\xd5: \xd5\xc5\xc8\xfd \xa3\xa2A\xa3\xa2"\r\n'
        b'BARCODE 16,60,"128",40,1,0,2,4,"SF1"\r\n'
        b'QRCODE 200,16,M,4,A,0,"SF1"\r\n'
        # bit 0 = black: "#......." -> 0111 1111, "........" -> 1111 1111
        b"BITMAP 16,120,1,2,0,\x7f\xff\r\n"
        b"BAR 0,110,320,2\r\n"
        b"PRINT 1,1\r\n"
    )
    assert job == expected


def test_waybill_76x130_at_203dpi_golden() -> None:
    # d = 8 dots/mm: 608 x 1040 dots, margin 24, rule 3, content width 560 (layout in build_waybill's docstring)
    expected_lines = [
        "SIZE 76 mm,130 mm",
        "GAP 2 mm,0 mm",
        "DIRECTION 1,0",
        "REFERENCE 0,0",
        "DENSITY 10",
        "SPEED 4",
        "CLS",
        'TEXT 24,24,"TSS24.BF2",0,2,2,"SF"',
        'TEXT 512,24,"TSS24.BF2",0,2,2,"1/2"',  # 608 - 24 - 3*12*2
        "BAR 24,80,560,3",  # 24 + 48 + 8
        'BARCODE 24,99,"128",96,1,0,2,4,"SF1"',  # 80 + 3 + 16; height 12 mm
        "BAR 24,227,560,3",  # 99 + 96 + 32
        'TEXT 24,238,"TSS24.BF2",0,2,2,"收: Li 139"',
        'TEXT 24,298,"TSS24.BF2",0,1,1,"A1"',
        'TEXT 24,336,"TSS24.BF2",0,1,1,"寄: W 138"',  # 298 + 30 + 8
        'TEXT 24,366,"TSS24.BF2",0,1,1,"B2"',
        "BAR 24,404,560,3",
        'TEXT 24,415,"TSS24.BF2",0,1,1,"品名: T x1"',
        'TEXT 24,445,"TSS24.BF2",0,1,1,"订单: P1"',
        'QRCODE 434,866,M,6,A,0,"SF1"',  # 608-24-150, 1040-24-150
        "PRINT 1,1",
    ]
    expected = b"".join(line.encode("gb18030") + b"\r\n" for line in expected_lines)
    assert build_waybill(SMALL, STOCK_76X130, 203) == expected


def _commands(job: bytes) -> list[str]:
    return [c.decode("gb18030") for c in job.split(b"\r\n") if c and not c.startswith(b"BITMAP")]


@pytest.mark.parametrize("stock", [STOCK_100X180, STOCK_76X130], ids=["100x180", "76x130"])
@pytest.mark.parametrize("dpi", [203, 300])
def test_long_waybill_fits_and_keeps_the_full_address(stock: object, dpi: int) -> None:
    logo = Bitmap.from_rows(["#" * 24] * 24)
    job = build_waybill(LONG, stock, dpi, logo=logo)  # type: ignore[arg-type]
    d = {203: 8, 300: 12}[dpi]
    width, height = stock.width_mm * d, stock.height_mm * d  # type: ignore[attr-defined]
    cmds = _commands(job)
    assert cmds[0] == f"SIZE {stock.width_mm} mm,{stock.height_mm} mm"  # type: ignore[attr-defined]
    assert cmds[-1] == "PRINT 1,1"
    texts = []
    for c in cmds:
        m = re.match(r'TEXT (\d+),(\d+),"TSS24.BF2",0,(\d),(\d),"(.*)"$', c)
        if m:
            x, y, xm, ym, s = int(m[1]), int(m[2]), int(m[3]), int(m[4]), m[5]
            assert x + text_width(s, xm) <= width - 3 * d, c
            assert y + 24 * ym <= height - 3 * d, c
            texts.append(s)
    joined = "".join(texts)
    assert LONG.receiver_address in joined  # the address is never cut
    assert f'BARCODE {3 * d},' in job.decode("gb18030", "replace")
    assert f'"{LONG.waybill_no}"' in cmds[[c.startswith("QRCODE") for c in cmds].index(True)]
    assert b"BITMAP " in job and logo.data in job


def test_items_summary_is_cut_with_ellipsis() -> None:
    job = build_waybill(LONG, STOCK_76X130, 203, max_item_lines=1)
    items = [c for c in _commands(job) if "品名" in c]
    assert len(items) == 1 and items[0].endswith('…"')


def test_bitmap_from_image_uses_tspl_polarity() -> None:
    img = Image.new("1", (10, 2), 1)  # white
    img.putpixel((0, 0), 0)
    img.putpixel((9, 1), 0)
    bmp = Bitmap.from_image(img)
    assert (bmp.width_bytes, bmp.height) == (2, 2)
    # row 0: pixel 0 black -> 0111 1111; pixels 8-9 white, padding white -> 1111 1111
    # row 1: all white -> 1111 1111; pixel 9 black -> 1011 1111
    assert bmp.data == bytes([0x7F, 0xFF, 0xFF, 0xBF])


def test_wrap_counts_cjk_double() -> None:
    assert text_width("A中", 2) == (12 + 24) * 2
    assert wrap("中中中AB", 60) == ["中中", "中AB"]


def test_bad_barcode_data_is_refused() -> None:
    with pytest.raises(ValueError):
        TsplBuilder().barcode(0, 0, 'SF"1', height=10)


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=80), st.text(min_size=1, max_size=200))
def test_any_text_encodes(name: str, address: str) -> None:
    label = WaybillLabel("SF1", "SF", "a", "1", "b", name, "2", address, "x", "o")
    job = build_waybill(label, STOCK_76X130, 203)
    assert job.endswith(b"PRINT 1,1\r\n")


def test_label_job_goes_through_the_real_adapter_byte_exact() -> None:
    job = build_waybill(LONG, STOCK_100X180, 203)
    with FakeNetPrinter() as fake:
        open_printer(fake.url()).write(job)
        assert fake.wait_for_jobs(1) == [job]
    fp = FakePrinter()
    fp.write(job)
    assert fp.output == job


def test_goods_label_byte_exact() -> None:
    """60×40 mm at 203 dpi (8 dots/mm, margin 16): name at (16,16), CODE128 96 dots high at
    (16,48) with narrow 2 / wide 4, the SKU at 48 + 96 + 32 = 176; ``copies`` in PRINT."""
    job = build_item_label(ItemLabel(code="6901234567892", sku="CUP-350", name="保温杯"), copies=3)
    assert job == (
        b"SIZE 60 mm,40 mm\r\nGAP 2 mm,0 mm\r\nDIRECTION 1,0\r\nREFERENCE 0,0\r\n"
        b"DENSITY 10\r\nSPEED 4\r\nCLS\r\n"
        + 'TEXT 16,16,"TSS24.BF2",0,1,1,"保温杯"\r\n'.encode("gb18030")
        + b'BARCODE 16,48,"128",96,1,0,2,4,"6901234567892"\r\n'
        b'TEXT 16,176,"TSS24.BF2",0,1,1,"SKU: CUP-350"\r\n'
        b"PRINT 1,3\r\n")


def test_goods_label_cuts_a_long_name_to_one_line() -> None:
    """448 dots of text width hold 18 CJK characters: 20 become 17 and "…"."""
    name = "一二三四五六七八九十" * 2
    job = build_item_label(ItemLabel(code="X1", sku="X1", name=name))
    assert f'"{name[:17]}…"'.encode("gb18030") in job
    with pytest.raises(ValueError, match="copies"):
        build_item_label(ItemLabel(code="X1", sku="X1", name=""), copies=0)
