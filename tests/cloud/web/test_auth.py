"""Sign-in, lock-out, throttling, TOTP, session expiry and CSRF, in process on both engines."""

from __future__ import annotations

import httpx
import pyotp
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.crypto import Sealer
from cloud.db.schema import audit_log, users
from cloud.web import accounts
from cloud.web.config import WebSettings
from edge.domain.models import Role
from tests.cloud.web.support import PASSWORD, FakeClock, add_users, count, csrf_of, login, token


async def test_sign_in_and_out(client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    add_users(cloud_engine)
    first = await client.get("/stock?sku=SKU-1")
    assert first.status_code == 303
    assert first.headers["location"] == "/login?next=%2Fstock%3Fsku%3DSKU-1"
    r = await login(client, "U-Manager", next="/stock?sku=SKU-1")  # usernames ignore case
    assert r.status_code == 303 and r.headers["location"] == "/stock?sku=SKU-1"
    assert (await client.get("/stock")).status_code == 200
    r = await client.post("/logout", data={"csrf_token": await token(client, "/")})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    page = await client.get("/login")
    assert "已退出" in page.text
    assert (await client.get("/stock")).status_code == 303
    assert count(cloud_engine, audit_log, audit_log.c.action == "login") == 1
    assert count(cloud_engine, audit_log, audit_log.c.action == "logout") == 1


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
async def test_sign_in_never_redirects_off_site(client: httpx.AsyncClient, cloud_engine: Engine,
                                                target: str) -> None:
    add_users(cloud_engine)
    r = await login(client, "u-admin", next=target)
    assert r.headers["location"] == "/"


async def test_wrong_password_says_so_and_is_audited(client: httpx.AsyncClient,
                                                     cloud_engine: Engine) -> None:
    add_users(cloud_engine)
    r = await login(client, "u-admin", "wrong password!")
    assert r.status_code == 400
    assert "用户名或密码不对" in r.text
    assert 'value="u-admin"' in r.text  # the username stays in the form
    r = await login(client, "nobody", PASSWORD)
    assert r.status_code == 400
    with cloud_engine.begin() as conn:
        rows = conn.execute(sa.select(audit_log.c.subject, audit_log.c.detail)
                            .where(audit_log.c.action == "login.failed")
                            .order_by(audit_log.c.id)).all()
    assert [r.subject for r in rows] == ["u-admin", "nobody"]
    assert rows[0].detail == {"ip": "10.1.2.3", "step": "password"}


async def test_lock_out_after_five_failures_then_unlock_after_the_period(
        client: httpx.AsyncClient, cloud_engine: Engine, clock: FakeClock) -> None:
    add_users(cloud_engine)
    for _ in range(4):
        assert (await login(client, "u-finance", "wrong password!")).status_code == 400
    fifth = await login(client, "u-finance", "wrong password!")
    assert fifth.status_code == 423
    # locked at 10:00 CST for 15 minutes
    assert "账户已锁定" in fifth.text and "2026-12-01 10:15" in fifth.text
    clock.advance(minutes=14, seconds=59)
    right = await login(client, "u-finance")
    assert right.status_code == 423  # the right password does not help while locked
    clock.advance(seconds=2)
    assert (await login(client, "u-finance")).status_code == 303
    actions = [a for (a,) in _audit(cloud_engine, "u-finance")]
    assert actions == ["login.failed"] * 5 + ["user.locked", "login.refused_locked", "login"]
    with cloud_engine.begin() as conn:
        row = conn.execute(sa.select(users.c.failed_logins, users.c.locked_until)
                           .where(users.c.username == "u-finance")).one()
    assert row.failed_logins == 0 and row.locked_until is None


def _audit(engine: Engine, subject: str) -> list[tuple[str]]:
    with engine.begin() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(audit_log.c.action).where(audit_log.c.subject == subject,
                                                audit_log.c.action != "user.create")
            .order_by(audit_log.c.id))]


async def test_a_success_resets_the_failure_count(client: httpx.AsyncClient,
                                                  cloud_engine: Engine) -> None:
    add_users(cloud_engine)
    for _ in range(4):
        await login(client, "u-finance", "wrong password!")
    assert (await login(client, "u-finance")).status_code == 303
    await client.post("/logout", data={"csrf_token": await token(client, "/")})
    for _ in range(4):
        assert (await login(client, "u-finance", "wrong password!")).status_code == 400


