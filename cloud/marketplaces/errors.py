"""Errors raised by the marketplace clients.

Adapters translate every wire failure into one of these at the boundary and keep
the cause (``raise ... from err``)::

    MarketplaceError
    ├── RateLimited(retry_after)      platform throttled the call; retryable
    ├── TokenExpired                  access token expired or invalid; refresh, then retry
    │   └── AuthorizationRefused      the platform refused the code or refresh token: authorise again
    ├── BusinessError(code, msg)      the platform refused the request; never retried
    ├── TransientError                timeouts, 5xx-style platform faults; retryable
    └── MalformedResponse             the body was not the documented envelope
"""

from __future__ import annotations


class MarketplaceError(Exception):
    """Base of every marketplace client error."""

    def __init__(self, message: str, *, platform: str = "", api: str = "") -> None:
        super().__init__(message)
        self.message = message
        """One-line human-readable description."""
        self.platform = platform
        """``pdd`` or ``taobao`` (empty when unknown)."""
        self.api = api
        """The API name that failed (empty when unknown)."""


class RateLimited(MarketplaceError):
    """The platform rate-limited the call (PDD 52101/70031, TOP code 7/8)."""

    def __init__(
        self, message: str, *, retry_after: float = 1.0, platform: str = "", api: str = ""
    ) -> None:
        super().__init__(message, platform=platform, api=api)
        self.retry_after = retry_after
        """Seconds to wait before retrying (platform hint or a default)."""


class TokenExpired(MarketplaceError):
    """The access token is expired or invalid (PDD 10019, TOP 27)."""


class AuthorizationRefused(TokenExpired):
    """The platform refused an authorisation code or a refresh token (used, expired, or the
    merchant cancelled the authorisation): only a new consent helps."""

    def __init__(self, code: str, msg: str, *, platform: str = "", api: str = "") -> None:
        super().__init__(msg, platform=platform, api=api)
        self.code = code
        """Platform error code as a string."""


class BusinessError(MarketplaceError):
    """The platform rejected the request; retrying will not help."""

    def __init__(
        self,
        code: str,
        msg: str,
        *,
        sub_code: str = "",
        sub_msg: str = "",
        platform: str = "",
        api: str = "",
    ) -> None:
        text = f"{platform} {api} 错误 {code}: {msg}" + (f" ({sub_msg})" if sub_msg else "")
        super().__init__(text, platform=platform, api=api)
        self.code = code
        """Platform error code as a string."""
        self.msg = msg
        """Platform error message."""
        self.sub_code = sub_code
        """Platform sub-code (TOP ``sub_code``, PDD ``sub_code``) or empty."""
        self.sub_msg = sub_msg
        """Platform sub-message: the useful detail for business rejections."""


def platform_reason(err: MarketplaceError) -> str:
    """What the platform said, for a person: its code (and sub-code) and message, e.g.
    ``15/isv.item-not-exist: 商品不存在``; the error's own text when it carries none."""
    if isinstance(err, BusinessError):
        code = err.code + (f"/{err.sub_code}" if err.sub_code else "")
        return f"{code}: {err.sub_msg or err.msg}"
    code = getattr(err, "code", "")
    return f"{code}: {err.message}" if code else f"{type(err).__name__}: {err.message}"


class TransientError(MarketplaceError):
    """A temporary failure (timeout, connection error, platform internal error)."""

    def __init__(
        self, message: str, *, code: str = "", platform: str = "", api: str = ""
    ) -> None:
        super().__init__(message, platform=platform, api=api)
        self.code = code
        """Platform error code when the platform reported one, else empty."""


class MalformedResponse(MarketplaceError):
    """The reply was not valid JSON or lacked the documented envelope."""
