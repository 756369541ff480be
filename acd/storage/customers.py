"""The customer directory in the database: customers, numbers, consents, notes, history, erasure.

``CustomerStore`` is what the daemon's directory (``acd.runtime.customer_directory``) reads at start
and writes through on each change, and what ``acd customers`` uses. A number belongs to one
customer: saving a customer with a number another one holds raises
``acd.core.customers.NumberTakenError``.

``forget`` erases a customer and pseudonymises their numbers in the call records. Every later
feature that stores data about a person (callbacks, campaign contacts, recordings) registers its
own step with ``register_forget_step``, so one ``acd customers forget NUMBER`` reaches all of it.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from acd.core.customers import (
    Consent,
    Customer,
    CustomerCall,
    CustomerKind,
    LegalBasis,
    NumberTakenError,
    Opposition,
)
from acd.storage.database import create_engine
from acd.storage.tables import (
    call_events,
    call_notes,
    calls,
    contact_oppositions,
    customer_consents,
    customer_numbers,
    customers,
)

log = structlog.get_logger("acd.storage")


@dataclass(frozen=True, slots=True)
class ForgetResult:
    """What ``forget`` did: the customer erased, and rows changed per step."""

    customer_id: str | None
    pseudonym: str
    rows: dict[str, int] = field(default_factory=dict)


ForgetStep = Callable[[AsyncConnection, str | None, Sequence[str], str], Awaitable[int]]
"""``(connection, customer_id or None, numbers, pseudonym) -> rows changed``, in one transaction."""

_FORGET_STEPS: dict[str, ForgetStep] = {}


def register_forget_step(name: str, step: ForgetStep) -> None:
    """Add what ``forget`` must also erase or pseudonymise (one name per feature)."""
    _FORGET_STEPS[name] = step


def forget_steps() -> dict[str, ForgetStep]:
    """The registered steps, in registration order."""
    return dict(_FORGET_STEPS)


RetentionStep = Callable[[AsyncConnection, float], Awaitable[int]]
"""``(connection, cutoff epoch s) -> rows deleted`` for one kind of personal data."""

_RETENTION_STEPS: dict[str, RetentionStep] = {}


def register_retention_step(kind: str, step: RetentionStep) -> None:
    """Add a kind of personal data ``acd db purge`` deletes after ``[retention] <kind>_days``."""
    _RETENTION_STEPS[kind] = step


async def purge_personal_data(
    db: AsyncEngine, days: Mapping[str, float | None], *, now: float
) -> dict[str, int]:
    """Delete each kind's data older than its number of days (None: kept), one transaction.

    Kinds without a registered step (``recordings`` until that feature exists) are skipped.
    """
    deleted: dict[str, int] = {}
    async with db.begin() as conn:
        for kind, step in _RETENTION_STEPS.items():
            limit = days.get(kind)
            if limit is None:
                continue
            deleted[kind] = await step(conn, now - limit * 86_400.0)
    log.info("personal_data_purged", rows=deleted)
    return deleted


async def _purge_notes(conn: AsyncConnection, cutoff: float) -> int:
    result = await conn.execute(sa.delete(call_notes).where(call_notes.c.at < cutoff))
    return result.rowcount


async def _purge_inactive_customers(conn: AsyncConnection, cutoff: float) -> int:
    idle = sa.select(customers.c.customer_id).where(customers.c.last_activity_at < cutoff)
    for table in (customer_numbers, customer_consents, call_notes):
        await conn.execute(sa.delete(table).where(table.c.customer_id.in_(idle)))
    result = await conn.execute(sa.delete(customers).where(customers.c.last_activity_at < cutoff))
    return result.rowcount


register_retention_step("notes", _purge_notes)
register_retention_step("inactive_customers", _purge_inactive_customers)


def _customer_row(customer: Customer, at: float) -> dict[str, Any]:
    return {
        "customer_id": customer.customer_id,
        "name": customer.name,
        "kind": customer.kind.value,
        "segment": customer.segment,
        "vip_level": customer.vip_level,
        "language": customer.language,
        "preferred_agent": customer.preferred_agent,
        "region": customer.region,
        "attributes": dict(customer.attributes),
        "created_at": at,
        "updated_at": at,
        "last_activity_at": at,
    }


def _customer_from(
    row: sa.Row[Any], numbers: Sequence[str], consents: Sequence[Consent]
) -> Customer:
    return Customer(
        customer_id=row.customer_id,
        name=row.name,
        kind=CustomerKind(row.kind),
        segment=row.segment,
        vip_level=row.vip_level,
        language=row.language,
        preferred_agent=row.preferred_agent,
        region=row.region,
        numbers=tuple(numbers),
        attributes=dict(row.attributes or {}),
        consents=tuple(consents),
    )


def _consent_from(row: sa.Row[Any]) -> Consent:
    return Consent(
        purpose=row.purpose,
        legal_basis=LegalBasis(row.legal_basis),
        given_at=row.given_at,
        withdrawn_at=row.withdrawn_at,
        collected_by=row.collected_by,
        proof_ref=row.proof_ref,
    )


class CustomerStore:
    """Customers in acd's database (SQLite or PostgreSQL). ``close`` disposes of the engine."""

    def __init__(self, url: str, *, engine: AsyncEngine | None = None) -> None:
        self.engine = engine or create_engine(url)

    async def close(self) -> None:
        await self.engine.dispose()

    async def load_all(self) -> list[Customer]:
        """Every customer with numbers and consents (the daemon's index at start)."""
        async with self.engine.connect() as conn:
            return await self._read(conn, None)

    async def get(self, customer_id: str) -> Customer | None:
        async with self.engine.connect() as conn:
            found = await self._read(conn, [customer_id])
        return found[0] if found else None

    async def get_many(self, ids: Iterable[str]) -> list[Customer]:
        """The customers of ``ids`` that exist (a campaign's contacts), read 500 at a time."""
        wanted = sorted(set(ids))
        found: list[Customer] = []
        async with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                found += await self._read(conn, wanted[start : start + 500])
        return found

    async def by_number(self, number: str) -> Customer | None:
        async with self.engine.connect() as conn:
            owner = await conn.scalar(
                sa.select(customer_numbers.c.customer_id).where(customer_numbers.c.number == number)
            )
            if owner is None:
                return None
            found = await self._read(conn, [owner])
        return found[0] if found else None

    async def owners(self, numbers: Iterable[str]) -> dict[str, str]:
        """Number -> customer id, for those of ``numbers`` someone holds."""
        wanted = list(set(numbers))
        result: dict[str, str] = {}
        async with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                rows = await conn.execute(
                    sa.select(customer_numbers.c.number, customer_numbers.c.customer_id).where(
                        customer_numbers.c.number.in_(wanted[start : start + 500])
                    )
                )
                result.update({row.number: row.customer_id for row in rows})
        return result

    async def _read(self, conn: AsyncConnection, ids: Sequence[str] | None) -> list[Customer]:
        query = sa.select(customers).order_by(customers.c.customer_id)
        numbers_q = sa.select(customer_numbers).order_by(
            customer_numbers.c.customer_id, customer_numbers.c.position
        )
        consents_q = sa.select(customer_consents).order_by(customer_consents.c.given_at)
        if ids is not None:
            query = query.where(customers.c.customer_id.in_(ids))
            numbers_q = numbers_q.where(customer_numbers.c.customer_id.in_(ids))
            consents_q = consents_q.where(customer_consents.c.customer_id.in_(ids))
        numbers: dict[str, list[str]] = {}
        for row in await conn.execute(numbers_q):
            numbers.setdefault(row.customer_id, []).append(row.number)
        consents: dict[str, list[Consent]] = {}
        for row in await conn.execute(consents_q):
            consents.setdefault(row.customer_id, []).append(_consent_from(row))
        return [
            _customer_from(row, numbers.get(row.customer_id, ()), consents.get(row.customer_id, ()))
            for row in await conn.execute(query)
        ]

    async def save(self, customer: Customer, *, at: float) -> None:
        """Create or replace a customer (numbers and consents included), in one transaction."""
        await self.save_many([customer], at=at)

    async def save_many(self, batch: Sequence[Customer], *, at: float) -> None:
        """Create or replace customers in one transaction; ``NumberTakenError`` changes nothing."""
        if not batch:
            return
        ids = [c.customer_id for c in batch]
        async with self.engine.begin() as conn:
            taken = await conn.execute(
                sa.select(customer_numbers.c.number, customer_numbers.c.customer_id).where(
                    customer_numbers.c.number.in_([n for c in batch for n in c.numbers])
                )
            )
            mine = {n: c.customer_id for c in batch for n in c.numbers}
            for row in taken:
                if mine[row.number] != row.customer_id:
                    raise NumberTakenError(row.number, row.customer_id)
            existing = {
                row.customer_id: row.created_at
                for row in await conn.execute(
                    sa.select(customers.c.customer_id, customers.c.created_at).where(
                        customers.c.customer_id.in_(ids)
                    )
                )
            }
            await conn.execute(
                sa.delete(customer_numbers).where(customer_numbers.c.customer_id.in_(ids))
            )
            await conn.execute(
                sa.delete(customer_consents).where(customer_consents.c.customer_id.in_(ids))
            )
            await conn.execute(sa.delete(customers).where(customers.c.customer_id.in_(ids)))
            rows: list[dict[str, Any]] = []
            for customer in batch:
                values = _customer_row(customer, at)
                values["created_at"] = existing.get(customer.customer_id, at)
                rows.append(values)
            await conn.execute(sa.insert(customers), rows)
            number_rows = [
                {"number": n, "customer_id": c.customer_id, "position": i}
                for c in batch
                for i, n in enumerate(c.numbers)
            ]
            if number_rows:
                await conn.execute(sa.insert(customer_numbers), number_rows)
            consent_rows = [
                {
                    "customer_id": c.customer_id,
                    "purpose": k.purpose,
                    "given_at": k.given_at,
                    "legal_basis": k.legal_basis.value,
                    "withdrawn_at": k.withdrawn_at,
                    "collected_by": k.collected_by,
                    "proof_ref": k.proof_ref,
                }
                for c in batch
                for k in c.consents
            ]
            if consent_rows:
                await conn.execute(sa.insert(customer_consents), consent_rows)

    async def touch(self, customer_id: str, at: float) -> None:
        """The customer called (or was called): their retention clock starts again."""
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.update(customers)
                .where(customers.c.customer_id == customer_id)
                .values(last_activity_at=at)
            )

    async def recent_calls(self, numbers: Sequence[str], limit: int = 10) -> list[CustomerCall]:
        """The latest calls from any of ``numbers``, newest first, with the advisors' notes."""
        if not numbers:
            return []
        query = (
            sa.select(
                calls.c.call_id,
                calls.c.caller_number,
                calls.c.offered_at,
                calls.c.queue,
                calls.c.outcome,
                calls.c.agent_id,
                calls.c.disposition,
                calls.c.wait_s,
                calls.c.talk_s,
                call_notes.c.text,
            )
            .select_from(
                calls.outerjoin(
                    call_notes,
                    sa.and_(
                        call_notes.c.call_id == calls.c.call_id,
                        call_notes.c.agent_id == calls.c.agent_id,
                    ),
                )
            )
            .where(calls.c.caller_number.in_(list(numbers)))
            .order_by(calls.c.offered_at.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = await conn.execute(query)
            return [
                CustomerCall(
                    call_id=row.call_id,
                    number=row.caller_number,
                    offered_at=row.offered_at,
                    queue=row.queue,
                    outcome=row.outcome,
                    agent_id=row.agent_id,
                    disposition=row.disposition,
                    wait_s=row.wait_s,
                    talk_s=row.talk_s,
                    note=row.text,
                )
                for row in rows
            ]

    async def save_note(
        self, *, call_id: str, agent_id: str, customer_id: str | None, text: str, at: float
    ) -> None:
        """The advisor's note on a call (replaces their earlier note on the same call)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.delete(call_notes).where(
                    call_notes.c.call_id == call_id, call_notes.c.agent_id == agent_id
                )
            )
            await conn.execute(
                sa.insert(call_notes).values(
                    call_id=call_id, agent_id=agent_id, customer_id=customer_id, at=at, text=text
                )
            )

    async def last_agents(self, since: float) -> dict[str, tuple[str, float]]:
        """Customer id -> (advisor who last answered them, when), for calls answered since."""
        query = (
            sa.select(customer_numbers.c.customer_id, calls.c.agent_id, calls.c.answered_at)
            .select_from(
                calls.join(customer_numbers, calls.c.caller_number == customer_numbers.c.number)
            )
            .where(calls.c.answered_at >= since, calls.c.agent_id.is_not(None))
            .order_by(calls.c.answered_at)
        )
        async with self.engine.connect() as conn:
            return {
                row.customer_id: (row.agent_id, row.answered_at)
                for row in await conn.execute(query)
            }

    async def call_agent(self, call_id: str) -> str | None:
        """The advisor who took a recorded call (None: unknown call, or nobody answered)."""
        async with self.engine.connect() as conn:
            agent: str | None = await conn.scalar(
                sa.select(calls.c.agent_id).where(calls.c.call_id == call_id)
            )
        return agent

    async def oppositions(self, numbers: Iterable[str]) -> list[Opposition]:
        """Oppositions recorded for any of ``numbers``."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(contact_oppositions).where(
                    contact_oppositions.c.number.in_(list(set(numbers)))
                )
            )
            return [
                Opposition(
                    number=row.number,
                    since=row.since,
                    until=row.until,
                    source=row.source,
                    purpose=row.purpose or None,
                )
                for row in rows
            ]

    async def add_opposition(self, opposition: Opposition) -> None:
        """Record that a number must not be called (replaces the same number and purpose)."""
        purpose = opposition.purpose or ""
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.delete(contact_oppositions).where(
                    contact_oppositions.c.number == opposition.number,
                    contact_oppositions.c.purpose == purpose,
                )
            )
            await conn.execute(
                sa.insert(contact_oppositions).values(
                    number=opposition.number,
                    purpose=purpose,
                    since=opposition.since,
                    until=opposition.until,
                    source=opposition.source,
                )
            )

    async def forget(self, number: str) -> ForgetResult:
        """Erase the customer holding ``number`` and pseudonymise their numbers everywhere.

        Without a customer, only ``number`` itself is pseudonymised. Oppositions are kept: erasing
        one would make a person who asked not to be called callable again.
        """
        pseudonym = f"forgotten-{secrets.token_hex(6)}"
        async with self.engine.begin() as conn:
            owner = await conn.scalar(
                sa.select(customer_numbers.c.customer_id).where(customer_numbers.c.number == number)
            )
            numbers = [number]
            if owner is not None:
                numbers = list(
                    (
                        await conn.scalars(
                            sa.select(customer_numbers.c.number).where(
                                customer_numbers.c.customer_id == owner
                            )
                        )
                    ).all()
                )
            rows: dict[str, int] = {}
            for name, step in _FORGET_STEPS.items():
                rows[name] = await step(conn, owner, numbers, pseudonym)
        log.info("customer_forgotten", customer_id=owner, numbers=len(numbers), rows=rows)
        return ForgetResult(customer_id=owner, pseudonym=pseudonym, rows=rows)


