"""The storage commands of the ``acd`` CLI: ``acd db upgrade|current|purge`` and ``acd report``.

``acd.cli`` mounts them: ``app.add_typer(db_app, name="db")`` and
``app.command("report")(report_command)``. Each takes the database URL as ``--database-url``
(default: ``ACD_DATABASE_URL``, then acd's default SQLite file); the password is never printed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
import typer

from acd.storage import dead_letters as dl
from acd.storage.customers import purge_personal_data
from acd.storage.database import create_engine, masked_url
from acd.storage.errors import StorageError
from acd.storage.report_formats import ReportFormat, render
from acd.storage.reports import Interval, build_report, parse_period
from acd.storage.retention import purge_older_than
from acd.storage.schema import current_revision, head_revision, upgrade_schema

DEFAULT_DATABASE_URL = "sqlite:///acd.sqlite3"

DatabaseUrl = Annotated[
    str,
    typer.Option(
        "--database-url",
        envvar="ACD_DATABASE_URL",
        help="sqlite:///FILE or postgresql://USER@HOST/DB (password from the URL or env).",
        show_default=False,
    ),
]

db_app = typer.Typer(help="The records database: migrations and retention.", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _database_error(url: str, exc: Exception) -> typer.Exit:
    # The driver's message, not SQLAlchemy's (which would append statements and parameters).
    detail = getattr(exc, "orig", None) or exc
    return _fail(f"database {masked_url(url)}: {type(detail).__name__}: {detail}")


@db_app.command("upgrade")
def upgrade_command(database_url: DatabaseUrl = DEFAULT_DATABASE_URL) -> None:
    """Apply the migrations: create or update acd's tables."""
    try:
        revision = asyncio.run(upgrade_schema(database_url))
    except StorageError as exc:
        raise _fail(str(exc)) from None
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        raise _database_error(database_url, exc) from None
    typer.echo(f"database {masked_url(database_url)} is at revision {revision} (head)")


@db_app.command("current")
def current_command(database_url: DatabaseUrl = DEFAULT_DATABASE_URL) -> None:
    """Show the database's schema revision and whether it is up to date."""
    try:
        revision = asyncio.run(current_revision(database_url))
    except StorageError as exc:
        raise _fail(str(exc)) from None
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        raise _database_error(database_url, exc) from None
    head = head_revision()
    if revision == head:
        state = "(head: up to date)"
    elif revision is None:
        state = "(empty: run `acd db upgrade`)"
    else:
        state = f"(behind {head}: run `acd db upgrade`)"
    typer.echo(f"database {masked_url(database_url)}: {revision or 'no acd tables'} {state}")


RetentionLoader = Callable[[Path], Mapping[str, float | None]]
"""Reads ``[retention]`` from an acd.toml (``acd.cli`` provides it: storage reads no settings)."""

_retention_loader: RetentionLoader | None = None


# For ``acd report --config FILE``: each queue's opening periods (epoch pairs) within
# [start, end), from the file's [schedules] and holidays (queues without a schedule: omitted).
OpeningsLoader = Callable[[Path, float, float], Mapping[str, list[tuple[float, float]]]]
_openings_loader: OpeningsLoader | None = None


def use_openings_loader(loader: OpeningsLoader) -> None:
    """Let ``acd report --config FILE`` show the intervals a queue was closed by its hours."""
    global _openings_loader  # noqa: PLW0603 -- set once by the CLI at start-up
    _openings_loader = loader


def use_retention_loader(loader: RetentionLoader) -> None:
    """Let ``acd db purge --config FILE`` read the file's ``[retention]`` days."""
    global _retention_loader  # noqa: PLW0603 -- set once by the CLI at start-up
    _retention_loader = loader


def _days_option(kind: str, what: str) -> Any:
    return typer.Option(
        f"--{kind.replace('_', '-')}-days",
        envvar=f"ACD_RETENTION_{kind.upper()}_DAYS",
        min=0,
        help=f"Delete {what} older than DAYS days ([retention] {kind}_days).",
        metavar="DAYS",
        show_default=False,
    )


