"""Signing vectors from the spec (§1.3, §1.8, §2.3) and the httpx.Auth signers."""

from __future__ import annotations

import urllib.parse

import httpx

from cloud.marketplaces.pdd import PddAuth, pdd_sign, pmc_path, pmc_sign
from cloud.marketplaces.taobao import TopAuth, top_sign


def test_pdd_official_vector() -> None:
    params = {"client_id": "test-client", "data_type": "JSON", "logistics_id": "9",
              "order_sn": "240101-1", "order_state": "1", "timestamp": "1720000000",
              "type": "pdd.erp.order.sync", "version": "V1", "waybill_no": "SF123"}
    assert pdd_sign(params, "test-secret") == "CC0F30530BBAC3FD67608391D61E370C"


def test_pdd_worked_increment_example() -> None:
    params = {"access_token": "demo_token", "client_id": "demo_client_id", "data_type": "JSON",
              "end_updated_at": "1700000000", "is_lucky_flag": "0", "order_status": "5",
              "page": "1", "page_size": "100", "refund_status": "5",
              "start_updated_at": "1699998200", "timestamp": "1700000000",
              "type": "pdd.order.number.list.increment.get", "use_has_next": "true",
              "version": "V1"}
    assert pdd_sign(params, "demo_secret") == "B12334BDF441F1D1AC170FDAF2324BB5"


def test_pdd_worked_nested_example() -> None:
    params = {"access_token": "demo_token", "client_id": "demo_client_id",
              "timestamp": "1700000000", "type": "pdd.open.decrypt.batch",
              "data_list": '[{"data_tag":"231001-123","encrypted_data":"~AgAAAA==~"}]'}
    assert pdd_sign(params, "demo_secret") == "480389236D9FD21C2BEDBEFD0B5E93A5"


def test_pmc_connect_vector() -> None:
    assert pmc_sign("app", 1700000000000, "secret") == (
        "OTgxODMwNDI2NWZiN2NiNzA2NzIxOTI0ZjJlMDMxMjE=")
    assert pmc_path("app", 1700000000000, "secret") == (
        "/message/app/1700000000000/OTgxODMwNDI2NWZiN2NiNzA2NzIxOTI0ZjJlMDMxMjE%3D")


TOP_PARAMS = {"app_key": "12345678", "method": "taobao.trades.sold.increment.get",
              "session": "demo_session", "timestamp": "2024-01-01 12:00:00", "format": "json",
              "v": "2.0", "fields": "tid,status,modified,orders",
              "start_modified": "2024-01-01 11:30:00", "end_modified": "2024-01-01 12:00:00",
              "page_no": "1", "page_size": "100", "use_has_next": "true"}


def test_top_vectors_all_three_methods() -> None:
    expected = {"md5": "4FF59FD79E2AF59D48310E0532C66A3E",
                "hmac": "8CBA2130324F10994AA154AED688CF0D",
                "hmac-sha256": "496DA1805CE39BE5F8449BB6187B5E4EE6DFDB8218689F7921CF4F35A00DE796"}
    for method, sign in expected.items():
        assert top_sign({**TOP_PARAMS, "sign_method": method}, "helloworld", method) == sign


def _captured(auth: httpx.Auth, data: dict[str, str]) -> dict[str, str]:
    timeout = httpx.Timeout(1.5).as_dict()
    request = httpx.Request("POST", "http://x/api/router", data=data,
                            extensions={"timeout": timeout})
    signed = next(auth.sync_auth_flow(request))
    assert signed.extensions["timeout"] == timeout  # timeouts survive signing
    return dict(urllib.parse.parse_qsl(signed.content.decode(), keep_blank_values=True))


def test_pdd_auth_signs_wire_body_and_drops_empty_values() -> None:
    auth = PddAuth("demo_client_id", "demo_secret", clock=lambda: 1700000000.9)
    sent = _captured(auth, {"type": "pdd.order.information.get", "order_sn": "1-2",
                            "remark": "", "access_token": "tok"})
    assert "remark" not in sent
    assert sent["timestamp"] == "1700000000"
    assert sent["client_id"] == "demo_client_id"
    assert sent["data_type"] == "JSON" and sent["version"] == "V1"
    sign = sent.pop("sign")
    assert sign == pdd_sign(sent, "demo_secret")


def test_top_auth_signs_with_beijing_timestamp() -> None:
    auth = TopAuth("12345678", "helloworld", sign_method="md5", clock=lambda: 1704081600.0)
    sent = _captured(auth, {"method": "taobao.time.get", "empty": ""})
    assert sent["timestamp"] == "2024-01-01 12:00:00"
    assert "empty" not in sent
    assert sent["simplify"] == "true" and sent["format"] == "json" and sent["v"] == "2.0"
    sign = sent.pop("sign")
    assert sign == top_sign(sent, "helloworld", "md5")
