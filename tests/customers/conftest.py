"""A migrated database per test (SQLite file, or fresh PostgreSQL) for the customer directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from acd.storage.customers import CustomerStore
from acd.storage.schema import upgrade_schema
from tests.storage.conftest import fresh_postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Each test that takes it runs on a SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'acd.sqlite3'}"
        await upgrade_schema(url)
        yield url
        return
    async with fresh_postgres_database(request.getfixturevalue("postgres_url")) as url:
        await upgrade_schema(url)
        yield url


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite file."""
    url = f"sqlite:///{tmp_path / 'acd.sqlite3'}"
    await upgrade_schema(url)
    return url


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[CustomerStore]:
    """The customer store on the test's database."""
    store = CustomerStore(db_url)
    try:
        yield store
    finally:
        await store.close()
