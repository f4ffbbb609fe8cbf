"""波次拣货: build picking waves for a pack station from the orders it already holds, see
each wave's orders, put-wall slots, state and short picks, cancel an open one
(``cloud.orders.waves``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cloud.db.schema_orders import WAVE_STATUSES
from cloud.errors import InputError, Problem
from cloud.orders import waves
from cloud.web import session
from cloud.web.context import read, web, write
from cloud.web.forms import china_time, text
from cloud.web.permissions import Permission, requires
from cloud.web.render import render

FIELDS = ("station", "kind", "carrier", "ship_by_before", "zone", "max_orders")
"""The build form's fields."""
def _blank() -> dict[str, str]:
    return {"station": "", "kind": "multi", "carrier": "", "ship_by_before": "", "zone": "",
            "max_orders": str(waves.DEFAULT_WAVE_SIZE)}


async def _list_page(request: Request, form: dict[str, str], errors: list[Problem],
                     status_code: int = 200) -> Response:
    status = text(request.query_params, "status", 16)
    status = status if status in WAVE_STATUSES else None
    rows = await read(request, waves.list_waves, status=status)
    return render(request, "waves.html", {
        "rows": rows, "status": status or "", "statuses": WAVE_STATUSES, "form": form,
        "errors": errors, "stations": await read(request, waves.pack_stations),
        "carriers": await read(request, waves.carriers)}, status_code=status_code)


@requires(Permission.WAVES)
async def wave_list(request: Request) -> Response:
    """Waves newest first, and the form that builds new ones."""
    return await _list_page(request, _blank(), [])


def _parse(form: dict[str, str], stations: list[tuple[str, str, str]]) -> dict[str, Any]:
    """The build form as ``build_waves`` arguments; every problem at once (``InputError``)."""
    problems: list[Problem] = []
    warehouse = next((wh for sid, _n, wh in stations if sid == form["station"]), None)
    if warehouse is None:
        problems.append(Problem("station", "请选择打包工作站", "choose a pack station"))
    before = china_time(form["ship_by_before"], "ship_by_before", problems)
    size = 0
    try:
        size = int(form["max_orders"])
    except ValueError:
        problems.append(Problem("max_orders", "请填写整数", "enter a whole number"))
    if problems:
        raise InputError(problems)
    return {"warehouse_id": warehouse, "station_id": form["station"], "kind": form["kind"],
            "carrier": form["carrier"] or None, "ship_by_before": before,
            "zone": form["zone"] or None, "max_orders": size}


@requires(Permission.WAVES)
async def wave_build(request: Request) -> Response:
    """Build waves and send them to the station; every problem next to its field."""
    ctx, actor = web(request), request.state.user.username
    raw = await request.form()
    form = {k: text(raw, k, 64) or "" for k in FIELDS}
    try:
        args = _parse(form, await read(request, waves.pack_stations))
        wh, station = args.pop("warehouse_id"), args.pop("station_id")
        made = await write(request, waves.build_waves, wh, station, now=ctx.now(),
                           actor=actor, **args)
    except InputError as err:
        return await _list_page(request, form, err.problems, 400)
    if not made:
        session.flash(request, "wv.flash_none")
        return RedirectResponse("/waves", status_code=303)
    session.flash(request, "wv.flash_built", n=len(made))
    return RedirectResponse(f"/waves/{made[0]}" if len(made) == 1 else "/waves",
                            status_code=303)


async def _page(request: Request, wave_id: str, errors: list[Problem] | None = None,
                status_code: int = 200) -> Response:
    wave = await read(request, waves.get, wave_id)
    if wave is None:
        return RedirectResponse("/waves", status_code=303)
    return render(request, "wave.html", {"w": wave, "errors": errors or []},
                  status_code=status_code)


@requires(Permission.WAVES)
async def wave_page(request: Request) -> Response:
    """One wave: its orders by slot, their states, short picks and the pick result."""
    return await _page(request, request.path_params["wave_id"])


@requires(Permission.WAVES)
async def wave_cancel(request: Request) -> Response:
    """Cancel an open wave with a reason (the station drops it)."""
    ctx, actor = web(request), request.state.user.username
    wave_id = request.path_params["wave_id"]
    form = await request.form()
    try:
        await write(request, waves.cancel, wave_id, actor=actor,
                    reason=text(form, "reason", waves.REASON_MAX) or "", now=ctx.now())
    except InputError as err:
        return await _page(request, wave_id, err.problems, 400)
    session.flash(request, "wv.flash_cancelled", id=wave_id)
    return RedirectResponse(f"/waves/{wave_id}", status_code=303)


routes: list[BaseRoute] = [
    Route("/waves", wave_list, methods=["GET"]),
    Route("/waves", wave_build, methods=["POST"]),
    Route("/waves/{wave_id}", wave_page, methods=["GET"]),
    Route("/waves/{wave_id}/cancel", wave_cancel, methods=["POST"]),
]
