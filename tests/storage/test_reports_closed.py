"""Reports and opening hours: callers who rang while closed are counted apart, not offered."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from acd.core import events as ev
from acd.core.calendar import CentreCalendar, Schedule, TimeRange, open_spans, opening_at
from acd.core.config import AcdConfig, AgentConfig, QueueConfig, WorkloadPolicy
from acd.storage.report_formats import render_table
from acd.storage.reports import Interval, parse_period
from tests.storage.engine_driver import EngineDriver, report_of_day

PARIS = ZoneInfo("Europe/Paris")
CENTRE = CentreCalendar(zone=PARIS)
OFFICE = Schedule("bureau", week=((TimeRange(9 * 60, 12 * 60),),) * 7, observe_holidays=False)


def local(hh: int, mm: int) -> float:
    return datetime(2026, 12, 1, hh, mm, tzinfo=PARIS).timestamp()


def office_at_eight(**sales: Any) -> EngineDriver:
    """sales (``sales``: its other settings) opens 09:00-12:00; the driver at 08:00, closed."""
    config = AcdConfig(
        queues=(QueueConfig("sales", schedule="bureau", announce_interval_s=None, **sales),),
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
    return d


def closed_morning() -> EngineDriver:
    """sales opens 09:00-12:00; two callers at 08:10 and 08:20 (closed), one at 09:10 (answered)."""
    d = office_at_eight()
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
    start, end = parse_period("2026-12-01", "2026-12-01", "Europe/Paris")
    report = await report_of_day(
        db_url,
        tmp_path / "spool",
        closed_morning().records,
        "2026-12-01",
        interval=Interval.HOUR,
        now=local(23, 0),
        openings={"sales": open_spans(OFFICE, CENTRE, start.timestamp(), end.timestamp())},
    )
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

    d = office_at_eight(closed=OverflowTarget.parse("callback"))
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
    report = await report_of_day(
        db_url, tmp_path / "spool", d.records, "2026-12-01", now=local(23, 0)
    )
    day = next(r for r in report.totals if r.queue == "sales")
    assert (day.offered, day.closed_callers, day.callback_requested, day.abandoned) == (0, 1, 0, 0)
