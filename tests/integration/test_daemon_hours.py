"""Opening hours through the daemon and pbxsim: a closed queue's caller hears when it opens."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from acd.core.calendar import Reason
from acd.core.states import Outcome
from acd.pbxsim.pbx import AmiEvent
from tests.deadlines import until
from tests.integration.test_daemon_calls import Centre, running_centre

# Closed every day of the week, open only on one day a month from now: "now" is closed and the
# reopening is known (the daemon reads the wall clock).
OPEN_DAY = dt.datetime.now(ZoneInfo("Europe/Paris")).date() + dt.timedelta(days=30)
CLOSED_NOW = {
    "weekdays": [],
    "exceptions": [{"date": OPEN_DAY, "open": ["08:30-18:00"], "reason": "test"}],
}
REOPENS = dt.datetime(
    OPEN_DAY.year, OPEN_DAY.month, OPEN_DAY.day, 8, 30, tzinfo=ZoneInfo("Europe/Paris")
).timestamp()


def agi_commands(centre: Centre) -> list[str]:
    """Start recording the AGI commands pbxsim runs (AGIExecStart), as the caller hears them."""
    commands: list[str] = []

    def listen(event: AmiEvent) -> None:
        if event.name == "AGIExecStart":
            commands.extend(value for key, value in event.headers if key == "Command")

    centre.pbx.pbx.event_listeners.append(listen)
    return commands


def completed(centre: Centre, call_id: str) -> Any:
    found = [c for c in centre.daemon.memory_records.completed if c.call_id == call_id]
    return found[0] if found else None


async def test_closed_queue_caller_hears_the_reopening_and_is_recorded_closed() -> None:
    """A caller of a closed queue hears "closed", the reopening date (SAY DATETIME), goodbye;
    the call is recorded with outcome closed, not offered, not an abandon."""
    async with running_centre(schedule="bureau", schedules={"bureau": CLOSED_NOW}) as centre:
        heard = agi_commands(centre)
        opening = centre.queue().hours
        assert (opening.open, opening.next_change) == (False, REOPENS)
        record = centre.call()
        await asyncio.wait_for(record.done.wait(), 10)
        assert record.acd_state == "done"
        assert record.dial_status == ""
        await until(lambda: completed(centre, record.uniqueid) is not None, what="summary")
        summary = completed(centre, record.uniqueid)
        assert summary.outcome is Outcome.CLOSED
        spoken = [c for c in heard if c.startswith(("STREAM FILE", "SAY DATETIME"))]
        assert spoken[:3] == [
            'STREAM FILE acd-closed ""',
            'STREAM FILE acd-reopens ""',
            f'SAY DATETIME {int(REOPENS)} "" "AdB \'digits/at\' kM" Europe/Paris',
        ]
        assert spoken[-1].startswith("STREAM FILE vm-goodbye")
        queue = centre.queue()
        assert (queue.offered, queue.abandoned, queue.closed_callers) == (0, 0, 1)
        assert centre.pbx.counters["fallbacks"] == 0


async def test_emergency_closure_and_reopening_through_the_daemon() -> None:
    """A supervisor's closure turns the next caller away; after reopening a caller is answered."""
    async with running_centre() as centre:
        centre.daemon.hours.close("support", "exercice incendie")
        await until(lambda: not centre.queue().hours.open, what="queue closed")
        assert centre.queue().hours.reason is Reason.EMERGENCY
        first = centre.call()
        await asyncio.wait_for(first.done.wait(), 10)
        assert first.acd_state == "done"
        centre.daemon.hours.reopen("support")
        await until(lambda: centre.queue().hours.open, what="queue reopened")
        second = centre.call()
        await asyncio.wait_for(second.done.wait(), 10)
        assert second.dial_status == "ANSWER"
        await until(lambda: completed(centre, first.uniqueid) is not None, what="summary")
        assert completed(centre, first.uniqueid).outcome is Outcome.CLOSED
