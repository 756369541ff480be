"""Reports and opening hours: callers who rang while closed are counted apart, not offered."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from acd.core import events as ev
from acd.core.calendar import CentreCalendar, Schedule, TimeRange, open_spans, opening_at
from acd.core.config import AcdConfig, AgentConfig, QueueConfig, WorkloadPolicy
from acd.storage.database import create_engine
from acd.storage.recorder import Recorder
from acd.storage.report_formats import render_table
from acd.storage.reports import Interval, build_report, parse_period
from acd.storage.schema import upgrade_schema
from tests.storage.engine_driver import EngineDriver

PARIS = ZoneInfo("Europe/Paris")
CENTRE = CentreCalendar(zone=PARIS)
OFFICE = Schedule("bureau", week=((TimeRange(9 * 60, 12 * 60),),) * 7, observe_holidays=False)


def local(hh: int, mm: int) -> float:
    return datetime(2026, 12, 1, hh, mm, tzinfo=PARIS).timestamp()


def closed_morning() -> EngineDriver:
    """sales opens 09:00-12:00; two callers at 08:10 and 08:20 (closed), one at 09:10 (answered)."""
    config = AcdConfig(
        queues=(QueueConfig("sales", schedule="bureau", announce_interval_s=None),),
        agents=(AgentConfig("a1", queues=("sales",)),),
        workload=WorkloadPolicy(enabled=False, min_wrap_up_s=0),
        schedules=(OFFICE,),
    )
    d = EngineDriver(config, local(8, 0))
    d.at(
        local(8, 0),
        ev.QueueHoursChanged,
        queue="sales",
        opening=opening_at(OFFICE, CENTRE, local(8, 0)),
    )
    d.at(local(8, 10), ev.CallArrived, call_id="c1", queue="sales")
    d.at(local(8, 20), ev.CallArrived, call_id="c2", queue="sales")
    d.at(
        local(9, 0),
        ev.QueueHoursChanged,
        queue="sales",
        opening=opening_at(OFFICE, CENTRE, local(9, 0)),
    )
    d.at(local(9, 0), ev.AgentLoggedIn, agent_id="a1")
    d.at(local(9, 10), ev.CallArrived, call_id="c3", queue="sales")
    d.at(local(9, 10), ev.AgentAnswered, call_id="c3", agent_id="a1")
    d.at(local(9, 12), ev.CallEnded, call_id="c3")
    d.advance(local(10, 0))
    return d


async def test_closed_callers_are_counted_apart_and_closed_hours_shown(
    db_url: str, tmp_path: Path
) -> None:
    """08:00-09:00 shows 2 closed callers and no service level ("closed"); the day's service
    level counts only the caller offered while open."""
    await upgrade_schema(db_url)
    async with Recorder(db_url, tmp_path / "spool", flush_rows=50, flush_ms=10) as recorder:
        for record in closed_morning().records:
            recorder.record(record)
        assert await recorder.drain(10)
    start, end = parse_period("2026-12-01", "2026-12-01", "Europe/Paris")
    engine = create_engine(db_url)
    try:
        report = await build_report(
            engine,
            start=start,
            end=end,
            timezone="Europe/Paris",
            interval=Interval.HOUR,
            now=local(23, 0),
            openings={"sales": open_spans(OFFICE, CENTRE, start.timestamp(), end.timestamp())},
        )
    finally:
        await engine.dispose()
    eight = next(r for r in report.intervals if r.queue == "sales" and r.start.hour == 8)
    nine = next(r for r in report.intervals if r.queue == "sales" and r.start.hour == 9)
    assert (eight.offered, eight.closed_callers, eight.open_s, eight.service_level) == (
        0,
        2,
        0.0,
        None,
    )
    assert eight.closed
    assert (nine.offered, nine.answered, nine.service_level, nine.open_s) == (1, 1, 1.0, 3600.0)
    day = next(r for r in report.totals if r.queue == "sales")
    assert (day.offered, day.closed_callers, day.service_level) == (1, 2, 1.0)
    table = render_table(report)
    eight_line = next(line for line in table.splitlines() if "T08:00" in line)
    assert "closed" in eight_line


async def test_a_closed_caller_who_takes_a_callback_counts_as_closed(
    db_url: str, tmp_path: Path
) -> None:
    """closed = "callback": the caller of 08:10 who took a callback is a closed caller in the
    report, not offered and not among the offered callers who chose a callback."""
    from acd.core.config import OverflowTarget

    config = AcdConfig(
        queues=(
            QueueConfig(
                "sales",
                schedule="bureau",
                announce_interval_s=None,
                closed=OverflowTarget.parse("callback"),
            ),
        ),
        agents=(AgentConfig("a1", queues=("sales",)),),
        workload=WorkloadPolicy(enabled=False, min_wrap_up_s=0),
        schedules=(OFFICE,),
    )
    d = EngineDriver(config, local(8, 0))
    d.at(
        local(8, 0),
        ev.QueueHoursChanged,
        queue="sales",
        opening=opening_at(OFFICE, CENTRE, local(8, 0)),
    )
    d.at(local(8, 10), ev.CallArrived, call_id="c1", queue="sales", caller_number="0612345678")
    d.at(local(8, 10), ev.CallerKeyPressed, call_id="c1", digit="1")
    d.at(local(8, 10), ev.CallbackNumberConfirmed, call_id="c1", number="+33612345678")
    d.at(
        local(8, 10),
        ev.CallbackRequested,
        call_id="c1-cb",
        queue="sales",
        number="+33612345678",
        from_call_id="c1",
    )
    d.advance(local(8, 30))
    await upgrade_schema(db_url)
    async with Recorder(db_url, tmp_path / "spool", flush_rows=50, flush_ms=10) as recorder:
        for record in d.records:
            recorder.record(record)
        assert await recorder.drain(10)
    start, end = parse_period("2026-12-01", "2026-12-01", "Europe/Paris")
    engine = create_engine(db_url)
    try:
        report = await build_report(
            engine, start=start, end=end, timezone="Europe/Paris", now=local(23, 0)
        )
    finally:
        await engine.dispose()
    day = next(r for r in report.totals if r.queue == "sales")
    assert (day.offered, day.closed_callers, day.callback_requested, day.abandoned) == (0, 1, 0, 0)
