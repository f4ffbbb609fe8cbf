"""Every page with data on it, in process on both engines: what a person would read."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pyotp
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.applications import Starlette

from cloud.db.schema import audit_log, users
from cloud.web import accounts
from edge.domain.models import Role
from tests.cloud.web.support import add_users, cells, count, login, signed_in, token


async def test_dashboard_counts(client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    page = await client.get("/")
    assert page.status_code == 200
    tiles = dict(re.findall(r'tile-label">([^<]+)</div>\s*<div class="tile-value">(?:<a [^>]+>)?([^<]+)',
                            page.text))
    # orders: 1 shipped, 1 exception, 1 allocated; stock 12 + 7; 6 users; 2 stations
    assert tiles == {"待发货订单": "1", "异常订单": "1", "在库总件数": "19", "在售商品": "2",
                     "仓库": "1", "工作站": "2", "未处理的工作站提醒": "0", "用户": "6"}
    assert cells(page.text, "orders-by-state")[:3] == [["待审核", "0"], ["异常", "1"], ["已分配", "1"]]
    assert "打包台二号" in page.text and "打包台一号" not in page.text  # only st-2 needs attention
    assert '"values": [0, 1, 1, 0, 1, 0, 0]' in page.text  # chart data for ECharts


async def test_stock_balances_and_filters(client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    page = await client.get("/stock")
    assert cells(page.text, "stock-table") == [  # the lead may adjust: a ± per row
        ["WH1", "SKU-1", "保温杯 500ml", "A-01", "12", "±"], ["WH1", "SKU-2", "帆布袋", "B-02", "7", "±"]]
    assert 'href="/stock/adjust?warehouse=WH1&sku=SKU-2&location=B-02"' in page.text
    assert "共 2 行, 合计 19 件" in page.text
    one = await client.get("/stock", params={"sku": "SKU-2"})
    assert cells(one.text, "stock-table") == [["WH1", "SKU-2", "帆布袋", "B-02", "7", "±"]]
    none = await client.get("/stock", params={"warehouse": "WH9"})
    assert "没有记录" in none.text


async def test_move_history_and_filters(client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.PURCHASER)
    page = await client.get("/stock/moves", params={"sku": "SKU-1"})
    rows = cells(page.text, "moves-table")
    # newest first; moves at 2026-11-01 08:00 UTC + n minutes = 16:0n China time
    assert [(r[0], r[4], r[5], r[6]) for r in rows] == [
        ("2026-11-01 16:02", "-3", "12", "发货出库"),
        ("2026-11-01 16:01", "+5", "15", "采购入库"),
        ("2026-11-01 16:00", "+10", "10", "采购入库"),
    ]
    assert len(cells((await client.get("/stock/moves", params={"limit": "2"})).text,
                     "moves-table")) == 2
    later = await client.get("/stock/moves", params={"since": "2026-11-02"})
    assert "没有记录" in later.text
    bad = await client.get("/stock/moves", params={"since": "01/11/2026"})
    assert bad.status_code == 400 and "日期格式应为" in bad.text


async def test_stations_with_backup_health(client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    rows = cells((await client.get("/stations")).text, "stations-table")
    assert rows[0][:4] == ["打包台一号 st-1", "WH1", "在用", "正常"]
    assert rows[0][6:8] == ["12 秒", "0"]
    assert rows[1][3] == "备份出错" and rows[1][6:9] == ["2 小时", "42", "S3 AccessDenied"]
    assert rows[1][4] == "2026-12-01 10:00" and rows[1][5] == ""


async def test_orders_across_shops_with_filters(client: httpx.AsyncClient,
                                                cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.FINANCE)
    rows = cells((await client.get("/orders")).text, "orders-table")
    assert [r[0] for r in rows] == ["1002", "1001", "1003"]  # newest order first
    assert rows[1] == ["1001", "拼多多 拼多多旗舰店", "已发货", "张* 138****5678 浙江省杭州市***",
                       "129.90", "2026-11-30 10:00", "—", "", "ZT123", "0", ""]  # no ship-by, no prints, no tags
    exc = cells((await client.get("/orders", params={"state": "exception"})).text, "orders-table")
    assert [(r[0], r[2], r[7]) for r in exc] == [("1002", "异常 商品未关联 SKU", "请发顺丰")]
    assert [r[0] for r in cells((await client.get("/orders", params={"q": "1003"})).text,
                                "orders-table")] == ["1003"]
    since = await client.get("/orders", params={"since": "2026-12-01"})
    assert [r[0] for r in cells(since.text, "orders-table")] == ["1002"]
    until = await client.get("/orders", params={"until": "2026-11-30"})  # inclusive end day
    assert [r[0] for r in cells(until.text, "orders-table")] == ["1001", "1003"]
    assert "没有记录" in (await client.get("/orders", params={"platform": "taobao"})).text
    bad = await client.get("/orders", params={"until": "tomorrow"})
    assert bad.status_code == 400 and "日期格式应为" in bad.text


async def test_language_switch(client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    r = await client.post("/lang", data={"csrf_token": await token(client, "/stock"),
                                         "lang": "en", "next": "/stock?sku=SKU-1"})
    assert r.status_code == 303 and r.headers["location"] == "/stock?sku=SKU-1"
    page = await client.get(r.headers["location"])
    assert '<html lang="en">' in page.text
    assert cells(page.text, "stock-table") == [["WH1", "SKU-1", "Vacuum flask 500ml", "A-01", "12", "±"]]
    assert "1 rows, 12 units in all" in page.text and ">中文</button>" in page.text
    moves = await client.get("/stock/moves", params={"sku": "SKU-1"})
    assert cells(moves.text, "moves-table")[0][6] == "Ship"
    await client.post("/lang", data={"csrf_token": await token(client, "/"), "lang": "zh"})
    assert "库存" in (await client.get("/stock")).text


async def test_users_page_creates_users_and_changes_roles(client: httpx.AsyncClient,
                                                          cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine)
    csrf = await token(client, "/users")
    short = await client.post("/users", data={"csrf_token": csrf, "username": "xiaoming",
                                              "display_name": "小明", "role": "packer",
                                              "password": "short"})
    assert short.status_code == 400
    assert "密码至少 10 个字符" in short.text and 'value="xiaoming"' in short.text
    taken = await client.post("/users", data={"csrf_token": csrf, "username": "U-Admin",
                                              "role": "packer", "password": "long enough pw"})
    assert taken.status_code == 400 and "用户名 u-admin 已存在" in taken.text
    assert count(cloud_engine, users) == 6  # nothing half-written
    ok = await client.post("/users", data={"csrf_token": csrf, "username": "xiaoming",
                                           "display_name": "小明", "role": "packer",
                                           "password": "long enough pw"})
    assert ok.status_code == 303
    listing = await client.get("/users")
    assert "已创建用户 xiaoming" in listing.text
    with cloud_engine.begin() as conn:
        xm = accounts.find_user(conn, "xiaoming")
    assert xm is not None and xm.role is Role.PACKER and xm.display_name == "小明"
    r = await client.post(f"/users/{xm.id}/role", data={"csrf_token": csrf, "role": "purchaser"})
    assert r.status_code == 303
    assert "xiaoming 的角色已改为 采购" in (await client.get("/users")).text
    with cloud_engine.begin() as conn:
        entry = conn.execute(sa.select(audit_log.c.actor, audit_log.c.detail)
                             .where(audit_log.c.action == "user.role")).one()
    assert entry.actor == "u-admin" and entry.detail == {"from": "packer", "to": "purchaser"}
    bad = await client.post(f"/users/{xm.id}/role", data={"csrf_token": csrf, "role": "king"})
    assert bad.status_code == 400 and "未知角色" in bad.text


async def test_the_last_admin_keeps_the_role(client: httpx.AsyncClient,
                                             cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine)
    csrf = await token(client, "/users")
    r = await client.post("/users/id-admin/role", data={"csrf_token": csrf, "role": "manager"})
    assert r.status_code == 400 and "不能移除最后一个管理员" in r.text


async def test_account_turns_totp_on_and_off(client: httpx.AsyncClient, cloud_engine: Engine,
                                             clock: object) -> None:
    await signed_in(client, cloud_engine, Role.PACKER)
    page = await client.get("/account")
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text).group(1)  # type: ignore[union-attr]
    csrf = await token(client, "/account")
    wrong = await client.post("/account/totp", data={"csrf_token": csrf, "code": "123456"})
    assert wrong.status_code == 400 and "验证码不对" in wrong.text
    now = clock.dt()  # type: ignore[attr-defined]
    ok = await client.post("/account/totp",
                           data={"csrf_token": csrf, "code": pyotp.TOTP(secret).at(now)})
    assert ok.status_code == 303
    assert "两步验证已开启" in (await client.get("/account")).text
    with cloud_engine.begin() as conn:
        stored = conn.execute(sa.select(users.c.totp_secret_enc)
                              .where(users.c.username == "u-packer")).scalar_one()
    assert stored and secret not in stored  # sealed, never in clear
    off = await client.post("/account/totp/disable",
                            data={"csrf_token": csrf, "code": pyotp.TOTP(secret).at(now)})
    assert off.status_code == 303
    assert count(cloud_engine, audit_log, audit_log.c.action.in_(
        ["user.totp_enable", "user.totp_disable"])) == 2


async def test_audit_filter_and_csv_export(client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    add_users(cloud_engine)
    await login(client, "=HYPERLINK(\"http://x\")", "guess-guess")
    await login(client, "+cmd", "guess-guess")
    assert (await login(client, "u-admin")).status_code == 303
    page = await client.get("/audit", params={"action": "login.failed"})
    rows = cells(page.text, "audit-table")
    assert [r[1:4] for r in rows] == [["+cmd", "登录失败", "+cmd"],
                                      ['=hyperlink("http://x")', "登录失败", '=hyperlink("http://x")']]
    export = await client.get("/audit/export.csv", params={"action": "login.failed"})
    assert export.headers["content-type"].startswith("text/csv")
    lines = export.text.lstrip("\ufeff").splitlines()
    assert lines[0] == "时间,操作人,操作,对象,详情"
    assert lines[1] == "2026-12-01 10:00:00,'+cmd,login.failed,'+cmd,\"ip=10.1.2.3, step=password\""
    assert lines[2].startswith("2026-12-01 10:00:00,\"'=hyperlink(\"\"http://x\"\")\",login.failed,")
    assert len(lines) == 3
    everything = await client.get("/audit")
    assert len(cells(everything.text, "audit-table")) == 3  # two failures and the sign-in


async def test_vendor_assets_are_served_from_node_modules(client: httpx.AsyncClient,
                                                          cloud_engine: Engine,
                                                          tmp_path: Path) -> None:
    await signed_in(client, cloud_engine)
    assert (await client.get("/static/vendor/htmx.min.js")).status_code == 404  # not installed
    assert "htmx.min.js" not in (await client.get("/")).text
    dist = tmp_path / "node_modules" / "htmx.org" / "dist"
    dist.mkdir(parents=True)
    (dist / "htmx.min.js").write_text("var htmx = {};")
    r = await client.get("/static/vendor/htmx.min.js")
    assert r.status_code == 200 and r.text == "var htmx = {};"
    assert r.headers["content-type"].startswith("text/javascript")
    assert '<script src="/static/vendor/htmx.min.js" defer>' in (await client.get("/")).text
    assert (await client.get("/static/vendor/package.json")).status_code == 404
    assert (await client.get("/static/app.css")).status_code == 200


async def test_not_found_and_security_headers(client: httpx.AsyncClient,
                                              cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine)
    missing = await client.get("/no/such/page")
    assert missing.status_code == 404 and "页面不存在" in missing.text
    page = await client.get("/")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    cookie = page.headers.get("set-cookie", "")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()


async def test_a_server_error_is_one_page_not_a_traceback(
        app: Starlette, cloud_engine: Engine, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    add_users(cloud_engine)

    def broken(conn: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("cloud.web.queries.dashboard", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        await login(c, "u-admin")
        r = await c.get("/")
    assert r.status_code == 500
    assert "服务器出错, 已记录" in r.text and "disk on fire" not in r.text
    assert "disk on fire" in caplog.text
