"""The record of the supervisor's desk: each use of listen, whisper or barge, one row.

Written when a listening is requested and again as it changes (attached, mode switched, ended),
so even a daemon that stops mid-listening leaves who listened to whom and when. Read back for the
advisor's page: the transparency owed to the people listened to.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.runtime.ports import Listening, ListeningMode, ListeningState
from acd.storage.tables import listenings

_MODES = frozenset(m.value for m in ListeningMode)


async def save_listening(db: AsyncEngine, listening: Listening) -> None:
    """Insert or update one listening's row."""
    c = listenings.c
    values = {
        "supervisor": listening.supervisor[:64],
        "agent_id": listening.agent_id[:64],
        "call_id": listening.call_id[:64],
        "queue": listening.queue[:64],
        "modes": ",".join(m.value for m in listening.modes)[:100],
        "requested_at": listening.requested_at,
        "started_at": listening.started_at,
        "ended_at": listening.ended_at,
        "outcome": listening.outcome[:32],
    }
    async with db.begin() as conn:
        updated = await conn.execute(
            sa.update(listenings).where(c.listening_id == listening.listening_id).values(values)
        )
        if updated.rowcount == 0:
            await conn.execute(
                sa.insert(listenings).values(listening_id=listening.listening_id, **values)
            )


async def listenings_of(db: AsyncEngine, agent_id: str, limit: int) -> list[Listening]:
    """An advisor's most recent listenings, newest first."""
    c = listenings.c
    query = (
        sa.select(listenings)
        .where(c.agent_id == agent_id)
        .order_by(c.requested_at.desc())
        .limit(limit)
    )
    async with db.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [
        Listening(
            listening_id=row["listening_id"],
            supervisor=row["supervisor"],
            agent_id=row["agent_id"],
            call_id=row["call_id"],
            queue=row["queue"],
            phone="",
            requested_at=row["requested_at"],
            modes=[ListeningMode(m) for m in row["modes"].split(",") if m in _MODES],
            state=ListeningState.ENDED if row["ended_at"] is not None else ListeningState.CALLING,
            started_at=row["started_at"],
            ended_at=row["ended_at"],
            outcome=row["outcome"],
        )
        for row in rows
    ]
