"""Outbound compliance at every boundary: basis, consent, hours, holidays, attempts, refusals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import holidays
import pytest

from acd.core.calendar import CentreCalendar
from acd.core.customers import Consent, Customer, CustomerKind, LegalBasis, Opposition
from acd.core.errors import ConfigError
from acd.core.outbound_rules import (
    DAY_S,
    FRENCH_ZONES,
    Attempt,
    AttemptOutcome,
    ContactZone,
    DialDecision,
    OutboundRules,
    Rule,
    may_dial,
)

RULES = OutboundRules()
PARIS = ZoneInfo("Europe/Paris")
NUMBER = "+33199000001"
REUNION_NUMBER = "+262262123456"
GIVEN = dt.datetime(2026, 9, 1, tzinfo=PARIS).timestamp()


def calendars() -> dict[str, CentreCalendar]:
    """Each French zone's calendar, with its region's public holidays (as settings build them)."""
    years = range(2026, 2028)
    return {
        zone.name: CentreCalendar(
            ZoneInfo(zone.timezone),
            dict(holidays.country_holidays(zone.country, subdiv=zone.holidays, years=years)),
        )
        for zone in FRENCH_ZONES
    }


CALENDARS = calendars()


def local(  # noqa: PLR0917 -- datetime's own positional fields
    zone: str, y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0
) -> float:
    return dt.datetime(y, mo, d, h, mi, s, tzinfo=ZoneInfo(zone)).timestamp()


def paris(  # noqa: PLR0917 -- datetime's own positional fields
    y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0
) -> float:
    return local("Europe/Paris", y, mo, d, h, mi, s)


def consumer(
    *consents: Consent, numbers: tuple[str, ...] = (NUMBER,), region: str = ""
) -> Customer:
    return Customer(customer_id="c1", numbers=numbers, consents=consents, region=region)


CONSENTED = consumer(Consent(purpose="marketing_calls", given_at=GIVEN, proof_ref="form-17"))


def decide(
    at: float,
    customer: Customer | None = CONSENTED,
    *,
    number: str = NUMBER,
    history: Sequence[Attempt] = (),
    oppositions: Sequence[Opposition] = (),
    rules: OutboundRules = RULES,
) -> DialDecision:
    return may_dial(
        number,
        at,
        customer=customer,
        rules=rules,
        calendars=CALENDARS,
        history=history,
        oppositions=oppositions,
    )


TUESDAY_11 = paris(2026, 12, 1, 11, 0)


def test_consented_consumer_in_hours_is_allowed_on_consent() -> None:
    """A consumer with proven consent, on a weekday at 11:00, may be dialed: the rule is consent."""
    decision = decide(TUESDAY_11)
    assert (decision.allowed, decision.rule, decision.zone) == (True, Rule.CONSENT, "metropole")


def test_consumer_without_legal_basis_is_refused() -> None:
    """A consumer with neither consent nor contract is never dialed, even in hours."""
    decision = decide(TUESDAY_11, consumer())
    assert (decision.allowed, decision.rule, decision.retry_at) == (
        False,
        Rule.NO_LEGAL_BASIS,
        None,
    )


def test_unknown_contact_is_refused() -> None:
    """A number that is no known customer has no legal basis."""
    assert decide(TUESDAY_11, None).rule is Rule.NO_LEGAL_BASIS


def test_consent_without_proof_is_no_legal_basis() -> None:
    """Consent the centre cannot prove (no proof reference) does not count."""
    customer = consumer(Consent(purpose="marketing_calls", given_at=GIVEN))
    decision = decide(TUESDAY_11, customer)
    assert (decision.allowed, decision.rule) == (False, Rule.NO_LEGAL_BASIS)
    assert "proof" in decision.detail


def test_consent_for_another_purpose_is_no_legal_basis() -> None:
    """Consent is specific: consent to surveys does not allow telemarketing."""
    customer = consumer(Consent(purpose="surveys", given_at=GIVEN, proof_ref="p"))
    assert decide(TUESDAY_11, customer).rule is Rule.NO_LEGAL_BASIS


def test_withdrawn_consent_is_refused_from_the_withdrawal_on() -> None:
    """Consent withdrawn at W: allowed one second before W, refused at W."""
    withdrawn = paris(2026, 11, 30, 15, 0)
    customer = consumer(
        Consent(
            purpose="marketing_calls", given_at=GIVEN, withdrawn_at=withdrawn, proof_ref="rec-1"
        )
    )
    before = decide(withdrawn - 1, customer)  # Monday 14:59:59: in hours
    assert (before.allowed, before.rule) == (True, Rule.CONSENT)
    after = decide(TUESDAY_11, customer)
    assert (after.allowed, after.rule) == (False, Rule.CONSENT_WITHDRAWN)


def test_ongoing_contract_is_a_legal_basis() -> None:
    """A consumer under a contract in progress may be called without consent."""
    customer = consumer(
        Consent(
            purpose="marketing_calls",
            legal_basis=LegalBasis.CONTRACT,
            given_at=GIVEN,
            proof_ref="contract-9",
        )
    )
    assert (decide(TUESDAY_11, customer).allowed, decide(TUESDAY_11, customer).rule) == (
        True,
        Rule.CONTRACT,
    )


def test_ended_contract_is_no_legal_basis() -> None:
    """A contract that ended (its record withdrawn) no longer allows canvassing."""
    customer = consumer(
        Consent(
            purpose="marketing_calls",
            legal_basis=LegalBasis.CONTRACT,
            given_at=GIVEN,
            withdrawn_at=GIVEN + DAY_S,
            proof_ref="contract-9",
        )
    )
    assert decide(TUESDAY_11, customer).rule is Rule.NO_LEGAL_BASIS


def test_business_contact_is_outside_consumer_rules() -> None:
    """A business contact needs no consent and is not bound by the consumer calling hours."""
    business = Customer(customer_id="b1", kind=CustomerKind.BUSINESS, numbers=(NUMBER,))
    sunday = paris(2026, 12, 6, 9, 0)
    decision = decide(sunday, business)
    assert (decision.allowed, decision.rule) == (True, Rule.BUSINESS)


def test_business_contact_on_the_opposition_list_is_refused() -> None:
    """Oppositions bind business contacts too."""
    business = Customer(customer_id="b1", kind=CustomerKind.BUSINESS, numbers=(NUMBER,))
    opposed = Opposition(number=NUMBER, since=GIVEN, source="dnc")
    assert decide(TUESDAY_11, business, oppositions=[opposed]).rule is Rule.OPPOSITION


@pytest.mark.parametrize(
    ("clock", "allowed", "rule"),
    [
        ((9, 59, 59), False, Rule.CALLING_HOURS),
        ((10, 0, 0), True, Rule.CONSENT),
        ((12, 59, 59), True, Rule.CONSENT),
        ((13, 0, 0), False, Rule.CALLING_HOURS),
        ((13, 59, 59), False, Rule.CALLING_HOURS),
        ((14, 0, 0), True, Rule.CONSENT),
        ((19, 59, 59), True, Rule.CONSENT),
        ((20, 0, 0), False, Rule.CALLING_HOURS),
    ],
)
def test_calling_hours_boundaries_to_the_second(
    clock: tuple[int, int, int], allowed: bool, rule: Rule
) -> None:
    """Décret 2022-1313: 10:00-13:00 and 14:00-20:00 local, each end excluded, to the second."""
    decision = decide(paris(2026, 12, 1, *clock))
    assert (decision.allowed, decision.rule) == (allowed, rule)


def test_outside_hours_says_when_to_retry() -> None:
    """At 13:00 the next legal instant is 14:00 the same day."""
    assert decide(paris(2026, 12, 1, 13, 0)).retry_at == paris(2026, 12, 1, 14, 0)


def test_weekend_is_outside_calling_hours() -> None:
    """Saturday 11:00 is refused; the retry is Monday 10:00."""
    decision = decide(paris(2026, 12, 5, 11, 0))
    assert (decision.rule, decision.retry_at) == (Rule.CALLING_HOURS, paris(2026, 12, 7, 10, 0))


def test_public_holiday_is_refused_all_day() -> None:
    """Christmas Day (a Friday in 2026) at 11:00 is refused as a public holiday."""
    decision = decide(paris(2026, 12, 25, 11, 0))
    assert (decision.allowed, decision.rule) == (False, Rule.PUBLIC_HOLIDAY)
    assert decision.retry_at == paris(2026, 12, 28, 10, 0)


def test_express_agreement_lifts_the_hours() -> None:
    """A contact who expressly agreed (with proof) to other times may be called on Saturday."""
    customer = consumer(
        Consent(purpose="marketing_calls", given_at=GIVEN, proof_ref="form-17"),
        Consent(purpose="calls_any_time", given_at=GIVEN, proof_ref="form-18"),
    )
    assert decide(paris(2026, 12, 5, 11, 0), customer).allowed is True


def attempts(*instants: float, outcome: AttemptOutcome = AttemptOutcome.NO_ANSWER) -> list[Attempt]:
    return [Attempt(at, NUMBER, "demo", outcome) for at in instants]


def test_fifth_attempt_in_30_days_is_refused() -> None:
    """Four attempts in the last 30 days forbid a fifth; the retry is when the oldest leaves."""
    first = paris(2026, 11, 10, 11, 0)
    history = attempts(first, first + DAY_S, first + 2 * DAY_S, first + 3 * DAY_S)
    decision = decide(TUESDAY_11, history=history)
    assert (decision.allowed, decision.rule) == (False, Rule.ATTEMPT_LIMIT)
    assert decision.retry_at == first + 30 * DAY_S


def test_fourth_attempt_is_allowed() -> None:
    """Three attempts in 30 days still allow a fourth."""
    first = paris(2026, 11, 10, 11, 0)
    history = attempts(first, first + DAY_S, first + 2 * DAY_S)
    assert decide(TUESDAY_11, history=history).allowed is True


def test_attempt_window_slides_after_30_days() -> None:
    """An attempt exactly 30 days old no longer counts; one second younger still does."""
    now = TUESDAY_11
    recent = attempts(now - DAY_S, now - 2 * DAY_S, now - 3 * DAY_S)
    assert decide(now, history=[*recent, *attempts(now - 30 * DAY_S)]).allowed is True
    older = decide(now, history=[*recent, *attempts(now - 30 * DAY_S + 1)])
    assert older.rule is Rule.ATTEMPT_LIMIT


def test_attempts_to_other_numbers_and_campaigns_count() -> None:
    """The limit is per person: attempts on their other number and in other campaigns count."""
    other = "+33612345678"
    customer = consumer(*CONSENTED.consents, numbers=(NUMBER, other))
    history = [
        Attempt(TUESDAY_11 - DAY_S, other, "winter", AttemptOutcome.BUSY),
        Attempt(TUESDAY_11 - 2 * DAY_S, NUMBER, "demo", AttemptOutcome.NO_ANSWER),
        Attempt(TUESDAY_11 - 3 * DAY_S, other, "demo", AttemptOutcome.MACHINE),
        Attempt(TUESDAY_11 - 4 * DAY_S, NUMBER, "winter", AttemptOutcome.ANSWERED),
    ]
    assert decide(TUESDAY_11, customer, history=history).rule is Rule.ATTEMPT_LIMIT


def test_refusal_forbids_calls_until_t_plus_60_days() -> None:
    """Refused at T: refused one second before T + 60 days, allowed one second after."""
    refused_at = paris(2026, 10, 2, 11, 0)
    quiet_end = refused_at + 60 * DAY_S
    history = attempts(refused_at, outcome=AttemptOutcome.REFUSED)
    before = decide(quiet_end - 1, history=history)
    assert (before.allowed, before.rule, before.retry_at) == (
        False,
        Rule.AFTER_REFUSAL,
        quiet_end,
    )
    after = decide(quiet_end + 1, history=history)
    assert (after.allowed, after.rule) == (True, Rule.CONSENT)


def test_number_on_the_opposition_list_is_refused() -> None:
    """A number on the imported opposition list is refused whatever the consent says."""
    opposed = Opposition(number=NUMBER, since=GIVEN, source="bloctel")
    decision = decide(TUESDAY_11, oppositions=[opposed])
    assert (decision.allowed, decision.rule) == (False, Rule.OPPOSITION)
    assert "bloctel" in decision.detail


def test_opposition_on_another_number_of_the_person_is_refused() -> None:
    """The person asked on their mobile not to be called: their landline is not called either."""
    other = "+33612345678"
    customer = consumer(*CONSENTED.consents, numbers=(NUMBER, other))
    opposed = Opposition(number=other, since=GIVEN, source="dnc")
    assert decide(TUESDAY_11, customer, oppositions=[opposed]).rule is Rule.OPPOSITION


def test_opposition_for_another_purpose_does_not_apply() -> None:
    """An opposition limited to surveys does not stop telemarketing calls."""
    opposed = Opposition(number=NUMBER, since=GIVEN, purpose="surveys")
    assert decide(TUESDAY_11, oppositions=[opposed]).allowed is True


def reunion_consumer(region: str = "") -> Customer:
    consent = Consent(purpose="marketing_calls", given_at=GIVEN, proof_ref="form-1")
    return consumer(consent, numbers=(REUNION_NUMBER,), region=region)


def test_overseas_contact_is_called_in_its_own_zone() -> None:
    """A +262 contact is in La Réunion (UTC+4): 19:59:59 there is allowed, 20:00:00 is not."""
    customer = reunion_consumer()
    before = decide(
        local("Indian/Reunion", 2026, 12, 1, 19, 59, 59), customer, number=REUNION_NUMBER
    )
    at_end = decide(local("Indian/Reunion", 2026, 12, 1, 20, 0, 0), customer, number=REUNION_NUMBER)
    assert (before.allowed, before.zone) == (True, "reunion")
    assert (at_end.allowed, at_end.rule) == (False, Rule.CALLING_HOURS)
    # 17:00 in Paris is 20:00 in La Réunion: in Paris hours, outside the contact's.
    assert paris(2026, 12, 1, 17, 0) == local("Indian/Reunion", 2026, 12, 1, 20, 0)


def test_overseas_contact_has_its_own_holidays() -> None:
    """20 December (abolition of slavery) is a public holiday in La Réunion, not in Paris."""
    customer = reunion_consumer()
    at = local("Indian/Reunion", 2027, 12, 20, 11, 0)  # a Monday
    assert decide(at, customer, number=REUNION_NUMBER).rule is Rule.PUBLIC_HOLIDAY
    assert decide(paris(2027, 12, 20, 11, 0)).allowed is True


def test_contact_region_wins_over_the_number() -> None:
    """A metropolitan mobile number whose contact lives in Martinique is called in its zone."""
    consent = Consent(purpose="marketing_calls", given_at=GIVEN, proof_ref="f")
    customer = consumer(consent, numbers=("+33612345678",), region="martinique")
    # 11:00 in Paris is 06:00 in Martinique.
    decision = decide(TUESDAY_11, customer, number="+33612345678")
    assert (decision.allowed, decision.zone) == (False, "martinique")


def test_mayotte_blocks_are_not_reunion() -> None:
    """+262 269 is Mayotte (UTC+3), the rest of +262 La Réunion."""
    assert RULES.zone_of("+262269612345", None).name == "mayotte"
    assert RULES.zone_of("+262262123456", None).name == "reunion"
    assert RULES.zone_of("+590590123456", None).name == "guadeloupe"
    assert RULES.zone_of("+594594123456", None).name == "guyane"
    assert RULES.zone_of("+596596123456", None).name == "martinique"
    assert RULES.zone_of("+33199000001", None).name == "metropole"
    assert RULES.zone_of("+447700900000", None).name == "metropole"  # default zone


def test_zone_without_calendar_is_refused() -> None:
    """Without the zone's calendar the legal hours cannot be known: no dial."""
    decision = may_dial(
        NUMBER,
        TUESDAY_11,
        customer=CONSENTED,
        rules=RULES,
        calendars={},
        history=(),
        oppositions=(),
    )
    assert (decision.allowed, decision.rule) == (False, Rule.CALLING_HOURS)


