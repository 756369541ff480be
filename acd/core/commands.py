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
class ReserveAgent:
    """Hold a routable advisor for a non-inbound leg (a callback, an outbound call).

    The engine chose ``agent_id`` for the reservation ``call_id`` exactly as it chooses an
    advisor for an inbound caller (eligibility, policy, workload rules) and put them in
    ``reserved`` with ``reason`` as their activity's reason (the wallboard shows it). The
    adapter of the leg's kind originates the leg: the advisor's ``endpoint`` first for a
    callback. The leg tells the engine how it went: ``AgentAnswered`` (the conversation
    started), ``AgentDidNotAnswer`` (the advisor's own leg rang out), ``ReservationReleased``
    (the leg ended before connecting), ``CallEnded``/``CallerHungUp`` (after the conversation).
    """

    agent_id: str
    reason: str
    call_id: str
    endpoint: str


@dataclass(slots=True)
class PlayPrompt:
    """Play an announcement to a waiting caller (position 1 = next to be served).

    ``callback_confirm`` is a short dialog rather than an announcement: ``digits`` (the number a
    callback would call, national form) is read back, 1 accepts it, 2 lets the caller type
    another; the leg posts ``CallbackNumberConfirmed`` when one is accepted.
    ``callback_offer_closed``: the queue is closed; the caller hears when it opens again
    (``reopens_at``) and is offered a callback then, accepted like ``callback_offer``."""

    call_id: str
    kind: str
    position: int
    expected_wait_s: int
    digits: str = ""
    # ``callback_offer_closed``: when the closed queue opens again (epoch), said before the offer.
    reopens_at: float | None = None


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


@dataclass(slots=True)
class CallbackChosen:
    """A waiting caller accepted the callback offer; ``number`` (international form) passed the
    number rules and the daily limit. The runtime checks the do-not-call list, then posts
    ``CallbackRequested(call_id=callback_id, from_call_id=call_id)`` or ``CallbackRefused``."""

    call_id: str
    callback_id: str
    queue: str
    number: str
    name: str


@dataclass(slots=True)
class RecordCallback:
    """A callback's state changed: storage keeps the row that rebuilds it after a restart.

    ``state`` is ``pending`` (scheduled or in line), ``reserved`` (an attempt under way),
    ``connected``, ``completed``, ``failed`` or ``cancelled``. ``arrived_at`` is its place in
    line (the original caller's arrival, or its scheduled time); ``due_at`` when it may next
    be attempted; ``requested_at`` when it was asked for.
    """

    callback_id: str
    queue: str
    state: str
    priority: int
    number: str
    name: str
    requested_at: float
    arrived_at: float
    due_at: float
    give_up_at: float | None
    attempts: int
    from_call_id: str | None
    agent_id: str | None
    reason: str
    at: float
    data: Mapping[str, str]


Command = (
    RingAgent
    | ReserveAgent
    | CallbackChosen
    | RecordCallback
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