async def _forget_customer(
    conn: AsyncConnection, customer_id: str | None, numbers: Sequence[str], pseudonym: str
) -> int:
    if customer_id is None:
        return 0
    changed = 0
    for table in (customer_numbers, customer_consents, customers):
        result = await conn.execute(sa.delete(table).where(table.c.customer_id == customer_id))
        changed += result.rowcount
    return changed


async def _forget_notes(
    conn: AsyncConnection, customer_id: str | None, numbers: Sequence[str], pseudonym: str
) -> int:
    their_calls = sa.select(calls.c.call_id).where(calls.c.caller_number.in_(list(numbers)))
    condition: sa.ColumnElement[bool] = call_notes.c.call_id.in_(their_calls)
    if customer_id is not None:
        condition = sa.or_(condition, call_notes.c.customer_id == customer_id)
    result = await conn.execute(sa.delete(call_notes).where(condition))
    return result.rowcount


async def _pseudonymise_call_events(
    conn: AsyncConnection, customer_id: str | None, numbers: Sequence[str], pseudonym: str
) -> int:
    # The "offered" event repeats the caller's number and name as received.
    their_calls = sa.select(calls.c.call_id).where(calls.c.caller_number.in_(list(numbers)))
    rows = await conn.execute(
        sa.select(call_events.c.call_id, call_events.c.seq, call_events.c.data).where(
            call_events.c.call_id.in_(their_calls)
        )
    )
    changed = 0
    for row in rows.all():
        data = dict(row.data or {})
        if "caller_number" not in data and "caller_name" not in data:
            continue
        data.update(caller_number=pseudonym, caller_name="")
        await conn.execute(
            sa.update(call_events)
            .where(call_events.c.call_id == row.call_id, call_events.c.seq == row.seq)
            .values(data=data)
        )
        changed += 1
    return changed


async def _pseudonymise_calls(
    conn: AsyncConnection, customer_id: str | None, numbers: Sequence[str], pseudonym: str
) -> int:
    # The calls stay (reports need them); who made them does not. One pseudonym per person keeps
    # repeat-call counts right.
    result = await conn.execute(
        sa.update(calls)
        .where(calls.c.caller_number.in_(list(numbers)))
        .values(caller_number=pseudonym, caller_name="")
    )
    return result.rowcount


register_forget_step("customer", _forget_customer)
register_forget_step("call_notes", _forget_notes)
register_forget_step("call_events", _pseudonymise_call_events)
register_forget_step("calls", _pseudonymise_calls)
