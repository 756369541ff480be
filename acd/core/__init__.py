"""The pure routing engine: sync, deterministic, no I/O, no asyncio, no logging, injected clock.

Its whole interface is ``Engine.handle(event) -> list[Command]`` plus read-only snapshots.
Events live in ``acd.core.events``, commands in ``acd.core.commands``, configuration in
``acd.core.config``; see ``docs/routing.md``.
"""

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
from acd.core.engine import Engine
from acd.core.errors import (
    ConfigError,
    CoreError,
    EventOutOfOrderError,
    IllegalTransitionError,
    SkillExpressionError,
    UnknownAgentError,
    UnknownCallError,
    UnknownQueueError,
    WorkloadLimitError,
)
from acd.core.states import Activity, CallState, Outcome, PhoneState, Presence

__all__ = [
    "AcdConfig",
    "Activity",
    "AgentConfig",
    "CallState",
    "ConfigError",
    "CoreError",
    "EmptyPolicy",
    "Engine",
    "EventOutOfOrderError",
    "IllegalTransitionError",
    "Outcome",
    "OverflowTarget",
    "PhoneState",
    "Policy",
    "Presence",
    "QueueConfig",
    "RoutingStep",
    "SkillExpressionError",
    "TargetKind",
    "UnknownAgentError",
    "UnknownCallError",
    "UnknownQueueError",
    "WorkloadLimitError",
    "WorkloadPolicy",
]
