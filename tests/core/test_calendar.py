"""Opening hours: weekly ranges, holidays, exceptions, last entry, DST, next change."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import holidays
import pytest

from acd.core.calendar import (
    CentreCalendar,
    DayException,
    Reason,
    Schedule,
    TimeRange,
    next_transition,
    open_spans,
    opening_at,
)
from acd.core.errors import ConfigError

PARIS = ZoneInfo("Europe/Paris")
HOUR = 3600.0


def paris(*args: int) -> float:
    return dt.datetime(*args, tzinfo=PARIS).timestamp()


def ranges(*texts: str) -> tuple[TimeRange, ...]:
    return tuple(TimeRange.parse(t) for t in texts)


WEEKDAY = ranges("08:30-12:30", "13:30-18:00")
OFFICE = Schedule(
    "bureau",
    week=(WEEKDAY, WEEKDAY, WEEKDAY, WEEKDAY, WEEKDAY, ranges("09:00-12:00"), ()),
    exceptions=(
        DayException(dt.date(2026, 12, 24), closed_from=16 * 60, label="Veille de Noël"),
        DayException(dt.date(2026, 12, 13), ranges=ranges("10:00-17:00"), label="Téléthon"),
    ),
)


def centre(subdivision: str | None = None) -> CentreCalendar:
    dates = holidays.country_holidays(
        "FR", subdiv=subdivision, years=range(2026, 2028), language="fr"
    )
    return CentreCalendar(zone=PARIS, holidays=dict(dates))


FR = centre()
ALSACE = centre("6AE")


def test_several_ranges_a_day_and_the_next_change() -> None:
    """Open in the morning, closed over lunch until 13:30, open on Saturday morning only."""
    morning = opening_at(OFFICE, FR, paris(2026, 12, 1, 10, 0))
    assert (morning.open, morning.reason) == (True, Reason.SCHEDULE)
    assert morning.next_change == paris(2026, 12, 1, 12, 30)
    assert morning.next_open is False
    lunch = opening_at(OFFICE, FR, paris(2026, 12, 1, 12, 45))
    assert (lunch.open, lunch.reason, lunch.next_change) == (
        False,
        Reason.SCHEDULE,
        paris(2026, 12, 1, 13, 30),
    )
    assert lunch.next_open is True
    saturday = opening_at(OFFICE, FR, paris(2026, 12, 5, 11, 0))
    assert saturday.open
    assert saturday.next_change == paris(2026, 12, 5, 12, 0)
    sunday = opening_at(OFFICE, FR, paris(2026, 12, 6, 11, 0))
    assert not sunday.open
    assert sunday.next_change == paris(2026, 12, 7, 8, 30)


def test_one_second_before_and_after_closing() -> None:
    """18:00 is the first closed second; 17:59:59 is still open."""
    before = opening_at(OFFICE, FR, paris(2026, 12, 1, 17, 59, 59))
    after = opening_at(OFFICE, FR, paris(2026, 12, 1, 18, 0, 0))
    assert before.open
    assert before.closes_at == paris(2026, 12, 1, 18, 0)
    assert not after.open
    assert after.reason is Reason.SCHEDULE
    assert after.next_change == paris(2026, 12, 2, 8, 30)


def test_public_holiday_closes_the_day_with_its_name() -> None:
    """On Christmas Day the office is closed for the holiday (Noël), open again on the 26th."""
    christmas = opening_at(OFFICE, FR, paris(2026, 12, 25, 10, 0))
    assert (christmas.open, christmas.reason, christmas.detail) == (False, Reason.HOLIDAY, "Noël")
    # The 26th is a Saturday: open 09:00 nationally...
    assert christmas.next_change == paris(2026, 12, 26, 9, 0)
    # ...but Saint-Étienne is a holiday in Alsace-Moselle: closed until Monday.
    alsace = opening_at(OFFICE, ALSACE, paris(2026, 12, 25, 10, 0))
    assert alsace.next_change == paris(2026, 12, 28, 8, 30)
    assert opening_at(OFFICE, ALSACE, paris(2026, 12, 26, 10, 0)).detail == "Saint-Étienne"


def test_holiday_outside_usual_hours_reads_as_schedule() -> None:
    """At 22:00 on a holiday the office would be closed anyway: the reason is the schedule."""
    late = opening_at(OFFICE, FR, paris(2026, 12, 25, 22, 0))
    assert (late.open, late.reason) == (False, Reason.SCHEDULE)


def test_schedule_may_ignore_holidays() -> None:
    """A schedule that does not observe holidays is open on Christmas Day."""
    open_on_holidays = Schedule("hotline", week=OFFICE.week, observe_holidays=False)
    assert opening_at(open_on_holidays, FR, paris(2026, 12, 25, 10, 0)).open


def test_dated_exceptions_close_early_and_open_a_sunday() -> None:
    """Closed from 16:00 on 2026-12-24 (reason exception); open 10:00-17:00 on Sunday 2026-12-13."""
    before = opening_at(OFFICE, FR, paris(2026, 12, 24, 15, 59, 59))
    assert before.open
    assert before.next_change == paris(2026, 12, 24, 16, 0)
    eve = opening_at(OFFICE, FR, paris(2026, 12, 24, 16, 0))
    assert (eve.open, eve.reason, eve.detail) == (False, Reason.EXCEPTION, "Veille de Noël")
    assert eve.next_change == paris(2026, 12, 26, 9, 0)
    sunday = opening_at(OFFICE, FR, paris(2026, 12, 13, 10, 0))
    assert (sunday.open, sunday.reason, sunday.detail) == (True, Reason.EXCEPTION, "Téléthon")
    assert sunday.next_change == paris(2026, 12, 13, 17, 0)


def test_last_entry_turns_new_callers_away_before_closing() -> None:
    """With 900 s of last entry, 17:44:59 is open, 17:45 closed for newcomers until 18:00 closes."""
    before = opening_at(OFFICE, FR, paris(2026, 12, 1, 17, 44, 59), last_entry_s=900)
    assert before.open
    assert before.next_change == paris(2026, 12, 1, 17, 45)
    last = opening_at(OFFICE, FR, paris(2026, 12, 1, 17, 45), last_entry_s=900)
    assert (last.open, last.reason, last.in_hours) == (False, Reason.LAST_ENTRY, True)
    assert last.detail == "last entry 17:45"
    assert last.closes_at == paris(2026, 12, 1, 18, 0)
    assert last.next_change == paris(2026, 12, 2, 8, 30)
    closed = opening_at(OFFICE, FR, paris(2026, 12, 1, 18, 0), last_entry_s=900)
    assert (closed.open, closed.in_hours) == (False, False)


def test_transitions_of_a_day_in_order() -> None:
    """The runtime's timer instants: opening, last entry and closing of each range, in order."""
    at = paris(2026, 12, 1, 0, 0)
    seen = []
    for _ in range(7):
        nxt = next_transition(OFFICE, FR, at, last_entry_s=900)
        assert nxt is not None
        seen.append(nxt)
        at = nxt
    assert seen == [
        paris(2026, 12, 1, 8, 30),
        paris(2026, 12, 1, 12, 15),
        paris(2026, 12, 1, 12, 30),
        paris(2026, 12, 1, 13, 30),
        paris(2026, 12, 1, 17, 45),
        paris(2026, 12, 1, 18, 0),
        paris(2026, 12, 2, 8, 30),
    ]


