"""A readable log of what the engine decided: one line per event, indented lines per command.

Pass a ``DecisionLog`` as ``on_decision`` to ``run_day``; its ``lines`` read like a dispatcher's
log at virtual time. Bookkeeping commands (records, timers) are left out unless ``verbose``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from acd.core import commands as cmd
from acd.core import events as ev


def _clock(at: float) -> str:
    whole = int(at)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}.{int(at % 1 * 10)}"


def describe_event(event: ev.Event) -> str:
    """``CallArrived call_id=c000001 queue=sales`` (the event's ids and salient values)."""
    parts = [type(event).__name__]
    for name in ("call_id", "agent_id", "queue", "reason", "phone", "dial_status", "timer_id"):
        value = getattr(event, name, None)
        if value is not None:
            parts.append(f"{name}={value}")
    return " ".join(parts)


def describe_command(command: cmd.Command) -> str | None:
    """A decision in words, or None for bookkeeping (records and timers)."""
    if isinstance(command, cmd.RingAgent):
        return f"ring {command.agent_id} for {command.call_id} (up to {command.ring_timeout_s:g} s)"
    if isinstance(command, cmd.PlayPrompt):
        return (
            f"tell {command.call_id}: position {command.position}, "
            f"about {command.expected_wait_s} s to wait"
        )
    if isinstance(command, cmd.StopPrompt):
        return f"stop the prompt of {command.call_id}"
    if isinstance(command, cmd.OverflowCall):
        return f"overflow {command.call_id} to {command.target} ({command.reason})"
    if isinstance(command, cmd.EndCall):
        return f"end {command.call_id} ({command.reason})"
    if isinstance(command, cmd.CallCompleted):
        return f"{command.call_id} done: {command.outcome.value}, waited {command.wait_s:.1f} s" + (
            f", answered by {command.agent_id}" if command.agent_id else ""
        )
    if isinstance(command, cmd.RecordAgentState) and command.dimension == "activity":
        why = f" ({command.reason})" if command.reason else ""
        return f"{command.agent_id}: {command.old} -> {command.new}{why}"
    return None


@dataclass(slots=True)
class DecisionLog:
    """Collects the decision log; ``limit`` stops collecting after that many lines."""

    verbose: bool = False
    limit: int | None = None
    lines: list[str] = field(default_factory=list)

    def __call__(self, at: float, event: ev.Event, commands: list[cmd.Command]) -> None:
        """Record one event and the commands the engine returned for it."""
        if self.limit is not None and len(self.lines) >= self.limit:
            return
        self.lines.append(f"{_clock(at)} {describe_event(event)}")
        for c in commands:
            text = describe_command(c)
            if text is None and self.verbose:
                text = repr(c)
            if text is not None:
                self.lines.append(f"             -> {text}")

    def text(self) -> str:
        """The whole log."""
        return "\n".join(self.lines) + ("\n" if self.lines else "")