class TestAddressThrottling:
    @pytest.fixture
    def web_settings(self) -> WebSettings:
        return WebSettings(ip_max_failures=3, ip_window_minutes=10, max_failed_logins=50)

    async def test_an_address_with_many_failures_waits(
            self, client: httpx.AsyncClient, cloud_engine: Engine, clock: FakeClock) -> None:
        add_users(cloud_engine)
        for name in ("alice", "bob", "carol"):  # three usernames, one address
            assert (await login(client, name, "guess-guess")).status_code == 400
        clock.advance(minutes=1)
        refused = await login(client, "u-admin")  # even the right password
        assert refused.status_code == 429
        assert "此地址登录失败次数过多" in refused.text and "2026-12-01 10:10" in refused.text
        clock.advance(minutes=9, seconds=1)  # the first failure (10:00) has aged out
        assert (await login(client, "u-admin")).status_code == 303


async def test_totp_second_step(client: httpx.AsyncClient, cloud_engine: Engine,
                                clock: FakeClock, sealer: Sealer) -> None:
    made = add_users(cloud_engine)
    secret = accounts.new_totp_secret()
    with cloud_engine.begin() as conn:
        accounts.enable_totp(conn, clock.dt(), sealer, made[Role.MANAGER].id, secret,
                             pyotp.TOTP(secret).at(clock.dt()))
    r = await login(client, "u-manager", next="/orders")
    assert r.status_code == 303 and r.headers["location"] == "/login/totp?next=/orders"
    assert (await client.get("/orders")).status_code == 303  # not signed in yet
    page = await client.get("/login/totp")
    assert "两步验证" in page.text
    wrong = await client.post("/login/totp", data={"csrf_token": csrf_of(page.text),
                                                   "code": "000000", "next": "/orders"})
    assert wrong.status_code == 400 and "验证码不对" in wrong.text
    clock.advance(seconds=40)
    code = pyotp.TOTP(secret).at(clock.dt())
    ok = await client.post("/login/totp", data={"csrf_token": csrf_of(page.text), "code": code,
                                                "next": "/orders"})
    assert ok.status_code == 303 and ok.headers["location"] == "/orders"
    assert (await client.get("/orders")).status_code == 200
    # the same code again, still inside its 30 s window: a replay, refused
    await client.post("/logout", data={"csrf_token": await token(client, "/")})
    await login(client, "u-manager")
    replay = await client.post("/login/totp", data={"csrf_token": await token(client, "/login/totp"),
                                                    "code": code})
    assert replay.status_code == 400 and "验证码不对" in replay.text
    with cloud_engine.begin() as conn:
        steps = [r.detail["step"] for r in conn.execute(
            sa.select(audit_log.c.detail).where(audit_log.c.action == "login.failed"))]
    assert steps == ["totp", "totp"]


async def test_totp_step_expires(client: httpx.AsyncClient, cloud_engine: Engine,
                                 clock: FakeClock, sealer: Sealer) -> None:
    made = add_users(cloud_engine)
    secret = accounts.new_totp_secret()
    with cloud_engine.begin() as conn:
        accounts.enable_totp(conn, clock.dt(), sealer, made[Role.ADMIN].id, secret,
                             pyotp.TOTP(secret).at(clock.dt()))
    await login(client, "u-admin")
    clock.advance(minutes=6)
    page = await client.get("/login/totp")
    assert page.status_code == 303 and page.headers["location"] == "/login"


def test_totp_matches_the_rfc_6238_vectors() -> None:
    # RFC 6238 appendix B, SHA-1 secret "12345678901234567890"; 6-digit codes are the last six.
    from datetime import UTC, datetime

    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    assert accounts.totp_matches(secret, "287082", datetime.fromtimestamp(59, UTC))
    assert accounts.totp_matches(secret, "081804", datetime.fromtimestamp(1111111109, UTC))
    assert not accounts.totp_matches(secret, "081805", datetime.fromtimestamp(1111111109, UTC))
    # one step of drift either way is accepted, two are not
    assert accounts.totp_matches(secret, "081804", datetime.fromtimestamp(1111111109 + 30, UTC))
    assert not accounts.totp_matches(secret, "081804", datetime.fromtimestamp(1111111109 + 61, UTC))


