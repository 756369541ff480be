"""Outbound campaigns in the database: states, contact lists and the attempt log.

``CampaignStore`` imports contact lists (each contact a customer of the customer directory, whose
consent records the file adds), reads a person's attempt history for the compliance rules
(``acd.core.outbound_rules``: every number of the person, every campaign) and records every
attempt, dialed or refused by a rule, with its outcome and reason.

A person's erasure (``acd customers forget``) removes them from contact lists and pseudonymises
their attempts; ``acd db purge`` deletes attempts older than ``[retention] outbound_attempts_days``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from acd.core.customers import Customer
from acd.core.outbound_rules import Attempt, AttemptOutcome
from acd.core.states import STAFFED_ACTIVITIES
from acd.core.workload import occupancy
from acd.storage.campaign_csv import ContactRow
from acd.storage.customers import CustomerStore, register_forget_step, register_retention_step
from acd.storage.database import create_engine
from acd.storage.tables import agent_states, calls, campaign_contacts, campaigns, outbound_attempts

log = structlog.get_logger("acd.storage")

IMPORT_BATCH = 500
BLOCKED = "blocked"  # the outcome of a dial a compliance rule refused (never dialed)
STATES = ("draft", "running", "paused", "stopped")


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import wrote: contacts added to the list, customers created and updated."""

    contacts: int
    created: int
    updated: int


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One line of the attempt log (dialed, or refused by a rule with ``outcome`` blocked)."""

    campaign: str
    customer_id: str
    number: str
    at: float
    outcome: str
    rule: str = ""
    detail: str = ""
    agent_id: str | None = None
    call_id: str | None = None


# Outcomes of answered contacts: the abandon rate's denominator (machines in, AMD being off).
ANSWERED_OUTCOMES = frozenset(
    {
        AttemptOutcome.ABANDONED,
        AttemptOutcome.ANSWERED,
        AttemptOutcome.MACHINE,
        AttemptOutcome.SALE,
        AttemptOutcome.CALL_BACK_LATER,
        AttemptOutcome.REFUSED,
        AttemptOutcome.WRONG_NUMBER,
        AttemptOutcome.DO_NOT_CALL,
        AttemptOutcome.CONSENT_WITHDRAWN,
    }
)


@dataclass(frozen=True, slots=True)
class CampaignProgress:
    """A campaign's live progress (the CLI, the API, the supervisor page)."""

    campaign: str
    state: str
    contacts: int
    attempted_contacts: int
    outcomes: dict[str, int]
    abandon_rate_15min: float
    abandon_rate_24h: float

    @property
    def reached(self) -> int:
        """Attempts that reached a person (a conversation with an advisor)."""
        live = ANSWERED_OUTCOMES - {AttemptOutcome.ABANDONED, AttemptOutcome.MACHINE}
        return sum(self.outcomes.get(o.value, 0) for o in live)

    @property
    def contacts_left(self) -> int:
        return max(0, self.contacts - self.attempted_contacts)

    @property
    def dials(self) -> int:
        """Attempts dialed (dials a rule refused are not attempts)."""
        return sum(count for outcome, count in self.outcomes.items() if outcome != BLOCKED)

    @property
    def contact_rate(self) -> float:
        """Conversations over dials."""
        return self.reached / self.dials if self.dials else 0.0


