"""Picking waves (波次拣货) and the put wall (播种): orders already tasked to a station,
grouped for one walk through its warehouse.

* :func:`build_waves` takes the orders a station holds as pack tasks (``tasked``: the
  e-waybill issued and the task sent; not shipped, not intercepted, in no wave that is not
  cancelled) and groups them: single-item orders (one line, one unit) or multi-item ones,
  optionally of one courier, due before a ship-by deadline, or stocked in one zone; earliest
  ship-by first, at most ``max_orders`` a wave (several waves when more qualify). A
  multi-item wave gives each order a put-wall slot 1..N (播种墙格口); a single-item wave
  gives 0 (its orders go straight to scan-to-print). Each wave goes to the station as a
  ``wave`` message (``WaveWire``): the orders themselves are already there.
* **Zone** is a location-code prefix (``A`` or ``A-01``): an order qualifies when every SKU
  it needs has stock at a location of that zone in the warehouse, as the cloud's ledger
  (``stock_balances``) holds it — the station picks where its own ledger says, which is
  the same ledger once the moves are synced.
* :func:`on_pick` (ingest, once by msg_id) records the station's pick result; each order
  the pick left short is intercepted at its station (cause ``short_pick:<wave>``, state
  ``intercepted``: it is not packed until a person decides) with an ``order_events`` row
  (拣货缺货) and shows on the wave's page. :func:`on_put` records a put-wall slot full.
* Picking moves no stock: the goods stay in the warehouse's books until packing ships them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud import audit
from cloud.config import DISPLAY_TZ
from cloud.db.schema import stations, stock_balances
from cloud.db.schema_orders import (
    WAVE_KINDS,
    order_events,
    orders,
    wave_orders,
    waves,
    waybills,
)
from cloud.errors import InputError, Problem
from cloud.orders.intercepts import SHORT_PICK_PREFIX, intercept
from cloud.orders.parcels import lines_of
from cloud.sync.outbound import enqueue_down
from edge.sync.schema import (
    MAX_WAVE_ORDERS,
    WaveOrderWire,
    WavePickWire,
    WavePutWire,
    WaveWire,
)

DEFAULT_WAVE_SIZE = 30
"""Orders a wave holds unless the lead asks otherwise: a cart's put wall of 30 slots."""
SHORT_CAUSE = SHORT_PICK_PREFIX
"""Intercept cause prefix of an order a wave's pick left short (``short_pick:<wave>``);
a person releases it on the order's page like a hold."""
SHORT_REASON = "拣货缺货 / short pick"
"""The intercept's and the order event's reason for a short-picked order."""
SHORT_ACTION = "short_pick"
"""``order_events.action`` of a short-picked order."""
REASON_MAX = 200
"""Longest cancel reason kept."""
ZONE_MAX = 32
"""Longest zone prefix accepted."""


@dataclass(frozen=True)
class _Candidate:
    """An order a wave may take, with what the grouping looks at."""

    order_id: str
    ship_by: datetime | None
    ordered_at: datetime
    carrier: str
    skus: dict[str, int]
    """SKU → units the parcel needs."""

    @property
    def single(self) -> bool:
        """One line of one unit (a single-item order, 单品单件)."""
        return sum(self.skus.values()) == 1


@dataclass
class WaveOrder:
    """One order of a wave as its page shows it."""

    order_id: str
    platform_order_id: str
    slot: int
    state: str
    short: bool
    put_at: datetime | None
    ship_by: datetime | None
    units: int


@dataclass
class Wave:
    """A wave with its orders (:func:`get`) or its counts (:func:`list_waves`)."""

    id: str
    warehouse_id: str
    station_id: str
    kind: str
    carrier: str | None
    status: str
    created_by: str
    created_at: datetime
    picked_by: str | None = None
    picked_at: datetime | None = None
    pick_lines: list[dict[str, Any]] = field(default_factory=list)
    orders: list[WaveOrder] = field(default_factory=list)
    n_orders: int = 0
    n_short: int = 0

    @property
    def short_lines(self) -> list[dict[str, Any]]:
        """Pick lines with fewer units picked than wanted."""
        return [ln for ln in self.pick_lines if int(ln["picked"]) < int(ln["wanted"])]


def _problem(fld: str, zh: str, en: str) -> InputError:
    return InputError([Problem(fld, zh, en)])


