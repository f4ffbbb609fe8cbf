"""CLI commands for shops, orders and the worker (registered on ``packline-cloud``).

    packline-cloud fake-platform pdd --port 8700            # a fake PDD for trying things
    packline-cloud shop add --platform pdd --name 旗舰店 --app-key K --app-secret S \\
        --gateway http://127.0.0.1:8700 --warehouse WH1
    packline-cloud shop authorize pdd1 [--code CODE]
    packline-cloud shop list
    packline-cloud shop push-preview pdd1 / shop confirm-push pdd1 [--trust]
    packline-cloud shop push-holds / shop approve-cut 3 4
    packline-cloud map add pdd1 --item 100000000 --sku-id 1000000000 --sku SKU-0001
    packline-cloud worker [--once] [--interval 10]
    packline-cloud orders list [--state tasked] / orders exceptions
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from typing import Any

import click
import sqlalchemy as sa

from cloud.cli.base import CliContext, cli, render_table
from cloud.crypto import sealer_for
from cloud.db import skus, warehouses
from cloud.db.schema_orders import orders, sku_mappings, stock_pushes
from cloud.errors import ConfigError

MAP_LIST_ANSWER = 60
"""Characters of a refused push's answer shown by ``map list``."""


@cli.group("shop")
def shop() -> None:
    """店铺 / Marketplace shops."""

@shop.command("add")
@click.option("--platform", type=click.Choice(["pdd", "taobao"]), required=True,
              help="平台 / platform.")
@click.option("--name", required=True, help="店铺名 / shop name.")
@click.option("--app-key", required=True, help="应用 key / app key (client_id).")
@click.option("--app-secret", required=True, help="应用密钥 (加密保存) / app secret (stored encrypted).")
@click.option("--gateway", metavar="URL", default=None,
              help="网关地址, 默认正式网关 / gateway URL (default: the real one).")
@click.option("--warehouse", "warehouse_id", metavar="ID", default=None,
              help="默认发货仓库 / default warehouse.")
@click.option("--carrier", default="ZTO", show_default=True, help="面单快递公司 / waybill carrier code.")
@click.option("--logistics-id", default="115", show_default=True,
              help="PDD 物流公司 id / PDD logistics id for shipping.")
@click.pass_obj
def shop_add(obj: CliContext, platform: str, name: str, app_key: str, app_secret: str,
             gateway: str | None, warehouse_id: str | None, carrier: str,
             logistics_id: str) -> None:
    """添加店铺 / Add a shop (then authorise it)."""
    from cloud.shops import add_shop

    sealer = sealer_for(obj.settings)
    with obj.connect(write=True) as conn:
        if warehouse_id and not conn.execute(sa.select(warehouses.c.id).where(
                warehouses.c.id == warehouse_id)).first():
            conn.execute(sa.insert(warehouses).values(id=warehouse_id, name=warehouse_id))
        shop_id = add_shop(conn, sealer, platform=platform, name=name, app_key=app_key,
                           app_secret=app_secret, gateway_url=gateway,
                           default_warehouse_id=warehouse_id, carrier_code=carrier,
                           logistics_id=logistics_id)
    click.echo(obj.t(f"已添加店铺 {shop_id}, 下一步: packline-cloud shop authorize {shop_id}",
                     f"added shop {shop_id}; next: packline-cloud shop authorize {shop_id}"))

@shop.command("authorize")
@click.argument("shop_ref")
@click.option("--code", default=None,
              help="授权码 (已在浏览器中同意授权) / a code you already have from the redirect.")
@click.option("--redirect-uri", default=None,
              help="与 --code 一起: 取得 code 时的回调地址 / with --code: the redirect URI used.")
@click.option("--port", type=click.IntRange(0, 65535), default=0,
              help="本地回调端口 (0 = 任意空闲端口) / local callback port (0 = any free one).")
@click.option("--wait", "wait_s", type=click.FloatRange(1, 3600), default=600,
              show_default=True, help="等待同意授权的秒数 / seconds to wait for the approval.")
