"""Benchmark of predictive dialing: a simulated campaign day through the production engine.

    .venv/bin/python bench/predictive.py [--advisors 100] [--seed 7] [--mode predictive]

100 advisors on one campaign, Tuesday 1 December 2026, 10:00-13:00 and 14:00-20:00 Paris (the
legal hours; the advisors lunch in between). Contacts: mostly metropolitan consumers with proven
consent, some overseas (La Réunion, Guadeloupe, Martinique: their own hours), some under a
contract, some businesses, and some the dialer must never call (no legal basis, consent without
proof, on the opposition list, 4 attempts in the last 30 days, a refusal less than 60 days ago).
Dials are answered by a person 25 % of the time after a log-normal delay (mean 12 s), by a
machine 8 %, busy 7 %, failed 3 %, else ring out after 30 s; conversations last 180 s on
average (exponential), then a 5 s wrap-up. The workload cap (85 % over an hour) applies.

The dialer is ``acd.sim.campaign``: ``acd.core.pacing`` decides how many to dial, the rules of
``acd.core.outbound_rules`` decide whom, ``acd.core.engine`` gives each answered contact an
advisor within 2 s or it is abandoned. ``compliance_violations`` is counted by the checker below,
written apart from the rules module (its own zones, hours and holidays), which replays the
attempt log against the law: it does not trust the dialer.

The last line is JSON: abandon_rate (≤ 0.03), advisor_occupancy (≥ 0.80),
contacts_per_advisor_hour, compliance_violations (== 0).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from acd.core.calendar import CentreCalendar
from acd.core.customers import Consent, Customer, CustomerKind, LegalBasis, Opposition
from acd.core.outbound_rules import Attempt, AttemptOutcome, OutboundRules
from acd.core.pacing import DialMode, PacingPolicy
from acd.sim.campaign import AttemptLogLine, CampaignDay, Contact, run_campaign_day

PARIS = ZoneInfo("Europe/Paris")
DAY = 86_400.0


def paris(hour: int, minute: int = 0) -> float:
    return dt.datetime(2026, 12, 1, hour, minute, tzinfo=PARIS).timestamp()


@dataclass(frozen=True, slots=True)
class Truth:
    """What the bench knows about a contact, independently of the dialer's data structures."""

    number: str
    person: str
    basis: str  # consent | unproven | none | contract | business
    region: str  # "" or a zone name


# ---------------------------------------------------------------- the contact list


def build_contacts(
    count: int, rng: random.Random
) -> tuple[list[Contact], list[Truth], list[Opposition], dict[str, list[Attempt]]]:
    given = paris(10) - 90 * DAY
    contacts: list[Contact] = []
    truths: list[Truth] = []
    oppositions: list[Opposition] = []
    history: dict[str, list[Attempt]] = {}
    for i in range(count):
        zone_draw = rng.random()
        if zone_draw < 0.03:
            number, region = f"+262262{i:06d}", ""
        elif zone_draw < 0.05:
            number, region = f"+590590{i:06d}", ""
        elif zone_draw < 0.06:
            number, region = f"+596596{i:06d}", ""
        elif zone_draw < 0.065:
            number, region = f"+336{i:08d}", "reunion"  # a metropolitan mobile, living overseas
        else:
            number, region = f"+331{i:08d}", ""
        person = f"p{i:06d}"
        basis_draw = rng.random()
        consents: tuple[Consent, ...] = ()
        kind = CustomerKind.CONSUMER
        if basis_draw < 0.02:
            basis = "none"
        elif basis_draw < 0.04:
            basis = "unproven"
            consents = (Consent(purpose="marketing_calls", given_at=given),)
        elif basis_draw < 0.07:
            basis = "contract"
            consents = (
                Consent(
                    purpose="marketing_calls",
                    legal_basis=LegalBasis.CONTRACT,
                    given_at=given,
                    proof_ref=f"contract-{i}",
                ),
            )
        elif basis_draw < 0.10:
            basis, kind = "business", CustomerKind.BUSINESS
        else:
            basis = "consent"
            consents = (Consent(purpose="marketing_calls", given_at=given, proof_ref=f"form-{i}"),)
        customer = Customer(
            customer_id=person, kind=kind, region=region, numbers=(number,), consents=consents
        )
        contacts.append(Contact(number, customer))
        truths.append(Truth(number, person, basis, region))
        past = rng.random()
        if past < 0.02:
            oppositions.append(Opposition(number=number, since=given, source="bloctel"))
        elif past < 0.07:
            # Four attempts in the last 30 days; the oldest leaves the window during the day.
            oldest = paris(10) - 30 * DAY + rng.uniform(-3600, 8 * 3600)
            history[person] = [
                Attempt(oldest + k * DAY, number, "spring", AttemptOutcome.NO_ANSWER)
                for k in range(4)
            ]
        elif past < 0.10:
            refused = paris(10) - rng.choice((59.9, 40.0, 61.0)) * DAY
            history[person] = [Attempt(refused, number, "spring", AttemptOutcome.REFUSED)]
    rng.shuffle(contacts)
    return contacts, truths, oppositions, history


# ---------------------------------------------------------------- the independent checker

