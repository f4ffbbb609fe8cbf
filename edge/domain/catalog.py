"""Catalog files: parse and validate a seller's SKU sheet (CSV or XLSX), and export one.

Pure — bytes in, rows out, and rows in, bytes out: reading and writing the files is
``edge.fileio`` — and shared with the cloud, so nothing here imports ``edge.store``. Column headers are Chinese as exported by the usual ERP and Excel
templates (商品编码, 商品名称, 条码, …), with English aliases. Every row is validated and
*all* problems are collected with their line numbers (the header is line 1), each reason in
Chinese and English, so a seller can fix the whole sheet in one go.

    headers, records, encoding = parse_table(data, "skus.xlsx")
    result = parse_records(headers, records, existing_barcodes={"690...": "CUP-350"},
                           known_locations={"A-01-01"})
    if result.errors: ...            # list[RowError]
    store_rows = [r.to_store_row() for r in result.rows]
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
import zipfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import PurePath
from typing import Any

from edge.domain.barcodes import is_gtin, looks_like_gtin
from edge.domain.money import YuanError, yuan_to_fen
from edge.domain.spreadsheet import protect, unprotect, xlsx_text_cell
from edge.errors import UnreadableFile

# --------------------------------------------------------------------------- columns

COLUMNS: tuple[tuple[str, str], ...] = (
    ("sku", "商品编码"),
    ("name_zh", "商品名称"),
    ("name_en", "英文名称"),
    ("spec", "规格"),
    ("unit_weight_g", "重量(g)"),
    ("length_mm", "长(mm)"),
    ("width_mm", "宽(mm)"),
    ("height_mm", "高(mm)"),
    ("cost", "成本价(元)"),
    ("image_path", "图片"),
    ("default_location", "默认库位"),
    ("barcodes", "条码"),
    ("case_barcodes", "箱规条码"),
)
"""Field → the Chinese header written on export (and accepted on import)."""

_ALIASES: dict[str, tuple[str, ...]] = {
    "sku": ("商品编码", "商家编码", "编码", "货号", "sku", "skucode", "sku_code", "code"),
    "name_zh": ("商品名称", "名称", "品名", "中文名称", "name", "name_zh", "namezh", "productname"),
    "name_en": ("英文名称", "英文名", "name_en", "nameen", "englishname"),
    "spec": ("规格", "规格型号", "spec", "specification", "variant"),
    "unit_weight_g": ("重量(g)", "重量(克)", "重量", "单重(g)", "weight", "weight(g)", "weight_g",
                      "unit_weight_g", "unitweightg"),
    "length_mm": ("长(mm)", "长", "长度(mm)", "length", "length(mm)", "length_mm"),
    "width_mm": ("宽(mm)", "宽", "宽度(mm)", "width", "width(mm)", "width_mm"),
    "height_mm": ("高(mm)", "高", "高度(mm)", "height", "height(mm)", "height_mm"),
    "dimensions": ("长/宽/高(mm)", "长*宽*高(mm)", "长宽高(mm)", "尺寸(mm)", "尺寸",
                   "dimensions", "dimensions(mm)", "dimensions_mm", "lxwxh(mm)", "l/w/h(mm)"),
    "cost": ("成本价(元)", "成本价", "成本(元)", "成本", "进价", "cost", "cost(yuan)", "cost_yuan",
             "unit_cost", "unitcost"),
    "image_path": ("图片", "图片路径", "主图", "image", "image_path", "imagepath", "picture"),
    "default_location": ("默认库位", "库位", "货位", "default_location", "defaultlocation",
                         "location", "bin"),
    "barcodes": ("条码", "条形码", "商品条码", "barcode", "barcodes", "ean", "upc"),
    "case_barcodes": ("箱规条码", "箱条码", "case_barcodes", "case_barcode(s)", "casebarcodes"),
    "case_barcode": ("箱码", "外箱条码", "case_barcode", "casebarcode", "case_code"),
    "case_units": ("箱规", "箱规数量", "每箱数量", "装箱数", "case_units", "caseunits", "case_qty",
                   "units_per_case"),
}
"""Accepted headers per field, compared after ``_norm_header``."""


def _norm_header(text: str) -> str:
    t = text.strip().lower().replace("（", "(").replace("）", ")").replace("／", "/")
    return re.sub(r"\s+", "", t)


_HEADER_TO_FIELD: dict[str, str] = {
    _norm_header(alias): name for name, aliases in _ALIASES.items() for alias in aliases
}

_BARCODE_SPLIT = re.compile(r"[,;/、，；\s]+")
_UNITS_SUFFIX = re.compile(r"^(?P<code>[^*×xX]+?)\s*[*×xX]\s*(?P<n>\d+)$")
_DIMS_SPLIT = re.compile(r"\s*[/*×xX,，]\s*")
_SCIENTIFIC = re.compile(r"^\d+(\.\d+)?[eE]\+?\d+$")
_SKU_OK = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._\-/#+]{0,63}$")
_BARCODE_OK = re.compile(r"^[0-9A-Za-z\-.$/+%]{1,64}$")

# --------------------------------------------------------------------------- values

STORE_FIELDS = frozenset({
    "sku", "name_zh", "name_en", "spec", "unit_weight_g", "length_mm", "width_mm", "height_mm",
    "cost_fen", "image_path", "default_location", "barcodes",
})
"""Fields of a store row (``skus`` columns written by the importer, plus ``barcodes``)."""

_FILE_TO_STORE: dict[str, tuple[str, ...]] = {
    "dimensions": ("length_mm", "width_mm", "height_mm"), "cost": ("cost_fen",),
    "case_barcodes": ("barcodes",), "case_barcode": ("barcodes",), "case_units": ("barcodes",),
}


@dataclass(frozen=True, slots=True)
class CatalogRow:
    """One valid catalog row, in store units (grams, millimetres, fen)."""

    line: int
    """Line in the file (header = line 1), for messages."""
    sku: str
    name_zh: str
    name_en: str | None = None
    spec: str = ""
    unit_weight_g: int = 0
    length_mm: int | None = None
    width_mm: int | None = None
    height_mm: int | None = None
    cost_fen: int | None = None
    """Unit cost in fen (分): ``Decimal`` yuan × 100, never a float."""
    image_path: str | None = None
    default_location: str | None = None
    barcodes: tuple[tuple[str, int], ...] = ()
    """(code, units): units 1 for the item's own barcode, N for a case of N."""
    fields: frozenset[str] = STORE_FIELDS
    """Store fields the file had columns for; the others are left as they are in the store."""

    def to_store_row(self) -> dict[str, Any]:
        """The row as ``Writer.upsert_skus`` takes it (``skus`` columns plus ``barcodes``).

        Only the fields the file had columns for are included, so a sheet with just SKU,
        name and cost updates those and leaves weights, locations and barcodes alone.
        """
        full: dict[str, Any] = {
            "sku": self.sku, "name_zh": self.name_zh, "name_en": self.name_en, "spec": self.spec,
            "unit_weight_g": self.unit_weight_g, "length_mm": self.length_mm,
            "width_mm": self.width_mm, "height_mm": self.height_mm, "cost_fen": self.cost_fen,
            "image_path": self.image_path, "default_location": self.default_location,
            "barcodes": list(self.barcodes),
        }
        return {k: v for k, v in full.items() if k in ("sku", "name_zh") or k in self.fields}


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one line of the file was refused."""

    line: int
    """Line in the file (header = line 1)."""
    column: str
    """The header of the offending column ('' for the whole row)."""
    message: str
    """``中文原因 / English reason``."""

    def __str__(self) -> str:
        where = f" [{self.column}]" if self.column else ""
        return f"第 {self.line} 行 / line {self.line}{where}: {self.message}"


@dataclass(slots=True)
class ParseResult:
    """Outcome of ``parse_catalog``: the valid rows, every error, and what was read."""

    rows: list[CatalogRow] = field(default_factory=list)
    """Rows without any error, in file order."""
    errors: list[RowError] = field(default_factory=list)
    """Every problem found, in line order (a bad row may have several)."""
    encoding: str = ""
    """Detected text encoding ('xlsx' for a workbook)."""
    data_lines: int = 0
    """Non-blank data rows read."""
    ignored_columns: list[str] = field(default_factory=list)
    """Headers that matched no known field."""

    @property
    def bad_lines(self) -> list[int]:
        """Lines with at least one error, ascending."""
        return sorted({e.line for e in self.errors})

    @property
    def ok(self) -> bool:
        return not self.errors


# --------------------------------------------------------------------------- reading


def detect_encoding(data: bytes) -> str:
    """'utf-8-sig' (with BOM), 'utf-8', or 'gb18030' (GBK and GB2312 are subsets of it)."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    try:
        data.decode("gb18030")
    except UnicodeDecodeError as err:
        raise UnreadableFile(
            "文件编码无法识别（应为 UTF-8 或 GBK） / unknown text encoding (expected UTF-8 or GBK)"
        ) from err
    return "gb18030"


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return str(Decimal(repr(value)))
    if isinstance(value, int):
        return str(value)
    return str(value).strip()