@click.pass_obj
def shop_authorize(obj: CliContext, shop_ref: str, code: str | None, redirect_uri: str | None,
                   port: int, wait_s: float) -> None:
    """授权店铺 (OAuth) / Authorise a shop (OAuth code flow).

    Without --code it listens on 127.0.0.1 for the platform's redirect, prints the page to
    open, and completes the exchange when the merchant approves (register the printed
    callback address for the app on the platform)."""
    from cloud.cli.oauth_callback import OAuthCallback
    from cloud.shops import authorize_url, exchange_code, load_shop, resolve_shop_id

    sealer = sealer_for(obj.settings)
    with obj.connect(write=True) as conn:
        shop_id = resolve_shop_id(conn, shop_ref)
        shop = load_shop(conn, sealer, shop_id)
    if code is None:
        state = secrets.token_urlsafe(12)
        with OAuthCallback(state, port) as callback:
            redirect_uri = callback.redirect_uri
            click.echo(obj.t("请在浏览器打开并同意授权:", "Open this page and approve the app:"))
            click.echo(authorize_url(shop, redirect_uri, state))
            click.echo(obj.t(f"等待回调 {redirect_uri} …", f"waiting for {redirect_uri} …"))
            try:
                code = callback.wait(wait_s)
            except TimeoutError:
                raise ConfigError(f"{wait_s:.0f} 秒内未完成授权 / not approved within "
                                  f"{wait_s:.0f} s") from None
            except ValueError as err:
                raise ConfigError(f"授权未完成 / not authorised: {err}") from None
    token = asyncio.run(exchange_code(obj.engine(), sealer, shop_id, code.strip(),
                                      redirect_uri=redirect_uri or "", actor="cli"))
    expires = (datetime.fromtimestamp(token.expires_at, UTC).strftime("%Y-%m-%d %H:%M")
               if token.expires_at else "?")
    click.echo(obj.t(f"店铺 {shop_id} 已授权 (平台店铺 {token.owner_id}, 令牌到期 {expires} UTC)",
                     f"shop {shop_id} authorised (platform shop {token.owner_id}, "
                     f"token expires {expires} UTC)"))


@shop.command("list")
@click.pass_obj
def shop_list(obj: CliContext) -> None:
    """列出店铺 / List shops (no secrets shown)."""
    from cloud.shops import list_shops

    with obj.connect() as conn:
        rows = list_shops(conn)
    if not rows:
        click.echo(obj.t("还没有店铺", "no shops"))
        return
    headers = [obj.t("编号", "Id"), obj.t("平台", "Platform"), obj.t("名称", "Name"),
               obj.t("平台店铺", "Seller"), obj.t("状态", "Status"),
               obj.t("令牌到期(UTC)", "Token expires (UTC)"), obj.t("网关", "Gateway")]
    click.echo(render_table(headers, [[
        r["id"], r["platform"], r["name"], r["seller_id"] or "-", r["status"],
        r["token_expires_at"].strftime("%Y-%m-%d %H:%M") if r["token_expires_at"] else "-",
        r["gateway_url"]] for r in rows]))

def _shop_row(conn: sa.Connection, ref: str) -> Any:
    from cloud.db.schema_orders import shop_config
    from cloud.shops import resolve_shop_id

    shop_id = resolve_shop_id(conn, ref)
    return conn.execute(sa.select(
        shop_config.c.shop_id.label("id"), shop_config.c.default_warehouse_id,
        shop_config.c.push_confirmed_at, shop_config.c.push_trust, shop_config.c.push_cut_percent,
    ).where(shop_config.c.shop_id == shop_id)).one()


