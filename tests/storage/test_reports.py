"""Report figures against hand-computed values, on a daylight-saving day (Europe/Paris 2026-03-29).

The fixture day (local times; clocks jump from 02:00 to 03:00 that night):

- sales (service level 20 s, max wait 120 s then ``queue:support``), served by a1;
  support (service level 30 s), served by a1 and a2. Ring timeout 60 s, wrap-up 10 s.
- 01:50:00 n1 -> support, nobody logged in, hangs up at 01:50:10 (abandon, 10 s).
- 03:05:00 n2 -> support, hangs up at 03:05:02 (short abandon, 2 s).
- 08:00 a1, a2 log in.
- 08:05:00 s1 -> sales, rings a1, answered 08:05:10 (within SL), ends 08:07:10 (talk 120).
- 08:10:00 s2 -> sales, rings a1, caller hangs up 08:10:03 (short abandon).
- 08:20:00 s3 -> sales, rings a1, answered 08:20:30 (not within SL), ends 08:25:30 (talk 300).
- 08:30:00 a1 pauses (lunch).
- 08:40:00 s4 -> sales, waits; 08:42:00 moves on to support, rings a2, answered 08:42:05
  (within support's SL: 5 s in support), ends 08:44:05 (talk 120).
- 08:50:00 p1 -> support, rings a2, answered 08:50:40, transferred 08:52:40 (talk 120).
- 09:00:00 a2 pauses (training). 09:05:00 p2 -> support, caller hangs up 09:05:20 (abandon).
- 09:10:00 a2 logs out. 09:30:00 a1 ready. 09:45:00 a1 logs out.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from acd.core import events as ev
from acd.core.config import (
    AcdConfig,
    AgentConfig,
    OverflowTarget,
    QueueConfig,
    WorkloadPolicy,
)
from acd.storage.database import create_engine
from acd.storage.recorder import Recorder
from acd.storage.reports import (
    ALL_QUEUES,
    Interval,
    QueueFigures,
    Report,
    build_report,
    interval_starts,
    parse_period,
)
from acd.storage.schema import upgrade_schema
from tests.storage.engine_driver import EngineDriver

PARIS = ZoneInfo("Europe/Paris")


def local(hh: int, mm: int, ss: int = 0, day: int = 29, month: int = 3) -> float:
    return datetime(2026, month, day, hh, mm, ss, tzinfo=PARIS).timestamp()


def fixture_day(workload: WorkloadPolicy | None = None) -> EngineDriver:
    config = AcdConfig(
        queues=(
            QueueConfig(
                name="sales",
                service_level_s=20,
                max_wait_s=120,
                overflow=OverflowTarget.parse("queue:support"),
                ring_timeout_s=60,
                wrap_up_s=10,
                announce_interval_s=None,
            ),
            QueueConfig(
                name="support",
                service_level_s=30,
                ring_timeout_s=60,
                wrap_up_s=10,
                announce_interval_s=None,
            ),
        ),
        agents=(
            AgentConfig(id="a1", queues=("sales", "support")),
            AgentConfig(id="a2", queues=("support",)),
        ),
        workload=workload or WorkloadPolicy(enabled=False, min_wrap_up_s=0),
        short_abandon_s=5,
    )
    d = EngineDriver(config, local(0, 0))
    d.at(local(1, 50), ev.CallArrived, call_id="n1", queue="support")
    d.at(local(1, 50, 10), ev.CallerHungUp, call_id="n1")
    d.at(local(3, 5), ev.CallArrived, call_id="n2", queue="support")
    d.at(local(3, 5, 2), ev.CallerHungUp, call_id="n2")
    d.at(local(8, 0), ev.AgentLoggedIn, agent_id="a1")
    d.at(local(8, 0), ev.AgentLoggedIn, agent_id="a2")
    d.at(local(8, 5), ev.CallArrived, call_id="s1", queue="sales", caller_number="0612345678")
    d.at(local(8, 5, 10), ev.AgentAnswered, call_id="s1", agent_id="a1")
    d.at(local(8, 7, 10), ev.CallEnded, call_id="s1")
    d.at(local(8, 10), ev.CallArrived, call_id="s2", queue="sales")
    d.at(local(8, 10, 3), ev.CallerHungUp, call_id="s2")
    d.at(local(8, 20), ev.CallArrived, call_id="s3", queue="sales")
    d.at(local(8, 20, 30), ev.AgentAnswered, call_id="s3", agent_id="a1")
    d.at(local(8, 25, 30), ev.CallEnded, call_id="s3")
    d.at(local(8, 30), ev.AgentPaused, agent_id="a1", reason="lunch")
    d.at(local(8, 40), ev.CallArrived, call_id="s4", queue="sales")
    d.at(local(8, 42, 5), ev.AgentAnswered, call_id="s4", agent_id="a2")
    d.at(local(8, 44, 5), ev.CallEnded, call_id="s4")
    d.at(local(8, 50), ev.CallArrived, call_id="p1", queue="support")
    d.at(local(8, 50, 40), ev.AgentAnswered, call_id="p1", agent_id="a2")
    d.at(local(8, 52, 40), ev.CallTransferred, call_id="p1", agent_id="a2", target="2000")
    d.at(local(9, 0), ev.AgentPaused, agent_id="a2", reason="training")
    d.at(local(9, 5), ev.CallArrived, call_id="p2", queue="support")
    d.at(local(9, 5, 20), ev.CallerHungUp, call_id="p2")
    d.at(local(9, 10), ev.AgentLoggedOut, agent_id="a2")
    d.at(local(9, 30), ev.AgentReady, agent_id="a1")
    d.at(local(9, 45), ev.AgentLoggedOut, agent_id="a1")
    d.advance(local(10, 0))
    return d


async def recorded_fixture_day(url: str, spool_dir: Path) -> None:
    await upgrade_schema(url)
    day = fixture_day()
    async with Recorder(url, spool_dir, flush_rows=50, flush_ms=10) as recorder:
        for record in day.records:
            recorder.record(record)
        assert await recorder.drain(10)


async def report_for(url: str, interval: Interval, day: str = "2026-03-29") -> Report:
    start, end = parse_period(day, day, "Europe/Paris")
    engine = create_engine(url)
    try:
        return await build_report(
            engine,
            start=start,
            end=end,
            timezone="Europe/Paris",
            interval=interval,
            short_abandon_s=5,
            now=local(23, 0, day=30),
        )
    finally:
        await engine.dispose()


def row(report: Report, queue: str, hh: int, mm: int) -> QueueFigures:
    at = datetime(2026, 3, 29, hh, mm, tzinfo=PARIS)
    return next(r for r in report.intervals if r.queue == queue and r.start == at)


def total(report: Report, queue: str) -> QueueFigures:
    return next(r for r in report.totals if r.queue == queue)


def figures(f: QueueFigures) -> dict[str, object]:
    return {
        "offered": f.offered,
        "answered": f.answered,
        "abandoned": f.abandoned,
        "short_abandons": f.short_abandons,
        "answered_within_sl": f.answered_within_sl,
        "service_level": f.service_level,
        "asa_s": f.asa_s,
        "aht_s": f.aht_s,
        "longest_wait_s": f.longest_wait_s,
        "transfers": f.transfers,
        "overflows": f.overflows,
    }


def expect(
    offered: int,
    *,
    answered: int = 0,
    abandoned: int = 0,
    short: int = 0,
    within: int = 0,
    sl: float | None = None,
    asa: float | None = None,
    aht: float | None = None,
    longest: float | None = None,
    transfers: int = 0,
    overflows: int = 0,
) -> dict[str, object]:
    return {
        "offered": offered,
        "answered": answered,
        "abandoned": abandoned,
        "short_abandons": short,
        "answered_within_sl": within,
        "service_level": sl,
        "asa_s": asa,
        "aht_s": aht,
        "longest_wait_s": longest,
        "transfers": transfers,
        "overflows": overflows,
    }


async def test_queue_figures_match_the_hand_computed_day(db_url: str, tmp_path: Path) -> None:
    """Every queue figure of the fixture day, per quarter-hour and in total, as computed by hand."""
    await recorded_fixture_day(db_url, tmp_path / "spool")
    report = await report_for(db_url, Interval.QUARTER_HOUR)
    # A spring-forward day has 23 hours: 92 quarter-hours for each queue and for all queues.
    assert len(report.intervals) == 3 * 92
    assert figures(row(report, "sales", 8, 0)) == expect(
        2, answered=1, abandoned=1, short=1, within=1, sl=1.0, asa=10, aht=130, longest=10
    )
    assert figures(row(report, "sales", 8, 15)) == expect(
        1, answered=1, sl=0.0, asa=30, aht=310, longest=30
    )
    assert figures(row(report, "sales", 8, 30)) == expect(1, sl=0.0, overflows=1)
    assert figures(total(report, "sales")) == expect(
        4, answered=2, abandoned=1, short=1, within=1, sl=1 / 3, asa=20, aht=220, longest=30,
        overflows=1,
    )  # fmt: skip
    assert figures(row(report, "support", 1, 45)) == expect(1, abandoned=1, sl=0.0, longest=10)
    # 02:00-02:59 does not exist that night: the quarter after 01:45 starts at 03:00.
    after = report.intervals.index(row(report, "support", 1, 45)) + 1
    assert report.intervals[after].start == datetime(2026, 3, 29, 3, 0, tzinfo=PARIS)
    assert figures(row(report, "support", 3, 0)) == expect(1, abandoned=1, short=1, longest=2)
    # s4 overflowed in from sales: answered 5 s after entering support but 125 s after first
    # arriving, over support's 30 s target (the clock does not restart at an overflow).
    assert figures(row(report, "support", 8, 30)) == expect(
        1, answered=1, within=0, sl=0.0, asa=125, aht=130, longest=125
    )
    assert figures(row(report, "support", 8, 45)) == expect(
        1, answered=1, sl=0.0, asa=40, aht=130, longest=40, transfers=1
    )
    assert figures(row(report, "support", 9, 0)) == expect(1, abandoned=1, sl=0.0, longest=20)
    assert figures(total(report, "support")) == expect(
        5, answered=2, abandoned=3, short=1, within=0, sl=0.0, asa=82.5, aht=130, longest=125,
        transfers=1,
    )  # fmt: skip
    everything = total(report, ALL_QUEUES)
    # The centre counts each of its 8 calls once: s4 moved from sales to support is one offer.
    assert (everything.offered, everything.answered, everything.abandoned) == (8, 4, 4)
    assert everything.service_level == pytest.approx(1 / 6)
    assert figures(row(report, ALL_QUEUES, 4, 0)) == expect(0)


async def test_advisor_figures_match_the_hand_computed_day(db_url: str, tmp_path: Path) -> None:
    """Advisor times, pauses by reason, calls handled, occupancy and fairness, computed by hand."""
    await recorded_fixture_day(db_url, tmp_path / "spool")
    report = await report_for(db_url, Interval.HOUR)
    a1, a2 = report.advisors
    assert (a1.agent_id, a1.calls_handled, a1.logged_in_s) == ("a1", 2, 6300)
    assert (a1.ringing_s, a1.talk_s, a1.wrap_up_s) == (43, 420, 20)
    assert a1.pause_by_reason == {"lunch": 3600}
    assert a1.available_s == 2217
    assert a1.occupancy == pytest.approx(440 / 2700)
    assert (a2.agent_id, a2.calls_handled, a2.logged_in_s) == ("a2", 2, 4200)
    assert (a2.ringing_s, a2.talk_s, a2.wrap_up_s) == (45, 240, 20)
    assert a2.pause_by_reason == {"training": 600}
    assert a2.occupancy == pytest.approx(260 / 3600)
    fairness = report.fairness
    assert fairness is not None
    assert fairness.advisors == 2
    assert (fairness.calls.minimum, fairness.calls.maximum, fairness.calls.stdev) == (2, 2, 0)
    assert (fairness.talk_s.minimum, fairness.talk_s.maximum, fairness.talk_s.mean) == (
        240,
        420,
        330,
    )


async def test_hourly_and_daily_intervals_follow_the_local_day(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Hours and days are local: 23 hours on the spring-forward day, one day that adds up."""
    await recorded_fixture_day(sqlite_url, tmp_path / "spool")
    hourly = await report_for(sqlite_url, Interval.HOUR)
    assert len([r for r in hourly.intervals if r.queue == ALL_QUEUES]) == 23
    assert figures(row(hourly, "sales", 8, 0)) == figures(total(hourly, "sales"))
    daily = await report_for(sqlite_url, Interval.DAY)
    (sales_day,) = [r for r in daily.intervals if r.queue == "sales"]
    assert figures(sales_day) == figures(total(hourly, "sales"))
    assert sales_day.end.timestamp() - sales_day.start.timestamp() == 23 * 3600


