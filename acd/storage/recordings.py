"""Call recordings in the records database: one row per call that heard the notice, the log of
what was done to each, and their erasure (retention and ``acd customers forget``), files with rows.

A file is deleted in the same step as its row: the row is deleted first (inside the transaction),
then the file; a file already gone is no error, one that cannot be deleted is logged (its row is
gone, so nothing points to it any more; ``recordings_dir`` should then be checked by hand).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from acd.runtime.ports import Recording, RecordingAction, RecordingStatus
from acd.storage.customers import register_forget_step, register_retention_step
from acd.storage.tables import recording_log, recordings

log = structlog.get_logger("acd.storage")

_STATUSES = frozenset(s.value for s in RecordingStatus)


async def save_recording(db: AsyncEngine, recording: Recording) -> None:
    """Insert or update a call's recording row."""
    c = recordings.c
    values = {
        "queue": recording.queue[:64],
        "agent_id": recording.agent_id,
        "caller_number": recording.caller_number[:64],
        "status": recording.status.value,
        "path": recording.path[:500],
        "started_at": recording.started_at,
        "ended_at": recording.ended_at,
        "size_bytes": recording.size_bytes,
    }
    async with db.begin() as conn:
        updated = await conn.execute(
            sa.update(recordings).where(c.call_id == recording.call_id).values(values)
        )
        if updated.rowcount == 0:
            await conn.execute(sa.insert(recordings).values(call_id=recording.call_id, **values))


async def log_action(db: AsyncEngine, action: RecordingAction) -> None:
    """Add one line to a recording's log."""
    async with db.begin() as conn:
        await conn.execute(
            sa.insert(recording_log).values(
                call_id=action.call_id,
                at=action.at,
                actor=action.actor[:80],
                action=action.action[:16],
            )
        )


def _recording(row: sa.RowMapping) -> Recording:
    status = row["status"] if row["status"] in _STATUSES else RecordingStatus.ALLOWED.value
    return Recording(
        call_id=row["call_id"],
        queue=row["queue"],
        status=RecordingStatus(status),
        started_at=row["started_at"],
        caller_number=row["caller_number"],
        agent_id=row["agent_id"],
        path=row["path"],
        ended_at=row["ended_at"],
        size_bytes=row["size_bytes"],
    )


async def recent_recordings(db: AsyncEngine, limit: int) -> list[Recording]:
    """The latest recordings, newest first."""
    query = sa.select(recordings).order_by(recordings.c.started_at.desc()).limit(limit)
    async with db.connect() as conn:
        return [_recording(row) for row in (await conn.execute(query)).mappings().all()]


async def recording_of(
    db: AsyncEngine, call_id: str
) -> tuple[Recording, list[RecordingAction]] | None:
    """One call's recording and its log (oldest first); None if the call has none."""
    async with db.connect() as conn:
        row = (
            (await conn.execute(sa.select(recordings).where(recordings.c.call_id == call_id)))
            .mappings()
            .first()
        )
        if row is None:
            return None
        lines = await conn.execute(
            sa.select(recording_log)
            .where(recording_log.c.call_id == call_id)
            .order_by(recording_log.c.at, recording_log.c.entry_id)
        )
        actions = [
            RecordingAction(line.call_id, line.at, line.actor, line.action) for line in lines
        ]
    return _recording(row), actions


async def _delete(conn: AsyncConnection, condition: sa.ColumnElement[bool]) -> int:
    """Delete the recordings matching ``condition``: rows, their log, then their files."""
    found = (
        await conn.execute(sa.select(recordings.c.call_id, recordings.c.path).where(condition))
    ).all()
    if not found:
        return 0
    ids = [row.call_id for row in found]
    await conn.execute(sa.delete(recording_log).where(recording_log.c.call_id.in_(ids)))
    await conn.execute(sa.delete(recordings).where(recordings.c.call_id.in_(ids)))
    for row in found:
        if not row.path:
            continue
        try:
            os.unlink(row.path)
        except FileNotFoundError:
            continue  # already gone: what we wanted
        except OSError as exc:
            log.error("recording_file_not_deleted", call_id=row.call_id, error=str(exc))
    return len(found)


async def _purge_recordings(conn: AsyncConnection, cutoff: float) -> int:
    return await _delete(conn, recordings.c.started_at < cutoff)


async def _forget_recordings(
    conn: AsyncConnection, customer_id: str | None, numbers: Sequence[str], pseudonym: str
) -> int:
    # A recording is the person's voice: erased, not pseudonymised.
    return await _delete(conn, recordings.c.caller_number.in_(list(numbers)))


register_retention_step("recordings", _purge_recordings)
register_forget_step("recordings", _forget_recordings)
