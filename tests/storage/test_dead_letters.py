"""Poison rows: set aside as dead letters with the reason, counted and listed; the rest flows."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from structlog.testing import capture_logs
from typer.testing import CliRunner

from acd.cli import app
from acd.core.commands import CallCompleted, RecordCallEvent
from acd.storage import dead_letters as dl
from acd.storage.database import create_engine
from acd.storage.recorder import Recorder
from acd.storage.rows import RowStream
from acd.storage.schema import upgrade_schema
from acd.storage.spool import Spool
from acd.storage.tables import dead_letters
from tests.storage.days import varied_day
from tests.storage.test_recorder import counts, dump, expected_counts


async def stored_letters(url: str) -> list[dl.DeadLetter]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await dl.list_letters(conn)
    finally:
        await engine.dispose()


def poisoned(summary: CallCompleted) -> CallCompleted:
    """The summary with the priority 2^70 that once stopped recording for good."""
    return dataclasses.replace(summary, call_id="poison", priority=2**70)


async def test_a_priority_beyond_64_bits_is_a_dead_letter_not_an_outage(
    db_url: str, tmp_path: Path
) -> None:
    """A call summary with priority 2^70 (SQLite raised OverflowError, taken for an outage) is set
    aside in the dead-letter table with the reason; every other row is written, nothing spooled."""
    await upgrade_schema(db_url)
    day = varied_day()
    summary = next(r for r in day.records if isinstance(r, CallCompleted))
    with capture_logs() as logs:
        async with Recorder(db_url, tmp_path / "spool", flush_rows=500, flush_ms=10) as recorder:
            for record in [*day.records[:5], poisoned(summary), *day.records[5:]]:
                recorder.record(record)
            assert await recorder.drain(10)
            assert recorder.rows_rejected == 1
            assert recorder.rows_spooled == 0
            assert not recorder.spooling
    assert counts(await dump(db_url)) == expected_counts(day.records)
    (letter,) = await stored_letters(db_url)
    assert letter.call_id == "poison"
    assert letter.row_table == "calls"
    assert "calls.priority" in letter.reason
    assert '"priority": 1180591620717411303424' in letter.row
    assert any(e["event"] == "row_dead_lettered" and e["call_id"] == "poison" for e in logs)


async def test_a_poison_row_in_a_spool_does_not_block_its_replay(
    sqlite_url: str, tmp_path: Path
) -> None:
    """A spool holding a row no column can hold (left by an older acd) is replayed around it: the
    row becomes a dead letter, the rows after it reach the database, the spool is consumed."""
    await upgrade_schema(sqlite_url)
    day = varied_day()
    stream = RowStream()
    summary = next(r for r in day.records if isinstance(r, CallCompleted))
    rows = [row for record in day.records for row in stream.rows(record)]
    poison = stream.rows(poisoned(summary))
    spool = Spool(tmp_path / "spool")
    spool.open()
    spool.append([*rows[:5], *poison, *rows[5:]])
    spool.close()
    async with Recorder(sqlite_url, tmp_path / "spool", retry_initial_s=0.05) as recorder:
        assert await recorder.drain(10)
        assert recorder.rows_rejected == 1
    assert counts(await dump(sqlite_url)) == expected_counts(day.records)
    assert not list((tmp_path / "spool").glob("spool-*.jsonl"))
    (letter,) = await stored_letters(sqlite_url)
    assert letter.call_id == "poison"
    assert not (tmp_path / "spool" / dl.DEAD_LETTER_FILE).exists()


async def test_a_row_the_database_itself_refuses_is_a_dead_letter(
    pg_url: str, tmp_path: Path
) -> None:
    """A row PostgreSQL refuses on its own terms (a CHECK constraint an admin added) is found by
    writing its batch row by row and set aside with PostgreSQL's reason; the rest is written."""
    await upgrade_schema(pg_url)
    engine = create_engine(pg_url)
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("ALTER TABLE call_events ADD CONSTRAINT not_bad CHECK (call_id <> 'bad')")
        )
    await engine.dispose()
    day = varied_day()
    bad = RecordCallEvent("bad", 1, "offered", day.now, "sales", None, {})
    async with Recorder(pg_url, tmp_path / "spool", flush_rows=500, flush_ms=10) as recorder:
        for record in [*day.records[:5], bad, *day.records[5:]]:
            recorder.record(record)
        assert await recorder.drain(10)
        assert recorder.rows_rejected == 1
        assert recorder.rows_spooled == 0
    assert counts(await dump(pg_url)) == expected_counts(day.records)
    (letter,) = await stored_letters(pg_url)
    assert letter.call_id == "bad"
    assert "not_bad" in letter.reason


