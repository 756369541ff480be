"""Outbound calling compliance: may a campaign dial this contact now, and which rule decides.

Checked before every dial (the dialer, the pacing simulator and ``acd campaign can-call`` all ask
``may_dial``), with French defaults as in force today; other countries set their own values:

- Code de la consommation L. 223-1 (as amended in 2025, in force since 11 August 2026): a
  consumer is canvassed by phone only with prior, specific, informed and revocable consent that
  the centre can prove, or under a contract in progress and related to it. Business contacts are
  outside these consumer rules (the customer model's ``kind``); oppositions bind everyone.
- Décret n° 2022-1313: consumers only Monday to Friday 10:00-13:00 and 14:00-20:00 in the
  contact's time zone, never on a public holiday of the contact's region, unless the contact
  expressly agreed to other times; at most 4 attempts (answered or not) to the same person, all
  their numbers and all campaigns, in 30 days; after a refusal during a call at T, none before
  T + 60 days.

The contact's zone comes from the contact's ``region`` when it names a zone, else from the
number's longest matching prefix (+262, +590, +594, +596... overseas; +33 metropolitan). Pure:
instants are epoch seconds; each zone's calendar (time zone and public holidays) is data built
outside the core, keyed by zone name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from acd.core.calendar import CentreCalendar, Reason, Schedule, TimeRange, opening_at
from acd.core.customers import (
    E164,
    PURPOSE,
    Customer,
    CustomerKind,
    LegalBasis,
    Opposition,
)
from acd.core.errors import ConfigError

DAY_S: Final = 86_400.0


class Rule(StrEnum):
    """The rule that decided: a legal basis when the dial is allowed, else why it is refused."""

    # Allowed, on this basis.
    CONSENT = "consent"
    CONTRACT = "contract"
    BUSINESS = "business_contact"
    # Refused.
    OPPOSITION = "opposition"
    NO_LEGAL_BASIS = "no_legal_basis"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    AFTER_REFUSAL = "refused_less_than_60_days_ago"
    ATTEMPT_LIMIT = "attempt_limit"
    PUBLIC_HOLIDAY = "public_holiday"
    CALLING_HOURS = "calling_hours"


ALLOWING_RULES: Final = frozenset({Rule.CONSENT, Rule.CONTRACT, Rule.BUSINESS})


class AttemptOutcome(StrEnum):
    """What one dial attempt ended in (the network's answer, then the advisor's outcome)."""

    BUSY = "busy"
    NO_ANSWER = "no_answer"
    MACHINE = "machine"  # answering machine, when AMD is on
    FAILED = "failed"  # unreachable, congestion, rejected by the trunk
    ABANDONED = "outbound_abandoned"  # answered, no advisor within the limit: the short message
    ANSWERED = "answered"  # answered and bridged, outcome not set (yet)
    SALE = "sale"
    CALL_BACK_LATER = "call_back_later"
    REFUSED = "refused"  # the person refused the offer: no new attempt for 60 days
    WRONG_NUMBER = "wrong_number"
    DO_NOT_CALL = "do_not_call"  # the person asked never to be called again
    CONSENT_WITHDRAWN = "consent_withdrawn"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One dial attempt to a person (any of their numbers, any campaign), at its dial instant."""

    at: float
    number: str
    campaign: str
    outcome: AttemptOutcome


@dataclass(frozen=True, slots=True)
class ContactZone:
    """A zone contacts live in: its number prefixes, IANA time zone and public holidays.

    ``timezone``, ``country`` and ``holidays`` (a subdivision of ``country`` in the ``holidays``
    package, None for the country's own) are resolved outside the core into the zone's
    ``CentreCalendar``.
    """

    name: str
    prefixes: tuple[str, ...]
    timezone: str
    holidays: str | None = None
    country: str = "FR"

    def __post_init__(self) -> None:
        if not PURPOSE.match(self.name):
            raise ConfigError("outbound.zones[].name", "lower-case word of letters, digits, _")
        for prefix in self.prefixes:
            if not prefix.startswith("+") or not prefix[1:].isdigit():
                raise ConfigError(
                    f"outbound.zones.{self.name}.prefixes", f"not a +digits prefix: {prefix!r}"
                )


def _ranges(*texts: str) -> tuple[TimeRange, ...]:
    return tuple(TimeRange.parse(text) for text in texts)


_DECREE_DAY = _ranges("10:00-13:00", "14:00-20:00")
# Décret n° 2022-1313, art. D. 223-8: weekdays only, never on public holidays.
FRENCH_CALLING_HOURS: Final = Schedule(
    "decret_2022_1313",
    week=(_DECREE_DAY,) * 5 + ((), ()),
    observe_holidays=True,
)

