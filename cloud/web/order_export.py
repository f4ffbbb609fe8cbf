"""订单导出: the order list's orders, with its filters, as an XLSX or CSV file made in the
background while the page shows how far it got.

A year of orders is a million rows: too long to build inside a request, so
:func:`start` records a job (``export_jobs``) and hands the work to a thread of the web
process; the job's row carries the progress (rows written of the rows counted) that the
exports page polls, and the file lands in the data directory's ``exports/`` — written as
``<id>.<fmt>.part`` and renamed when complete, so a half-written file is never offered. A
job whose process died stops moving and shows as interrupted after :data:`STALE`. Each
person runs one export at a time; files older than :data:`KEEP` are deleted.

Rows are read in one snapshot, streamed (the database's cursor, never the whole year in
memory), with each batch's lines and waybills read by order id. The receiver is the masked
one the list shows; the phone, name and address in full never leave the database.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cloud import audit
from cloud.config import DISPLAY_TZ
from cloud.db import write_transaction
from cloud.db.schema import shops
from cloud.db.schema_orders import order_lines, orders, waybills
from cloud.db.schema_reports import export_jobs
from cloud.errors import InputError, Problem
from cloud.reports import export
from cloud.web import queries
from cloud.web.i18n import gettext

log = logging.getLogger(__name__)

FORMATS: Final = ("xlsx", "csv")
"""File kinds an export can be."""
BATCH: Final = 2000
"""Orders read (and their lines looked up) per round trip; progress is saved after each."""
STALE: Final = timedelta(minutes=2)
"""A running job whose progress has not moved for this long died with its process."""
KEEP: Final = timedelta(days=7)
"""Finished files are deleted this long after they were asked for."""
RUNNING, DONE, FAILED, INTERRUPTED = "running", "done", "failed", "interrupted"
"""A job's states (interrupted is read from a running job that stopped moving)."""
COLUMNS: Final = (
    ("订单号", "Order no.", "text"), ("平台", "Platform", "text"), ("店铺", "Shop", "text"),
    ("状态", "State", "text"), ("下单时间", "Ordered", "datetime"),
    ("实付(元)", "Paid (yuan)", "yuan"), ("商品金额(元)", "Goods (yuan)", "yuan"),
    ("件数", "Units", "int"), ("商品", "Items", "text"),
    ("收件人(已脱敏)", "Receiver (masked)", "text"), ("买家留言", "Buyer note", "text"),
    ("卖家备注", "Seller note", "text"), ("快递", "Courier", "text"),
    ("运单号", "Waybill no.", "text"), ("发货截止", "Ship by", "datetime"),
    ("异常", "Exception", "text"))
"""(Chinese heading, English heading, kind) of each column, in order."""
ITEM_SEPARATOR: Final = "；"
"""Between the items of one order in the 商品 cell."""


