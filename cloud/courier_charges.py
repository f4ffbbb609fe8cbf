"""快递费 / 快递对账 (courier charges and the courier statement): what each shipped parcel
costs by its carrier's rate card, and a statement per carrier and period to check the
courier's bill against.

A rate card (运费模板) is entered per carrier and effective day: one row per destination
province (``*`` for every other province) with the first weight (首重) and its price and each
additional step (续重) and its price. A new card for a carrier replaces the old one from its
day; parcels shipped before keep the old price. A parcel's charge is derived from its
``station_shipments`` row (carrier, weight, day shipped in China Standard Time) and the
receiver's province (``orders.receiver_masked``, not masked; matched by its short name, so
``浙江省`` takes the card's ``浙江`` row), never stored: a card entered
late, or corrected, reprices the parcels it covers, which is what checking a bill needs.
A parcel without a weight, or without a card or row for it, is 未计费 with the reason.

The courier's bill (CSV) is compared with the statement and not stored: the file is the
record finance keeps, and only an audit entry says it was checked. Amounts are integer fen;
every function writes in the caller's transaction and reports input problems all at once
(:class:`InputError`), writing nothing then.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud import audit
from cloud.db.schema import station_shipments
from cloud.db.schema_orders import orders
from cloud.db.schema_purchasing import courier_rates
from cloud.errors import InputError, Problem
from cloud.payables import STATEMENT_MAX_DAYS, day_start, local_day
from edge.domain.money import YuanError, yuan_to_fen

CARRIERS: Final = ("ZTO", "YTO", "STO", "YUNDA", "JT", "SF", "EMS", "JD", "DBL")
"""Carrier codes a rate card may be entered for (as the stations report them)."""
ANY_PROVINCE: Final = "*"
"""The row of a card for every province without a row of its own."""
MAX_GRAMS: Final = 100_000
"""Largest first weight or step (100 kg): a typo guard."""
MAX_PRICE_FEN: Final = 100_000
"""Largest first or step price (1,000 元): a typo guard."""
MAX_ROWS: Final = 100
"""Most rows on one card (there are 34 provincial divisions)."""
PROVINCE_MAX: Final = 16
"""Longest province name kept."""
GRAMS_PER_KG: Final = 1000
"""Grams in a kilogram (bills give weights in kg)."""
ROW_COLUMNS: Final = 5
"""Columns of a card row: province, first grams, first price, step grams, step price."""
PROVINCE_SUFFIXES: Final = ("特别行政区", "壮族自治区", "回族自治区", "维吾尔自治区", "自治区",
                             "省", "市")
"""Endings dropped to match a province (``浙江省`` on the order, ``浙江`` on the card)."""
MAX_BILL_ROWS: Final = 200_000
"""Most lines read from one courier bill."""

UNBILLED_NO_WEIGHT: Final = "no_weight"
"""未计费: the station sent no weight."""
UNBILLED_NO_CARD: Final = "no_card"
"""未计费: no card for the carrier on the day shipped."""
UNBILLED_NO_ROW: Final = "no_row"
"""未计费: the card has neither a row for the province nor a ``*`` row."""
UNBILLED_REASONS: Final = {UNBILLED_NO_WEIGHT: ("无重量", "no weight"),
                           UNBILLED_NO_CARD: ("无运费模板", "no rate card"),
                           UNBILLED_NO_ROW: ("模板无此省份", "no row for the province")}
"""Why a parcel has no charge, in Chinese and English."""


@dataclass(frozen=True, slots=True)
class Rate:
    """One row of a card: first weight and price, then each step and its price."""

    province: str
    first_g: int
    first_fen: int
    step_g: int
    step_fen: int

    def charge(self, weight_g: int) -> int:
        """First price + ceil((weight − first) / step) × step price; at or under the first
        weight, the first price."""
        if weight_g <= self.first_g:
            return self.first_fen
        steps = -(-(weight_g - self.first_g) // self.step_g)
        return self.first_fen + steps * self.step_fen


@dataclass(frozen=True, slots=True)
class Card:
    """A carrier's card effective from a day."""

    carrier: str
    effective_from: date
    rates: dict[str, Rate]

    def rate_for(self, province: str) -> Rate | None:
        """The province's row, else the ``*`` row, else none."""
        return self.rates.get(province) or self.rates.get(ANY_PROVINCE)


@dataclass(frozen=True, slots=True)
class Parcel:
    """A shipped parcel on the statement with its charge (``None``: 未计费, ``unbilled``
    says why)."""

    on: date
    waybill_no: str
    order_id: str
    province: str
    weight_g: int | None
    charge_fen: int | None
    unbilled: str | None = None


