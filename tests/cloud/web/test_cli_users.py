"""``packline-cloud user ...`` and ``serve`` (without starting the server), on both engines."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine

from cloud.cli import run
from cloud.crypto import Sealer
from cloud.db.schema import audit_log
from cloud.web import accounts
from edge.domain.models import Role


def cli(url: str, *argv: str) -> int:
    return run(["--db", url, *argv])


def test_user_commands(cloud_engine: Engine, cloud_db_url: str,
                       capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(cloud_db_url, "user", "list") == 0
    assert "还没有用户" in capsys.readouterr().out
    assert cli(cloud_db_url, "user", "add", "Boss", "--role", "admin", "--name", "老板",
               "--password", "first admin pw") == 0
    assert capsys.readouterr().out == "已创建用户 boss (admin)\n"
    assert cli(cloud_db_url, "user", "add", "boss", "--role", "packer",
               "--password", "another pw 123") == 1
    assert capsys.readouterr().err == "错误 / error: 用户名 boss 已存在 / username boss is taken\n"
    assert cli(cloud_db_url, "user", "add", "li", "--role", "packer", "--password", "short") == 1
    assert "密码至少 10 个字符" in capsys.readouterr().err
    assert cli(cloud_db_url, "user", "add", "li", "--role", "packer", "--password",
               "packer pw 123") == 0
    assert cli(cloud_db_url, "user", "set-role", "li", "warehouse_lead") == 0
    assert cli(cloud_db_url, "user", "set-role", "boss", "manager") == 1  # the last admin
    assert cli(cloud_db_url, "user", "reset-password", "li", "--password", "new packer pw") == 0
    capsys.readouterr()
    assert cli(cloud_db_url, "--lang", "en", "user", "list") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["Username", "Name", "Role", "TOTP", "Last", "sign-in", "Status"]
    assert [line.split()[:3] for line in out[2:]] == [["boss", "老板", "admin"],
                                                     ["li", "li", "warehouse_lead"]]
    with cloud_engine.begin() as conn:
        assert accounts.find_user(conn, "li").role is Role.WAREHOUSE_LEAD  # type: ignore[union-attr]
        actions = conn.execute(sa.select(audit_log.c.actor, audit_log.c.action, audit_log.c.subject)
                               .order_by(audit_log.c.id)).all()
    assert [tuple(a) for a in actions] == [
        ("cli", "user.create", "boss"), ("cli", "user.create", "li"), ("cli", "user.role", "li"),
        ("cli", "user.password_reset", "li")]


def test_password_is_prompted_twice(cloud_engine: Engine, cloud_db_url: str,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter(["typed password", "typed password"])
    monkeypatch.setattr("click.termui.hidden_prompt_func", lambda _prompt: next(answers))
    assert cli(cloud_db_url, "user", "add", "wang", "--role", "finance") == 0
    with cloud_engine.begin() as conn:
        result = accounts.check_password(conn, datetime.now(UTC), accounts.LoginPolicy(),
                                         username="wang", password="typed password", ip="1.1.1.1")
    assert result.status is accounts.LoginStatus.OK


def test_reset_totp(cloud_engine: Engine, cloud_db_url: str) -> None:
    sealer = Sealer(Fernet.generate_key())
    now = datetime.now(UTC)
    with cloud_engine.begin() as conn:
        u = accounts.create_user(conn, now, "t", username="zhao", display_name="", role=Role.PACKER,
                                 password="zhao password")
        secret = accounts.new_totp_secret()
        accounts.enable_totp(conn, now, sealer, u.id, secret, pyotp.TOTP(secret).at(now))
    assert cli(cloud_db_url, "user", "reset-totp", "zhao") == 0
    with cloud_engine.begin() as conn:
        assert not accounts.find_user(conn, "zhao").totp_enabled  # type: ignore[union-attr]


def test_serve_says_when_assets_or_users_are_missing(
        cloud_engine: Engine, cloud_db_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    started: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: started.update(app=app, **kw))
    monkeypatch.setenv("PACKLINE_CLOUD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PACKLINE_WEB_VENDOR_DIR", str(tmp_path / "nothing-here"))
    assert cli(cloud_db_url, "serve", "--port", "0") == 2  # click refuses port 0
    capsys.readouterr()
    assert cli(cloud_db_url, "serve", "--host", "127.0.0.1", "--port", "8123") == 0
    err = capsys.readouterr().err
    assert "前端资源未安装" in err and "npm ci" in err
    assert "还没有用户: 先运行 packline-cloud user add" in err
    assert "Packline 网页 / web app: http://127.0.0.1:8123/" in err
    assert started["host"] == "127.0.0.1" and started["port"] == 8123
    assert (tmp_path / "session.key").stat().st_mode & 0o777 == 0o600


def test_serve_refuses_an_unmigrated_database(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--db", f"sqlite:///{tmp_path / 'empty.db'}", "serve"]) == 1
    assert "init-db" in capsys.readouterr().err
