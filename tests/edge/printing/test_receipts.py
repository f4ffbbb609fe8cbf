"""ESC/POS packing slips, byte-exact against bytes written out by hand (spec §3.1)."""

from __future__ import annotations

from edge.hardware import open_printer
from edge.hardware.fakes import FakeNetPrinter
from edge.printing.receipts import (
    HandoverList,
    PackingSlip,
    SlipLine,
    build_handover_list,
    build_packing_slip,
    item_row,
)

ESC, GS = b"\x1b", b"\x1d"


def gb(text: str) -> bytes:
    return text.encode("gb18030") + b"\n"


SLIP = PackingSlip(
    order_no="P1",
    waybill_no="SF1",
    carrier="顺丰",
    receiver_name="张三",
    lines=(SlipLine("A1", "袜子", 2),),
    packed_at="2026-11-23 14:05",
)


def test_slip_golden_bytes() -> None:
    expected = (
        ESC + b"@"  # initialise
        + ESC + b"E\x01" + ESC + b"a\x01"  # bold, centre
        + GS + b"!\x11"  # double width and height
        + b"\xd7\xb0\xcf\xe4\xb5\xa5\n"  # 装箱单 in GB18030
        + GS + b"!\x00"
        + ESC + b"E\x00" + ESC + b"a\x00"
        + gb("订单: P1")
        + gb("快递: 顺丰 SF1")
        + b"\xca\xd5\xbc\xfe\xc8\xcb: \xd5\xc5\xc8\xfd\n"  # 收件人: 张三
        + gb("时间: 2026-11-23 14:05")
        + b"-" * 16 + b"\n"
        + gb("A1 袜子" + " " * 7 + "x2")  # 7 + 7 + 2 = 16 columns
        + b"-" * 16 + b"\n"
        + gb("合计: 2 件")
        + ESC + b"a\x01"  # centre the barcode
        + GS + b"h\x40" + GS + b"w\x02"  # height 64, module 2
        + GS + b"f\x00" + GS + b"H\x02"  # HRI font A, below
        + GS + b"kI\x05{BSF1"  # CODE128, function B, 5 bytes incl. code set B
        + ESC + b"d\x06" + GS + b"V\x00"  # feed 6 lines, full cut
    )
    assert build_packing_slip(SLIP, columns=16) == expected


def test_station_and_note_lines_and_long_item_rows() -> None:
    slip = PackingSlip(
        order_no="P2",
        waybill_no="YT9876543210987",
        carrier="圆通",
        receiver_name="李四",
        lines=(SlipLine("SKU-LONG-0001", "超长商品名称超长商品名称", 10), SlipLine("B", "杯", 1)),
        packed_at="2026-11-23 14:06",
        station="ST-03",
        note="易碎",
    )
    out = build_packing_slip(slip, columns=32)
    assert gb("工位: ST-03") in out and gb("备注: 易碎") in out
    assert gb("合计: 11 件") in out
    assert gb("SKU-LONG-0001 超长商品名称超长商品名称") + gb(" " * 29 + "x10") in out
    assert gb("B 杯" + " " * 26 + "x1") in out
    assert GS + b"kI\x11{BYT9876543210987" in out


def test_item_row() -> None:
    assert item_row(SlipLine("A", "袜", 3), 10) == ["A 袜" + " " * 4 + "x3"]
    assert item_row(SlipLine("ABCDEFGH", "袜", 3), 10) == ["ABCDEFGH 袜", " " * 8 + "x3"]


def test_slip_through_the_real_escpos_adapter() -> None:
    data = build_packing_slip(SLIP)
    with FakeNetPrinter() as fake:
        open_printer(fake.url("escpos+net")).write(data)
        assert fake.wait_for_jobs(1) == [data]


def test_handover_list_golden_bytes() -> None:
    doc = HandoverList(title="交接", header=["批次: B1"], rows=[("SF1", "09:00")],
                       counts=["SF 应交 2 实交 1"], missing=["SF2"], signature=["签字: ___"],
                       barcode="B1")
    expected = (
        ESC + b"@"
        + ESC + b"E\x01" + ESC + b"a\x01" + GS + b"!\x11"
        + gb("交接")
        + GS + b"!\x00" + ESC + b"E\x00" + ESC + b"a\x00"
        + gb("批次: B1")
        + b"-" * 16 + b"\n"
        + gb("1. SF1" + " " * 5 + "09:00")  # 6 + 5 + 5 = 16 columns
        + b"-" * 16 + b"\n"
        + ESC + b"E\x01" + gb("SF 应交 2 实交 1") + ESC + b"E\x00"  # the counts in bold
        + gb("  ! SF2")  # shipped, not handed over
        + b"\n\n" + gb("签字: ___")  # room to sign above the line
        + b"\n"
        + ESC + b"a\x01"
        + GS + b"h\x40" + GS + b"w\x02" + GS + b"f\x00" + GS + b"H\x02"
        + GS + b"kI\x04{BB1"  # CODE128 of the batch id
        + ESC + b"d\x06" + GS + b"V\x00"
    )
    assert build_handover_list(doc, columns=16) == expected


def test_a_handover_row_too_long_for_the_paper_takes_two_lines() -> None:
    doc = HandoverList(title="T", header=[], rows=[("YT9876543210987", "14:05")], counts=[],
                       missing=[], signature=[], barcode="B")
    out = build_handover_list(doc, columns=16)
    assert gb("1. YT9876543210987") + gb(" " * 11 + "14:05") in out
