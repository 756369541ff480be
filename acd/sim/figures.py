"""The figures an admin reads from one simulated day: per queue and interval, per advisor, fairness.

Words as in the rest of acd: a call is *offered* to the queue where it ends (a call that overflows
into another queue counts there); service level = answered within the queue's threshold over
(offered − short abandons); ASA = mean wait of answered calls; abandon rate = abandoned over
offered; AHT = talk plus wrap-up of answered calls. Calls are counted in the interval they were
offered in; calls offered during the warm-up are left out.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from acd.core.commands import CallCompleted
from acd.core.snapshots import Spread
from acd.core.states import Outcome
from acd.core.workload import occupancy
from acd.sim.results import SimulationResult


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """Counts and rates for a set of calls (one queue or all, one interval or the day)."""

    offered: int
    answered: int
    abandoned: int
    short_abandons: int
    left: int  # overflowed out of the engine, timed out or rejected
    answered_within_sl: int
    wait_answered_s: float
    handle_s: float
    closed: int = 0  # rang while the queue was closed (opening hours): not offered
    rejected: int = 0  # refused at join (join_when_empty): out of the service-level denominator
    longest_wait_s: float = 0.0  # longest wait of an offered call, from its first arrival
    # Moved on to another queue of the engine (in ``offered``, never answered here). Always 0 for
    # the centre, which counts each call once.
    moved_on: int = 0

    @property
    def service_level(self) -> float | None:
        """Answered within threshold over (offered − short abandons − rejected); None without
        calls."""
        denominator = self.offered - self.short_abandons - self.rejected
        return self.answered_within_sl / denominator if denominator > 0 else None

    @property
    def asa_s(self) -> float | None:
        """Average speed of answer (seconds); None without answered calls."""
        return self.wait_answered_s / self.answered if self.answered else None

    @property
    def abandon_rate(self) -> float | None:
        """Abandoned over offered; None without calls."""
        return self.abandoned / self.offered if self.offered else None

    @property
    def aht_s(self) -> float | None:
        """Average handle time, talk plus wrap-up (seconds); None without answered calls."""
        return self.handle_s / self.answered if self.answered else None


def queue_figures(
    calls: Iterable[CallCompleted], short_abandon_s: float, moved_on: int = 0
) -> QueueFigures:
    """Figures for exactly these calls, plus ``moved_on`` calls that moved on from the queue to
    another one of the engine (offered here, never answered here)."""
    offered = answered = abandoned = short = left = within = closed = rejected = 0
    wait = handle = longest = 0.0
    for c in calls:
        outcome = c.outcome
        if outcome is Outcome.CLOSED and c.reason == "closed":
            closed += 1
            continue
        if outcome in RESERVATION_OUTCOMES:
            continue  # a callback's own leg: not an inbound call (callback_figures counts it)
        offered += 1
        longest = max(longest, c.wait_s)
        if outcome is Outcome.ANSWERED:
            answered += 1
            wait += c.wait_s
            handle += c.talk_s + c.wrap_up_s
            within += c.answered_within_sl
        elif outcome is Outcome.ABANDONED:
            abandoned += 1
            short += c.wait_s < short_abandon_s
        else:
            left += 1
            rejected += outcome is Outcome.REJECTED
    return QueueFigures(
        offered + moved_on,
        answered,
        abandoned,
        short,
        left,
        within,
        wait,
        handle,
        closed,
        rejected,
        longest,
        moved_on,
    )


# Outcomes of the legs that held an advisor with ReserveAgent (callbacks, outbound).
RESERVATION_OUTCOMES: Final = frozenset(
    {Outcome.COMPLETED, Outcome.RELEASED, Outcome.FAILED, Outcome.CANCELLED}
)


@dataclass(frozen=True, slots=True)
class CallbackFigures:
    """The callbacks of a simulated day: asked for, connected, given up; time to callback."""

    requested: int
    completed: int
    failed: int
    mean_time_to_callback_s: float | None


def callback_figures(calls: Iterable[CallCompleted]) -> CallbackFigures:
    """Callbacks asked for (inbound calls ending ``callback_requested``) and their outcomes."""
    every = list(calls)
    requested = sum(1 for c in every if c.outcome is Outcome.CALLBACK_REQUESTED)
    done = [c for c in every if c.outcome is Outcome.COMPLETED and c.reason == "callback"]
    failed = sum(1 for c in every if c.outcome is Outcome.FAILED)
    waits = [c.answered_at - c.offered_at for c in done if c.answered_at is not None]
    return CallbackFigures(requested, len(done), failed, sum(waits) / len(waits) if waits else None)


@dataclass(frozen=True, slots=True)
class AgentFigures:
    """One advisor's day."""

    agent_id: str
    calls: int
    talk_s: float
    logged_in_s: float
    occupancy: float | None
    breathers: int
    missed: int


