"""The ``acd`` command: run the daemon, the demo, the virtual Asterisk; check a config file."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from acd.settings import Settings
    from acd.sim.campaign import CampaignDay
    from acd.sim.scenario import PastCall, ScenarioHours

app = typer.Typer(
    help="acd: automatic call distributor for Asterisk.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="acd.toml (ACD_* variables override it)")
]


@app.command()
def version() -> None:
    """Print the version."""
    from acd import __version__

    typer.echo(__version__)


def _settings_or_exit(config: Path | None, *, refused: str = "", runtime: bool = False) -> Settings:
    """Load and check the configuration; on errors print each (and ``refused``) and exit 1.

    ``runtime``: also check what the daemon needs on this host (secret, pid-file directory,
    spool), so ``acd run`` and ``check-config`` refuse with one line instead of a traceback.
    """
    from acd.settings import SettingsError, load_settings, runtime_problems

    try:
        settings = load_settings(config)
        problems = runtime_problems(settings) if runtime else []
        if problems:
            raise SettingsError(str(config or "<defaults>"), problems)
        return settings
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        if refused:
            typer.echo(refused, err=True)
        raise typer.Exit(1) from None


@app.command("check-config")
def check_config(
    file: Annotated[Path | None, typer.Argument(help="the acd.toml to check")] = None,
    config_file: ConfigOption = None,
    sounds: Annotated[
        Path | None,
        typer.Option("--sounds", help="Asterisk's sound directory: warn about missing prompts"),
    ] = None,
) -> None:
    """Validate a configuration file (as ``acd run`` would); errors name the file and the field."""
    file = file or config_file
    if file is None:
        typer.echo("acd check-config: give the file: acd check-config -c acd.toml", err=True)
        raise typer.Exit(2)
    from acd.settings import campaign_warnings

    settings = _settings_or_exit(file, runtime=True)
    config = settings.to_core()
    for where, what in settings.calendar_warnings(dt.datetime.now(dt.UTC).date()):
        typer.echo(f"{file}: warning: {where}: {what}", err=True)
    for where, what in campaign_warnings(settings):
        typer.echo(f"{file}: warning: {where}: {what}", err=True)
    if sounds is not None:
        languages = sorted({queue.language for queue in settings.queues.values()})
        for missing in missing_prompts(sounds, languages):
            typer.echo(f"{file}: warning: prompt {missing} not found (recordings)", err=True)
    typer.echo(
        f"{file}: OK ({len(config.queues)} queues, {len(config.agents)} advisors, "
        f"workload cap {'on' if config.workload.enabled else 'off'}{_campaigns_checked(settings)})"
    )


def _campaigns_checked(settings: Settings) -> str:
    canvassing = [n for n, c in settings.campaigns.items() if c.consumer_canvassing]
    if not settings.campaigns:
        return ""
    return (
        f", {len(settings.campaigns)} campaigns: caller IDs of consumer canvassing "
        f"({', '.join(canvassing) or 'none'}) in ARCEP's ranges"
    )


# The file formats Asterisk plays a prompt from (by extension).
SOUND_FORMATS = ("wav", "WAV", "gsm", "ulaw", "alaw", "sln", "sln16", "g722", "g729", "wav16")


def missing_prompts(sounds: Path, languages: Sequence[str]) -> list[str]:
    """acd's own prompts (``OWN_PROMPTS``) with no file in ``sounds/<language>/``, as paths."""
    from acd.asterisk.prompts import OWN_PROMPTS

    missing = []
    for language in languages:
        for name in OWN_PROMPTS:
            stem = sounds / language / name
            if not any(stem.with_name(f"{name}.{ext}").is_file() for ext in SOUND_FORMATS):
                missing.append(str(stem))
    return missing


def _instant(text: str | None, timezone: str) -> float:
    """``--at``: ISO-8601; without an offset, in the centre's zone; none: now."""
    import time
    from zoneinfo import ZoneInfo

    if text is None:
        return time.time()
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        typer.echo(f"--at: not an ISO-8601 time: {text!r} (e.g. 2026-12-25T10:00)", err=True)
        raise typer.Exit(2) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.timestamp()


def _stored_closures(settings: Settings) -> dict[str, str]:
    """Emergency closures in the database (queue -> reason); none when there is no database."""
    from sqlalchemy.engine import make_url

    from acd.storage.closures import closures_of

    url = settings.database.url.get_secret_value()
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite") and not (
        parsed.database and Path(parsed.database).exists()
    ):
        return {}  # never create a database file just to read it
    try:
        return {c.queue: c.reason for c in closures_of(url)}
    except Exception as exc:
        typer.echo(f"warning: emergency closures not read from the database ({exc})", err=True)
        return {}


