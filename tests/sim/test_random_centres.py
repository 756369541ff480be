"""Random centres (policies, overflows, empty-queue rules, rosters, missed calls) run cleanly.

Each example builds a configuration and a short day from drawn choices and checks the
simulator's bookkeeping invariants: the engine never refuses an event the simulator builds,
every caller is accounted for, and every advisor second lands in exactly one activity.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acd.core.config import (
    AcdConfig,
    AgentConfig,
    EmptyPolicy,
    OverflowTarget,
    Policy,
    QueueConfig,
    RoutingStep,
    WorkloadPolicy,
)
from acd.sim.distributions import Exponential, Uniform
from acd.sim.scenario import Break, QueueDemand, Scenario, Shift, draw_callers
from acd.sim.simulator import run_day

NAMES = ("q0", "q1", "q2")


@st.composite
def centres(draw: st.DrawFn) -> tuple[AcdConfig, Scenario, int]:
    queues = []
    for i, name in enumerate(NAMES):
        overflow = max_wait = None
        if i < 2 and draw(st.booleans()):
            target = draw(st.sampled_from([f"queue:{NAMES[i + 1]}", "hangup", "extension:9@x"]))
            overflow = OverflowTarget.parse(target)
            max_wait = draw(st.sampled_from([30.0, 90.0]))
        steps = (
            (RoutingStep("lang>=3", draw(st.sampled_from([5.0, 20.0]))), RoutingStep("any"))
            if draw(st.booleans())
            else (RoutingStep("any"),)
        )
        queues.append(
            QueueConfig(
                name,
                steps=steps,
                policy=draw(st.sampled_from(list(Policy))),
                max_wait_s=max_wait,
                overflow=overflow,
                join_when_empty=draw(st.sampled_from(list(EmptyPolicy))),
                leave_when_empty=draw(st.sampled_from(list(EmptyPolicy))),
                announce_interval_s=draw(st.sampled_from([None, 15.0])),
                wrap_up_s=draw(st.sampled_from([0.0, 5.0, 20.0])),
                ring_timeout_s=draw(st.sampled_from([5.0, 15.0])),
                weight=draw(st.sampled_from([1.0, 2.0])),
            )
        )
    agents = [AgentConfig(f"x{n}", skills={"lang": 5}, queues=(n,)) for n in NAMES]
    for k in range(draw(st.integers(1, 6))):
        served = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True))
        agents.append(
            AgentConfig(
                f"a{k}",
                skills={"lang": draw(st.integers(1, 5))},
                queues=tuple(served),
                max_missed=draw(st.integers(1, 3)),
            )
        )
    config = AcdConfig(
        queues=tuple(queues),
        agents=tuple(agents),
        workload=WorkloadPolicy(
            enabled=draw(st.booleans()), occupancy_cap=0.6, window_s=600.0, breather_s=30.0
        ),
    )
    roster = None
    if draw(st.booleans()):
        start = draw(st.sampled_from([0.0, 600.0]))
        end = draw(st.sampled_from([None, 2400.0]))
        pause = Break(900.0, draw(st.sampled_from([60.0, 300.0])))
        roster = (Shift(("a*",), start, end, (pause,)), Shift(("x*",), 0.0, None))
    scenario = Scenario(
        open_s=0.0,
        close_s=3600.0,
        queues=tuple(
            QueueDemand(
                n,
                ((0.0, draw(st.sampled_from([20.0, 90.0]))),),
                Exponential(draw(st.sampled_from([60.0, 200.0]))),
                Exponential(draw(st.sampled_from([30.0, 120.0]))),
            )
            for n in NAMES
        ),
        roster=roster,
        ring_delay_s=Uniform(0.0, draw(st.sampled_from([3.0, 20.0]))),
        no_answer_probability=draw(st.sampled_from([0.0, 0.3])),
        prompt_s=draw(st.sampled_from([0.0, 5.0, 40.0])),
        max_drain_s=1800.0,
    )
    return config, scenario, draw(st.integers(0, 1000))


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(centres())
def test_random_centres_keep_the_books(centre: tuple[AcdConfig, Scenario, int]) -> None:
    """Any drawn centre simulates without a refused event, losing no caller and no second."""
    config, scenario, seed = centre
    result = run_day(config, scenario, seed=seed)
    drawn = len(draw_callers(scenario, seed))
    assert len(result.calls) + result.unfinished + result.without_queue == drawn
    for day in result.agents:
        assert sum(day.seconds.values()) == pytest.approx(result.ended_at - scenario.open_s)
