"""The supervisor's desk record: listenings saved as they change, read back per advisor, and
purged with the call records; supervisors' live control likewise."""

from __future__ import annotations

from acd.runtime.ports import Listening, ListeningMode, ListeningState, SupervisorAction
from acd.storage.database import create_engine
from acd.storage.listenings import listenings_of, save_listening
from acd.storage.retention import DAY_S, purge_older_than
from acd.storage.schema import upgrade_schema
from acd.storage.supervisor_actions import recent_actions, save_action

NOW = 1_800_000_000.0


def listening(listening_id: str, agent_id: str, at: float) -> Listening:
    return Listening(
        listening_id=listening_id,
        supervisor="supervisor:nadia",
        agent_id=agent_id,
        call_id=f"call-{listening_id}",
        queue="support",
        phone="PJSIP/desk1",
        requested_at=at,
        modes=[ListeningMode.LISTEN],
    )


async def test_a_listening_is_saved_at_each_change_and_read_back_per_advisor(db_url: str) -> None:
    """The row written at the request is updated as the listening starts, switches and ends;
    an advisor reads only their own, newest first."""
    await upgrade_schema(db_url)
    db = create_engine(db_url)
    try:
        first = listening("L1", "alice", NOW - 60)
        await save_listening(db, first)
        first.state, first.started_at = ListeningState.LISTENING, NOW - 59
        first.modes.append(ListeningMode.BARGE)
        await save_listening(db, first)
        first.state, first.ended_at, first.outcome = ListeningState.ENDED, NOW - 20, "left"
        await save_listening(db, first)
        await save_listening(db, listening("L2", "alice", NOW - 10))
        await save_listening(db, listening("L3", "bob", NOW - 5))
        rows = await listenings_of(db, "alice", 10)
        assert [r.listening_id for r in rows] == ["L2", "L1"]
        old = rows[1]
        assert old.modes == [ListeningMode.LISTEN, ListeningMode.BARGE]
        assert (old.state, old.outcome, old.listened_s) == (ListeningState.ENDED, "left", 39.0)
        assert rows[0].state is ListeningState.CALLING
    finally:
        await db.dispose()


async def test_the_purge_takes_old_listenings_with_the_call_records(db_url: str) -> None:
    """``acd db purge`` deletes listenings older than the call records' retention, not newer."""
    await upgrade_schema(db_url)
    db = create_engine(db_url)
    try:
        await save_listening(db, listening("old", "alice", NOW - 40 * DAY_S))
        await save_listening(db, listening("new", "alice", NOW - 1 * DAY_S))
        result = await purge_older_than(db, 30, now=NOW)
        assert result.listenings == 1
        assert [r.listening_id for r in await listenings_of(db, "alice", 10)] == ["new"]
    finally:
        await db.dispose()


async def test_live_control_is_recorded_and_purged_with_the_call_records(db_url: str) -> None:
    """Each supervisor action is kept (who, what, on whom, why) and read back newest first;
    ``acd db purge`` removes those older than the call records' retention."""
    await upgrade_schema(db_url)
    db = create_engine(db_url)
    try:
        old = SupervisorAction(
            NOW - 40 * DAY_S, "supervisor:nadia", "pause", "1001", None, "coaching"
        )
        new = SupervisorAction(NOW - 60, "admin", "end", None, "c9", "ghost caller")
        for action in (old, new):
            await save_action(db, action)
        assert await recent_actions(db, 10) == [new, old]
        await purge_older_than(db, 30, now=NOW)
        assert await recent_actions(db, 10) == [new]
    finally:
        await db.dispose()