@pytest.mark.parametrize(
    ("day", "interval", "count"),
    [
        ("2026-03-29", Interval.QUARTER_HOUR, 92),
        ("2026-10-25", Interval.QUARTER_HOUR, 100),
        ("2026-10-26", Interval.QUARTER_HOUR, 96),
        ("2026-03-29", Interval.HOUR, 23),
        ("2026-10-25", Interval.HOUR, 25),
        ("2026-10-25", Interval.DAY, 1),
    ],
)
def test_interval_count_across_daylight_saving(day: str, interval: Interval, count: int) -> None:
    """A local day has 92, 96 or 100 quarter-hours (23, 24 or 25 hours) around DST changes."""
    start, end = parse_period(day, day, "Europe/Paris")
    starts = interval_starts(start, end, interval, PARIS)
    assert len(starts) == count
    assert len({s.timestamp() for s in starts}) == count  # the repeated hour is two intervals


def test_period_parsing() -> None:
    """--from/--to accept dates (a --to date includes its day) and local or offset date-times."""
    start, end = parse_period("2026-10-25", "2026-10-25", "Europe/Paris")
    assert end.timestamp() - start.timestamp() == 25 * 3600
    start, end = parse_period("2026-10-25T08:00", "2026-10-25T09:00+01:00", "Europe/Paris")
    assert end.timestamp() - start.timestamp() == 3600
    with pytest.raises(ValueError, match="must be after"):
        parse_period("2026-10-25", "2026-10-24", "Europe/Paris")
    with pytest.raises(ValueError, match="not a date"):
        parse_period("yesterday", "2026-10-24", "Europe/Paris")


