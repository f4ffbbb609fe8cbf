"""商品 pages in process on both engines: list and search, the edit form, import, export.

Numbers are written out by hand: money in fen, the GTINs' check digits worked out on paper
(6901234567892, 16901234567899), the import report's lines counted in the file.
"""

from __future__ import annotations

import io
import zipfile
from html import unescape
from typing import Any

import httpx
import openpyxl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.catalog import upsert_skus
from cloud.db.schema import audit_log, sku_barcodes, sku_safety_stock, sku_tags, skus, warehouses
from edge.domain.models import Role
from tests.cloud.web.support import cells, count, field_errors, login, signed_in, token

EAN = "6901234567892"
"""A valid EAN-13 (check digit 2)."""
CASE = "16901234567899"
"""A valid ITF-14 case code (check digit 9)."""


def audit_rows(engine: Engine, *actions: str) -> list[tuple[str, str, str | None, Any]]:
    with engine.begin() as conn:
        return [(r.actor, r.action, r.subject, r.detail) for r in conn.execute(
            sa.select(audit_log).where(audit_log.c.action.in_(actions)).order_by(audit_log.c.id))]


def product(engine: Engine, sku: str) -> dict[str, Any] | None:
    with engine.begin() as conn:
        row = conn.execute(sa.select(skus).where(skus.c.sku == sku)).mappings().first()
        if row is None:
            return None
        return {**row,
                "barcodes": sorted((b, u) for b, u in conn.execute(sa.select(
                    sku_barcodes.c.barcode, sku_barcodes.c.units_per_scan).where(
                    sku_barcodes.c.sku == sku))),
                "tags": sorted(conn.execute(sa.select(sku_tags.c.tag).where(
                    sku_tags.c.sku == sku)).scalars()),
                "safety": {w: q for w, q in conn.execute(sa.select(
                    sku_safety_stock.c.warehouse_id, sku_safety_stock.c.qty).where(
                    sku_safety_stock.c.sku == sku))}}


FULL_FORM = {
    "name_zh": "保温杯 500ml", "name_en": "Vacuum flask 500ml", "spec": "白色",
    "unit_weight_g": "350", "length_mm": "80", "width_mm": "80", "height_mm": "220",
    "cost": "12.5", "price": "¥29.90", "category": "杯壶", "tags": "爆款, 新品，爆款",
    "barcodes": EAN, "case_barcodes": f"{CASE}*12", "active": "1", "safety:WH1": "20",
}
"""A complete, valid form for SKU-1 (tags repeated on purpose, with a full-width comma)."""


# ---------------------------------------------------------------------------- list
async def test_list_search_by_sku_name_and_barcode_with_paging(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.FINANCE)
    with cloud_engine.begin() as conn:
        upsert_skus(conn, [{"sku": f"P-{n:03d}", "name_zh": f"商品{n}", "category": "杂货"}
                           for n in range(1, 56)])
        upsert_skus(conn, [{"sku": "SKU-2", "name_zh": "帆布袋", "barcodes": [(EAN, 1), (CASE, 12)]}])
        conn.execute(sku_tags.insert().values(sku="P-007", tag="清仓"))
    first = await client.get("/products")
    assert first.status_code == 200
    rows = cells(first.text, "products-table")
    assert len(rows) == 50 and rows[0][0] == "P-001" and rows[-1][0] == "P-050"
    assert 'href="/products?&page=2"' in first.text and "page=0" not in first.text
    second = cells((await client.get("/products", params={"page": "2"})).text, "products-table")
    assert [r[0] for r in second] == ["P-051", "P-052", "P-053", "P-054", "P-055", "SKU-1", "SKU-2"]
    # 57 products: 50 + 7

    async def found(**params: str) -> list[str]:
        page = await client.get("/products", params=params)
        return [r[0] for r in cells(page.text, "products-table")] if "products-table" in page.text else []

    assert await found(q="sku-2") == ["SKU-2"]  # any case
    assert await found(q="帆布") == ["SKU-2"]
    assert await found(q="flask") == ["SKU-1"]  # English name
    assert await found(q="690123") == ["SKU-2"]  # part of a barcode
    assert await found(q=CASE) == ["SKU-2"]
    assert await found(q="%") == []  # LIKE wildcards are text
    assert await found(q="P-01") == [f"P-01{n}" for n in range(10)]
    assert await found(tag="清仓") == ["P-007"]
    assert len(await found(category="杂货")) == 50
    bag = cells((await client.get("/products", params={"q": "SKU-2"})).text, "products-table")
    assert bag == [["SKU-2", "帆布袋", "", "", "", f"{EAN} {CASE} ×12", "", "", "", "在售"]]


