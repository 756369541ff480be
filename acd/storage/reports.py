"""The call-centre figures, computed from the record tables (so they survive restarts).

Words as in docs/architecture.md. Per queue and interval (15 min, hour, day, in the centre's time
zone):

- *offered*: calls that entered the queue: calls whose story ended in it, plus calls that moved on
  from it to another queue of the engine (an in-engine overflow);
- *answered*, *abandoned*, *short abandons* (abandoned after waiting less than ``short_abandon_s``),
  *timed out*, *rejected*, *fallbacks*: by the call's outcome in the queue where it ended;
- *callback requested*: offered, then the caller chose a callback (neither answered nor
  abandoned); the callbacks themselves (legs that held an advisor) are not inbound calls and are
  left out of these figures;
- *service level* = answered within the queue's threshold / (offered - short abandons -
  rejected); whether a call was answered within the threshold is decided by the engine (the wait
  from the call's first arrival, against the answering queue's threshold) and stored with the call;
- *ASA* = mean wait of answered calls; *AHT* = mean talk + wrap-up of answered calls; *longest
  wait* over every call; *transfers*; *overflows* (moved on to another queue, or sent out of the
  engine).

Every call is counted in the interval in which it was first offered, so the figures of one interval
never change once its calls are over, and service level never exceeds 100 %. The database does the
counting per queue and 15-minute bucket (every interval boundary of every real time zone falls on a
15-minute boundary of UTC); Python rolls the buckets up into intervals of local time, so a day of
a daylight-saving change has 92 or 100 quarter-hours and 23 or 25 hours.

Per advisor, from the activity log clipped to the period: logged-in time, talk (on call), wrap-up,
ringing, available, pause time by reason, recovery and breather time, calls handled (answered in the
period), and *occupancy* = (talk + wrap-up) / staffed time (logged-in - paused - recovery), the
one definition of ``acd.core.workload.occupancy`` over the period. *Fairness* is the
spread (min, max, mean, standard deviation) of calls handled, talk time and occupancy across the
advisors who were logged in.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from acd.core.percentiles import percentile
from acd.core.snapshots import Spread
from acd.core.workload import occupancy_of
from acd.storage.reconciliation import service_gaps_between, unattended_spans
from acd.storage.tables import agent_states, call_events, calls

ALL_QUEUES: Final = "*"
BUCKET_S: Final = 900


class Interval(StrEnum):
    """Report interval lengths."""

    QUARTER_HOUR = "15m"
    HOUR = "1h"
    DAY = "1d"


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """One queue (``*`` = all queues) over one interval or the whole period."""

    queue: str
    start: datetime
    end: datetime
    offered: int
    answered: int
    abandoned: int
    short_abandons: int
    answered_within_sl: int
    timed_out: int
    rejected: int
    fallbacks: int
    transfers: int
    overflows: int
    service_level: float | None
    asa_s: float | None
    aht_s: float | None
    longest_wait_s: float | None
    closed_callers: int = 0  # rang while the queue was closed: not offered, not in the SL
    # Offered, then chose a callback: neither answered nor abandoned (the callback is its own row).
    callback_requested: int = 0
    # Seconds the queue was open in the interval (from its schedule); None when not known.
    open_s: float | None = None
    # Wait percentiles (nearest rank, seconds, from first arrival) of answered and of abandoned
    # calls: on the period's totals only (None on intervals, and without such calls).
    answered_wait_p50_s: float | None = None
    answered_wait_p90_s: float | None = None
    answered_wait_p95_s: float | None = None
    answered_wait_p99_s: float | None = None
    abandoned_wait_p50_s: float | None = None
    abandoned_wait_p90_s: float | None = None
    abandoned_wait_p95_s: float | None = None
    abandoned_wait_p99_s: float | None = None

    @property
    def closed(self) -> bool:
        """Closed the whole interval, or only callers who rang while closed: no service level."""
        return self.open_s == 0 or (self.open_s is None and self.offered == 0 < self.closed_callers)


@dataclass(frozen=True, slots=True)
class AdvisorFigures:
    """One advisor over the period; times in seconds."""

    agent_id: str
    calls_handled: int
    logged_in_s: float
    talk_s: float
    wrap_up_s: float
    ringing_s: float
    available_s: float
    paused_s: float
    pause_by_reason: dict[str, float]
    recovery_s: float
    breather_s: float
    occupancy: float | None


@dataclass(frozen=True, slots=True)
class Fairness:
    """How evenly the work was spread across the advisors who were logged in."""

    advisors: int
    calls: Spread
    talk_s: Spread
    occupancy: Spread


@dataclass(frozen=True, slots=True)
class ServiceGap:
    """acd was down (calls went to the dialplan's fallback); ``calls_reported`` None = unknown."""

    down_from: datetime
    down_to: datetime
    calls_reported: int | None
    # Of those, the calls recorded one by one at the restart (they are in the figures).
    calls_recovered: int = 0

    @property
    def calls_only_here(self) -> int | None:
        """Calls Asterisk saw that have no row of their own: counted only in this gap."""
        if self.calls_reported is None:
            return None
        return max(0, self.calls_reported - self.calls_recovered)


@dataclass(frozen=True, slots=True)
class Report:
    """Everything ``acd report`` shows."""

    start: datetime
    end: datetime
    timezone: str
    interval: Interval
    short_abandon_s: float
    intervals: tuple[QueueFigures, ...]
    totals: tuple[QueueFigures, ...]
    advisors: tuple[AdvisorFigures, ...]
    fairness: Fairness | None
    # The figures above cannot count what acd did not see: these say when that was.
    gaps: tuple[ServiceGap, ...] = ()


@dataclass(slots=True)
class _Sums:
    """Additive partial figures: what a bucket holds and intervals add up."""

    in_queue: int = 0
    moved_on: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandons: int = 0
    within_sl: int = 0
    timed_out: int = 0
    rejected: int = 0
    fallbacks: int = 0
    transfers: int = 0
    overflowed_out: int = 0
    closed_callers: int = 0
    callback_requested: int = 0
    wait_answered_s: float = 0.0
    handle_s: float = 0.0
    longest_wait_s: float | None = None

    def add(self, other: _Sums) -> None:
        for name in (
            "in_queue",
            "moved_on",
            "answered",
            "abandoned",
            "short_abandons",
            "within_sl",
            "timed_out",
            "rejected",
            "fallbacks",
            "transfers",
            "overflowed_out",
            "closed_callers",
            "callback_requested",
            "wait_answered_s",
            "handle_s",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.longest_wait_s is not None:
            self.longest_wait_s = max(self.longest_wait_s or 0.0, other.longest_wait_s)

    def figures(
        self, queue: str, start: datetime, end: datetime, open_s: float | None = None
    ) -> QueueFigures:
        # The centre counts each call once (its one calls row): a move between its queues is
        # neither a second offer nor an overflow out of the centre.
        centre = queue == ALL_QUEUES
        moved_on = 0 if centre else self.moved_on
        offered = self.in_queue - self.closed_callers + moved_on
        # Callers refused at join (join_when_empty) never waited: out of the denominator.
        base = offered - self.short_abandons - self.rejected
        return QueueFigures(
            queue=queue,
            start=start,
            end=end,
            offered=offered,
            answered=self.answered,
            abandoned=self.abandoned,
            short_abandons=self.short_abandons,
            answered_within_sl=self.within_sl,
            timed_out=self.timed_out,
            rejected=self.rejected,
            fallbacks=self.fallbacks,
            transfers=self.transfers,
            overflows=moved_on + self.overflowed_out,
            service_level=self.within_sl / base if base > 0 else None,
            asa_s=self.wait_answered_s / self.answered if self.answered else None,
            aht_s=self.handle_s / self.answered if self.answered else None,
            longest_wait_s=self.longest_wait_s,
            closed_callers=self.closed_callers,
            callback_requested=self.callback_requested,
            open_s=open_s,
        )


def interval_starts(
    start: datetime, end: datetime, interval: Interval, tz: ZoneInfo
) -> list[datetime]:
    """Interval start times in local time from ``start`` (aligned down) until ``end``.

    15 min and 1 h intervals step in real (UTC) time, so the hour that does not exist on the
    spring-forward day is skipped and the repeated one on the fall-back day appears twice; days
    start at local midnight.
    """
    local = start.astimezone(tz)
    if interval is Interval.DAY:
        day: date = local.date()
        starts: list[datetime] = []
        while True:
            at = datetime(day.year, day.month, day.day, tzinfo=tz)
            if at >= end:
                return starts
            starts.append(at)
            day += timedelta(days=1)
    step = 900 if interval is Interval.QUARTER_HOUR else 3600
    aligned = local.replace(second=0, microsecond=0)
    aligned -= timedelta(minutes=aligned.minute % (step // 60))
    epoch = aligned.timestamp()
    stop = end.timestamp()
    out = []
    while epoch < stop:
        out.append(datetime.fromtimestamp(epoch, tz))
        epoch += step
    return out


def _bucket(conn: AsyncConnection, column: Any, base: float) -> Any:
    offset = (column - base) / float(BUCKET_S)
    if conn.dialect.name == "postgresql":
        return sa.cast(sa.func.floor(offset), sa.Integer)
    # SQLite truncates towards zero, which is floor for the non-negative offsets selected here.
    return sa.cast(offset, sa.Integer)


# Outcomes of the legs that held an advisor with ReserveAgent (acd.core.states.Outcome).
RESERVATION_OUTCOMES: Final = ("completed", "released", "failed", "cancelled")
# A caller who rang while the queue was closed: turned away, or offered a callback and took it
# (the callback is counted in the callback book). "at_close": sent away at closing, not rung closed.
CLOSED_REASONS: Final = ("closed", "callback_requested")


def _count_if(condition: Any) -> Any:
    return sa.func.sum(sa.case((condition, 1), else_=0))


def _sum_if(condition: Any, value: Any) -> Any:
    return sa.func.sum(sa.case((condition, value), else_=0.0))


async def _queue_buckets(
    conn: AsyncConnection,
    base: float,
    stop: float,
    queues: tuple[str, ...] | None,
    short_abandon_s: float,
) -> dict[tuple[str, int], _Sums]:
    c = calls.c
    bucket = _bucket(conn, c.offered_at, base).label("bucket")
    answered = c.outcome == "answered"
    query = (
        sa.select(
            c.queue,
            bucket,
            sa.func.count(),
            _count_if(answered),
            _count_if(c.outcome == "abandoned"),
            _count_if(sa.and_(c.outcome == "abandoned", c.wait_s < short_abandon_s)),
            _count_if(c.answered_within_sl),
            _count_if(c.outcome == "timed_out"),
            _count_if(c.outcome == "rejected"),
            _count_if(c.outcome == "fallback"),
            _count_if(c.transferred_to.is_not(None)),
            _count_if(c.outcome == "overflowed"),
            _count_if(sa.and_(c.outcome == "closed", c.reason.in_(CLOSED_REASONS))),
            _sum_if(answered, c.wait_s),
            _sum_if(answered, c.talk_s + c.wrap_up_s),
            sa.func.max(c.wait_s),
            _count_if(c.outcome == "callback_requested"),
        )
        # A reservation's leg (a callback, an outbound call) is not an inbound call: its own
        # figures are the callbacks' (acd.storage.callback_book).
        .where(c.offered_at >= base, c.offered_at < stop, c.outcome.not_in(RESERVATION_OUTCOMES))
        .group_by(c.queue, bucket)
    )
    if queues:
        query = query.where(c.queue.in_(queues))
    out: dict[tuple[str, int], _Sums] = defaultdict(_Sums)
    for row in await conn.execute(query):
        sums = out[(row[0], int(row[1]))]
        (
            sums.in_queue,
            sums.answered,
            sums.abandoned,
            sums.short_abandons,
            sums.within_sl,
            sums.timed_out,
            sums.rejected,
            sums.fallbacks,
            sums.transfers,
            sums.overflowed_out,
            sums.closed_callers,
        ) = (int(v or 0) for v in row[2:13])
        sums.wait_answered_s = float(row[13] or 0.0)
        sums.handle_s = float(row[14] or 0.0)
        sums.longest_wait_s = None if row[15] is None else float(row[15])
        sums.callback_requested = int(row[16] or 0)
    # Calls that moved on to another queue of the engine: offered to (and overflowed from) the
    # queue they left, counted in the interval the call was first offered.
    e = call_events.c
    moved_bucket = _bucket(conn, c.offered_at, base).label("bucket")
    moved = (
        sa.select(e.queue, moved_bucket, sa.func.count(sa.distinct(e.call_id)))
        .join(calls, c.call_id == e.call_id)
        .where(
            e.kind == "overflowed",
            e.at >= base,  # an overflow follows the offer: lets the index on ``at`` narrow it
            e.queue != c.queue,
            c.offered_at >= base,
            c.offered_at < stop,
        )
        .group_by(e.queue, moved_bucket)
    )
    if queues:
        moved = moved.where(e.queue.in_(queues))
    for queue, b, n in await conn.execute(moved):
        out[(queue, int(b))].moved_on += int(n)
    return out


async def _calls_handled(conn: AsyncConnection, start: float, stop: float) -> dict[str, int]:
    c = calls.c
    query = (
        sa.select(c.agent_id, sa.func.count())
        .where(
            c.outcome == "answered",
            c.agent_id.is_not(None),
            c.answered_at >= start,
            c.answered_at < stop,
        )
        .group_by(c.agent_id)
    )
    return {agent: int(n) for agent, n in await conn.execute(query)}


async def _activity_segments(
    conn: AsyncConnection, start: float, stop: float
) -> dict[str, list[tuple[float, str, str | None]]]:
    """Per advisor, (at, activity, reason) changes from the last one before ``start``."""
    s = agent_states.c
    before = (
        sa.select(s.agent_id, sa.func.max(s.at).label("at"))
        .where(s.dimension == "activity", s.at < start)
        .group_by(s.agent_id)
        .subquery()
    )
    query = (
        sa.select(s.agent_id, s.at, s.ordinal, s.new, s.reason)
        .outerjoin(before, sa.and_(before.c.agent_id == s.agent_id, before.c.at == s.at))
        .where(
            s.dimension == "activity",
            s.at < stop,
            sa.or_(s.at >= start, before.c.at.is_not(None)),
        )
        .order_by(s.agent_id, s.at, s.ordinal)
    )
    out: dict[str, list[tuple[float, str, str | None]]] = defaultdict(list)
    for agent_id, at, _ordinal, new, reason in await conn.execute(query):
        out[agent_id].append((float(at), new, reason))
    return out


def _advisor_figures(
    agent_id: str,
    changes: list[tuple[float, str, str | None]],
    start: float,
    stop: float,
    handled: int,
    *,
    unattended: Sequence[tuple[float, float]] = (),
) -> AdvisorFigures:
    """An advisor's times from their activity changes, clipped to ``[start, stop)``; while no
    run of acd was alive (``unattended``) the advisor's last activity does not go on: a report
    after a stop or a crash does not count the time acd was down as logged in."""
    time_in: dict[str, float] = defaultdict(float)
    by_reason: dict[str, float] = defaultdict(float)
    for i, (at, activity, reason) in enumerate(changes):
        until = changes[i + 1][0] if i + 1 < len(changes) else stop
        low, high = max(at, start), min(until, stop)
        seconds = max(0.0, high - low)
        for down_from, down_to in unattended:
            seconds -= max(0.0, min(high, down_to) - max(low, down_from))
        if seconds <= 0:
            continue
        time_in[activity] += seconds
        if activity == "paused":
            by_reason[reason or "unspecified"] += seconds
    logged_in = sum(v for k, v in time_in.items() if k != "offline")
    return AdvisorFigures(
        agent_id=agent_id,
        calls_handled=handled,
        logged_in_s=logged_in,
        talk_s=time_in["on_call"],
        wrap_up_s=time_in["wrap_up"],
        ringing_s=time_in["reserved"],
        available_s=time_in["available"],
        paused_s=time_in["paused"],
        pause_by_reason=dict(sorted(by_reason.items())),
        recovery_s=time_in["recovery"],
        breather_s=time_in["breather"],
        occupancy=occupancy_of(time_in),
    )


def spread(values: list[float]) -> Spread:
    """Minimum, maximum, mean and (population) standard deviation of ``values``."""
    if not values:
        return Spread(0.0, 0.0, 0.0, 0.0)
    mean = sum(values) / len(values)
    stdev = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    return Spread(min(values), max(values), mean, stdev)


async def _waits(
    conn: AsyncConnection, base: float, stop: float, queues: tuple[str, ...] | None
) -> list[tuple[str, str, float]]:
    """(queue, outcome, wait) of the answered and abandoned calls first offered in the period."""
    c = calls.c
    query = sa.select(c.queue, c.outcome, c.wait_s).where(
        c.offered_at >= base,
        c.offered_at < stop,
        c.outcome.in_(("answered", "abandoned")),
    )
    if queues:
        query = query.where(c.queue.in_(queues))
    return [(str(q), str(o), float(w)) for q, o, w in await conn.execute(query)]


def _open_s(
    spans: Sequence[tuple[float, float]] | None, start: datetime, end: datetime
) -> float | None:
    if spans is None:
        return None
    a, b = start.timestamp(), end.timestamp()
    return sum(max(0.0, min(b, e) - max(a, s)) for s, e in spans)


async def build_report(
    db: AsyncEngine,
    *,
    start: datetime,
    end: datetime,
    timezone: str,
    interval: Interval = Interval.HOUR,
    queues: tuple[str, ...] | None = None,
    short_abandon_s: float = 5.0,
    now: float | None = None,
    openings: Mapping[str, Sequence[tuple[float, float]]] | None = None,
) -> Report:
    """The report for ``[start, end)`` (aware datetimes), with intervals in ``timezone``.

    ``openings`` (per queue, its opening periods as epoch ``(start, end)`` pairs, from
    ``acd.core.calendar.open_spans``) marks the intervals a queue was closed.

    ``now`` (epoch seconds, default the wall clock) ends the advisors' current states, so a
    report over a period that is not over does not count the future.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must carry a time zone")
    tz = ZoneInfo(timezone)
    starts = interval_starts(start, end, interval, tz)
    if not starts:
        raise ValueError("the period is empty")
    base = starts[0].timestamp()
    stop = end.timestamp()
    bounds = [s.timestamp() for s in starts]
    ends = [*starts[1:], end.astimezone(tz)]
    clock_now = time.time() if now is None else now
    async with db.connect() as conn:
        buckets = await _queue_buckets(conn, base, stop, queues, short_abandon_s)
        handled = await _calls_handled(conn, base, stop)
        segments = await _activity_segments(conn, base, stop)
        gaps = await service_gaps_between(conn, base, stop)
        waits = await _waits(conn, base, stop, queues)
        unattended = await unattended_spans(conn, stop, clock_now)

    names = sorted(set(queues or ()) | {q for q, _ in buckets})
    per_interval: dict[tuple[str, int], _Sums] = defaultdict(_Sums)
    for (queue, b), sums in buckets.items():
        index = bisect.bisect_right(bounds, base + b * BUCKET_S) - 1
        per_interval[(queue, index)].add(sums)
        per_interval[(ALL_QUEUES, index)].add(sums)
    rows: list[QueueFigures] = []
    totals: list[QueueFigures] = []
    for queue in [*names, ALL_QUEUES]:
        total = _Sums()
        spans = None if openings is None else openings.get(queue)
        for i, (s, e) in enumerate(zip(starts, ends, strict=True)):
            sums = per_interval.get((queue, i), _Sums())
            total.add(sums)
            rows.append(sums.figures(queue, s, e, _open_s(spans, s, e)))
        figures = total.figures(queue, starts[0], ends[-1], _open_s(spans, starts[0], ends[-1]))
        answered = sorted(w for q, o, w in waits if o == "answered" and queue in (q, ALL_QUEUES))
        abandoned = sorted(w for q, o, w in waits if o == "abandoned" and queue in (q, ALL_QUEUES))
        totals.append(
            dataclasses.replace(
                figures,
                answered_wait_p50_s=percentile(answered, 50),
                answered_wait_p90_s=percentile(answered, 90),
                answered_wait_p95_s=percentile(answered, 95),
                answered_wait_p99_s=percentile(answered, 99),
                abandoned_wait_p50_s=percentile(abandoned, 50),
                abandoned_wait_p90_s=percentile(abandoned, 90),
                abandoned_wait_p95_s=percentile(abandoned, 95),
                abandoned_wait_p99_s=percentile(abandoned, 99),
            )
        )

    advisor_stop = min(stop, max(base, clock_now))
    advisors = tuple(
        _advisor_figures(
            agent,
            segments.get(agent, []),
            base,
            advisor_stop,
            handled.get(agent, 0),
            unattended=unattended,
        )
        for agent in sorted(set(segments) | set(handled))
    )
    active = [a for a in advisors if a.logged_in_s > 0]
    fairness = (
        Fairness(
            advisors=len(active),
            calls=spread([float(a.calls_handled) for a in active]),
            talk_s=spread([a.talk_s for a in active]),
            occupancy=spread([a.occupancy for a in active if a.occupancy is not None]),
        )
        if active
        else None
    )
    return Report(
        start=starts[0],
        end=ends[-1],
        timezone=timezone,
        interval=interval,
        short_abandon_s=short_abandon_s,
        intervals=tuple(rows),
        totals=tuple(totals),
        advisors=advisors,
        fairness=fairness,
        gaps=tuple(
            ServiceGap(
                datetime.fromtimestamp(a, tz), datetime.fromtimestamp(b, tz), reported, recovered
            )
            for a, b, reported, recovered in gaps
        ),
    )


def parse_period(from_text: str, to_text: str, timezone: str) -> tuple[datetime, datetime]:
    """``2026-03-29`` or ``2026-03-29T08:00`` (local time, or with an offset).

    A date alone as ``--to`` includes that whole day; a datetime is exclusive.
    """
    tz = ZoneInfo(timezone)

    def parse(text: str, *, is_end: bool) -> datetime:
        try:
            if len(text) == 10:
                d = date.fromisoformat(text)
                if is_end:
                    d += timedelta(days=1)
                return datetime(d.year, d.month, d.day, tzinfo=tz)
            at = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"not a date or date-time: {text!r} (use 2026-03-29 or 2026-03-29T08:00)"
            ) from None
        return at.replace(tzinfo=tz) if at.tzinfo is None else at

    start = parse(from_text, is_end=False)
    end = parse(to_text, is_end=True)
    if end <= start:
        raise ValueError(f"--to ({to_text}) must be after --from ({from_text})")
    return start, end