@db_app.command("purge")
def purge_command(  # noqa: PLR0917 -- typer maps each keyword parameter to an option
    older_than: Annotated[
        float | None,
        typer.Option(
            "--older-than",
            min=0,
            help="Delete call records older than DAYS days (same as --call-records-days).",
            metavar="DAYS",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Take the days from this acd.toml's [retention]."),
    ] = None,
    call_records_days: Annotated[
        float | None, _days_option("call_records", "calls, events, states, sessions")
    ] = None,
    notes_days: Annotated[float | None, _days_option("notes", "advisors' notes")] = None,
    inactive_customers_days: Annotated[
        float | None, _days_option("inactive_customers", "customers without a call")
    ] = None,
    recordings_days: Annotated[
        float | None, _days_option("recordings", "call recordings (files and rows)")
    ] = None,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
) -> None:
    """Delete what is older than its retention: call records, notes, inactive customers, call
    recordings (each file with its row)."""
    days: dict[str, float | None] = {}
    if config is not None:
        if _retention_loader is None:
            raise _fail("--config needs the acd command")
        days.update(_retention_loader(config))
    given = {
        "call_records": call_records_days if older_than is None else older_than,
        "notes": notes_days,
        "inactive_customers": inactive_customers_days,
        "recordings": recordings_days,
    }
    days.update({kind: value for kind, value in given.items() if value is not None})
    if all(value is None for value in days.values()):
        raise _fail("nothing to purge: give --older-than DAYS, --config acd.toml or --*-days")

    async def purge() -> list[str]:
        engine = create_engine(database_url)
        lines: list[str] = []
        try:
            records_days = days.get("call_records")
            if records_days is not None:
                result = await purge_older_than(engine, records_days, now=time.time())
                lines.append(
                    f"purged records older than {records_days:g} days: {result.calls} calls, "
                    f"{result.call_events} call events, {result.agent_states} advisor states, "
                    f"{result.agent_sessions} sessions, {result.listenings} listenings"
                )
            for kind, count in (await purge_personal_data(engine, days, now=time.time())).items():
                lines.append(
                    f"purged {kind.replace('_', ' ')} older than {days[kind]:g} days: {count}"
                )
        finally:
            await engine.dispose()
        return lines

    try:
        for line in asyncio.run(purge()):
            typer.echo(line)
    except StorageError as exc:
        raise _fail(str(exc)) from None
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        raise _database_error(database_url, exc) from None


@db_app.command("dead-letters")
def dead_letters_command(
    limit: Annotated[int, typer.Option("--limit", min=1, help="Show at most this many.")] = 100,
    spool_dir: Annotated[
        Path | None,
        typer.Option(
            "--spool-dir",
            envvar="ACD_DATABASE_SPOOL_DIR",
            help="Also list the letters filed there while the database was down.",
        ),
    ] = None,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
) -> None:
    """List the rows set aside (dead letters), newest first, with the reason for each."""

    async def read() -> tuple[list[dl.DeadLetter], int]:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as conn:
                return await dl.list_letters(conn, limit), await dl.count_letters(conn)
        finally:
            await engine.dispose()

    filed = dl.read_file(spool_dir) if spool_dir is not None else []
    try:
        stored, total = asyncio.run(read())
    except StorageError as exc:
        raise _fail(str(exc)) from None
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        raise _database_error(database_url, exc) from None
    for where, letters in (("file", filed), ("database", stored)):
        for letter in letters:
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(letter.set_aside_at))
            ids = " ".join(
                f"{k}={v}" for k, v in (("call", letter.call_id), ("agent", letter.agent_id)) if v
            )
            typer.echo(f"{when} {where} {letter.row_table} {ids}: {letter.reason}")
            typer.echo(f"    {letter.row[:500]}")
    shown = min(total, limit)
    typer.echo(f"{total} dead letters in the database ({shown} shown), {len(filed)} in the file")


def report_command(
    *,
    from_: Annotated[
        str,
        typer.Option("--from", help="Start: 2026-03-29 or 2026-03-29T08:00 (centre's time zone)."),
    ],
    to: Annotated[
        str, typer.Option("--to", help="End: a date includes that day; a date-time is exclusive.")
    ],
    queue: Annotated[
        list[str] | None, typer.Option("--queue", help="Only this queue (repeatable).")
    ] = None,
    interval: Annotated[Interval, typer.Option("--interval")] = Interval.HOUR,
    fmt: Annotated[ReportFormat, typer.Option("--format")] = ReportFormat.TABLE,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
    timezone: Annotated[
        str, typer.Option("--timezone", envvar="ACD_CENTRE_TIMEZONE", help="The centre's zone.")
    ] = "Europe/Paris",
    short_abandon_s: Annotated[
        float,
        typer.Option(
            "--short-abandon-s",
            envvar="ACD_CENTRE_SHORT_ABANDON_S",
            min=0,
            help="Abandons under this many seconds are short abandons.",
        ),
    ] = 5.0,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="acd.toml: intervals a queue was closed by its schedule show as closed.",
        ),
    ] = None,
) -> None:
    """Call-centre figures per queue and interval, per advisor, and fairness."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail(f"unknown time zone {timezone!r}") from None
    try:
        start, end = parse_period(from_, to, timezone)
    except ValueError as exc:
        raise _fail(str(exc)) from None

    async def build() -> str:
        engine = create_engine(database_url, must_exist=True)
        try:
            report = await build_report(
                engine,
                start=start,
                end=end,
                timezone=timezone,
                interval=interval,
                queues=tuple(queue) if queue else None,
                short_abandon_s=short_abandon_s,
                openings=openings,
            )
        finally:
            await engine.dispose()
        return render(report, fmt)

    openings = None
    if config is not None:
        if _openings_loader is None:
            raise _fail("--config: opening hours are not available in this build")
        openings = _openings_loader(config, start.timestamp(), end.timestamp())

    try:
        text = asyncio.run(build())
    except StorageError as exc:
        raise _fail(str(exc)) from None
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        raise _database_error(database_url, exc) from None
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"report written to {output}", err=True)
