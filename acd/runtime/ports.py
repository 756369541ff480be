"""Ports: what the dispatcher needs from the adapters, as Protocols.

Adapters (``acd.asterisk``, ``acd.storage``, ``acd.mqtt``, ``acd.admin``) implement these; they
never import each other. Every method here is called from the dispatcher task and must not block:
an adapter that has I/O to do queues it and returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from acd.core.commands import (
    CallCompleted,
    Command,
    EndCall,
    OverflowCall,
    PlayPrompt,
    RecordAgentState,
    RecordCallEvent,
    RingAgent,
    StopPrompt,
)
from acd.core.events import Event

RecordCommand = RecordCallEvent | RecordAgentState | CallCompleted


class CallControl(Protocol):
    """Drives the callers' channels (the FastAGI sessions) on the PBX."""

    def ring_agent(self, command: RingAgent) -> None: ...

    def play_prompt(self, command: PlayPrompt) -> None: ...

    def stop_prompt(self, command: StopPrompt) -> None: ...

    def overflow_call(self, command: OverflowCall) -> None: ...

    def end_call(self, command: EndCall) -> None: ...


class CallRecords(Protocol):
    """Keeps every record; ``record`` queues and returns at once (the recorder batches)."""

    def record(self, command: RecordCommand) -> None: ...


class LiveView(Protocol):
    """Sees every dispatched event and the commands it produced (MQTT, SSE, metrics)."""

    def observe(self, event: Event, commands: Sequence[Command]) -> None: ...
