"""Sign-in by badge and PIN, roles, language switch, devices screen; checked in the database."""

from __future__ import annotations

import json

from edge.ui.app import PacklineApp
from tests.edge.ui.conftest import SIZE, Rig, banner_kind, banner_text, scan, wait_for


def screen_name(app: PacklineApp) -> str:
    return type(app.screen).__name__


async def test_sign_in_by_badge_with_real_key_presses(rig: Rig) -> None:
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"B-NOPE", "enter")
        assert banner_kind(app) == "error" and "工牌无效" in banner_text(app) and app.bells == 1
        await pilot.press(*"B-P01", "enter")
        await wait_for(pilot, lambda: screen_name(app) == "HomeScreen")
        assert app.operator is not None and app.operator["operator_id"] == "P01"
        await pilot.click("#sign-out")
        await wait_for(pilot, lambda: screen_name(app) == "SignInScreen")
        await wait_for(pilot, lambda: len(rig.outbox("sign_in")) == 2)
    audits = [(a["actor"], a["action"], json.loads(a["detail"]).get("method"))
              for a in rig.store.queries.audit_log() if a["action"].startswith("operator.")]
    assert audits == [("P01", "operator.sign_in", "badge"), ("P01", "operator.sign_out", None)]
    assert [(e["operator_id"], e["event"]) for e in rig.outbox("sign_in")] == [
        ("P01", "sign_in"), ("P01", "sign_out")]


async def test_sign_in_by_name_and_pin_keypad(rig: Rig) -> None:
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#op-P01")
        await wait_for(pilot, lambda: screen_name(app) == "PinDialog")
        for d in "1235":
            await pilot.click(f"#key-{d}")
        await pilot.click("#ok")
        await wait_for(pilot, lambda: banner_kind(app) == "error")
        assert "密码错误" in banner_text(app) and app.operator is None
        await pilot.click("#op-P01")
        await wait_for(pilot, lambda: screen_name(app) == "PinDialog")
        for d in "129":
            await pilot.click(f"#key-{d}")
        await pilot.click("#key-back")
        await pilot.press("3", "4")  # the keyboard works on the keypad too
        await pilot.click("#ok")
        await wait_for(pilot, lambda: screen_name(app) == "HomeScreen")
        assert app.operator is not None and app.operator["role"] == "packer"
    (signin,) = rig.store.queries.audit_log("operator.sign_in")
    assert signin["actor"] == "P01" and json.loads(signin["detail"]) == {"method": "pin"}
    assert rig.outbox("sign_in")[0]["method"] == "pin"


async def test_language_switches_live(rig: Rig) -> None:
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        assert "请登录" in str(app.screen.query_one("#signin-title").render())
        await pilot.click("#lang")
        assert "Sign in" in str(app.screen.query_one("#signin-title").render())
        await scan(pilot, "B-P01")
        await wait_for(pilot, lambda: screen_name(app) == "HomeScreen")
        await pilot.click("#go-pack")
        await scan(pilot, "SF1005")
        assert "ORDER INTERCEPTED" in banner_text(app)
        bells = app.bells
        await pilot.press("f12")
        assert "订单已拦截，禁止发货！PDD-240005" in banner_text(app)  # redrawn in Chinese
        assert app.bells == bells  # without ringing again
        assert str(app.screen.query_one("#back").label) == "返回"


async def test_devices_screen_echoes_scans_reads_scale_and_test_prints(rig: Rig) -> None:
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "B-P01")
        await wait_for(pilot, lambda: screen_name(app) == "HomeScreen")
        await pilot.click("#go-devices")
        await scan(pilot, "6901234567892")
        assert "6901234567892" in str(app.screen.query_one("#last-scan").render())
        rig.scale.put(1234, stable=False)
        await wait_for(pilot, lambda: "1234 g 不稳定" in str(app.screen.query_one("#scale-reading").render()))
        rig.scale.put(1234)
        await wait_for(pilot, lambda: "1234 g 稳定" in str(app.screen.query_one("#scale-reading").render()))
        await pilot.click("#test-label")
        await wait_for(pilot, lambda: len(rig.label.jobs) == 1)
        assert rig.label.jobs[0].startswith(b"SIZE 100 mm,180 mm") and b"TEST0000000001" in rig.label.jobs[0]
        rig.slip.out_of_paper = True
        await pilot.click("#test-slip")
        await wait_for(pilot, lambda: app.device_states["slip_printer"] == "error")
        assert banner_kind(app) == "error" and "缺纸" in banner_text(app)
        assert "故障" in str(app.screen.query_one("#state-slip_printer").render())
    assert rig.rows("SELECT COUNT(*) FROM print_log") == [(0,)]  # test prints are not order prints


async def test_roles_outside_the_floor_cannot_sign_in(rig: Rig) -> None:
    rig.store.writer.upsert_operator("F01", "赵敏", "finance", badge="B-F01")
    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "B-F01")
        await pilot.pause(0.1)
        assert screen_name(app) == "SignInScreen" and app.operator is None
        assert banner_kind(app) == "error" and "不能使用打包台" in banner_text(app)
    assert rig.store.queries.audit_log("operator.sign_in") == []
    assert rig.outbox("sign_in") == []


async def test_scan_input_draws_hand_typing_but_not_scanner_bursts(rig: Rig) -> None:
    from edge.ui.widgets.scan_input import ScanInput

    app = rig.app()
    async with app.run_test(size=SIZE) as pilot:
        box = app.screen.query_one(ScanInput)
        drawn: list[str] = []
        app.screen.watch(box, "shown", lambda v: drawn.append(v), init=False)
        await scan(pilot, "B-NOPE")  # a burst: handled without drawing the partial code
        assert drawn == [] and "工牌无效: B-NOPE" in banner_text(app)
        await pilot.press(*"B-P0")
        await pilot.pause(0.2)
        assert "B-P0" in str(box.render())
        await pilot.press("1", "enter")
        await wait_for(pilot, lambda: screen_name(app) == "HomeScreen")


async def test_bindings_are_remapped_from_settings(rig: Rig) -> None:
    app = rig.app(keymap={"pack.put_parcel": "f8", "app.toggle_language": "f11"})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f11")
        assert app.lang == "en"
        await pilot.press("f12")  # the old key does nothing now
        assert app.lang == "en"
        await scan(pilot, "B-P01")
        await wait_for(pilot, lambda: screen_name(app) == "HomeScreen")
        await scan(pilot, "6901234567892")
        await wait_for(pilot, lambda: str(getattr(app.screen, "step", "")) == "weigh")
        await pilot.press("f8")  # put parcel on the (fake) scale: expected 350 g ± noise
        await wait_for(pilot, lambda: str(getattr(app.screen, "step", "")) == "shipped")
    (grams,) = rig.rows("SELECT grams FROM weigh_log")[0]
    assert abs(grams - 350) <= 16
