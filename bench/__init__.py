"""Benchmarks: ``python -m bench`` runs them all, ``python -m bench NAME`` one of them.

Each prints its own numbers measured side by side in one run; none is a test.
"""
