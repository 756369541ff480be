"""``acd customers import|export|forget``: the customer directory from the command line.

Like ``acd db``, each command takes ``--database-url`` (default ``ACD_DATABASE_URL``) and the
centre's country for national numbers (``--country``, default ``ACD_CENTRE_COUNTRY`` then FR).
Exports hold personal data: the file is written with mode 0600.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
import typer

from acd.core.customers import Customer, CustomerError, Opposition
from acd.runtime.phone_numbers import NumberError, to_e164
from acd.storage.commands import DEFAULT_DATABASE_URL, DatabaseUrl
from acd.storage.customer_csv import (
    CustomerFileError,
    ParsedFile,
    parse_customers_csv,
    render_customers_csv,
)
from acd.storage.customers import CustomerStore, ForgetResult
from acd.storage.database import masked_url
from acd.storage.errors import StorageError
from acd.storage.schema import current_revision, head_revision, upgrade_schema

BATCH = 500

Country = Annotated[
    str,
    typer.Option(
        "--country", envvar="ACD_CENTRE_COUNTRY", help="Country of national numbers (ISO code)."
    ),
]

customers_app = typer.Typer(
    help="The customer directory: import, export, forget, oppose.", no_args_is_help=True
)


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


async def _ready_store(url: str) -> CustomerStore:
    """The store, on a database at head; a fresh (empty) database gets acd's tables first."""
    revision = await current_revision(url)
    if revision is None:
        await upgrade_schema(url)
    elif revision != head_revision():
        raise StorageError(
            f"database {masked_url(url)} is at {revision}, not {head_revision()}: "
            "run `acd db upgrade`"
        )
    return CustomerStore(url)


async def import_customers(
    url: str, data: bytes, country: str, *, timezone: str = "Europe/Paris"
) -> ParsedFile:
    """Parse and write a customer file; returns what went in and what was rejected.

    A customer already in the database keeps its consent records (proof the centre must keep):
    the row's consent act is added to them, never in their place.
    """
    at = time.time()
    first = parse_customers_csv(data, country, timezone=timezone, now=at)
    numbers = [n for _, c in first.customers for n in c.numbers]
    store = await _ready_store(url)
    try:
        parsed = parse_customers_csv(
            data, country, owners=await store.owners(numbers), timezone=timezone, now=at
        )
        batch: list[Customer] = [customer for _, customer in parsed.customers]
        for start in range(0, len(batch), BATCH):
            chunk = batch[start : start + BATCH]
            kept = {
                c.customer_id: c.consents
                for c in await store.get_many(c.customer_id for c in chunk)
            }
            merged = []
            for customer in chunk:
                consents = kept.get(customer.customer_id, ())
                act = parsed.consents.get(customer.customer_id)
                if act is not None:
                    consents = act.applied_to(consents)
                merged.append(dataclasses.replace(customer, consents=consents))
            await store.save_many(merged, at=at)
    finally:
        await store.close()
    return parsed


@customers_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="CSV file: name, numbers, and optional columns")],
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    country: Country = "FR",
    timezone: Annotated[
        str,
        typer.Option(
            "--timezone",
            envvar="ACD_CENTRE_TIMEZONE",
            help="Zone of consent dates written without an offset (IANA name).",
        ),
    ] = "Europe/Paris",
) -> None:
    """Import customers and their consent; rejected rows are listed with line and reason."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise _fail(f"{file}: {exc.strerror or exc}") from None
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail(f"unknown time zone {timezone!r} (IANA name: Europe/Paris)") from None
    try:
        parsed = asyncio.run(import_customers(database_url, data, country, timezone=timezone))
    except CustomerFileError as exc:
        raise _fail(f"{file}: refused, nothing imported: {exc}") from None
    except StorageError as exc:
        raise _fail(str(exc)) from None
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        detail = getattr(exc, "orig", None) or exc
        raise _fail(f"database {masked_url(database_url)}: {type(detail).__name__}") from None
    for rejection in parsed.rejections:
        typer.echo(f"{file}:{rejection.line}: rejected: {rejection.reason}", err=True)
    typer.echo(
        f"{file}: {len(parsed.customers)} customers imported, "
        f"{len(parsed.rejections)} rows rejected"
    )
    if parsed.rejections:
        raise typer.Exit(1)


@customers_app.command("export")
def export_command(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write this file (mode 0600).")
    ] = None,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
) -> None:
    """Export every customer as CSV (the format ``import`` reads)."""

    async def export() -> str:
        # Nothing to migrate (and no log line in the CSV) on a database without acd's tables.
        if await current_revision(database_url) is None:
            return render_customers_csv(())
        store = await _ready_store(database_url)
        try:
            return render_customers_csv(await store.load_all())
        finally:
            await store.close()

    try:
        text = asyncio.run(export())
    except StorageError as exc:
        raise _fail(str(exc)) from None
    if output is None:
        typer.echo(text, nl=False)
        return
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
        out.write(text)
    typer.echo(f"customers written to {output}", err=True)


@customers_app.command("forget")
def forget_command(
    number: Annotated[str, typer.Argument(help="One of the person's numbers")],
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    country: Country = "FR",
) -> None:
    """Erase the customer holding NUMBER and pseudonymise their numbers in the call records."""
    try:
        e164 = to_e164(number, country)
    except NumberError as exc:
        raise _fail(str(exc)) from None

    async def forget() -> ForgetResult:
        store = await _ready_store(database_url)
        try:
            return await store.forget(e164)
        finally:
            await store.close()

    try:
        result = asyncio.run(forget())
    except StorageError as exc:
        raise _fail(str(exc)) from None
    who = f"customer {result.customer_id}" if result.customer_id else "no customer holds it"
    changes = ", ".join(f"{name}: {count}" for name, count in result.rows.items())
    typer.echo(f"{e164}: {who}; erased or pseudonymised as {result.pseudonym} ({changes})")
    typer.echo(
        "a running daemon forgets them too at its next reload (`acd reload`)",
        err=True,
    )


@customers_app.command("oppose")
def oppose_command(
    number: Annotated[str, typer.Argument(help="The number that must not be called")],
    purpose: Annotated[
        str | None,
        typer.Option(
            "--purpose", help="Only for this purpose (e.g. marketing_calls); default all."
        ),
    ] = None,
    source: Annotated[
        str, typer.Option("--source", help="Who asked: customer, bloctel, ...")
    ] = "customer",
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    country: Country = "FR",
) -> None:
    """Record that NUMBER must not be called (callbacks and campaigns check it); kept by forget."""
    try:
        e164 = to_e164(number, country)
        opposition = Opposition(
            number=e164, since=time.time(), source=source[:32], purpose=purpose or None
        )
    except (NumberError, CustomerError) as exc:
        raise _fail(str(exc)) from None

    async def oppose() -> None:
        store = await _ready_store(database_url)
        try:
            await store.add_opposition(opposition)
        finally:
            await store.close()

    try:
        asyncio.run(oppose())
    except StorageError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"{e164}: not to be called for {purpose or 'any purpose'} (source: {source})")