async def test_session_ends_after_idle_time(client: httpx.AsyncClient, cloud_engine: Engine,
                                            clock: FakeClock) -> None:
    add_users(cloud_engine)
    await login(client, "u-admin")
    clock.advance(minutes=29)
    assert (await client.get("/")).status_code == 200  # activity restarts the idle timer
    clock.advance(minutes=29)
    assert (await client.get("/")).status_code == 200
    clock.advance(minutes=30, seconds=1)
    r = await client.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert "会话已过期" in (await client.get(r.headers["location"])).text


async def test_session_ends_at_max_age_however_active(client: httpx.AsyncClient,
                                                      cloud_engine: Engine,
                                                      clock: FakeClock) -> None:
    add_users(cloud_engine)
    await login(client, "u-admin")
    for _ in range(35):  # 35 × 20 min = 11 h 40 min
        clock.advance(minutes=20)
        assert (await client.get("/")).status_code == 200
    clock.advance(minutes=20, seconds=1)  # 12 h 0 min 1 s after sign-in
    assert (await client.get("/")).status_code == 303


async def test_role_change_and_password_reset_end_sessions(client: httpx.AsyncClient,
                                                           cloud_engine: Engine,
                                                           clock: FakeClock) -> None:
    add_users(cloud_engine)
    await login(client, "u-purchaser")
    assert (await client.get("/stock")).status_code == 200
    with cloud_engine.begin() as conn:
        accounts.set_role(conn, clock.dt(), "test", "u-purchaser", Role.FINANCE)
    assert (await client.get("/stock")).status_code == 303
    await login(client, "u-purchaser")
    with cloud_engine.begin() as conn:
        accounts.reset_password(conn, clock.dt(), "test", "u-purchaser", "another password")
    assert (await client.get("/")).status_code == 303
    assert (await login(client, "u-purchaser")).status_code == 400
    assert (await login(client, "u-purchaser", "another password")).status_code == 303


async def test_post_without_or_with_a_wrong_csrf_token_is_refused(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    add_users(cloud_engine)
    csrf = await token(client)
    form = {"username": "u-admin", "password": PASSWORD}
    missing = await client.post("/login", data=form)
    assert missing.status_code == 403 and "表单已失效" in missing.text
    wrong = await client.post("/login", data={**form, "csrf_token": csrf[:-2] + "xx"})
    assert wrong.status_code == 403
    assert count(cloud_engine, audit_log, audit_log.c.action.like("login%")) == 0
    assert (await client.post("/login", data={**form, "csrf_token": csrf})).status_code == 303
    # signed in: forms still need the token; htmx may send it as a header instead
    new_user = {"username": "newbie", "display_name": "新人", "role": "packer",
                "password": "long enough pw"}
    assert (await client.post("/users", data=new_user)).status_code == 403
    assert (await client.post("/users", data=new_user,
                              headers={"X-CSRF-Token": "nope"})).status_code == 403
    page_token = await token(client, "/users")
    assert (await client.post("/users", data=new_user,
                              headers={"X-CSRF-Token": page_token})).status_code == 303
    with cloud_engine.begin() as conn:
        assert accounts.find_user(conn, "newbie") is not None


async def test_a_token_from_another_session_is_refused(app: object, client: httpx.AsyncClient,
                                                       cloud_engine: Engine) -> None:
    add_users(cloud_engine)
    other_token = await token(client)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        await other.get("/login")  # its own session, with its own token
        r = await other.post("/login", data={"csrf_token": other_token, "username": "u-admin",
                                             "password": PASSWORD})
    assert r.status_code == 403


async def test_multipart_form_carries_the_token(client: httpx.AsyncClient,
                                                cloud_engine: Engine) -> None:
    add_users(cloud_engine)
    csrf = await token(client)
    r = await client.post("/login", files={"upload": ("a.txt", b"x")},
                          data={"csrf_token": csrf, "username": "u-admin", "password": PASSWORD})
    assert r.status_code == 303
