"""Connecting to the records database: URL normalisation, SQLite pragmas, masked URLs for logs.

``sqlite:///path`` and ``postgresql://...`` are accepted as written in ``acd.toml`` and turned into
their async drivers (aiosqlite, asyncpg); the password is never rendered except to the driver.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from acd.storage.errors import DatabaseUnavailableError, DatabaseUrlError

# Waiting on a locked SQLite file longer than this is an outage: the recorder spools instead.
SQLITE_BUSY_TIMEOUT_MS = 2000

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


def async_url(url: str | URL) -> URL:
    """The URL with its async driver (``sqlite`` -> aiosqlite, ``postgresql`` -> asyncpg)."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except sa.exc.ArgumentError:
        raise DatabaseUrlError(
            "not a database URL (expected sqlite:///FILE or postgresql://...)"
        ) from None
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is None:
        raise DatabaseUrlError(
            f"unsupported database {parsed.drivername!r}: use sqlite:///FILE or postgresql://..."
        )
    return parsed.set(drivername=driver)


def masked_url(url: str | URL) -> str:
    """The URL for logs and messages: the password replaced by ``***``."""
    try:
        return async_url(url).render_as_string(hide_password=True)
    except DatabaseUrlError:
        return "<invalid database URL>"


def is_sqlite(url: URL) -> bool:
    """Whether the URL names a SQLite database."""
    return url.get_backend_name() == "sqlite"


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets reports read while the recorder writes; NORMAL is durable across application
    # crashes in WAL mode (the spool covers the rest).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def create_engine(
    url: str | URL, *, connect_timeout_s: float = 5.0, must_exist: bool = False
) -> AsyncEngine:
    """An async engine for ``url``; SQLite files get WAL mode and their directory is created.

    ``must_exist``: a command that only reads (a report, ``simulate --from-db``) refuses a SQLite
    file that does not exist (``DatabaseUnavailableError``) rather than leave an empty one behind.
    The caller disposes of it (``await engine.dispose()``).
    """
    parsed = async_url(url)
    if is_sqlite(parsed):
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            path = Path(database).expanduser()
            if must_exist and not path.is_file():
                raise DatabaseUnavailableError(
                    f"no database file {str(path)!r} (`acd db upgrade` or `acd run` creates it)"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(parsed, connect_args={"timeout": connect_timeout_s})
        sa.event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
        return engine
    return create_async_engine(
        parsed,
        pool_pre_ping=True,
        pool_size=2,
        max_overflow=2,
        pool_timeout=connect_timeout_s,
        connect_args={"timeout": connect_timeout_s, "command_timeout": 30},
    )
