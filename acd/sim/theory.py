"""Erlang figures for each queue and interval of a scenario, next to the simulation.

Theory sees one queue at a time, advisors dedicated to it, Poisson arrivals and exponential
times; ``dedicated`` says whether the configuration matches that picture for the queue (every
advisor serving it serves nothing else, and its routing is one step). Otherwise the figures are
only an order of magnitude.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass

from acd.core.config import AcdConfig
from acd.sim.distributions import Exponential, Never
from acd.sim.erlang import QueueTheory, agents_needed, erlang_a
from acd.sim.scenario import Scenario


@dataclass(frozen=True, slots=True)
class IntervalTheory:
    """One queue in one interval: the load, the advisors scheduled, what Erlang says."""

    start: float
    calls_per_hour: float
    handle_s: float  # talk plus wrap-up, mean
    patience_s: float  # mean; inf without abandons
    scheduled: int  # advisors of the queue on shift at mid-interval (breaks excluded)
    needed: QueueTheory | None  # fewest advisors for the target service level
    predicted: QueueTheory | None  # with the scheduled advisors
    dedicated: bool
    exponential_patience: bool = True

    @property
    def model(self) -> str:
        """``Erlang C``, ``Erlang A``, or Erlang A as an approximation (other patience)."""
        if math.isinf(self.patience_s):
            return "Erlang C"
        return "Erlang A" if self.exponential_patience else "Erlang A, patience not exponential"


def scheduled_advisors(config: AcdConfig, scenario: Scenario, queue: str, at: float) -> int:
    """Advisors of ``queue`` on shift at ``at`` (not on a scheduled break)."""
    members = [a.id for a in config.agents if queue in a.queues]
    if scenario.roster is None:
        return len(members)
    on: set[str] = set()
    for shift in scenario.roster:
        end = math.inf if shift.end is None else shift.end
        if not shift.start <= at < end:
            continue
        if any(b.at <= at < b.at + b.duration_s for b in shift.breaks):
            continue
        on.update(m for m in members if any(fnmatch.fnmatchcase(m, p) for p in shift.agents))
    return len(on)


def queue_theory(config: AcdConfig, scenario: Scenario) -> dict[str, list[IntervalTheory]]:
    """Per queue described by the scenario and defined by the configuration, per interval."""
    out: dict[str, list[IntervalTheory]] = {}
    starts = scenario.intervals()
    workload = config.workload
    for demand in scenario.queues:
        qcfg = config.queue(demand.queue)
        if qcfg is None:
            continue
        members = [a for a in config.agents if demand.queue in a.queues]
        dedicated = len(qcfg.steps) == 1 and all(a.queues == (demand.queue,) for a in members)
        wraps = [a.wrap_up_s if a.wrap_up_s is not None else qcfg.wrap_up_s for a in members]
        wrap = sum(wraps) / len(wraps) if wraps else qcfg.wrap_up_s
        if demand.wrap_up_s is not None:
            wrap = min(wrap, demand.wrap_up_s.mean)
        if workload.enabled:
            wrap = max(wrap, workload.min_wrap_up_s)
        handle = demand.handle_s.mean + wrap
        patience = demand.patience_s
        exponential = isinstance(patience, Exponential | Never)
        if isinstance(patience, Exponential):
            patience_s = patience.mean
        elif isinstance(patience, Never):
            patience_s = math.inf
        else:
            patience_s = patience.mean  # not exponential: Erlang A is an approximation here
        rows = []
        for start in starts:
            end = min(start + scenario.interval_s, scenario.close_s)
            if scenario.arrivals is not None:
                count = sum(
                    1 for a in scenario.arrivals if a.queue == demand.queue and start <= a.at < end
                )
                rate = count / (end - start)
            else:
                rate = _mean_rate(demand.profile, start, end)
            scheduled = scheduled_advisors(config, scenario, demand.queue, (start + end) / 2)
            needed = predicted = None
            if rate > 0:
                target = scenario.target_service_level
                needed = agents_needed(rate, handle, qcfg.service_level_s, target, patience_s)
                if scheduled > 0:
                    predicted = erlang_a(rate, handle, scheduled, qcfg.service_level_s, patience_s)
            rows.append(
                IntervalTheory(
                    start,
                    rate * 3600,
                    handle,
                    patience_s,
                    scheduled,
                    needed,
                    predicted,
                    dedicated,
                    exponential,
                )
            )
        out[demand.queue] = rows
    return out


def _mean_rate(profile: tuple[tuple[float, float], ...], start: float, end: float) -> float:
    """Mean arrival rate (per second) of a piecewise-constant profile over ``[start, end)``."""
    total = 0.0
    for i, (t0, per_hour) in enumerate(profile):
        t1 = profile[i + 1][0] if i + 1 < len(profile) else math.inf
        overlap = min(t1, end) - max(t0, start)
        if overlap > 0:
            total += overlap * per_hour / 3600
    return total / (end - start)
