"""Builders shared by the simulator tests: an M/M/c configuration and scenario, a small centre."""

from __future__ import annotations

from acd.core.config import AcdConfig, AgentConfig, QueueConfig, RoutingStep, WorkloadPolicy
from acd.sim.distributions import Constant, Distribution, Exponential, Never
from acd.sim.scenario import QueueDemand, Scenario, Shift

HOUR = 3600.0


def mmc_config(agents: int, *, service_level_s: float = 20.0) -> AcdConfig:
    """One queue, one "any" step, no wrap-up, no cap, no announcements: the engine as M/M/c."""
    return AcdConfig(
        queues=(
            QueueConfig(
                "q",
                steps=(RoutingStep("any"),),
                wrap_up_s=0.0,
                announce_interval_s=None,
                service_level_s=service_level_s,
            ),
        ),
        agents=tuple(AgentConfig(f"a{i:03d}", queues=("q",)) for i in range(agents)),
        workload=WorkloadPolicy(enabled=False, min_wrap_up_s=0.0),
        short_abandon_s=0.0,
    )


def mmc_scenario(
    calls_per_hour: float,
    *,
    handle_s: float = 180.0,
    patience: Distribution | None = None,
    hours: float = 6.0,
    warmup_hours: float = 1.0,
) -> Scenario:
    """Poisson arrivals, exponential handle times, zero ring delay, no missed presentations."""
    return Scenario(
        open_s=0.0,
        close_s=hours * HOUR,
        queues=(
            QueueDemand(
                "q",
                profile=((0.0, calls_per_hour),),
                handle_s=Exponential(handle_s),
                patience_s=patience if patience is not None else Never(),
            ),
        ),
        interval_s=HOUR,
        ring_delay_s=Constant(0.0),
        warmup_s=warmup_hours * HOUR,
    )


def small_centre(*, workload: bool = True, wrap_up_s: float = 10.0) -> AcdConfig:
    """Two queues with skills, relaxation, announcements and a shared advisor."""
    return AcdConfig(
        queues=(
            QueueConfig(
                "sales",
                steps=(RoutingStep("sales>=3", 20.0), RoutingStep("any")),
                wrap_up_s=wrap_up_s,
                announce_interval_s=30.0,
            ),
            QueueConfig("support", wrap_up_s=wrap_up_s, announce_interval_s=30.0),
        ),
        agents=(
            AgentConfig("s1", skills={"sales": 4}, queues=("sales",)),
            AgentConfig("s2", skills={"sales": 2}, queues=("sales",)),
            AgentConfig("s3", skills={"sales": 5}, queues=("sales",)),
            AgentConfig("t1", queues=("support",)),
            AgentConfig("t2", queues=("support",)),
            AgentConfig("m1", skills={"sales": 3}, queues=("sales", "support")),
        ),
        workload=WorkloadPolicy(enabled=workload),
    )


def small_day(
    *,
    roster: tuple[Shift, ...] | None = None,
    no_answer_probability: float = 0.05,
    hours: float = 3.0,
) -> Scenario:
    """Three hours of both queues, with abandons, ring delays and some missed presentations."""
    return Scenario(
        open_s=8 * HOUR,
        close_s=(8 + hours) * HOUR,
        queues=(
            QueueDemand(
                "sales",
                profile=((8 * HOUR, 40.0), (9 * HOUR, 60.0)),
                handle_s=Exponential(200.0),
                patience_s=Exponential(90.0),
            ),
            QueueDemand(
                "support",
                profile=((8 * HOUR, 25.0),),
                handle_s=Exponential(240.0),
                patience_s=Exponential(150.0),
            ),
        ),
        interval_s=HOUR / 2,
        roster=roster,
        ring_delay_s=Constant(4.0),
        no_answer_probability=no_answer_probability,
    )