def _new_id(conn: Connection, now: datetime) -> str:
    prefix = f"WV{now.astimezone(DISPLAY_TZ):%Y%m%d}-"
    taken = conn.execute(sa.select(sa.func.count()).select_from(waves).where(
        waves.c.id.like(f"{prefix}%"))).scalar_one()
    return f"{prefix}{int(taken) + 1:03d}"


def _candidates(conn: Connection, warehouse_id: str, station_id: str) -> list[_Candidate]:
    """Orders tasked to the station and in no wave that is not cancelled, earliest ship-by
    first (no deadline last), then by order time and id."""
    o, w = orders.c, waybills.c
    in_wave = sa.select(wave_orders.c.order_id).join(
        waves, waves.c.id == wave_orders.c.wave_id).where(
        waves.c.status != "cancelled", wave_orders.c.order_id == o.id)
    rows = conn.execute(
        sa.select(o.id, o.ship_by, o.ordered_at, o.first_seen_at, w.carrier_code)
        .join(waybills, w.order_id == o.id)
        .where(o.warehouse_id == warehouse_id, o.station_id == station_id,
               o.state == "tasked", ~sa.exists(in_wave))).all()
    found = []
    for r in rows:
        need: dict[str, int] = {}
        for _oid, _line, _title, sku, units, _qty in lines_of(conn, r.id):
            if sku is not None and units:
                need[sku] = need.get(sku, 0) + int(units)
        if need:
            found.append(_Candidate(r.id, r.ship_by, r.ordered_at or r.first_seen_at,
                                    r.carrier_code, need))
    far = datetime.max.replace(tzinfo=DISPLAY_TZ)
    found.sort(key=lambda c: (c.ship_by or far, c.ordered_at, c.order_id))
    return found


def _zone_skus(conn: Connection, warehouse_id: str, zone: str) -> set[str]:
    """SKUs with stock at a location of ``zone`` (a location-code prefix) in the warehouse."""
    b = stock_balances.c
    return set(conn.execute(sa.select(b.sku).where(
        b.warehouse_id == warehouse_id, b.location.startswith(zone, autoescape=True),
        b.qty > 0).distinct()).scalars())


def build_waves(conn: Connection, warehouse_id: str, station_id: str, *, kind: str,
                carrier: str | None, ship_by_before: datetime | None, zone: str | None,
                max_orders: int, now: datetime, actor: str = "system") -> list[str]:
    """Group the station's tasked orders into waves (module doc) and send each to the
    station; returns the new wave ids (none when no order qualifies). Refuses
    (``InputError``, nothing written) a station not of the warehouse or not a pack station,
    an unknown kind, or a size outside 1..``MAX_WAVE_ORDERS``. Audited as ``wave.create``."""
    problems: list[Problem] = []
    st = conn.execute(sa.select(stations.c.warehouse_id, stations.c.role, stations.c.status)
                      .where(stations.c.id == station_id)).first()
    if st is None or st.warehouse_id != warehouse_id or st.role != "pack" \
            or st.status == "revoked":
        problems.append(Problem("station", "请选择该仓库的打包工作站",
                                "choose a pack station of the warehouse"))
    if kind not in WAVE_KINDS:
        problems.append(Problem("kind", "请选择单品或多品波次",
                                "choose single-item or multi-item"))
    if not 1 <= max_orders <= MAX_WAVE_ORDERS:
        problems.append(Problem("max_orders", f"每波订单数须在 1 到 {MAX_WAVE_ORDERS} 之间",
                                f"orders per wave must be 1 to {MAX_WAVE_ORDERS}"))
    zone = (zone or "").strip() or None
    if zone is not None and len(zone) > ZONE_MAX:
        problems.append(Problem("zone", "库区前缀太长", "the zone prefix is too long"))
    if problems:
        raise InputError(problems)
    picked = [c for c in _candidates(conn, warehouse_id, station_id)
              if c.single == (kind == "single")
              and (carrier is None or c.carrier == carrier)
              and (ship_by_before is None or (c.ship_by is not None
                                              and c.ship_by < ship_by_before))]
    if zone is not None:
        stocked = _zone_skus(conn, warehouse_id, zone)
        picked = [c for c in picked if set(c.skus) <= stocked]
    made: list[str] = []
    for start in range(0, len(picked), max_orders):
        group = picked[start:start + max_orders]
        wave_id = _new_id(conn, now)
        slots = [(c.order_id, i if kind == "multi" else 0) for i, c in enumerate(group, 1)]
        conn.execute(sa.insert(waves).values(
            id=wave_id, warehouse_id=warehouse_id, station_id=station_id, kind=kind,
            carrier=carrier, status="open", created_by=actor, created_at=now))
        conn.execute(sa.insert(wave_orders), [
            {"wave_id": wave_id, "order_id": oid, "slot": slot, "short": False}
            for oid, slot in slots])
        _send(conn, wave_id, now)
        audit.record(conn, now, actor, "wave.create", wave_id, {
            "station": station_id, "kind": kind, "carrier": carrier, "zone": zone,
            "ship_by_before": ship_by_before.isoformat() if ship_by_before else None,
            "orders": len(group)})
        made.append(wave_id)
    return made


