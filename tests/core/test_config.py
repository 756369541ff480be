"""Configuration value objects validate themselves and name the offending field."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from acd.core.config import (
    AcdConfig,
    AgentConfig,
    EmptyPolicy,
    OverflowTarget,
    Policy,
    QueueConfig,
    RoutingStep,
    TargetKind,
    WorkloadPolicy,
)
from acd.core.errors import ConfigError

from .helpers import agent, config, queue


def test_defaults_are_usable() -> None:
    """A queue with one advisor needs nothing else; workload protection is on by default."""
    cfg = config([queue()], [agent("a1")])
    q = cfg.queues[0]
    assert q.policy is Policy.LONGEST_IDLE
    assert q.steps[0].expression == "any"
    assert cfg.workload.enabled
    assert cfg.workload.occupancy_cap == 0.85
    assert cfg.workload.window_s == 3600
    assert cfg.workload.min_basis_s == 900
    assert cfg.agents[0].endpoint == "PJSIP/a1"


@pytest.mark.parametrize(
    ("build", "field", "message"),
    [
        (lambda: RoutingStep("french>=", 30), "expression", "expected a level"),
        (lambda: RoutingStep("french>=4 and french<2", 30), "expression", "no advisor can ever"),
        (lambda: RoutingStep("any", 0), "expires_after_s", "> 0"),
        (lambda: queue("q", ("any", 10)), "queues[q].steps[0].expires_after_s", "last step"),
        (lambda: queue("q", "a", "any"), "queues[q].steps[0].expires_after_s", "required"),
        (lambda: queue("q", weight=0), "queues[q].weight", "> 0"),
        (lambda: queue("q", weight=float("nan")), "queues[q].weight", "> 0"),
        (lambda: queue("q", max_wait_s=60), "queues[q].overflow", "needs an overflow"),
        (lambda: queue("q", ring_timeout_s=0), "queues[q].ring_timeout_s", "> 0"),
        (lambda: queue("q", wrap_up_s=-1), "queues[q].wrap_up_s", ">= 0"),
        (lambda: queue("q", priority=1.5), "queues[q].priority", "integer"),
        (lambda: queue("bad name"), "queues[].name", "spaces"),
        (
            lambda: queue("q", overflow=OverflowTarget.parse("queue:q")),
            "queues[q].overflow",
            "itself",
        ),
        (lambda: agent("a1", skills={"french": 6}), "agents[a1].skills.french", "1..5"),
        (lambda: agent("a1", skills={"French": 3}), "agents[a1].skills", "invalid skill"),
        (lambda: agent("a1", max_missed=0), "agents[a1].max_missed", ">= 1"),
        (lambda: agent("a1", endpoint="1001"), "agents[a1].endpoint", "TECH/RESOURCE"),
        (lambda: agent("a1", queues=("q", "q")), "agents[a1].queues", "twice"),
        (lambda: WorkloadPolicy(occupancy_cap=1.5), "workload.occupancy_cap", "(0, 1]"),
        (lambda: WorkloadPolicy(bucket_s=7200), "workload.bucket_s", "window_s"),
        (lambda: WorkloadPolicy(min_basis_s=0), "workload.min_basis_s", "> 0"),
        (lambda: WorkloadPolicy(min_basis_s=float("inf")), "workload.min_basis_s", "finite"),
        (lambda: OverflowTarget.parse("voicemail"), "target", "expected queue:NAME"),
    ],
)
def test_invalid_values_name_their_field(
    build: Callable[[], object], field: str, message: str
) -> None:
    """Each invalid value raises ConfigError whose field pinpoints it."""
    with pytest.raises(ConfigError) as info:
        build()
    assert info.value.field == field
    assert message in info.value.message


def test_unknown_queue_of_an_advisor() -> None:
    """An advisor serving an undefined queue is refused."""
    with pytest.raises(ConfigError, match=r"agents\[a1\]\.queues: unknown queue 'nope'"):
        config([queue()], [agent("a1", ("nope",))])


def test_routing_step_no_advisor_satisfies() -> None:
    """A step none of the queue's advisors can ever satisfy is an impossible config."""
    with pytest.raises(ConfigError) as info:
        config([queue("sales", ("french>=4", 30), "any")], [agent("a1", skills={"french": 3})])
    assert info.value.field == "queues[sales].steps[0].expression"
    assert "no advisor of the queue satisfies" in info.value.message


def test_queue_without_advisors_is_refused() -> None:
    """A queue nobody serves could never answer a call."""
    with pytest.raises(ConfigError, match="the queue has no advisors"):
        config([queue("sales"), queue("empty")], [agent("a1")])


def test_overflow_loop_is_refused() -> None:
    """Queues overflowing into each other in a circle are refused with the chain."""
    a = queue("a", max_wait_s=10, overflow=OverflowTarget.parse("queue:b"))
    b = queue("b", max_wait_s=10, overflow=OverflowTarget.parse("queue:a"))
    with pytest.raises(ConfigError, match="overflow loop: a -> b -> a"):
        config([a, b], [agent("x", ("a", "b"))])


def test_overflow_to_unknown_queue() -> None:
    """An overflow target must be a defined queue."""
    q = queue("a", max_wait_s=10, overflow=OverflowTarget.parse("queue:zz"))
    with pytest.raises(ConfigError, match="unknown queue 'zz'"):
        config([q], [agent("x", ("a",))])


def test_duplicates_are_refused() -> None:
    """Two queues or two advisors with one name are refused."""
    with pytest.raises(ConfigError, match="queue defined twice"):
        config([queue("a"), queue("a")], [agent("x", ("a",))])
    with pytest.raises(ConfigError, match="advisor defined twice"):
        config([queue("a")], [agent("x", ("a",)), agent("x", ("a",))])


def test_overflow_target_parsing() -> None:
    """Targets parse from text and print back."""
    assert OverflowTarget.parse("queue:billing") == OverflowTarget(TargetKind.QUEUE, "billing")
    assert str(OverflowTarget.parse("extension:voicemail@acd")) == "extension:voicemail@acd"
    assert OverflowTarget.parse("hangup").kind is TargetKind.HANGUP


def test_skills_are_read_only() -> None:
    """An advisor's skills cannot be changed after validation."""
    a = AgentConfig("a1", skills={"french": 3})
    with pytest.raises(TypeError):
        a.skills["french"] = 5  # type: ignore[index]  # the point: a read-only mapping


def test_config_types_are_checked() -> None:
    """Wrong container types give a field-named error, not an AttributeError later."""
    with pytest.raises(ConfigError, match="queues"):
        AcdConfig(queues=[QueueConfig("a")])  # type: ignore[arg-type]  # wrong on purpose
    with pytest.raises(ConfigError, match="join_when_empty"):
        QueueConfig("a", join_when_empty="never")  # type: ignore[arg-type]  # wrong on purpose
    assert QueueConfig("a", join_when_empty=EmptyPolicy.NO_STAFFED).join_when_empty == "no_staffed"
