"""The CRM hook against a real local HTTP server: answers, timeouts, failures, breaker, cache."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from acd.core.commands import Command
from acd.core.events import CallArrived, CallerHungUp, CallerIdentified, Event
from acd.runtime.crm import CrmAnswerError, CrmLookup, CrmOptions, crm_data
from acd.runtime.customer_directory import ArrivalDesk, CallerProfiles, CustomerDirectory
from tests.customers.crm_server import FakeCrm, Reply, fake_crm
from tests.deadlines import until

CAMILLE = "+33199000001"


class Clock:
    """A clock the test moves (the breaker's and cache's notion of now)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def crm() -> AsyncIterator[FakeCrm]:
    async with fake_crm() as server:
        yield server


def hook(server: FakeCrm, clock: Clock | None = None, **options: Any) -> CrmLookup:
    return CrmLookup(
        CrmOptions(url_template=server.template, token="s3cret", **options),
        clock=clock or Clock(),
    )


async def test_an_answer_becomes_call_data_and_is_cached(crm: FakeCrm) -> None:
    """The CRM's fields become call data; the same number is not asked again within cache_s."""
    crm.replies[CAMILLE] = Reply.customer(
        id="CRM-77", name="Camille Martin", vip=3, segment="premium", language="en", extra=[1]
    )
    clock = Clock()
    lookup = hook(crm, clock, cache_s=60.0)
    try:
        expected = {
            "customer_id": "CRM-77",
            "customer_name": "Camille Martin",
            "vip": "3",
            "segment": "premium",
            "language": "en",
        }
        assert await lookup.lookup(CAMILLE) == expected
        assert await lookup.lookup(CAMILLE) == expected
        assert crm.asked == [CAMILLE]
        assert crm.headers[0]["authorization"] == "Bearer s3cret"
        clock.now += 61
        await lookup.lookup(CAMILLE)
        assert crm.asked == [CAMILLE, CAMILLE]
    finally:
        await lookup.close()


async def test_not_found_is_not_a_failure(crm: FakeCrm) -> None:
    """A 404 means "not a customer": None, no failure counted."""
    lookup = hook(crm)
    try:
        assert await lookup.lookup("+33199000099") is None
        assert (lookup.lookups, lookup.failures) == (1, 0)
    finally:
        await lookup.close()


async def test_a_slow_crm_costs_at_most_the_timeout(crm: FakeCrm) -> None:
    """A CRM that does not answer within timeout_s is a failure, and the lookup returns None."""
    crm.replies[CAMILLE] = Reply(body=b'{"name": "late"}', stall=True)
    lookup = hook(crm, timeout_s=0.2)
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await lookup.lookup(CAMILLE) is None
        # Generous bound for a loaded machine: far below "waits for the stalled server".
        assert loop.time() - started < 2.0
        assert lookup.failures == 1
    finally:
        await lookup.close()


@pytest.mark.parametrize(
    "reply",
    [
        Reply(status=500, body=b"oops"),
        Reply(body=b"<html>not json</html>"),
        Reply(body=b"[1, 2]"),
        Reply.customer(vip="gold"),
        Reply.customer(name="x" * 500),
    ],
)
async def test_errors_and_garbage_are_failures(crm: FakeCrm, reply: Reply) -> None:
    """Server errors, non-JSON, non-objects and wrong types fail without raising."""
    crm.replies[CAMILLE] = reply
    lookup = hook(crm)
    try:
        assert await lookup.lookup(CAMILLE) is None
        assert lookup.failures == 1
    finally:
        await lookup.close()


async def test_the_breaker_opens_after_failures_then_tries_again(crm: FakeCrm) -> None:
    """N failures in a row open the breaker (no requests), one trial after breaker_open_s."""
    crm.replies[CAMILLE] = Reply(status=503)
    clock = Clock()
    lookup = hook(crm, clock, breaker_failures=3, breaker_open_s=30.0, cache_s=0.0)
    try:
        for _ in range(3):
            assert await lookup.lookup(CAMILLE) is None
        assert lookup.breaker_open
        assert await lookup.lookup(CAMILLE) is None
        assert (len(crm.asked), lookup.skipped) == (3, 1)
        clock.now += 31
        assert not lookup.breaker_open
        assert await lookup.lookup(CAMILLE) is None  # the trial fails: open again at once
        assert lookup.breaker_open
        assert len(crm.asked) == 4
        clock.now += 31
        crm.replies[CAMILLE] = Reply.customer(name="Camille")
        assert await lookup.lookup(CAMILLE) == {"customer_name": "Camille"}
        assert not lookup.breaker_open
    finally:
        await lookup.close()


async def test_an_unreachable_crm_is_a_failure(crm: FakeCrm) -> None:
    """Nobody listening on the port: a failure, not an exception."""
    lookup = CrmLookup(CrmOptions(url_template="http://127.0.0.1:1/x?n={number}", timeout_s=1.0))
    try:
        assert await lookup.lookup(CAMILLE) is None
        assert lookup.failures == 1
    finally:
        await lookup.close()


def test_crm_data_validates_each_field() -> None:
    """Known fields are kept and checked; unknown ones ignored; bad kind or language refused."""
    assert crm_data({"customer_id": 42, "kind": "business", "vip": 0, "x": {}}) == {
        "customer_id": "42",
        "customer_kind": "business",
    }
    for bad in ({"kind": "vip"}, {"language": "french"}, {"vip": True}, {"name": "a\nb"}):
        with pytest.raises(CrmAnswerError):
            crm_data(bad)


