"""A simulated campaign through the production engine: pacing under the cap, rules before dials."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import holidays

from acd.core.calendar import CentreCalendar
from acd.core.customers import Consent, Customer, Opposition
from acd.core.outbound_rules import OutboundRules, may_dial
from acd.core.pacing import DialMode, PacingPolicy
from acd.sim.campaign import CampaignDay, CampaignResult, Contact, run_campaign_day
from acd.sim.distributions import Constant, Never

PARIS = ZoneInfo("Europe/Paris")
RULES = OutboundRules()
CALENDARS = {
    zone.name: CentreCalendar(
        ZoneInfo(zone.timezone),
        dict(holidays.country_holidays(zone.country, subdiv=zone.holidays, years=2026)),
    )
    for zone in RULES.zones
}


def paris(hour: int, minute: int = 0) -> float:
    return dt.datetime(2026, 12, 1, hour, minute, tzinfo=PARIS).timestamp()


def contacts(count: int) -> list[Contact]:
    """Consented metropolitan consumers; every tenth has no consent, every 25th is opposed."""
    given = paris(10) - 90 * 86_400
    listed = []
    for i in range(count):
        consents = (
            ()
            if i % 10 == 0
            else (Consent(purpose="marketing_calls", given_at=given, proof_ref=f"f{i}"),)
        )
        number = f"+331{i:08d}"
        listed.append(
            Contact(number, Customer(customer_id=f"p{i}", numbers=(number,), consents=consents))
        )
    return listed


LIST = contacts(4000)
OPPOSED = [Opposition(number=c.number, since=0.0, source="bloctel") for c in LIST[5::25]]


def day(mode: DialMode, *, inbound_per_hour: float = 0.0, end: float = paris(11)) -> CampaignDay:
    return CampaignDay(
        start=paris(10),
        end=end,
        advisors=20,
        contacts=LIST,
        rules=RULES,
        calendars=CALENDARS,
        pacing=PacingPolicy(mode=mode),
        oppositions=OPPOSED,
        inbound_per_hour=inbound_per_hour,
    )


def replay_allowed(result: CampaignResult) -> bool:
    """Every dial in the log was allowed by the rules at its instant (no earlier dial of the same
    person in this short day reaches the attempt limit)."""
    by_number = {c.number: c.customer for c in LIST}
    return all(
        may_dial(
            line.number,
            line.at,
            customer=by_number[line.number],
            rules=RULES,
            calendars=CALENDARS,
            history=(),
            oppositions=OPPOSED,
        ).allowed
        for line in result.attempts
    )


def test_predictive_keeps_abandons_under_the_cap_and_advisors_busy() -> None:
    """Predictive with 20 advisors for an hour: abandon rate under 3 %, advisors mostly busy."""
    result = run_campaign_day(day(DialMode.PREDICTIVE), seed=3)
    assert result.answered > 150
    assert result.abandon_rate <= 0.03
    assert result.occupancy > 0.6
    assert result.refused["no_legal_basis"] > 0
    assert result.refused["opposition"] > 0
    assert replay_allowed(result)


def test_predictive_reaches_more_contacts_than_progressive() -> None:
    """Overdialing is the point: more conversations per advisor hour than progressive."""
    predictive = run_campaign_day(day(DialMode.PREDICTIVE), seed=3)
    progressive = run_campaign_day(day(DialMode.PROGRESSIVE), seed=3)
    assert predictive.contacts_per_advisor_hour > progressive.contacts_per_advisor_hour
    assert progressive.abandon_rate <= predictive.abandon_rate


def test_preview_dials_nothing_by_itself() -> None:
    """Preview mode leaves dialing to the advisors: the simulated dialer places no call."""
    result = run_campaign_day(day(DialMode.PREVIEW, end=paris(10, 10)), seed=3)
    assert result.attempts == ()


def test_inbound_calls_keep_priority_when_blended() -> None:
    """Inbound callers share the advisors and are served first: nearly all answered."""
    result = run_campaign_day(day(DialMode.PROGRESSIVE, inbound_per_hour=120), seed=5)
    assert result.inbound_offered > 80
    assert result.inbound_answered >= 0.9 * result.inbound_offered
    assert result.connected > 0


def test_no_dial_outside_the_legal_hours() -> None:
    """A day running 12:30-14:30 dials nobody between 13:00 and 14:00."""
    lunch = CampaignDay(
        start=paris(12, 30),
        end=paris(14, 30),
        advisors=10,
        contacts=LIST,
        rules=RULES,
        calendars=CALENDARS,
        pacing=PacingPolicy(mode=DialMode.PROGRESSIVE),
    )
    result = run_campaign_day(lunch, seed=2)
    assert result.attempts
    assert not [a for a in result.attempts if paris(13) <= a.at < paris(14)]
    assert result.refused["calling_hours"] > 0


def test_same_seed_same_day() -> None:
    """A run is a pure function of its inputs and seed."""
    first = run_campaign_day(day(DialMode.PREDICTIVE, end=paris(10, 20)), seed=9)
    again = run_campaign_day(day(DialMode.PREDICTIVE, end=paris(10, 20)), seed=9)
    assert first == again


def test_inbound_profile_brings_callers_only_from_its_step() -> None:
    """A scenario's inbound profile (none before 10:30, 240/h after) on the campaign's advisors:
    callers arrive only after the step, with the scenario's handle law; the service level
    counts those answered within the threshold."""
    blended = dataclasses.replace(
        day(DialMode.PREDICTIVE, end=paris(11)),
        inbound_profile=((paris(10), 0.0), (paris(10, 30), 240.0)),
        inbound_handle=Constant(60.0),
        inbound_patience=Never(),
    )
    result = run_campaign_day(blended, seed=4)
    assert 80 <= result.inbound_offered <= 170  # 120 expected in the half hour
    assert result.inbound_answered == result.inbound_offered  # patient callers, served first
    assert 0 < result.inbound_service_level <= 1
    assert result.inbound_answered_in_time <= result.inbound_answered
    assert result.connected > 0