# ---------------------------------------------------------------------------- edit
async def test_editing_a_product_audits_cost_and_price_old_to_new(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.PURCHASER)
    page = await client.get("/products/sku/SKU-1")
    assert page.status_code == 200 and 'value="保温杯 500ml"' in page.text
    csrf = await token(client, "/products/sku/SKU-1")
    r = await client.post("/products/sku/SKU-1", data={"csrf_token": csrf, **FULL_FORM})
    assert r.status_code == 303 and r.headers["location"] == "/products/sku/SKU-1"
    after = await client.get(r.headers["location"])
    assert "商品 SKU-1 已保存" in after.text
    assert 'value="12.50"' in after.text and 'value="29.90"' in after.text
    assert f'value="{CASE}*12"' in after.text and 'value="新品, 爆款"' in after.text  # tags sorted
    saved = product(cloud_engine, "SKU-1")
    assert saved is not None
    assert (saved["cost_fen"], saved["price_fen"], saved["unit_weight_g"], saved["height_mm"]) == (
        1250, 2990, 350, 220)
    assert (saved["spec"], saved["category"], saved["active"]) == ("白色", "杯壶", True)
    assert saved["barcodes"] == [(CASE, 12), (EAN, 1)]
    assert saved["tags"] == ["新品", "爆款"] and saved["safety"] == {"WH1": 20}
    assert audit_rows(cloud_engine, "product.cost", "product.price") == [
        ("u-purchaser", "product.cost", "SKU-1", {"from": "", "to": "12.50", "via": "web"}),
        ("u-purchaser", "product.price", "SKU-1", {"from": "", "to": "29.90", "via": "web"}),
    ]
    # the cost changes again, the price does not: one more entry, old → new
    r = await client.post("/products/sku/SKU-1", data={"csrf_token": csrf, **FULL_FORM,
                                                       "cost": "13"})
    assert r.status_code == 303
    assert audit_rows(cloud_engine, "product.cost", "product.price")[2:] == [
        ("u-purchaser", "product.cost", "SKU-1", {"from": "12.50", "to": "13.00", "via": "web"})]
    # saving the same form again changes nothing and says so to nobody
    before = count(cloud_engine, audit_log)
    assert (await client.post("/products/sku/SKU-1", data={"csrf_token": csrf, **FULL_FORM,
                                                           "cost": "13.00"})).status_code == 303
    assert count(cloud_engine, audit_log) == before
    [update] = audit_rows(cloud_engine, "product.update")
    assert update[3] == {"fields": "spec, unit_weight_g, length_mm, width_mm, height_mm, "
                                   "category, tags, barcodes, safety"}