async def test_the_repeated_hour_of_the_fall_back_day_is_two_sets_of_intervals(
    sqlite_url: str, tmp_path: Path
) -> None:
    """On 2026-10-25 (100 quarter-hours), a call at 02:10 summer time and one at 02:10 winter
    time, an hour apart, land in different quarter-hours that both start at 02:00 local."""
    await upgrade_schema(sqlite_url)
    config = AcdConfig(
        queues=(QueueConfig(name="sales", announce_interval_s=None),),
        agents=(AgentConfig(id="a1", queues=("sales",)),),
        workload=WorkloadPolicy(enabled=False),
    )
    summer = datetime(2026, 10, 25, 2, 10, tzinfo=PARIS, fold=0).timestamp()
    winter = datetime(2026, 10, 25, 2, 10, tzinfo=PARIS, fold=1).timestamp()
    assert winter - summer == 3600
    d = EngineDriver(config, summer - 60)
    d.at(summer, ev.CallArrived, call_id="summer", queue="sales")
    d.at(summer + 10, ev.CallerHungUp, call_id="summer")
    d.at(winter, ev.CallArrived, call_id="winter", queue="sales")
    d.at(winter + 3, ev.CallerHungUp, call_id="winter")
    async with Recorder(sqlite_url, tmp_path / "spool", flush_rows=50, flush_ms=10) as recorder:
        for record in d.records:
            recorder.record(record)
        assert await recorder.drain(10)
    report = await report_for(sqlite_url, Interval.QUARTER_HOUR, day="2026-10-25")
    sales = [r for r in report.intervals if r.queue == "sales"]
    assert len(sales) == 100
    busy = [(r.start.isoformat(), r.offered, r.short_abandons) for r in sales if r.offered]
    assert busy == [
        ("2026-10-25T02:00:00+02:00", 1, 0),
        ("2026-10-25T02:00:00+01:00", 1, 1),
    ]


def test_calls_of_a_day_are_read_back_for_the_simulator(sqlite_url: str, tmp_path: Path) -> None:
    """`acd simulate --from-db` gets the day's calls in arrival order, with outcomes and times."""
    from acd.storage.history import calls_of_day

    asyncio.run(recorded_fixture_day(sqlite_url, tmp_path / "spool"))
    day = calls_of_day(sqlite_url, date(2026, 3, 29), "Europe/Paris")
    assert [c.call_id for c in day] == ["n1", "n2", "s1", "s2", "s3", "s4", "p1", "p2"]
    s4 = day[5]
    assert (s4.first_queue, s4.queue, s4.outcome, s4.wait_s, s4.talk_s) == (
        "sales",
        "support",
        "answered",
        125.0,
        120.0,
    )
    assert calls_of_day(sqlite_url, date(2026, 3, 28), "Europe/Paris") == []
