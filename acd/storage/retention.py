"""Retention: records older than a number of days are deleted (caller numbers are personal data).

Cut-offs: a call by when it ended (its events go with it, and any event older than the cut-off),
advisor states by when they happened, sessions by when they closed (open sessions are kept).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.storage.tables import (
    agent_sessions,
    agent_states,
    call_events,
    callbacks,
    calls,
    listenings,
    supervisor_actions,
)

log = structlog.get_logger("acd.storage")

DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """How many rows each table lost."""

    cutoff: float
    calls: int
    call_events: int
    agent_states: int
    agent_sessions: int
    callbacks: int = 0
    listenings: int = 0


async def purge_older_than(db: AsyncEngine, days: float, *, now: float) -> PurgeResult:
    """Delete records older than ``days`` days before ``now`` (epoch s), in one transaction."""
    if days < 0:
        raise ValueError("days must be >= 0")
    cutoff = now - days * DAY_S
    old_calls = sa.select(calls.c.call_id).where(calls.c.ended_at < cutoff)
    async with db.begin() as conn:
        events = await conn.execute(
            sa.delete(call_events).where(
                sa.or_(call_events.c.at < cutoff, call_events.c.call_id.in_(old_calls))
            )
        )
        gone_calls = await conn.execute(sa.delete(calls).where(calls.c.ended_at < cutoff))
        states = await conn.execute(sa.delete(agent_states).where(agent_states.c.at < cutoff))
        sessions = await conn.execute(
            sa.delete(agent_sessions).where(agent_sessions.c.logout_at < cutoff)
        )
        # Finished callbacks hold a number and a name: they go with the calls. Pending ones stay.
        gone_callbacks = await conn.execute(
            sa.delete(callbacks).where(
                callbacks.c.updated_at < cutoff,
                callbacks.c.state.in_(("completed", "failed", "cancelled")),
            )
        )
        # Who listened to whom is part of the call's record: it goes with it.
        heard = await conn.execute(sa.delete(listenings).where(listenings.c.requested_at < cutoff))
        await conn.execute(sa.delete(supervisor_actions).where(supervisor_actions.c.at < cutoff))
    result = PurgeResult(
        cutoff=cutoff,
        calls=gone_calls.rowcount,
        call_events=events.rowcount,
        agent_states=states.rowcount,
        agent_sessions=sessions.rowcount,
        callbacks=gone_callbacks.rowcount,
        listenings=heard.rowcount,
    )
    log.info(
        "records_purged",
        days=days,
        cutoff=cutoff,
        calls=result.calls,
        call_events=result.call_events,
        agent_states=result.agent_states,
        agent_sessions=result.agent_sessions,
        callbacks=result.callbacks,
        listenings=result.listenings,
    )
    return result