async def test_dead_letters_are_filed_while_the_database_is_down(
    sqlite_url: str, tmp_path: Path
) -> None:
    """While the database cannot be written, a poison row goes to the fsynced dead-letter file;
    once the spool is replayed, the letter moves into the table and the file is removed."""
    await upgrade_schema(sqlite_url)
    day = varied_day()
    summary = next(r for r in day.records if isinstance(r, CallCompleted))
    spool_dir = tmp_path / "spool"
    async with Recorder(
        sqlite_url, spool_dir, flush_rows=5, flush_ms=10, retry_initial_s=0.05
    ) as recorder:
        blocker = sqlite3.connect(make_url(sqlite_url).database or "", isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            for record in [*day.records[:5], poisoned(summary), *day.records[5:]]:
                recorder.record(record)
            await recorder.flush()
            assert recorder.spooling
            (filed,) = dl.read_file(spool_dir)
            assert filed.call_id == "poison"
        finally:
            blocker.execute("COMMIT")
            blocker.close()
        assert await recorder.drain(20)
    assert counts(await dump(sqlite_url)) == expected_counts(day.records)
    assert [letter.call_id for letter in await stored_letters(sqlite_url)] == ["poison"]
    assert not (spool_dir / dl.DEAD_LETTER_FILE).exists()


def test_acd_db_dead_letters_lists_each_letter_with_its_reason(
    sqlite_url: str, tmp_path: Path
) -> None:
    """`acd db dead-letters` prints each letter (ids, table, reason, the row) and the totals."""
    day = varied_day()
    summary = next(r for r in day.records if isinstance(r, CallCompleted))

    async def record_poison() -> None:
        await upgrade_schema(sqlite_url)
        async with Recorder(sqlite_url, tmp_path / "spool", flush_ms=10) as recorder:
            recorder.record(poisoned(summary))
            assert await recorder.drain(10)

    asyncio.run(record_poison())
    result = CliRunner().invoke(
        app,
        ["db", "dead-letters", "--database-url", sqlite_url, "--spool-dir", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    assert "calls call=poison agent=" in result.output
    assert "calls.priority is beyond the column's integer range" in result.output
    assert "1 dead letters in the database (1 shown), 0 in the file" in result.output


def test_row_defects_name_the_column_and_the_fault() -> None:
    """Each value no column can hold is named: range, length, NUL, non-finite time."""
    stream = RowStream()
    event = RecordCallEvent("c1", 1, "offered", 1.0, "sales", None, {"note": "ok"})
    (row,) = stream.rows(event)
    assert dl.row_defect(row) is None
    assert dl.row_defect({**row, "seq": 2**40}) == (
        "call_events.seq is beyond the column's integer range"
    )
    assert dl.row_defect({**row, "call_id": "x" * 161}) == (
        "call_events.call_id is 161 characters long (at most 160)"
    )
    assert (
        dl.row_defect({**row, "queue": "sa\x00les"}) == "call_events.queue contains a NUL character"
    )
    assert dl.row_defect({**row, "at": float("nan")}) == "call_events.at is not a finite number"
    assert dl.row_defect({**row, "data": {"n": "a\x00"}}) == (
        "call_events.data contains a NUL character"
    )
    assert dead_letters.c.row_table.type.length == 32  # type: ignore[attr-defined]


async def test_a_100_character_uniqueid_is_recorded_not_refused(
    db_url: str, tmp_path: Path
) -> None:
    """A call whose Uniqueid is 100 characters long (PostgreSQL once refused it) is recorded."""
    await upgrade_schema(db_url)
    day = varied_day()
    summary = next(r for r in day.records if isinstance(r, CallCompleted))
    long_id = "host-" + "9" * 95
    async with Recorder(db_url, tmp_path / "spool", flush_ms=10) as recorder:
        recorder.record(dataclasses.replace(summary, call_id=long_id, linked_id=long_id))
        recorder.record(RecordCallEvent(long_id, 1, "offered", day.now, "sales", None, {}))
        assert await recorder.drain(10)
        assert recorder.rows_rejected == 0
    tables = await dump(db_url)
    assert [row[0] for row in tables["calls"]] == [long_id]
    assert [row[0] for row in tables["call_events"]] == [long_id]
