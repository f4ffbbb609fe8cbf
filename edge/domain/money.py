"""Money as sellers type it: yuan with up to two decimals, stored as whole fen.

Shared by the catalog import (station and cloud) and the cloud's product forms, so the
same text means the same amount everywhere.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

_NOISE = ("¥", "￥", "元", ",", "，")
"""Currency signs and thousands separators a typed amount may carry."""


class YuanError(ValueError):
    """Why a typed amount is not a price: ``zh`` and ``en`` complete "<field> …"."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh = zh
        """Chinese, e.g. ``不是数字``."""
        self.en = en
        """English, e.g. ``is not a number``."""


def yuan_to_fen(text: str) -> int | None:
    """Yuan as typed (``12.5``, ``¥1,299``, ``8元``) → fen (``1250``, ``129900``, ``800``);
    blank → ``None``. Raises :class:`YuanError` for text that is not a number, has more
    than two decimal places, or is negative."""
    t = text
    for noise in _NOISE:
        t = t.replace(noise, "")
    t = t.strip()
    if not t:
        return None
    try:
        value = Decimal(t)
    except InvalidOperation:
        raise YuanError("不是数字", "is not a number") from None
    if not value.is_finite():
        raise YuanError("不是数字", "is not a number")
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise YuanError("最多两位小数", "has more than 2 decimal places")
    if value < 0:
        raise YuanError("不能为负数", "cannot be negative")
    return int(value * 100)