@dataclass(frozen=True, slots=True)
class DayFigures:
    """Everything shown for one simulated day."""

    total: QueueFigures
    queues: dict[str, QueueFigures]
    intervals: dict[str, list[QueueFigures]]  # per queue, one per reporting interval
    interval_starts: list[float]
    interval_occupancy: list[float | None]  # all advisors, handle time over staffed time
    occupancy: float | None  # all advisors over the opening hours
    agents: list[AgentFigures]  # advisors who logged in
    breathers: int
    calls_per_advisor: Spread  # fairness: spread of answered calls across advisors
    occupancy_spread: Spread  # fairness: spread of occupancy across advisors
    unfinished: int
    callbacks: CallbackFigures = CallbackFigures(0, 0, 0, None)
    # Callers recorded waiting only because every able advisor was in a breather (the alerts).
    breather_holds: int = 0


def spread(values: list[float]) -> Spread:
    """Minimum, maximum, mean and (population) standard deviation of ``values``."""
    if not values:
        return Spread(0.0, 0.0, 0.0, 0.0)
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / len(values)
    return Spread(min(values), max(values), mean, math.sqrt(var))


def day_figures(result: SimulationResult) -> DayFigures:
    """The figures of one simulated day (calls offered during the warm-up excluded)."""
    measured_from = result.open_s + result.warmup_s
    calls = [c for c in result.calls if c.offered_at >= measured_from]
    starts = result.interval_starts()
    by_queue: dict[str, list[CallCompleted]] = {q: [] for q in result.service_level_s}
    by_interval: dict[str, list[list[CallCompleted]]] = {
        q: [[] for _ in starts] for q in result.service_level_s
    }
    for c in calls:
        by_queue.setdefault(c.queue, []).append(c)
        idx = int((c.offered_at - result.open_s) // result.interval_s)
        if 0 <= idx < len(starts):
            by_interval.setdefault(c.queue, [[] for _ in starts])[idx].append(c)
    # A call that moved on from a queue counts there too, as offered (the engine's and the
    # reports' rule), in the interval it was first offered in; the centre counts it once.
    offered_at = {c.call_id: c.offered_at for c in calls}
    moved: dict[str, int] = defaultdict(int)
    moved_by_interval: dict[tuple[str, int], int] = defaultdict(int)
    for call_id, left in result.moved_on:
        at = offered_at.get(call_id)
        if at is None:
            continue  # offered during the warm-up, or not over when the run stopped
        moved[left] += 1
        by_queue.setdefault(left, [])
        idx = int((at - result.open_s) // result.interval_s)
        if 0 <= idx < len(starts):
            moved_by_interval[(left, idx)] += 1
            by_interval.setdefault(left, [[] for _ in starts])
    sab = result.short_abandon_s
    agents = [
        AgentFigures(
            a.agent_id, a.calls, a.talk_s, a.logged_in_s, a.occupancy, a.breathers, a.missed
        )
        for a in result.agents
        if a.logged_in_s > 0
    ]
    busy = sum(result.interval_busy_s)
    return DayFigures(
        total=queue_figures(calls, sab),
        queues={q: queue_figures(cs, sab, moved[q]) for q, cs in by_queue.items()},
        intervals={
            q: [queue_figures(cs, sab, moved_by_interval[(q, i)]) for i, cs in enumerate(lists)]
            for q, lists in by_interval.items()
        },
        interval_starts=starts,
        interval_occupancy=[
            occupancy(b, s)
            for b, s in zip(result.interval_busy_s, result.interval_staffed_s, strict=True)
        ],
        occupancy=occupancy(busy, sum(result.interval_staffed_s)),
        agents=agents,
        breathers=sum(a.breathers for a in agents),
        calls_per_advisor=spread([float(a.calls) for a in agents]),
        occupancy_spread=spread([a.occupancy for a in agents if a.occupancy is not None]),
        unfinished=result.unfinished,
        callbacks=callback_figures(calls),
        breather_holds=result.breather_holds,
    )