class Inbox:
    """The dispatcher's inbox as the desk sees it; ``arrived`` is set on the first event."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.arrived = asyncio.Event()

    def now(self) -> float:
        return 0.0

    def post(self, event: Event) -> None:
        self.events.append(event)
        self.arrived.set()

    async def submit(self, event: Event) -> list[Command]:
        self.post(event)
        return []


def arrival() -> CallArrived:
    return CallArrived(at=1.0, call_id="k1", queue="support", caller_number="0199000001")


async def test_by_default_the_call_enters_at_once_and_the_answer_fills_the_profile(
    crm: FakeCrm,
) -> None:
    """wait 0: the call is posted before the CRM answers; the late answer reaches the profile."""
    crm.replies[CAMILLE] = Reply(body=b'{"name": "Camille", "vip": 2}', stall=True)
    inbox = Inbox()
    profiles = CallerProfiles()
    lookup = hook(crm, timeout_s=5.0)
    desk = ArrivalDesk(inbox, CustomerDirectory(None, "FR"), crm=lookup, profiles=profiles)
    try:
        desk.post(arrival())
        [event] = inbox.events
        assert isinstance(event, CallArrived)
        assert dict(event.data) == {}
        profiles.observe(event, [])
        await until(lambda: crm.asked)
        crm.release.set()
        await until(lambda: "vip" in (profiles.get("k1") or {}))
        assert profiles.get("k1") == {"customer_name": "Camille", "vip": "2"}
        await until(lambda: len(inbox.events) == 2)
        identified = inbox.events[1]
        assert isinstance(identified, CallerIdentified)
        assert (identified.call_id, identified.data["vip"]) == ("k1", "2")
    finally:
        await desk.close()
        await lookup.close()


async def test_a_centre_may_wait_for_the_answer_which_then_picks_the_queue(crm: FakeCrm) -> None:
    """wait > 0: the answer comes first and maps the queue; a hang-up meanwhile follows."""
    crm.replies[CAMILLE] = Reply.customer(name="Camille", segment="premium")
    inbox = Inbox()
    lookup = hook(crm, timeout_s=5.0)
    desk = ArrivalDesk(
        inbox,
        CustomerDirectory(None, "FR"),
        segment_queues={"premium": "vip"},
        crm=lookup,
        crm_wait_s=5.0,
    )
    try:
        desk.post(arrival())
        desk.post(CallerHungUp(at=2.0, call_id="k1"))
        assert inbox.events == []
        await until(lambda: len(inbox.events) == 2)
        entered, hung_up = inbox.events
        assert isinstance(entered, CallArrived)
        assert (entered.queue, entered.data["customer_name"]) == ("vip", "Camille")
        assert isinstance(hung_up, CallerHungUp)
    finally:
        await desk.close()
        await lookup.close()


async def test_waiting_is_bounded_by_wait_ms_even_if_the_crm_stalls(crm: FakeCrm) -> None:
    """A stalled CRM delays the call by wait_ms at most, then it enters with what is known."""
    crm.replies[CAMILLE] = Reply(stall=True)
    inbox = Inbox()
    lookup = hook(crm, timeout_s=5.0)
    desk = ArrivalDesk(inbox, CustomerDirectory(None, "FR"), crm=lookup, crm_wait_s=0.1)
    try:
        desk.post(arrival())
        await until(lambda: inbox.events)
        [entered] = inbox.events
        assert isinstance(entered, CallArrived)
        assert entered.queue == "support"
        assert not crm.release.is_set()
    finally:
        await desk.close()
        await lookup.close()


@pytest.mark.parametrize("wait_s", [0.0, 5.0])
async def test_a_language_in_the_crm_answer_reaches_the_call_side(
    crm: FakeCrm, wait_s: float
) -> None:
    """The CRM's ``language`` is handed to the call side (one SET there if the channel speaks
    another), whether the call waited for the answer or it came late."""
    crm.replies[CAMILLE] = Reply.customer(name="Camille", language="en")
    told: list[tuple[str, str]] = []
    lookup = hook(crm, timeout_s=5.0)
    desk = ArrivalDesk(
        Inbox(),
        CustomerDirectory(None, "FR"),
        crm=lookup,
        crm_wait_s=wait_s,
        on_language=lambda call_id, language: told.append((call_id, language)),
    )
    try:
        desk.post(arrival())
        await until(lambda: told, what="the language told")
        assert told == [("k1", "en")]
    finally:
        await desk.close()
        await lookup.close()


@pytest.mark.parametrize("wait_s", [0.0, 5.0])
async def test_a_crm_only_customer_gets_their_last_advisor(crm: FakeCrm, wait_s: float) -> None:
    """A customer the directory does not know, whom the CRM names ``crm-7``: the advisor who last
    answered them is in the call's data (at arrival when the centre waits, else in the late
    ``CallerIdentified``), so preferred-advisor routing applies to them too."""
    crm.replies[CAMILLE] = Reply.customer(id="crm-7", name="Camille")
    directory = CustomerDirectory(None, "FR")
    directory.served("crm-7", "bob", 0.5)
    inbox = Inbox()
    lookup = hook(crm, timeout_s=5.0)
    desk = ArrivalDesk(inbox, directory, crm=lookup, crm_wait_s=wait_s, last_agent_days=30.0)
    try:
        desk.post(arrival())
        await until(lambda: any("last_agent" in getattr(e, "data", {}) for e in inbox.events))
        [with_last] = [e for e in inbox.events if "last_agent" in getattr(e, "data", {})]
        assert isinstance(with_last, CallArrived if wait_s else CallerIdentified)
        assert (with_last.data["last_agent"], with_last.data["customer_id"]) == ("bob", "crm-7")
    finally:
        await desk.close()
        await lookup.close()
