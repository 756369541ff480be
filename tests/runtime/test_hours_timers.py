"""The runtime posts each queue's openings and closings at their instants (timers, no polling)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from acd.core.calendar import CentreCalendar, Reason, Schedule, TimeRange
from acd.core.config import AcdConfig, AgentConfig, QueueConfig
from acd.core.events import Event, QueueHoursChanged
from acd.runtime.calendar import HoursTimers
from tests.deadlines import until

PARIS = ZoneInfo("Europe/Paris")
OFFICE = Schedule("bureau", week=((TimeRange(510, 1080),),) * 7, observe_holidays=False)
CONFIG = AcdConfig(
    queues=(QueueConfig("sales", schedule="bureau", last_entry_before_close_s=900),),
    agents=(AgentConfig("a1", queues=("sales",)),),
    schedules=(OFFICE,),
)


def paris(*args: int) -> float:
    return dt.datetime(*args, tzinfo=PARIS).timestamp()


def centre_for(years: Iterable[int]) -> CentreCalendar:
    assert list(years)
    return CentreCalendar(zone=PARIS)


async def test_last_entry_is_posted_at_its_instant() -> None:
    """A clock 0.2 s before the 17:45 last entry: the change is posted once, stamped after it."""
    last_entry = paris(2026, 12, 1, 17, 45)
    loop = asyncio.get_running_loop()
    started = loop.time()

    def now() -> float:
        return last_entry - 0.2 + (loop.time() - started)

    posted: list[Event] = []
    timers = HoursTimers(CONFIG, centre_for, now, posted.append)
    task = asyncio.create_task(timers.run())
    try:
        await until(lambda: len(posted) == 2, what="opening then last entry", within=5)
    finally:
        task.cancel()
    first, second = posted
    assert isinstance(first, QueueHoursChanged)
    assert isinstance(second, QueueHoursChanged)
    assert first.opening.open
    assert (second.opening.open, second.opening.reason) == (False, Reason.LAST_ENTRY)
    assert second.at >= last_entry


async def test_emergency_closure_wakes_the_timer_at_once() -> None:
    """close() and reopen() are posted without waiting for the next scheduled change."""
    at = paris(2026, 12, 1, 10, 0)
    posted: list[Event] = []
    timers = HoursTimers(CONFIG, centre_for, lambda: at, posted.append)
    task = asyncio.create_task(timers.run())
    try:
        await until(lambda: len(posted) == 1, what="first evaluation")
        timers.close("sales", "panne")
        await until(lambda: len(posted) == 2, what="closure posted")
        timers.reopen("sales")
        await until(lambda: len(posted) == 3, what="reopening posted")
    finally:
        task.cancel()
    openings = [e.opening for e in posted if isinstance(e, QueueHoursChanged)]
    assert [(o.open, o.reason) for o in openings] == [
        (True, Reason.SCHEDULE),
        (False, Reason.EMERGENCY),
        (True, Reason.SCHEDULE),
    ]
    assert timers.emergencies == {}


async def test_reload_re_evaluates_every_queue() -> None:
    """After reconfigure() with a new schedule the queue's opening is posted again."""
    at = paris(2026, 12, 1, 16, 0)
    posted: list[Event] = []
    timers = HoursTimers(CONFIG, centre_for, lambda: at, posted.append)
    task = asyncio.create_task(timers.run())
    try:
        await until(lambda: len(posted) == 1, what="first evaluation")
        early = Schedule("bureau", week=((TimeRange(510, 900),),) * 7, observe_holidays=False)
        timers.reconfigure(
            AcdConfig(queues=CONFIG.queues, agents=CONFIG.agents, schedules=(early,))
        )
        await until(lambda: len(posted) == 2, what="re-evaluated")
    finally:
        task.cancel()
    last = posted[-1]
    assert isinstance(last, QueueHoursChanged)
    assert not last.opening.open
