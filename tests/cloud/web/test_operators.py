"""工作人员: kiosk operators managed in the web app (#13 item 2). A save hashes the PIN (the
kiosk's Argon2id), never keeps or audits it in clear, bumps the version and queues an
``operators`` message for every live station; bad input is shown per field, nothing written."""

from __future__ import annotations

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema import audit_log, downlink_outbox, station_operators, stations
from edge.domain.auth import verify_pin
from edge.domain.models import Role
from tests.cloud.web.support import T0, FakeClock, count, csrf_of, field_errors, signed_in


def _row(engine: Engine, op_id: str) -> sa.Row:  # type: ignore[type-arg]
    with engine.begin() as conn:
        return conn.execute(sa.select(station_operators).where(
            station_operators.c.id == op_id)).one()


def _sent(engine: Engine) -> list[tuple[str, list[dict]]]:  # type: ignore[type-arg]
    with engine.begin() as conn:
        return [(r.station_id, r.payload["operators"]) for r in conn.execute(
            sa.select(downlink_outbox).where(downlink_outbox.c.kind == "operators")
            .order_by(downlink_outbox.c.seq))]


async def test_add_change_and_deactivate_an_operator(
        client: httpx.AsyncClient, cloud_engine: Engine, clock: FakeClock) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    with cloud_engine.begin() as conn:  # a revoked station gets nothing
        conn.execute(stations.insert().values(id="st-9", warehouse_id="WH1", name="旧台",
                                              status="revoked", created_at=T0))
    csrf = csrf_of((await client.get("/operators")).text)
    r = await client.post("/operators", data={
        "csrf_token": csrf, "id": "P07", "name": "王小二", "role": "packer",
        "badge": "B-0007", "pin": "2468"})
    assert r.status_code == 303
    assert "工作人员 P07 已保存" in (await client.get("/operators")).text
    row = _row(cloud_engine, "P07")
    assert (row.name, row.role, row.badge, row.active, row.version, row.created_at) == (
        "王小二", "packer", "B-0007", True, 1, T0)
    assert row.pin_hash.startswith("$argon2id$") and verify_pin(row.pin_hash, "2468")
    sent = _sent(cloud_engine)
    assert [st for st, _ in sent] == ["st-1", "st-2"]
    assert sent[0][1] == [{"operator_id": "P07", "name": "王小二", "role": "packer",
                           "badge": "B-0007", "pin_hash": row.pin_hash, "active": True,
                           "version": 1}]
    # promote to lead, PIN left blank: kept; then a new PIN; then deactivate
    clock.advance(minutes=1)
    page = await client.get("/operators/P07")
    assert 'value="王小二"' in page.text and "2468" not in page.text
    r = await client.post("/operators/P07", data={
        "csrf_token": csrf, "name": "王小二", "role": "lead", "badge": "B-0007", "pin": "",
        "active": "1"})
    assert r.status_code == 303
    second = _row(cloud_engine, "P07")
    assert (second.role, second.version, second.pin_hash) == ("lead", 2, row.pin_hash)
    await client.post("/operators/P07", data={
        "csrf_token": csrf, "name": "王小二", "role": "lead", "badge": "B-0007",
        "pin": "135790", "active": "1"})
    third = _row(cloud_engine, "P07")
    assert third.version == 3 and verify_pin(third.pin_hash, "135790")
    assert not verify_pin(third.pin_hash, "2468")
    await client.post("/operators/P07", data={
        "csrf_token": csrf, "name": "王小二", "role": "lead", "badge": "B-0007", "pin": ""})
    fourth = _row(cloud_engine, "P07")
    assert (fourth.active, fourth.version) == (False, 4)
    assert [(st, ops[0]["version"], ops[0]["active"]) for st, ops in _sent(cloud_engine)][-2:] == [
        ("st-1", 4, False), ("st-2", 4, False)]
    with cloud_engine.begin() as conn:
        entries = conn.execute(sa.select(audit_log.c.action, audit_log.c.detail).where(
            audit_log.c.subject == "P07").order_by(audit_log.c.id)).all()
    assert [a for a, _ in entries] == ["operator.create"] + ["operator.update"] * 3
    assert entries[1][1] == {"role": "packer → lead"}
    assert entries[2][1] == {"pin": "changed"}
    assert entries[3][1] == {"active": "True → False"}
    assert all("2468" not in str(d) and "135790" not in str(d) for _, d in entries)


async def test_bad_operators_show_every_problem_and_write_nothing(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    csrf = csrf_of((await client.get("/operators")).text)
    assert (await client.post("/operators", data={
        "csrf_token": csrf, "id": "P01", "name": "甲", "role": "packer", "badge": "B-1",
        "pin": ""})).status_code == 303
    r = await client.post("/operators", data={
        "csrf_token": csrf, "id": "P 02!", "name": "", "role": "boss", "badge": "B-1",
        "pin": "12a"})
    assert r.status_code == 400
    assert set(field_errors(r.text)) == {"id", "name", "role", "badge", "pin"}
    assert field_errors(r.text)["badge"] == ["工牌 B-1 已属于 P01"]
    assert "12a" not in r.text  # a PIN is never sent back
    r = await client.post("/operators", data={
        "csrf_token": csrf, "id": "P01", "name": "乙", "role": "packer", "pin": "1234"})
    assert field_errors(r.text) == {"id": ["工号 P01 已存在"]}
    r = await client.post("/operators", data={
        "csrf_token": csrf, "id": "P03", "name": "丙", "role": "packer"})
    assert field_errors(r.text) == {"pin": ["请设置 PIN 或工牌, 否则无法登录"]}
    assert count(cloud_engine, station_operators) == 1
    assert len(_sent(cloud_engine)) == 2  # P01's two messages only
    assert count(cloud_engine, audit_log, audit_log.c.action.like("operator.%")) == 1
