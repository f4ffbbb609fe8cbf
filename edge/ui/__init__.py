"""The packing-station kiosk (Textual): ``make_app(settings)`` in ``edge.ui.app``.

Layout follows frogmouth: ``screens/`` (one per file, each with its ``.tcss``),
``dialogs/`` (typed modals), ``widgets/`` (reusable, ``DEFAULT_CSS``); ``services.py``
holds what the app is given, ``i18n.py`` every string, ``messages.py`` the facts workers post.
"""
