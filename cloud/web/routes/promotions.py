"""赠品活动 and 审单规则: the promotions that add gift lines at review (list, create, edit,
stop — ``cloud.orders.promotions``) and each shop's automatic review rules
(``cloud.orders.review_rules``). Managers and admins; every save is audited."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cloud.db.schema_orders import PROMOTION_KINDS
from cloud.errors import InputError, Problem
from cloud.orders import promotions, review_rules
from cloud.web import queries, session
from cloud.web.context import DISPLAY_TZ, read, web, write
from cloud.web.forms import BadInput, day_start, text
from cloud.web.i18n import gettext
from cloud.web.permissions import Permission, requires
from cloud.web.render import render

FIELDS = ("name", "shop_id", "kind", "threshold", "trigger_sku", "gift_sku", "gift_qty",
          "starts_on", "ends_on")
"""The promotion form's fields."""
ON, OFF = "hold", "pass"
"""The two answers of a review-rule choice."""


def _day(value: Any, *, last: bool = False) -> str:
    """A stored bound as the day the form shows (``ends_at`` is the next day's start)."""
    local = value.astimezone(DISPLAY_TZ)
    day: date = (local - timedelta(days=1)).date() if last else local.date()
    return day.isoformat()


def _view(p: promotions.Promotion, shop_names: dict[str, str], lang: str) -> dict[str, Any]:
    if p.kind == "amount":
        rule = gettext(lang, "promo.rule_amount", amount=review_rules.fen_to_yuan(p.threshold))
    elif p.trigger_sku:
        rule = gettext(lang, "promo.rule_qty_sku", sku=p.trigger_sku, n=p.threshold)
    else:
        rule = gettext(lang, "promo.rule_qty", n=p.threshold)
    return {"p": p, "rule": rule,
            "shop": shop_names.get(p.shop_id, p.shop_id) if p.shop_id
            else gettext(lang, "promo.all_shops"),
            "first": _day(p.starts_at), "last": _day(p.ends_at, last=True)}


def _as_form(p: promotions.Promotion) -> dict[str, str]:
    return {"name": p.name, "shop_id": p.shop_id or "", "kind": p.kind,
            "threshold": (review_rules.fen_to_yuan(p.threshold) if p.kind == "amount"
                          else str(p.threshold)),
            "trigger_sku": p.trigger_sku or "", "gift_sku": p.gift_sku,
            "gift_qty": str(p.gift_qty), "starts_on": _day(p.starts_at),
            "ends_on": _day(p.ends_at, last=True)}


async def _shops(request: Request) -> list[tuple[str, str]]:
    return [(sid, name) for sid, _p, name in await read(request, queries.shop_choices)]


async def _list_page(request: Request, form: dict[str, str] | None = None,
                     errors: list[Problem] | None = None, status_code: int = 200) -> Response:
    rows = await read(request, promotions.list_all)
    shops = await _shops(request)
    lang = session.lang(request)
    return render(request, "promotions.html", {
        "rows": [_view(p, dict(shops), lang) for p in rows], "shops": shops,
        "kinds": PROMOTION_KINDS, "form": form or {"kind": "amount", "gift_qty": "1"},
        "errors": errors or []}, status_code=status_code)


def _bad(lang_key: str, name: str) -> Problem:
    return Problem(name, gettext("zh", lang_key), gettext("en", lang_key))


def _read_form(raw: FormData) -> tuple[dict[str, str], promotions.PromotionForm, list[Problem]]:
    """The form as typed, as typed values, and the problems reading it (numbers, dates)."""
    form = {k: text(raw, k, 200) or "" for k in FIELDS}
    problems: list[Problem] = []
    threshold: int | None = None
    if form["threshold"]:
        threshold = (review_rules.yuan_to_fen(form["threshold"]) if form["kind"] == "amount"
                     else int(form["threshold"]) if form["threshold"].isdigit() else None)
        if threshold is None:
            problems.append(_bad("promo.bad_number", "threshold"))
    gift_qty = int(form["gift_qty"]) if form["gift_qty"].isdigit() else None
    starts = ends = None
    try:
        starts = day_start(raw, "starts_on")
    except BadInput as err:
        problems.append(_bad(err.key, "starts_on"))
    try:
        ends = day_start(raw, "ends_on", end=True)
    except BadInput as err:
        problems.append(_bad(err.key, "ends_on"))
    typed = promotions.PromotionForm(
        name=form["name"], shop_id=form["shop_id"] or None, kind=form["kind"],
        threshold=threshold, trigger_sku=form["trigger_sku"] or None, gift_sku=form["gift_sku"],
        gift_qty=gift_qty, starts_at=starts, ends_at=ends)
    return form, typed, problems


async def _save(request: Request, existing: promotions.Promotion | None
                ) -> tuple[dict[str, str], int | None, list[Problem]]:
    ctx, actor = web(request), request.state.user.username
    form, typed, problems = _read_form(await request.form())
    if existing is not None:  # the form edits the terms; stopping is its own button
        typed = replace(typed, active=existing.active)
    try:
        pid = await write(request, promotions.save, typed,
                          existing=None if existing is None else existing.id, actor=actor,
                          now=ctx.now(), unreadable=problems)
    except InputError as err:
        return form, None, err.problems
    return form, pid, []