def test_rules_are_configuration() -> None:
    """Another country's rules: no hours, 2 attempts a week, no proof needed."""
    rules = OutboundRules(
        calling_hours=None,
        max_attempts=2,
        attempts_window_s=7 * DAY_S,
        consent_needs_proof=False,
        zones=(ContactZone("uk", ("+44",), "Europe/London", None, "GB"),),
        default_zone="uk",
    )
    customer = consumer(Consent(purpose="marketing_calls", given_at=GIVEN))
    sunday = paris(2026, 12, 6, 22, 0)
    assert decide(sunday, customer, rules=rules).allowed is True
    history = attempts(sunday - DAY_S, sunday - 2 * DAY_S)
    assert decide(sunday, customer, rules=rules, history=history).rule is Rule.ATTEMPT_LIMIT


def test_bad_rules_are_refused_with_their_field() -> None:
    """An unknown default zone or a prefix in two zones is a configuration error."""
    with pytest.raises(ConfigError, match="default_zone"):
        OutboundRules(default_zone="mars")
    with pytest.raises(ConfigError, match="two zones"):
        OutboundRules(zones=(*FRENCH_ZONES, ContactZone("again", ("+33",), "Europe/Paris")))


def test_arcep_caller_id_ranges() -> None:
    """Consumer canvassing presents only ARCEP's automated-calling numbers (0162.., 09475..)."""
    assert RULES.caller_id_allowed("+33162000001")
    assert RULES.caller_id_allowed("+33948000000")
    assert RULES.caller_id_allowed("+33947500000")
    assert not RULES.caller_id_allowed("+33199000001")
    assert not RULES.caller_id_allowed("+33947000000")
