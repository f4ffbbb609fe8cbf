"""商品: the product list, one product's form, batch import and export.

The import calls :func:`cloud.catalog.import_catalog`, the function behind
``packline-cloud import-catalog``: the same checks and the same row-by-row report, all or
nothing. Exports are the catalog file the import reads (:func:`cloud.catalog.export_catalog`,
cells never formulas). Product edits go through :mod:`cloud.products`.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import Connection
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cloud import catalog as cloud_catalog
from cloud import kits, product_images, products
from cloud.catalog import ImportReport
from cloud.errors import ConfigError, InputError, Problem
from cloud.kits import KitForm
from cloud.orders.reservations import reconcile
from cloud.products import ProductForm
from cloud.web import queries, session
from cloud.web.context import read, web, write
from cloud.web.forms import limit, text
from cloud.web.permissions import Permission, requires
from cloud.web.render import render
from edge.domain.catalog import COLUMNS

PAGE = 50
"""Products per page."""

MAX_REPORT_ROWS = 500
"""Most problems an import report lists (the count says how many there were)."""

@requires(Permission.PRODUCTS_VIEW)
async def product_list(request: Request) -> Response:
    """Products, searched by SKU, name or barcode, by category and tag, a page at a time."""
    q = request.query_params
    search, category, tag = text(q, "q", 64), text(q, "category", 64), text(q, "tag", 32)
    page = limit(q, "page", default=1, maximum=100_000)
    rows = await read(request, products.search, search, category=category, tag=tag,
                      limit=PAGE + 1, offset=(page - 1) * PAGE)
    params = {k: v for k, v in q.items() if k != "page" and v}
    return render(request, "products.html", {
        "rows": rows[:PAGE], "has_more": len(rows) > PAGE, "page": page, "params": params,
        "f": {k: q.get(k, "") for k in ("q", "category", "tag")},
        "category_choices": [(c, c) for c in await read(request, products.categories)],
        "tag_choices": [(t, t) for t in await read(request, products.tags)]})


async def _form_page(request: Request, form: ProductForm, *, sku: str | None,
                     errors: list[Problem] | None = None, status_code: int = 200,
                     kit_form: KitForm | None = None,
                     kit_errors: list[Problem] | None = None) -> Response:
    has_image = sku is not None and await read(
        request, product_images.exists, sku, data_dir=web(request).settings.data_dir)
    if sku is not None and kit_form is None:
        kit_form = KitForm.of(await read(request, kits.kit_of, sku))
    in_kits = await read(request, kits.kits_containing, sku) if sku is not None else []
    return render(request, "product_form.html", {
        "form": form, "sku": sku, "errors": errors or [], "has_image": has_image,
        "form_errors": [p for p in errors or [] if p.field == ""],
        "kit_form": kit_form, "kit_errors": kit_errors or [], "in_kits": in_kits,
        "kit_form_errors": [p for p in kit_errors or [] if p.field == ""],
        "warehouses": await read(request, queries.warehouse_ids)}, status_code=status_code)


def _product_url(sku: str) -> str:
    return "/products/sku/" + quote(sku, safe="")


@requires(Permission.PRODUCTS_EDIT)
async def product_new(request: Request) -> Response:
    """An empty product form."""
    return await _form_page(request, ProductForm(), sku=None)


@requires(Permission.PRODUCTS_EDIT)
async def product_create(request: Request) -> Response:
    """Create a product; problems are shown next to their fields and nothing is written."""
    return await _save(request, None)


@requires(Permission.PRODUCTS_VIEW)
async def product_page(request: Request) -> Response:
    """One product's form (read-only for roles that may not edit)."""
    sku = request.path_params["sku"]
    product = await read(request, products.get, sku)
    if product is None:
        raise HTTPException(404)
    return await _form_page(request, ProductForm.of(product), sku=sku)


@requires(Permission.PRODUCTS_EDIT)
async def product_update(request: Request) -> Response:
    """Save a product's form; cost and price changes are audited as old → new."""
    sku = request.path_params["sku"]
    if await read(request, products.get, sku) is None:
        raise HTTPException(404)
    return await _save(request, sku)