def table_format(filename: str) -> str:
    """The suffix of a catalog file this module reads (``.csv``, ``.txt``, ``.xlsx``,
    ``.xlsm``); ``UnreadableFile`` for any other."""
    suffix = PurePath(filename).suffix.lower()
    if suffix not in (".csv", ".txt", ".xlsx", ".xlsm"):
        raise UnreadableFile(f"只支持 .csv 和 .xlsx 文件 / only .csv and .xlsx files: "
                             f"{PurePath(filename).name}")
    return suffix


def parse_table(data: bytes, filename: str) -> tuple[list[str], list[tuple[int, list[str]]], str]:
    """(headers, [(line, cells)], encoding) of the first sheet of an XLSX or a CSV file's
    bytes; ``filename`` gives the format (by suffix) and names the file in errors.

    Blank rows are skipped; line numbers count the header as line 1. Raises ``UnreadableFile``
    for an empty, corrupt or unsupported file (reading it is ``edge.fileio.read_table``).
    """
    name = PurePath(filename).name
    suffix = table_format(filename)
    try:
        if suffix in (".xlsx", ".xlsm"):
            records, encoding = _read_xlsx(data, name), "xlsx"
        else:
            encoding = detect_encoding(data)
            records = _read_csv(data.decode(encoding))
    except csv.Error as err:
        raise UnreadableFile(f"CSV 格式错误 / malformed CSV: {err}") from err
    rows = [(line, cells) for line, cells in records if any(c.strip() for c in cells)]
    if not rows:
        raise UnreadableFile(f"文件是空的 / the file is empty: {name}")
    header_line, headers = rows[0]
    if header_line != 1:
        rows = [(line - header_line + 1, cells) for line, cells in rows]
    return [h.strip() for h in headers], rows[1:], encoding