@dataclass(frozen=True, slots=True)
class CourierStatement:
    """A carrier's parcels shipped ``start``..``end`` (days, inclusive)."""

    carrier: str
    start: date
    end: date
    parcels: list[Parcel]

    @property
    def count(self) -> int:
        """Parcels shipped."""
        return len(self.parcels)

    @property
    def weight_g(self) -> int:
        """Their total weight (those weighed)."""
        return sum(p.weight_g or 0 for p in self.parcels)

    @property
    def charge_fen(self) -> int:
        """Their total charge (those charged)."""
        return sum(p.charge_fen or 0 for p in self.parcels)

    @property
    def unbilled(self) -> list[Parcel]:
        """Parcels without a charge."""
        return [p for p in self.parcels if p.charge_fen is None]

    def by_province(self) -> list[tuple[str, int, int, int]]:
        """(province, parcels, grams, fen) per province, most charged first."""
        acc: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for p in self.parcels:
            row = acc[p.province]
            row[0] += 1
            row[1] += p.weight_g or 0
            row[2] += p.charge_fen or 0
        return sorted(((k, v[0], v[1], v[2]) for k, v in acc.items()),
                      key=lambda r: (-r[3], r[0]))


def province_key(name: str) -> str:
    """A province's short name: ``浙江省`` → ``浙江``, ``广西壮族自治区`` → ``广西``,
    ``上海市`` → ``上海``; ``*`` and unknown text stay as they are."""
    name = name.strip()
    for suffix in PROVINCE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _problem_row(n: int, zh: str, en: str) -> Problem:
    return Problem("rows", f"第 {n} 行: {zh}", f"row {n}: {en}")


def parse_rows(text: str) -> tuple[list[Rate], list[Problem]]:
    """Rows ``省份 首重克 首重价 续重克 续重价`` (prices in yuan), one a line; every bad row
    is reported."""
    rates: list[Rate] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    lines = [(n, ln.strip()) for n, ln in enumerate(text.splitlines(), 1) if ln.strip()]
    if not lines:
        problems.append(Problem("rows", "请至少填写一行", "enter at least one row"))
    if len(lines) > MAX_ROWS:
        problems.append(Problem("rows", f"最多 {MAX_ROWS} 行", f"at most {MAX_ROWS} rows"))
        return [], problems
    for n, line in lines:
        parts = re.split(r"[\s,，\t]+", line)
        if len(parts) != ROW_COLUMNS:
            problems.append(_problem_row(n, "应为 省份 首重克 首重价 续重克 续重价",
                                         "expected: province first-g first-price step-g "
                                         "step-price"))
            continue
        province, first_g, first_p, step_g, step_p = parts
        province = province_key(province)
        bad = False
        if len(province) > PROVINCE_MAX:
            problems.append(_problem_row(n, "省份太长", "province too long"))
            bad = True
        if province in seen:
            problems.append(_problem_row(n, f"{province} 重复", f"{province} repeated"))
            bad = True
        grams = []
        for g in (first_g, step_g):
            if not g.isdigit() or not 0 < int(g) <= MAX_GRAMS:
                problems.append(_problem_row(n, f"克数应为 1 到 {MAX_GRAMS} 的整数",
                                             f"grams must be a whole number 1 to {MAX_GRAMS}"))
                bad = True
                break
            grams.append(int(g))
        prices = []
        for p in (first_p, step_p):
            try:
                fen = yuan_to_fen(p)
            except YuanError:
                fen = None
            if fen is None or not 0 <= fen <= MAX_PRICE_FEN:
                problems.append(_problem_row(n, "价格应为元, 最多两位小数, 如 3.00",
                                             "a price in yuan with at most 2 decimals, e.g. 3.00"))
                bad = True
                break
            prices.append(fen)
        if not bad:
            seen.add(province)
            rates.append(Rate(province, grams[0], prices[0], grams[1], prices[1]))
    return rates, problems