@shop.command("listings")
@click.argument("shop_ref")
@click.pass_obj
def shop_listings(obj: CliContext, shop_ref: str) -> None:
    """下载商品并匹配 / Download every listing of the shop and match it by 商家编码.

    Listings whose 商家编码 is a warehouse SKU code are mapped (no stock is pushed); the
    rest are listed for matching by hand (web: 商品匹配)."""
    import httpx

    from cloud.marketplaces.errors import MarketplaceError, platform_reason
    from cloud.orders.listings import download
    from cloud.shops import ShopError, open_client, resolve_shop_id

    sealer = sealer_for(obj.settings)
    with obj.connect() as conn:
        shop_id = resolve_shop_id(conn, shop_ref)

    def progress(done: int, total: int) -> None:
        click.echo(obj.t(f"已读取 {done}/{total}", f"read {done}/{total}"))

    async def run() -> Any:
        async with httpx.AsyncClient(timeout=15.0) as http:
            sc = open_client(obj.engine(), sealer, shop_id, http=http)
            return await download(obj.engine(), sc, actor="cli", now=datetime.now(UTC),
                                  progress=progress)

    try:
        result = asyncio.run(run())
    except MarketplaceError as err:
        raise ShopError(f"下载失败 / download failed: {platform_reason(err)}") from err
    click.echo(obj.t(
        f"店铺 {shop_id}: 平台商品 {result.listings} 个, 自动匹配 {len(result.matched)} 个, "
        f"未匹配 {len(result.unmatched)} 个 (未推送库存)",
        f"shop {shop_id}: {result.listings} listing(s), {len(result.matched)} matched "
        f"automatically, {len(result.unmatched)} unmatched (no stock pushed)"))
    for item_id, sku_id, outer_id in result.unmatched:
        click.echo(obj.t(f"  未匹配 {item_id} sku_id {sku_id or '-'} 商家编码 {outer_id or '-'}",
                         f"  unmatched {item_id} sku_id {sku_id or '-'} outer id "
                         f"{outer_id or '-'}"))


@shop.command("push-preview")
@click.argument("shop_ref")
@click.pass_obj
def shop_push_preview(obj: CliContext, shop_ref: str) -> None:
    """首次推送预览 / What the next stock push would send for each listing, and why."""
    from cloud.orders.stock_push import push_preview

    with obj.connect() as conn:
        shop_row = _shop_row(conn, shop_ref)
        rows = push_preview(conn, shop_row.id, shop_row.default_warehouse_id)
    if not rows:
        click.echo(obj.t("没有开启库存推送的关联", "no mappings with stock push"))
        return
    headers = [obj.t("商品", "Item"), obj.t("平台SKU", "Platform SKU"), "SKU",
               obj.t("上次推送", "Last pushed"), obj.t("将推送", "Would push"),
               obj.t("原因", "Why")]
    click.echo(render_table(headers, [[
        r.item_id, r.sku_id or r.outer_id, r.avail.sku,
        "-" if r.last_pushed is None else str(r.last_pushed), str(r.avail.available),
        obj.t(f"在库 {r.avail.on_hand} − 占用 {r.avail.reserved} → 份额 {r.avail.allotted}"
              f" − 保留 {r.avail.buffer}" + (f", ÷{r.avail.units}" if r.avail.units > 1 else ""),
              f"on hand {r.avail.on_hand} − reserved {r.avail.reserved} → share "
              f"{r.avail.allotted} − buffer {r.avail.buffer}"
              + (f", ÷{r.avail.units}" if r.avail.units > 1 else ""))] for r in rows],
        right_align=[3, 4]))
    zero = sum(1 for r in rows if r.avail.available == 0)
    if shop_row.push_confirmed_at is None:
        click.echo(obj.t(
            f"尚未确认: 确认前不会推送任何库存。{zero} 个商品将推送为 0 (下架)。"
            f"确认: packline-cloud shop confirm-push {shop_row.id}",
            f"not confirmed: nothing is pushed until you confirm. {zero} listing(s) would be "
            f"set to 0 (off sale). To confirm: packline-cloud shop confirm-push {shop_row.id}"))


@shop.command("confirm-push")
@click.argument("shop_ref")
@click.option("--trust/--no-trust", default=None,
              help="大幅下调无需批准 / push big cuts without asking (default: ask).")
@click.option("--cut-percent", type=click.IntRange(1, 100), default=None,
              help="下调超过此百分比需批准 (默认 50) / a cut by more than this share waits "
                   "for approval (default 50).")
@click.pass_obj
def shop_confirm_push(obj: CliContext, shop_ref: str, trust: bool | None,
                      cut_percent: int | None) -> None:
    """确认首次推送 / Let the shop's stock pushes go out (after push-preview)."""
    from cloud.orders.stock_push import confirm_pushes

    with obj.connect(write=True) as conn:
        shop_id = _shop_row(conn, shop_ref).id
        confirm_pushes(conn, shop_id, actor="cli", now=datetime.now(UTC), trust=trust,
                       cut_percent=cut_percent)
    click.echo(obj.t(f"店铺 {shop_id} 的库存推送已确认, 下一轮开始推送",
                     f"stock pushes of shop {shop_id} confirmed: the next pass pushes"))


