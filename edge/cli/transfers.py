"""``transfer-ship`` and ``transfer-receive``: 调拨 at the station — ship a transfer's units
from the source warehouse, receive them at the destination (``Writer.ship_transfer`` /
``Writer.receive_transfer``). Without a transfer id each lists the open transfers."""

from __future__ import annotations

import click

from edge.cli.common import Command, UserError, format_table, friendly, require_operator, station
from edge.store import Store


def _list(store: Store, side: str) -> None:
    """The open transfer lines this station's warehouse (its ``warehouse_id`` setting; every
    warehouse it has locations of when unset) ships (``from_warehouse``) or receives
    (``to_warehouse``)."""
    own = store.queries.setting("warehouse_id")
    warehouses = {own} if own else {r[0] for r in store.queries.db.execute(
        "SELECT DISTINCT warehouse_id FROM locations").fetchall()}
    rows = [[r["transfer_id"], r["from_warehouse"], r["to_warehouse"], r["line_no"], r["sku"],
             r["qty"], r["qty_shipped"], r["qty_received"]]
            for r in store.queries.open_transfer_lines() if r[side] in warehouses]
    if not rows:
        click.echo("没有进行中的调拨单 / no transfer is open here")
        return
    click.echo(format_table(
        ["调拨单 transfer", "调出 from", "调入 to", "行 line", "SKU", "数量 qty",
         "已调出 shipped", "已调入 received"], rows, align_right=(3, 5, 6, 7)))


def _required(line_no: int | None, qty: int | None, location: str | None,
              operator_id: str | None) -> None:
    if line_no is None or qty is None or not location or not operator_id:
        raise UserError("需要 --line --qty --location --operator / "
                        "--line, --qty, --location and --operator are required")


@click.command("transfer-ship", cls=Command)
@click.argument("transfer_id", required=False)
@click.option("--line", "line_no", type=int, default=None, help="调拨单行号 / the transfer's line number.")
@click.option("--qty", type=int, default=None, help="调出数量 / units shipped.")
@click.option("--location", default=None, help="出库库位 / where the units are taken from.")
@click.option("--operator", "operator_id", default=None, help="操作员编号 / operator id.")
@click.pass_context
@friendly
def transfer_ship_cmd(ctx: click.Context, transfer_id: str | None, line_no: int | None,
                      qty: int | None, location: str | None, operator_id: str | None) -> None:
    """调拨出库 / ship a transfer to another warehouse (without TRANSFER_ID: list the open ones)."""
    with station(ctx) as store:
        if transfer_id is None:
            _list(store, "from_warehouse")
            return
        _required(line_no, qty, location, operator_id)
        assert line_no is not None and qty is not None and location and operator_id
        require_operator(store, operator_id)
        move = store.writer.ship_transfer(transfer_id, line_no, qty, location=location,
                                          operator_id=operator_id)
    click.echo(f"已调出 / shipped {move.sku} × {qty} @ {location} → {move.balance_after} "
               f"(move {move.move_id})")


@click.command("transfer-receive", cls=Command)
@click.argument("transfer_id", required=False)
@click.option("--line", "line_no", type=int, default=None, help="调拨单行号 / the transfer's line number.")
@click.option("--qty", type=int, default=None, help="调入数量 / units received.")
@click.option("--location", default=None, help="上架库位 / where the units are put away.")
@click.option("--operator", "operator_id", default=None, help="操作员编号 / operator id.")
@click.pass_context
@friendly
def transfer_receive_cmd(ctx: click.Context, transfer_id: str | None, line_no: int | None,
                         qty: int | None, location: str | None, operator_id: str | None) -> None:
    """调拨入库 / receive a transfer from another warehouse (without TRANSFER_ID: list the
    open ones)."""
    with station(ctx) as store:
        if transfer_id is None:
            _list(store, "to_warehouse")
            return
        _required(line_no, qty, location, operator_id)
        assert line_no is not None and qty is not None and location and operator_id
        require_operator(store, operator_id)
        move = store.writer.receive_transfer(transfer_id, line_no, qty, location=location,
                                             operator_id=operator_id)
    click.echo(f"已调入 / received {move.sku} × {qty} @ {location} → {move.balance_after} "
               f"(move {move.move_id})")
