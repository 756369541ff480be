"""Session restore: who was logged in (and paused) when the daemon stopped.

After a restart the daemon asks ``logged_in_advisors`` and replays ``restore_events`` into the
engine before it takes calls, so an advisor who was logged in stays logged in, and a paused one
stays paused with the same reason. The re-login this produces keeps the session that was open
(the recorder opens a session only for an advisor without one), so the session spans the restart.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.events import AgentLoggedIn
from acd.storage.tables import agent_sessions, agent_states

# The advisors logged in, as the recorder last saw them: next to the spool, rewritten (atomically,
# fsynced) whenever a session opens or closes or a pause starts or ends, so that a restart with
# the database down logs them back in at once.
SESSIONS_FILE = "sessions.json"

# Activities that survive a restart as a pause; everything else (on call, wrap-up, breather...)
# comes back as available: the calls they were about did not survive.
PAUSES = frozenset({"paused", "recovery"})


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
        pause = (reason or str(activity)) if activity in PAUSES else None
        restored.append(RestoredAdvisor(agent_id, float(login_at), pause))
    return restored


def save_sessions(directory: Path, sessions: dict[str, tuple[float, str | None]]) -> None:
    """Replace ``SESSIONS_FILE`` with ``sessions`` (advisor -> login time, pause reason): a new
    file fsynced, then renamed over the old one, so a crash leaves one or the other whole."""
    path = directory / SESSIONS_FILE
    temporary = path.with_suffix(".tmp")
    data = {agent: [at, pause] for agent, (at, pause) in sorted(sessions.items())}
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(descriptor, json.dumps(data).encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)
    directory_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(directory_fd)
    finally:
        os.close(directory_fd)


def saved_sessions(directory: Path) -> list[RestoredAdvisor]:
    """The advisors ``SESSIONS_FILE`` holds; none when it is missing or unreadable (a restart
    then waits for the database, as before)."""
    try:
        data = json.loads((directory / SESSIONS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict):
        return []
    restored = []
    for agent, value in sorted(data.items()):
        if not (isinstance(value, list) and len(value) == 2):
            continue
        at, pause = value
        if isinstance(at, int | float) and (pause is None or isinstance(pause, str)):
            restored.append(RestoredAdvisor(str(agent), float(at), pause))
    return restored


def restore_events(advisors: list[RestoredAdvisor], at: float) -> list[AgentLoggedIn]:
    """The engine events that log the advisors back in (paused ones paused), stamped ``at``."""
    return [
        AgentLoggedIn(at=at, agent_id=a.agent_id, paused_reason=a.pause_reason) for a in advisors
    ]
