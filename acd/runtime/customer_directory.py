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

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import structlog

from acd.core.commands import Command
from acd.core.customers import Customer, CustomerCall, NumberTakenError
from acd.core.events import CallArrived, Event
from acd.runtime.phone_numbers import e164_or_none
from acd.runtime.ports import EventInbox

log = structlog.get_logger("acd.runtime.customers")


class CustomerRepository(Protocol):
    """Where customers are kept (``acd.storage.customers.CustomerStore``)."""

    async def load_all(self) -> list[Customer]: ...

    async def save(self, customer: Customer, *, at: float) -> None: ...

    async def recent_calls(self, numbers: Sequence[str], limit: int = 10) -> list[CustomerCall]: ...


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

    async def load(self) -> int:
        """(Re)load every customer from the repository; returns how many."""
        if self.repository is None:
            return 0
        customers = await self.repository.load_all()
        self.index.replace_all(customers)
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

    async def recent_calls(self, customer: Customer, limit: int) -> list[CustomerCall]:
        """The customer's latest calls, newest first (none without a repository)."""
        if self.repository is None or limit <= 0:
            return []
        return await self.repository.recent_calls(customer.numbers, limit)

    def by_id(self, customer_id: str) -> Customer | None:
        return self.index.by_id(customer_id)

    def lookup(self, caller_number: str) -> Customer | None:
        """The customer calling from ``caller_number`` as Asterisk gave it (any format)."""
        number = e164_or_none(caller_number, self.country) if caller_number else None
        return self.index.by_number(number) if number is not None else None


class ArrivalDesk:
    """The call side's ``EventInbox``: each ``CallArrived`` leaves with its customer attached."""

    def __init__(
        self,
        sink: EventInbox,
        directory: CustomerDirectory,
        *,
        segment_queues: Mapping[str, str] | None = None,
    ) -> None:
        self._sink = sink
        self.directory = directory
        self.segment_queues = dict(segment_queues or {})

    def now(self) -> float:
        return self._sink.now()

    def identify(self, event: CallArrived) -> CallArrived:
        """The event with the caller's profile in ``data`` and, if mapped, the segment's queue."""
        customer = self.directory.lookup(event.caller_number)
        if customer is None:
            return event
        data = {**customer.call_data(), **event.data}
        queue = self.segment_queues.get(customer.segment, event.queue)
        if queue != event.queue:
            log.info(
                "call_routed_by_segment",
                call_id=event.call_id,
                segment=customer.segment,
                queue=queue,
                dialled_queue=event.queue,
            )
        return dataclasses.replace(event, data=data, queue=queue)

    def post(self, event: Event) -> None:
        if isinstance(event, CallArrived):
            event = self.identify(event)
        self._sink.post(event)

    async def submit(self, event: Event) -> list[Command]:
        if isinstance(event, CallArrived):
            event = self.identify(event)
        return await self._sink.submit(event)
