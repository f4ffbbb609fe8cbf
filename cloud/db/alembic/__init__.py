"""Alembic environment and migrations of the cloud database (shipped as package data)."""
