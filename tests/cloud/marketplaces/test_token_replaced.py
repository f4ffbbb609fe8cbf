"""A call whose token a concurrent refresh replaced is sent again with the new token."""

from __future__ import annotations

import pytest

from cloud.marketplaces.base import Token
from cloud.marketplaces.errors import BusinessError
from cloud.marketplaces.http import ApiCaller, RetryPolicy, TokenManager


async def never_refresh(token: Token) -> Token:
    raise AssertionError("no refresh expected")


def caller(tokens: TokenManager, sent: list[str], replace_during_call: bool) -> ApiCaller:
    async def send(api: str, params: dict[str, str], token: Token | None) -> str:
        assert token is not None
        sent.append(token.access_token)
        if token.access_token == "old":
            if replace_during_call:
                tokens.set("shop1", Token("new"))  # another call refreshed meanwhile
            raise BusinessError("20032", "access_token或client_id错误")
        return "ok"

    return ApiCaller(shop="shop1", send=send, tokens=tokens, limiter=None, retry=RetryPolicy())


async def test_refused_with_a_token_replaced_in_flight_is_sent_again() -> None:
    tokens = TokenManager(never_refresh)
    tokens.set("shop1", Token("old"))
    sent: list[str] = []
    assert await caller(tokens, sent, replace_during_call=True).call("pdd.order.information.get", {}) == "ok"
    assert sent == ["old", "new"]


async def test_refused_with_the_current_token_is_a_real_refusal() -> None:
    tokens = TokenManager(never_refresh)
    tokens.set("shop1", Token("old"))
    sent: list[str] = []
    with pytest.raises(BusinessError):
        await caller(tokens, sent, replace_during_call=False).call("pdd.order.information.get", {})
    assert sent == ["old"]
