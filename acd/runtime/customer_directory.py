"""The customer directory in memory: who is calling, known before the call enters the engine.

``CustomerIndex`` maps each E.164 number to its customer (dictionary lookups: microseconds). It is
loaded from the database at start and kept current by ``CustomerDirectory``, which writes each
change through to its ``CustomerRepository`` first, then to the index.

``ArrivalDesk`` sits between the call side (FastAGI) and the dispatcher: every ``CallArrived`` it
passes on carries the customer's profile in ``data`` (``Customer.call_data``), and a customer whose
segment is mapped to a queue (``[customers] segment_queues``) enters that queue from the start: the
engine never moves a call it has already queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any, Protocol

import structlog

from acd.core.commands import CallCompleted, Command
from acd.core.customers import (
    DATA_CUSTOMER_ID,
    DATA_LANGUAGE,
    DATA_LAST_AGENT,
    DATA_SEGMENT,
    Customer,
    CustomerCall,
    NumberTakenError,
)
from acd.core.events import CallArrived, CallerIdentified, Event
from acd.runtime.phone_numbers import e164_or_none
from acd.runtime.ports import EventInbox

log = structlog.get_logger("acd.runtime.customers")


class CustomerRepository(Protocol):
    """Where customers are kept (``acd.storage.customers.CustomerStore``)."""

    async def load_all(self) -> list[Customer]: ...

    async def save(self, customer: Customer, *, at: float) -> None: ...

    async def recent_calls(self, numbers: Sequence[str], limit: int = 10) -> list[CustomerCall]: ...

    async def last_agents(self, since: float) -> dict[str, tuple[str, float]]: ...


class CustomerIndex:
    """Number -> customer and id -> customer, in memory."""

    def __init__(self, customers: Iterable[Customer] = ()) -> None:
        self._by_id: dict[str, Customer] = {}
        self._by_number: dict[str, Customer] = {}
        self.replace_all(customers)

    def __len__(self) -> int:
        return len(self._by_id)

    def replace_all(self, customers: Iterable[Customer]) -> None:
        """Forget everything and index ``customers`` (start-up, reload)."""
        self._by_id.clear()
        self._by_number.clear()
        for customer in customers:
            self.put(customer)

    def put(self, customer: Customer) -> None:
        """Add or replace a customer; numbers it no longer has stop pointing at it."""
        self.remove(customer.customer_id)
        self._by_id[customer.customer_id] = customer
        for number in customer.numbers:
            self._by_number[number] = customer

    def remove(self, customer_id: str) -> None:
        old = self._by_id.pop(customer_id, None)
        if old is not None:
            for number in old.numbers:
                if self._by_number.get(number) is old:
                    del self._by_number[number]

    def by_number(self, number: str) -> Customer | None:
        """The customer holding this E.164 number."""
        return self._by_number.get(number)

    def by_id(self, customer_id: str) -> Customer | None:
        return self._by_id.get(customer_id)


class CustomerDirectory:
    """The index, kept in step with the repository (write through, then index)."""

    def __init__(self, repository: CustomerRepository | None, country: str) -> None:
        self.repository = repository
        self.country = country
        self.index = CustomerIndex()
        # customer id -> (advisor who last answered them, when): preferred-advisor routing.
        self.last_agents: dict[str, tuple[str, float]] = {}

    async def load(self, *, last_agents_since: float | None = None) -> int:
        """(Re)load every customer (and who last answered them) from the repository."""
        if self.repository is None:
            return 0
        customers = await self.repository.load_all()
        self.index.replace_all(customers)
        if last_agents_since is not None:
            self.last_agents = await self.repository.last_agents(last_agents_since)
        log.info("customer_directory_loaded", customers=len(customers))
        return len(customers)

    async def save(self, customer: Customer, *, at: float) -> None:
        """Store a customer, then serve it to the next call.

        Raises ``NumberTakenError`` when another customer holds one of its numbers.
        """
        for number in customer.numbers:
            owner = self.index.by_number(number)
            if owner is not None and owner.customer_id != customer.customer_id:
                raise NumberTakenError(number, owner.customer_id)
        if self.repository is not None:
            await self.repository.save(customer, at=at)
        self.index.put(customer)

    def forget(self, customer_id: str) -> None:
        """Drop a customer from memory (the repository erased them)."""
        self.index.remove(customer_id)
        self.last_agents.pop(customer_id, None)

    def served(self, customer_id: str, agent_id: str, at: float) -> None:
        """An advisor answered this customer (their call is over)."""
        self.last_agents[customer_id] = (agent_id, at)

    async def recent_calls(self, customer: Customer, limit: int) -> list[CustomerCall]:
        """The customer's latest calls, newest first (none without a repository)."""
        if self.repository is None or limit <= 0:
            return []
        return await self.repository.recent_calls(customer.numbers, limit)

    def by_id(self, customer_id: str) -> Customer | None:
        return self.index.by_id(customer_id)

    def language_of(self, caller_number: str) -> str | None:
        """The caller's preferred language, if they are a customer who has one."""
        customer = self.lookup(caller_number)
        return customer.language or None if customer is not None else None

    def lookup(self, caller_number: str) -> Customer | None:
        """The customer calling from ``caller_number`` as Asterisk gave it (any format)."""
        number = e164_or_none(caller_number, self.country) if caller_number else None
        return self.index.by_number(number) if number is not None else None