@requires(Permission.PROMOTIONS_EDIT)
async def promotion_list(request: Request) -> Response:
    """Every promotion; the form to add one."""
    return await _list_page(request)


@requires(Permission.PROMOTIONS_EDIT)
async def promotion_create(request: Request) -> Response:
    """Add a promotion; problems next to their fields, nothing written."""
    form, pid, problems = await _save(request, None)
    if pid is None:
        return await _list_page(request, form, problems, 400)
    session.flash(request, "promo.saved", id=pid)
    return RedirectResponse("/promotions", status_code=303)


async def _edit_page(request: Request, p: promotions.Promotion, form: dict[str, str],
                     errors: list[Problem], status_code: int = 200) -> Response:
    return render(request, "promotion_edit.html", {
        "p": p, "form": form, "shops": await _shops(request), "kinds": PROMOTION_KINDS,
        "errors": errors}, status_code=status_code)


@requires(Permission.PROMOTIONS_EDIT)
async def promotion_edit(request: Request) -> Response:
    """One promotion's form."""
    p = await read(request, promotions.get, request.path_params["promotion_id"])
    if p is None:
        return RedirectResponse("/promotions", status_code=303)
    return await _edit_page(request, p, _as_form(p), [])


@requires(Permission.PROMOTIONS_EDIT)
async def promotion_update(request: Request) -> Response:
    """Save one promotion (gifts already added stay)."""
    pid_in: int = request.path_params["promotion_id"]
    p = await read(request, promotions.get, pid_in)
    if p is None:
        return RedirectResponse("/promotions", status_code=303)
    form, pid, problems = await _save(request, p)
    if pid is None:
        return await _edit_page(request, p, form, problems, 400)
    session.flash(request, "promo.saved", id=pid)
    return RedirectResponse("/promotions", status_code=303)


@requires(Permission.PROMOTIONS_EDIT)
async def promotion_deactivate(request: Request) -> Response:
    """Stop a promotion."""
    ctx, actor = web(request), request.state.user.username
    pid: int = request.path_params["promotion_id"]
    try:
        await write(request, promotions.deactivate, pid, actor=actor, now=ctx.now())
    except InputError as err:
        return await _list_page(request, None, err.problems, 400)
    session.flash(request, "promo.deactivated", id=pid)
    return RedirectResponse("/promotions", status_code=303)


async def _rules_page(request: Request, errors: dict[str, list[Problem]] | None = None,
                      typed: dict[str, dict[str, str]] | None = None,
                      status_code: int = 200) -> Response:
    rows = await read(request, review_rules.all_shops)
    forms = {}
    for r in rows:
        forms[r.shop_id] = {
            "hold_buyer_note": ON if r.rules.hold_buyer_note else OFF,
            "hold_risk_review": ON if r.rules.hold_risk_review else OFF,
            "max_amount": "" if r.rules.max_amount_fen is None
            else review_rules.fen_to_yuan(r.rules.max_amount_fen)}
    forms.update(typed or {})
    return render(request, "review_rules.html", {
        "rows": rows, "forms": forms, "errors": errors or {}, "on": ON, "off": OFF},
        status_code=status_code)


@requires(Permission.REVIEW_RULES_EDIT)
async def rules_page(request: Request) -> Response:
    """Every shop's review rules, a form each."""
    return await _rules_page(request)


@requires(Permission.REVIEW_RULES_EDIT)
async def rules_save(request: Request) -> Response:
    """Save one shop's review rules; a choice left out or a bad amount is refused."""
    ctx, actor = web(request), request.state.user.username
    shop_id = request.path_params["shop_id"]
    raw = await request.form()
    form = {k: text(raw, k, 20) or "" for k in ("hold_buyer_note", "hold_risk_review",
                                                "max_amount")}
    problems = [_bad("rules.choose", k) for k in ("hold_buyer_note", "hold_risk_review")
                if form[k] not in (ON, OFF)]
    try:
        limit = review_rules.parse_limit(form["max_amount"])
    except InputError as err:
        problems += err.problems
        limit = None
    try:
        if problems:
            raise InputError(problems)
        requeued = await write(request, review_rules.save, shop_id, review_rules.ReviewRules(
            form["hold_buyer_note"] == ON, form["hold_risk_review"] == ON, limit),
            actor=actor, now=ctx.now())
    except InputError as err:
        return await _rules_page(request, {shop_id: err.problems}, {shop_id: form}, 400)
    names = dict(await _shops(request))
    session.flash(request, "rules.saved", shop=names.get(shop_id, shop_id), n=requeued)
    return RedirectResponse("/review-rules", status_code=303)


routes: list[BaseRoute] = [
    Route("/promotions", promotion_list, methods=["GET"]),
    Route("/promotions", promotion_create, methods=["POST"]),
    Route("/promotions/{promotion_id:int}", promotion_edit, methods=["GET"]),
    Route("/promotions/{promotion_id:int}", promotion_update, methods=["POST"]),
    Route("/promotions/{promotion_id:int}/deactivate", promotion_deactivate, methods=["POST"]),
    Route("/review-rules", rules_page, methods=["GET"]),
    Route("/review-rules/{shop_id}", rules_save, methods=["POST"]),
]
