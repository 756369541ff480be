"""``acd campaign import|can-call``: outbound campaigns from the command line.

Both read the configuration (``-c acd.toml``; ``ACD_*`` variables override it) for the database,
the centre's country and the compliance rules (``[outbound]``), so they decide exactly as the
dialer does: ``can-call`` asks ``acd.core.outbound_rules.may_dial`` with the consent records,
oppositions and attempt history stored in the database. Exit status: 0 yes (or imported), 1 no
(or rows rejected), 2 an error.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import typer

from acd.core.calendar import opening_at
from acd.core.customers import CustomerKind
from acd.core.outbound_rules import DialDecision, Rule, may_dial
from acd.runtime.phone_numbers import NumberError, to_e164
from acd.settings import CampaignSettings, Settings, SettingsError, load_settings
from acd.storage.campaign_csv import parse_contacts_csv
from acd.storage.campaigns import CampaignStore, ImportResult
from acd.storage.customer_csv import CustomerFileError
from acd.storage.database import masked_url
from acd.storage.errors import StorageError
from acd.storage.schema import current_revision, head_revision

campaign_app = typer.Typer(
    help="Outbound campaigns: import contacts, ask whether a number may be called.",
    no_args_is_help=True,
)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="acd.toml (ACD_* variables override it)")
]
CampaignOption = Annotated[str | None, typer.Option("--campaign", help="a [campaigns.NAME]")]

# Campaign-level refusals, after the law's rules (``Rule``) have allowed the dial.
CAMPAIGN_ENDED = "campaign_ended"
CAMPAIGN_HOURS = "campaign_schedule"
CALLER_ID = "caller_id_not_allowed"


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _settings(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except SettingsError as exc:
        raise _fail(str(exc)) from None


def _campaign(settings: Settings, name: str | None) -> CampaignSettings | None:
    if name is None:
        return None
    campaign = settings.campaigns.get(name)
    if campaign is None:
        known = ", ".join(sorted(settings.campaigns)) or "none configured"
        raise _fail(f"--campaign: no [campaigns.{name}] in the configuration (known: {known})")
    return campaign


async def _store(settings: Settings) -> CampaignStore:
    url = settings.database.url.get_secret_value()
    revision = await current_revision(url)
    if revision != head_revision():
        raise StorageError(
            f"database {masked_url(url)} is at {revision or 'no revision'}, not "
            f"{head_revision()}: run `acd db upgrade`"
        )
    return CampaignStore(url)


@campaign_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="CSV: number, and name, kind, legal_basis...")],
    campaign: Annotated[str, typer.Option("--campaign", help="the [campaigns.NAME] to fill")],
    config: ConfigOption = None,
) -> None:
    """Add a CSV file's contacts to a campaign; rejected rows are listed with line and reason."""
    settings = _settings(config)
    _campaign(settings, campaign)
    rules = settings.outbound_rules()
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise _fail(f"{file}: {exc.strerror or exc}") from None
    try:
        parsed = parse_contacts_csv(
            data,
            settings.centre.country,
            settings.centre.timezone,
            purpose=rules.purpose,
            any_time_purpose=rules.any_time_purpose,
        )
    except CustomerFileError as exc:
        raise _fail(f"{file}: refused, nothing imported: {exc}") from None

    async def write() -> ImportResult:
        store = await _store(settings)
        try:
            return await store.import_contacts(campaign, parsed.contacts, at=time.time())
        finally:
            await store.close()

    try:
        result = asyncio.run(write())
    except StorageError as exc:
        raise _fail(str(exc)) from None
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        detail = getattr(exc, "orig", None) or exc
        raise _fail(f"database: {type(detail).__name__}: {detail}") from None
    for rejection in parsed.rejections:
        typer.echo(f"{file}:{rejection.line}: rejected: {rejection.reason}", err=True)
    typer.echo(
        f"{file}: {result.contacts} contacts added to campaign {campaign} "
        f"({result.created} new customers, {result.updated} updated), "
        f"{len(parsed.rejections)} rows rejected"
    )
    if parsed.rejections:
        raise typer.Exit(1)


