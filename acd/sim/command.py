"""``acd simulate``: load the scenario and configurations, run, print and write the reports.

The configuration loader is injected (``acd.sim`` may not import ``acd.settings``); so is the
loader of a past day's calls for ``--from-db`` (it needs ``acd.storage``). The CLI mounts it with::

    from acd.settings import load_settings
    from acd.sim.command import build_simulate_cli

    app.command("simulate")(build_simulate_cli(lambda p: load_settings(p).to_core()))

``--campaign NAME`` also runs that outbound campaign's day (its pacing, its list and rules, read
by the injected ``CampaignLoader``) on its queue's advisors, blended with the scenario's callers
of that queue, under each configuration: the campaign's figures and what it costs the inbound
service level, before anyone is dialed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from acd.core.config import AcdConfig
from acd.sim.campaign import CampaignDay, CampaignResult, run_campaign_day
from acd.sim.comparison import Comparison, compare
from acd.sim.decision_log import DecisionLog
from acd.sim.report_html import render_html
from acd.sim.report_text import render_text
from acd.sim.scenario import (
    PastCall,
    Scenario,
    ScenarioError,
    ScenarioHours,
    mismatches,
    scenario_from_history,
)
from acd.sim.scenario_file import load_scenario
from acd.sim.simulator import run_day

ConfigLoader = Callable[[Path], AcdConfig]
# The day to replay, and the configurations given (the first one names the database to read).
HistoryLoader = Callable[[dt.date, Sequence[Path]], Sequence[PastCall]]
# The centre's zone and holidays for the simulated date, from the first configuration.
HoursLoader = Callable[[Path, dt.date], ScenarioHours]
# A configuration's campaign on a date: its simulated day and the queue its advisors serve.
CampaignLoader = Callable[[Path, str, dt.date], tuple[CampaignDay, str]]

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def _labels(paths: Sequence[Path]) -> list[str]:
    """Column titles: file names, made unique with their parent folder when needed."""
    names = [p.name for p in paths]
    if len(set(names)) == len(names):
        return names
    return [str(p) for p in paths]


def simulate_command(
    scenario: Path | None,
    configs: list[Path],
    replications: int,
    seed: int | None,
    html: Path | None,
    *,
    load_config: ConfigLoader,
    history: Sequence[PastCall] | None = None,
    confidence: float = 0.95,
    out: TextIO | None = None,
    err: TextIO | None = None,
    progress: bool = True,
    decisions: int = 0,
    hours: ScenarioHours | None = None,
    offer_callbacks_after: float | None = None,
    callback_acceptance: float = 0.3,
    campaign: str | None = None,
    load_campaign: CampaignLoader | None = None,
    campaign_date: dt.date | None = None,
) -> int:
    """Run the what-if and print the side-by-side report; return the exit code.

    ``history``: a past day's calls (``--from-db``); the scenario file, if any, then supplies
    the roster and behaviour around them. ``decisions``: also print the first that many lines
    of what the engine decided on the first day under the first configuration.
    ``offer_callbacks_after``: the what-if "offer callbacks after N s": each configuration is
    also run with every queue offering a callback after that wait, callers accepting it with
    ``callback_acceptance``.
    """
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    if not configs:
        print("error: give at least one configuration with -c acd.toml", file=err)
        return EXIT_BAD_INPUT
    if replications < 1:
        print("error: --replications must be >= 1", file=err)
        return EXIT_BAD_INPUT
    if not 0 < confidence < 1:
        print("error: --confidence must be in (0, 1)", file=err)
        return EXIT_BAD_INPUT
    try:
        base: Scenario | None = load_scenario(scenario) if scenario is not None else None
        if history is not None:
            day = scenario_from_history(history, base=base)
        elif base is not None:
            day = base
        else:
            print("error: give a scenario file (or --from-db DATE)", file=err)
            return EXIT_BAD_INPUT
    except ScenarioError as exc:
        print(f"error: scenario {exc}", file=err)
        return EXIT_BAD_INPUT
    if hours is not None and day.hours is None:
        day = dataclasses.replace(day, hours=hours)
    loaded: list[tuple[str, AcdConfig]] = []
    for label, path in zip(_labels(configs), configs, strict=True):
        try:
            loaded.append((label, load_config(path)))
        except Exception as exc:  # the loader is injected: any error it raises is the file's
            print(f"error: configuration {path}: {exc}", file=err)
            return EXIT_BAD_INPUT
    if offer_callbacks_after is not None:
        if not offer_callbacks_after > 0 or not 0 <= callback_acceptance <= 1:
            print("error: --offer-callbacks-after > 0, --callback-acceptance in [0, 1]", file=err)
            return EXIT_BAD_INPUT
        loaded += [
            (
                f"{label} + callbacks {offer_callbacks_after:g} s",
                offering(config, offer_callbacks_after),
            )
            for label, config in list(loaded)
        ]
        day = dataclasses.replace(day, callback_acceptance=callback_acceptance)
    for label, config in loaded:
        for note in mismatches(config, day):
            print(f"warning: {label}: {note}", file=err)
    outbound: list[tuple[str, CampaignDay, CampaignDay, str]] = []
    if campaign is not None:
        if load_campaign is None:
            print("error: --campaign needs the configuration's database", file=err)
            return EXIT_BAD_INPUT
        when = campaign_date or dt.date.today()
        for label, path in zip(_labels(configs), configs, strict=True):
            try:
                simulated, queue = load_campaign(path, campaign, when)
            except Exception as exc:  # the loader is injected: its errors are the file's
                print(f"error: configuration {path}: campaign {campaign}: {exc}", file=err)
                return EXIT_BAD_INPUT
            blended = _with_callers(simulated, day, queue, loaded, label)
            outbound.append((label, blended, dataclasses.replace(blended, contacts=()), queue))
    comparison = _run(
        loaded=loaded,
        day=day,
        replications=replications,
        seed=seed,
        confidence=confidence,
        progress=progress,
        err=err,
    )
    out.write(render_text(comparison))
    if outbound:
        seed_used = comparison.seed
        runs = [
            (
                label,
                run_campaign_day(with_it, seed=seed_used),
                run_campaign_day(alone, seed=seed_used),
            )
            for label, with_it, alone, _ in outbound
        ]
        out.write(_campaign_text(campaign or "", outbound[0][3], seed_used, runs))
    if decisions > 0:
        label, config = loaded[0]
        log = DecisionLog(limit=decisions)
        run_day(config, day, seed=comparison.seed, on_decision=log)
        out.write(f"\nWhat the engine decided, {label}, seed {comparison.seed}:\n")
        out.write(log.text())
    if html is not None:
        html.write_text(render_html(comparison), encoding="utf-8")
        print(f"HTML report written to {html}", file=err)
    return EXIT_OK


def _with_callers(
    simulated: CampaignDay,
    day: Scenario,
    queue: str,
    loaded: Sequence[tuple[str, AcdConfig]],
    label: str,
) -> CampaignDay:
    """The campaign's day with the scenario's callers of ``queue`` on the same advisors (their
    arrival profile from the day's local midnight, their handle and patience laws, the queue's
    service-level threshold under that configuration), over the campaign's day (10:00-20:00)."""
    demand = next((q for q in day.queues if q.queue == queue), None)
    if demand is None or day.hours is None:
        return simulated
    config = dict(loaded).get(label)
    queue_cfg = config.queue(queue) if config is not None else None
    midnight = day.hours.day_start
    return dataclasses.replace(
        simulated,
        pauses=(),  # the legal lunch stops the dialing (the rules), not the inbound service
        inbound_profile=tuple((midnight + since, rate) for since, rate in demand.profile),
        inbound_handle=demand.handle_s,
        inbound_patience=demand.patience_s,
        inbound_service_level_s=(
            queue_cfg.service_level_s
            if queue_cfg is not None
            else simulated.inbound_service_level_s
        ),
    )