class CallerLookup(Protocol):
    """An external source of caller data (``acd.runtime.crm.CrmLookup``); never raises."""

    async def lookup(self, e164: str) -> dict[str, str] | None: ...


class CallerProfiles:
    """Each call's caller data from arrival to completion (after wrap-up): the screen pop's source.

    A ``LiveView``: it sees each ``CallArrived`` the engine accepted (final queue, directory data)
    and each ``CallCompleted``; a late CRM answer is merged in with ``update``.
    """

    def __init__(
        self, on_completed: Callable[[str, str | None, float], None] | None = None
    ) -> None:
        self._data: dict[str, dict[str, str]] = {}
        # How many times a call's profile changed after arrival (a page re-reads it on change).
        self._revisions: dict[str, int] = {}
        self._on_completed = on_completed

    def __len__(self) -> int:
        return len(self._data)

    def get(self, call_id: str) -> Mapping[str, str] | None:
        return self._data.get(call_id)

    def revision(self, call_id: str) -> int:
        """0 at arrival, one more at each ``update`` (a late CRM answer)."""
        return self._revisions.get(call_id, 0)

    def update(self, call_id: str, data: Mapping[str, str]) -> bool:
        """Merge ``data`` into a call still in the ACD; False if it has already gone."""
        profile = self._data.get(call_id)
        if profile is None:
            return False
        profile.update(data)
        self._revisions[call_id] = self._revisions.get(call_id, 0) + 1
        return True

    def observe(self, event: Event, commands: Sequence[Command]) -> None:
        if isinstance(event, CallArrived):
            self._data[event.call_id] = dict(event.data)
        for command in commands:
            if isinstance(command, CallCompleted):
                profile = self._data.pop(command.call_id, None)
                self._revisions.pop(command.call_id, None)
                customer_id = profile.get(DATA_CUSTOMER_ID) if profile else None
                if customer_id and self._on_completed is not None:
                    self._on_completed(customer_id, command.agent_id, command.ended_at)