def test_emergency_closure_wins_and_has_no_next_change() -> None:
    """An emergency closure closes an open queue until it is reopened."""
    state = opening_at(OFFICE, FR, paris(2026, 12, 1, 10, 0), emergency="exercice incendie")
    assert (state.open, state.reason, state.detail) == (
        False,
        Reason.EMERGENCY,
        "exercice incendie",
    )
    assert state.next_change is None


def test_no_schedule_is_always_open() -> None:
    """A queue without a schedule is open at any instant, with no next change."""
    state = opening_at(None, FR, paris(2026, 12, 25, 3, 0))
    assert (state.open, state.detail, state.next_change) == (True, "always open", None)
    assert next_transition(None, FR, paris(2026, 12, 25, 3, 0)) is None


def test_night_ranges_join_across_midnight() -> None:
    """22:00-24:00 then 00:00-06:00 the next day is one opening: next change at 06:00."""
    nights = ranges("00:00-06:00", "22:00-24:00")
    night = Schedule("nuit", week=(nights,) * 7, observe_holidays=False)
    state = opening_at(night, FR, paris(2026, 12, 1, 23, 0))
    assert state.open
    assert state.next_change == paris(2026, 12, 2, 6, 0)


def test_a_week_with_a_holiday_and_a_daylight_saving_change() -> None:
    """Spring week in Alsace-Moselle: Sunday's night range loses an hour, Good Friday is closed."""
    sunday_night = ranges("00:00-06:00")
    shop = Schedule(
        "atelier",
        week=(WEEKDAY, WEEKDAY, WEEKDAY, WEEKDAY, WEEKDAY, ranges("09:00-12:00"), sunday_night),
    )
    # Sunday 2026-03-29: clocks go from 02:00 to 03:00; Friday 2026-04-03 is Good Friday there.
    spans = open_spans(shop, ALSACE, paris(2026, 3, 29), paris(2026, 4, 5))
    hours = [round((e - s) / HOUR, 2) for s, e in spans]
    assert hours == [5.0, 4.0, 4.5, 4.0, 4.5, 4.0, 4.5, 4.0, 4.5, 3.0]
    friday = opening_at(shop, ALSACE, paris(2026, 4, 3, 10, 0))
    assert (friday.reason, friday.detail) == (Reason.HOLIDAY, "Vendredi saint")
    assert opening_at(shop, FR, paris(2026, 4, 3, 10, 0)).open  # not a holiday elsewhere
    # Wall-clock boundaries: 06:00 on the spring Sunday is 06:00 summer time (04:00 UTC).
    assert spans[0][1] == dt.datetime(2026, 3, 29, 4, 0, tzinfo=dt.UTC).timestamp()


