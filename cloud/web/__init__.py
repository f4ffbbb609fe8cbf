"""The manager's web app (``packline-cloud serve``): Starlette + Jinja2, server-rendered.

Pages work with JavaScript disabled; htmx (from npm, served locally) only makes filter
forms update their table in place. Modules:

* :mod:`~cloud.web.app` — ``create_app(settings, engine, clock=...)``: wiring only.
* :mod:`~cloud.web.config` — :class:`WebSettings` (``PACKLINE_WEB_*``).
* :mod:`~cloud.web.permissions` — the one permission matrix and the ``@requires`` guard.
* :mod:`~cloud.web.accounts` — users, argon2 passwords, lock-out, TOTP (no web imports,
  shared with the ``user`` CLI).
* :mod:`~cloud.web.audit` — the audit page's CSV export (the log is :mod:`cloud.audit`).
* :mod:`~cloud.web.session`, :mod:`~cloud.web.csrf` — session expiry and CSRF tokens.
* :mod:`~cloud.web.i18n` — the message catalogue (zh, en).
* :mod:`~cloud.web.assets` — vendor JavaScript from ``node_modules``.
* ``routes/`` — one module per area; ``templates/`` and ``static/`` are package data. The
  商品 and 平台商品关联 pages call library code outside this package: :mod:`cloud.products`,
  :mod:`cloud.catalog` (the catalog import/export the CLI runs too) and
  :mod:`cloud.orders.mappings`.

This package's ``__init__`` imports nothing, so the CLI can use :mod:`~cloud.web.accounts`
without loading Starlette.
"""
