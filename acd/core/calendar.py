"""Opening hours: weekly schedules, public holidays and dated exceptions, evaluated at an instant.

The only module of ``acd.core`` that touches ``datetime``/``zoneinfo``, and it never reads a
clock: every function takes the instant (epoch seconds), the centre's zone and its holiday dates
as data. The holiday dates come from the ``holidays`` package, computed outside the core (settings,
``acd simulate``'s loader), so the daemon, ``acd hours`` and the simulator decide the same.

Ranges are local wall-clock time in the centre's zone. On the night clocks change, a range that
spans the missing hour is an hour shorter in real time and one that spans the repeated hour an
hour longer (08:00-18:00 is always "from eight to six" on the clock on the wall). A boundary that
falls in the missing hour is read with the offset in force before the change (02:30 on the spring
night is 03:30 summer time); one that falls in the repeated hour is its first occurrence.

Precedence on a given local day: a dated exception, else a public holiday (when the schedule
observes holidays: the day is closed), else the weekly ranges of that weekday. An emergency
closure (data passed in by the caller) wins over all of them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from acd.core.errors import ConfigError

WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MINUTES_PER_DAY: Final = 24 * 60
# How far ahead the next opening is looked for: a schedule closed for longer is "closed until
# further notice" (next_change None).
HORIZON_DAYS: Final = 400

_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


def parse_clock(text: str, field_name: str) -> int:
    """``"08:30"`` -> 510 minutes after local midnight; ``"24:00"`` (end of day) is allowed."""
    m = _HHMM.match(text.strip()) if isinstance(text, str) else None
    if m is None:
        raise ConfigError(field_name, f"expected HH:MM, got {text!r}")
    minutes = int(m.group(1)) * 60 + int(m.group(2))
    if minutes > MINUTES_PER_DAY:
        raise ConfigError(field_name, f"expected HH:MM up to 24:00, got {text!r}")
    return minutes


def format_clock(minutes: int) -> str:
    """510 -> ``"08:30"``."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, slots=True, order=True)
class TimeRange:
    """Open from ``start`` to ``end`` (minutes after local midnight, end excluded, end <= 24:00).

    A range never crosses midnight: a night shift is two ranges (22:00-24:00 and 00:00-06:00 the
    next day), which join into one opening.
    """

    start: int
    end: int

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(name, f"must be minutes after midnight, got {value!r}")
            if not 0 <= value <= MINUTES_PER_DAY:
                raise ConfigError(name, f"must be within 00:00..24:00, got {value!r}")
        if self.start >= self.end:
            raise ConfigError(
                "range",
                f"{self} is empty or crosses midnight: end must be after start "
                "(split a night range at 24:00)",
            )

    @classmethod
    def parse(cls, text: str, field_name: str = "range") -> TimeRange:
        """``"08:30-12:30"`` -> ``TimeRange(510, 750)``."""
        start, sep, end = text.partition("-") if isinstance(text, str) else ("", "", "")
        if not sep:
            raise ConfigError(field_name, f"expected HH:MM-HH:MM, got {text!r}")
        try:
            return cls(parse_clock(start, field_name), parse_clock(end, field_name))
        except ConfigError as exc:
            raise ConfigError(field_name, exc.message) from exc

    def __str__(self) -> str:
        return f"{format_clock(self.start)}-{format_clock(self.end)}"


def _check_day_ranges(ranges: Sequence[TimeRange], field_name: str) -> tuple[TimeRange, ...]:
    if not isinstance(ranges, tuple) or not all(isinstance(r, TimeRange) for r in ranges):
        raise ConfigError(field_name, "must be a tuple of TimeRange")
    ordered = tuple(sorted(ranges))
    for before, after in itertools.pairwise(ordered):
        if after.start < before.end:
            raise ConfigError(field_name, f"ranges {before} and {after} overlap")
    return ordered


