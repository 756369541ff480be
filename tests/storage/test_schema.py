"""Migrations and the start-up schema check."""

from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa

from acd.storage.database import create_engine, masked_url
from acd.storage.errors import (
    DatabaseUnavailableError,
    DatabaseUrlError,
    SchemaAheadError,
    SchemaOutOfDateError,
)
from acd.storage.schema import check_schema, current_revision, head_revision, upgrade_schema
from acd.storage.tables import metadata


async def test_upgrade_from_empty_creates_the_tables(db_url: str) -> None:
    """`acd db upgrade` on an empty database reaches head and creates every table of the model."""
    assert await current_revision(db_url) is None
    assert await upgrade_schema(db_url) == head_revision()
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    assert set(metadata.tables) <= names
    assert await upgrade_schema(db_url) == head_revision()  # a second upgrade is a no-op


async def test_migration_matches_the_table_model(db_url: str) -> None:
    """The migrated schema has exactly the columns the code's table model declares."""
    await upgrade_schema(db_url)
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            for table in metadata.sorted_tables:
                columns = await conn.run_sync(
                    lambda c, name=table.name: {
                        col["name"] for col in sa.inspect(c).get_columns(name)
                    }
                )
                assert columns == set(table.columns.keys()), table.name
    finally:
        await engine.dispose()


async def test_check_schema_refuses_a_database_behind(db_url: str) -> None:
    """The daemon's start-up check refuses an un-migrated database and names the command to run."""
    with pytest.raises(SchemaOutOfDateError, match="acd db upgrade"):
        await check_schema(db_url)
    await upgrade_schema(db_url)
    assert await check_schema(db_url) == head_revision()


async def test_check_schema_refuses_a_database_ahead(sqlite_url: str) -> None:
    """A database migrated by a newer acd (unknown revision) is refused, not silently used."""
    await upgrade_schema(sqlite_url)
    engine = create_engine(sqlite_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("UPDATE alembic_version SET version_num = 'r9999'"))
    finally:
        await engine.dispose()
    with pytest.raises(SchemaAheadError, match="r9999"):
        await check_schema(sqlite_url)


def test_urls_are_masked_and_checked() -> None:
    """Passwords are masked in rendered URLs; unsupported databases are refused with a message."""
    shown = masked_url("postgresql://acd:s3cret@db.example:5432/acd")
    assert "s3cret" not in shown
    assert shown == "postgresql+asyncpg://acd:***@db.example:5432/acd"
    assert masked_url("sqlite:///var/acd.sqlite3") == "sqlite+aiosqlite:///var/acd.sqlite3"
    with pytest.raises(DatabaseUrlError, match="unsupported database"):
        create_engine("mysql://x@y/z")


async def test_check_schema_on_an_unreachable_database_hides_the_password() -> None:
    """An unreachable database is reported as such, with the URL's password masked."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql://acd:s3cret-pw@127.0.0.1:{port}/acd"
    with pytest.raises(DatabaseUnavailableError) as caught:
        await check_schema(url)
    assert "s3cret-pw" not in str(caught.value)
    assert f"127.0.0.1:{port}" in str(caught.value)


async def test_sqlite_runs_in_wal_mode(sqlite_url: str) -> None:
    """SQLite files are opened in WAL mode, so reports can read while the recorder writes."""
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as conn:
            mode = await conn.scalar(sa.text("PRAGMA journal_mode"))
    finally:
        await engine.dispose()
    assert mode == "wal"
