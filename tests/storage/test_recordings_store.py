"""Call recordings in the records database: saved and read back with their log, and deleted
with their files by the retention purge and by a person's erasure."""

from __future__ import annotations

import os
from pathlib import Path

from acd.runtime.ports import Recording, RecordingAction, RecordingStatus
from acd.storage.customers import CustomerStore, purge_personal_data
from acd.storage.database import create_engine
from acd.storage.recordings import log_action, recent_recordings, recording_of, save_recording
from acd.storage.schema import upgrade_schema

DAY_S = 86_400.0
NOW = 1_800_000_000.0


def present(path: str) -> bool:
    return os.path.exists(path)


def recorded(folder: Path, call_id: str, number: str, age_days: float) -> Recording:
    path = folder / f"acd-{call_id}.wav"
    path.write_bytes(b"RIFF" + bytes(40))
    return Recording(
        call_id=call_id,
        queue="support",
        status=RecordingStatus.RECORDED,
        started_at=NOW - age_days * DAY_S,
        caller_number=number,
        path=str(path),
        ended_at=NOW - age_days * DAY_S + 60,
    )


async def test_a_recording_and_its_log_are_read_back(db_url: str, tmp_path: Path) -> None:
    """The row keeps status, file, advisor; the log keeps who did what, in order."""
    await upgrade_schema(db_url)
    db = create_engine(db_url)
    try:
        first = recorded(tmp_path, "c1", "+33612345678", 1)
        await save_recording(db, first)
        first.agent_id = "1001"
        await save_recording(db, first)
        objected = Recording("c2", "support", RecordingStatus.OBJECTED, NOW, "+33698765432")
        await save_recording(db, objected)
        await log_action(db, RecordingAction("c1", NOW - 10, "dialplan", "started"))
        await log_action(db, RecordingAction("c1", NOW - 5, "supervisor:nadia", "listened"))
        assert [r.call_id for r in await recent_recordings(db, 10)] == ["c2", "c1"]
        found = await recording_of(db, "c1")
        assert found is not None
        recording, actions = found
        assert (recording.agent_id, recording.path) == ("1001", first.path)
        assert [(a.actor, a.action) for a in actions] == [
            ("dialplan", "started"),
            ("supervisor:nadia", "listened"),
        ]
        assert await recording_of(db, "nothing") is None
    finally:
        await db.dispose()


async def test_the_purge_deletes_old_files_and_rows_together(db_url: str, tmp_path: Path) -> None:
    """``acd db purge`` with ``[retention] recordings_days``: recordings older than that lose
    their file, their row and their log at once; newer ones keep all three."""
    await upgrade_schema(db_url)
    db = create_engine(db_url)
    try:
        old = recorded(tmp_path, "old", "+33612345678", 200)
        new = recorded(tmp_path, "new", "+33612345678", 10)
        for recording in (old, new):
            await save_recording(db, recording)
            await log_action(db, RecordingAction(recording.call_id, NOW, "dialplan", "started"))
        deleted = await purge_personal_data(db, {"recordings": 180}, now=NOW)
        assert deleted["recordings"] == 1
        assert not present(old.path)
        assert present(new.path)
        assert await recording_of(db, "old") is None
        found = await recording_of(db, "new")
        assert found is not None
        assert len(found[1]) == 1
    finally:
        await db.dispose()


async def test_forgetting_a_person_erases_their_recordings(db_url: str, tmp_path: Path) -> None:
    """``acd customers forget NUMBER``: that caller's recordings (files and rows) are gone;
    another caller's stay."""
    await upgrade_schema(db_url)
    db = create_engine(db_url)
    store = CustomerStore(db_url)
    try:
        theirs = recorded(tmp_path, "theirs", "+33612345678", 1)
        others = recorded(tmp_path, "others", "+33698765432", 1)
        for recording in (theirs, others):
            await save_recording(db, recording)
        result = await store.forget("+33612345678")
        assert result.rows["recordings"] == 1
        assert not present(theirs.path)
        assert present(others.path)
        assert [r.call_id for r in await recent_recordings(db, 10)] == ["others"]
    finally:
        await store.close()
        await db.dispose()
