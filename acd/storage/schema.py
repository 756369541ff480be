"""The schema's revision: apply migrations (``acd db upgrade``), read it, refuse to run behind it.

Alembic runs without ``alembic.ini``: the configuration is built here and the migrations get an
open connection, so the same code serves the CLI, the daemon's start-up check and the tests.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.engine import URL

from acd.storage.database import create_engine, masked_url
from acd.storage.errors import DatabaseUnavailableError, SchemaAheadError, SchemaOutOfDateError

log = structlog.get_logger("acd.storage")

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    """Alembic's configuration for acd's migrations (no ini file)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The revision this acd needs."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "acd ships at least one migration"
    return head


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade(connection: Connection, target: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, target)


async def current_revision(url: str | URL, *, timeout_s: float = 10.0) -> str | None:
    """The database's revision, None when acd's tables were never created.

    Raises ``DatabaseUnavailableError`` when the database cannot be reached within ``timeout_s``.
    """
    engine = create_engine(url, connect_timeout_s=timeout_s)
    try:
        async with asyncio.timeout(timeout_s), engine.connect() as conn:
            return await conn.run_sync(_current)
    except (sa.exc.OperationalError, sa.exc.InterfaceError, OSError, TimeoutError) as exc:
        detail = getattr(exc, "orig", None) or exc
        raise DatabaseUnavailableError(
            f"database {masked_url(url)} is unreachable: {type(detail).__name__}: {detail}"
        ) from None
    finally:
        await engine.dispose()


async def upgrade_schema(url: str | URL, target: str = "head") -> str | None:
    """Apply the migrations up to ``target``; returns the revision the database is now at."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            before = await conn.run_sync(_current)
            await conn.run_sync(_upgrade, target)
            after = await conn.run_sync(_current)
    finally:
        await engine.dispose()
    log.info("schema_upgraded", database=masked_url(url), before=before, after=after)
    return after


async def check_schema(url: str | URL, *, timeout_s: float = 10.0) -> str:
    """Raise ``SchemaOutOfDateError`` unless the database is at this acd's revision.

    The daemon calls this before it starts; the error's message names the command to run.
    ``SchemaAheadError``: migrated by a newer acd. ``DatabaseUnavailableError``: unreachable, so
    the schema is unknown (the recorder would spool until it is back).
    """
    needed = head_revision()
    current = await current_revision(url, timeout_s=timeout_s)
    if current == needed:
        return current
    scripts = ScriptDirectory.from_config(alembic_config())
    known = {script.revision for script in scripts.walk_revisions()}
    if current is not None and current not in known:
        raise SchemaAheadError(current, masked_url(url))
    raise SchemaOutOfDateError(current, needed, masked_url(url))