async def _save(request: Request, sku: str | None) -> Response:
    ctx, actor = web(request), request.state.user.username
    warehouse_ids = await read(request, queries.warehouse_ids)
    form = ProductForm.read(await request.form(), warehouse_ids)
    try:
        saved = await write(request, products.save, form, sku=sku, actor=actor, now=ctx.now())
    except InputError as err:
        return await _form_page(request, form, sku=sku, errors=err.problems, status_code=400)
    session.flash(request, "products.saved", sku=saved)
    return RedirectResponse(_product_url(saved), status_code=303)


# ---------------------------------------------------------------------------- kit
def _save_kit(conn: Connection, sku: str, form: KitForm, *, actor: str, now: datetime) -> bool:
    """Set the kit's components; the open orders that carry it and are not at a station yet
    reserve its new components in the same transaction."""
    changed = kits.save(conn, sku, form, actor=actor, now=now)
    if changed:
        reconcile(conn, kits.open_orders(conn, sku, ("pending", "exception")), now=now)
    return changed


@requires(Permission.PRODUCTS_EDIT)
async def kit_update(request: Request) -> Response:
    """Save a product's kit components (组合商品); problems are shown next to their rows and
    nothing is written."""
    ctx, actor = web(request), request.state.user.username
    sku = request.path_params["sku"]
    product = await read(request, products.get, sku)
    if product is None:
        raise HTTPException(404)
    form = KitForm.read(await request.form())
    try:
        await write(request, _save_kit, sku, form, actor=actor, now=ctx.now())
    except InputError as err:
        return await _form_page(request, ProductForm.of(product), sku=sku, kit_form=form,
                                kit_errors=err.problems, status_code=400)
    session.flash(request, "products.kit_saved", sku=sku)
    return RedirectResponse(_product_url(sku) + "#kit", status_code=303)


# ---------------------------------------------------------------------------- import
def _report_lines(report: ImportReport, lang: str) -> list[tuple[int, str, str]]:
    """(line, column, reason in ``lang``) of the report's first problems."""
    out = []
    for e in report.errors[:MAX_REPORT_ROWS]:
        zh, sep, en = e.message.partition(" / ")
        out.append((e.line, e.column, (en if lang == "en" else zh) if sep else e.message))
    return out


async def _import_page(request: Request, *, report: ImportReport | None = None,
                       file_error: Problem | None = None, dry_run: bool = False,
                       status_code: int = 200) -> Response:
    lang = session.lang(request)
    return render(request, "product_import.html", {
        "report": report, "lines": _report_lines(report, lang) if report else [],
        "max_lines": MAX_REPORT_ROWS, "file_error": file_error, "dry_run": dry_run,
        "columns": [header for _name, header in COLUMNS]}, status_code=status_code)


@requires(Permission.PRODUCTS_EDIT)
async def import_page(request: Request) -> Response:
    """The upload form, with the columns a catalog file may have."""
    return await _import_page(request)


def _local_name(file_name: str) -> str:
    """The uploaded file's name, safe as a file name in a fresh directory (the parser's
    messages name it; its suffix picks CSV or XLSX)."""
    name = file_name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if name in ("", ".", "..") or "\x00" in name or len(name.encode()) > 200:
        return "upload" + Path(name).suffix[:10]
    return name


def _run_import(conn: Connection, data: bytes, file_name: str, *, actor: str,
                now: datetime, dry_run: bool) -> ImportReport:
    with tempfile.TemporaryDirectory(prefix="packline-import-") as tmp:
        path = Path(tmp) / _local_name(file_name)
        path.write_bytes(data)
        return cloud_catalog.import_catalog(conn, path, actor=actor, now=now, dry_run=dry_run,
                                            file_name=file_name)


