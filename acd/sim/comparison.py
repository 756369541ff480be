"""Several configurations over the same scenario and seeds: the side-by-side what-if."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from acd.core.config import AcdConfig
from acd.sim.replications import Summary, replicate, summarize
from acd.sim.scenario import Scenario
from acd.sim.theory import IntervalTheory, queue_theory

ComparisonProgress = Callable[[int, int], None]
"""Receives (replications done, replications in all) across every configuration."""


@dataclass(frozen=True, slots=True)
class ConfigRun:
    """One configuration's replications, summarised, with Erlang's view of its queues."""

    label: str
    config: AcdConfig
    summary: Summary
    theory: dict[str, list[IntervalTheory]]


@dataclass(frozen=True, slots=True)
class Comparison:
    """The scenario, the seeds, and one ``ConfigRun`` per configuration (same callers for all)."""

    scenario: Scenario
    seed: int
    replications: int
    confidence: float
    runs: tuple[ConfigRun, ...]


def compare(
    configs: Sequence[tuple[str, AcdConfig]],
    scenario: Scenario,
    *,
    replications: int,
    seed: int | None = None,
    confidence: float = 0.95,
    on_progress: ComparisonProgress | None = None,
) -> Comparison:
    """Run every configuration over ``replications`` seeded days of ``scenario``."""
    if not configs:
        raise ValueError("nothing to compare: no configuration")
    base = scenario.seed if seed is None else seed
    total = replications * len(configs)
    runs = []
    for k, (label, config) in enumerate(configs):

        def step(done: int, _all: int, offset: int = k * replications) -> None:
            if on_progress is not None:
                on_progress(offset + done, total)

        results = replicate(config, scenario, replications, seed=base, on_progress=step)
        runs.append(
            ConfigRun(label, config, summarize(results, confidence), queue_theory(config, scenario))
        )
    return Comparison(scenario, base, replications, confidence, tuple(runs))
