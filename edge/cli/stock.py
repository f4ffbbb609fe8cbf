"""``stock``, ``history``, ``adjust``, ``reverse`` and ``receive``: looking at and correcting
the ledger, and receiving against a purchase order."""

from __future__ import annotations

import click

from edge.cli.common import Command, UserError, format_table, friendly, require_operator, station
from edge.domain.models import qty_out_of_range


@click.command("stock", cls=Command)
@click.option("--sku", default=None, help="只看这个商品 / only this SKU.")
@click.option("--location", default=None, help="只看这个库位 / only this location.")
@click.option("--all", "show_zero", is_flag=True, help="包括数量为 0 的 / include zero balances.")
@click.pass_context
@friendly
def stock_cmd(ctx: click.Context, sku: str | None, location: str | None, show_zero: bool) -> None:
    """库存余额 / on-hand stock by SKU and location."""
    with station(ctx) as store:
        q = store.queries
        if sku and q.sku(sku) is None:
            raise UserError(f"未知商品 / unknown SKU: {sku}")
        balances = [b for b in q.balances(sku, nonzero=not show_zero)
                    if location is None or b.location == location]
        names = dict(q.db.execute("SELECT sku, name_zh FROM skus").fetchall())
        rows = [(b.sku, names.get(b.sku, ""), b.location, b.qty) for b in balances]
    if not rows:
        click.echo("没有库存 / no stock")
        return
    click.echo(format_table(["SKU", "名称 name", "库位 location", "数量 qty"], rows,
                            align_right=(3,)))
    click.echo(f"合计 / total: {len(rows)} 行 rows, {sum(r[3] for r in rows)} 件 units")


@click.command("history", cls=Command)
@click.option("--sku", default=None, help="只看这个商品 / only this SKU.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True,
              help="最多显示几条 / how many moves, newest first.")
@click.pass_context
@friendly
def history_cmd(ctx: click.Context, sku: str | None, limit: int) -> None:
    """库存流水（最新在前） / stock move history, newest first."""
    with station(ctx) as store:
        moves = store.queries.moves(sku, limit=limit)
    if not moves:
        click.echo("没有流水 / no moves")
        return
    rows = [
        (m.occurred_at.strftime("%Y-%m-%d %H:%M:%S"), m.move_id, m.sku, m.location,
         f"{m.qty_delta:+d}", m.balance_after, f"{m.reason.label_zh} {m.reason.label_en}",
         m.operator_id, m.note or "")
        for m in moves
    ]
    click.echo(format_table(
        ["时间 time (UTC)", "流水号 move id", "SKU", "库位 location", "变动 delta", "结存 after",
         "原因 reason", "操作员 operator", "备注 note"], rows, align_right=(4, 5)))


@click.command("adjust", cls=Command)
@click.option("--sku", required=True, help="商品编码 / SKU.")
@click.option("--location", required=True, help="库位 / location code.")
@click.option("--qty", type=int, required=True, help="变动数量，如 +5 或 -2 / signed change, e.g. +5 or -2.")
@click.option("--reason", required=True, help="调整原因（必填） / why (required, audited).")
@click.option("--operator", "operator_id", required=True, help="操作员编号 / operator id.")
@click.pass_context
@friendly
def adjust_cmd(ctx: click.Context, sku: str, location: str, qty: int, reason: str,
               operator_id: str) -> None:
    """手工调整库存（记审计） / manual stock adjustment with a reason (audited)."""
    if qty == 0:
        raise UserError("数量变动不能为 0 / --qty must not be 0")
    if (too_big := qty_out_of_range(qty)) is not None:
        raise UserError(too_big)
    if not reason.strip():
        raise UserError("必须写明调整原因 / --reason must not be empty")
    with station(ctx) as store:
        require_operator(store, operator_id)
        move = store.writer.adjust(sku=sku, location=location, qty_delta=qty,
                                   operator_id=operator_id, note=reason.strip())
    click.echo(f"已调整 / adjusted {sku} @ {location}: {qty:+d} → {move.balance_after} "
               f"(move {move.move_id})")


@click.command("reverse", cls=Command)
@click.argument("move_id")
@click.option("--operator", "operator_id", required=True, help="操作员编号 / operator id.")
@click.option("--reason", required=True, help="冲销原因（必填） / why (required, audited).")
@click.pass_context
@friendly
def reverse_cmd(ctx: click.Context, move_id: str, operator_id: str, reason: str) -> None:
    """冲销一条流水 / reverse a stock move (a new move with the sign flipped)."""
    if not reason.strip():
        raise UserError("必须写明冲销原因 / --reason must not be empty")
    with station(ctx) as store:
        require_operator(store, operator_id)
        w = store.writer
        with w.transaction():
            move = w.reverse_move(move_id, operator_id=operator_id, note=reason.strip())
            w.audit(operator_id, "stock.reverse", move_id,
                    {"reversal_move_id": move.move_id, "note": reason.strip()})
    click.echo(f"已冲销 / reversed {move_id}: {move.sku} @ {move.location} {move.qty_delta:+d} "
               f"→ {move.balance_after} (move {move.move_id})")


@click.command("receive", cls=Command)
@click.argument("po_id", required=False)
@click.option("--line", "line_no", type=int, default=None, help="采购单行号 / the order's line number.")
@click.option("--qty", type=int, default=None, help="收货数量 / units received.")
@click.option("--location", default=None, help="上架库位 / where the units are put away.")
@click.option("--operator", "operator_id", default=None, help="操作员编号 / operator id.")
@click.option("--over", "allow_over", is_flag=True,
              help="允许超收 (记审计) / accept more than is open on the line (audited).")
@click.pass_context
@friendly
def receive_cmd(ctx: click.Context, po_id: str | None, line_no: int | None, qty: int | None,
                location: str | None, operator_id: str | None, allow_over: bool) -> None:
    """采购收货 / receive against a purchase order (without PO_ID: list the open ones)."""
    with station(ctx) as store:
        if po_id is None:
            rows = [[r["po_id"], r["supplier"], r["line_no"], r["sku"], r["qty_ordered"],
                     r["qty_received"]] for r in store.queries.open_po_lines()]
            if not rows:
                click.echo("没有待收货的采购单 / no purchase order is open for receiving")
                return
            click.echo(format_table(
                ["采购单 PO", "供应商 supplier", "行 line", "SKU", "采购 ordered", "已收 received"],
                rows, align_right=(2, 4, 5)))
            return
        if line_no is None or qty is None or not location or not operator_id:
            raise UserError("需要 --line --qty --location --operator / "
                            "--line, --qty, --location and --operator are required")
        require_operator(store, operator_id)
        move = store.writer.receive_po(po_id, line_no, qty, location=location,
                                       operator_id=operator_id, allow_over=allow_over)
    click.echo(f"已收货 / received {move.sku} × {qty} @ {location} → {move.balance_after} "
               f"(move {move.move_id})")
