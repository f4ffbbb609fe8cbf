"""``serve``: the manager's web app on uvicorn."""

from __future__ import annotations

import socket

import click
import sqlalchemy as sa
from pydantic import ValidationError

from cloud.cli.base import CliContext, cli
from cloud.db.schema import users
from cloud.errors import ConfigError


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            raise ConfigError(f"无法监听 {host}:{port} (端口被占用或地址无效) / "
                              f"cannot listen on {host}:{port}: {err.strerror}") from err


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址 / address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="端口 / port.")
@click.pass_obj
def serve(obj: CliContext, host: str, port: int) -> None:
    """网页管理后台 / Serve the manager's web app (sign in with a user from `user add`)."""
    import uvicorn  # only this command needs the server

    from cloud.web.app import create_app
    from cloud.web.assets import INSTALL_HINT
    from cloud.web.config import WebSettings

    try:
        web_settings = WebSettings()
    except ValidationError as err:
        problem = err.errors()[0]
        raise ConfigError(f"配置错误 / bad setting PACKLINE_WEB_{str(problem['loc'][0]).upper()}: "
                          f"{problem['msg']}") from err
    with obj.connect() as conn:
        n_users = conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one()
    _check_port(host, port)
    app = create_app(obj.settings, obj.engine(), web_settings=web_settings)
    if app.state.web.vendor.missing():
        click.echo(INSTALL_HINT, err=True)
    if not n_users:
        click.echo(obj.t("还没有用户: 先运行 packline-cloud user add 用户名 --role admin",
                         "no users yet: run packline-cloud user add NAME --role admin first"),
                   err=True)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Packline 网页 / web app: http://{shown}:{port}/", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)