def _send(conn: Connection, wave_id: str, now: datetime) -> str:
    """Queue the wave (as it stands) for its station."""
    row = conn.execute(sa.select(waves).where(waves.c.id == wave_id)).one()
    members = conn.execute(sa.select(wave_orders.c.order_id, wave_orders.c.slot).where(
        wave_orders.c.wave_id == wave_id).order_by(wave_orders.c.slot,
                                                   wave_orders.c.order_id)).all()
    wire = WaveWire(wave_id=wave_id, warehouse_id=row.warehouse_id, kind=row.kind,
                    carrier=row.carrier, created_at=row.created_at,
                    status="cancelled" if row.status == "cancelled" else "open",
                    orders=[WaveOrderWire(order_id=m.order_id, slot=m.slot) for m in members])
    return enqueue_down(conn, row.station_id, "wave", wire, now=now)


def cancel(conn: Connection, wave_id: str, *, actor: str, reason: str, now: datetime) -> None:
    """Cancel an open wave with a reason (its orders may join another wave); the station
    is told (``wave`` with status ``cancelled``). Audited as ``wave.cancel``."""
    reason = reason.strip()
    row = conn.execute(sa.select(waves.c.status).where(waves.c.id == wave_id)).first()
    problems = []
    if not reason:
        problems.append(Problem("reason", "请写明取消原因", "say why the wave is cancelled"))
    if row is None or row.status != "open":
        problems.append(Problem("", "只能取消未拣完的波次", "only an open wave can be cancelled"))
    if problems:
        raise InputError(problems)
    conn.execute(sa.update(waves).where(waves.c.id == wave_id).values(
        status="cancelled", cancelled_by=actor, cancelled_at=now))
    _send(conn, wave_id, now)
    audit.record(conn, now, actor, "wave.cancel", wave_id, {"reason": reason[:REASON_MAX]})


def on_pick(conn: Connection, station_id: str, msg_id: str, wire: WavePickWire, *,
            now: datetime) -> bool:
    """A wave's pick ended at its station (ingest, same transaction), kept once: a
    redelivery, or a pick of a wave that is unknown, of another station or already
    recorded, changes nothing (returns False). Each short order still ``tasked`` is
    intercepted (``short_pick:<wave>``) with an ``order_events`` row by the picker;
    audited as ``wave.picked``."""
    row = conn.execute(sa.select(waves.c.status, waves.c.station_id, waves.c.pick_msg_id)
                       .where(waves.c.id == wire.wave_id)).first()
    if row is None or row.station_id != station_id or row.pick_msg_id is not None:
        return False
    done = conn.execute(sa.update(waves).where(
        waves.c.id == wire.wave_id, waves.c.pick_msg_id.is_(None)).values(
        status="picked" if row.status == "open" else row.status, picked_by=wire.operator_id,
        picked_at=wire.at, pick_msg_id=msg_id,
        pick_lines=[ln.model_dump(mode="json") for ln in wire.lines]))
    if not done.rowcount:  # another ingest process kept it first
        return False
    members = set(conn.execute(sa.select(wave_orders.c.order_id).where(
        wave_orders.c.wave_id == wire.wave_id)).scalars())
    short = sorted(set(wire.short_orders) & members)
    if short:
        conn.execute(sa.update(wave_orders).where(
            wave_orders.c.wave_id == wire.wave_id, wave_orders.c.order_id.in_(short)).values(
            short=True))
    for order_id in short:
        state = conn.execute(sa.select(orders.c.state).where(
            orders.c.id == order_id)).scalar_one()
        if state != "tasked":
            continue
        intercept(conn, order_id, station_id, f"{SHORT_CAUSE}{wire.wave_id}", SHORT_REASON,
                  now=now)
        conn.execute(sa.update(orders).where(orders.c.id == order_id).values(
            state="intercepted", updated_at=now))
        conn.execute(sa.insert(order_events).values(
            order_id=order_id, at=now, actor=wire.operator_id[:64], action=SHORT_ACTION,
            from_state=state, to_state="intercepted", reason=f"拣货缺货 (波次 {wire.wave_id})"))
    audit.record(conn, now, wire.operator_id, "wave.picked", wire.wave_id, {
        "station": station_id, "lines": len(wire.lines), "short_orders": short})
    return True


