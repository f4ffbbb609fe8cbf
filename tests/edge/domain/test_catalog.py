"""Catalog files: encodings, XLSX, header aliases, every row error with its line, round trip."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

from edge.domain.catalog import COLUMNS, CatalogRow
from edge.errors import UnreadableFile
from edge.fileio import export_catalog, parse_catalog

HEADER = ["商品编码", "商品名称", "英文名称", "规格", "重量(g)", "长(mm)", "宽(mm)", "高(mm)",
          "成本价(元)", "图片", "默认库位", "条码", "箱规条码"]
GOOD = [
    ["CUP-350", "保温杯 350ml", "Vacuum cup", "容量:350ml", "320", "75", "75", "230", "18.50",
     "img/cup.jpg", "A-01-01", "6901234567892", "16901234567899*12"],
    ["TOWEL-W", "纯棉毛巾 白色", "", "颜色:白色", "110", "", "", "", "4.5", "", "A-01-02",
     "4006381333931;5901234123457 、9780306406157", ""],
]
LOCATIONS = {"A-01-01", "A-01-02"}


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8-sig",
              header: list[str] = HEADER) -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_utf8_bom_csv_gives_store_units(tmp_path: Path) -> None:
    result = parse_catalog(write_csv(tmp_path / "c.csv", GOOD), known_locations=LOCATIONS)
    assert result.errors == [] and result.encoding == "utf-8-sig" and result.data_lines == 2
    cup, towel = result.rows
    assert cup == CatalogRow(
        line=2, sku="CUP-350", name_zh="保温杯 350ml", name_en="Vacuum cup", spec="容量:350ml",
        unit_weight_g=320, length_mm=75, width_mm=75, height_mm=230, cost_fen=1850,
        image_path="img/cup.jpg", default_location="A-01-01",
        barcodes=(("6901234567892", 1), ("16901234567899", 12)),
    )
    assert towel.cost_fen == 450 and towel.name_en is None and towel.length_mm is None
    assert towel.barcodes == (("4006381333931", 1), ("5901234123457", 1), ("9780306406157", 1))
    assert towel.to_store_row()["barcodes"] == [("4006381333931", 1), ("5901234123457", 1),
                                                ("9780306406157", 1)]


def test_plain_utf8_and_gbk_csv_are_detected(tmp_path: Path) -> None:
    plain = parse_catalog(write_csv(tmp_path / "u.csv", GOOD, encoding="utf-8"))
    gbk = parse_catalog(write_csv(tmp_path / "g.csv", GOOD, encoding="gbk"))
    assert plain.encoding == "utf-8" and gbk.encoding == "gb18030"
    assert [r.name_zh for r in gbk.rows] == ["保温杯 350ml", "纯棉毛巾 白色"]
    assert gbk.rows == plain.rows


def test_xlsx_with_numeric_cells(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADER)
    ws.append(["CUP-350", "保温杯", None, None, 320, 75, 75, 230, 18.5, None, "A-01-01",
               6901234567892, "16901234567899*6"])
    ws.append([None] * len(HEADER))  # blank rows are skipped but still count as lines
    ws.append(["SOCK-M", "运动袜", None, None, 45.0, None, None, None, 3, None, None,
               "6905555000014", None])
    wb.save(tmp_path / "c.xlsx")
    result = parse_catalog(tmp_path / "c.xlsx")
    assert result.errors == [] and result.encoding == "xlsx"
    assert [(r.line, r.sku, r.unit_weight_g, r.cost_fen, r.barcodes) for r in result.rows] == [
        (2, "CUP-350", 320, 1850, (("6901234567892", 1), ("16901234567899", 6))),
        (4, "SOCK-M", 45, 300, (("6905555000014", 1),)),
    ]


def test_english_headers_and_separate_case_columns(tmp_path: Path) -> None:
    header = ["SKU", "Name", "Weight (g)", "Cost", "Barcode", "箱码", "箱规", "长/宽/高(mm)"]
    rows = [["A1", "Thing", "12", "0.05", "6901234567892", "16901234567899", "24", "10/20*30"]]
    result = parse_catalog(write_csv(tmp_path / "e.csv", rows, header=header))
    assert result.errors == []
    (row,) = result.rows
    assert (row.sku, row.name_zh, row.unit_weight_g, row.cost_fen) == ("A1", "Thing", 12, 5)
    assert row.barcodes == (("6901234567892", 1), ("16901234567899", 24))
    assert (row.length_mm, row.width_mm, row.height_mm) == (10, 20, 30)


def test_every_bad_row_is_reported_with_its_line(tmp_path: Path) -> None:
    rows = [
        GOOD[0],                                                               # line 2 ok
        ["", "无编码", "", "", "1", "", "", "", "", "", "", "", ""],             # 3 missing sku
        ["B1", "", "", "", "abc", "", "", "", "", "", "", "", ""],               # 4 no name + bad number
        ["B2", "负重", "", "", "-5", "", "", "", "", "", "", "", ""],             # 5 negative weight
        ["CUP-350", "重复", "", "", "1", "", "", "", "", "", "", "", ""],         # 6 duplicate sku
        ["B3", "抢条码", "", "", "1", "", "", "", "", "", "", "6901234567892", ""],  # 7 barcode twice
        ["B4", "库里已有", "", "", "1", "", "", "", "", "", "", "6909999999996", ""],  # 8 owned in DB
        ["B5", "库位", "", "", "1", "", "", "", "", "", "Z-99", "", ""],          # 9 unknown location
        ["B6", "成本", "", "", "1", "", "", "", "1.005", "", "", "", ""],          # 10 3 decimals
        ["B7", "校验位", "", "", "1", "", "", "", "", "", "", "6901234567890", ""],  # 11 check digit
        ["B8", "科学计数", "", "", "1", "", "", "", "", "", "", "6.90123E+12", ""],  # 12 Excel mangled
        ["B9", "箱规", "", "", "1", "", "", "", "", "", "", "", "16901234567806"],   # 13 no *N
        ["", "", "", "", "", "", "", "", "", "", "", "", ""],                     # 14 blank: skipped
        ["OK-2", "好的", "", "", "7", "", "", "", "2", "", "A-01-02", "", ""],     # 15 ok
    ]
    result = parse_catalog(write_csv(tmp_path / "bad.csv", rows),
                           existing_barcodes={"6909999999996": "OTHER"},
                           known_locations=LOCATIONS)
    assert result.bad_lines == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
    assert [r.sku for r in result.rows] == ["CUP-350", "OK-2"]
    by_line: dict[int, list[str]] = {}
    for e in result.errors:
        by_line.setdefault(e.line, []).append(e.message)
        assert " / " in e.message  # Chinese / English
    assert by_line[3] == ["缺少商品编码 / missing SKU"]
    assert sorted(by_line[4]) == ["缺少商品名称 / missing name", "重量不是数字: abc / weight is not a number: abc"]
    assert "不能为负数" in by_line[5][0]
    assert "第 2 行已有" in by_line[6][0] and "line 2" in by_line[6][0]
    assert "CUP-350" in by_line[7][0] and "line 2" in by_line[7][0]
    assert "OTHER" in by_line[8][0]
    assert "unknown location: Z-99" in by_line[9][0]
    assert "more than 2 decimal" in by_line[10][0]
    assert "check digit" in by_line[11][0]
    assert "scientific notation" in by_line[12][0]
    assert "code*units" in by_line[13][0]
    assert str(result.errors[0]).startswith("第 3 行 / line 3 [商品编码]: ")


def test_line_numbers_follow_multiline_cells(tmp_path: Path) -> None:
    rows = [["A1", "多行\n名称", "", "", "1", "", "", "", "", "", "", "", ""],
            ["A2", "ok", "", "", "x", "", "", "", "", "", "", "", ""]]
    result = parse_catalog(write_csv(tmp_path / "m.csv", rows))
    assert result.bad_lines == [4]  # header 1, A1 spans 2-3, A2 on 4


@pytest.mark.parametrize("content, suffix, match", [
    (b"", ".csv", "empty"),
    (b"name,weight\nx,1\n", ".csv", "missing required column"),
    (b"PK\x03\x04 not really a zip", ".xlsx", "not a valid XLSX"),
    (b"whatever", ".pdf", "only .csv and .xlsx"),
])
def test_unreadable_files(tmp_path: Path, content: bytes, suffix: str, match: str) -> None:
    path = tmp_path / f"f{suffix}"
    path.write_bytes(content)
    with pytest.raises(UnreadableFile, match=match):
        parse_catalog(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="no such file"):
        parse_catalog(tmp_path / "nope.csv")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_parses_back_to_the_same_rows(tmp_path: Path, suffix: str) -> None:
    original = parse_catalog(write_csv(tmp_path / "in.csv", GOOD)).rows
    path = tmp_path / f"out{suffix}"
    assert export_catalog(original, path) == 2
    again = parse_catalog(path).rows
    assert [r.to_store_row() for r in again] == [r.to_store_row() for r in original]
    headers = (next(csv.reader(path.open(encoding="utf-8-sig"))) if suffix == ".csv"
               else [c.value for c in next(openpyxl.load_workbook(path).active.iter_rows())])  # type: ignore[union-attr]
    assert headers == [zh for _, zh in COLUMNS]
    if suffix == ".csv":
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
