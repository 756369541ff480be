"""The callback desk checks a chosen or booked number against the numbering plan (phonenumbers)."""

from __future__ import annotations

import pytest

from acd.core.commands import CallbackChosen
from acd.core.events import CallbackRefused, CallbackRequested, Event
from acd.runtime.callback_desk import CallbackDesk
from acd.runtime.ports import BookingRefusedError
from tests.deadlines import until


class Inbox:
    """What the desk posts and submits."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def now(self) -> float:
        return 1000.0

    def post(self, event: Event) -> None:
        self.events.append(event)

    async def submit(self, event: Event) -> list[object]:
        self.events.append(event)
        return []


@pytest.mark.parametrize(
    ("number", "verdict"),
    [
        ("+33612345678", None),  # a French mobile
        ("+33145678901", None),  # a Paris fixed line
        ("+3361234", "invalid"),  # typed too short
        ("+336123456789", "invalid"),  # typed too long
        ("+33812345678", "premium"),  # 08 1x: shared cost
        ("+33899123456", "premium"),  # 08 9x: premium rate
    ],
)
async def test_a_chosen_number_is_checked_against_the_numbering_plan(
    number: str, verdict: str | None
) -> None:
    """A French number of the wrong length, or premium-rate / shared-cost, is refused with its
    reason (the caller hears it); a valid one becomes the callback."""
    inbox = Inbox()
    desk = CallbackDesk(inbox, None, queues=lambda: ["support"])
    desk.callback_chosen(CallbackChosen("c1", "c1-cb", "support", number, "Zoé"))
    await until(lambda: inbox.events, within=5, what="the desk's answer")
    (event,) = inbox.events
    if verdict is None:
        assert isinstance(event, CallbackRequested)
        assert (event.call_id, event.number, event.from_call_id) == ("c1-cb", number, "c1")
    else:
        assert isinstance(event, CallbackRefused)
        assert (event.call_id, event.reason) == ("c1", verdict)


async def test_a_booking_of_a_number_that_does_not_exist_is_refused() -> None:
    """A booked number too short for the French plan: ``invalid_number`` (reason invalid)."""
    inbox = Inbox()
    desk = CallbackDesk(inbox, None, queues=lambda: ["support"])
    with pytest.raises(BookingRefusedError) as refused:
        await desk.book("support", "06 12 34 56")
    assert refused.value.code == "invalid_number"
    assert inbox.events == []
    callback_id = await desk.book("support", "06 12 34 56 78")
    (event,) = inbox.events
    assert isinstance(event, CallbackRequested)
    assert (event.call_id, event.number) == (callback_id, "+33612345678")
