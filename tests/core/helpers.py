"""Builders and a small driver for engine tests: plain objects, no mocks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.config import (
    AcdConfig,
    AgentConfig,
    QueueConfig,
    RoutingStep,
    WorkloadPolicy,
)
from acd.core.engine import Engine

NO_WORKLOAD = WorkloadPolicy(enabled=False)


def queue(name: str = "sales", *steps: str | tuple[str, float], **kw: Any) -> QueueConfig:
    """A queue; steps given as "expr" (last) or ("expr", expires_after_s)."""
    built = tuple(
        RoutingStep(s) if isinstance(s, str) else RoutingStep(s[0], s[1]) for s in steps
    ) or (RoutingStep("any"),)
    return QueueConfig(name=name, steps=built, **kw)


def agent(
    agent_id: str,
    queues: Iterable[str] = ("sales",),
    skills: Mapping[str, int] | None = None,
    **kw: Any,
) -> AgentConfig:
    """An advisor serving ``queues``."""
    return AgentConfig(id=agent_id, skills=dict(skills or {}), queues=tuple(queues), **kw)


def config(queues: Iterable[QueueConfig], agents: Iterable[AgentConfig], **kw: Any) -> AcdConfig:
    """A whole configuration."""
    return AcdConfig(queues=tuple(queues), agents=tuple(agents), **kw)


@dataclass
class Harness:
    """Feeds events with an advancing clock and remembers every command."""

    engine: Engine
    t: float = 0.0
    log: list[cmd.Command] = field(default_factory=list)

    @classmethod
    def of(cls, cfg: AcdConfig) -> Harness:
        return cls(Engine(cfg))

    def at(self, t: float) -> Harness:
        self.t = t
        return self

    def send(self, event_type: type, **fields: Any) -> list[cmd.Command]:
        """Build ``event_type(at=self.t, **fields)`` and hand it to the engine."""
        out = self.engine.handle(event_type(at=self.t, **fields))
        self.log.extend(out)
        return out

    def login(self, *agent_ids: str) -> list[cmd.Command]:
        out: list[cmd.Command] = []
        for a in agent_ids:
            out += self.send(ev.AgentLoggedIn, agent_id=a)
        return out

    def arrive(self, call_id: str, queue_name: str = "sales", **kw: Any) -> list[cmd.Command]:
        return self.send(ev.CallArrived, call_id=call_id, queue=queue_name, **kw)

    def timer(self, prefix: str) -> str:
        """The single pending timer whose id starts with ``prefix`` (e.g. ``"wrap_up:a1:"``)."""
        found = [t for t in self.engine.pending_timers() if t.startswith(prefix)]
        assert len(found) == 1, (prefix, self.engine.pending_timers())
        return found[0]

    def fire(self, prefix: str, at: float | None = None) -> list[cmd.Command]:
        """Fire the pending timer ``prefix...`` at its due time (or ``at``)."""
        timer_id = self.timer(prefix)
        due = self.due(timer_id)
        self.t = due if at is None else at
        return self.send(ev.TimerFired, timer_id=timer_id)

    def due(self, timer_id: str) -> float:
        for c in reversed(self.log):
            if isinstance(c, cmd.StartTimer) and c.timer_id == timer_id:
                return c.fire_at
        raise AssertionError(f"no StartTimer for {timer_id}")

    def answer_and_end(self, call_id: str, agent_id: str, talk: float = 60.0) -> None:
        self.send(ev.AgentAnswered, call_id=call_id, agent_id=agent_id)
        self.t += talk
        self.send(ev.CallEnded, call_id=call_id)


def rings(commands: Iterable[cmd.Command]) -> list[tuple[str, str]]:
    """(call_id, agent_id) of every RingAgent, in order."""
    return [(c.call_id, c.agent_id) for c in commands if isinstance(c, cmd.RingAgent)]


def of_type(commands: Iterable[cmd.Command], kind: type) -> list[Any]:
    """The commands of one type, in order."""
    return [c for c in commands if isinstance(c, kind)]


def call_kinds(commands: Iterable[cmd.Command], call_id: str) -> list[str]:
    """The RecordCallEvent kinds for one call, in order."""
    return [c.kind for c in commands if isinstance(c, cmd.RecordCallEvent) and c.call_id == call_id]
