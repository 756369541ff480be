"""Errors of the storage adapter; callers catch ``StorageError``."""

from __future__ import annotations


class StorageError(Exception):
    """Base of every error raised by ``acd.storage``."""


class DatabaseUrlError(StorageError):
    """The database URL is not one acd can use."""


class DatabaseUnavailableError(StorageError):
    """The database could not be reached or did not answer (the message masks the password)."""


class SchemaOutOfDateError(StorageError):
    """The database schema is not the one this acd needs; the message says which command to run."""

    def __init__(self, current: str | None, needed: str, url: str) -> None:
        self.current = current
        self.needed = needed
        self.url = url
        at = f"at revision {current}" if current else "empty (no acd tables)"
        super().__init__(
            f"database {url} is {at}, this acd needs revision {needed}: "
            f"run `acd db upgrade` (with the same database URL) and start again"
        )


class SchemaAheadError(StorageError):
    """The database was migrated by a newer acd than this one."""

    def __init__(self, current: str, url: str) -> None:
        self.current = current
        self.url = url
        super().__init__(
            f"database {url} is at revision {current}, which this acd does not know: "
            "it was upgraded by a newer acd; run that version"
        )
