"""``init``, ``seed-demo`` and ``check``: setting a station up and checking its ledger."""

from __future__ import annotations

import re

import click

from edge import fileio
from edge.cli.common import Command, UserError, db_path, format_table, friendly, station
from edge.cli.seed import DEMO_SETTING, apply_demo, initialise
from edge.domain.models import NegativeStockPolicy
from edge.store.integrity import ledger_problems

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _check_id(kind: str, value: str) -> str:
    if not _ID.match(value):
        raise UserError(f"{kind} 只能用字母、数字、-_.（最多 64 位） / {kind} may only use "
                        f"letters, digits, - _ . (64 max): {value!r}")
    return value


@click.command("init", cls=Command)
@click.option("--station", "station_id", required=True, help="工作站编号 / station id, e.g. ST1.")
@click.option("--warehouse", "warehouse_id", required=True, help="仓库编号 / warehouse id, e.g. WH1.")
@click.option("--warehouse-name", default=None, help="仓库名称 / warehouse name (default: the id).")
@click.option("--negative-stock", type=click.Choice([p.value for p in NegativeStockPolicy]),
              default="refuse", show_default=True,
              help="负库存策略 / what to do when a move would go below zero.")
@click.pass_context
@friendly
def init_cmd(ctx: click.Context, station_id: str, warehouse_id: str,
             warehouse_name: str | None, negative_stock: str) -> None:
    """创建工作站数据库 / create (or update) the station database and its key."""
    _check_id("工作站 station", station_id)
    _check_id("仓库 warehouse", warehouse_id)
    path = db_path(ctx)
    with station(ctx, must_exist=False) as store:
        current = store.queries.setting("station_id")
        if current and current != station_id:
            raise UserError(f"数据库已属于工作站 {current} / database already belongs to station "
                            f"{current}")
        initialise(store, station_id=station_id, warehouse_id=warehouse_id,
                   warehouse_name=warehouse_name or warehouse_id,
                   policy=NegativeStockPolicy(negative_stock), db_path=path)
    click.echo(f"工作站 {station_id} 已就绪 / station {station_id} ready: {path}")
    click.echo(f"密钥 / key: {fileio.key_path_for(path)}")


@click.command("seed-demo", cls=Command)
@click.option("--seed", type=int, default=7, show_default=True, help="随机种子 / random seed.")
@click.option("--orders", type=click.IntRange(0, 100_000), default=300, show_default=True,
              help="订单数量 / number of orders to generate.")
@click.option("--station", "station_id", default="ST1", show_default=True,
              help="工作站编号（新库时） / station id when the database is new.")
@click.option("--warehouse", "warehouse_id", default="WH1", show_default=True,
              help="仓库编号（新库时） / warehouse id when the database is new.")
@click.pass_context
@friendly
def seed_demo_cmd(ctx: click.Context, seed: int, orders: int, station_id: str,
                  warehouse_id: str) -> None:
    """导入演示数据 / fill a new station with demo catalog, staff, stock and orders."""
    from edge.domain.demo import generate

    path = db_path(ctx)
    with station(ctx, must_exist=False) as store:
        q = store.queries
        done = q.setting(DEMO_SETTING)
        if done is not None:
            if done == str(seed):
                click.echo(f"演示数据已导入（种子 {seed}），无需重复 / demo data already seeded "
                           f"(seed {seed}); nothing to do")
                return
            raise UserError(f"已导入种子 {done} 的演示数据，请用新的 --db / already seeded with "
                            f"seed {done}; use a fresh --db")
        if q.db.execute("SELECT COUNT(*) FROM skus").fetchone()[0]:
            raise UserError("数据库里已有商品，演示数据只导入空库 / the database already has SKUs; "
                            "demo data goes into an empty one")
        station_id = q.setting("station_id") or _check_id("工作站 station", station_id)
        warehouse_id = q.setting("warehouse_id") or _check_id("仓库 warehouse", warehouse_id)
        row = q.db.execute("SELECT name, negative_stock_policy FROM warehouses WHERE "
                           "warehouse_id = ?", [warehouse_id]).fetchone()
        name, policy = (row[0], NegativeStockPolicy(row[1])) if row else \
            ("杭州主仓", NegativeStockPolicy.REFUSE)
        key = initialise(store, station_id=station_id, warehouse_id=warehouse_id,
                         warehouse_name=name, policy=policy, db_path=path)
        data = generate(seed, orders=orders, warehouse_id=warehouse_id, warehouse_name=name)
        data.warehouse["policy"] = policy.value
        apply_demo(store, data, key)
    click.echo(f"演示数据已导入 / demo data seeded: {len(data.skus)} 个商品 SKUs, "
               f"{len(data.locations)} 个库位 locations, {len(data.operators)} 名操作员 operators, "
               f"{len(data.orders)} 个订单 orders")


@click.command("check", cls=Command)
@click.option("--rebuild", is_flag=True, help="从流水重建库存缓存 / rebuild the balances cache.")
@click.pass_context
@friendly
def check_cmd(ctx: click.Context, rebuild: bool) -> None:
    """核对库存 = 流水合计，流水结存连续且与发给云端的一致 / verify the balances, the
    balance chain of every move and each move against its outbox row."""
    with station(ctx) as store:
        problems = ledger_problems(store.writer.db)
        if problems:
            click.echo(f"流水被改动 / the ledger has forged or damaged moves ({len(problems)}):")
            for p in problems:
                click.echo(f"  {p.move_id}: {p.problem}")
        cached = store.queries.cached_balances()
        folded = store.queries.fold_moves()
        keys = sorted(set(cached) | set(folded))
        diffs = [(s, loc, cached.get((s, loc), 0), folded.get((s, loc), 0)) for s, loc in keys
                 if cached.get((s, loc), 0) != folded.get((s, loc), 0)]
        if diffs:
            click.echo(f"库存缓存与流水不一致 / balances differ from the ledger ({len(diffs)}):")
            click.echo(format_table(["SKU", "库位 location", "缓存 cache", "流水 ledger"],
                                    diffs, align_right=(2, 3)))
        if problems:
            refusal = " (不重建 / not rebuilding balances from it)" if rebuild else ""
            raise UserError(f"流水校验失败，{len(problems)} 条可疑 / the ledger fails its checks: "
                            f"{len(problems)} suspect moves{refusal}; restore it from a backup")
        if rebuild:
            n = store.writer.rebuild_balances()
            store.writer.audit("system", "balances.rebuild", "balances",
                               {"rows": n, "differences": len(diffs)})
            click.echo(f"已重建库存缓存 / balances rebuilt: {n} rows")
            if store.queries.cached_balances() != store.queries.fold_moves():
                raise UserError("重建后仍不一致 / still different after the rebuild")
            click.echo("OK")
            return
        if diffs:
            raise UserError(f"{len(diffs)} 处不一致，可用 check --rebuild 重建 / {len(diffs)} "
                            "differences; run check --rebuild to rebuild the cache")
        click.echo(f"OK: {len(folded)} 个库存余额与 {store.queries.move_count()} 条流水一致 / "
                   f"{len(folded)} balances match {store.queries.move_count()} moves")
