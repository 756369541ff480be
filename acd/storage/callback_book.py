"""The stored callback book: pending callbacks read back at start, and the callbacks' figures.

The recorder writes a row per callback from the engine's ``RecordCallback`` (latest state wins).
At start the daemon hands the pending ones back to the engine (``CallbackRequested`` with their
place, request time and attempts): a restart loses none. One that was being attempted when acd
stopped (``reserved``) counts that attempt as made and is due again at once: the dialplan hangs the
originated leg up when acd is gone, so it is never called twice at once. One already connected is
left alone: the conversation went on inside Asterisk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.storage.tables import callbacks

# Rows in these states are handed back to the engine at start.
PENDING_STATES = ("pending", "reserved")


@dataclass(frozen=True, slots=True)
class StoredCallback:
    """A pending callback as stored: what the engine needs to put it back in its place."""

    callback_id: str
    queue: str
    state: str
    priority: int
    number: str
    name: str
    requested_at: float
    arrived_at: float
    due_at: float
    attempts: int
    from_call_id: str | None
    data: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallbackFigures:
    """Callbacks of a period (by request time): counts, time to callback, service level."""

    requested: int
    completed: int
    failed: int
    cancelled: int
    pending: int
    within_sl: int
    # Mean seconds from the request to the connection, over the completed ones (None: none).
    mean_time_to_callback_s: float | None

    @property
    def service_level(self) -> float | None:
        """Connected within ``callback_sl_s`` of their due time ÷ completed and failed."""
        finished = self.completed + self.failed
        return self.within_sl / finished if finished else None


async def pending_callbacks(db: AsyncEngine) -> list[StoredCallback]:
    """The callbacks to hand back to the engine, in their order of arrival."""
    c = callbacks.c
    query = (
        sa.select(
            c.callback_id,
            c.queue,
            c.state,
            c.priority,
            c.number,
            c.name,
            c.requested_at,
            c.arrived_at,
            c.due_at,
            c.attempts,
            c.from_call_id,
            c.data,
        )
        .where(c.state.in_(PENDING_STATES))
        .order_by(c.arrived_at, c.callback_id)
    )
    async with db.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [
        StoredCallback(
            callback_id=row.callback_id,
            queue=row.queue,
            state=row.state,
            priority=row.priority,
            number=row.number,
            name=row.name,
            requested_at=row.requested_at,
            arrived_at=row.arrived_at,
            due_at=row.due_at,
            attempts=row.attempts,
            from_call_id=row.from_call_id,
            data={str(k): str(v) for k, v in (row.data or {}).items()},
        )
        for row in rows
    ]


async def callback_figures(
    db: AsyncEngine, since: float, until: float, *, service_level_s: float, queue: str | None = None
) -> CallbackFigures:
    """Figures of the callbacks requested in ``[since, until)`` (optionally of one queue)."""
    c = callbacks.c
    connected = c.connected_at.is_not(None)

    def count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    query = sa.select(
        sa.func.count(),
        count(sa.and_(connected, c.state.in_(("connected", "completed")))),
        count(c.state == "failed"),
        count(c.state == "cancelled"),
        count(c.state.in_(PENDING_STATES)),
        count(sa.and_(connected, c.connected_at - c.due_at <= service_level_s)),
        sa.func.avg(sa.case((connected, c.connected_at - c.requested_at), else_=None)),
    ).where(c.requested_at >= since, c.requested_at < until)
    if queue is not None:
        query = query.where(c.queue == queue)
    async with db.connect() as conn:
        row = (await conn.execute(query)).one()
    return CallbackFigures(
        requested=int(row[0]),
        completed=int(row[1]),
        failed=int(row[2]),
        cancelled=int(row[3]),
        pending=int(row[4]),
        within_sl=int(row[5]),
        mean_time_to_callback_s=float(row[6]) if row[6] is not None else None,
    )


async def callbacks_requested_since(db: AsyncEngine, number: str, since: float) -> int:
    """Callbacks requested for ``number`` since ``since`` (the per-number daily limit)."""
    c = callbacks.c
    query = sa.select(sa.func.count()).where(c.number == number, c.requested_at >= since)
    async with db.connect() as conn:
        return int((await conn.execute(query)).scalar_one())
