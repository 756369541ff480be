"""Ports: how the adapters and the dispatcher meet, as Protocols (each declared once, here).

Inbound, one port: ``EventInbox``, where every adapter sends what happened (the dispatcher's
inbox); the dispatcher drives a ``RoutingEngine`` (``acd.core.engine.Engine``). Outbound, the
ports the dispatcher calls: ``CallControl``, ``CallRecords``, ``LiveView``. Adapters
(``acd.asterisk``, ``acd.storage``, ``acd.mqtt``, ``acd.admin``) implement or use these; they never
import each other, nor the concrete dispatcher. Every outbound method is called from the dispatcher
task and must not block: an adapter that has I/O to do queues it and returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from acd.core.commands import (
    CallbackChosen,
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


class CallbackChoices(Protocol):
    """Checks a caller's accepted callback against what only the runtime knows (the do-not-call
    list), then posts ``CallbackRequested`` or ``CallbackRefused``; never blocks."""

    def callback_chosen(self, command: CallbackChosen) -> None: ...


class BookingRefusedError(Exception):
    """A callback booking was refused; ``code`` is stable (the HTTP API's error codes)."""

    def __init__(self, code: str, message: str, problem: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.problem = problem  # for invalid_number: withheld, invalid, premium, foreign
        self.opens_at: float | None = None


class CallbackBooking(Protocol):
    """Books a callback from outside the queue (HTTP API, MQTT) under the same rules
    (``acd.runtime.callback_desk.CallbackDesk``); ``BookingRefusedError`` when refused."""

    async def book(
        self,
        queue: str,
        number: str,
        *,
        name: str = "",
        at: float | None = None,
        priority: int | None = None,
        data: Mapping[str, str] | None = None,
    ) -> str: ...


class CallRecords(Protocol):
    """Keeps every record; ``record`` queues and returns at once (the recorder batches)."""

    def record(self, command: RecordCommand) -> None: ...


class LiveView(Protocol):
    """Sees every dispatched event and the commands it produced (MQTT, SSE, metrics)."""

    def observe(self, event: Event, commands: Sequence[Command]) -> None: ...


class ListeningMode(StrEnum):
    """How a supervisor joins an advisor's call (ChanSpy, S15)."""

    LISTEN = "listen"  # hears both parties, heard by nobody
    WHISPER = "whisper"  # heard by the advisor only (ChanSpy ``w``)
    BARGE = "barge"  # heard by the advisor and the caller (ChanSpy ``B``)


class ListeningState(StrEnum):
    CALLING = "calling"  # the supervisor's phone rings (AMI Originate sent)
    LISTENING = "listening"  # ChanSpyStart seen: attached to the advisor's channel
    ENDED = "ended"


@dataclass(slots=True)
class Listening:
    """One use of listen/whisper/barge: who listened to whom, when, how long, in which modes.

    ``modes`` lists every mode in the order used (a switch from the page appends one);
    ``outcome`` says how it ended: ``left`` (left from the page), ``stopped`` (the supervisor's
    phone hung up), ``call_ended``, ``no_answer`` (the supervisor's phone was not answered),
    ``nothing_to_spy`` (the call was over before ChanSpy attached), ``daemon_stopped`` (acd
    stopped: it hung the supervisor's phone up).
    """

    listening_id: str
    supervisor: str
    agent_id: str
    call_id: str
    queue: str
    phone: str
    requested_at: float
    modes: list[ListeningMode] = field(default_factory=list)
    state: ListeningState = ListeningState.CALLING
    started_at: float | None = None
    ended_at: float | None = None
    outcome: str = ""

    @property
    def mode(self) -> ListeningMode:
        """The mode in force now (the last one chosen)."""
        return self.modes[-1]

    @property
    def listened_s(self) -> float:
        """How long the supervisor was attached (0 if never)."""
        if self.started_at is None:
            return 0.0
        return max(0.0, (self.ended_at or self.started_at) - self.started_at)


class ListeningDesk(Protocol):
    """Listen, whisper, barge (``acd.app.Daemon`` is one; ``acd.asterisk.chanspy`` does the AMI
    side). Refusals raise ``ListeningRefusedError`` with a stable code."""

    async def listen(
        self,
        *,
        supervisor: str,
        phone: str,
        agent_id: str,
        call_id: str,
        queue: str,
        mode: ListeningMode,
    ) -> Listening: ...

    async def switch(self, listening_id: str, mode: ListeningMode) -> Listening: ...

    async def leave(self, listening_id: str) -> Listening: ...

    def live(self) -> list[Listening]: ...

    async def history(self, agent_id: str, limit: int) -> list[Listening]: ...


class ListeningRefusedError(Exception):
    """A listening request that cannot be done; ``code`` is stable (the API's error code)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class RecordingStatus(StrEnum):
    """Where a call's recording stands (the caller heard the information notice)."""

    RECORDED = "recorded"  # MixMonitor runs (from the dialplan, or started on demand)
    OBJECTED = "objected"  # the caller pressed the objection key: never recorded
    ALLOWED = "allowed"  # on demand: not started (yet)


@dataclass(slots=True)
class Recording:
    """A call's recording: its file as acd reads it, who was on the call, and what was done."""

    call_id: str
    queue: str
    status: RecordingStatus
    started_at: float
    caller_number: str = ""
    agent_id: str | None = None
    path: str = ""
    ended_at: float | None = None
    size_bytes: int | None = None
    muted: bool = False


@dataclass(frozen=True, slots=True)
class RecordingAction:
    """One line of a recording's log: objected, started, muted, unmuted, listened."""

    call_id: str
    at: float
    actor: str
    action: str


class RecordingDesk(Protocol):
    """Recordings for the HTTP side (``acd.app.Daemon`` is one). Refusals raise
    ``ListeningRefusedError`` with a stable code (the same family as listening's)."""

    async def recordings(self, limit: int) -> list[Recording]: ...

    def live_recording(self, call_id: str) -> Recording | None: ...

    async def recording(self, call_id: str) -> tuple[Recording, list[RecordingAction]] | None: ...

    async def log_recording(self, call_id: str, actor: str, action: str) -> None: ...

    async def mute_recording(self, agent_id: str, muted: bool, actor: str) -> Recording: ...

    async def start_recording(self, agent_id: str, actor: str) -> Recording: ...


@dataclass(frozen=True, slots=True)
class SupervisorAction:
    """One act of live control: a forced pause/ready/logout, a caller moved, re-prioritised or
    ended; ``detail`` holds the reason (shown to the advisor) or the new queue or priority."""

    at: float
    actor: str
    action: str
    agent_id: str | None = None
    call_id: str | None = None
    detail: str = ""


class SupervisorRecord(Protocol):
    """Where live control is recorded (``acd.app.Daemon`` is one)."""

    def record_action(self, action: SupervisorAction) -> None: ...

    async def actions(self, limit: int) -> list[SupervisorAction]: ...