@dataclass(frozen=True, slots=True)
class DayException:
    """One dated change to a schedule: other ranges that day, or closed from/until a time.

    ``ranges`` (when not None) replace the day's ranges: ``()`` closes the whole day, ranges on a
    Sunday open it. ``closed_from``/``closed_until`` (minutes) cut the day's ranges (the weekly
    ones, or ``ranges``): "closed from 16:00 on 2026-12-24". An exception wins over a holiday.
    """

    day: dt.date
    ranges: tuple[TimeRange, ...] | None = None
    closed_from: int | None = None
    closed_until: int | None = None
    label: str = ""

    def __post_init__(self) -> None:
        f = f"exceptions[{self.day}]"
        if not isinstance(self.day, dt.date) or isinstance(self.day, dt.datetime):
            raise ConfigError("exceptions[].date", f"must be a date, got {self.day!r}")
        if self.ranges is not None:
            object.__setattr__(self, "ranges", _check_day_ranges(self.ranges, f"{f}.open"))
        for name in ("closed_from", "closed_until"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not 0 <= value <= MINUTES_PER_DAY
            ):
                raise ConfigError(f"{f}.{name}", f"must be minutes within a day, got {value!r}")
        if self.ranges is None and self.closed_from is None and self.closed_until is None:
            raise ConfigError(f, "says nothing: give open ranges, closed_from or closed_until")

    def apply(self, base: tuple[TimeRange, ...]) -> tuple[TimeRange, ...]:
        """The day's ranges once this exception is applied to ``base`` (the weekly ranges)."""
        ranges = base if self.ranges is None else self.ranges
        low = self.closed_until if self.closed_until is not None else 0
        high = self.closed_from if self.closed_from is not None else MINUTES_PER_DAY
        cut = []
        for r in ranges:
            start, end = max(r.start, low), min(r.end, high)
            if start < end:
                cut.append(TimeRange(start, end))
        return tuple(cut)


class Reason(StrEnum):
    """Why a queue is open or closed at an instant (the words of ``acd hours`` and the API)."""

    SCHEDULE = "schedule"
    HOLIDAY = "holiday"
    EXCEPTION = "exception"
    EMERGENCY = "emergency"
    LAST_ENTRY = "last_entry"


@dataclass(frozen=True, slots=True)
class Schedule:
    """Named weekly opening hours: ranges per weekday (Monday first), holidays, dated exceptions.

    Reusable by anything that needs hours (queues, outbound campaigns, callbacks): it is plain
    data; evaluate it with ``opening_at`` against a ``CentreCalendar``.
    """

    name: str
    week: tuple[tuple[TimeRange, ...], ...]
    exceptions: tuple[DayException, ...] = ()
    observe_holidays: bool = True
    _by_day: Mapping[dt.date, DayException] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        f = f"schedules[{self.name}]"
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError("schedules[].name", "must be a non-empty string")
        if not isinstance(self.week, tuple) or len(self.week) != len(WEEKDAYS):
            raise ConfigError(f"{f}.week", "must give the ranges of the 7 weekdays, Monday first")
        week = tuple(
            _check_day_ranges(day, f"{f}.{WEEKDAYS[i]}") for i, day in enumerate(self.week)
        )
        object.__setattr__(self, "week", week)
        by_day: dict[dt.date, DayException] = {}
        for exc in self.exceptions:
            if not isinstance(exc, DayException):
                raise ConfigError(f"{f}.exceptions", "must be DayException values")
            if exc.day in by_day:
                raise ConfigError(f"{f}.exceptions[{exc.day}]", "the date is given twice")
            by_day[exc.day] = exc
        if not any(week) and not any(e.ranges for e in by_day.values()):
            raise ConfigError(f, "is never open: give at least one day a range")
        object.__setattr__(self, "_by_day", MappingProxyType(by_day))

    def day_ranges(
        self, day: dt.date, holidays: Mapping[dt.date, str]
    ) -> tuple[tuple[TimeRange, ...], Reason, str]:
        """The local ranges of ``day``, and what decided them (with the holiday's name or label)."""
        exception = self._by_day.get(day)
        if exception is not None:
            return exception.apply(self.week[day.weekday()]), Reason.EXCEPTION, exception.label
        holiday = holidays.get(day) if self.observe_holidays else None
        if holiday is not None:
            return (), Reason.HOLIDAY, holiday
        return self.week[day.weekday()], Reason.SCHEDULE, ""


