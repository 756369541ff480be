"""Errors of the routing engine: one base, specific subclasses, each carrying the ids involved.

A ``CoreError`` raised by ``Engine.handle`` means the event was refused and the engine state is
exactly what it was before the call: the dispatcher logs it with its ids and carries on.
"""

from __future__ import annotations


class CoreError(Exception):
    """Base of every error raised by ``acd.core``."""


class ConfigError(CoreError, ValueError):
    """A configuration value is invalid; ``field`` names it (e.g. ``queues[sales].weight``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class SkillExpressionError(CoreError, ValueError):
    """A skill expression does not parse; ``position`` is the 0-based column of the problem."""

    def __init__(self, text: str, position: int, message: str) -> None:
        pointer = " " * position + "^"
        super().__init__(f"{message} at position {position}\n  {text}\n  {pointer}")
        self.text = text
        self.position = position
        self.message = message


class UnknownAgentError(CoreError, KeyError):
    """An event names an advisor id the configuration does not know."""

    def __init__(self, agent_id: str) -> None:
        super().__init__(f"unknown advisor {agent_id!r}")
        self.agent_id = agent_id

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownCallError(CoreError, KeyError):
    """An event names a call id the engine never saw (or forgot long ago)."""

    def __init__(self, call_id: str) -> None:
        super().__init__(f"unknown call {call_id!r}")
        self.call_id = call_id

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownQueueError(CoreError, KeyError):
    """A call arrived for (or overflowed to) a queue the configuration does not define."""

    def __init__(self, queue: str, call_id: str | None = None) -> None:
        where = f" for call {call_id!r}" if call_id is not None else ""
        super().__init__(f"unknown queue {queue!r}{where}")
        self.queue = queue
        self.call_id = call_id

    def __str__(self) -> str:
        return str(self.args[0])


class EventOutOfOrderError(CoreError):
    """An event is timestamped before the last event the engine accepted."""

    def __init__(self, event_name: str, at: float, last_at: float) -> None:
        super().__init__(
            f"{event_name} at {at} is earlier than the last accepted event at {last_at}"
        )
        self.event_name = event_name
        self.at = at
        self.last_at = last_at


class IllegalTransitionError(CoreError):
    """A state machine refused a transition: nothing was changed.

    ``entity`` is ``"agent"`` or ``"call"``, ``entity_id`` its id, ``dimension`` the state machine
    (``presence``, ``phone``, ``activity`` or ``call``), ``state`` the current state and ``trigger``
    what was attempted. ``related_id`` carries the other id involved (the call of an agent, the
    agent of a call) when there is one.
    """

    def __init__(
        self,
        entity: str,
        entity_id: str,
        dimension: str,
        state: str,
        trigger: str,
        *,
        related_id: str | None = None,
        detail: str = "",
    ) -> None:
        related = f" (with {related_id!r})" if related_id is not None else ""
        extra = f": {detail}" if detail else ""
        super().__init__(
            f"{entity} {entity_id!r}{related}: {dimension} cannot go through {trigger!r} "
            f"from {state!r}{extra}"
        )
        self.entity = entity
        self.entity_id = entity_id
        self.dimension = dimension
        self.state = state
        self.trigger = trigger
        self.related_id = related_id


class WorkloadLimitError(CoreError):
    """An advisor asked for what the workload policy forbids now (e.g. a 4th recovery pause)."""

    def __init__(self, agent_id: str, rule: str, detail: str) -> None:
        super().__init__(f"advisor {agent_id!r}: {rule}: {detail}")
        self.agent_id = agent_id
        self.rule = rule
        self.detail = detail
