"""Past calls read back from the ``calls`` table, for ``acd simulate --from-db`` and exports.

``acd.storage`` may not import ``acd.sim``: the CLI turns a ``RecordedCall`` into the simulator's
``PastCall`` (``at=offered_at, queue=first_queue, priority, handle_s=talk_s`` when answered,
``abandoned_after_s=wait_s`` when abandoned, ``waited_s=wait_s`` when answered).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.storage.database import create_engine
from acd.storage.tables import calls


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """One row of ``calls``; times are epoch seconds, ``outcome`` as stored (incl. ``fallback``)."""

    call_id: str
    linked_id: str
    queue: str
    first_queue: str
    priority: int
    offered_at: float
    presented_at: float | None
    answered_at: float | None
    ended_at: float
    agent_id: str | None
    outcome: str
    reason: str
    wait_s: float
    talk_s: float
    wrap_up_s: float
    disposition: str | None
    transferred_to: str | None
    answered_within_sl: bool


async def calls_between(db: AsyncEngine, start: float, end: float) -> list[RecordedCall]:
    """Calls first offered in ``[start, end)`` (epoch seconds), in order of arrival."""
    c = calls.c
    columns = [getattr(c, name) for name in RecordedCall.__slots__]
    query = (
        sa.select(*columns)
        .where(c.offered_at >= start, c.offered_at < end)
        .order_by(c.offered_at, c.call_id)
    )
    async with db.connect() as conn:
        result = await conn.execute(query)
        return [RecordedCall(*row) for row in result]


def calls_of_day(url: str, day: dt.date, timezone: str) -> list[RecordedCall]:
    """The calls of one local day (synchronous, for the CLI)."""
    tz = ZoneInfo(timezone)
    start = dt.datetime(day.year, day.month, day.day, tzinfo=tz)
    following = day + dt.timedelta(days=1)
    end = dt.datetime(following.year, following.month, following.day, tzinfo=tz)

    async def load() -> list[RecordedCall]:
        engine = create_engine(url, must_exist=True)
        try:
            return await calls_between(engine, start.timestamp(), end.timestamp())
        finally:
            await engine.dispose()

    return asyncio.run(load())
