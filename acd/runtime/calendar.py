"""The centre's calendar: tell the engine when a new local day starts (daily counters)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from acd.core.events import DayRolledOver, Event


def next_local_midnight(now_epoch: float, timezone: str) -> float:
    """Epoch seconds of the next midnight in ``timezone`` (daylight-saving days included)."""
    zone = ZoneInfo(timezone)
    today = dt.datetime.fromtimestamp(now_epoch, zone).date()
    tomorrow = today + dt.timedelta(days=1)
    return dt.datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=zone).timestamp()


async def post_day_rollovers(
    now: Callable[[], float], post: Callable[[Event], None], timezone: str
) -> None:
    """Post ``DayRolledOver`` at every local midnight, until cancelled."""
    while True:
        midnight = next_local_midnight(now(), timezone)
        # Sleep in bounded steps: a suspended machine or a clock step must not skip a day.
        while (remaining := midnight - now()) > 0:  # noqa: ASYNC110 -- waiting for a time, not an event
            await asyncio.sleep(min(remaining, 60.0))
        post(DayRolledOver(at=max(now(), midnight)))
