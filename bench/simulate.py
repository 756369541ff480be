"""Benchmark of ``acd simulate``: speed of a big day, and agreement with Erlang C/A up to 95 % load.

    .venv/bin/python bench/simulate.py [--repeat 3] [--skip-validation]

Speed: a 10-hour day, about 20,000 calls, 200 advisors on two queues with skill-based routing
steps, announcements, the workload cap, ring delays and missed presentations: the production
engine with its whole feature set, not a toy. Reported as simulated calls per wall-clock second.

Validation: one queue of 40 advisors as M/M/c (Erlang C) and M/M/c+M (Erlang A, exponential
patience of 120 s) at 90 and 95 % load (50–90 % with 10 advisors run in tests/sim); 12-hour
days, the first 2 hours left out (at 95 % an M/M/40 forgets its empty start in about 2 hours;
with 10 advisors it would take 8), 10 replications; theory must lie inside the simulation's
99 % confidence interval.

Figures are wall-clock on a shared machine: run it a few times; they are noisy. The last line is
JSON (``calls_per_s`` is the best of the repeats).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from acd.core.config import (
    AcdConfig,
    AgentConfig,
    Policy,
    QueueConfig,
    RoutingStep,
    WorkloadPolicy,
)
from acd.sim.distributions import Constant, Exponential, LogNormal, Never, Uniform
from acd.sim.erlang import erlang_a, erlang_c
from acd.sim.replications import replicate, summarize
from acd.sim.scenario import QueueDemand, Scenario
from acd.sim.simulator import run_day

HOUR = 3600.0


def big_config() -> AcdConfig:
    """200 advisors, two queues with skill steps; 40 advisors serve both."""
    agents = []
    for i in range(200):
        if i < 110:
            queues: tuple[str, ...] = ("sales",)
        elif i < 160:
            queues = ("support",)
        else:
            queues = ("sales", "support")
        skills = {"french": 2 + i % 4, "sales": 1 + i % 5, "support": 1 + (i * 7) % 5}
        agents.append(AgentConfig(f"a{i:03d}", skills=skills, queues=queues))
    return AcdConfig(
        queues=(
            QueueConfig(
                "sales",
                steps=(
                    RoutingStep("french>=4 and sales>=3", 15.0),
                    RoutingStep("french>=3", 30.0),
                    RoutingStep("any"),
                ),
                wrap_up_s=10.0,
                announce_interval_s=30.0,
            ),
            QueueConfig(
                "support",
                steps=(RoutingStep("support>=3", 20.0), RoutingStep("any")),
                policy=Policy.LEAST_OCCUPIED,
                wrap_up_s=15.0,
                announce_interval_s=30.0,
            ),
        ),
        agents=tuple(agents),
        workload=WorkloadPolicy(enabled=True),
    )


def big_day() -> Scenario:
    """10 hours, 2,000 calls an hour in all."""
    return Scenario(
        open_s=8 * HOUR,
        close_s=18 * HOUR,
        queues=(
            QueueDemand(
                "sales",
                ((8 * HOUR, 1300.0),),
                LogNormal(280.0, 160.0),
                Exponential(150.0),
                Uniform(5.0, 15.0),
            ),
            QueueDemand(
                "support", ((8 * HOUR, 700.0),), LogNormal(320.0, 200.0), Exponential(240.0)
            ),
        ),
        ring_delay_s=Uniform(2.0, 6.0),
        no_answer_probability=0.02,
    )


def speed(repeat: int) -> dict[str, float]:
    config, scenario = big_config(), big_day()
    rates, seconds, cpu = [], [], []
    calls = events = 0
    for i in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = run_day(config, scenario, seed=i + 1)
        elapsed = time.perf_counter() - t0
        cpu.append(time.process_time() - c0)
        calls = len(result.calls) + result.unfinished
        events = result.events
        rates.append(calls / elapsed)
        seconds.append(elapsed)
        print(
            f"  run {i + 1}: {calls} calls, {events} events, {elapsed:.2f} s wall, "
            f"{cpu[-1]:.2f} s CPU, {calls / elapsed:,.0f} calls/s"
        )
    return {
        "calls": calls,
        "events": events,
        "seconds_best": min(seconds),
        "seconds_median": statistics.median(seconds),
        "cpu_seconds_best": min(cpu),
        "calls_per_s": max(rates),
        "calls_per_s_median": statistics.median(rates),
    }


def mmc(agents: int) -> AcdConfig:
    return AcdConfig(
        queues=(
            QueueConfig("q", steps=(RoutingStep("any"),), wrap_up_s=0.0, announce_interval_s=None),
        ),
        agents=tuple(AgentConfig(f"a{i:03d}", queues=("q",)) for i in range(agents)),
        workload=WorkloadPolicy(enabled=False, min_wrap_up_s=0.0),
        short_abandon_s=0.0,
    )


def validation() -> tuple[int, int]:
    agents, handle, threshold, patience = 40, 180.0, 20.0, 120.0
    checks = passed = 0
    print(
        f"{'model':<9}{'load':>6}{'':>3}{'SL theory':>10}{'SL simulated (99% CI)':>26}"
        f"{'ASA theory':>12}{'ASA simulated (99% CI)':>26}"
    )
    for model in ("Erlang C", "Erlang A"):
        for load in (0.9, 0.95):
            rate = load * agents / handle
            scenario = Scenario(
                open_s=0.0,
                close_s=12 * HOUR,
                queues=(
                    QueueDemand(
                        "q",
                        ((0.0, rate * 3600),),
                        Exponential(handle),
                        Exponential(patience) if model == "Erlang A" else Never(),
                    ),
                ),
                interval_s=HOUR,
                ring_delay_s=Constant(0.0),
                warmup_s=2 * HOUR,
            )
            summary = summarize(replicate(mmc(agents), scenario, 10, seed=1000), 0.99)
            if model == "Erlang C":
                theory = erlang_c(rate, handle, agents, threshold)
            else:
                theory = erlang_a(rate, handle, agents, threshold, patience)
            sl, asa = summary.total["service_level"], summary.total["asa_s"]
            ok_sl, ok_asa = sl.contains(theory.service_level), asa.contains(theory.asa_s)
            checks += 2
            passed += ok_sl + ok_asa
            print(
                f"{model:<9}{load:>6.0%}{'':>3}{theory.service_level:>10.4f}"
                f"{f'{sl.mean:.4f} ± {sl.half_width:.4f}':>22}{'ok' if ok_sl else 'OUT':>4}"
                f"{theory.asa_s:>12.2f}{f'{asa.mean:.2f} ± {asa.half_width:.2f}':>22}"
                f"{'ok' if ok_asa else 'OUT':>4}"
            )
    return passed, checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-validation", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load {load[0]:.2f}"
    )
    print("speed: 10-hour day, 200 advisors, two queues, skills, workload cap, announcements")
    figures = speed(args.repeat)
    out: dict[str, object] = {"bench": "simulate", "advisors": 200, **figures}
    if not args.skip_validation:
        print("validation: 40 advisors, AHT 180 s, 12 h days (2 h warm-up), 10 replications")
        passed, checks = validation()
        out["validation_passed"] = passed
        out["validation_checks"] = checks
    print(json.dumps(out))


if __name__ == "__main__":
    main()