def _instant(text: str | None, zone: str) -> float:
    """``--at``: ISO-8601; without an offset, in the contact's zone; none: now."""
    if text is None:
        return time.time()
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise _fail(f"--at: not an ISO-8601 time: {text!r} (e.g. 2026-12-01T11:00)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.timestamp()


def _campaign_refusal(
    settings: Settings, campaign: CampaignSettings, at: float, consumer: bool
) -> tuple[str, str, float | None] | None:
    """What the campaign itself forbids once the law allows: its end, its hours, its caller ID."""
    centre = settings.centre_calendar(range(_year(at) - 1, _year(at) + 2))
    if campaign.stop_date is not None and centre.local_date(at) > campaign.stop_date:
        return CAMPAIGN_ENDED, f"stopped after {campaign.stop_date}", None
    if campaign.schedule is not None:
        schedule = settings.to_core().schedule(campaign.schedule)
        opening = opening_at(schedule, centre, at)
        if not opening.open:
            return CAMPAIGN_HOURS, opening.detail or campaign.schedule, opening.next_change
    rules = settings.outbound_rules()
    if (
        consumer
        and campaign.consumer_canvassing
        and not rules.caller_id_allowed(campaign.caller_id)
    ):
        return CALLER_ID, f"{campaign.caller_id} is outside ARCEP's ranges", None
    return None


def _year(at: float) -> int:
    return dt.datetime.fromtimestamp(at, dt.UTC).year


@campaign_app.command("can-call")
def can_call_command(
    number: Annotated[str, typer.Argument(help="the contact's number (E.164 or national)")],
    at: Annotated[
        str | None,
        typer.Option("--at", help="ISO-8601 time; without an offset, in the contact's zone"),
    ] = None,
    config: ConfigOption = None,
    campaign: CampaignOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """May NUMBER be called at --at? Says yes/no and the rule that decides (exit 0 yes, 1 no)."""
    settings = _settings(config)
    campaign_settings = _campaign(settings, campaign)
    try:
        e164 = to_e164(number, settings.centre.country)
    except NumberError as exc:
        raise _fail(str(exc)) from None
    rules = settings.outbound_rules()

    async def read() -> tuple[DialDecision, str, float]:
        store = await _store(settings)
        try:
            customer = await store.customers.by_number(e164)
            numbers = customer.numbers if customer is not None else (e164,)
            oppositions = await store.customers.oppositions(numbers)
            history = await store.person_attempts(
                customer.customer_id if customer else None, numbers
            )
        finally:
            await store.close()
        when = _instant(at, rules.zone_of(e164, customer).timezone)
        calendars = settings.zone_calendars(rules, range(_year(when) - 1, _year(when) + 2))
        decision = may_dial(
            e164,
            when,
            customer=customer,
            rules=rules,
            calendars=calendars,
            history=history,
            oppositions=oppositions,
        )
        consumer = customer is None or customer.kind is CustomerKind.CONSUMER
        if decision.allowed and campaign_settings is not None:
            refusal = _campaign_refusal(settings, campaign_settings, when, consumer)
            if refusal is not None:
                rule, detail, retry = refusal
                refused = DialDecision(False, Rule.CALLING_HOURS, decision.zone, detail, retry)
                return refused, rule, when
        return decision, decision.rule.value, when

    try:
        decision, rule, when = asyncio.run(read())
    except StorageError as exc:
        raise _fail(str(exc)) from None
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        detail = getattr(exc, "orig", None) or exc
        raise _fail(f"database: {type(detail).__name__}: {detail}") from None
    zone = ZoneInfo(rules.zone(decision.zone).timezone)

    def iso(instant: float | None) -> str | None:
        if instant is None:
            return None
        return dt.datetime.fromtimestamp(instant, zone).isoformat(timespec="seconds")

    when_text = iso(when)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "number": e164,
                    "at": when_text,
                    "allowed": decision.allowed,
                    "rule": rule,
                    "detail": decision.detail,
                    "zone": decision.zone,
                    "retry_at": iso(decision.retry_at),
                },
                ensure_ascii=False,
            )
        )
    else:
        answer = "yes" if decision.allowed else "no"
        detail = f" ({decision.detail})" if decision.detail else ""
        retry = f"; not before {iso(decision.retry_at)}" if decision.retry_at else ""
        typer.echo(f"{answer}: {e164} at {when_text} [{decision.zone}]: {rule}{detail}{retry}")
    if not decision.allowed:
        raise typer.Exit(1)