def save_card(conn: Connection, carrier: str, *, effective_from: str, rows: str, actor: str,
              now: datetime) -> int:
    """Enter a carrier's card from a day (replacing a card entered for that same day);
    returns the number of rows. Nothing is written if any row is bad."""
    problems: list[Problem] = []
    if carrier not in CARRIERS:
        problems.append(Problem("carrier", "请选择快递公司", "choose a carrier"))
    day: date | None = None
    try:
        day = date.fromisoformat(effective_from.strip())
    except ValueError:
        problems.append(Problem("effective_from", "日期格式应为 2026-12-01",
                                "a date like 2026-12-01"))
    rates, row_problems = parse_rows(rows)
    problems.extend(row_problems)
    if problems:
        raise InputError(problems)
    assert day is not None
    c = courier_rates.c
    replaced = conn.execute(sa.delete(courier_rates).where(
        c.carrier == carrier, c.effective_from == day)).rowcount
    conn.execute(sa.insert(courier_rates), [
        {"carrier": carrier, "effective_from": day, "province": r.province,
         "first_g": r.first_g, "first_fen": r.first_fen, "step_g": r.step_g,
         "step_fen": r.step_fen, "created_by": actor, "created_at": now} for r in rates])
    audit.record(conn, now, actor, "courier_rates.save", carrier,
                 {"effective_from": day.isoformat(), "rows": len(rates),
                  "replaced_rows": int(replaced or 0)})
    return len(rates)


def cards(conn: Connection, carrier: str | None = None) -> list[Card]:
    """Every card (of a carrier), oldest first."""
    c = courier_rates.c
    q = sa.select(courier_rates).order_by(c.carrier, c.effective_from, c.province)
    if carrier is not None:
        q = q.where(c.carrier == carrier)
    grouped: dict[tuple[str, date], dict[str, Rate]] = {}
    for r in conn.execute(q):
        grouped.setdefault((r.carrier, r.effective_from), {})[r.province] = Rate(
            r.province, int(r.first_g), int(r.first_fen), int(r.step_g), int(r.step_fen))
    return [Card(k[0], k[1], v) for k, v in grouped.items()]


def _card_on(cards_oldest_first: list[Card], day: date) -> Card | None:
    found = None
    for card in cards_oldest_first:
        if card.effective_from <= day:
            found = card
    return found


def statement(conn: Connection, carrier: str, start: date, end: date) -> CourierStatement:
    """The carrier's parcels shipped ``start``..``end`` (China Standard Time days) with
    their charges, in shipping order."""
    problems: list[Problem] = []
    if carrier not in CARRIERS:
        problems.append(Problem("carrier", "请选择快递公司", "choose a carrier"))
    if end < start:
        problems.append(Problem("to", "结束日期不能早于开始日期", "the end is before the start"))
    elif (end - start).days > STATEMENT_MAX_DAYS:
        problems.append(Problem("to", "对账期间最长三年", "a statement covers at most three years"))
    if problems:
        raise InputError(problems)
    s = station_shipments.c
    rows = conn.execute(
        sa.select(s.shipped_at, s.waybill_no, s.order_id, s.weight_g, orders.c.receiver_masked)
        .select_from(station_shipments.outerjoin(orders, orders.c.id == s.order_id))
        .where(s.carrier == carrier, s.shipped_at >= day_start(start),
               s.shipped_at < day_start(end + timedelta(days=1)))
        .order_by(s.shipped_at, s.waybill_no)).all()
    its_cards = cards(conn, carrier)
    parcels = []
    for r in rows:
        day = local_day(r.shipped_at)
        province = province_key(str((r.receiver_masked or {}).get("province") or ""))
        weight = None if r.weight_g is None else int(r.weight_g)
        card = _card_on(its_cards, day)
        rate = card.rate_for(province) if card else None
        reason = (UNBILLED_NO_WEIGHT if weight is None else UNBILLED_NO_CARD if card is None
                  else UNBILLED_NO_ROW if rate is None else None)
        charge = rate.charge(weight) if rate is not None and weight is not None else None
        parcels.append(Parcel(day, r.waybill_no, r.order_id, province, weight, charge, reason))
    return CourierStatement(carrier, start, end, parcels)


def order_charges(conn: Connection, order_ids: list[str]) -> dict[str, tuple[int, int]]:
    """Per order (of these ids) with parcels: (Σ charge of its parcels in fen, parcels
    未计费), each parcel charged as :func:`statement` charges it (the carrier's card on the
    day shipped, the receiver's province, the parcel's weight)."""
    if not order_ids:
        return {}
    s = station_shipments.c
    rows = conn.execute(
        sa.select(s.order_id, s.carrier, s.shipped_at, s.weight_g, orders.c.receiver_masked)
        .select_from(station_shipments.outerjoin(orders, orders.c.id == s.order_id))
        .where(s.order_id.in_(order_ids))).all()
    if not rows:
        return {}
    by_carrier: dict[str, list[Card]] = defaultdict(list)
    for each in cards(conn):
        by_carrier[each.carrier].append(each)
    out: dict[str, tuple[int, int]] = {}
    for r in rows:
        province = province_key(str((r.receiver_masked or {}).get("province") or ""))
        card = _card_on(by_carrier.get(r.carrier, []), local_day(r.shipped_at))
        rate = card.rate_for(province) if card else None
        fen, unbilled = out.get(r.order_id, (0, 0))
        if rate is None or r.weight_g is None:
            out[r.order_id] = (fen, unbilled + 1)
        else:
            out[r.order_id] = (fen + rate.charge(int(r.weight_g)), unbilled)
    return out


