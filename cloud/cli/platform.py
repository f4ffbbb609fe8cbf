"""``packline-cloud fake-platform``: a fake marketplace for tests and the demo."""

from __future__ import annotations

import time

import click

from cloud.cli.base import cli
from cloud.marketplaces.fake_server import run_fake_platform


@cli.command("fake-platform")
@click.argument("platform", type=click.Choice(["pdd", "taobao"]))
@click.option("--port", type=int, default=8700, show_default=True, help="监听端口 / port")
@click.option("--seed", type=int, default=0, show_default=True, help="订单流随机种子 / seed")
@click.option("--fault-rate", type=float, default=0.0, show_default=True,
              help="注入故障比例 / share of faulted calls")
@click.option("--tick", type=float, default=0.0, show_default=True,
              help="每秒额外推进的模拟秒数 / extra simulated seconds per real second (0 = real time)")
@click.option("--history-hours", type=click.FloatRange(0, 24 * 90), default=48.0,
              show_default=True, help="启动时生成的历史订单小时数 / hours of order history at start")
@click.option("--orders-per-hour", type=click.FloatRange(0, 36_000), default=40.0, show_default=True,
              help="每小时新订单数 (平均) / mean new orders per hour")
@click.option("--outer-ids", default="", metavar="SKU,SKU,…",
              help="商品的商家编码, 按顺序 / 商家编码 of the listings' SKUs, in order "
                   "(default SKU-0001…)")
def fake_platform_command(platform: str, port: int, seed: int, fault_rate: float,
                          tick: float, history_hours: float, orders_per_hour: float,
                          outer_ids: str) -> None:
    """运行模拟电商平台 (PDD / 淘宝) 供测试和演示 / Run a fake marketplace platform.

    New orders keep arriving in real time (``--orders-per-hour``); ``--tick`` runs the
    platform's clock faster than the wall clock."""
    running = run_fake_platform(platform, port, seed, fault_rate=fault_rate,
                                history_hours=history_hours, orders_per_hour=orders_per_hour,
                                outer_ids=[c.strip() for c in outer_ids.split(",") if c.strip()])
    fake = running.fake
    token = fake.issue_token()
    click.echo(f"fake {platform} on {running.base_url}{fake.gateway_path}")
    click.echo(f"app_key={fake.settings.app_key} app_secret={fake.settings.app_secret} "
               f"shop_id={fake.settings.shop_id}")
    click.echo(f"access_token={token.access_token} refresh_token={token.refresh_token}")
    click.echo(f"orders={len(fake.orders())} (Ctrl-C 停止 / to stop)")
    try:
        while True:
            time.sleep(1.0)
            # advance(0) still generates what the last second of real time brought: the
            # platform's clock is the wall clock plus the ticks so far
            fake.advance(tick)
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