@dataclass(frozen=True, slots=True)
class CampaignFigures:
    """A campaign's figures over ``[start, stop)``, from the records alone (the attempt log, the
    calls table, the advisors' activity log): what survives a restart.

    ``reached``: conversations with an advisor; ``dialing_hours``: clock hours (UTC) with at least
    one dial; ``outbound_handle_s``: talk and wrap-up of the campaign's calls; ``advisors``: who
    took them, and ``advisor_staffed_s`` their staffed time in the period (available, ringing,
    on a call, wrap-up, breather: the occupancy's denominator, inbound work included).
    """

    campaign: str
    start: float
    stop: float
    dials: int
    reached: int
    answered: int  # answered contacts, the abandon rate's denominator
    abandoned: int
    dialing_hours: int
    outbound_handle_s: float
    advisors: int
    advisor_staffed_s: float

    @property
    def contact_rate(self) -> float:
        return self.reached / self.dials if self.dials else 0.0

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.answered if self.answered else 0.0

    @property
    def contacts_per_hour(self) -> float:
        """Conversations per hour the campaign dialed."""
        return self.reached / self.dialing_hours if self.dialing_hours else 0.0

    @property
    def contacts_per_advisor_hour(self) -> float:
        """Conversations per staffed hour of the advisors who took the campaign's calls."""
        hours = self.advisor_staffed_s / 3600
        return self.reached / hours if hours else 0.0

    @property
    def outbound_occupancy(self) -> float | None:
        """The share of those advisors' staffed time spent on this campaign's calls (the
        occupancy of ``acd.core.workload``, its busy time being the campaign's calls only)."""
        return occupancy(self.outbound_handle_s, self.advisor_staffed_s)

    def as_dict(self) -> dict[str, object]:
        """The figures, rounded, for JSON (the CLI, the API)."""
        busy = self.outbound_occupancy
        return {
            "from": self.start,
            "to": self.stop,
            "dials": self.dials,
            "reached": self.reached,
            "contact_rate": round(self.contact_rate, 4),
            "abandon_rate": round(self.abandon_rate, 4),
            "dialing_hours": self.dialing_hours,
            "contacts_per_hour": round(self.contacts_per_hour, 3),
            "advisors": self.advisors,
            "outbound_handle_s": round(self.outbound_handle_s, 1),
            "advisor_staffed_s": round(self.advisor_staffed_s, 1),
            "contacts_per_advisor_hour": round(self.contacts_per_advisor_hour, 3),
            "outbound_occupancy": None if busy is None else round(busy, 4),
        }


def _staffed_s(changes: Sequence[tuple[float, str]], start: float, stop: float) -> float:
    """Staffed seconds in ``[start, stop)`` from one advisor's activity changes (in order, the
    first one at or before ``start``)."""
    total = 0.0
    for i, (at, activity) in enumerate(changes):
        until = changes[i + 1][0] if i + 1 < len(changes) else stop
        if activity in STAFFED_ACTIVITIES:
            total += max(0.0, min(until, stop) - max(at, start))
    return total


def _abandon_rate(outcomes: Sequence[str], machines_answered: bool = True) -> float:
    counted = ANSWERED_OUTCOMES if machines_answered else ANSWERED_OUTCOMES - {"machine"}
    answered = sum(1 for o in outcomes if o in counted)
    abandoned = sum(1 for o in outcomes if o == AttemptOutcome.ABANDONED)
    return abandoned / answered if answered else 0.0


def _outcome(text: str) -> AttemptOutcome:
    try:
        return AttemptOutcome(text)
    except ValueError:
        log.warning("attempt_outcome_unknown", outcome=text)
        return AttemptOutcome.FAILED


def _merged(existing: Customer, row: ContactRow) -> Customer:
    known = {(c.purpose, c.given_at) for c in existing.consents}
    added = tuple(c for c in row.consents if (c.purpose, c.given_at) not in known)
    return replace(
        existing,
        name=existing.name or row.name,
        region=existing.region or row.region,
        language=existing.language or row.language,
        consents=existing.consents + added,
    )


def _new_customer(row: ContactRow) -> Customer:
    return Customer(
        customer_id=row.customer_id or f"c{secrets.token_hex(8)}",
        name=row.name,
        kind=row.kind,
        region=row.region,
        language=row.language,
        numbers=(row.number,),
        consents=row.consents,
    )


