"""``acd campaign import|can-call|start|pause|stop|status|simulate``: campaigns from the CLI.

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
from acd.core.customers import CustomerKind, Opposition
from acd.core.outbound_rules import Attempt, AttemptOutcome, DialDecision, Rule, may_dial
from acd.core.pacing import DialMode, PacingPolicy
from acd.runtime.phone_numbers import NumberError, to_e164
from acd.settings import CampaignSettings, Settings, SettingsError, load_settings
from acd.sim.campaign import CampaignDay, Contact, run_campaign_day
from acd.storage.campaign_csv import parse_contacts_csv
from acd.storage.campaigns import CampaignFigures, CampaignProgress, CampaignStore, ImportResult
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
            oppositions = []
            for start in range(0, len(numbers), 500):  # within PostgreSQL's parameter limit
                oppositions += await store.customers.oppositions(numbers[start : start + 500])
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


def _state_command(state: str, verb: str) -> None:
    def command(
        name: Annotated[str, typer.Argument(help="the [campaigns.NAME]")],
        config: ConfigOption = None,
    ) -> None:
        settings = _settings(config)
        _campaign(settings, name)

        async def write() -> str:
            store = await _store(settings)
            try:
                return await store.set_state(name, state, at=time.time(), by="cli")
            finally:
                await store.close()

        try:
            before = asyncio.run(write())
        except StorageError as exc:
            raise _fail(str(exc)) from None
        typer.echo(f"campaign {name}: {before} -> {state}")

    command.__doc__ = f"{verb} a campaign (the dialer reads its state)."
    campaign_app.command(verb.lower())(command)


_state_command("running", "Start")
_state_command("paused", "Pause")
_state_command("stopped", "Stop")


@campaign_app.command("status")
def status_command(
    name: Annotated[str, typer.Argument(help="the [campaigns.NAME]")],
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """A campaign's progress: state, contacts left, attempted, reached, abandon rates, outcomes."""
    settings = _settings(config)
    campaign = _campaign(settings, name)
    assert campaign is not None

    zone = ZoneInfo(settings.centre.timezone)
    now = time.time()
    midnight = dt.datetime.fromtimestamp(now, zone).replace(
        hour=0, minute=0, second=0, microsecond=0
    )

    async def read() -> tuple[CampaignProgress, CampaignFigures]:
        store = await _store(settings)
        try:
            progress = await store.progress(name, now=now, machines_answered=not campaign.amd)
            today = await store.figures(
                name, start=midnight.timestamp(), stop=now, machines_answered=not campaign.amd
            )
        finally:
            await store.close()
        return progress, today

    try:
        progress, today = asyncio.run(read())
    except StorageError as exc:
        raise _fail(str(exc)) from None
    record = {
        "campaign": name,
        "state": progress.state,
        "mode": campaign.mode,
        "contacts": progress.contacts,
        "contacts_left": progress.contacts_left,
        "attempted_contacts": progress.attempted_contacts,
        "dials": progress.dials,
        "reached": progress.reached,
        "contact_rate": round(progress.contact_rate, 4),
        "abandon_rate_15min": round(progress.abandon_rate_15min, 4),
        "abandon_rate_24h": round(progress.abandon_rate_24h, 4),
        "abandon_cap": campaign.abandon_cap,
        "outcomes": progress.outcomes,
        "today": today.as_dict(),
    }
    if as_json:
        typer.echo(json.dumps(record, ensure_ascii=False))
        return
    typer.echo(
        f"campaign {name} ({campaign.mode}): {progress.state}; {progress.contacts} contacts, "
        f"{progress.contacts_left} left, {progress.attempted_contacts} attempted, "
        f"{progress.dials} dials, {progress.reached} reached ({progress.contact_rate:.0%}); "
        f"abandon rate {progress.abandon_rate_15min:.1%} (15 min), "
        f"{progress.abandon_rate_24h:.1%} (24 h), cap {campaign.abandon_cap:.0%}"
    )
    typer.echo(f"today: {_figures_line(today)}")
    for outcome, count in sorted(progress.outcomes.items()):
        typer.echo(f"  {outcome}: {count}")


def _figures_line(f: CampaignFigures) -> str:
    busy = f.outbound_occupancy
    return (
        f"{f.dials} dials, {f.reached} reached, {f.contacts_per_hour:.1f} contacts/hour "
        f"({f.dialing_hours} hours dialing), {f.contacts_per_advisor_hour:.1f} per advisor hour, "
        f"outbound occupancy {'–' if busy is None else f'{busy:.0%}'} "
        f"({f.advisors} advisors), abandon rate {f.abandon_rate:.1%}"
    )


@campaign_app.command("report")
def report_command(
    name: Annotated[str, typer.Argument(help="the [campaigns.NAME]")],
    from_text: Annotated[
        str, typer.Option("--from", help="first day or instant, in the centre's zone")
    ],
    to_text: Annotated[
        str | None,
        typer.Option("--to", help="last day (included) or instant (excluded); default: now"),
    ] = None,
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """A campaign's figures over a period, from the records: dials, contacts per hour and per
    advisor hour, outbound occupancy of the advisors who took its calls, abandon rate."""
    settings = _settings(config)
    campaign = _campaign(settings, name)
    assert campaign is not None
    zone = ZoneInfo(settings.centre.timezone)

    def instant(text: str, *, is_end: bool) -> float:
        try:
            if len(text) == 10:
                day = dt.date.fromisoformat(text) + dt.timedelta(days=1 if is_end else 0)
                return dt.datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            raise _fail(f"not an ISO date or date-time: {text!r} (e.g. 2026-12-01)") from None
        return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).timestamp()

    start = instant(from_text, is_end=False)
    stop = instant(to_text, is_end=True) if to_text else time.time()
    if stop <= start:
        raise _fail("--to must come after --from")

    async def read() -> CampaignFigures:
        store = await _store(settings)
        try:
            return await store.figures(
                name, start=start, stop=stop, machines_answered=not campaign.amd
            )
        finally:
            await store.close()

    try:
        figures = asyncio.run(read())
    except StorageError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps({"campaign": name, **figures.as_dict()}, ensure_ascii=False))
        return
    typer.echo(f"campaign {name}: {_figures_line(figures)}")