def orders_shipped_with(conn: Connection, carrier: str, since: date) -> list[str]:
    """The orders with a parcel of ``carrier`` shipped on or after the day ``since`` (what a
    card from that day reprices)."""
    s = station_shipments.c
    return list(conn.execute(sa.select(s.order_id).where(
        s.carrier == carrier, s.shipped_at >= day_start(since)).distinct()).scalars())


@dataclass(frozen=True, slots=True)
class BillLine:
    """A line of the courier's bill: waybill, weight (grams, if given), amount (fen)."""

    waybill_no: str
    weight_g: int | None
    amount_fen: int


@dataclass(frozen=True, slots=True)
class Difference:
    """A waybill on both sides whose amount or weight differs (ours vs theirs)."""

    waybill_no: str
    ours_g: int | None
    theirs_g: int | None
    ours_fen: int | None
    theirs_fen: int

    @property
    def difference_fen(self) -> int:
        """Theirs − ours (positive: the courier asks for more)."""
        return self.theirs_fen - (self.ours_fen or 0)


@dataclass(frozen=True, slots=True)
class Comparison:
    """The courier's bill against our statement."""

    matched: list[str] = field(default_factory=list)
    """Waybills on both sides, same amount and weight."""
    amount_differs: list[Difference] = field(default_factory=list)
    weight_differs: list[Difference] = field(default_factory=list)
    """Same amount, different weight."""
    not_shipped: list[BillLine] = field(default_factory=list)
    """Billed, but not shipped by us with this carrier in the period."""
    not_billed: list[Parcel] = field(default_factory=list)
    """Shipped by us, not on the bill."""
    ours_fen: int = 0
    """Our total charge of the period."""
    theirs_fen: int = 0
    """The bill's total."""


_HEADERS: Final = {
    "waybill_no": ("waybill_no", "waybill", "运单号", "快递单号", "单号"),
    "weight_g": ("weight_g", "重量(g)", "重量（g）", "重量克"),
    "weight_kg": ("weight_kg", "重量", "重量(kg)", "重量（kg）", "计费重量"),
    "amount": ("amount", "金额", "运费", "金额(元)", "金额（元）"),
}
"""Accepted headings of the bill's columns (English or Chinese)."""