@app.command()
def hours(
    config: ConfigOption = None,
    at: Annotated[
        str | None, typer.Option("--at", help="ISO-8601 time (centre's zone without offset)")
    ] = None,
    queue: Annotated[str | None, typer.Option("--queue", help="only this queue")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """Per queue: open or closed at a time (default now), why, and the next change."""
    import json

    from acd.core.calendar import opening_at, opening_record

    settings = _settings_or_exit(config)
    core = settings.to_core()
    when = _instant(at, settings.centre.timezone)
    year = dt.datetime.fromtimestamp(when, dt.UTC).year
    centre = settings.centre_calendar(range(year - 1, year + 3))
    names = [q.name for q in core.queues]
    if queue is not None:
        if queue not in names:
            typer.echo(f"--queue: unknown queue {queue!r} (known: {', '.join(names)})", err=True)
            raise typer.Exit(2)
        names = [queue]
    closed = _stored_closures(settings)
    lines = []
    for name in names:
        q = core.queue(name)
        assert q is not None
        opening = opening_at(
            core.schedule(q.schedule),
            centre,
            when,
            last_entry_s=q.last_entry_before_close_s,
            emergency=closed.get(name),
        )
        lines.append(opening_record(name, opening, centre))
    if as_json:
        typer.echo(json.dumps({"at": centre.iso(when), "queues": lines}, ensure_ascii=False))
        return
    typer.echo(f"at {centre.iso(when)}")
    for line in lines:
        state = "open" if line["open"] else "closed"
        detail = f" ({line['detail']})" if line["detail"] else ""
        then = "opens" if line["next_open"] else "closes"
        change = f"{then} {line['next_change']}" if line["next_change"] else "no change scheduled"
        typer.echo(f"{line['queue']}: {state}: {line['reason']}{detail}; {change}")


@app.command()
def run(config: ConfigOption = None) -> None:
    """Run the daemon (SIGHUP reloads queues, advisors and rules; SIGTERM stops cleanly)."""
    from acd.log_config import configure_logging
    from acd.storage import StorageError

    settings = _settings_or_exit(config, runtime=True)
    configure_logging(settings.logging.format, settings.logging.level)
    try:
        asyncio.run(_run_daemon(settings, config))
    except* StorageError as group:
        for failure in group.exceptions:
            typer.echo(f"acd: {failure}", err=True)
        raise typer.Exit(1) from None


async def _run_daemon(settings: object, config: Path | None) -> None:
    import structlog

    from acd.app import Daemon
    from acd.settings import Settings, SettingsError, load_settings

    assert isinstance(settings, Settings)
    log = structlog.get_logger("acd.cli")
    if settings.leadership.enabled:
        await _run_node(settings, config)
        return
    daemon = Daemon(settings, persist=True, live_interfaces=True)
    loop = asyncio.get_running_loop()

    from acd.core.errors import CoreError

    reloads: set[asyncio.Task[None]] = set()

    async def apply(settings: Settings) -> None:
        try:
            await daemon.reload(settings)
        except CoreError as exc:
            # The engine refused it in the current state: the configuration in force stays.
            log.error("config_reload_refused", problems=[str(exc)])

    def reload() -> None:
        try:
            settings = load_settings(config)
        except SettingsError as exc:
            # Keep serving with the configuration in force.
            log.error("config_reload_refused", problems=[f"{w}: {m}" for w, m in exc.problems])
            return
        task = loop.create_task(apply(settings))
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, daemon.stop)
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGHUP, reload)
    await daemon.run()


async def _run_node(settings: object, config: Path | None) -> None:
    """Active/standby (``[leadership] enabled``): standby until this process leads."""
    import structlog

    from acd.app import Daemon
    from acd.failover import Node
    from acd.settings import Settings, SettingsError, load_settings

    assert isinstance(settings, Settings)
    log = structlog.get_logger("acd.cli")
    node = Node(settings, lambda s: Daemon(s, persist=True, live_interfaces=True))
    loop = asyncio.get_running_loop()

    def reload() -> None:
        try:
            fresh = load_settings(config)
        except SettingsError as exc:
            log.error("config_reload_refused", problems=[f"{w}: {m}" for w, m in exc.problems])
            return
        if node.daemon is None:
            # A standby leads with the configuration read last.
            node.settings = fresh
            return
        task = loop.create_task(node.daemon.reload(fresh))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, node.stop)
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGHUP, reload)
    code = await node.run()
    if code:
        raise SystemExit(code)


@app.command()
def reload(config: ConfigOption = None) -> None:
    """Check the configuration, then signal the running daemon (daemon.pid_file) to apply it."""
    import os

    settings = _settings_or_exit(
        config, refused="not reloaded: the daemon keeps its current configuration"
    )
    pid_file = settings.daemon.pid_file
    if pid_file is None:
        typer.echo("daemon.pid_file is not set: send SIGHUP to the daemon yourself", err=True)
        raise typer.Exit(2)
    try:
        pid = int(pid_file.read_text(encoding="ascii").strip())
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError) as exc:
        typer.echo(f"{pid_file}: no running daemon to signal ({exc})", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"configuration checked; reload requested from daemon {pid}")


