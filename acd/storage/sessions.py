"""Session restore: who was logged in (and paused) when the daemon stopped.

After a restart the daemon asks ``logged_in_advisors`` and replays ``restore_events`` into the
engine before it takes calls, so an advisor who was logged in stays logged in, and a paused one
stays paused with the same reason. The re-login this produces keeps the session that was open
(the recorder opens a session only for an advisor without one), so the session spans the restart.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.events import AgentLoggedIn
from acd.storage.tables import agent_sessions, agent_states

# Activities that survive a restart as a pause; everything else (on call, wrap-up, breather...)
# comes back as available: the calls they were about did not survive.
_PAUSES = frozenset({"paused", "recovery"})


@dataclass(frozen=True, slots=True)
class RestoredAdvisor:
    """An advisor with an open session; ``pause_reason`` None = not paused."""

    agent_id: str
    logged_in_at: float
    pause_reason: str | None


async def logged_in_advisors(db: AsyncEngine) -> list[RestoredAdvisor]:
    """Advisors whose session is open, with their pause (from the last activity change).

    Call it once the recorder has drained its spool (``await recorder.drain()``), or the last
    changes before the restart may not be in the database yet.
    """
    last_activity = (
        sa.select(
            agent_states.c.agent_id,
            agent_states.c.new,
            agent_states.c.reason,
            sa.func.row_number()
            .over(
                partition_by=agent_states.c.agent_id,
                order_by=(agent_states.c.at.desc(), agent_states.c.ordinal.desc()),
            )
            .label("n"),
        )
        .where(agent_states.c.dimension == "activity")
        .subquery()
    )
    query = (
        sa.select(
            agent_sessions.c.agent_id,
            agent_sessions.c.login_at,
            last_activity.c.new,
            last_activity.c.reason,
        )
        .outerjoin(
            last_activity,
            sa.and_(last_activity.c.agent_id == agent_sessions.c.agent_id, last_activity.c.n == 1),
        )
        .where(agent_sessions.c.logout_at.is_(None))
        .order_by(agent_sessions.c.agent_id)
    )
    async with db.connect() as conn:
        result = await conn.execute(query)
        rows = result.all()
    restored = []
    for agent_id, login_at, activity, reason in rows:
        pause = (reason or str(activity)) if activity in _PAUSES else None
        restored.append(RestoredAdvisor(agent_id, float(login_at), pause))
    return restored


def restore_events(advisors: list[RestoredAdvisor], at: float) -> list[AgentLoggedIn]:
    """The engine events that log the advisors back in (paused ones paused), stamped ``at``."""
    return [
        AgentLoggedIn(at=at, agent_id=a.agent_id, paused_reason=a.pause_reason) for a in advisors
    ]