@requires(Permission.PRODUCTS_EDIT)
async def import_submit(request: Request) -> Response:
    """Check an uploaded catalog file and import it when every row is good."""
    ctx, actor = web(request), request.state.user.username
    form = await request.form()
    upload = form.get("file")
    dry_run = form.get("dry_run") == "1"
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _import_page(request, file_error=Problem(
            "file", "请选择要导入的文件 (.csv 或 .xlsx)", "choose a file to import (.csv or .xlsx)"),
            dry_run=dry_run, status_code=400)
    data = await upload.read()
    name = Path(upload.filename).name[:200]
    try:
        report = await write(request, _run_import, data, name, actor=actor, now=ctx.now(),
                             dry_run=dry_run)
    except ConfigError as err:
        zh, _sep, en = str(err).partition(" / ")
        return await _import_page(request, file_error=Problem("file", zh, en or zh),
                                  dry_run=dry_run, status_code=400)
    return await _import_page(request, report=report, dry_run=dry_run,
                              status_code=400 if report.errors else 200)


# ---------------------------------------------------------------------------- export
def _export(conn: Connection, suffix: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="packline-export-") as tmp:
        path = Path(tmp) / f"products{suffix}"
        cloud_catalog.export_catalog(conn, path)
        return path.read_bytes()


_MEDIA = {".csv": "text/csv; charset=utf-8",
          ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


async def _export_response(request: Request, suffix: str) -> Response:
    data = await read(request, _export, suffix)
    return Response(data, media_type=_MEDIA[suffix], headers={
        "Content-Disposition": f'attachment; filename="packline-products{suffix}"'})


@requires(Permission.PRODUCTS_VIEW)
async def export_csv(request: Request) -> Response:
    """Every product as a catalog CSV (UTF-8 with BOM, cells neutralised)."""
    return await _export_response(request, ".csv")


@requires(Permission.PRODUCTS_VIEW)
async def export_xlsx(request: Request) -> Response:
    """Every product as a catalog workbook (every cell text)."""
    return await _export_response(request, ".xlsx")


# ---------------------------------------------------------------------------- image
NO_IMAGE_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="120" '
                b'viewBox="0 0 120 120"><rect width="120" height="120" fill="#eee"/>'
                b'<path d="M30 85l20-25 15 18 10-12 15 19z" fill="#bbb"/></svg>')
"""What a SKU without an image shows (a list can ask for every SKU's image)."""


@requires(Permission.PRODUCTS_VIEW)
async def image_get(request: Request) -> Response:
    """The SKU's image, or a grey placeholder when it has none."""
    found = await read(request, product_images.load, request.path_params["sku"],
                       data_dir=web(request).settings.data_dir)
    data, media = found or (NO_IMAGE_SVG, "image/svg+xml")
    return Response(data, media_type=media, headers={
        "Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"})


@requires(Permission.PRODUCTS_EDIT)
async def image_upload(request: Request) -> Response:
    """Replace the SKU's image; a bad file is reported on the product's page."""
    ctx, actor = web(request), request.state.user.username
    sku = request.path_params["sku"]
    product = await read(request, products.get, sku)
    if product is None:
        raise HTTPException(404)
    form = await request.form()
    upload = form.get("image")
    data = await upload.read(product_images.MAX_IMAGE_BYTES + 1) \
        if isinstance(upload, UploadFile) else b""
    try:
        await write(request, product_images.save, sku, data, data_dir=ctx.settings.data_dir,
                    actor=actor, now=ctx.now())
    except InputError as err:
        return await _form_page(request, ProductForm.of(product), sku=sku, errors=err.problems,
                                status_code=400)
    session.flash(request, "products.image_saved", sku=sku)
    return RedirectResponse(_product_url(sku), status_code=303)


routes: list[BaseRoute] = [
    Route("/products/image/{sku:path}", image_get, methods=["GET"]),
    Route("/products/image/{sku:path}", image_upload, methods=["POST"]),
    Route("/products", product_list, methods=["GET"]),
    Route("/products/new", product_new, methods=["GET"]),
    Route("/products/new", product_create, methods=["POST"]),
    Route("/products/import", import_page, methods=["GET"]),
    Route("/products/import", import_submit, methods=["POST"]),
    Route("/products/export.csv", export_csv, methods=["GET"]),
    Route("/products/export.xlsx", export_xlsx, methods=["GET"]),
    Route("/products/kit/{sku:path}", kit_update, methods=["POST"]),
    Route("/products/sku/{sku:path}", product_page, methods=["GET"]),
    Route("/products/sku/{sku:path}", product_update, methods=["POST"]),
]
