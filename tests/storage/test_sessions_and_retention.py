"""Session restore after a restart, and retention (purge)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from acd.core.engine import Engine
from acd.storage.database import create_engine
from acd.storage.recorder import Recorder
from acd.storage.retention import DAY_S, purge_older_than
from acd.storage.schema import upgrade_schema
from acd.storage.sessions import (
    SESSIONS_FILE,
    RestoredAdvisor,
    logged_in_advisors,
    restore_events,
    saved_sessions,
)
from acd.storage.tables import agent_sessions, agent_states, call_events, calls
from tests.storage.days import varied_day
from tests.storage.engine_driver import RecordCommand, small_config


async def record_all(url: str, spool_dir: Path, records: list[RecordCommand]) -> None:
    async with Recorder(url, spool_dir, flush_rows=5, flush_ms=10) as recorder:
        for record in records:
            recorder.record(record)
        assert await recorder.drain(10)


async def test_logged_in_and_paused_advisors_are_restored(db_url: str, tmp_path: Path) -> None:
    """After a restart, advisors still logged in come back logged in, paused ones with their reason,
    and the re-login keeps the session that was open instead of opening a second one."""
    await upgrade_schema(db_url)
    day = varied_day()
    await record_all(db_url, tmp_path / "spool", day.records)
    async with Recorder(db_url, tmp_path / "spool", flush_rows=5, flush_ms=10) as recorder:
        restored = await recorder.logged_in_advisors()
        login_at = day.records[0].at
        assert restored == [
            RestoredAdvisor("a1", login_at, None),
            RestoredAdvisor("a2", login_at, "lunch"),
        ]
        # The new daemon's engine takes the restore events; its records go through the recorder.
        engine = Engine(small_config(agents=("a1", "a2", "a3")), start_at=day.now + 60)
        for event in restore_events(restored, day.now + 60):
            for command in engine.handle(event):
                if hasattr(command, "dimension"):
                    recorder.record(command)  # type: ignore[arg-type]
        assert engine.agent_view("a2", day.now + 60).activity == "paused"
        assert engine.agent_view("a1", day.now + 60).activity == "available"
        assert await recorder.drain(10)
        assert await logged_in_advisors(recorder.engine) == restored
        async with recorder.engine.connect() as conn:
            sessions = (await conn.execute(sa.select(agent_sessions))).all()
    assert len(sessions) == 3  # a1 and a2 still in their first session, a3's closed one


async def test_purge_deletes_records_older_than_the_cutoff(db_url: str, tmp_path: Path) -> None:
    """`acd db purge --older-than DAYS` deletes old calls, events, states and closed sessions and
    keeps recent records and open sessions."""
    await upgrade_schema(db_url)
    old_day = varied_day(start=1_700_000_000.0)
    recent_day = varied_day(start=1_700_000_000.0 + 40 * DAY_S, prefix="recent-")
    await record_all(db_url, tmp_path / "spool", old_day.records + recent_day.records)
    engine = create_engine(db_url)
    try:
        result = await purge_older_than(engine, 30, now=recent_day.now)
        assert result.calls == 3
        assert result.call_events == sum(hasattr(r, "seq") for r in old_day.records)
        async with engine.connect() as conn:
            remaining_calls = (
                await conn.execute(sa.select(sa.func.min(calls.c.ended_at)))
            ).scalar()
            remaining_events = (
                await conn.execute(sa.select(sa.func.count()).select_from(call_events))
            ).scalar()
            oldest_state = (await conn.execute(sa.select(sa.func.min(agent_states.c.at)))).scalar()
            sessions = (
                await conn.execute(sa.select(agent_sessions.c.agent_id, agent_sessions.c.logout_at))
            ).all()
    finally:
        await engine.dispose()
    assert remaining_calls is not None
    assert remaining_calls >= result.cutoff
    assert remaining_events == sum(hasattr(r, "seq") for r in recent_day.records)
    assert oldest_state >= result.cutoff
    # a1 and a2 logged in on the old day and never logged out: their open sessions are kept.
    assert sorted(a for a, logout in sessions if logout is None) == ["a1", "a2"]
    assert result.agent_sessions == 1  # a3's old, closed session


async def test_the_advisors_logged_in_are_saved_next_to_the_spool(tmp_path: Path) -> None:
    """The recorder keeps ``sessions.json`` beside the spool as sessions open and close and
    pauses start and end, so that a start with the database down restores the same advisors
    as the database would (a1 available, a2 on lunch, a3 logged out)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'none' / 'unreachable.sqlite3'}"  # never reachable
    day = varied_day()
    spool = tmp_path / "spool"
    async with Recorder(url, spool, flush_rows=5, flush_ms=10, retry_initial_s=60) as recorder:
        for record in day.records:
            recorder.record(record)
        await recorder.flush()
        login_at = day.records[0].at
        expected = [RestoredAdvisor("a1", login_at, None), RestoredAdvisor("a2", login_at, "lunch")]
        assert recorder.saved_sessions() == expected
    assert (spool / SESSIONS_FILE).stat().st_mode & 0o777 == 0o600
    assert saved_sessions(spool) == expected


def test_a_missing_or_damaged_sessions_file_restores_nobody(tmp_path: Path) -> None:
    """No file, a torn file or a file of the wrong shape: nobody is restored from it (the
    database is asked when it answers), and no exception reaches the daemon."""
    assert saved_sessions(tmp_path) == []
    (tmp_path / SESSIONS_FILE).write_text('{"a1": [17', encoding="utf-8")
    assert saved_sessions(tmp_path) == []
    (tmp_path / SESSIONS_FILE).write_text('{"a1": "x", "a2": [1.5, 7], "a3": [2, null]}')
    assert saved_sessions(tmp_path) == [RestoredAdvisor("a3", 2.0, None)]