def test_autumn_change_makes_a_night_range_longer() -> None:
    """On 2026-10-25 the repeated hour makes 00:00-06:00 last seven hours."""
    night = Schedule("nuit", week=((),) * 6 + (ranges("00:00-06:00"),), observe_holidays=False)
    spans = open_spans(night, FR, paris(2026, 10, 25), paris(2026, 10, 26))
    assert [(e - s) / HOUR for s, e in spans] == [7.0]


def test_boundary_in_the_missing_hour_takes_the_old_offset() -> None:
    """02:30 on the spring night does not exist: it is read as 03:30 summer time."""
    night = Schedule("nuit", week=((),) * 6 + (ranges("02:30-04:00"),), observe_holidays=False)
    spans = open_spans(night, FR, paris(2026, 3, 29), paris(2026, 3, 30))
    assert [(e - s) / 60 for s, e in spans] == [30.0]


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: TimeRange.parse("12:00-08:00"), "range"),
        (lambda: TimeRange.parse("8h-12h"), "range"),
        (lambda: Schedule("x", week=(ranges("08:00-12:00", "11:00-14:00"),) + ((),) * 6), "monday"),
        (lambda: Schedule("x", week=((),) * 7), "schedules[x]"),
        (lambda: DayException(dt.date(2026, 12, 24)), "exceptions[2026-12-24]"),
        (
            lambda: Schedule(
                "x",
                week=(WEEKDAY,) * 7,
                exceptions=(
                    DayException(dt.date(2026, 1, 2), ranges=()),
                    DayException(dt.date(2026, 1, 2), closed_from=600),
                ),
            ),
            "exceptions[2026-01-02]",
        ),
    ],
)
def test_invalid_schedules_are_refused_naming_the_field(build: object, field: str) -> None:
    """Reversed or malformed ranges, overlaps, never-open schedules, empty or doubled exceptions."""
    assert callable(build)
    with pytest.raises(ConfigError) as info:
        build()
    assert field in info.value.field