class ArrivalDesk:
    """The call side's ``EventInbox``: each ``CallArrived`` leaves with its customer attached.

    With a CRM (``crm``): by default (``crm_wait_s`` 0) the call is posted at once and the CRM's
    answer, when it comes, fills the call's profile (the screen pop) and goes to the engine as
    ``CallerIdentified`` (a waiting VIP moves up). With ``crm_wait_s`` > 0 the
    arrival waits up to that long for the answer, which then also chooses the segment's queue; the
    call's other events (a hang-up meanwhile) wait behind it, in order.
    """

    def __init__(
        self,
        sink: EventInbox,
        directory: CustomerDirectory,
        *,
        segment_queues: Mapping[str, str] | None = None,
        last_agent_days: float = 0.0,
        crm: CallerLookup | None = None,
        crm_wait_s: float = 0.0,
        profiles: CallerProfiles | None = None,
        on_language: Callable[[str, str], None] | None = None,
    ) -> None:
        self._sink = sink
        # (call_id, language): a CRM answer named the caller's language (the call side SETs it).
        self.on_language = on_language
        self.directory = directory
        self.segment_queues = dict(segment_queues or {})
        self.last_agent_days = last_agent_days
        self.crm = crm
        self.crm_wait_s = crm_wait_s
        self.profiles = profiles
        self._held: dict[str, list[Event]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def now(self) -> float:
        return self._sink.now()

    def identify(
        self, event: CallArrived, crm_data: Mapping[str, str] | None = None
    ) -> CallArrived:
        """The event with the caller's profile in ``data`` and, if mapped, the segment's queue.

        The CRM's answer wins for the fields it returns; the dialplan's own data wins over both.
        """
        customer = self.directory.lookup(event.caller_number)
        if customer is None and not crm_data:
            return event
        data = {**(customer.call_data() if customer else {}), **(crm_data or {}), **event.data}
        self._add_last_agent(data, event.at)
        segment = data.get(DATA_SEGMENT, "")
        queue = self.segment_queues.get(segment, event.queue) if segment else event.queue
        if queue != event.queue:
            log.info(
                "call_routed_by_segment",
                call_id=event.call_id,
                segment=segment,
                queue=queue,
                dialled_queue=event.queue,
            )
        return dataclasses.replace(event, data=data, queue=queue)

    def post(self, event: Event) -> None:
        if isinstance(event, CallArrived):
            e164 = self._crm_number(event)
            if e164 is not None and self.crm_wait_s > 0:
                self._held[event.call_id] = []
                self._spawn(self._arrive_after_crm(event, e164))
                return
            self._sink.post(self.identify(event))
            if e164 is not None:
                self._spawn(self._apply_late(event.call_id, e164, self._lookup(e164)))
            return
        call_id = getattr(event, "call_id", None)
        held = self._held.get(call_id) if isinstance(call_id, str) else None
        if held is not None:
            held.append(event)
            return
        self._sink.post(event)

    async def submit(self, event: Event) -> list[Command]:
        if isinstance(event, CallArrived):
            event = self.identify(event)
        return await self._sink.submit(event)

    async def close(self) -> None:
        """Stop waiting for CRM answers (daemon stop)."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _add_last_agent(self, data: dict[str, str], at: float) -> None:
        """The advisor who last answered this customer within ``last_agent_days``, by the id the
        directory or the CRM gave (a CRM-only customer too: known since the daemon started)."""
        customer_id = data.get(DATA_CUSTOMER_ID)
        last = self.directory.last_agents.get(customer_id) if customer_id else None
        if last is not None and at - last[1] <= self.last_agent_days * 86_400.0:
            data.setdefault(DATA_LAST_AGENT, last[0])

    def _tell_language(self, call_id: str, data: Mapping[str, str]) -> None:
        language = data.get(DATA_LANGUAGE)
        if language and self.on_language is not None:
            self.on_language(call_id, language)

    def _crm_number(self, event: CallArrived) -> str | None:
        if self.crm is None or not event.caller_number:
            return None
        return e164_or_none(event.caller_number, self.directory.country)

    def _lookup(self, e164: str) -> asyncio.Task[dict[str, str] | None]:
        assert self.crm is not None
        return asyncio.get_running_loop().create_task(self.crm.lookup(e164))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _arrive_after_crm(self, event: CallArrived, e164: str) -> None:
        lookup = self._lookup(e164)
        crm_data: dict[str, str] | None = None
        try:
            done, _ = await asyncio.wait({lookup}, timeout=self.crm_wait_s)
            if done:
                crm_data = lookup.result()
        finally:
            # Whatever happened, the call enters, then what happened to it meanwhile.
            held = self._held.pop(event.call_id, [])
            self._sink.post(self.identify(event, crm_data))
            for later in held:
                self._sink.post(later)
        if crm_data:
            self._tell_language(event.call_id, crm_data)
        if not lookup.done():
            await self._apply_late(event.call_id, e164, lookup)

    async def _apply_late(
        self, call_id: str, e164: str, lookup: asyncio.Task[dict[str, str] | None]
    ) -> None:
        answer = await lookup
        if not answer:
            return
        data = dict(answer)
        self._add_last_agent(data, self._sink.now())
        applied = self.profiles is not None and self.profiles.update(call_id, data)
        log.info("crm_answer_applied", call_id=call_id, fields=sorted(data), applied=applied)
        self._tell_language(call_id, data)
        # The engine re-applies a VIP priority to a caller still waiting (never re-rings).
        self._sink.post(CallerIdentified(at=self._sink.now(), call_id=call_id, data=data))
