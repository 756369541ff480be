"""Customers and contacts: who is calling, and whether a number may be called (pure values).

The one model of a person the centre talks to, reused by every feature: inbound routing reads a
customer's profile (segment, VIP level, language, preferred advisor) from ``CallArrived.data``;
callbacks and outbound campaigns ask ``contact_permission`` whether a number may be called for a
purpose (consent records, oppositions such as a customer's own request or the national do-not-call
list). Numbers are E.164 strings here: normalising what people type is the edges' job.

Times are epoch seconds, given by the caller: nothing here reads a clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final

E164: Final = re.compile(r"^\+[1-9]\d{5,14}$")
CUSTOMER_ID: Final = re.compile(r"^[\w.@:-]{1,64}$")
PURPOSE: Final = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
LANGUAGE: Final = re.compile(r"^[a-z]{2}$")
VIP_MAX: Final = 9

# Keys of ``CallArrived.data`` filled from a customer (strings, as the engine's events carry).
DATA_CUSTOMER_ID: Final = "customer_id"
DATA_NAME: Final = "customer_name"
DATA_KIND: Final = "customer_kind"
DATA_SEGMENT: Final = "segment"
DATA_VIP: Final = "vip"
DATA_LANGUAGE: Final = "language"
DATA_PREFERRED_AGENT: Final = "preferred_agent"
DATA_REGION: Final = "region"
DATA_LAST_AGENT: Final = "last_agent"  # who served this customer last, within the look-back
DATA_KEYS: Final = (
    DATA_CUSTOMER_ID,
    DATA_NAME,
    DATA_KIND,
    DATA_SEGMENT,
    DATA_VIP,
    DATA_LANGUAGE,
    DATA_PREFERRED_AGENT,
    DATA_REGION,
)

AttributeValue = str | int | float | bool | None
_NO_ATTRIBUTES: Mapping[str, AttributeValue] = MappingProxyType({})


class CustomerError(ValueError):
    """A customer or contact value is invalid; ``field`` names it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


class NumberTakenError(CustomerError):
    """A number of the customer being saved already belongs to another customer."""

    def __init__(self, number: str, owner: str) -> None:
        super().__init__("numbers", f"number {number} already belongs to customer {owner}")
        self.number = number
        self.owner = owner


class CustomerKind(StrEnum):
    """Consumers and businesses: French law treats calls to them differently (e.g. Bloctel)."""

    CONSUMER = "consumer"
    BUSINESS = "business"


