"""Emergency closures of queues, kept in the database so they survive a restart.

The daemon writes a row when a supervisor closes a queue and deletes it on reopening; at start it
reads them back, and ``acd hours`` reads them to answer as the daemon would.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.storage.database import create_engine
from acd.storage.tables import queue_closures

REASON_MAX_LEN = 300


@dataclass(frozen=True, slots=True)
class QueueClosure:
    """A queue closed by a supervisor: why, when, by whom."""

    queue: str
    reason: str
    closed_at: float
    closed_by: str


async def closures(db: AsyncEngine) -> list[QueueClosure]:
    """Every queue closed now, by name."""
    c = queue_closures.c
    query = sa.select(c.queue, c.reason, c.closed_at, c.closed_by).order_by(c.queue)
    async with db.connect() as conn:
        return [QueueClosure(*row) for row in await conn.execute(query)]


async def save_closure(db: AsyncEngine, closure: QueueClosure) -> None:
    """Record (or replace) the closure of one queue."""
    c = queue_closures.c
    async with db.begin() as conn:
        await conn.execute(sa.delete(queue_closures).where(c.queue == closure.queue))
        await conn.execute(
            sa.insert(queue_closures).values(
                queue=closure.queue,
                reason=closure.reason[:REASON_MAX_LEN],
                closed_at=closure.closed_at,
                closed_by=closure.closed_by[:64],
            )
        )


async def delete_closure(db: AsyncEngine, queue: str) -> None:
    """The queue reopened: forget its closure."""
    async with db.begin() as conn:
        await conn.execute(sa.delete(queue_closures).where(queue_closures.c.queue == queue))


def closures_of(url: str) -> list[QueueClosure]:
    """The closures in force (synchronous, for the CLI)."""

    async def load() -> list[QueueClosure]:
        engine = create_engine(url)
        try:
            return await closures(engine)
        finally:
            await engine.dispose()

    return asyncio.run(load())
