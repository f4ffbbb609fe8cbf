"""``station list`` and ``station set-role``: the warehouse's stations, whether they are
online, how many tasks each holds, and which take pack tasks (``cloud.orders.stations``)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
import sqlalchemy as sa

from cloud.cli.base import CliContext, cli, render_table
from cloud.db import audit_log
from cloud.db.schema import STATION_ROLES, station_health, stations
from cloud.errors import ConfigError
from cloud.orders.stations import LOAD_STATES, OFFLINE_AFTER
from cloud.station_registry import set_station_role


@cli.group("station")
def station() -> None:
    """工作站 / Stations: online state, load and role."""


@station.command("list")
@click.pass_obj
def list_(obj: CliContext) -> None:
    """工作站列表 / Stations with their role, last report and open tasks."""
    from cloud.db.schema_orders import orders

    now = datetime.now(UTC)
    s, h = stations.c, station_health.c
    with obj.connect() as conn:
        rows = conn.execute(sa.select(s.id, s.warehouse_id, s.role, s.status, h.received_at)
                            .select_from(stations.outerjoin(station_health, h.station_id == s.id))
                            .order_by(s.warehouse_id, s.id)).all()
        load: dict[str, int] = dict(conn.execute(sa.select(orders.c.station_id, sa.func.count()).where(
            orders.c.state.in_(LOAD_STATES)).group_by(orders.c.station_id)).all())
    if not rows:
        click.echo(obj.t("还没有工作站 (用 packline-provision enrol 登记)",
                         "no stations yet (enrol one with packline-provision enrol)"))
        return

    def seen(at: datetime | None, status: str) -> str:
        if status == "revoked":
            return obj.t("已吊销", "revoked")
        if at is None:
            return obj.t("未上报", "never reported")
        late = now - at > OFFLINE_AFTER
        return f"{at:%Y-%m-%d %H:%M} " + (obj.t("离线", "offline") if late else obj.t("在线", "online"))

    role_text = {"pack": obj.t("打包", "pack"), "receive": obj.t("收货", "receive")}
    click.echo(render_table(
        [obj.t("工作站", "Station"), obj.t("仓库", "Warehouse"), obj.t("角色", "Role"),
         obj.t("最近上报", "Last report"), obj.t("未发任务", "Open tasks")],
        [[r.id, r.warehouse_id, role_text.get(r.role, r.role), seen(r.received_at, r.status),
          str(load.get(r.id, 0))] for r in rows], right_align=[4]))


@station.command("set-role")
@click.argument("station_id")
@click.argument("role", type=click.Choice(list(STATION_ROLES)))
@click.pass_obj
def set_role(obj: CliContext, station_id: str, role: str) -> None:
    """设置角色 / Set a station's role: pack (takes pack tasks) or receive (never given any)."""
    now = datetime.now(UTC)
    with obj.connect(write=True) as conn:
        if not set_station_role(conn, station_id, role):
            raise ConfigError(f"没有这个工作站 (或已吊销): {station_id} / no such station "
                              f"(or revoked): {station_id}")
        conn.execute(sa.insert(audit_log).values(at=now, actor="cli", action="station.set_role",
                                                 subject=station_id, detail={"role": role}))
    click.echo(obj.t(f"工作站 {station_id} 角色已设为 {role}", f"station {station_id} role set to {role}"))
