"""The simulator honours opening hours and holidays, deciding as the daemon does."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

from acd.core.calendar import CentreCalendar, Schedule, TimeRange
from acd.core.config import AcdConfig
from acd.core.states import Outcome
from acd.sim.figures import day_figures
from acd.sim.scenario import ScenarioHours
from acd.sim.simulator import run_day
from tests.sim.builders import HOUR, small_centre, small_day

PARIS = ZoneInfo("Europe/Paris")
# sales opens 09:00-10:30 only; support keeps no schedule (always open).
SALES_HOURS = Schedule("matin", week=((TimeRange(9 * 60, 10 * 60 + 30),),) * 7)
CENTRE = CentreCalendar(zone=PARIS, holidays={dt.date(2026, 12, 25): "Noël"})


def config_with_hours() -> AcdConfig:
    base = small_centre()
    queues = tuple(
        dataclasses.replace(q, schedule="matin") if q.name == "sales" else q for q in base.queues
    )
    return dataclasses.replace(base, queues=queues, schedules=(SALES_HOURS,))


def hours_of(day: dt.date) -> ScenarioHours:
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=PARIS)
    return ScenarioHours(centre=CENTRE, day_start=midnight.timestamp())


def test_arrivals_outside_hours_become_closed() -> None:
    """On a Tuesday, sales callers before 09:00 or from 10:30 are closed; inside hours offered."""
    scenario = dataclasses.replace(small_day(), hours=hours_of(dt.date(2026, 12, 1)))
    result = run_day(config_with_hours(), scenario, seed=3)
    sales = [c for c in result.calls if c.first_queue == "sales"]
    closed = [c for c in sales if c.outcome is Outcome.CLOSED]
    assert closed
    assert all(not 9 * HOUR <= c.offered_at < 10.5 * HOUR for c in closed)
    assert all(9 * HOUR <= c.offered_at < 10.5 * HOUR for c in sales if c not in closed)
    support = [c for c in result.calls if c.first_queue == "support"]
    assert all(c.outcome is not Outcome.CLOSED for c in support)
    figures = day_figures(result)
    assert figures.queues["sales"].closed == len(closed)
    assert figures.queues["sales"].offered == len(sales) - len(closed)


def test_a_holiday_closes_the_whole_day() -> None:
    """On Christmas Day every sales caller is closed (the schedule observes holidays)."""
    scenario = dataclasses.replace(small_day(), hours=hours_of(dt.date(2026, 12, 25)))
    result = run_day(config_with_hours(), scenario, seed=3)
    sales = [c for c in result.calls if c.first_queue == "sales"]
    assert sales
    assert {c.outcome for c in sales} == {Outcome.CLOSED}


def test_without_hours_the_schedule_is_not_applied() -> None:
    """A scenario without a date keeps every queue open (as before schedules existed)."""
    result = run_day(config_with_hours(), small_day(), seed=3)
    assert all(c.outcome is not Outcome.CLOSED for c in result.calls)
