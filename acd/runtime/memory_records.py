"""Call records kept in memory: the CallRecords port for tests and runs without a database."""

from __future__ import annotations

from acd.core.commands import CallCompleted, RecordAgentState, RecordCallback, RecordCallEvent
from acd.runtime.ports import RecordCommand


class MemoryCallRecords:
    """Keeps every record in lists, in the order the dispatcher sent them."""

    def __init__(self) -> None:
        self.call_events: list[RecordCallEvent] = []
        self.agent_states: list[RecordAgentState] = []
        self.completed: list[CallCompleted] = []
        self.callbacks: list[RecordCallback] = []

    def record(self, command: RecordCommand) -> None:
        if isinstance(command, RecordCallEvent):
            self.call_events.append(command)
        elif isinstance(command, RecordAgentState):
            self.agent_states.append(command)
        elif isinstance(command, RecordCallback):
            self.callbacks.append(command)
        else:
            self.completed.append(command)
