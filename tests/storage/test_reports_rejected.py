"""Callers refused by join_when_empty are shown as rejected and left out of the service level."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from acd.admin.models import queue_out, stats_out
from acd.core import events as ev
from acd.core.config import AcdConfig, AgentConfig, EmptyPolicy, QueueConfig, WorkloadPolicy
from acd.core.percentiles import WaitPercentiles
from acd.storage.database import create_engine
from acd.storage.recorder import Recorder
from acd.storage.report_formats import WAIT_COLUMNS, render_csv, render_table
from acd.storage.reports import Interval, build_report, parse_period
from acd.storage.schema import upgrade_schema
from tests.storage.engine_driver import EngineDriver, report_of_day

PARIS = ZoneInfo("Europe/Paris")


def local(hh: int, mm: int) -> float:
    return datetime(2026, 12, 1, hh, mm, tzinfo=PARIS).timestamp()


def refused_then_served() -> EngineDriver:
    """Nobody logged in at 09:00 (the caller is refused), a1 answers a caller at once at 09:10."""
    config = AcdConfig(
        queues=(
            QueueConfig(
                "sales", join_when_empty=EmptyPolicy.NO_LOGGED_IN, announce_interval_s=None
            ),
        ),
        agents=(AgentConfig("a1", queues=("sales",)),),
        workload=WorkloadPolicy(enabled=False, min_wrap_up_s=0),
    )
    d = EngineDriver(config, local(8, 0))
    d.at(local(9, 0), ev.CallArrived, call_id="refused", queue="sales")
    d.at(local(9, 5), ev.AgentLoggedIn, agent_id="a1")
    d.at(local(9, 10), ev.CallArrived, call_id="served", queue="sales")
    d.at(local(9, 10), ev.AgentAnswered, call_id="served", agent_id="a1")
    d.at(local(9, 12), ev.CallEnded, call_id="served")
    d.advance(local(10, 0))
    return d


async def test_rejected_callers_are_shown_and_out_of_the_denominator(
    db_url: str, tmp_path: Path
) -> None:
    """One refused and one answered within target: rejected 1, service level 100 % (not 50 %)."""
    await upgrade_schema(db_url)
    async with Recorder(db_url, tmp_path / "spool", flush_rows=50, flush_ms=10) as recorder:
        for record in refused_then_served().records:
            recorder.record(record)
        assert await recorder.drain(10)
    start, end = parse_period("2026-12-01", "2026-12-01", "Europe/Paris")
    engine = create_engine(db_url)
    try:
        report = await build_report(
            engine, start=start, end=end, timezone="Europe/Paris", interval=Interval.DAY
        )
    finally:
        await engine.dispose()
    day = next(r for r in report.totals if r.queue == "sales")
    assert (day.offered, day.rejected, day.answered_within_sl) == (2, 1, 1)
    assert day.service_level == 1.0


def answered_after(waits: tuple[float, ...], abandoned_after: float) -> EngineDriver:
    """One advisor; callers answered after ``waits`` seconds, one hangs up after waiting."""
    config = AcdConfig(
        queues=(QueueConfig("sales", announce_interval_s=None, priority_ageing_s=0),),
        agents=(AgentConfig("a1", queues=("sales",)),),
        workload=WorkloadPolicy(enabled=False, min_wrap_up_s=0),
    )
    d = EngineDriver(config, local(8, 0))
    d.at(local(8, 0), ev.AgentLoggedIn, agent_id="a1")
    d.at(local(8, 1), ev.AgentPaused, agent_id="a1", reason="brief")
    d.at(local(9, 0), ev.CallArrived, call_id="gone", queue="sales")
    d.at(local(9, 0) + abandoned_after, ev.CallerHungUp, call_id="gone")
    for i, wait in enumerate(waits):
        start = local(10 + i, 0)
        d.at(start, ev.CallArrived, call_id=f"c{i}", queue="sales")
        d.at(start + wait, ev.AgentReady, agent_id="a1")
        d.at(start + wait, ev.AgentAnswered, call_id=f"c{i}", agent_id="a1")
        d.at(start + wait + 60, ev.CallEnded, call_id=f"c{i}")
        d.advance(start + wait + 600)
        d.at(start + wait + 600, ev.AgentPaused, agent_id="a1", reason="brief")
    return d


async def test_wait_percentiles_of_answered_and_abandoned_calls(
    db_url: str, tmp_path: Path
) -> None:
    """Nearest-rank p50/p90/p95/p99 of answered waits (10, 20, 30, 40 s) and of abandoned ones:
    the same in the report (JSON, CSV, table), the engine's view of the day and the HTTP API."""
    day_driver = answered_after((10.0, 20.0, 30.0, 40.0), 50.0)
    report = await report_of_day(
        db_url, tmp_path / "spool", day_driver.records, "2026-12-01", interval=Interval.DAY
    )
    day = next(r for r in report.totals if r.queue == "sales")
    answered = (
        day.answered_wait_p50_s,
        day.answered_wait_p90_s,
        day.answered_wait_p95_s,
        day.answered_wait_p99_s,
    )
    assert answered == (20.0, 40.0, 40.0, 40.0)
    assert (day.abandoned_wait_p50_s, day.abandoned_wait_p99_s) == (50.0, 50.0)
    rows = list(csv.DictReader(io.StringIO(render_csv(report).split("\n\n")[0])))
    total = next(r for r in rows if r["kind"] == "total" and r["queue"] == "sales")
    assert [total[c] for c in WAIT_COLUMNS] == ["20.0", "40.0", "40.0", "40.0", *["50.0"] * 4]
    assert all(r[WAIT_COLUMNS[0]] == "" for r in rows if r["kind"] == "interval")
    table = render_table(report)
    assert "answered_wait_p95_s" in table
    block = table.split("Wait percentiles")[1].splitlines()
    sales_row = next(line.split() for line in block if line.startswith("sales"))
    assert sales_row == ["sales", "20.0", "40.0", "40.0", "40.0", *["50.0"] * 4]
    # The live figures of the same day: the engine's queue and centre views, and the API's.
    view = day_driver.engine.queue_view("sales")
    assert view.answered_waits == WaitPercentiles(20.0, 40.0, 40.0, 40.0)
    assert view.abandoned_waits == WaitPercentiles(50.0, 50.0, 50.0, 50.0)
    api_queue = queue_out(view)
    api_centre = stats_out(day_driver.engine.snapshot())
    for figures in (api_queue, api_centre):
        assert (figures.answered_wait_p50_s, figures.answered_wait_p95_s) == (20.0, 40.0)
        assert figures.abandoned_wait_p90_s == 50.0
