"""Several seeded replications of one day, and confidence intervals across them.

Replication ``i`` of a run seeded ``s`` uses seed ``s + i`` for every configuration, so two
configurations meet the same callers (common random numbers) and their difference is sharper
than either figure. Intervals are Student-t over the per-replication values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

from acd.core.config import AcdConfig
from acd.sim.figures import DayFigures, QueueFigures, day_figures
from acd.sim.results import SimulationResult
from acd.sim.scenario import Scenario
from acd.sim.simulator import run_day

ProgressCallback = Callable[[int, int], None]
"""Receives (replications done, replications in all) after each one."""

# Two-sided Student-t quantiles for few degrees of freedom, where the series below is poor.
_T_TABLE: dict[float, tuple[float, ...]] = {
    0.90: (6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812),
    0.95: (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228),
    0.99: (63.657, 9.925, 5.841, 4.604, 4.032, 3.707, 3.499, 3.355, 3.250, 3.169),
}


def t_quantile(confidence: float, df: int) -> float:
    """Two-sided Student-t critical value: P(|T| <= t) = ``confidence`` with ``df`` d.o.f."""
    if df < 1:
        raise ValueError("a confidence interval needs at least two values")
    table = _T_TABLE.get(round(confidence, 4))
    if table is not None and df <= len(table):
        return table[df - 1]
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    # Cornish-Fisher expansion of the t quantile in 1/df (Abramowitz & Stegun 26.7.5).
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


@dataclass(frozen=True, slots=True)
class Estimate:
    """Mean over replications with a two-sided confidence interval ``mean ± half_width``."""

    mean: float | None
    half_width: float | None  # None with fewer than two values
    n: int
    confidence: float

    @property
    def low(self) -> float | None:
        """Lower bound of the interval."""
        if self.mean is None or self.half_width is None:
            return None
        return self.mean - self.half_width

    @property
    def high(self) -> float | None:
        """Upper bound of the interval."""
        if self.mean is None or self.half_width is None:
            return None
        return self.mean + self.half_width

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies inside the interval."""
        low, high = self.low, self.high
        return low is not None and high is not None and low <= value <= high


def estimate(values: Sequence[float | None], confidence: float = 0.95) -> Estimate:
    """Mean and Student-t interval of the non-None ``values``."""
    xs = [v for v in values if v is not None]
    n = len(xs)
    if n == 0:
        return Estimate(None, None, 0, confidence)
    mean = sum(xs) / n
    if n == 1:
        return Estimate(mean, None, 1, confidence)
    var = sum((x - mean) ** 2 for x in xs) / (n - 1)
    return Estimate(mean, t_quantile(confidence, n - 1) * math.sqrt(var / n), n, confidence)


QUEUE_METRICS: tuple[tuple[str, Callable[[QueueFigures], float | None]], ...] = (
    ("offered", lambda f: float(f.offered)),
    ("service_level", lambda f: f.service_level),
    ("asa_s", lambda f: f.asa_s),
    ("abandon_rate", lambda f: f.abandon_rate),
    ("aht_s", lambda f: f.aht_s),
    ("closed", lambda f: float(f.closed)),
    ("longest_wait_s", lambda f: f.longest_wait_s),
)

DAY_METRICS: tuple[tuple[str, Callable[[DayFigures], float | None]], ...] = (
    ("occupancy", lambda d: d.occupancy),
    ("breathers", lambda d: float(d.breathers)),
    ("breather_holds", lambda d: float(d.breather_holds)),
    ("calls_per_advisor", lambda d: d.calls_per_advisor.mean),
    ("calls_spread_sd", lambda d: d.calls_per_advisor.stdev),
    ("occupancy_spread_sd", lambda d: d.occupancy_spread.stdev),
    ("unfinished", lambda d: float(d.unfinished)),
    ("callbacks_requested", lambda d: float(d.callbacks.requested)),
    ("callbacks_completed", lambda d: float(d.callbacks.completed)),
    ("callbacks_failed", lambda d: float(d.callbacks.failed)),
)


@dataclass(frozen=True, slots=True)
class Summary:
    """Several replications of one configuration, summarised with confidence intervals."""

    replications: int
    confidence: float
    total: dict[str, Estimate]  # QUEUE_METRICS over all queues, plus DAY_METRICS
    queues: dict[str, dict[str, Estimate]]  # per queue, QUEUE_METRICS
    intervals: dict[str, list[dict[str, Estimate]]]  # per queue per interval, QUEUE_METRICS
    interval_starts: list[float]
    interval_occupancy: list[Estimate]
    agents: dict[str, dict[str, Estimate]]  # occupancy, calls, breathers per advisor
    results: list[SimulationResult] = field(repr=False)
    days: list[DayFigures] = field(repr=False)
    calls_simulated: int = 0
    events: int = 0


def summarize(results: Sequence[SimulationResult], confidence: float = 0.95) -> Summary:
    """Confidence intervals over replications of one configuration."""
    if not results:
        raise ValueError("nothing to summarise")
    days = [day_figures(r) for r in results]

    def queue_estimates(figures: list[QueueFigures]) -> dict[str, Estimate]:
        return {
            name: estimate([get(f) for f in figures], confidence) for name, get in QUEUE_METRICS
        }

    total = queue_estimates([d.total for d in days])
    total.update({name: estimate([get(d) for d in days], confidence) for name, get in DAY_METRICS})
    queue_names = list(days[0].queues)
    queues = {q: queue_estimates([d.queues.get(q, _NO_CALLS) for d in days]) for q in queue_names}
    starts = days[0].interval_starts
    intervals = {
        q: [queue_estimates([_interval(d, q, i) for d in days]) for i in range(len(starts))]
        for q in queue_names
    }
    interval_occupancy = [
        estimate([d.interval_occupancy[i] for d in days], confidence) for i in range(len(starts))
    ]
    agent_values: dict[str, dict[str, list[float | None]]] = {}
    for d in days:
        for a in d.agents:
            slot = agent_values.setdefault(
                a.agent_id, {"occupancy": [], "calls": [], "breathers": []}
            )
            slot["occupancy"].append(a.occupancy)
            slot["calls"].append(float(a.calls))
            slot["breathers"].append(float(a.breathers))
    agents = {
        agent_id: {k: estimate(v, confidence) for k, v in values.items()}
        for agent_id, values in agent_values.items()
    }
    return Summary(
        replications=len(results),
        confidence=confidence,
        total=total,
        queues=queues,
        intervals=intervals,
        interval_starts=starts,
        interval_occupancy=interval_occupancy,
        agents=agents,
        results=list(results),
        days=days,
        calls_simulated=sum(len(r.calls) + r.unfinished for r in results),
        events=sum(r.events for r in results),
    )


_NO_CALLS = QueueFigures(0, 0, 0, 0, 0, 0, 0.0, 0.0)


def _interval(day: DayFigures, queue: str, index: int) -> QueueFigures:
    per_interval = day.intervals.get(queue)
    return per_interval[index] if per_interval is not None else _NO_CALLS


def replicate(
    config: AcdConfig,
    scenario: Scenario,
    replications: int,
    *,
    seed: int | None = None,
    on_progress: ProgressCallback | None = None,
) -> list[SimulationResult]:
    """``replications`` days of ``scenario`` under ``config``, seeded ``seed``, ``seed + 1``, …"""
    if replications < 1:
        raise ValueError("replications must be >= 1")
    base = scenario.seed if seed is None else seed
    results = []
    for i in range(replications):
        results.append(run_day(config, scenario, seed=base + i))
        if on_progress is not None:
            on_progress(i + 1, replications)
    return results