@app.command()
def demo(  # noqa: PLR0917 -- typer maps each keyword parameter to a command-line option
    duration: Annotated[float, typer.Option(help="seconds to run; 0 runs until Ctrl-C")] = 60.0,
    rate: Annotated[float, typer.Option(help="simulated calls per minute")] = 24.0,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same callers)")] = 7,
    http_port: Annotated[
        int, typer.Option(help="wallboard, API and metrics on 127.0.0.1:PORT; 0 for none")
    ] = 8080,
    config: ConfigOption = None,
    log_format: Annotated[str, typer.Option(help="console or json")] = "console",
    campaign: Annotated[
        bool, typer.Option("--campaign", help="also dial a small outbound campaign")
    ] = False,
    campaign_mode: Annotated[
        str,
        typer.Option(
            "--campaign-mode", help="the demo campaign's dialing: progressive or predictive"
        ),
    ] = "progressive",
) -> None:
    """The daemon against the virtual Asterisk with simulated callers and advisors; no setup."""
    from acd.demo import DemoOptions, format_summary, run_demo
    from acd.log_config import configure_logging
    from acd.settings import SettingsError

    configure_logging(log_format, "info")
    options = DemoOptions(
        duration_s=duration,
        calls_per_minute=rate,
        seed=seed,
        http_port=http_port or None,
        config=config,
        campaign=campaign,
        campaign_mode=campaign_mode,
    )
    if campaign_mode not in {"progressive", "predictive"}:
        typer.echo("--campaign-mode: progressive or predictive", err=True)
        raise typer.Exit(2)
    try:
        result = asyncio.run(run_demo(options))
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(format_summary(result))


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def pbxsim(ctx: typer.Context) -> None:
    """Run the virtual Asterisk alone (arguments as `python -m acd.pbxsim --help`)."""
    from acd.pbxsim.__main__ import main as pbxsim_main

    raise typer.Exit(pbxsim_main(list(ctx.args)))


OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="write this file (mode 0640) instead of printing"),
]


def _write_generated(text: str, output: Path | None) -> None:
    import os

    if output is None:
        typer.echo(text, nl=False)
        return
    # Holds SIP passwords: never world-readable, replaced in one step (Asterisk may reload).
    partial = output.with_name(output.name + ".new")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)
    partial.replace(output)


PbxOption = Annotated[
    str | None,
    typer.Option("--pbx", help="only the advisors of this [pbx.NAME] (one box of several)"),
]


def _check_pbx(settings: Settings, pbx: str | None) -> None:
    from acd.settings import SettingsError

    if pbx is not None and pbx not in settings.boxes():
        raise SettingsError("--pbx", [("", f"no [pbx.{pbx}] section")])