class CampaignStore:
    """Campaigns in acd's database (SQLite or PostgreSQL). ``close`` disposes of the engine."""

    def __init__(self, url: str, *, engine: AsyncEngine | None = None) -> None:
        self.engine = engine or create_engine(url)
        self.customers = CustomerStore(url, engine=self.engine)

    async def close(self) -> None:
        await self.engine.dispose()

    async def import_contacts(
        self, campaign: str, rows: Sequence[ContactRow], *, at: float
    ) -> ImportResult:
        """Add ``rows`` to ``campaign``'s list (again: replaced), creating or updating customers.

        Written 500 rows per transaction: a statement's parameters stay within PostgreSQL's
        limit, and a file of 100,000 contacts never holds one huge transaction.
        """
        contacts = created = updated = 0
        for start in range(0, len(rows), IMPORT_BATCH):
            part = await self._import_batch(campaign, rows[start : start + IMPORT_BATCH], at=at)
            contacts += part.contacts
            created += part.created
            updated += part.updated
        return ImportResult(contacts, created, updated)

    async def _import_batch(
        self, campaign: str, rows: Sequence[ContactRow], *, at: float
    ) -> ImportResult:
        owners = await self.customers.owners(row.number for row in rows)
        existing = {
            c.customer_id: c
            for c in await self._customers(set(owners.values()) | {r.customer_id for r in rows})
        }
        batch: dict[str, Customer] = {}
        contact_of: list[tuple[ContactRow, str]] = []
        created = 0
        for row in rows:
            owner = owners.get(row.number) or (
                row.customer_id if row.customer_id in existing else ""
            )
            current = batch.get(owner) or existing.get(owner)
            if current is not None:
                if row.number not in current.numbers:
                    current = replace(current, numbers=(*current.numbers, row.number))
                customer = _merged(current, row)
            else:
                customer = _new_customer(row)
                created += 1
            batch[customer.customer_id] = customer
            contact_of.append((row, customer.customer_id))
        await self.customers.save_many(list(batch.values()), at=at)
        async with self.engine.begin() as conn:
            await self._ensure_campaign(conn, campaign, at)
            numbers = [row.number for row, _ in contact_of]
            await conn.execute(
                sa.delete(campaign_contacts).where(
                    campaign_contacts.c.campaign == campaign,
                    campaign_contacts.c.number.in_(numbers),
                )
            )
            start = (
                await conn.scalar(
                    sa.select(sa.func.coalesce(sa.func.max(campaign_contacts.c.position), 0)).where(
                        campaign_contacts.c.campaign == campaign
                    )
                )
                or 0
            )
            if contact_of:
                await conn.execute(
                    sa.insert(campaign_contacts),
                    [
                        {
                            "campaign": campaign,
                            "number": row.number,
                            "customer_id": customer_id,
                            "position": start + i + 1,
                            "imported_at": at,
                        }
                        for i, (row, customer_id) in enumerate(contact_of)
                    ],
                )
        return ImportResult(len(contact_of), created, len(batch) - created)

    async def _customers(self, ids: Iterable[str]) -> list[Customer]:
        return await self.customers.get_many(i for i in ids if i)

    async def _ensure_campaign(self, conn: AsyncConnection, campaign: str, at: float) -> None:
        present = await conn.scalar(sa.select(campaigns.c.name).where(campaigns.c.name == campaign))
        if present is None:
            await conn.execute(
                sa.insert(campaigns).values(name=campaign, state="draft", updated_at=at)
            )

    async def contacts(self, campaign: str) -> list[tuple[str, Customer | None]]:
        """The campaign's list in import order: (number, the customer holding it)."""
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(campaign_contacts.c.number, campaign_contacts.c.customer_id)
                    .where(campaign_contacts.c.campaign == campaign)
                    .order_by(campaign_contacts.c.position)
                )
            ).all()
        people = {c.customer_id: c for c in await self._customers({r.customer_id for r in rows})}
        return [(row.number, people.get(row.customer_id)) for row in rows]

    async def attempts_by_person(self, customer_ids: Iterable[str]) -> dict[str, list[Attempt]]:
        """Every dial attempt of these customers, by customer id, oldest first."""
        wanted = list(set(customer_ids))
        found: dict[str, list[Attempt]] = {}
        async with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                rows = await conn.execute(
                    sa.select(outbound_attempts)
                    .where(
                        outbound_attempts.c.customer_id.in_(wanted[start : start + 500]),
                        outbound_attempts.c.outcome != BLOCKED,
                    )
                    .order_by(outbound_attempts.c.at)
                )
                for row in rows:
                    found.setdefault(row.customer_id, []).append(
                        Attempt(row.at, row.number, row.campaign, _outcome(row.outcome))
                    )
        return found

    async def states(self) -> dict[str, str]:
        """Every campaign's state (those never started are absent: draft)."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(campaigns.c.name, campaigns.c.state))
            return {row.name: row.state for row in rows}

    async def due_contacts(
        self, campaign: str, now: float, limit: int
    ) -> list[tuple[str, Customer | None]]:
        """Pending contacts whose next attempt is due, in list order (at most ``limit``)."""
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(campaign_contacts.c.number, campaign_contacts.c.customer_id)
                    .where(
                        campaign_contacts.c.campaign == campaign,
                        campaign_contacts.c.status == "pending",
                        campaign_contacts.c.next_at <= now,
                    )
                    .order_by(campaign_contacts.c.next_at, campaign_contacts.c.position)
                    .limit(limit)
                )
            ).all()
        people = {c.customer_id: c for c in await self._customers({r.customer_id for r in rows})}
        return [(row.number, people.get(row.customer_id)) for row in rows]

    async def reschedule(
        self, campaign: str, number: str, *, status: str, next_at: float, last_outcome: str
    ) -> None:
        """A contact's next step: ``pending`` again from ``next_at``, ``dialing``, ``done`` or
        ``excluded`` (a rule refuses it for good)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.update(campaign_contacts)
                .where(
                    campaign_contacts.c.campaign == campaign,
                    campaign_contacts.c.number == number,
                )
                .values(status=status, next_at=next_at, last_outcome=last_outcome[:24])
            )

    async def set_state(self, campaign: str, state: str, *, at: float, by: str = "") -> str:
        """Start, pause or stop a campaign; returns the state it was in."""
        if state not in STATES:
            raise ValueError(f"state must be one of {', '.join(STATES)}")
        async with self.engine.begin() as conn:
            await self._ensure_campaign(conn, campaign, at)
            before = await conn.scalar(
                sa.select(campaigns.c.state).where(campaigns.c.name == campaign)
            )
            await conn.execute(
                sa.update(campaigns)
                .where(campaigns.c.name == campaign)
                .values(state=state, updated_at=at, updated_by=by[:64])
            )
        return str(before)

    async def progress(
        self, campaign: str, *, now: float, machines_answered: bool = True
    ) -> CampaignProgress:
        """Where a campaign stands: its state, contacts left, attempts and their outcomes.

        ``machines_answered`` False (AMD on): answering machines are not answered contacts for
        the abandon rate."""
        async with self.engine.connect() as conn:
            state = await conn.scalar(
                sa.select(campaigns.c.state).where(campaigns.c.name == campaign)
            )
            total = await conn.scalar(
                sa.select(sa.func.count()).where(campaign_contacts.c.campaign == campaign)
            )
            attempted = await conn.scalar(
                sa.select(sa.func.count(sa.distinct(outbound_attempts.c.number))).where(
                    outbound_attempts.c.campaign == campaign,
                    outbound_attempts.c.outcome != BLOCKED,
                )
            )
            rows = (
                await conn.execute(
                    sa.select(outbound_attempts.c.outcome, outbound_attempts.c.at).where(
                        outbound_attempts.c.campaign == campaign
                    )
                )
            ).all()
        outcomes: dict[str, int] = {}
        for row in rows:
            outcomes[row.outcome] = outcomes.get(row.outcome, 0) + 1
        window = [r.outcome for r in rows if r.at > now - 900]
        day = [r.outcome for r in rows if r.at > now - 86_400]
        return CampaignProgress(
            campaign=campaign,
            state=str(state or "draft"),
            contacts=int(total or 0),
            attempted_contacts=int(attempted or 0),
            outcomes=outcomes,
            abandon_rate_15min=_abandon_rate(window, machines_answered),
            abandon_rate_24h=_abandon_rate(day, machines_answered),
        )

    async def figures(
        self, campaign: str, *, start: float, stop: float, machines_answered: bool = True
    ) -> CampaignFigures:
        """The campaign's figures over ``[start, stop)`` (see ``CampaignFigures``)."""
        a = outbound_attempts.c
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(a.outcome, a.at, a.call_id).where(
                        a.campaign == campaign, a.at >= start, a.at < stop, a.outcome != BLOCKED
                    )
                )
            ).all()
            call_ids = sorted({r.call_id for r in rows if r.call_id})
            handled: list[tuple[str, float]] = []
            for first in range(0, len(call_ids), IMPORT_BATCH):
                chunk = call_ids[first : first + IMPORT_BATCH]
                handled += [
                    (str(r.agent_id), float(r.talk_s) + float(r.wrap_up_s))
                    for r in await conn.execute(
                        sa.select(calls.c.agent_id, calls.c.talk_s, calls.c.wrap_up_s).where(
                            calls.c.call_id.in_(chunk), calls.c.agent_id.is_not(None)
                        )
                    )
                ]
            advisors = sorted({agent for agent, _ in handled})
            staffed = 0.0
            for agent in advisors:
                staffed += _staffed_s(await _activities(conn, agent, start, stop), start, stop)
        outcomes = [r.outcome for r in rows]
        counted = ANSWERED_OUTCOMES if machines_answered else ANSWERED_OUTCOMES - {"machine"}
        live = ANSWERED_OUTCOMES - {AttemptOutcome.ABANDONED, AttemptOutcome.MACHINE}
        return CampaignFigures(
            campaign=campaign,
            start=start,
            stop=stop,
            dials=len(rows),
            reached=sum(1 for o in outcomes if o in live),
            answered=sum(1 for o in outcomes if o in counted),
            abandoned=sum(1 for o in outcomes if o == AttemptOutcome.ABANDONED),
            dialing_hours=len({int(r.at // 3600) for r in rows}),
            outbound_handle_s=sum(seconds for _, seconds in handled),
            advisors=len(advisors),
            advisor_staffed_s=staffed,
        )

    async def release_dialing(self, campaign: str, next_at: float) -> list[tuple[str, str]]:
        """Contacts a previous run left ``dialing`` (it stopped without recording them): back
        to ``pending`` at ``next_at``; their ``(number, customer_id)``."""
        c = campaign_contacts.c
        where = sa.and_(c.campaign == campaign, c.status == "dialing")
        async with self.engine.begin() as conn:
            rows = (await conn.execute(sa.select(c.number, c.customer_id).where(where))).all()
            if rows:
                await conn.execute(
                    sa.update(campaign_contacts)
                    .where(where)
                    .values(status="pending", next_at=next_at)
                )
        return [(str(r.number), str(r.customer_id or "")) for r in rows]

    async def recent_outcomes(self, campaign: str, since: float) -> list[tuple[float, str]]:
        """``(at, outcome)`` of the campaign's dials since ``since``, oldest first (a restarted
        dialer's pacer starts from them)."""
        a = outbound_attempts.c
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(a.at, a.outcome)
                .where(a.campaign == campaign, a.at >= since, a.outcome != BLOCKED)
                .order_by(a.at)
            )
            return [(float(at), str(outcome)) for at, outcome in rows]

    async def contact_count(self, campaign: str) -> int:
        async with self.engine.connect() as conn:
            count = await conn.scalar(
                sa.select(sa.func.count()).where(campaign_contacts.c.campaign == campaign)
            )
        return int(count or 0)

    async def person_attempts(
        self, customer_id: str | None, numbers: Iterable[str]
    ) -> list[Attempt]:
        """Every dial attempt to a person (by customer id or any of ``numbers``), oldest first.

        Dials a rule refused (``blocked``) are not attempts: nobody was called.
        """
        condition: sa.ColumnElement[bool] = outbound_attempts.c.number.in_(list(set(numbers)))
        if customer_id:
            condition = sa.or_(condition, outbound_attempts.c.customer_id == customer_id)
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(outbound_attempts)
                .where(condition, outbound_attempts.c.outcome != BLOCKED)
                .order_by(outbound_attempts.c.at)
            )
            return [
                Attempt(row.at, row.number, row.campaign, _outcome(row.outcome)) for row in rows
            ]

    async def record_attempts(self, records: Sequence[AttemptRecord]) -> None:
        """Append attempts to the log (each gets a fresh id)."""
        if not records:
            return
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.insert(outbound_attempts),
                [
                    {
                        "attempt_id": secrets.token_hex(12),
                        "campaign": r.campaign,
                        "customer_id": r.customer_id,
                        "number": r.number,
                        "at": r.at,
                        "outcome": r.outcome,
                        "rule": r.rule,
                        "detail": r.detail[:200],
                        "agent_id": r.agent_id,
                        "call_id": r.call_id,
                    }
                    for r in records
                ],
            )

    async def set_attempt_outcome(self, call_id: str, outcome: str) -> int:
        """The advisor's outcome replaces the attempt's (``answered``); rows changed."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                sa.update(outbound_attempts)
                .where(outbound_attempts.c.call_id == call_id)
                .values(outcome=outcome)
            )
        return result.rowcount

    async def withdraw_consent(self, customer_id: str, purpose: str, at: float) -> bool:
        """The contact withdrew consent during a call (the advisor's one click): from ``at``."""
        customer = await self.customers.get(customer_id)
        if customer is None:
            return False
        consents = tuple(
            replace(c, withdrawn_at=at) if c.purpose == purpose and c.in_force(at) else c
            for c in customer.consents
        )
        if consents == customer.consents:
            return False
        await self.customers.save(replace(customer, consents=consents), at=at)
        return True


async def _activities(
    conn: AsyncConnection, agent_id: str, start: float, stop: float
) -> list[tuple[float, str]]:
    """One advisor's activity changes in ``[start, stop)``, from the last one before ``start``."""
    s = agent_states.c
    last_before = await conn.scalar(
        sa.select(sa.func.max(s.at)).where(
            s.agent_id == agent_id, s.dimension == "activity", s.at < start
        )
    )
    since = start if last_before is None else float(last_before)
    rows = await conn.execute(
        sa.select(s.at, s.new)
        .where(s.agent_id == agent_id, s.dimension == "activity", s.at >= since, s.at < stop)
        .order_by(s.at, s.ordinal)
    )
    return [(float(at), str(new)) for at, new in rows]


async def _forget_campaign_contacts(
    conn: AsyncConnection, customer_id: str | None, numbers: Sequence[str], pseudonym: str
) -> int:
    condition: sa.ColumnElement[bool] = campaign_contacts.c.number.in_(list(numbers))
    if customer_id is not None:
        condition = sa.or_(condition, campaign_contacts.c.customer_id == customer_id)
    result = await conn.execute(sa.delete(campaign_contacts).where(condition))
    return result.rowcount


async def _pseudonymise_attempts(
    conn: AsyncConnection, customer_id: str | None, numbers: Sequence[str], pseudonym: str
) -> int:
    # The attempts stay for the campaign's figures; whom they were to does not.
    condition: sa.ColumnElement[bool] = outbound_attempts.c.number.in_(list(numbers))
    if customer_id is not None:
        condition = sa.or_(condition, outbound_attempts.c.customer_id == customer_id)
    result = await conn.execute(
        sa.update(outbound_attempts)
        .where(condition)
        .values(number=pseudonym[:20], customer_id=pseudonym)
    )
    return result.rowcount


async def _purge_attempts(conn: AsyncConnection, cutoff: float) -> int:
    result = await conn.execute(sa.delete(outbound_attempts).where(outbound_attempts.c.at < cutoff))
    return result.rowcount


register_forget_step("campaign_contacts", _forget_campaign_contacts)
register_forget_step("outbound_attempts", _pseudonymise_attempts)
register_retention_step("outbound_attempts", _purge_attempts)
