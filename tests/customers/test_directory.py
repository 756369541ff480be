"""The in-memory directory: lookups by any number format, kept current, attached to arrivals."""

from __future__ import annotations

import pytest

from acd.core.commands import Command
from acd.core.customers import Customer, NumberTakenError
from acd.core.events import CallArrived, CallerHungUp, Event
from acd.runtime.customer_directory import ArrivalDesk, CustomerDirectory
from acd.storage.customers import CustomerStore

CAMILLE = Customer(
    customer_id="c001",
    name="Camille Martin",
    segment="premium",
    vip_level=2,
    language="en",
    preferred_agent="alice",
    numbers=("+33199000001",),
)


class Inbox:
    """Records what the desk passes on, like the dispatcher's inbox."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def now(self) -> float:
        return 50.0

    def post(self, event: Event) -> None:
        self.events.append(event)

    async def submit(self, event: Event) -> list[Command]:
        self.events.append(event)
        return []


def arrival(number: str, queue: str = "support") -> CallArrived:
    return CallArrived(
        at=1.0, call_id="k1", queue=queue, caller_number=number, data={"reason": "billing"}
    )


async def test_a_known_caller_arrives_with_their_profile() -> None:
    """A national-format caller number finds the customer; the profile rides in the event."""
    directory = CustomerDirectory(None, "FR")
    await directory.save(CAMILLE, at=0.0)
    inbox = Inbox()
    desk = ArrivalDesk(inbox, directory)
    desk.post(arrival("0199000001"))
    [event] = inbox.events
    assert isinstance(event, CallArrived)
    assert event.queue == "support"
    assert dict(event.data) == {
        "reason": "billing",
        "customer_id": "c001",
        "customer_name": "Camille Martin",
        "customer_kind": "consumer",
        "segment": "premium",
        "vip": "2",
        "language": "en",
        "preferred_agent": "alice",
    }


async def test_unknown_callers_and_other_events_pass_unchanged() -> None:
    """An unknown or anonymous caller and every other event reach the engine as they were."""
    directory = CustomerDirectory(None, "FR")
    await directory.save(CAMILLE, at=0.0)
    inbox = Inbox()
    desk = ArrivalDesk(inbox, directory)
    for event in (
        arrival("0199000002"),
        arrival("anonymous"),
        arrival(""),
        CallerHungUp(at=2.0, call_id="k1"),
    ):
        desk.post(event)
        assert inbox.events[-1] is event


async def test_a_segment_mapped_to_a_queue_enters_that_queue() -> None:
    """`segment_queues` picks the queue before the call enters the engine."""
    directory = CustomerDirectory(None, "FR")
    await directory.save(CAMILLE, at=0.0)
    inbox = Inbox()
    desk = ArrivalDesk(inbox, directory, segment_queues={"premium": "sales"})
    await desk.submit(arrival("+33199000001"))
    desk.post(arrival("+33199000003"))
    assert [e.queue for e in inbox.events if isinstance(e, CallArrived)] == ["sales", "support"]


async def test_changes_are_served_to_the_next_call(sqlite_url: str) -> None:
    """Saved, renumbered and forgotten customers are seen at once; the store holds the same."""
    store = CustomerStore(sqlite_url)
    try:
        directory = CustomerDirectory(store, "FR")
        await directory.save(CAMILLE, at=0.0)
        assert directory.lookup("+33 1 99 00 00 01") == CAMILLE
        renumbered = Customer(customer_id="c001", name="Camille", numbers=("+33199000009",))
        await directory.save(renumbered, at=1.0)
        assert directory.lookup("0199000001") is None
        assert directory.lookup("0199000009") == renumbered
        fresh = CustomerDirectory(store, "FR")
        assert await fresh.load() == 1
        assert fresh.lookup("0199000009") == renumbered
        directory.forget("c001")
        assert directory.lookup("0199000009") is None
    finally:
        await store.close()


async def test_a_number_held_by_another_customer_is_refused_before_writing() -> None:
    """The index refuses a number another customer holds, naming both."""
    directory = CustomerDirectory(None, "FR")
    await directory.save(CAMILLE, at=0.0)
    with pytest.raises(NumberTakenError, match="c001"):
        await directory.save(Customer(customer_id="c2", numbers=("+33199000001",)), at=1.0)
    assert directory.by_id("c2") is None


async def test_the_last_advisor_rides_with_the_call_within_the_look_back() -> None:
    """Who last answered the customer is in the call's data, unless it was too long ago."""
    directory = CustomerDirectory(None, "FR")
    await directory.save(CAMILLE, at=0.0)
    directory.served("c001", "bob", at=1.0)
    inbox = Inbox()
    desk = ArrivalDesk(inbox, directory, last_agent_days=1.0)
    desk.post(arrival("0199000001"))
    late = CallArrived(at=3 * 86_400.0, call_id="k2", queue="support", caller_number="0199000001")
    desk.post(late)
    first, second = inbox.events
    assert isinstance(first, CallArrived)
    assert isinstance(second, CallArrived)
    assert first.data["last_agent"] == "bob"
    assert "last_agent" not in second.data


async def test_the_last_advisors_are_loaded_from_the_call_records(sqlite_url: str) -> None:
    """At start, each customer's last answering advisor since the look-back comes from calls."""
    from tests.customers.calls import call_row, insert_calls

    store = CustomerStore(sqlite_url)
    try:
        await store.save(CAMILLE, at=0.0)
        await insert_calls(
            sqlite_url,
            [
                call_row("k1", "+33199000001", 1000.0, agent_id="alice"),
                call_row("k2", "+33199000001", 2000.0, agent_id="bob"),
                call_row("k3", "+33199000001", 3000.0, agent_id=None, answered_at=None),
            ],
        )
        directory = CustomerDirectory(store, "FR")
        await directory.load(last_agents_since=500.0)
        assert directory.last_agents == {"c001": ("bob", 2008.0)}
    finally:
        await store.close()
