"""Alembic migrations of the records database; run them with ``acd db upgrade``."""