CAMPAIGN_ROWS: tuple[tuple[str, Callable[[CampaignResult], str]], ...] = (
    ("dials", lambda r: str(len(r.attempts))),
    ("conversations", lambda r: str(r.connected)),
    ("abandon rate (day)", lambda r: f"{r.abandon_rate:.2%}"),
    ("worst 15-min abandon rate", lambda r: f"{r.worst_window_rate:.2%}"),
    ("advisor occupancy", lambda r: f"{r.occupancy:.1%}"),
    ("contacts per advisor hour", lambda r: f"{r.contacts_per_advisor_hour:.2f}"),
    ("inbound offered", lambda r: str(r.inbound_offered)),
    ("inbound answered", lambda r: str(r.inbound_answered)),
    ("inbound service level", lambda r: f"{r.inbound_service_level:.1%}"),
)


def _campaign_text(
    campaign: str,
    queue: str,
    seed: int,
    runs: Sequence[tuple[str, CampaignResult, CampaignResult]],
) -> str:
    """The blended days side by side: each configuration with the campaign, then without it
    (the same callers and advisors, nobody dialed)."""
    columns = [f"{label} + {campaign}" for label, _, _ in runs] + [
        f"{label} alone" for label, _, _ in runs
    ]
    results = [r for _, r, _ in runs] + [r for _, _, r in runs]
    width = max(len(name) for name, _ in CAMPAIGN_ROWS) + 2
    widths = [max(len(c), 10) + 2 for c in columns]
    lines = [
        "",
        f"Outbound campaign {campaign} on the advisors of {queue}, with the scenario's "
        f"{queue} callers (seed {seed}):",
        " " * width + "".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)),
    ]
    for name, show in CAMPAIGN_ROWS:
        cells = "".join(show(r).rjust(w) for r, w in zip(results, widths, strict=True))
        lines.append(name.ljust(width) + cells)
    return "\n".join(lines) + "\n"


