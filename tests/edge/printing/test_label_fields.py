"""Every field a courier needs on the self-drawn TSPL waybill: courier name in Chinese,
barcode, sort code (大头笔) large, package centre (集包地), receiver, sender, items, order
number and print time; byte-exact against commands written out by hand, and read back by
the fake printer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from edge.domain.packing import OrderStatus, PackLine, PackOrder
from edge.hardware.fakes import FakePrinter, TsplCommand, parse_tspl
from edge.printing.labels import STOCK_76X130, WaybillLabel, build_waybill
from edge.ui import printouts

FULL = WaybillLabel(
    waybill_no="SF1", carrier="中通快递", sender_name="W", sender_phone="138",
    sender_address="B2", receiver_name="Li", receiver_phone="139", receiver_address="A1",
    items_summary="T x1", order_no="P1", sequence="1/2", sort_code="310-A01",
    package_centre="杭州转运中心", print_time="2026-12-04 20:30",
)

EXPECTED = [
    # 76×130 at 203 dpi: d = 8, margin 24, rule 3, content width 560
    "SIZE 76 mm,130 mm", "GAP 2 mm,0 mm", "DIRECTION 1,0", "REFERENCE 0,0", "DENSITY 10",
    "SPEED 4", "CLS",
    'TEXT 24,24,"TSS24.BF2",0,2,2,"中通快递"',
    'TEXT 512,24,"TSS24.BF2",0,2,2,"1/2"',  # 608 - 24 - 3*12*2
    "BAR 24,80,560,3",  # 24 + 48 + 8
    'BARCODE 24,99,"128",96,1,0,2,4,"SF1"',  # 80 + 3 + 16
    "BAR 24,227,560,3",  # 99 + 96 + 32
    'TEXT 24,238,"TSS24.BF2",0,3,3,"310-A01"',  # 227 + 3 + 8; 7 × 36 = 252 dots wide
    'TEXT 24,318,"TSS24.BF2",0,2,2,"集包地: 杭州转运中心"',  # 238 + 72 + 8; 240 × 2 wide
    "BAR 24,378,560,3",  # 318 + 60
    'TEXT 24,389,"TSS24.BF2",0,2,2,"收: Li 139"',  # 378 + 3 + 8
    'TEXT 24,449,"TSS24.BF2",0,1,1,"A1"',
    'TEXT 24,487,"TSS24.BF2",0,1,1,"寄: W 138"',  # 449 + 30 + 8
    'TEXT 24,517,"TSS24.BF2",0,1,1,"B2"',
    "BAR 24,555,560,3",  # 517 + 30 + 8
    'TEXT 24,566,"TSS24.BF2",0,1,1,"品名: T x1"',
    'TEXT 24,596,"TSS24.BF2",0,1,1,"订单: P1"',
    'TEXT 24,626,"TSS24.BF2",0,1,1,"打印: 2026-12-04 20:30"',
    'QRCODE 434,866,M,6,A,0,"SF1"',  # 608-24-150, 1040-24-150
    "PRINT 1,1",
]


def test_full_label_golden_bytes() -> None:
    expected = b"".join(line.encode("gb18030") + b"\r\n" for line in EXPECTED)
    assert build_waybill(FULL, STOCK_76X130, 203) == expected


def test_fake_printer_reads_the_fields_back() -> None:
    printer = FakePrinter()
    printer.write(build_waybill(FULL, STOCK_76X130, 203))
    cmds = printer.tspl()
    assert cmds[0] == TsplCommand("SIZE", ("76 mm", "130 mm"))
    texts = {c.args[-1]: (int(c.args[0]), int(c.args[1]), c.args[4], c.args[5])
             for c in cmds if c.name == "TEXT"}
    assert texts["310-A01"] == (24, 238, "3", "3")  # the sort code, three times the size
    assert texts["集包地: 杭州转运中心"] == (24, 318, "2", "2")
    assert texts["寄: W 138"] == (24, 487, "1", "1")
    assert "中通快递" in texts and "打印: 2026-12-04 20:30" in texts
    [barcode] = [c for c in cmds if c.name == "BARCODE"]
    assert barcode.args == ("24", "99", "128", "96", "1", "0", "2", "4", "SF1")
    assert cmds[-1] == TsplCommand("PRINT", ("1", "1"))


def test_parse_keeps_bitmap_bytes_and_quoted_commas() -> None:
    job = (b'TEXT 1,2,"TSS24.BF2",0,1,1,"a,b"\r\nBITMAP 0,0,1,2,0,\x0d\x0a\r\nPRINT 1,1\r\n')
    assert parse_tspl(job) == [
        TsplCommand("TEXT", ("1", "2", "TSS24.BF2", "0", "1", "1", "a,b")),
        TsplCommand("BITMAP", ("0", "0", "1", "2", "0"), b"\r\n"),
        TsplCommand("PRINT", ("1", "1")),
    ]


def _order() -> PackOrder:
    return PackOrder(order_id="pdd-1", platform="pdd", platform_order_no="240101-1",
                     status=OrderStatus.WAITING, waybill_no="7000001", carrier="ZTO",
                     lines=(PackLine(line_no=1, sku="CUP", qty=2, name="保温杯",
                                     unit_weight_g=300),))


def test_station_label_uses_the_tasks_sender_and_routing() -> None:
    beijing = timezone(timedelta(hours=8))
    facts = {
        "receiver_masked": json.dumps({"name": "张*", "phone": "139****0000", "address": "文三路**"}),
        "print_data": json.dumps({"platform": "taobao", "print_data": "{}", "label": {
            "carrier_name": "中通快递", "sender_name": "仓库", "sender_phone": "13800000000",
            "sender_address": "浙江省杭州市萧山区宁围街道 88 号 二号仓", "sort_code": "200-B12",
            "package_centre": "苏州集包中心"}}),
        "sender_name": "站点设置", "sender_phone": "1", "sender_address": "不用",
        "now": datetime(2026, 12, 4, 12, 30, tzinfo=UTC), "tz": beijing,
    }
    texts = [c.args[-1] for c in parse_tspl(printouts.waybill(_order(), facts))
             if c.name == "TEXT"]
    assert texts[0] == "中通快递"
    assert "200-B12" in texts and "集包地: 苏州集包中心" in texts
    assert "寄: 仓库 13800000000" in texts
    assert "浙江省杭州市萧山区宁围街道 88 号 二号仓" in texts
    assert "打印: 2026-12-04 20:30" in texts  # 12:30 UTC in Beijing
    assert "品名: 保温杯×2" in texts and "订单: 240101-1" in texts


def test_old_task_without_label_prints_the_station_sender() -> None:
    facts = {"receiver_masked": "{}", "print_data": json.dumps({"platform": "pdd"}),
             "sender_name": "站点仓", "sender_phone": "0571", "sender_address": "余杭区"}
    texts = [c.args[-1] for c in parse_tspl(printouts.waybill(_order(), facts))
             if c.name == "TEXT"]
    assert texts[0] == "中通快递"  # from the carrier code
    assert "寄: 站点仓 0571" in texts and "余杭区" in texts
    assert not any(t.startswith("打印") or t.startswith("集包地") for t in texts)