@dataclass(frozen=True, slots=True)
class CentreCalendar:
    """The centre's zone and public holiday dates (with their names): data, never a clock."""

    zone: dt.tzinfo
    holidays: Mapping[dt.date, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.zone, dt.tzinfo):
            raise ConfigError("centre.timezone", "must be a time zone")
        object.__setattr__(self, "holidays", MappingProxyType(dict(self.holidays)))

    def local_date(self, at: float) -> dt.date:
        """The centre's local date at epoch ``at``."""
        return dt.datetime.fromtimestamp(at, self.zone).date()

    def instant(self, day: dt.date, minutes: int) -> float:
        """Epoch seconds of wall-clock ``minutes`` after local midnight on ``day`` (DST: above)."""
        if minutes >= MINUTES_PER_DAY:
            day, minutes = day + dt.timedelta(days=1), minutes - MINUTES_PER_DAY
        local = dt.datetime(day.year, day.month, day.day, minutes // 60, minutes % 60)
        # fold=0: a repeated time is its first occurrence, a missing one takes the old offset.
        return local.replace(tzinfo=self.zone).timestamp()

    def iso(self, at: float) -> str:
        """ISO-8601 with the local offset, to the second."""
        return dt.datetime.fromtimestamp(at, self.zone).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class Opening:
    """Whether a queue takes new callers at an instant, why, and when that changes.

    ``open`` is about new callers: in the last-entry window it is False with reason
    ``last_entry`` while ``in_hours`` stays True until the closing instant ``closes_at`` (callers
    already waiting are still served). ``next_change`` (epoch) is when ``open`` flips to
    ``next_open``; None means no change is known (an emergency closure, a closed schedule, or a
    queue that is always open).
    """

    open: bool
    reason: Reason
    detail: str
    next_change: float | None
    next_open: bool
    in_hours: bool
    closes_at: float | None = None


ALWAYS_OPEN: Final = Opening(
    open=True,
    reason=Reason.SCHEDULE,
    detail="always open",  # the queue names no schedule
    next_change=None,
    next_open=True,
    in_hours=True,
)


@dataclass(frozen=True, slots=True)
class _Span:
    start: float
    end: float
    reason: Reason
    detail: str


def _day_spans(schedule: Schedule, centre: CentreCalendar, day: dt.date) -> list[_Span]:
    ranges, reason, detail = schedule.day_ranges(day, centre.holidays)
    return [
        _Span(centre.instant(day, r.start), centre.instant(day, r.end), reason, detail)
        for r in ranges
    ]


def open_spans(
    schedule: Schedule, centre: CentreCalendar, start: float, end: float
) -> list[tuple[float, float]]:
    """The opening periods (epoch ``[start, end)`` pairs, joined across midnight) within a window.

    For reports (closed intervals are shown as closed) and the simulator.
    """
    day = centre.local_date(start) - dt.timedelta(days=1)
    last = centre.local_date(end)
    spans: list[tuple[float, float]] = []
    while day <= last:
        for span in _day_spans(schedule, centre, day):
            s, e = max(span.start, start), min(span.end, end)
            if s >= e:
                continue
            if spans and spans[-1][1] >= s:
                spans[-1] = (spans[-1][0], max(spans[-1][1], e))
            else:
                spans.append((s, e))
        day += dt.timedelta(days=1)
    return spans


def _spans_from(schedule: Schedule, centre: CentreCalendar, at: float) -> list[_Span]:
    """Joined spans that end after ``at``, up to the first one starting after ``at`` (inclusive)."""
    day = centre.local_date(at) - dt.timedelta(days=1)
    joined: list[_Span] = []
    for _ in range(HORIZON_DAYS):
        for span in _day_spans(schedule, centre, day):
            if joined and joined[-1].end >= span.start:
                prev = joined[-1]
                joined[-1] = _Span(prev.start, max(prev.end, span.end), prev.reason, prev.detail)
            else:
                joined.append(span)
        # Stop once a span starts after ``at`` and cannot be extended by a later day.
        later = [s for s in joined if s.start > at]
        if later and later[0].end < centre.instant(day + dt.timedelta(days=1), 0):
            break
        day += dt.timedelta(days=1)
    return [s for s in joined if s.end > at]


def opening_at(
    schedule: Schedule | None,
    centre: CentreCalendar,
    at: float,
    *,
    last_entry_s: float = 0.0,
    emergency: str | None = None,
) -> Opening:
    """Open or closed for new callers at epoch ``at``, why, and the next change.

    ``last_entry_s`` turns new callers away that long before each closing ("dernier appel
    17 h 45" for 900 s before 18:00). ``emergency`` (the supervisor's reason) closes the queue
    until it is reopened, whatever the schedule says.
    """
    if emergency is not None:
        return Opening(
            open=False,
            reason=Reason.EMERGENCY,
            detail=emergency,
            next_change=None,
            next_open=True,
            in_hours=False,
        )
    if schedule is None:
        return ALWAYS_OPEN
    spans = _spans_from(schedule, centre, at)
    current = spans[0] if spans and spans[0].start <= at else None
    if current is not None:
        last_entry = current.end - last_entry_s
        following = spans[1] if len(spans) > 1 else None
        if last_entry_s > 0 and at >= last_entry:
            return Opening(
                open=False,
                reason=Reason.LAST_ENTRY,
                detail=f"last entry {_clock_of(centre, last_entry)}",
                next_change=following.start if following else None,
                next_open=True,
                in_hours=True,
                closes_at=current.end,
            )
        return Opening(
            open=True,
            reason=current.reason,
            detail=current.detail,
            next_change=last_entry,
            next_open=False,
            in_hours=True,
            closes_at=current.end,
        )
    local = dt.datetime.fromtimestamp(at, centre.zone)
    _, reason, detail = schedule.day_ranges(local.date(), centre.holidays)
    minute = local.hour * 60 + local.minute
    if not any(r.start <= minute < r.end for r in schedule.week[local.weekday()]):
        # Outside the usual hours anyway: the holiday or exception is not why it is closed.
        reason, detail = Reason.SCHEDULE, ""
    upcoming = spans[0] if spans else None
    return Opening(
        open=False,
        reason=reason,
        detail=detail,
        next_change=upcoming.start if upcoming else None,
        next_open=True,
        in_hours=False,
    )


def opening_record(queue: str, opening: Opening, centre: CentreCalendar) -> dict[str, object]:
    """One queue's line of ``acd hours --json`` and of the API (instants in ISO-8601, local)."""
    return {
        "queue": queue,
        "open": opening.open,
        "reason": opening.reason.value,
        "detail": opening.detail,
        "next_change": None if opening.next_change is None else centre.iso(opening.next_change),
        "next_open": opening.next_open,
    }


def _clock_of(centre: CentreCalendar, at: float) -> str:
    return dt.datetime.fromtimestamp(at, centre.zone).strftime("%H:%M")


def next_transition(
    schedule: Schedule | None, centre: CentreCalendar, at: float, *, last_entry_s: float = 0.0
) -> float | None:
    """The first instant after ``at`` when ``opening_at`` changes (an opening, a last entry, a
    closing); None when nothing is scheduled. The runtime sets its timer for it."""
    if schedule is None:
        return None
    for span in _spans_from(schedule, centre, at):
        for instant in (span.start, span.end - last_entry_s, span.end):
            if instant > at:
                return instant
    return None


__all__ = [
    "ALWAYS_OPEN",
    "WEEKDAYS",
    "CentreCalendar",
    "DayException",
    "Opening",
    "Reason",
    "Schedule",
    "TimeRange",
    "format_clock",
    "next_transition",
    "open_spans",
    "opening_at",
    "opening_record",
    "parse_clock",
]