@shop.command("push-holds")
@click.argument("shop_ref", required=False)
@click.pass_obj
def shop_push_holds(obj: CliContext, shop_ref: str | None) -> None:
    """待批准的大幅下调 / Stock cuts waiting for approval."""
    from cloud.db.schema_orders import stock_push_holds as h

    with obj.connect() as conn:
        q = sa.select(h).where(h.c.state == "open").order_by(h.c.id)
        if shop_ref:
            q = q.where(h.c.shop_id == _shop_row(conn, shop_ref).id)
        rows = conn.execute(q).all()
    if not rows:
        click.echo(obj.t("没有待批准的下调", "no cuts waiting"))
        return
    click.echo(render_table(
        ["#", obj.t("店铺", "Shop"), "SKU", obj.t("平台现为", "Platform told"),
         obj.t("将改为", "Would set"), obj.t("自", "Since")],
        [[str(r.id), r.shop_id, r.sku, str(r.from_qty), str(r.to_qty),
          f"{r.created_at:%Y-%m-%d %H:%M}"] for r in rows], right_align=[0, 3, 4]))
    click.echo(obj.t("批准: packline-cloud shop approve-cut 编号 ...",
                     "approve: packline-cloud shop approve-cut ID ..."))


@shop.command("approve-cut")
@click.argument("hold_ids", nargs=-1, type=int, required=True)
@click.pass_obj
def shop_approve_cut(obj: CliContext, hold_ids: tuple[int, ...]) -> None:
    """批准大幅下调 / Approve waiting stock cuts: the next pass pushes them."""
    from cloud.orders.stock_push import approve_cuts

    with obj.connect(write=True) as conn:
        n = approve_cuts(conn, list(hold_ids), actor="cli", now=datetime.now(UTC))
    if n < len(hold_ids):
        click.echo(obj.t(f"{len(hold_ids) - n} 个编号不是待批准的下调",
                         f"{len(hold_ids) - n} id(s) are not waiting cuts"), err=True)
    click.echo(obj.t(f"已批准 {n} 个下调", f"{n} cut(s) approved"))


@cli.group("map")
def map_group() -> None:
    """平台商品关联 / Platform SKU mappings."""

@map_group.command("add")
@click.argument("shop_ref")
@click.option("--item", "item_id", required=True, help="平台商品 id / goods id (num_iid).")
@click.option("--sku-id", default="", help="平台 SKU id / platform sku_id.")
@click.option("--outer-id", default="", help="商家编码 / merchant code (outer_id).")
@click.option("--sku", required=True, help="Packline SKU.")
@click.option("--buffer", "buffer_units", type=click.IntRange(0), default=0,
              help="安全库存件数 / safety buffer, units.")
@click.option("--buffer-percent", type=click.IntRange(0, 100), default=0,
              help="安全库存百分比 / safety buffer, percent of on-hand.")
@click.option("--share", "stock_share", type=click.IntRange(0), default=1,
              show_default=True,
              help="共享库存权重 / weight of this mapping in stock it shares with other "
                   "shops or listings.")
@click.option("--min", "push_min", type=click.IntRange(0), default=None,
              help="最小同步数: 低于则推 0 / floor: below it the listing is offered 0.")
@click.option("--max", "push_max", type=click.IntRange(0), default=None,
              help="最大同步数 / cap: never offer more.")
@click.option("--no-push", is_flag=True,
              help="不推送库存 (赠品等非在售商品) / never push stock (a gift, not a listing).")
@click.pass_obj
def map_add(obj: CliContext, shop_ref: str, item_id: str, sku_id: str, outer_id: str,
            sku: str, buffer_units: int, buffer_percent: int, stock_share: int,
            push_min: int | None, push_max: int | None, no_push: bool) -> None:
    """关联平台 SKU 与 Packline SKU / Map a platform SKU to a Packline SKU."""
    from cloud.orders.stock_push import add_mapping
    from cloud.shops import resolve_shop_id

    if not sku_id and not outer_id:
        raise ConfigError("需要 --sku-id 或 --outer-id / give --sku-id or --outer-id")
    if push_min is not None and push_max is not None and push_min > push_max:
        raise ConfigError("--min 不能大于 --max / --min cannot be above --max")
    with obj.connect(write=True) as conn:
        shop_id = resolve_shop_id(conn, shop_ref)
        if not conn.execute(sa.select(skus.c.sku).where(skus.c.sku == sku)).first():
            conn.execute(sa.insert(skus).values(sku=sku, name_zh=sku))
        mapping_id = add_mapping(conn, shop_id, item_id=item_id, sku=sku, sku_id=sku_id,
                                 outer_id=outer_id, buffer_units=buffer_units,
                                 buffer_percent=buffer_percent, stock_share=stock_share,
                                 push_min=push_min, push_max=push_max, push=not no_push,
                                 now=datetime.now(UTC))
    click.echo(obj.t(f"已关联 #{mapping_id}", f"mapped #{mapping_id}"))

