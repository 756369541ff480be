"""Bounds: a flapping phone costs one row per real change, the backlog stays bounded, and rows
are durable within a second whatever the database does."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from acd.core.commands import RecordAgentState
from acd.storage.database import create_engine
from acd.storage.recorder import Recorder
from acd.storage.rows import COALESCED, RowStream
from acd.storage.schema import upgrade_schema
from acd.storage.tables import agent_states
from tests.storage.days import load_day


def flap(agent_id: str, start: float, times: int, step_s: float) -> list[RecordAgentState]:
    """A phone going idle -> in_use -> idle ... ``times`` changes, ``step_s`` apart."""
    states = ("idle", "in_use")
    return [
        RecordAgentState(
            agent_id, "phone", states[i % 2], states[(i + 1) % 2], None, start + i * step_s
        )
        for i in range(times)
    ]


def test_a_phone_flapping_within_a_second_costs_at_most_one_row() -> None:
    """1,000 phone changes a millisecond apart, still in the backlog, leave one row (or none when
    the phone ends where it started); changes a second apart keep a row each."""
    stream = RowStream()
    rows = [row for c in flap("a1", 100.0, 1000, 0.0005) for row in stream.rows(c)]
    assert [r for r in rows if r["table"] != COALESCED] == []  # ends idle, as it started
    rows = [row for c in flap("a1", 200.0, 1001, 0.0005) for row in stream.rows(c)]
    (kept,) = [r for r in rows if r["table"] != COALESCED]
    assert (kept["old"], kept["new"], kept["at"]) == ("idle", "in_use", 200.0)
    stream.seal()
    rows = [row for c in flap("a2", 300.0, 4, 1.5) for row in stream.rows(c)]
    assert len([r for r in rows if r["table"] != COALESCED]) == 4


async def test_an_ami_flood_of_phone_states_writes_one_row_per_real_change(
    sqlite_url: str, tmp_path: Path
) -> None:
    """20,000 phone changes in a burst: the table gets a handful of rows, the backlog never
    holds more than its bound, nothing is lost of what changed."""
    await upgrade_schema(sqlite_url)
    async with Recorder(
        sqlite_url, tmp_path / "spool", flush_ms=50, max_backlog_rows=5000
    ) as recorder:
        now = time.time()
        peak = 0
        for i, change in enumerate(flap("a1", now, 20_001, 0.0001)):
            recorder.record(change)
            peak = max(peak, recorder.backlog)
            if i % 2000 == 0:
                await asyncio.sleep(0)  # the dispatcher yields between events  # pacing
        assert await recorder.drain(10)
        assert recorder.rows_coalesced + recorder.rows_written >= 1
    engine = create_engine(sqlite_url)
    async with engine.connect() as conn:
        stored = await conn.scalar(sa.select(sa.func.count()).select_from(agent_states))
    await engine.dispose()
    assert stored is not None
    assert 1 <= stored <= 10
    assert peak <= 5000


async def test_a_backlog_past_its_bound_goes_to_the_spool(sqlite_url: str, tmp_path: Path) -> None:
    """A database that cannot keep up (locked) with tens of thousands of rows queued: the
    backlog is spooled whole past ``max_backlog_rows``; every row reaches the database later."""
    await upgrade_schema(sqlite_url)
    records = load_day(2000).records
    blocker = sqlite3.connect(make_url(sqlite_url).database or "", isolation_level=None)
    async with Recorder(
        sqlite_url, tmp_path / "spool", max_backlog_rows=1000, retry_initial_s=0.05
    ) as recorder:
        blocker.execute("BEGIN EXCLUSIVE")
        for record in records:
            recorder.record(record)  # type: ignore[arg-type]
        await recorder.flush()
        assert recorder.backlog == 0
        assert recorder.rows_spooled > 0
        blocker.execute("COMMIT")
        blocker.close()
        assert await recorder.drain(60)


async def test_rows_are_durable_within_a_second_while_the_database_hangs(
    sqlite_url: str, tmp_path: Path
) -> None:
    """A database that hangs (a SQLite lock waits 2 s per attempt): each batch is in the fsynced
    spool less than a second after it was recorded."""
    await upgrade_schema(sqlite_url)
    records = load_day(50).records
    blocker = sqlite3.connect(make_url(sqlite_url).database or "", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        async with Recorder(sqlite_url, tmp_path / "spool", flush_ms=100) as recorder:
            for record in records:
                recorder.record(record)  # type: ignore[arg-type]
            await recorder.flush()
            assert recorder.rows_spooled > 0
            assert recorder.settle_p99_s() < 1.0
    finally:
        blocker.execute("COMMIT")
        blocker.close()