CHECKER_ZONES = (  # longest prefix first: Mayotte before La Réunion
    ("+262269", "Indian/Mayotte", "976"),
    ("+262639", "Indian/Mayotte", "976"),
    ("+262", "Indian/Reunion", "974"),
    ("+590", "America/Guadeloupe", "971"),
    ("+596", "America/Martinique", "972"),
    ("+594", "America/Cayenne", "973"),
    ("+33", "Europe/Paris", None),
)
REGION_ZONES = {"reunion": ("Indian/Reunion", "974")}


def _zone(number: str, region: str) -> tuple[str, str | None]:
    if region in REGION_ZONES:
        return REGION_ZONES[region]
    for prefix, zone, subdivision in CHECKER_ZONES:
        if number.startswith(prefix):
            return zone, subdivision
    return "Europe/Paris", None


def _legal_hour(at: float, zone: str, subdivision: str | None) -> bool:
    local = dt.datetime.fromtimestamp(at, ZoneInfo(zone))
    if local.weekday() >= 5 or local.date() in holidays.France(subdiv=subdivision, years=2026):
        return False
    minutes = local.hour * 60 + local.minute + local.second / 60
    return 600 <= minutes < 780 or 840 <= minutes < 1200


def check_attempts(
    log: Sequence[AttemptLogLine],
    truths: Iterable[Truth],
    oppositions: Iterable[Opposition],
    history: dict[str, list[Attempt]],
) -> dict[str, int]:
    """Replay the attempt log in time order against the law; violations by rule."""
    by_number = {t.number: t for t in truths}
    opposed = {o.number: o.since for o in oppositions}
    tried: dict[str, list[float]] = defaultdict(list)
    refused: dict[str, float] = {}
    for person, attempts in history.items():
        for attempt in attempts:
            tried[person].append(attempt.at)
            if attempt.outcome is AttemptOutcome.REFUSED:
                refused[person] = max(refused.get(person, 0.0), attempt.at)
    violations: dict[str, int] = defaultdict(int)
    for line in sorted(log, key=lambda line: line.at):
        truth = by_number[line.number]
        if line.number in opposed and opposed[line.number] <= line.at:
            violations["opposition"] += 1
        if truth.basis in {"none", "unproven"}:
            violations["legal_basis"] += 1
        if truth.basis != "business":
            zone, subdivision = _zone(line.number, truth.region)
            if not _legal_hour(line.at, zone, subdivision):
                violations["hours"] += 1
            recent = [t for t in tried[truth.person] if t > line.at - 30 * DAY]
            if len(recent) >= 4:
                violations["attempts"] += 1
            last_refusal = refused.get(truth.person)
            if last_refusal is not None and line.at < last_refusal + 60 * DAY:
                violations["after_refusal"] += 1
        tried[truth.person].append(line.at)
        if line.outcome is AttemptOutcome.REFUSED:
            refused[truth.person] = line.at
        if line.outcome is AttemptOutcome.DO_NOT_CALL:
            opposed.setdefault(line.number, line.at)
    return dict(violations)


# ---------------------------------------------------------------- the run


def calendars(rules: OutboundRules) -> dict[str, CentreCalendar]:
    return {
        zone.name: CentreCalendar(
            ZoneInfo(zone.timezone),
            dict(holidays.country_holidays(zone.country, subdiv=zone.holidays, years=2026)),
        )
        for zone in rules.zones
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--advisors", type=int, default=100)
    parser.add_argument("--contacts", type=int, default=40_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mode", choices=[m.value for m in DialMode], default="predictive")
    parser.add_argument("--abandon-cap", type=float, default=0.03)
    parser.add_argument("--inbound-per-hour", type=float, default=0.0)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    contacts, truths, oppositions, history = build_contacts(args.contacts, rng)
    rules = OutboundRules()
    day = CampaignDay(
        start=paris(10),
        end=paris(20),
        advisors=args.advisors,
        contacts=contacts,
        rules=rules,
        calendars=calendars(rules),
        pacing=PacingPolicy(mode=DialMode(args.mode), abandon_cap=args.abandon_cap),
        history=history,
        oppositions=oppositions,
        pauses=((paris(13), paris(14)),),
        inbound_per_hour=args.inbound_per_hour,
    )
    started = time.perf_counter()
    result = run_campaign_day(day, seed=args.seed)
    elapsed = time.perf_counter() - started
    violations = check_attempts(result.attempts, truths, oppositions, history)
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    print(f"mode {args.mode}, {args.advisors} advisors, {len(contacts)} contacts, seed {args.seed}")
    print(f"dials: {len(result.attempts)}; refused by the rules: {result.refused}")
    print(
        f"answered {result.answered}, abandoned {result.abandoned}, "
        f"conversations {result.connected}, worst 15-min window {result.worst_window_rate:.4f}"
    )
    if args.inbound_per_hour:
        print(f"inbound: offered {result.inbound_offered}, answered {result.inbound_answered}")
    print(f"checker: {violations or 'no violation'}; simulated in {elapsed:.1f} s")
    print(
        json.dumps(
            {
                "mode": args.mode,
                "advisors": args.advisors,
                "dials": len(result.attempts),
                "abandon_rate": round(result.abandon_rate, 4),
                "worst_15min_abandon_rate": round(result.worst_window_rate, 4),
                "advisor_occupancy": round(result.occupancy, 4),
                "contacts_per_advisor_hour": round(result.contacts_per_advisor_hour, 3),
                "compliance_violations": sum(violations.values()),
                "wall_s": round(elapsed, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
