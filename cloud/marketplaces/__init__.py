"""Marketplace protocol layer: platform clients and fake platforms.

* :mod:`~cloud.marketplaces.base` — ``MarketplaceClient`` protocol, normalized models
  (``PlatformOrder``, ``RefundEvent``, ``Waybill``…), ``plan_window`` and wire helpers;
* :mod:`~cloud.marketplaces.errors` — ``MarketplaceError`` tree;
* :mod:`~cloud.marketplaces.http` — ``build_client``, ``RateLimiter``, ``RetryPolicy``,
  ``TokenManager`` (one in-flight refresh per shop), ``ApiCaller``;
* :mod:`~cloud.marketplaces.pdd`, :mod:`~cloud.marketplaces.pdd_push`,
  :mod:`~cloud.marketplaces.taobao` — signing (``httpx.Auth``), envelopes, calls, push;
* :mod:`~cloud.marketplaces.fake_server` (+ ``fake_pdd``, ``fake_top``, ``generator``) —
  fake platforms as real HTTP servers with a seeded order stream and ground truth.

Order sync, allocation and persistence live elsewhere and use only this API.
"""
