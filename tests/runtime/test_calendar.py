"""Local midnights for the daily counters, daylight-saving days included."""

from __future__ import annotations

import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

from acd.core.events import DayRolledOver, Event
from acd.runtime.calendar import next_local_midnight, post_day_rollovers
from tests.deadlines import until

PARIS = ZoneInfo("Europe/Paris")


def epoch(*args: int) -> float:
    return dt.datetime(*args, tzinfo=PARIS).timestamp()


def test_next_midnight_on_ordinary_and_dst_days() -> None:
    """The next local midnight is 24 h away on an ordinary day, 23 h and 25 h on DST days."""
    assert next_local_midnight(epoch(2026, 11, 28, 0, 0), "Europe/Paris") == epoch(2026, 11, 29)
    assert (
        next_local_midnight(epoch(2026, 3, 29, 0, 0), "Europe/Paris") - epoch(2026, 3, 29)
        == 23 * 3600
    )
    assert (
        next_local_midnight(epoch(2026, 10, 25, 0, 0), "Europe/Paris") - epoch(2026, 10, 25)
        == 25 * 3600
    )
    assert next_local_midnight(epoch(2026, 11, 28, 23, 59, 59), "Europe/Paris") == epoch(
        2026, 11, 29
    )


async def test_rollover_is_posted_at_midnight() -> None:
    """With a clock one second before midnight, DayRolledOver is posted stamped at midnight."""
    midnight = epoch(2026, 11, 29)
    start = asyncio.get_running_loop().time()

    def now() -> float:
        return midnight - 0.2 + (asyncio.get_running_loop().time() - start)

    posted: list[Event] = []
    task = asyncio.create_task(post_day_rollovers(now, posted.append, "Europe/Paris"))
    await until(lambda: posted, what="DayRolledOver posted")
    task.cancel()
    assert len(posted) == 1
    assert isinstance(posted[0], DayRolledOver)
    assert posted[0].at >= midnight