def parse_bill(data: bytes) -> list[BillLine]:
    """The courier's bill: CSV (UTF-8, with or without BOM, or GB18030) with a heading row
    naming the waybill, the weight (grams ``weight_g``, or kg ``重量``) and the amount in
    yuan (``金额``); every bad line is reported."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("gb18030", errors="replace")
    reader = csv.reader(io.StringIO(text))
    head = next(reader, None)
    problems: list[Problem] = []
    cols: dict[str, int] = {}
    for i, h in enumerate(head or []):
        name = h.strip()
        for key, names in _HEADERS.items():
            if name in names and key not in cols:
                cols[key] = i
    if "waybill_no" not in cols or "amount" not in cols:
        raise InputError([Problem("bill", "账单须有 运单号 和 金额 两列",
                                  "the bill needs waybill_no and amount columns")])
    lines: list[BillLine] = []
    seen: set[str] = set()
    for n, row in enumerate(reader, 2):
        if not any(c.strip() for c in row):
            continue
        if len(lines) >= MAX_BILL_ROWS:
            problems.append(Problem("bill", f"最多 {MAX_BILL_ROWS} 行",
                                    f"at most {MAX_BILL_ROWS} lines"))
            break

        def cell(key: str, row: list[str] = row) -> str:
            i = cols.get(key)
            return row[i].strip() if i is not None and i < len(row) else ""

        waybill = cell("waybill_no")
        weight: int | None = None
        try:
            amount = yuan_to_fen(cell("amount"))
            if cell("weight_g"):
                weight = int(cell("weight_g"))
            elif cell("weight_kg"):
                weight = int((Decimal(cell("weight_kg")) * GRAMS_PER_KG).to_integral_value())
        except (YuanError, ValueError, InvalidOperation):
            amount = None
        if not waybill or amount is None or (weight is not None and weight < 0):
            problems.append(Problem("bill", f"第 {n} 行无法读取", f"line {n} cannot be read"))
            continue
        if waybill in seen:
            problems.append(Problem("bill", f"第 {n} 行: 运单号 {waybill} 重复",
                                    f"line {n}: waybill {waybill} repeated"))
            continue
        seen.add(waybill)
        lines.append(BillLine(waybill, weight, amount))
    if problems:
        raise InputError(problems)
    return lines


def compare(st: CourierStatement, bill: list[BillLine]) -> Comparison:
    """Each waybill on the bill against ours: equal, amount differs, weight differs (same
    amount), billed but not shipped by us; then what we shipped that is not billed."""
    ours = {p.waybill_no: p for p in st.parcels}
    out = Comparison(ours_fen=st.charge_fen, theirs_fen=sum(b.amount_fen for b in bill))
    billed = set()
    for b in bill:
        billed.add(b.waybill_no)
        p = ours.get(b.waybill_no)
        if p is None:
            out.not_shipped.append(b)
            continue
        diff = Difference(b.waybill_no, p.weight_g, b.weight_g, p.charge_fen, b.amount_fen)
        if p.charge_fen != b.amount_fen:
            out.amount_differs.append(diff)
        elif b.weight_g is not None and b.weight_g != p.weight_g:
            out.weight_differs.append(diff)
        else:
            out.matched.append(b.waybill_no)
    out.not_billed.extend(p for p in st.parcels if p.waybill_no not in billed)
    return out


def record_check(conn: Connection, st: CourierStatement, result: Comparison, *, filename: str,
                 actor: str, now: datetime) -> None:
    """Audit that a bill was checked (what was found); the bill itself is not stored."""
    audit.record(conn, now, actor, "courier_bill.check", st.carrier, {
        "from": st.start.isoformat(), "to": st.end.isoformat(), "file": filename[:200],
        "matched": len(result.matched), "amount_differs": len(result.amount_differs),
        "weight_differs": len(result.weight_differs), "not_shipped": len(result.not_shipped),
        "not_billed": len(result.not_billed), "ours_fen": result.ours_fen,
        "theirs_fen": result.theirs_fen})


def statement_xlsx(st: CourierStatement) -> bytes:
    """The statement as an XLSX workbook: a header block, one row per parcel (weight in
    grams and charge in yuan as numbers), the totals, then the subtotal per province; the
    column headings stay in view (frozen) and columns are sized."""
    import openpyxl
    from openpyxl.styles import Font

    from edge.domain.spreadsheet import xlsx_text_cell

    def yuan(fen: int | None) -> Decimal | None:
        return None if fen is None else Decimal(fen) / 100

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "快递对账"
    for label, value in (("快递公司", st.carrier),
                         ("期间", f"{st.start.isoformat()} — {st.end.isoformat()}")):
        ws.append([xlsx_text_cell(ws, label), xlsx_text_cell(ws, value)])
    ws.append([])
    ws.append(["日期", "运单号", "订单", "省份", "重量(克)", "运费(元)", "备注"])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    first_line = ws.max_row + 1
    for p in st.parcels:
        note = "未计费: " + UNBILLED_REASONS[p.unbilled][0] if p.unbilled else ""
        ws.append([p.on, xlsx_text_cell(ws, p.waybill_no), xlsx_text_cell(ws, p.order_id),
                   xlsx_text_cell(ws, p.province), p.weight_g, yuan(p.charge_fen),
                   xlsx_text_cell(ws, note) if note else None])
    ws.append([None, xlsx_text_cell(ws, f"合计 {st.count} 件"), None, None, st.weight_g,
               yuan(st.charge_fen), None])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    ws.append([])
    for province, count, grams, fen in st.by_province():
        ws.append([None, xlsx_text_cell(ws, "省份小计"), None, xlsx_text_cell(ws, province),
                   grams, yuan(fen), xlsx_text_cell(ws, f"{count} 件")])
    ws.freeze_panes = f"A{first_line}"  # the headings stay in view
    for row in ws.iter_rows(min_row=first_line):
        row[0].number_format = "yyyy-mm-dd"
        row[4].number_format = "#,##0"
        row[5].number_format = "#,##0.00"
    for letter, width in zip("ABCDEFG", (12, 20, 20, 10, 12, 12, 20), strict=True):
        ws.column_dimensions[letter].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