class LegalBasis(StrEnum):
    """The GDPR basis (art. 6) a purpose relies on."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGITIMATE_INTEREST = "legitimate_interest"
    LEGAL_OBLIGATION = "legal_obligation"


@dataclass(frozen=True, slots=True, kw_only=True)
class Consent:
    """One record of consent (or of another legal basis) for a purpose: given, maybe withdrawn.

    ``collected_by`` says how it was obtained (``phone``, ``web``, ``paper``, ``import``, ``ivr``);
    ``proof_ref`` points at the proof (a recording id, a signed form's reference).
    """

    purpose: str
    legal_basis: LegalBasis = LegalBasis.CONSENT
    given_at: float
    withdrawn_at: float | None = None
    collected_by: str = ""
    proof_ref: str = ""

    def __post_init__(self) -> None:
        if not PURPOSE.match(self.purpose):
            raise CustomerError("consents.purpose", "lower-case word of letters, digits and _")
        if self.withdrawn_at is not None and self.withdrawn_at < self.given_at:
            raise CustomerError("consents.withdrawn_at", "before the consent was given")
        if len(self.collected_by) > 32 or len(self.proof_ref) > 128:
            raise CustomerError("consents", "collected_by ≤ 32 and proof_ref ≤ 128 characters")

    def in_force(self, at: float) -> bool:
        """Given at or before ``at`` and not withdrawn by then."""
        return self.given_at <= at and (self.withdrawn_at is None or at < self.withdrawn_at)


@dataclass(frozen=True, slots=True, kw_only=True)
class Opposition:
    """A number that must not be called: the person's own request, or a national list (Bloctel).

    ``purpose`` None opposes every purpose; ``until`` None is for good.
    """

    number: str
    since: float
    source: str = "customer"
    purpose: str | None = None
    until: float | None = None

    def __post_init__(self) -> None:
        if not E164.match(self.number):
            raise CustomerError("oppositions.number", f"not an E.164 number: {self.number!r}")

    def applies(self, purpose: str, at: float) -> bool:
        """Whether it forbids calling for ``purpose`` at ``at``."""
        if self.purpose is not None and self.purpose != purpose:
            return False
        return self.since <= at and (self.until is None or at < self.until)


@dataclass(frozen=True, slots=True, kw_only=True)
class Customer:
    """A customer (or business contact) of the centre, with its E.164 numbers."""

    customer_id: str
    name: str = ""
    kind: CustomerKind = CustomerKind.CONSUMER
    segment: str = ""
    vip_level: int = 0
    language: str = ""
    preferred_agent: str = ""
    region: str = ""
    numbers: tuple[str, ...] = ()
    attributes: Mapping[str, AttributeValue] = field(default_factory=lambda: _NO_ATTRIBUTES)
    consents: tuple[Consent, ...] = ()

    def __post_init__(self) -> None:
        if not CUSTOMER_ID.match(self.customer_id):
            raise CustomerError("id", "1 to 64 letters, digits or . @ : - _")
        if len(self.name) > 128:
            raise CustomerError("name", "at most 128 characters")
        if not 0 <= self.vip_level <= VIP_MAX:
            raise CustomerError("vip", f"a level from 0 to {VIP_MAX}")
        if self.language and not LANGUAGE.match(self.language):
            raise CustomerError("language", "a two-letter code such as fr or en")
        for name, value in (
            ("segment", self.segment),
            ("preferred_agent", self.preferred_agent),
            ("region", self.region),
        ):
            if len(value) > 64:
                raise CustomerError(name, "at most 64 characters")
        for number in self.numbers:
            if not E164.match(number):
                raise CustomerError("numbers", f"not an E.164 number: {number!r}")
        if len(set(self.numbers)) != len(self.numbers):
            raise CustomerError("numbers", "a number is listed twice")

    def call_data(self) -> dict[str, str]:
        """What a call from this customer carries in ``CallArrived.data`` (no empty values)."""
        data = {
            DATA_CUSTOMER_ID: self.customer_id,
            DATA_NAME: self.name,
            DATA_KIND: self.kind.value,
            DATA_SEGMENT: self.segment,
            DATA_VIP: str(self.vip_level) if self.vip_level else "",
            DATA_LANGUAGE: self.language,
            DATA_PREFERRED_AGENT: self.preferred_agent,
            DATA_REGION: self.region,
        }
        return {key: value for key, value in data.items() if value}

    def consent_in_force(self, purpose: str, at: float) -> Consent | None:
        """The latest record for ``purpose`` in force at ``at``, if any."""
        found = [c for c in self.consents if c.purpose == purpose and c.in_force(at)]
        return max(found, key=lambda c: c.given_at) if found else None


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerCall:
    """One past call of a customer (screen pop, API): what happened and the advisor's note."""

    call_id: str
    number: str
    offered_at: float
    queue: str
    outcome: str
    agent_id: str | None
    disposition: str | None
    wait_s: float
    talk_s: float
    note: str | None


@dataclass(frozen=True, slots=True)
class CustomerRouting:
    """How the engine treats known customers (``[customers]`` in acd.toml).

    ``vip_priority`` maps a VIP level to the priority added to the call's own (queue's or the
    dialplan's) when it arrives; the sum is bounded like every priority. Levels not listed add
    nothing. A CRM answer that comes while the caller waits (``CallerIdentified``) re-applies it.

    ``language_queues`` (dialled queue -> caller's language -> queue) makes a customer's language
    a routing skill: a call to ``support`` from an English speaker enters ``support_en``, whose
    steps name the advisors' language skill (``english``), before it waits anywhere — never a
    transfer afterwards. One lookup: the target queue's own mapping is not applied again.

    ``preferred_hold_s`` (queue -> seconds, off for queues not listed) offers a known customer's
    call first to their preferred advisor (``preferred_agent``, else ``last_agent`` in the call's
    data): at once if free, else the call waits for that advisor alone up to that long, then the
    queue's normal steps apply. An advisor who is not logged in, does not serve the queue or does
    not satisfy its step is not waited for.
    """

    vip_priority: Mapping[int, int] = field(default_factory=lambda: MappingProxyType({}))
    preferred_hold_s: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    language_queues: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def __post_init__(self) -> None:
        for queue, by_language in self.language_queues.items():
            for language, target in by_language.items():
                if not isinstance(language, str) or not LANGUAGE.match(language):
                    raise CustomerError(
                        f"customers.language_queues.{queue}",
                        f"{language!r} is not a two-letter language code",
                    )
                if not isinstance(target, str) or not target:
                    raise CustomerError(
                        f"customers.language_queues.{queue}.{language}", "must name a queue"
                    )
        for level, bonus in self.vip_priority.items():
            if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= VIP_MAX:
                raise CustomerError("customers.vip_priority", f"level {level!r} is not 1 to 9")
            if isinstance(bonus, bool) or not isinstance(bonus, int) or not 0 <= bonus <= 1000:
                raise CustomerError(
                    f"customers.vip_priority.{level}", f"must be 0 to 1000, got {bonus!r}"
                )
        for queue, hold in self.preferred_hold_s.items():
            if isinstance(hold, bool) or not isinstance(hold, int | float) or not 0 < hold <= 600:
                raise CustomerError(
                    f"customers.preferred_hold_s.{queue}", f"must be 0 to 600 s, got {hold!r}"
                )

    def queue_for(self, queue: str, data: Mapping[str, str]) -> str:
        """The queue a call to ``queue`` enters, given its caller's language (if mapped)."""
        by_language = self.language_queues.get(queue)
        if not by_language:
            return queue
        return by_language.get(data.get(DATA_LANGUAGE, ""), queue)

    def preferred_agent(self, data: Mapping[str, str]) -> str | None:
        """The advisor a call's customer should be offered to first, if any."""
        return data.get(DATA_PREFERRED_AGENT) or data.get(DATA_LAST_AGENT) or None

    def vip_bonus(self, data: Mapping[str, str]) -> int:
        """The priority a call's data earns (0 for a non-VIP or an unreadable level)."""
        level = data.get(DATA_VIP, "")
        if not level.isdigit():
            return 0
        return self.vip_priority.get(int(level), 0)


class Permission(StrEnum):
    """Whether a number may be called for a purpose, and if not why."""

    ALLOWED = "allowed"
    OPPOSED = "opposed"
    NO_CONSENT = "no_consent"


def contact_permission(
    number: str,
    purpose: str,
    at: float,
    *,
    customer: Customer | None,
    oppositions: Iterable[Opposition],
    consent_required: bool,
) -> Permission:
    """May ``number`` be called for ``purpose`` at ``at``?

    An opposition always wins. Then, for a purpose that needs consent (marketing calls to
    consumers), a consent record in force is required; other purposes (a callback the caller asked
    for, a contract's follow-up) rely on their own legal basis and need none.
    """
    if any(o.number == number and o.applies(purpose, at) for o in oppositions):
        return Permission.OPPOSED
    if not consent_required:
        return Permission.ALLOWED
    if customer is None or customer.consent_in_force(purpose, at) is None:
        return Permission.NO_CONSENT
    return Permission.ALLOWED