async def test_bad_input_is_shown_next_to_each_field_and_nothing_is_written(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    csrf = await token(client, "/products/sku/SKU-1")
    assert (await client.post("/products/sku/SKU-1",
                              data={"csrf_token": csrf, **FULL_FORM})).status_code == 303
    before = product(cloud_engine, "SKU-1")
    audited = count(cloud_engine, audit_log)
    bad = {**FULL_FORM, "name_zh": "", "cost": "abc", "price": "-1", "unit_weight_g": "1.5",
           "barcodes": "6901234567890", "case_barcodes": CASE,
           "tags": "x" * 33, "safety:WH1": "lots", "category": "类" * 65}
    r = await client.post("/products/sku/SKU-1", data={"csrf_token": csrf, **bad})
    assert r.status_code == 400
    errors = field_errors(r.text)
    assert errors == {
        "name_zh": ["缺少商品名称"],
        "cost": ["成本价不是数字: abc"],
        "price": ["售价不能为负数: -1"],
        "unit_weight_g": ["重量必须是整数: 1.5"],
        "barcodes": ["条码校验位错误: 6901234567890"],
        "case_barcodes": [f"箱规条码应写成 条码*数量: {CASE}"],
        "tags": [f"标签太长 (最多 32 个字): {'x' * 33}"],
        "safety:WH1": ["安全库存必须是整数: lots"],
        "category": ["分类太长 (最多 64 个字)"],
    }
    assert "有 9 处需要修改, 未保存任何内容" in r.text
    assert 'value="abc"' in r.text and 'value="lots"' in r.text  # the form comes back as typed
    assert product(cloud_engine, "SKU-1") == before
    assert count(cloud_engine, audit_log) == audited
    # the cloud's limits (what a station can be sent), once the values are numbers at all
    big = await client.post("/products/sku/SKU-1", data={
        "csrf_token": csrf, **FULL_FORM, "height_mm": "200000", "unit_weight_g": "1000001",
        "cost": "10000000000.01"})
    assert big.status_code == 400 and field_errors(big.text) == {
        "height_mm": ["高超出范围 (最多 100,000 mm): 200000"],
        "unit_weight_g": ["重量超出范围 (最多 1,000,000 g): 1000001"],
        "cost": ["成本价超出范围 (最多 10000000000.00 元): 10000000000.01"]}
    assert product(cloud_engine, "SKU-1") == before
    # a barcode that belongs to another product
    taken = await client.post("/products/sku/SKU-2", data={
        "csrf_token": csrf, "name_zh": "帆布袋", "barcodes": EAN})
    assert taken.status_code == 400
    assert field_errors(taken.text) == {"barcodes": [f"条码 {EAN} 已属于商品 SKU-1"]}
    en = await client.post("/lang", data={"csrf_token": csrf, "lang": "en", "next": "/"})
    assert en.status_code == 303
    english = await client.post("/products/sku/SKU-1", data={"csrf_token": csrf, **FULL_FORM,
                                                             "price": "1.234"})
    assert field_errors(english.text) == {"price": ["price has more than 2 decimal places: 1.234"]}


async def test_create_a_product(client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.ADMIN)
    assert (await client.get("/products/new")).status_code == 200
    csrf = await token(client, "/products/new")
    form = {"csrf_token": csrf, "sku": "CUP-350", "name_zh": "随手杯 350ml", "cost": "8.8",
            "unit_weight_g": "210", "active": "1"}
    r = await client.post("/products/new", data=form)
    assert r.status_code == 303 and r.headers["location"] == "/products/sku/CUP-350"
    made = product(cloud_engine, "CUP-350")
    assert made is not None and (made["name_zh"], made["cost_fen"], made["unit_weight_g"]) == (
        "随手杯 350ml", 880, 210)
    assert [(a, s, d) for _u, a, s, d in audit_rows(cloud_engine, "product.create", "product.cost")] == [
        ("product.cost", "CUP-350", {"from": "", "to": "8.80", "via": "web"}),
        ("product.create", "CUP-350", {"name": "随手杯 350ml"})]
    again = await client.post("/products/new", data=form)
    assert again.status_code == 400
    assert field_errors(again.text) == {"sku": ["商品编码 CUP-350 已存在"]}
    spaced = await client.post("/products/new", data={**form, "sku": "CUP 350"})
    assert field_errors(spaced.text)["sku"] == ["商品编码含空格或非法字符（最多 64 位）: CUP 350"]
    assert product(cloud_engine, "CUP 350") is None
    assert (await client.get("/products/sku/NOPE")).status_code == 404


async def test_forms_without_the_csrf_token_change_nothing(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    before = product(cloud_engine, "SKU-1")
    audited = count(cloud_engine, audit_log)
    for path, data in (("/products/sku/SKU-1", FULL_FORM), ("/products/new", {
            **FULL_FORM, "sku": "NEW-1"}), ("/mappings/1", {"buffer_units": "9",
            "buffer_percent": "0", "stock_share": "1"}),
            ("/mappings", {"shop_id": "shop-pdd", "item_id": "1", "sku_id": "2", "sku": "SKU-2",
                           "units": "1", "buffer_units": "0", "buffer_percent": "0",
                           "stock_share": "1"})):
        r = await client.post(path, data={**data, "csrf_token": "forged"})
        assert r.status_code == 403 and "表单已失效" in r.text, path
    upload = await client.post("/products/import", files={
        "file": ("c.csv", "商品编码,商品名称\nNEW-2,新\n".encode(), "text/csv")})
    assert upload.status_code == 403
    assert product(cloud_engine, "SKU-1") == before
    assert product(cloud_engine, "NEW-1") is None and product(cloud_engine, "NEW-2") is None
    assert count(cloud_engine, audit_log) == audited


async def test_roles_that_may_only_read_get_a_read_only_form(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    page = await client.get("/products/sku/SKU-1")
    assert page.status_code == 200
    assert "<fieldset disabled>" in page.text and 'id="product-save"' not in page.text
    assert "你的角色只能查看商品资料" in page.text
    listing = await client.get("/products")
    assert 'id="product-import"' not in listing.text and 'id="export-csv"' in listing.text
    csrf = await token(client, "/products")
    refused = await client.post("/products/sku/SKU-1", data={"csrf_token": csrf, **FULL_FORM})
    assert refused.status_code == 403 and product(cloud_engine, "SKU-1")["cost_fen"] is None  # type: ignore[index]


# ---------------------------------------------------------------------------- import
def _csv(text: str) -> bytes:
    return text.encode("utf-8")


async def test_import_with_a_bad_row_reports_every_row_and_imports_nothing(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    assert (await client.get("/products/import")).status_code == 200
    csrf = await token(client, "/products/import")
    sheet = _csv("商品编码,商品名称,重量(g),成本价(元),条码\n"
                 "NEW-1,新商品,100,9.90,\n"          # line 2: good
                 "NEW-2,,50,,\n"                      # line 3: no name
                 "NEW-3,第三个,-5,,\n"                # line 4: negative weight
                 "NEW-4,第四个,2000000,,\n"           # line 5: heavier than a station takes
                 f"NEW-5,第五个,10,,{EAN[:-1]}0\n")   # line 6: wrong check digit
    r = await client.post("/products/import", data={"csrf_token": csrf},
                          files={"file": ("新品.csv", sheet, "text/csv")})
    assert r.status_code == 400
    assert "4 行有错误 (共 5 行), 未导入任何数据" in r.text
    assert cells(r.text, "import-report") == [
        ["3", "商品名称", "缺少商品名称"],
        ["4", "重量(g)", "重量不能为负数: -5"],
        ["5", "重量(g)", "重量超出范围 (最多 1,000,000 g): 2000000"],
        ["6", "条码", "条码校验位错误: 6901234567890"],
    ]
    assert count(cloud_engine, skus, skus.c.sku.like("NEW-%")) == 0
    assert audit_rows(cloud_engine, "catalog.import") == []


async def test_import_writes_every_row_and_audits_cost_changes(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.PURCHASER)
    with cloud_engine.begin() as conn:
        conn.execute(skus.update().where(skus.c.sku == "SKU-1").values(cost_fen=1000))
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["商品编码", "商品名称", "成本价(元)", "箱规条码", "备注"])
    ws.append(["SKU-1", "保温杯 500ml", "11.20", f"{CASE}*6", "x"])
    ws.append(["NEW-9", "新杯子", "5", None, None])
    data = io.BytesIO()
    wb.save(data)
    csrf = await token(client, "/products/import")
    check = await client.post("/products/import", data={"csrf_token": csrf, "dry_run": "1"},
                              files={"file": ("p.xlsx", data.getvalue(), "application/octet-stream")})
    assert check.status_code == 200 and "检查通过: 2 行可导入" in check.text
    assert product(cloud_engine, "NEW-9") is None
    r = await client.post("/products/import", data={"csrf_token": csrf},
                          files={"file": ("p.xlsx", data.getvalue(), "application/octet-stream")})
    assert r.status_code == 200
    assert "已导入 2 个商品." in r.text and "其中 1 个成本价有变动" in r.text
    assert "未识别的列 (已忽略): 备注" in r.text
    one, new = product(cloud_engine, "SKU-1"), product(cloud_engine, "NEW-9")
    assert one is not None and new is not None
    assert one["cost_fen"] == 1120 and one["barcodes"] == [(CASE, 6)]
    assert (new["name_zh"], new["cost_fen"]) == ("新杯子", 500)
    assert audit_rows(cloud_engine, "product.cost", "catalog.import") == [
        ("u-purchaser", "product.cost", "SKU-1", {"from": "10.00", "to": "11.20", "via": "import"}),
        ("u-purchaser", "catalog.import", "p.xlsx", {"rows": 2, "skipped": 0}),
    ]


async def test_an_unreadable_upload_is_one_message_next_to_the_file(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    csrf = await token(client, "/products/import")
    for name, body, message in (
            ("a.csv", _csv("名称,数量\nA,1\n"), "缺少必需的列: 商品编码"),
            ("a.pdf", b"%PDF-1.4", "只支持 .csv 和 .xlsx 文件"),
            ("a.xlsx", b"not a zip", "不是有效的 XLSX 文件"),
            ("a.csv", b"", "文件是空的")):
        r = await client.post("/products/import", data={"csrf_token": csrf},
                              files={"file": (name, body, "application/octet-stream")})
        assert r.status_code == 400, name
        assert list(field_errors(r.text)) == ["file"] and message in field_errors(r.text)["file"][0]
        assert "Traceback" not in r.text
    none = await client.post("/products/import", data={"csrf_token": csrf})
    assert none.status_code == 400
    assert field_errors(none.text) == {"file": ["请选择要导入的文件 (.csv 或 .xlsx)"]}


# ---------------------------------------------------------------------------- export
async def test_export_neutralises_formulas_and_imports_back(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.FINANCE)
    with cloud_engine.begin() as conn:
        upsert_skus(conn, [{"sku": "EVIL-1", "name_zh": '=HYPERLINK("http://x","点我")',
                            "cost_fen": 1999, "barcodes": [(EAN, 1)]}])
    csv = await client.get("/products/export.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert 'filename="packline-products.csv"' in csv.headers["content-disposition"]
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("商品编码,商品名称,英文名称,规格,重量(g)")
    assert lines[1] == f'''EVIL-1,"'=HYPERLINK(""http://x"",""点我"")",,,,,,,19.99,,,{EAN},'''
    assert [ln.split(",")[0] for ln in lines[1:]] == ["EVIL-1", "SKU-1", "SKU-2"]
    xlsx = await client.get("/products/export.xlsx")
    assert xlsx.status_code == 200
    sheet = zipfile.ZipFile(io.BytesIO(xlsx.content)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and '=HYPERLINK("http://x","点我")' in unescape(sheet)
    # the manager imports the export back: the names are what they were
    client.cookies.clear()
    assert (await login(client, "u-manager")).status_code == 303
    csrf = await token(client, "/products/import")
    r = await client.post("/products/import", data={"csrf_token": csrf},
                          files={"file": ("back.xlsx", xlsx.content, "application/octet-stream")})
    assert r.status_code == 200 and "已导入 3 个商品." in r.text
    evil = product(cloud_engine, "EVIL-1")
    assert evil is not None and evil["name_zh"] == '=HYPERLINK("http://x","点我")'
    assert evil["cost_fen"] == 1999 and evil["barcodes"] == [(EAN, 1)]


async def test_safety_stock_is_per_warehouse(client: httpx.AsyncClient,
                                             cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    with cloud_engine.begin() as conn:
        conn.execute(warehouses.insert().values(id="WH2", name="义乌仓"))
    page = await client.get("/products/sku/SKU-1")
    assert 'name="safety:WH1"' in page.text and 'name="safety:WH2"' in page.text
    csrf = await token(client, "/products/sku/SKU-1")
    form = {**FULL_FORM, "safety:WH1": "", "safety:WH2": "7"}
    assert (await client.post("/products/sku/SKU-1", data={"csrf_token": csrf, **form})).status_code == 303
    assert product(cloud_engine, "SKU-1")["safety"] == {"WH2": 7}  # type: ignore[index]
    assert count(cloud_engine, audit_log, audit_log.c.action == "product.update") == 1