@dataclass(frozen=True, slots=True)
class Job:
    """One export as its row stands."""

    id: str
    fmt: str
    params: str
    """The filters as JSON (:func:`_params`)."""
    status: str
    done_rows: int
    total_rows: int | None
    file_name: str
    size_bytes: int | None
    error: str | None
    requested_by: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    def state(self, now: datetime) -> str:
        """running, done, failed, or interrupted (running, but stopped moving)."""
        if self.status == RUNNING and now - self.updated_at > STALE:
            return INTERRUPTED
        return self.status

    def percent(self) -> int:
        """Whole per cent written (100 when done; 0 before the count is known)."""
        if self.status == DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(99, self.done_rows * 100 // self.total_rows)

    def expired(self, now: datetime) -> bool:
        """The file was deleted (older than :data:`KEEP`)."""
        return now - self.created_at > KEEP


def columns(lang: str) -> list[tuple[str, str]]:
    """(heading, kind) in ``lang``."""
    return [(zh if lang == "zh" else en, kind) for zh, en, kind in COLUMNS]


def _items(lines: Sequence[Any]) -> tuple[int, int, str]:
    """Goods amount (fen, gifts aside), units and the items text of one order's lines."""
    goods = sum(int(ln.price_fen) * int(ln.qty) for ln in lines if not ln.is_gift)
    units = sum(int(ln.qty) for ln in lines)
    parts = []
    for ln in lines:
        name = ln.sku or ln.outer_id or ln.title
        parts.append(f"{name}×{ln.qty}" + ("(赠品)" if ln.is_gift else ""))
    return goods, units, ITEM_SEPARATOR.join(parts)


def rows(conn: Connection, flt: queries.OrderFilter, lang: str,
         progress: Callable[[int], None] | None = None) -> Iterator[list[Any]]:
    """The export's rows in the list's order (newest first, or most urgent first), raw
    values by :data:`COLUMNS` kind (money in fen); ``progress(n)`` after every batch."""
    o = orders.c
    query = queries.filtered(sa.select(
        o.id, o.platform_order_id, o.platform, shops.c.name, o.state, o.ordered_at, o.pay_fen,
        o.receiver_masked, o.buyer_note, o.seller_note, o.platform_carrier,
        o.platform_tracking, o.ship_by, o.exception_code)
        .select_from(orders.join(shops, shops.c.id == o.shop_id)), flt)
    order = ((o.ship_by.is_(None), o.ship_by.asc(), o.id) if flt.by_ship_by
             else (o.ordered_at.desc(), o.id.desc()))
    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(
        query.order_by(*order))
    done = 0
    for batch in result.partitions(BATCH):
        ids = [r.id for r in batch]
        lines: dict[str, list[Any]] = {}
        for ln in conn.execute(sa.select(
                order_lines.c.order_id, order_lines.c.sku, order_lines.c.outer_id,
                order_lines.c.title, order_lines.c.qty, order_lines.c.price_fen,
                order_lines.c.is_gift).where(order_lines.c.order_id.in_(ids))
                .order_by(order_lines.c.order_id, order_lines.c.line_no)):
            lines.setdefault(ln.order_id, []).append(ln)
        bills = {w.order_id: (w.carrier_code, w.waybill_no) for w in conn.execute(
            sa.select(waybills.c.order_id, waybills.c.carrier_code, waybills.c.waybill_no)
            .where(waybills.c.order_id.in_(ids), waybills.c.cancelled_at.is_(None)))}
        for r in batch:
            goods, units, items = _items(lines.get(r.id, []))
            carrier, number = bills.get(r.id, (r.platform_carrier, r.platform_tracking))
            yield [r.platform_order_id, gettext(lang, f"platform.{r.platform}"), r.name,
                   gettext(lang, f"state.{r.state}"), r.ordered_at, int(r.pay_fen), goods,
                   units, items, queries.receiver_text(r.receiver_masked), r.buyer_note,
                   r.seller_note, carrier, number, r.ship_by,
                   gettext(lang, f"exception.{r.exception_code}") if r.exception_code else ""]
        done += len(batch)
        if progress is not None:
            progress(done)


def count(conn: Connection, flt: queries.OrderFilter) -> int:
    """How many orders the export will write."""
    query = queries.filtered(sa.select(sa.func.count()).select_from(orders), flt)
    return int(conn.execute(query).scalar_one())


def write_file(path: Path, fmt: str, heads: Sequence[tuple[str, str]],
               body: Iterator[Sequence[Any]]) -> int:
    """``body`` into ``path`` as XLSX (typed cells, frozen bold headings, sized columns; a
    full sheet continues on the next) or CSV (UTF-8 with BOM, formula-safe); rows written."""
    if fmt == "xlsx":
        return export.xlsx_file(path, "订单", heads, body)
    n = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        for line in export.csv_stream(heads, body):
            out.write(line)
            n += 1
    return max(0, n - 1)


def _params(flt: Mapping[str, str]) -> str:
    """The filters as kept with the job (a search term is not kept: it may be a buyer's
    nickname)."""
    return json.dumps({k: ("…" if k == "q" else v) for k, v in sorted(flt.items()) if v},
                      ensure_ascii=False)


def _job(r: Any) -> Job:
    return Job(r.id, r.fmt, r.params, r.status, int(r.done_rows), r.total_rows, r.file_name,
               r.size_bytes, r.error, r.requested_by, r.created_at, r.updated_at, r.finished_at)


def jobs_of(conn: Connection, user: str, *, limit: int = 20) -> list[Job]:
    """``user``'s latest exports, newest first."""
    j = export_jobs.c
    return [_job(r) for r in conn.execute(
        sa.select(export_jobs).where(j.requested_by == user)
        .order_by(j.created_at.desc(), j.id.desc()).limit(limit))]


def job(conn: Connection, job_id: str) -> Job | None:
    """One export, or None."""
    r = conn.execute(sa.select(export_jobs).where(export_jobs.c.id == job_id)).first()
    return _job(r) if r is not None else None


def file_path(data_dir: Path, j: Job) -> Path:
    """Where a finished export's file is."""
    return data_dir / "exports" / f"{j.id}.{j.fmt}"


@dataclass(frozen=True, slots=True)
class Exporter:
    """Starts and runs exports: the database, the data directory and the app's one clock."""

    engine: Engine
    data_dir: Path
    now: Callable[[], datetime]

    def start(self, flt: queries.OrderFilter, form: Mapping[str, str], *, fmt: str, user: str,
              lang: str, run: Callable[[Callable[[], None]], None] | None = None) -> str:
        """Record the job, audit it and start it (``run(work)``; a daemon thread unless
        given); refused while ``user`` has one running. Returns the job id."""
        if fmt not in FORMATS:
            raise InputError([Problem("", "请选择 XLSX 或 CSV", "choose XLSX or CSV")])
        now = self.now()
        job_id = uuid.uuid4().hex
        name = f"orders-{now.astimezone(DISPLAY_TZ):%Y%m%d-%H%M%S}.{fmt}"
        with write_transaction(self.engine) as conn:
            if any(j.state(now) == RUNNING for j in jobs_of(conn, user, limit=5)):
                raise InputError([Problem("", "已有一个导出正在进行，完成后再导出",
                                          "an export of yours is still running; wait for it")])
            conn.execute(sa.insert(export_jobs).values(
                id=job_id, kind="orders", fmt=fmt, params=_params(form), requested_by=user,
                status=RUNNING, done_rows=0, file_name=name, created_at=now, updated_at=now))
            audit.record(conn, now, user, "orders.export", job_id,
                         {"format": fmt, "filters": _params(form)})
        self._clean(now)
        work = lambda: self.run(job_id, flt, fmt, lang)  # noqa: E731
        if run is None:
            threading.Thread(target=work, name=f"export-{job_id[:8]}", daemon=True).start()
        else:
            run(work)
        return job_id

    def _set(self, job_id: str, **values: Any) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(sa.update(export_jobs).where(export_jobs.c.id == job_id)
                         .values(updated_at=self.now(), **values))

    def run(self, job_id: str, flt: queries.OrderFilter, fmt: str, lang: str) -> None:
        """Count, write the file, rename it into place and mark the job done (or failed
        with the reason; the half file removed)."""
        folder = self.data_dir / "exports"
        part = folder / f"{job_id}.{fmt}.part"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with self.engine.connect() as conn, conn.begin():
                total = count(conn, flt)
                self._set(job_id, total_rows=total)
                n = write_file(part, fmt, columns(lang), rows(
                    conn, flt, lang, lambda done: self._set(job_id, done_rows=done)))
            final = folder / f"{job_id}.{fmt}"
            part.replace(final)
            self._set(job_id, status=DONE, done_rows=n, size_bytes=final.stat().st_size,
                      finished_at=self.now())
        except Exception as err:
            log.exception("export %s failed", job_id)
            part.unlink(missing_ok=True)
            self._set(job_id, status=FAILED, error=f"{type(err).__name__}: {err}"[:400],
                      finished_at=self.now())

    def _clean(self, now: datetime) -> None:
        """Delete the files of exports older than :data:`KEEP`."""
        folder = self.data_dir / "exports"
        with self.engine.connect() as conn:
            old = list(conn.execute(sa.select(export_jobs.c.id).where(
                export_jobs.c.created_at < now - KEEP)).scalars())
        for job_id in old:
            for fmt in FORMATS:
                (folder / f"{job_id}.{fmt}").unlink(missing_ok=True)
