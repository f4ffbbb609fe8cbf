"""What a refund record says about goods coming back, read from documented samples
(specs/marketplaces.md §1.7.10 PDD ``refund_list`` items, §2.6.7 TOP ``refunds``)."""

from __future__ import annotations

import pytest

from cloud.marketplaces import pdd, taobao
from cloud.marketplaces.errors import MalformedResponse

PDD_ITEM = {"id": 7381745730, "order_sn": "210707-339507978993455", "after_sales_status": 3,
            "after_sales_type": 2, "refund_amount": "19.90", "goods_number": "1",
            "sku_id": "1234", "outer_id": "CUP-350", "tracking_number": " YT1234567890 ",
            "shipping_name": "圆通快递", "updated_time": "2026-11-24 10:00:00",
            "after_sale_reason": "质量问题"}
TOP_ITEM = {"refund_id": "2001", "tid": 3001, "oid": 3002, "status": "WAIT_SELLER_CONFIRM_GOODS",
            "refund_fee": "19.90", "modified": "2026-11-24 10:00:00", "num": 1, "sku": "55",
            "outer_id": "CUP-350", "refund_phase": "aftersale", "has_good_return": "true",
            "company_name": "中通快递", "sid": "ZT9876543210", "reason": "七天无理由退换货"}


def test_pdd_return_and_exchange_types() -> None:
    back = pdd.parse_refund(PDD_ITEM)
    assert (back.returns_goods, back.exchange, back.return_waybill, back.return_carrier) == (
        True, False, "YT1234567890", "圆通快递")
    assert back.reason == "质量问题"
    swap = pdd.parse_refund({**PDD_ITEM, "after_sales_type": 3})
    assert (swap.returns_goods, swap.exchange) == (True, True)
    money_only = pdd.parse_refund({**PDD_ITEM, "after_sales_type": 1, "tracking_number": ""})
    assert (money_only.returns_goods, money_only.exchange, money_only.return_waybill) == (
        False, False, "")


def test_top_return_exchange_and_a_bad_flag() -> None:
    back = taobao.parse_refund(TOP_ITEM)
    assert (back.returns_goods, back.exchange, back.return_waybill, back.return_carrier) == (
        True, False, "ZT9876543210", "中通快递")
    assert back.reason == "七天无理由退换货"
    swap = taobao.parse_refund({**TOP_ITEM, "has_good_return": True,
                                "status": "WAIT_BUYER_CONFIRM_EXCHANGE_SELLER_SEND_GOODS"})
    assert (swap.returns_goods, swap.exchange) == (True, True)
    onsale = taobao.parse_refund({k: v for k, v in TOP_ITEM.items()
                                  if k not in ("has_good_return", "sid", "company_name")})
    assert (onsale.returns_goods, onsale.return_waybill) == (False, "")
    with pytest.raises(MalformedResponse, match="has_good_return"):
        taobao.parse_refund({**TOP_ITEM, "has_good_return": "yes"})
    assert "sid" in taobao.REFUND_FIELDS.split(",")
