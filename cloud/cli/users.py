"""People who sign in to the web app: ``user add``, ``list``, ``set-role``, ``reset-password``,
``reset-totp``. Every change is written to the audit log (actor ``cli``)."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from cloud.cli.base import CliContext, cli, render_table
from cloud.web import accounts
from edge.domain.models import Role

ROLE_CHOICE = click.Choice([r.value for r in Role])
ACTOR = "cli"

_password_option = click.option(
    "--password", prompt="密码 / password", hide_input=True, confirmation_prompt=True,
    help=f"至少 {accounts.MIN_PASSWORD_LENGTH} 位; 不给则提示输入 / at least "
    f"{accounts.MIN_PASSWORD_LENGTH} characters; prompted for when left out.")


@cli.group("user")
def user() -> None:
    """网页用户 / Users of the web app.

    Roles: packer, warehouse_lead, purchaser, finance, manager, admin.
    """


@user.command("add")
@click.argument("username")
@click.option("--role", required=True, type=ROLE_CHOICE, help="角色 / role.")
@click.option("--name", "display_name", default="", help="姓名 / display name.")
@_password_option
@click.pass_obj
def add(obj: CliContext, username: str, role: str, display_name: str, password: str) -> None:
    """新建用户 / Add a user (the first admin is made this way)."""
    with obj.connect(write=True) as conn:
        created = accounts.create_user(conn, datetime.now(UTC), ACTOR, username=username,
                                       display_name=display_name, role=Role(role),
                                       password=password)
    click.echo(obj.t(f"已创建用户 {created.username} ({role})",
                     f"user {created.username} created ({role})"))


@user.command("list")
@click.pass_obj
def list_(obj: CliContext) -> None:
    """用户列表 / Users, roles, second factor, last sign-in, lock-out."""
    with obj.connect() as conn:
        rows = accounts.list_users(conn)
    if not rows:
        click.echo(obj.t("还没有用户 (用 user add 新建)", "no users yet (see user add)"))
        return
    now = datetime.now(UTC)
    headers = [obj.t("用户名", "Username"), obj.t("姓名", "Name"), obj.t("角色", "Role"),
               "TOTP", obj.t("最近登录", "Last sign-in"), obj.t("状态", "Status")]

    def status(u: accounts.User) -> str:
        if not u.active:
            return obj.t("停用", "disabled")
        if u.locked_until is not None and u.locked_until > now:
            return obj.t("锁定至 ", "locked until ") + u.locked_until.strftime("%Y-%m-%d %H:%M UTC")
        return obj.t("启用", "active")

    click.echo(render_table(headers, [
        [u.username, u.display_name, u.role.value, obj.t("是", "yes") if u.totp_enabled else "-",
         u.last_login_at.strftime("%Y-%m-%d %H:%M UTC") if u.last_login_at else "-", status(u)]
        for u in rows]))


@user.command("set-role")
@click.argument("username")
@click.argument("role", type=ROLE_CHOICE)
@click.pass_obj
def set_role(obj: CliContext, username: str, role: str) -> None:
    """修改角色 / Change a user's role (their sessions end)."""
    with obj.connect(write=True) as conn:
        changed = accounts.set_role(conn, datetime.now(UTC), ACTOR, username, Role(role))
    click.echo(obj.t(f"{changed.username} 的角色: {role}", f"{changed.username} is now {role}"))


@user.command("reset-password")
@click.argument("username")
@_password_option
@click.pass_obj
def reset_password(obj: CliContext, username: str, password: str) -> None:
    """重置密码 / Set a new password, clear a lock-out, end the user's sessions."""
    with obj.connect(write=True) as conn:
        accounts.reset_password(conn, datetime.now(UTC), ACTOR, username, password)
    click.echo(obj.t(f"已重置 {username} 的密码", f"password of {username} reset"))


@user.command("reset-totp")
@click.argument("username")
@click.pass_obj
def reset_totp(obj: CliContext, username: str) -> None:
    """关闭两步验证 / Remove a user's TOTP second factor (a lost phone)."""
    with obj.connect(write=True) as conn:
        accounts.disable_totp(conn, datetime.now(UTC), ACTOR, username)
    click.echo(obj.t(f"已关闭 {username} 的两步验证", f"two-step verification of {username} removed"))
