"""Ports: how the adapters and the dispatcher meet, as Protocols (each declared once, here).

Inbound, one port: ``EventInbox``, where every adapter sends what happened (the dispatcher's
inbox); the dispatcher drives a ``RoutingEngine`` (``acd.core.engine.Engine``). Outbound, the
ports the dispatcher calls: ``CallControl``, ``CallRecords``, ``LiveView``. Adapters
(``acd.asterisk``, ``acd.storage``, ``acd.mqtt``, ``acd.admin``) implement or use these; they never
import each other, nor the concrete dispatcher. Every outbound method is called from the dispatcher
task and must not block: an adapter that has I/O to do queues it and returns.
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
    RecordCallback,
    RecordCallEvent,
    ReserveAgent,
    RingAgent,
    StopPrompt,
)
from acd.core.events import Event

RecordCommand = RecordCallEvent | RecordAgentState | CallCompleted | RecordCallback


class InboxFullError(RuntimeError):
    """The inbox is full: the dispatcher is far behind. The event was not accepted."""


class EventInbox(Protocol):
    """Where adapters send events (``acd.runtime.dispatcher.Dispatcher``).

    ``post`` queues and returns at once (``InboxFullError`` when full); ``submit`` waits for the
    engine's answer and raises its ``CoreError`` when the engine refuses the event, with nothing
    changed.
    """

    def now(self) -> float: ...

    def post(self, event: Event) -> None: ...

    async def submit(self, event: Event) -> list[Command]: ...


class RoutingEngine(Protocol):
    """What the dispatcher needs of ``acd.core``'s engine."""

    def handle(self, event: Event) -> list[Command]: ...


class CallControl(Protocol):
    """Drives the callers' channels (the FastAGI sessions) on the PBX."""

    def ring_agent(self, command: RingAgent) -> None: ...

    def play_prompt(self, command: PlayPrompt) -> None: ...

    def stop_prompt(self, command: StopPrompt) -> None: ...

    def overflow_call(self, command: OverflowCall) -> None: ...

    def end_call(self, command: EndCall) -> None: ...


class ReservedLegs(Protocol):
    """Starts the leg of one kind of reservation (callback, outbound) once the engine has held
    an advisor for it (``ReserveAgent``); the leg reports back through the inbox."""

    def reserve_agent(self, command: ReserveAgent) -> None: ...


class CallRecords(Protocol):
    """Keeps every record; ``record`` queues and returns at once (the recorder batches)."""

    def record(self, command: RecordCommand) -> None: ...


class LiveView(Protocol):
    """Sees every dispatched event and the commands it produced (MQTT, SSE, metrics)."""

    def observe(self, event: Event, commands: Sequence[Command]) -> None: ...
