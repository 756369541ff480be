"""Call records: SQLAlchemy 2 async tables, batched recorder, durable spool, Alembic migrations.

The daemon uses: ``check_schema(url)`` before it starts; ``Recorder(url, spool_dir, flush_rows,
flush_ms, country)`` as the ``CallRecords`` port (``start``/``stop``, ``record``,
``record_fallback``); ``Recorder.logged_in_advisors()`` and ``restore_events`` to log advisors back
in after a restart. The CLI mounts ``commands.db_app`` and ``commands.report_command``.
"""

# Imported for their registrations: a person's erasure and ``acd db purge`` reach campaign data
# and call recordings too.
from acd.storage import campaigns as campaigns
from acd.storage import recordings as recordings
from acd.storage.errors import (
    DatabaseUnavailableError,
    DatabaseUrlError,
    SchemaAheadError,
    SchemaOutOfDateError,
    StorageError,
)
from acd.storage.recorder import Recorder
from acd.storage.reports import Interval, Report, build_report
from acd.storage.rows import CallFellBack
from acd.storage.schema import check_schema, current_revision, head_revision, upgrade_schema
from acd.storage.sessions import RestoredAdvisor, logged_in_advisors, restore_events

__all__ = [
    "CallFellBack",
    "DatabaseUnavailableError",
    "DatabaseUrlError",
    "Interval",
    "Recorder",
    "Report",
    "RestoredAdvisor",
    "SchemaAheadError",
    "SchemaOutOfDateError",
    "StorageError",
    "build_report",
    "check_schema",
    "current_revision",
    "head_revision",
    "logged_in_advisors",
    "restore_events",
    "upgrade_schema",
]
