"""Restart after a crash: calls left open are closed from the event log with the right outcome,
sessions closed at the last event seen, and the time acd was down written as a gap."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from acd.core import events as ev
from acd.runtime.ports import (
    Listening,
    ListeningMode,
    ListeningState,
    Recording,
    RecordingStatus,
)
from acd.storage.database import create_engine
from acd.storage.listenings import listenings_of, save_listening
from acd.storage.reconciliation import (
    CallEventRow,
    account_gap,
    answered_after_all,
    calls_over,
    calls_seen,
    closing_rows,
    fell_back_between,
    gap_counts,
)
from acd.storage.recorder import Recorder
from acd.storage.recordings import recording_of, save_recording
from acd.storage.report_formats import ReportFormat, render
from acd.storage.reports import build_report
from acd.storage.rows import CallFellBack
from acd.storage.schema import upgrade_schema
from acd.storage.sessions import restore_events
from acd.storage.tables import agent_sessions, calls, service_gaps
from tests.storage.engine_driver import EngineDriver, small_config

START = 1_780_000_000.0


def crashed_mid_day() -> EngineDriver:
    """Two advisors logged in; c1 answered and still talking, c2 waiting, c3 complete: then the
    daemon dies (no summary for c1 or c2, sessions open)."""
    d = EngineDriver(small_config(agents=("a1", "a2"), wrap_up_s=1.0), START)
    d.at(START, ev.AgentLoggedIn, agent_id="a1")
    d.at(START, ev.AgentLoggedIn, agent_id="a2", paused_reason="training")
    d.at(START + 10, ev.CallArrived, call_id="c3", queue="sales", caller_number="0612345678")
    d.at(START + 12, ev.AgentAnswered, call_id="c3", agent_id="a1")
    d.at(START + 20, ev.CallEnded, call_id="c3")
    d.advance(START + 30)  # wrap-up over: c3's summary is written
    d.at(START + 40, ev.CallArrived, call_id="c1", queue="sales", caller_number="0612345679")
    d.at(START + 42, ev.AgentAnswered, call_id="c1", agent_id="a1")
    d.at(START + 50, ev.CallArrived, call_id="c2", queue="sales", caller_number="0612345670")
    return d


async def test_a_restart_after_a_crash_closes_the_previous_runs_calls_and_sessions(
    db_url: str, tmp_path: Path
) -> None:
    """The answered call in progress at the crash is recorded answered (talk up to the last event),
    the waiting one as taken by the fallback; sessions end at the last event seen, the advisors
    come back (the paused one paused) and the down time is a gap row. A second reconciliation
    changes nothing."""
    await upgrade_schema(db_url)
    day = crashed_mid_day()
    async with Recorder(db_url, tmp_path / "spool", flush_ms=10) as recorder:
        for record in day.records:
            recorder.record(record)
        assert await recorder.drain(10)
    restarted_at = START + 300
    async with Recorder(db_url, tmp_path / "spool") as recorder:
        advisors, closed = await recorder.restart_state(restarted_at)
        assert {(a.agent_id, a.pause_reason) for a in advisors} == {
            ("a1", None),
            ("a2", "training"),
        }
        assert (closed.last_seen, closed.calls_closed, closed.sessions_closed) == (START + 50, 2, 2)
        _, again = await recorder.restart_state(restarted_at)
        assert (again.calls_closed, again.sessions_closed) == (0, 0)
    engine = create_engine(db_url)
    async with engine.connect() as conn:
        rows = {
            row.call_id: row
            for row in await conn.execute(
                sa.select(
                    calls.c.call_id,
                    calls.c.outcome,
                    calls.c.reason,
                    calls.c.agent_id,
                    calls.c.talk_s,
                    calls.c.ended_at,
                )
            )
        }
        sessions = (await conn.execute(sa.select(agent_sessions.c.logout_at))).scalars().all()
        gaps = (
            await conn.execute(sa.select(service_gaps.c.started_at, service_gaps.c.ended_at))
        ).all()
    await engine.dispose()
    assert (rows["c3"].outcome, rows["c3"].reason) == ("answered", "completed")
    assert (rows["c1"].outcome, rows["c1"].reason, rows["c1"].agent_id) == (
        "answered",
        "acd_restarted",
        "a1",
    )
    assert rows["c1"].talk_s == 8.0
    assert (rows["c2"].outcome, rows["c2"].ended_at) == ("fallback", START + 50)
    assert sorted(sessions) == [START + 50, START + 50]
    assert [tuple(g) for g in gaps] == [(START + 50, restarted_at)]


async def test_the_gap_after_a_crash_is_shown_in_the_report(
    sqlite_url: str, tmp_path: Path
) -> None:
    """`acd report` over the day lists "down from ... to ..." for the time acd was down."""
    await upgrade_schema(sqlite_url)
    async with Recorder(sqlite_url, tmp_path / "spool", flush_ms=10) as recorder:
        for record in crashed_mid_day().records:
            recorder.record(record)
        assert await recorder.drain(10)
    async with Recorder(sqlite_url, tmp_path / "spool") as recorder:
        await recorder.restart_state(START + 300)
    engine = create_engine(sqlite_url)
    try:
        report = await build_report(
            engine,
            start=datetime.fromtimestamp(START - 3600, UTC),
            end=datetime.fromtimestamp(START + 3600, UTC),
            timezone="UTC",
            now=START + 3600,
        )
    finally:
        await engine.dispose()
    (gap,) = report.gaps
    assert (gap.down_from.timestamp(), gap.down_to.timestamp()) == (START + 50, START + 300)
    text = render(report, ReportFormat.TABLE)
    assert "acd was down" in text
    assert f"down from {gap.down_from.isoformat(timespec='seconds')}" in text
    assert '"gaps"' in render(report, ReportFormat.JSON)


async def test_a_quiet_run_ends_at_its_last_heartbeat_not_its_last_call(
    db_url: str, tmp_path: Path
) -> None:
    """A run that said it was alive 200 s after its last call (heartbeats, with the fallback
    queues' count) was down from that heartbeat: sessions close there, the gap starts there, and
    the next start gets the count to compare Asterisk's with."""
    await upgrade_schema(db_url)
    async with Recorder(db_url, tmp_path / "spool", flush_ms=10) as recorder:
        for record in crashed_mid_day().records:
            recorder.record(record)
        recorder.record_alive(START, START + 100, 7)
        recorder.record_alive(START, START + 250, None)  # AMI silent: the count stays 7
        assert await recorder.drain(10)
    async with Recorder(db_url, tmp_path / "spool") as recorder:
        _, closed = await recorder.restart_state(START + 300)
    assert closed.last_seen == START + 250
    assert closed.fallback_calls_before == 7
    assert closed.fallback_call_ids == frozenset({"c2"})
    engine = create_engine(db_url)
    async with engine.connect() as conn:
        sessions = (await conn.execute(sa.select(agent_sessions.c.logout_at))).scalars().all()
        gaps = (await conn.execute(sa.select(service_gaps.c.started_at))).scalars().all()
    await engine.dispose()
    assert sorted(sessions) == [START + 250, START + 250]
    assert gaps == [START + 250]


def test_gap_counts_from_asterisks_fallback_queue_counters() -> None:
    """Calls that left the fallback queues meanwhile plus callers still there are what Asterisk
    saw; those with a row are the callers recorded from AMI and the previous run's calls closed
    as fallback that are gone; a count that went down (Asterisk restarted) is unknown."""
    assert gap_counts(before=10, now=15, arrived_live=2, closed_gone=3) == (7, 5)
    assert gap_counts(before=10, now=11, arrived_live=0, closed_gone=3) == (1, 1)
    assert gap_counts(before=None, now=15, arrived_live=2, closed_gone=0) == (None, 2)
    assert gap_counts(before=20, now=3, arrived_live=1, closed_gone=0) == (None, 1)


async def test_a_call_still_bridged_at_the_restart_is_answered_after_all(
    db_url: str, tmp_path: Path
) -> None:
    """c2 had no answer in the event log (it was lost with the crash) but Asterisk still has it
    bridged with a1's phone: answered by a1, talking until at least the restart; an engine
    summary is never touched, and the gap row takes Asterisk's counts."""
    await upgrade_schema(db_url)
    async with Recorder(db_url, tmp_path / "spool", flush_ms=10) as recorder:
        for record in crashed_mid_day().records:
            recorder.record(record)
        assert await recorder.drain(10)
    async with Recorder(db_url, tmp_path / "spool") as recorder:
        _, closed = await recorder.restart_state(START + 300)
        async with recorder.engine.begin() as conn:
            assert await answered_after_all(conn, "c2", "a1", START + 55, START + 300)
            assert not await answered_after_all(conn, "c3", "a2", START + 55, START + 300)
            assert await calls_seen(conn, ["c2", "new.1"], START + 300) == frozenset({"c2"})
            assert closed.last_seen is not None
            await account_gap(conn, closed.last_seen, START + 301, 4, 2)
    engine = create_engine(db_url)
    async with engine.connect() as conn:
        rows = {
            row.call_id: row
            for row in await conn.execute(
                sa.select(
                    calls.c.call_id,
                    calls.c.outcome,
                    calls.c.agent_id,
                    calls.c.wait_s,
                    calls.c.talk_s,
                )
            )
        }
        gap = (
            await conn.execute(
                sa.select(
                    service_gaps.c.calls_reported,
                    service_gaps.c.calls_recovered,
                    service_gaps.c.ended_at,
                )
            )
        ).one()
    await engine.dispose()
    assert (rows["c2"].outcome, rows["c2"].agent_id) == ("answered", "a1")
    assert (rows["c2"].wait_s, rows["c2"].talk_s) == (5.0, 245.0)
    assert (rows["c3"].outcome, rows["c3"].agent_id) == ("answered", "a1")
    # The gap lasts until Asterisk was read (FastAGI opens right after).
    assert tuple(gap) == (4, 2, START + 301)


async def test_gaps_are_shown_in_csv_and_html_too(sqlite_url: str, tmp_path: Path) -> None:
    """The CSV report ends with a gap block (from, to, seen by Asterisk, recorded, only here) and
    the HTML report has an "acd was down" table; an unknown count is an empty cell."""
    await upgrade_schema(sqlite_url)
    async with Recorder(sqlite_url, tmp_path / "spool", flush_ms=10) as recorder:
        for record in crashed_mid_day().records:
            recorder.record(record)
        assert await recorder.drain(10)
    async with Recorder(sqlite_url, tmp_path / "spool") as recorder:
        _, closed = await recorder.restart_state(START + 300)
        assert closed.last_seen is not None
        async with recorder.engine.begin() as conn:
            await account_gap(conn, closed.last_seen, START + 300, 9, 4)
        recorder.record_alive(START + 300, START + 400, None)  # the run after, killed too
        assert await recorder.drain(10)
        _, later = await recorder.restart_state(START + 900)  # a second gap, count unknown
        assert later.last_seen == START + 400
    engine = create_engine(sqlite_url)
    try:
        report = await build_report(
            engine,
            start=datetime.fromtimestamp(START - 3600, UTC),
            end=datetime.fromtimestamp(START + 3600, UTC),
            timezone="UTC",
            now=START + 3600,
        )
    finally:
        await engine.dispose()
    first, second = report.gaps
    assert (first.calls_reported, first.calls_recovered, first.calls_only_here) == (9, 4, 5)
    assert (second.calls_reported, second.calls_only_here) == (None, None)
    blocks = render(report, ReportFormat.CSV).strip().split("\n\n")
    assert len(blocks) == 3
    gap_lines = blocks[2].splitlines()
    down_from = first.down_from.isoformat(timespec="seconds")
    assert gap_lines[0] == "down_from,down_to,calls_reported,calls_recovered,calls_only_here"
    assert gap_lines[1] == f"{down_from},{first.down_to.isoformat(timespec='seconds')},9,4,5"
    assert gap_lines[2].endswith(",,0,")
    page = render(report, ReportFormat.HTML)
    assert "acd was down" in page
    assert f"<td>{down_from}</td>" in page
    assert "<td>9</td><td>4</td><td>5</td>" in page
    text = render(report, ReportFormat.TABLE)
    assert "calls seen by Asterisk: 9 (4 recorded from Asterisk, 5 only here)" in text
    assert "calls seen by Asterisk: unknown" in text


async def test_a_report_after_a_crash_without_restart_stops_at_the_last_heartbeat(
    sqlite_url: str, tmp_path: Path
) -> None:
    """acd killed and not restarted: an hour later, the report counts a1's logged-in time up to
    the run's last heartbeat (START + 100), not up to "now"; a restart later counts again from
    the new run's start, and the down time in between is nobody's."""
    await upgrade_schema(sqlite_url)
    day = crashed_mid_day()
    async with Recorder(sqlite_url, tmp_path / "spool", flush_ms=10) as recorder:
        for record in day.records:
            recorder.record(record)
        recorder.record_alive(START, START + 100, None)
        assert await recorder.drain(10)
    engine = create_engine(sqlite_url)

    async def a2_logged_in(now: float) -> float:
        report = await build_report(
            engine,
            start=datetime.fromtimestamp(START, UTC),
            end=datetime.fromtimestamp(START + 7200, UTC),
            timezone="UTC",
            now=now,
        )
        (a2,) = [a for a in report.advisors if a.agent_id == "a2"]
        return a2.logged_in_s

    try:
        assert await a2_logged_in(START + 105) == 105.0  # alive a moment ago: up to now
        assert await a2_logged_in(START + 3600) == 100.0  # killed: up to its last heartbeat
        # A new run starts at START + 1000 and logs a2 back in (paused); alive at 1500.
        async with Recorder(sqlite_url, tmp_path / "spool", flush_ms=10) as recorder:
            advisors, _ = await recorder.restart_state(START + 1000)
            later = EngineDriver(small_config(agents=("a1", "a2"), wrap_up_s=1.0), START + 1000)
            for event in restore_events(advisors, START + 1000):
                later.at(
                    START + 1000,
                    type(event),
                    agent_id=event.agent_id,
                    paused_reason=event.paused_reason,
                )
            for record in later.records:
                recorder.record(record)
            recorder.record_alive(START + 1000, START + 1500, None)
            assert await recorder.drain(10)
        assert await a2_logged_in(START + 1505) == 100.0 + 505.0
    finally:
        await engine.dispose()


def test_a_call_ringing_at_the_crash_is_closed_as_unknown_ringing() -> None:
    """A call whose last event is an advisor's phone ringing may have been answered in the last
    instant before the crash: it is closed ``fallback`` with reason ``acd_restarted_ringing`` (not
    counted among the callers known to have reached the fallback queue); a waiting call keeps
    ``acd_restarted``."""
    events = [
        CallEventRow("r1", 0, "offered", START, "sales", None, {}),
        CallEventRow("r1", 1, "presented", START + 1, "sales", "a1", {}),
        CallEventRow("w1", 0, "offered", START, "sales", None, {}),
        CallEventRow("w1", 1, "presented", START + 1, "sales", "a2", {}),
        CallEventRow("w1", 2, "not_answered", START + 9, "sales", "a2", {}),
    ]
    rows = {row["call_id"]: row for row in closing_rows(events, START + 10)}
    assert (rows["r1"]["outcome"], rows["r1"]["reason"]) == ("fallback", "acd_restarted_ringing")
    assert (rows["w1"]["outcome"], rows["w1"]["reason"]) == ("fallback", "acd_restarted")


async def test_fallback_rows_gone_since_the_last_count_are_the_ones_the_count_lacks(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Of the calls recorded as fallback, those followed until the previous run's last count
    (row ending at that instant) and gone now left the fallback queue after the count: they are
    the recovered part of the difference; one that ended before the count, one still in
    Asterisk and one closed while ringing are not."""
    await upgrade_schema(sqlite_url)
    counted_at = START + 100
    async with Recorder(sqlite_url, tmp_path / "spool", flush_ms=10) as recorder:
        for call_id, ended_at, reason in (
            ("alive-at-count", counted_at, "acd_down"),
            ("ended-before", counted_at - 3, "acd_down"),
            ("still-there", counted_at, "fallback_queue"),
            ("ringing", counted_at + 1, "acd_restarted_ringing"),
        ):
            recorder.record_fallback(
                CallFellBack(call_id=call_id, at=ended_at, queue="sales", reason=reason)
            )
        assert await recorder.drain(10)
        async with recorder.engine.begin() as conn:
            gone = await fell_back_between(conn, counted_at, START + 200, {"still-there"})
            changed = await calls_over(conn, {"still-there": START + 150, "ended-before": 1.0})
    assert gone == 1
    assert changed == 1  # an end earlier than the row's is not taken


async def test_a_restart_closes_the_listenings_and_recordings_a_crash_left_open(
    db_url: str, tmp_path: Path
) -> None:
    """After a kill -9 mid-listening and mid-recording, the restart ends the listening at the
    last event seen (outcome ``acd_restarted``) and the recording at its file's last write (size
    read, file made private, ``acd_restarted`` in its log) or, without a file, at the last event;
    rows already closed stay as they are, and a second restart changes nothing."""
    await upgrade_schema(db_url)
    day = crashed_mid_day()
    async with Recorder(db_url, tmp_path / "spool", flush_ms=10) as recorder:
        for record in day.records:
            recorder.record(record)
        assert await recorder.drain(10)
    engine = create_engine(db_url)
    attached = Listening(
        "L1", "supervisor:nadia", "a1", "c1", "sales", "", START + 43, [ListeningMode.WHISPER]
    )
    attached.state, attached.started_at = ListeningState.LISTENING, START + 44
    ringing = Listening("L2", "supervisor:marc", "a1", "c1", "sales", "", START + 45)
    done = Listening("L0", "supervisor:nadia", "a1", "c3", "sales", "", START + 13)
    done.started_at, done.ended_at, done.outcome = START + 14, START + 16, "left"
    audio = tmp_path / "c1.wav"
    audio.write_bytes(b"RIFF" + bytes(4096))
    audio.chmod(0o644)
    os.utime(audio, (START + 70, START + 70))  # Asterisk went on recording after the crash
    open_file = Recording("c1", "sales", RecordingStatus.RECORDED, START + 41, path=str(audio))
    open_gone = Recording("c2", "sales", RecordingStatus.RECORDED, START + 50, path="/nowhere.wav")
    closed = Recording("c3", "sales", RecordingStatus.RECORDED, START + 11, ended_at=START + 20)
    try:
        for listening in (attached, ringing, done):
            await save_listening(engine, listening)
        for recording in (open_file, open_gone, closed):
            await save_recording(engine, recording)
        async with Recorder(db_url, tmp_path / "spool") as recorder:
            _, reconciled = await recorder.restart_state(START + 300)
            assert (reconciled.listenings_closed, reconciled.recordings_closed) == (2, 2)
            _, again = await recorder.restart_state(START + 300)
            assert (again.listenings_closed, again.recordings_closed) == (0, 0)
        kept = {x.listening_id: x for x in await listenings_of(engine, "a1", 10)}
        assert (kept["L1"].ended_at, kept["L1"].outcome, kept["L1"].listened_s) == (
            START + 50,
            "acd_restarted",
            6.0,
        )
        assert (kept["L2"].ended_at, kept["L2"].outcome, kept["L2"].listened_s) == (
            START + 50,
            "acd_restarted",
            0.0,
        )
        assert (kept["L0"].ended_at, kept["L0"].outcome) == (START + 16, "left")
        file_row = await recording_of(engine, "c1")
        assert file_row is not None
        recording, log = file_row
        assert (recording.ended_at, recording.size_bytes) == (START + 70, 4100)
        assert [(a.actor, a.action, a.at) for a in log] == [("acd", "acd_restarted", START + 70)]
        assert audio.stat().st_mode & 0o777 == 0o600
        gone_row = await recording_of(engine, "c2")
        assert gone_row is not None
        assert (gone_row[0].ended_at, gone_row[0].size_bytes) == (START + 50, None)
        closed_row = await recording_of(engine, "c3")
        assert closed_row is not None
        assert (closed_row[0].ended_at, closed_row[1]) == (START + 20, [])
    finally:
        await engine.dispose()