@app.command("pjsip-endpoints")
def pjsip_endpoints(
    passwords: Annotated[
        Path, typer.Option("--passwords", help='TOML file of ADVISOR_ID = "SIP password" lines')
    ],
    config: ConfigOption = None,
    output: OutputOption = None,
    pbx: PbxOption = None,
) -> None:
    """PJSIP endpoint, AOR and digest auth of every advisor in acd.toml (for pjsip.conf)."""
    from acd.pjsip_endpoints import EndpointError, parse_passwords, render_pjsip_endpoints
    from acd.settings import SettingsError, load_settings

    try:
        settings = load_settings(config)
        secrets = parse_passwords(passwords.read_text(encoding="utf-8"), str(passwords))
        _check_pbx(settings, pbx)
        text = render_pjsip_endpoints(
            settings, secrets, source=str(config or "<defaults>"), pbx=pbx
        )
    except (SettingsError, EndpointError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    _write_generated(text, output)


@app.command("fallback-queues")
def fallback_queues(
    config: ConfigOption = None, output: OutputOption = None, pbx: PbxOption = None
) -> None:
    """app_queue queues with the same advisors as acd's queues (the dialplan's fallback)."""
    from acd.pjsip_endpoints import EndpointError, render_fallback_queues
    from acd.settings import SettingsError, load_settings

    try:
        settings = load_settings(config)
        _check_pbx(settings, pbx)
        text = render_fallback_queues(settings, source=str(config or "<defaults>"), pbx=pbx)
    except (SettingsError, EndpointError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    _write_generated(text, output)


def _mount_storage_commands() -> None:
    from acd.storage.commands import db_app, report_command

    app.add_typer(db_app, name="db", help="Database: upgrade, current revision, purge.")
    app.command("report")(report_command)
    from acd.storage.commands import use_retention_loader
    from acd.storage.customer_commands import customers_app

    def retention_days(path: Path) -> dict[str, float | None]:
        retention = _settings_or_exit(path).retention
        return {
            "call_records": retention.call_records_days,
            "notes": retention.notes_days,
            "inactive_customers": retention.inactive_customers_days,
            "recordings": retention.recordings_days,
            "outbound_attempts": retention.outbound_attempts_days,
        }

    use_retention_loader(retention_days)

    from acd.storage.commands import use_openings_loader

    def openings(path: Path, start: float, end: float) -> dict[str, list[tuple[float, float]]]:
        from acd.core.calendar import open_spans

        settings = _settings_or_exit(path)
        core = settings.to_core()
        first = dt.datetime.fromtimestamp(start, dt.UTC).year
        last = dt.datetime.fromtimestamp(end, dt.UTC).year
        centre = settings.centre_calendar(range(first - 1, last + 2))
        spans: dict[str, list[tuple[float, float]]] = {}
        for q in core.queues:
            schedule = core.schedule(q.schedule)
            if schedule is not None:  # a queue without hours is always open: no marks
                spans[q.name] = open_spans(schedule, centre, start, end)
        return spans

    use_openings_loader(openings)

    app.add_typer(
        customers_app, name="customers", help="Customers: import, export, forget, oppose."
    )


_mount_storage_commands()


def _mount_campaign_commands() -> None:
    from acd.campaign_commands import campaign_app

    app.add_typer(campaign_app, name="campaign", help="Outbound campaigns: import, can-call.")


_mount_campaign_commands()


def _past_calls(day: dt.date, configs: Sequence[Path]) -> list[PastCall]:
    """A recorded day's calls as the simulator's ``PastCall``, from the first config's database."""
    from zoneinfo import ZoneInfo

    from sqlalchemy.exc import SQLAlchemyError

    from acd.settings import load_settings
    from acd.sim.scenario import PastCall
    from acd.storage.database import masked_url
    from acd.storage.errors import StorageError
    from acd.storage.history import calls_of_day

    settings = load_settings(configs[0] if configs else None)
    tz = settings.centre.timezone
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz)).timestamp()
    url = settings.database.url.get_secret_value()
    try:
        recorded = calls_of_day(url, day, tz)
    except StorageError as exc:
        typer.echo(f"error: --from-db {day}: {exc}", err=True)
        raise typer.Exit(2) from None
    except (SQLAlchemyError, OSError) as exc:
        # The driver's message, not SQLAlchemy's (which appends the statement and parameters).
        detail = getattr(exc, "orig", None) or exc
        typer.echo(
            f"error: --from-db {day}: database {masked_url(url)}: {type(detail).__name__}: "
            f"{detail}",
            err=True,
        )
        raise typer.Exit(2) from None
    past: list[PastCall] = []
    for call in recorded:
        answered = call.outcome == "answered"
        past.append(
            PastCall(
                at=call.offered_at - midnight,
                queue=call.first_queue,
                priority=call.priority,
                handle_s=call.talk_s if answered else None,
                abandoned_after_s=call.wait_s if call.outcome == "abandoned" else None,
                waited_s=call.wait_s if answered else None,
            )
        )
    return past


def _sim_hours(config: Path, day: dt.date) -> ScenarioHours:
    """The centre's zone and holidays for a simulated ``day`` (from the configuration)."""
    from zoneinfo import ZoneInfo

    from acd.settings import load_settings
    from acd.sim.scenario import ScenarioHours

    settings = load_settings(config)
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(settings.centre.timezone))
    return ScenarioHours(
        centre=settings.centre_calendar(range(day.year - 1, day.year + 2)),
        day_start=midnight.timestamp(),
    )


def _sim_campaign(config: Path, name: str, day: dt.date) -> tuple[CampaignDay, str]:
    """A configuration's campaign on ``day`` for ``acd simulate --campaign``, and its queue."""
    from acd.campaign_commands import campaign_day
    from acd.settings import load_settings

    settings = load_settings(config)
    if name not in settings.campaigns:
        raise LookupError(f"no [campaigns.{name}] in {config}")
    return campaign_day(settings, name, day), settings.campaigns[name].queue


def _mount_simulate_command() -> None:
    from acd.settings import load_settings
    from acd.sim.command import build_simulate_cli

    app.command("simulate")(
        build_simulate_cli(
            lambda path: load_settings(path).to_core(), _past_calls, _sim_hours, _sim_campaign
        )
    )


_mount_simulate_command()


def main() -> None:
    # Everything acd creates (SQLite database, spool, pid file, exports) may hold caller numbers:
    # files 0600 and directories 0700, whichever code creates them.
    os.umask(0o077)
    app()


if __name__ == "__main__":
    main()