@map_group.command("list")
@click.argument("shop_ref")
@click.pass_obj
def map_list(obj: CliContext, shop_ref: str) -> None:
    """列出关联和最近一次库存推送 / Mappings with their last stock push."""
    from cloud.shops import resolve_shop_id

    with obj.connect() as conn:
        shop_id = resolve_shop_id(conn, shop_ref)
        maps = conn.execute(sa.select(sku_mappings).where(
            sku_mappings.c.shop_id == shop_id).order_by(sku_mappings.c.id)).all()
        rows = []
        for m in maps:
            last = conn.execute(sa.select(stock_pushes).where(
                stock_pushes.c.mapping_id == m.id).order_by(stock_pushes.c.id.desc())
                .limit(1)).first()
            rows.append([str(m.id), m.platform_item_id, m.platform_sku_id or m.outer_id,
                         m.sku, f"{m.buffer_units}+{m.buffer_percent}%"
                         + ("" if m.push_min is None and m.push_max is None else
                            f" [{m.push_min if m.push_min is not None else ''}"
                            f"..{m.push_max if m.push_max is not None else ''}]"),
                         str(m.stock_share),
                         "-" if last is None else
                         f"{last.pushed} ({last.on_hand}-{last.reserved}-{last.buffer})"
                         + ("" if last.ok else f" ✗ {last.answer[:MAP_LIST_ANSWER]}")])
    if not rows:
        click.echo(obj.t("没有关联", "no mappings"))
        return
    click.echo(render_table(["#", obj.t("商品", "Item"), "SKU id", "SKU",
                             obj.t("安全库存", "Buffer"), obj.t("份额", "Share"),
                             obj.t("推送(在库-占用-安全)", "Pushed (on hand-reserved-buffer)")],
                            rows))

@cli.group("orders")
def orders_group() -> None:
    """订单 / Orders."""

@orders_group.command("list")
@click.option("--shop", "shop_ref", default=None, help="只看此店铺 / only this shop.")
@click.option("--state", default=None, help="只看此状态 / only this state.")
@click.option("--limit", type=click.IntRange(1, 10000), default=30, show_default=True)
@click.pass_obj
def orders_list(obj: CliContext, shop_ref: str | None, state: str | None,
                limit: int) -> None:
    """订单列表, 最新在前 (收件人已脱敏) / Orders, newest first (receiver masked)."""
    from cloud.shops import resolve_shop_id

    with obj.connect() as conn:
        q = sa.select(orders).order_by(orders.c.platform_updated_at.desc()).limit(limit)
        if shop_ref:
            q = q.where(orders.c.shop_id == resolve_shop_id(conn, shop_ref))
        if state:
            q = q.where(orders.c.state == state)
        rows = conn.execute(q).all()
        total = conn.execute(sa.select(orders.c.state, sa.func.count()).group_by(
            orders.c.state)).all()
    if not rows:
        click.echo(obj.t("还没有订单", "no orders"))
        return
    headers = [obj.t("订单", "Order"), obj.t("店铺", "Shop"), obj.t("平台状态", "Platform"),
               obj.t("状态", "State"), obj.t("金额", "Paid"), obj.t("收件人", "Receiver"),
               obj.t("仓库/工作站", "Warehouse/station"), obj.t("更新(UTC)", "Updated (UTC)"),
               obj.t("原因", "Reason")]
    click.echo(render_table(headers, [[
        r.platform_order_id, r.shop_id, r.platform_status, r.state,
        f"{r.pay_fen / 100:.2f}",
        f"{(r.receiver_masked or {}).get('name', '')} {(r.receiver_masked or {}).get('phone', '')}",
        f"{r.warehouse_id or '-'}/{r.station_id or '-'}",
        r.platform_updated_at.strftime("%m-%d %H:%M"), r.exception_code or ""]
        for r in rows], right_align={4}))
    click.echo(obj.t("合计: ", "totals: ") + ", ".join(f"{s} {n}" for s, n in sorted(total)))

