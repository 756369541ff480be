"""The record of supervisors' live control: who forced which advisor action, who moved,
re-prioritised or ended which call, when and why. Purged with the call records."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.runtime.ports import SupervisorAction
from acd.storage.tables import supervisor_actions


async def save_action(db: AsyncEngine, action: SupervisorAction) -> None:
    """Add one action to the record."""
    async with db.begin() as conn:
        await conn.execute(
            sa.insert(supervisor_actions).values(
                at=action.at,
                actor=action.actor[:80],
                action=action.action[:24],
                agent_id=action.agent_id,
                call_id=action.call_id,
                detail=action.detail[:300],
            )
        )


async def recent_actions(db: AsyncEngine, limit: int) -> list[SupervisorAction]:
    """The latest actions, newest first."""
    c = supervisor_actions.c
    query = sa.select(supervisor_actions).order_by(c.at.desc(), c.entry_id.desc()).limit(limit)
    async with db.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [
        SupervisorAction(
            at=row["at"],
            actor=row["actor"],
            action=row["action"],
            agent_id=row["agent_id"],
            call_id=row["call_id"],
            detail=row["detail"],
        )
        for row in rows
    ]