FRENCH_ZONES: Final = (
    ContactZone("metropole", ("+33",), "Europe/Paris"),
    ContactZone("guadeloupe", ("+590",), "America/Guadeloupe", "971"),
    ContactZone("martinique", ("+596",), "America/Martinique", "972"),
    ContactZone("guyane", ("+594",), "America/Cayenne", "973"),
    ContactZone("reunion", ("+262",), "Indian/Reunion", "974"),
    # Mayotte shares +262 with La Réunion: its own blocks (fixed 0269, mobile 0639).
    ContactZone("mayotte", ("+262269", "+262639"), "Indian/Mayotte", "976"),
    ContactZone("saint_pierre_et_miquelon", ("+508",), "America/Miquelon", "PM"),
    ContactZone("nouvelle_caledonie", ("+687",), "Pacific/Noumea", "NC"),
    ContactZone("polynesie", ("+689",), "Pacific/Tahiti", "PF"),
    ContactZone("wallis_et_futuna", ("+681",), "Pacific/Wallis", "WF"),
)

# ARCEP's numbers for automated calling systems (décision 2022-1583): the only caller IDs a
# consumer-canvassing campaign may present; 09475-09479 for the overseas departments.
ARCEP_CANVASSING_PREFIXES: Final = tuple(
    f"+33{block}"
    for block in (
        "162", "163", "270", "271", "377", "378", "424", "425", "568", "569", "948", "949",
        "9475", "9476", "9477", "9478", "9479",
    )
)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundRules:
    """Every rule ``may_dial`` applies, as data (``[outbound]`` in acd.toml); French defaults.

    ``purpose`` is the consent purpose of telemarketing calls; ``any_time_purpose`` the consent to
    be called outside ``calling_hours`` (the decree's "express agreement"). ``consent_needs_proof``
    refuses a consent record without ``proof_ref``. ``max_attempts`` 0 turns the limit off.
    """

    purpose: str = "marketing_calls"
    any_time_purpose: str = "calls_any_time"
    consent_needs_proof: bool = True
    calling_hours: Schedule | None = FRENCH_CALLING_HOURS
    max_attempts: int = 4
    attempts_window_s: float = 30 * DAY_S
    after_refusal_s: float = 60 * DAY_S
    zones: tuple[ContactZone, ...] = FRENCH_ZONES
    default_zone: str = "metropole"
    caller_id_prefixes: tuple[str, ...] = ARCEP_CANVASSING_PREFIXES
    _by_prefix: tuple[tuple[str, ContactZone], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("purpose", "any_time_purpose"):
            if not PURPOSE.match(getattr(self, name)):
                raise ConfigError(f"outbound.{name}", "lower-case word of letters, digits and _")
        if isinstance(self.max_attempts, bool) or not 0 <= self.max_attempts <= 100:
            raise ConfigError("outbound.max_attempts", "0 (no limit) to 100")
        for name in ("attempts_window_s", "after_refusal_s"):
            if not 0 <= getattr(self, name) <= 3650 * DAY_S:
                raise ConfigError(f"outbound.{name}", "0 to ten years")
        names = [z.name for z in self.zones]
        if len(set(names)) != len(names):
            raise ConfigError("outbound.zones", "a zone name is given twice")
        if self.default_zone not in names:
            raise ConfigError("outbound.default_zone", f"no zone named {self.default_zone!r}")
        prefixes = sorted(
            ((p, z) for z in self.zones for p in z.prefixes), key=lambda pz: -len(pz[0])
        )
        if len({p for p, _ in prefixes}) != len(prefixes):
            raise ConfigError("outbound.zones", "a prefix belongs to two zones")
        for prefix in self.caller_id_prefixes:
            if not prefix.startswith("+") or not prefix[1:].isdigit():
                raise ConfigError("outbound.caller_id_prefixes", f"not a +digits: {prefix!r}")
        object.__setattr__(self, "_by_prefix", tuple(prefixes))

    def zone(self, name: str) -> ContactZone:
        """The zone called ``name``; ``KeyError`` when there is none."""
        for zone in self.zones:
            if zone.name == name:
                return zone
        raise KeyError(name)

    def zone_of(self, number: str, customer: Customer | None) -> ContactZone:
        """The contact's zone: their ``region`` when it names a zone (or its holiday code), else
        the number's longest matching prefix, else the default zone."""
        region = (customer.region if customer is not None else "").strip().lower()
        if region:
            for zone in self.zones:
                if region in {zone.name, (zone.holidays or "").lower()}:
                    return zone
        for prefix, zone in self._by_prefix:
            if number.startswith(prefix):
                return zone
        return self.zone(self.default_zone)

    def caller_id_allowed(self, number: str) -> bool:
        """Whether ``number`` (E.164) may be presented on consumer-canvassing calls."""
        return bool(E164.match(number)) and any(
            number.startswith(p) for p in self.caller_id_prefixes
        )


@dataclass(frozen=True, slots=True)
class DialDecision:
    """``may_dial``'s answer: allowed or not, the rule that decides, and when to ask again.

    ``retry_at`` (epoch) is the first instant the refusing rule stops refusing, when it is known
    (the next legal hour, the 60th day after a refusal, the 30-day window sliding); None when the
    refusal lasts until something changes (no consent, an opposition).
    """

    allowed: bool
    rule: Rule
    zone: str
    detail: str = ""
    retry_at: float | None = None


def _legal_basis(customer: Customer | None, rules: OutboundRules, at: float) -> tuple[Rule, str]:
    if customer is None:
        return Rule.NO_LEGAL_BASIS, "unknown contact: no consent or contract on record"
    if customer.kind is CustomerKind.BUSINESS:
        return Rule.BUSINESS, "business contact: outside the consumer canvassing rules"
    records = [c for c in customer.consents if c.purpose == rules.purpose]
    in_force = sorted((c for c in records if c.in_force(at)), key=lambda c: -c.given_at)
    for record in in_force:
        if record.legal_basis is LegalBasis.CONTRACT:
            return Rule.CONTRACT, f"contract in progress, proof {record.proof_ref or 'none'}"
        if record.legal_basis is LegalBasis.CONSENT and (
            record.proof_ref or not rules.consent_needs_proof
        ):
            return Rule.CONSENT, f"proof {record.proof_ref or 'none'}"
    if any(c.legal_basis is LegalBasis.CONSENT and c.in_force(at) for c in records):
        return Rule.NO_LEGAL_BASIS, "consent recorded without proof"
    withdrawn = [c for c in records if c.withdrawn_at is not None and c.withdrawn_at <= at]
    if withdrawn and all(c.legal_basis is LegalBasis.CONSENT for c in withdrawn):
        return Rule.CONSENT_WITHDRAWN, f"consent to {rules.purpose} withdrawn"
    return Rule.NO_LEGAL_BASIS, f"no consent to {rules.purpose} nor contract in progress"


def _agreed_any_time(customer: Customer | None, rules: OutboundRules, at: float) -> bool:
    if customer is None:
        return False
    agreement = customer.consent_in_force(rules.any_time_purpose, at)
    return agreement is not None and (bool(agreement.proof_ref) or not rules.consent_needs_proof)


def may_dial(
    number: str,
    at: float,
    *,
    customer: Customer | None,
    rules: OutboundRules,
    calendars: Mapping[str, CentreCalendar],
    history: Sequence[Attempt],
    oppositions: Iterable[Opposition],
) -> DialDecision:
    """May ``number`` (of ``customer``) be dialed for telemarketing at ``at``?

    ``history`` is every attempt to the same person (all their numbers, every campaign), in any
    order; ``calendars`` maps each zone's name to its calendar (a zone without one is refused:
    its legal hours cannot be known). The rules are checked in a fixed order and the first that
    refuses decides: oppositions, legal basis, the 60 days after a refusal, the attempt limit,
    then calling hours and public holidays.
    """
    zone = rules.zone_of(number, customer)
    numbers = {number, *(customer.numbers if customer is not None else ())}
    for opposition in oppositions:
        if opposition.number in numbers and opposition.applies(rules.purpose, at):
            until = opposition.until
            return DialDecision(
                False, Rule.OPPOSITION, zone.name, f"opposition ({opposition.source})", until
            )
    basis, detail = _legal_basis(customer, rules, at)
    if basis not in ALLOWING_RULES:
        return DialDecision(False, basis, zone.name, detail)
    if basis is Rule.BUSINESS:
        return DialDecision(True, basis, zone.name, detail)
    past = [a for a in history if a.at <= at]
    refusals = [a.at for a in past if a.outcome is AttemptOutcome.REFUSED]
    if refusals and at < max(refusals) + rules.after_refusal_s:
        until = max(refusals) + rules.after_refusal_s
        return DialDecision(False, Rule.AFTER_REFUSAL, zone.name, "refused during a call", until)
    if rules.max_attempts:
        recent = sorted(a.at for a in past if a.at > at - rules.attempts_window_s)
        if len(recent) >= rules.max_attempts:
            until = recent[len(recent) - rules.max_attempts] + rules.attempts_window_s
            detail = f"{len(recent)} attempts in {rules.attempts_window_s / DAY_S:g} days"
            return DialDecision(False, Rule.ATTEMPT_LIMIT, zone.name, detail, until)
    if rules.calling_hours is not None and not _agreed_any_time(customer, rules, at):
        calendar = calendars.get(zone.name)
        if calendar is None:
            return DialDecision(
                False, Rule.CALLING_HOURS, zone.name, f"no calendar for zone {zone.name}"
            )
        opening = opening_at(rules.calling_hours, calendar, at)
        if not opening.open:
            rule = Rule.PUBLIC_HOLIDAY if opening.reason is Reason.HOLIDAY else Rule.CALLING_HOURS
            return DialDecision(False, rule, zone.name, opening.detail, opening.next_change)
    return DialDecision(True, basis, zone.name, detail)


__all__ = [
    "ALLOWING_RULES",
    "ARCEP_CANVASSING_PREFIXES",
    "FRENCH_CALLING_HOURS",
    "FRENCH_ZONES",
    "Attempt",
    "AttemptOutcome",
    "ContactZone",
    "DialDecision",
    "OutboundRules",
    "Rule",
    "may_dial",
]