@orders_group.command("exceptions")
@click.option("--shop", "shop_ref", default=None, help="只看此店铺 / only this shop.")
@click.pass_obj
def orders_exceptions(obj: CliContext, shop_ref: str | None) -> None:
    """异常订单及原因 / The exception list, with reasons."""
    from cloud.orders.order_sync import exceptions
    from cloud.shops import resolve_shop_id

    with obj.connect() as conn:
        rows = exceptions(conn, resolve_shop_id(conn, shop_ref) if shop_ref else None)
    if not rows:
        click.echo(obj.t("没有异常订单", "no exceptions"))
        return
    click.echo(render_table([obj.t("订单", "Order"), obj.t("店铺", "Shop"),
                             obj.t("原因", "Code"), obj.t("说明", "Detail")],
                            [[r["platform_order_id"], r["shop_id"], r["exception_code"] or "",
                              r["exception_detail"] or ""] for r in rows]))

@cli.command("worker")
@click.option("--once", is_flag=True, help="每个店铺只跑一轮 / one pass over every shop.")
@click.option("--interval", type=click.FloatRange(0.5), default=10.0, show_default=True,
              help="每轮间隔秒数 / seconds between passes.")
@click.option("--no-push", is_flag=True, help="不监听平台推送 / do not listen to push messages.")
@click.pass_obj
def worker_command(obj: CliContext, once: bool, interval: float, no_push: bool) -> None:
    """同步订单、分配、面单、回传、库存推送 / Sync orders, allocate, waybills, write-backs, stock."""
    from cloud.orders.worker import TickReport, Worker, WorkerSettings, tune_interpreter

    sealer = sealer_for(obj.settings)
    settings = WorkerSettings(interval=interval, listen_push=not no_push)
    with obj.connect():
        pass  # the schema is current

    def show(r: TickReport) -> None:
        if r.busy:
            click.echo(obj.t(f"{r.shop_id}: 另一个 worker 正在处理该店铺, 本次跳过",
                             f"{r.shop_id}: another worker holds this shop; skipped"))
            return
        sync = r.sync
        click.echo(obj.t(
            f"{r.shop_id}: 新订单 {sync.inserted if sync else 0}, 更新 "
            f"{sync.updated if sync else 0}, 分配 {r.allocated}, 面单 "
            f"{r.waybills.issued if r.waybills else 0}, 回传 "
            f"{r.writeback.done if r.writeback else 0}, 库存推送 "
            f"{r.stock.pushed if r.stock else 0}"
            + (f", 待确认首次推送 {r.stock.awaiting_confirmation} (shop push-preview)"
               if r.stock and r.stock.awaiting_confirmation else "")
            + (f", 大幅下调待批准 {r.stock.held} (shop push-holds)"
               if r.stock and r.stock.held else "")
            + (f", 推送失败 {r.stock.failed} (如 {r.stock.first_error}; map list {r.shop_id})"
               if r.stock and r.stock.failed else "")
            + (f", 错误: {r.error}" if r.error else ""),
            f"{r.shop_id}: new {sync.inserted if sync else 0}, updated "
            f"{sync.updated if sync else 0}, allocated {r.allocated}, waybills "
            f"{r.waybills.issued if r.waybills else 0}, written back "
            f"{r.writeback.done if r.writeback else 0}, stock pushes "
            f"{r.stock.pushed if r.stock else 0}"
            + (f", awaiting first-push confirmation {r.stock.awaiting_confirmation} "
               "(shop push-preview)" if r.stock and r.stock.awaiting_confirmation else "")
            + (f", cuts awaiting approval {r.stock.held} (shop push-holds)"
               if r.stock and r.stock.held else "")
            + (f", push failures {r.stock.failed} (e.g. {r.stock.first_error}; map list "
               f"{r.shop_id})" if r.stock and r.stock.failed else "")
            + (f", error: {r.error}" if r.error else "")))

    async def main() -> None:
        async with Worker(obj.engine(), sealer, settings=settings) as worker:
            await worker.run(once=once, on_report=show)

    tune_interpreter()
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