def on_put(conn: Connection, station_id: str, wire: WavePutWire) -> bool:
    """A put-wall slot reported full (ingest): the order's ``put_at``, kept once."""
    w = wave_orders.c
    done = conn.execute(sa.update(wave_orders).where(
        w.wave_id == wire.wave_id, w.order_id == wire.order_id, w.put_at.is_(None),
        sa.exists().where(waves.c.id == w.wave_id, waves.c.station_id == station_id))
        .values(put_at=wire.at))
    return bool(done.rowcount)


def list_waves(conn: Connection, *, status: str | None = None,
               limit: int = MAX_WAVE_ORDERS) -> list[Wave]:
    """Waves newest first, with their order and short counts."""
    w, m = waves.c, wave_orders.c
    q = (sa.select(waves, sa.func.count(m.order_id).label("n"),
                   sa.func.count(m.order_id).filter(m.short.is_(True)).label("s"))
         .join(wave_orders, m.wave_id == w.id, isouter=True)
         .group_by(*waves.c).order_by(w.created_at.desc(), w.id.desc()).limit(limit))
    if status:
        q = q.where(w.status == status)
    return [Wave(id=r.id, warehouse_id=r.warehouse_id, station_id=r.station_id, kind=r.kind,
                 carrier=r.carrier, status=r.status, created_by=r.created_by,
                 created_at=r.created_at, picked_by=r.picked_by, picked_at=r.picked_at,
                 n_orders=int(r.n), n_short=int(r.s)) for r in conn.execute(q)]


def get(conn: Connection, wave_id: str) -> Wave | None:
    """One wave with its orders by slot, their states, and the pick result."""
    r = conn.execute(sa.select(waves).where(waves.c.id == wave_id)).first()
    if r is None:
        return None
    o, m = orders.c, wave_orders.c
    members = conn.execute(
        sa.select(m.order_id, m.slot, m.short, m.put_at, o.platform_order_id, o.state,
                  o.ship_by).join(orders, o.id == m.order_id)
        .where(m.wave_id == wave_id).order_by(m.slot, m.order_id)).all()
    found = [WaveOrder(x.order_id, x.platform_order_id, x.slot, x.state, bool(x.short),
                       x.put_at, x.ship_by,
                       sum(int(u or 0) for *_r, u, _q in lines_of(conn, x.order_id)))
             for x in members]
    return Wave(id=r.id, warehouse_id=r.warehouse_id, station_id=r.station_id, kind=r.kind,
                carrier=r.carrier, status=r.status, created_by=r.created_by,
                created_at=r.created_at, picked_by=r.picked_by, picked_at=r.picked_at,
                pick_lines=list(r.pick_lines or []), orders=found, n_orders=len(found),
                n_short=sum(1 for x in found if x.short))


def pack_stations(conn: Connection) -> list[tuple[str, str, str]]:
    """(station id, name, warehouse) of every pack station not revoked, by id."""
    s = stations.c
    return [(r.id, r.name, r.warehouse_id) for r in conn.execute(
        sa.select(s.id, s.name, s.warehouse_id).where(s.role == "pack", s.status != "revoked")
        .order_by(s.id))]


def carriers(conn: Connection) -> list[str]:
    """Carrier codes of issued waybills (the courier filter's choices)."""
    return list(conn.execute(sa.select(waybills.c.carrier_code).distinct()
                             .order_by(waybills.c.carrier_code)).scalars())
