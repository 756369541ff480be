"""Commands: what the engine asks for, in the imperative. The dispatcher executes them in order.

Control commands drive the PBX and the timers; record commands feed storage and the live view.

Commands are slotted dataclasses the receiver must treat as immutable. They are deliberately not
``frozen=True``: a frozen dataclass's ``__init__`` goes through ``object.__setattr__`` per field,
which measured 3-6x slower to build on this project's bench machine, and the engine builds five
to ten commands per event on its hot path (events, built by adapters, are frozen).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from acd.core.states import Outcome


@dataclass(slots=True)
class RingAgent:
    """Present the call: ``EXEC Dial <endpoint>,<ring_timeout_s>,m`` in the caller's AGI session."""

    call_id: str
    agent_id: str
    endpoint: str
    ring_timeout_s: float


@dataclass(slots=True)
class PlayPrompt:
    """Play an announcement to a waiting caller (position 1 = next to be served)."""

    call_id: str
    kind: str
    position: int
    expected_wait_s: int


@dataclass(slots=True)
class StopPrompt:
    """Stop the prompt now: an advisor is about to be rung, or the caller leaves the queue."""

    call_id: str


@dataclass(slots=True)
class StartTimer:
    """Deliver ``TimerFired(timer_id)`` at ``fire_at`` (same clock as events) unless cancelled."""

    timer_id: str
    fire_at: float


@dataclass(slots=True)
class CancelTimer:
    """Forget a timer; a ``TimerFired`` already in flight for it is ignored by the engine."""

    timer_id: str


@dataclass(slots=True)
class OverflowCall:
    """Send the caller out of the engine: ``target`` is ``extension:...`` or ``hangup``."""

    call_id: str
    target: str
    reason: str


@dataclass(slots=True)
class EndCall:
    """Say goodbye and hang up (join-when-empty rejection, leave-when-empty without a target).

    ``closed_message``: first tell the caller the queue is closed and, when ``reopens_at`` (epoch)
    is known, when it opens again (SAY DATETIME in the queue's language).
    """

    call_id: str
    reason: str
    closed_message: bool = False
    reopens_at: float | None = None


@dataclass(slots=True)
class RecordCallEvent:
    """One line of a call's event log; ``(call_id, seq)`` is unique (storage idempotency key)."""

    call_id: str
    seq: int
    kind: str
    at: float
    queue: str
    agent_id: str | None
    data: Mapping[str, str | int | float | None]


@dataclass(slots=True)
class RecordAgentState:
    """One change of one dimension (presence, phone, activity) of an advisor's state."""

    agent_id: str
    dimension: str
    old: str
    new: str
    reason: str | None
    at: float


@dataclass(slots=True)
class CallCompleted:
    """A call's final summary, once its story is over (after wrap-up for answered calls)."""

    call_id: str
    queue: str
    first_queue: str
    priority: int
    caller_number: str
    caller_name: str
    linked_id: str
    offered_at: float
    presented_at: float | None
    answered_at: float | None
    ended_at: float
    agent_id: str | None
    agents_tried: tuple[str, ...]
    outcome: Outcome
    reason: str
    wait_s: float
    talk_s: float
    wrap_up_s: float
    disposition: str | None
    transferred_to: str | None
    overflow_target: str | None
    answered_within_sl: bool


Command = (
    RingAgent
    | PlayPrompt
    | StopPrompt
    | StartTimer
    | CancelTimer
    | OverflowCall
    | EndCall
    | RecordCallEvent
    | RecordAgentState
    | CallCompleted
)