def _clock(day: dt.date, text: str, zone: ZoneInfo) -> float:
    hours, minutes = (int(part) for part in text.split(":"))
    return dt.datetime(day.year, day.month, day.day, hours, minutes, tzinfo=zone).timestamp()


def campaign_day(
    settings: Settings, name: str, day: dt.date, advisors: int | None = None
) -> CampaignDay:
    """The campaign's day for the simulator: its imported list with its consent, oppositions and
    attempt history from the database, its mode, cap and retries, the advisors of its queue
    (or ``advisors``), 10:00-13:00 and 14:00-20:00 in the centre's zone.

    Raises ``LookupError`` (no advisor, no contact) and ``StorageError``.
    """
    campaign = settings.campaigns[name]
    zone = ZoneInfo(settings.centre.timezone)
    staff = advisors or sum(1 for a in settings.agents.values() if campaign.queue in a.queues)
    if staff == 0:
        raise LookupError(f"no advisor serves queue {campaign.queue}: give --advisors")
    rules = settings.outbound_rules()

    async def read() -> tuple[list[Contact], dict[str, list[Attempt]], list[Opposition]]:
        store = await _store(settings)
        try:
            listed = await store.contacts(name)
            people = [c.customer_id for _, c in listed if c is not None]
            history = await store.attempts_by_person(people)
            numbers = [n for number, c in listed for n in (c.numbers if c else (number,))]
            oppositions = []
            for start in range(0, len(numbers), 500):  # within PostgreSQL's parameter limit
                oppositions += await store.customers.oppositions(numbers[start : start + 500])
        finally:
            await store.close()
        return [Contact(n, c) for n, c in listed], history, oppositions

    contacts, history, oppositions = asyncio.run(read())
    if not contacts:
        raise LookupError(
            f"campaign {name} has no contacts: acd campaign import FILE --campaign {name}"
        )
    retry = {AttemptOutcome(k): minutes * 60.0 for k, minutes in campaign.retry_minutes.items()}
    queue = settings.queues[campaign.queue]
    return CampaignDay(
        start=_clock(day, "10:00", zone),
        end=_clock(day, "20:00", zone),
        advisors=staff,
        contacts=contacts,
        rules=rules,
        calendars=settings.zone_calendars(rules, range(day.year - 1, day.year + 2)),
        pacing=PacingPolicy(
            mode=DialMode(campaign.mode),
            abandon_cap=campaign.abandon_cap,
            no_advisor_s=settings.outbound.no_advisor_s,
        ),
        history=history,
        oppositions=oppositions,
        wrap_up_s=queue.wrap_up_s,
        retry_s=retry,
        pauses=((_clock(day, "13:00", zone), _clock(day, "14:00", zone)),),
        campaign=name,
    )


@campaign_app.command("simulate")
def simulate_command(  # noqa: PLR0917 -- typer maps each keyword parameter to an option
    name: Annotated[str, typer.Argument(help="the [campaigns.NAME]")],
    config: ConfigOption = None,
    date: Annotated[
        str | None, typer.Option("--date", help="the day to simulate (default: today)")
    ] = None,
    advisors: Annotated[
        int | None,
        typer.Option("--advisors", min=1, help="advisors on the campaign (default: its queue's)"),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="random seed")] = 7,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """Run the campaign's pacing on its real contact list in the simulator, before dialing anyone.

    The day runs 10:00-13:00 and 14:00-20:00 in the centre's zone through the production engine;
    contacts behave as ``acd.sim.campaign.ContactModel`` (25 % answered by a person). To see it
    with the inbound callers of a scenario on the same advisors: ``acd simulate SCENARIO -c
    acd.toml --campaign NAME``.
    """
    settings = _settings(config)
    campaign = _campaign(settings, name)
    assert campaign is not None
    zone = ZoneInfo(settings.centre.timezone)
    try:
        day = dt.date.fromisoformat(date) if date else dt.datetime.now(zone).date()
    except ValueError:
        raise _fail(f"--date: not an ISO date: {date!r} (e.g. 2026-12-01)") from None
    try:
        simulated = campaign_day(settings, name, day, advisors)
    except StorageError as exc:
        raise _fail(str(exc)) from None
    except LookupError as exc:
        raise _fail(str(exc.args[0])) from None
    staff = simulated.advisors
    contacts = simulated.contacts
    result = run_campaign_day(simulated, seed=seed)
    figures = {
        "campaign": name,
        "date": day.isoformat(),
        "mode": campaign.mode,
        "advisors": staff,
        "contacts": len(contacts),
        "dials": len(result.attempts),
        "refused_by_rules": result.refused,
        "abandon_rate": round(result.abandon_rate, 4),
        "worst_15min_abandon_rate": round(result.worst_window_rate, 4),
        "abandon_cap": campaign.abandon_cap,
        "advisor_occupancy": round(result.occupancy, 4),
        "contacts_per_advisor_hour": round(result.contacts_per_advisor_hour, 3),
    }
    if as_json:
        typer.echo(json.dumps(figures, ensure_ascii=False))
        return
    for key, value in figures.items():
        typer.echo(f"{key}: {value}")