def _read_csv(text: str) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    out: list[tuple[int, list[str]]] = []
    start = 1
    for cells in reader:
        out.append((start, [unprotect(c) for c in cells]))  # what export_catalog protected
        start = reader.line_num + 1
    return out


def _load_xlsx(data: bytes, name: str, *, data_only: bool
               ) -> tuple[list[list[Any]], list[tuple[int, int]]]:
    """(values by row, positions of formula cells) of the first sheet."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with warnings.catch_warnings():
            # Workbooks from WPS and older Excel trigger style warnings that mean nothing here.
            warnings.filterwarnings("ignore", category=UserWarning, module=r"openpyxl\.")
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as err:
        raise UnreadableFile(f"不是有效的 XLSX 文件 / not a valid XLSX workbook: {name}") from err
    try:
        values: list[list[Any]] = []
        formulas: list[tuple[int, int]] = []
        for i, row in enumerate(wb.worksheets[0].iter_rows()):
            values.append([getattr(c, "value", None) for c in row])
            formulas += [(i, j) for j, c in enumerate(row) if getattr(c, "data_type", None) == "f"]
        return values, formulas
    finally:
        wb.close()


def _read_xlsx(data: bytes, name: str) -> list[tuple[int, list[str]]]:
    """The first sheet's rows as text. A formula cell counts with the value Excel cached for
    it; one without a cached value (written by a program, never opened in Excel) is refused
    with its cell reference rather than read as empty."""
    from openpyxl.utils import get_column_letter

    rows, formulas = _load_xlsx(data, name, data_only=False)
    if formulas:
        cached, _ = _load_xlsx(data, name, data_only=True)
        for i, j in formulas:
            rows[i][j] = cached[i][j] if i < len(cached) and j < len(cached[i]) else None
        missing = [(i + 1, f"{get_column_letter(j + 1)}{i + 1}") for i, j in formulas if rows[i][j] is None]
        if missing:
            line = missing[0][0]
            cells = ", ".join(ref for _, ref in missing[:10]) + (" …" if len(missing) > 10 else "")
            raise UnreadableFile(
                f"第 {line} 行: 公式没有计算结果（请在 Excel 中打开并保存，或粘贴为数值） {cells} / "
                f"line {line}: formula cells without a cached value (open and save the file in "
                f"Excel, or paste as values): {cells}"
            )
    return [(i, [_cell_text(v) for v in row]) for i, row in enumerate(rows, start=1)]


# --------------------------------------------------------------------------- parsing


class _RowCheck:
    """Collects the errors of one row."""

    def __init__(self, line: int, headers: Mapping[str, str]) -> None:
        self.line = line
        self.headers = headers
        self.errors: list[RowError] = []

    def fail(self, fld: str, zh: str, en: str) -> None:
        self.errors.append(RowError(self.line, self.headers.get(fld, ""), f"{zh} / {en}"))

    def integer(self, fld: str, text: str, label_zh: str, label_en: str) -> int | None:
        if not text:
            return None
        try:
            value = Decimal(text.replace(",", ""))
        except InvalidOperation:
            self.fail(fld, f"{label_zh}不是数字: {text}", f"{label_en} is not a number: {text}")
            return None
        if not value.is_finite() or value != value.to_integral_value():
            self.fail(fld, f"{label_zh}必须是整数: {text}", f"{label_en} must be a whole number: {text}")
            return None
        if value < 0:
            self.fail(fld, f"{label_zh}不能为负数: {text}", f"{label_en} cannot be negative: {text}")
            return None
        return int(value)

    def cost_fen(self, text: str) -> int | None:
        try:
            return yuan_to_fen(text)
        except YuanError as err:
            self.fail("cost", f"成本价{err.zh}: {text}", f"cost {err.en}: {text}")
            return None

    def barcode(self, fld: str, code: str) -> bool:
        if _SCIENTIFIC.match(code):
            self.fail(fld, f"条码被 Excel 转成了科学计数法: {code}（请把该列设为文本）",
                      f"barcode was turned into scientific notation by Excel: {code} "
                      "(format the column as text)")
            return False
        if not _BARCODE_OK.match(code):
            self.fail(fld, f"条码含非法字符: {code}", f"barcode has invalid characters: {code}")
            return False
        if looks_like_gtin(code) and not is_gtin(code):
            self.fail(fld, f"条码校验位错误: {code}", f"barcode check digit is wrong: {code}")
            return False
        return True


def parse_records(
    headers: list[str],
    records: list[tuple[int, list[str]]],
    *,
    encoding: str = "",
    existing_barcodes: Mapping[str, str] | None = None,
    known_locations: Collection[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ParseResult:
    """Validate a catalog table (headers and ``(line, cells)`` records, from
    :func:`parse_table`); ``edge.fileio.parse_catalog`` reads a file and calls this.

    ``existing_barcodes`` maps barcodes already in the database to their SKU: a row may
    not take a barcode owned by another SKU. ``known_locations``, when given, is the set of
    valid location codes for ``default_location``. ``progress(done, total)`` is called every
    500 rows and at the end. Raises ``UnreadableFile`` when the table lacks the SKU or name
    column; row problems are returned in ``errors``."""
    owners = existing_barcodes or {}
    index: dict[str, int] = {}
    header_of: dict[str, str] = {}
    result = ParseResult(encoding=encoding, data_lines=len(records))
    for i, h in enumerate(headers):
        name = _HEADER_TO_FIELD.get(_norm_header(h))
        if name is None or name in index:
            if h.strip():
                result.ignored_columns.append(h)
            continue
        index[name] = i
        header_of[name] = h
    missing = [zh for f, zh in (("sku", "商品编码"), ("name_zh", "商品名称")) if f not in index]
    if missing:
        raise UnreadableFile(
            f"缺少必需的列: {', '.join(missing)} / missing required column(s): "
            f"{', '.join('sku' if m == '商品编码' else 'name' for m in missing)}"
        )

    present = frozenset(f for name in index for f in _FILE_TO_STORE.get(name, (name,)))
    first_sku_line: dict[str, int] = {}
    first_barcode_line: dict[str, tuple[int, str]] = {}
    total = len(records)
    for n, (line, cells) in enumerate(records, start=1):
        def get(name: str, cells: list[str] = cells) -> str:
            i = index.get(name)
            return cells[i].strip() if i is not None and i < len(cells) else ""

        check = _RowCheck(line, header_of)
        sku = get("sku")
        if not sku:
            check.fail("sku", "缺少商品编码", "missing SKU")
        elif not _SKU_OK.match(sku):
            check.fail("sku", f"商品编码含空格或非法字符（最多 64 位）: {sku}",
                       f"SKU has spaces or invalid characters (64 max): {sku}")
        elif sku in first_sku_line:
            check.fail("sku", f"商品编码重复（第 {first_sku_line[sku]} 行已有）: {sku}",
                       f"duplicate SKU in file (first on line {first_sku_line[sku]}): {sku}")
        else:
            first_sku_line[sku] = line
        name_zh = get("name_zh")
        if not name_zh:
            check.fail("name_zh", "缺少商品名称", "missing name")

        weight = check.integer("unit_weight_g", get("unit_weight_g"), "重量", "weight")
        dims: list[int | None] = [
            check.integer(f, get(f), zh, en) for f, zh, en in (
                ("length_mm", "长", "length"), ("width_mm", "宽", "width"),
                ("height_mm", "高", "height"))
        ]
        combined = get("dimensions")
        if combined:
            parts = _DIMS_SPLIT.split(combined)
            if len(parts) != 3:
                check.fail("dimensions", f"尺寸应为 长/宽/高: {combined}",
                           f"dimensions must be length/width/height: {combined}")
            else:
                for k, (part, zh, en) in enumerate(
                        zip(parts, ("长", "宽", "高"), ("length", "width", "height"), strict=True)):
                    if dims[k] is None:
                        dims[k] = check.integer("dimensions", part, zh, en)
        cost = check.cost_fen(get("cost"))
        location = get("default_location") or None
        if location is not None and known_locations is not None and location not in known_locations:
            check.fail("default_location", f"库位不存在: {location}", f"unknown location: {location}")

        barcodes = _row_barcodes(check, get)
        taken_here: set[str] = set()
        for code, _units in barcodes:
            if code in taken_here:
                check.fail("barcodes", f"同一行条码重复: {code}", f"barcode repeated in the row: {code}")
                continue
            taken_here.add(code)
            if code in first_barcode_line and first_barcode_line[code][1] != sku:
                other_line, other_sku = first_barcode_line[code]
                check.fail("barcodes",
                           f"条码 {code} 在第 {other_line} 行已用于 {other_sku}",
                           f"barcode {code} already used by {other_sku} on line {other_line}")
                continue
            owner = owners.get(code)
            if owner is not None and owner != sku:
                check.fail("barcodes", f"条码 {code} 已属于商品 {owner}",
                           f"barcode {code} already belongs to SKU {owner}")
                continue
            first_barcode_line.setdefault(code, (line, sku))

        if check.errors:
            result.errors.extend(check.errors)
        else:
            result.rows.append(CatalogRow(
                line=line, sku=sku, name_zh=name_zh, name_en=get("name_en") or None,
                spec=get("spec"), unit_weight_g=weight or 0, length_mm=dims[0],
                width_mm=dims[1], height_mm=dims[2], cost_fen=cost,
                image_path=get("image_path") or None, default_location=location,
                barcodes=tuple(barcodes), fields=present,
            ))
        if progress is not None and (n % 500 == 0 or n == total):
            progress(n, total)
    return result


def _row_barcodes(check: _RowCheck, get: Callable[[str], str]) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for fld, default_units in (("barcodes", 1), ("case_barcodes", 0)):
        for token in _BARCODE_SPLIT.split(get(fld)):
            if not token:
                continue
            m = _UNITS_SUFFIX.match(token)
            code, units = (m["code"], int(m["n"])) if m else (token, default_units)
            if units < 1:
                check.fail(fld, f"箱规条码应写成 条码*数量: {token}",
                           f"a case barcode is written code*units: {token}")
                continue
            if check.barcode(fld, code):
                out.append((code, units))
    case_code = get("case_barcode")
    case_units_text = get("case_units")
    if case_code or case_units_text:
        units_n = check.integer("case_units", case_units_text, "箱规数量", "case units")
        if not case_code:
            check.fail("case_barcode", "有箱规数量但缺少箱码", "case units given without a case barcode")
        elif units_n is None or units_n < 2:
            if case_units_text and units_n is not None:
                check.fail("case_units", f"箱规数量至少为 2: {case_units_text}",
                           f"case units must be at least 2: {case_units_text}")
            elif not case_units_text:
                check.fail("case_units", "有箱码但缺少箱规数量", "case barcode given without case units")
        elif check.barcode("case_barcode", case_code):
            out.append((case_code, units_n))
    return out


# --------------------------------------------------------------------------- export


def _yuan(fen: int | None) -> str:
    if fen is None:
        return ""
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


def _export_cells(row: Mapping[str, Any] | CatalogRow) -> list[str]:
    r: Mapping[str, Any] = row.to_store_row() if isinstance(row, CatalogRow) else row
    codes = list(r.get("barcodes") or [])
    singles = [c for c, u in codes if int(u) == 1]
    cases = [f"{c}*{int(u)}" for c, u in codes if int(u) != 1]

    def text(key: str) -> str:
        v = r.get(key)
        return "" if v is None else str(v)

    return [
        text("sku"), text("name_zh"), text("name_en"), text("spec"), text("unit_weight_g"),
        text("length_mm"), text("width_mm"), text("height_mm"), _yuan(r.get("cost_fen")),
        text("image_path"), text("default_location"), ",".join(singles), ",".join(cases),
    ]


def render_catalog(rows: Iterable[Mapping[str, Any] | CatalogRow], filename: str
                   ) -> tuple[bytes, int]:
    """(file bytes, rows written) of rows (store-shaped dicts with ``barcodes`` or
    ``CatalogRow``) as a ``.csv`` or ``.xlsx`` file, by ``filename``'s suffix.

    ``.csv`` is UTF-8 with a BOM so Excel opens it; ``.xlsx`` a workbook with every cell as
    text (barcodes stay digits). No cell is ever evaluated as a formula
    (:mod:`edge.domain.spreadsheet`). The output parses back to the same rows (writing it
    is ``edge.fileio.export_catalog``).
    """
    suffix = PurePath(filename).suffix.lower()
    header = [zh for _, zh in COLUMNS]
    body: Iterator[list[str]] = (_export_cells(r) for r in rows)
    count = 0
    if suffix == ".csv":
        text = io.StringIO(newline="")
        writer = csv.writer(text)
        writer.writerow(header)
        for cells in body:
            writer.writerow([protect(c) for c in cells])
            count += 1
        return text.getvalue().encode("utf-8-sig"), count
    if suffix == ".xlsx":
        import openpyxl

        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("商品")
        ws.append([xlsx_text_cell(ws, h) for h in header])
        for cells in body:
            ws.append([xlsx_text_cell(ws, c) if c != "" else None for c in cells])
            count += 1
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue(), count
    raise UnreadableFile(f"只支持导出 .csv 和 .xlsx / can only export .csv or .xlsx: "
                         f"{PurePath(filename).name}")