def offering(config: AcdConfig, after_s: float) -> AcdConfig:
    """``config`` with every queue offering its waiting callers a callback after ``after_s``."""
    queues = tuple(dataclasses.replace(q, callback_offer_after_s=after_s) for q in config.queues)
    return dataclasses.replace(config, queues=queues)


def _run(
    *,
    loaded: list[tuple[str, AcdConfig]],
    day: Scenario,
    replications: int,
    seed: int | None,
    confidence: float,
    progress: bool,
    err: TextIO,
) -> Comparison:
    if not (progress and err.isatty()):
        return compare(loaded, day, replications=replications, seed=seed, confidence=confidence)
    columns = (BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress("simulating", *columns, console=Console(file=err), transient=True) as bar:
        task = bar.add_task("days", total=replications * len(loaded))
        return compare(
            loaded,
            day,
            replications=replications,
            seed=seed,
            confidence=confidence,
            on_progress=lambda done, _total: bar.update(task, completed=done),
        )


def build_simulate_cli(
    load_config: ConfigLoader,
    load_history: HistoryLoader | None = None,
    load_hours: HoursLoader | None = None,
    load_campaign: CampaignLoader | None = None,
) -> Callable[..., None]:
    """The ``acd simulate`` typer command, bound to the given loaders."""

    def simulate(
        *,
        scenario: Annotated[
            Path | None,
            typer.Argument(metavar="SCENARIO", help="Scenario (TOML); optional with --from-db."),
        ] = None,
        config: Annotated[
            list[Path] | None,
            typer.Option(
                "-c",
                "--config",
                metavar="ACD_TOML",
                help="acd.toml to try; repeat to compare several.",
            ),
        ] = None,
        replications: Annotated[
            int, typer.Option("-n", "--replications", help="Seeded days per configuration.")
        ] = 10,
        seed: Annotated[
            int | None, typer.Option("--seed", help="First seed (default: the scenario's).")
        ] = None,
        html: Annotated[
            Path | None, typer.Option("--html", help="Also write a self-contained HTML report.")
        ] = None,
        from_db: Annotated[
            str | None,
            typer.Option(
                "--from-db", help="Replay that day's calls (YYYY-MM-DD) from the database."
            ),
        ] = None,
        confidence: Annotated[
            float, typer.Option("--confidence", help="Confidence level of the intervals.")
        ] = 0.95,
        decisions: Annotated[
            int,
            typer.Option(
                "--decisions", help="Also print the first N lines of the engine's decisions."
            ),
        ] = 0,
        offer_callbacks_after: Annotated[
            float | None,
            typer.Option(
                "--offer-callbacks-after",
                metavar="SECONDS",
                help="What-if: also run each configuration offering callbacks after this wait.",
            ),
        ] = None,
        callback_acceptance: Annotated[
            float,
            typer.Option(
                "--callback-acceptance", help="Share of callers who accept an offered callback."
            ),
        ] = 0.3,
        date: Annotated[
            str | None,
            typer.Option(
                "--date",
                help="The day simulated, for opening hours and holidays (YYYY-MM-DD; default: "
                "the --from-db day, else today).",
            ),
        ] = None,
        campaign: Annotated[
            str | None,
            typer.Option(
                "--campaign",
                metavar="NAME",
                help="Also run this outbound campaign's day, blended with the scenario's "
                "callers of its queue (its list, rules and pacing from each -c).",
            ),
        ] = None,
    ) -> None:
        """What-if: acd's own routing engine over simulated days, configurations side by side."""
        history = None
        if from_db is not None:
            if load_history is None:
                typer.echo("error: --from-db needs the database, not available here", err=True)
                raise typer.Exit(EXIT_BAD_INPUT)
            try:
                day = dt.date.fromisoformat(from_db)
            except ValueError:
                typer.echo(f"error: --from-db expects YYYY-MM-DD, got {from_db!r}", err=True)
                raise typer.Exit(EXIT_BAD_INPUT) from None
            history = load_history(day, list(config or []))
        hours = None
        try:
            when = (
                dt.date.fromisoformat(date)
                if date is not None
                else dt.date.fromisoformat(from_db)
                if from_db is not None
                else dt.date.today()
            )
        except ValueError:
            typer.echo(f"error: --date expects YYYY-MM-DD, got {date!r}", err=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        if load_hours is not None and config:
            try:
                hours = load_hours(config[0], when)
            except Exception as exc:  # the loader is injected: its errors are the file's
                typer.echo(f"error: configuration {config[0]}: {exc}", err=True)
                raise typer.Exit(EXIT_BAD_INPUT) from None
        code = simulate_command(
            scenario,
            list(config or []),
            replications,
            seed,
            html,
            load_config=load_config,
            history=history,
            confidence=confidence,
            decisions=decisions,
            hours=hours,
            offer_callbacks_after=offer_callbacks_after,
            callback_acceptance=callback_acceptance,
            campaign=campaign,
            load_campaign=load_campaign,
            campaign_date=when,
        )
        raise typer.Exit(code)

    return simulate
