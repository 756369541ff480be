"""Events: what happened, in the past tense. Each carries ``at``, seconds from the injected clock.

The dispatcher (or the simulator) timestamps each event; the engine never reads a clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from acd.core.calendar import Opening
from acd.core.config import AcdConfig
from acd.core.states import PhoneState


class DialStatus(StrEnum):
    """Why a presentation failed: Asterisk's DIALSTATUS values that mean "not answered"."""

    NOANSWER = "NOANSWER"
    BUSY = "BUSY"
    CHANUNAVAIL = "CHANUNAVAIL"
    CONGESTION = "CONGESTION"


_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentLoggedIn:
    """The advisor logged in; ``paused_reason`` logs them in paused."""

    at: float
    agent_id: str
    paused_reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentLoggedOut:
    """The advisor logged out (refused while a call rings or is in progress)."""

    at: float
    agent_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentPaused:
    """The advisor paused with a reason; during a call the pause applies after wrap-up."""

    at: float
    agent_id: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentReady:
    """The advisor resumed: from pause, recovery, breather (if under the cap) or wrap-up."""

    at: float
    agent_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecoveryPauseRequested:
    """The advisor takes a recovery pause (after a difficult call), within the workload limits."""

    at: float
    agent_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class WrapUpEnded:
    """The advisor ends wrap-up early (never before the workload minimum)."""

    at: float
    agent_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DispositionSet:
    """The advisor tagged their current (or just finished) call."""

    at: float
    agent_id: str
    call_id: str
    disposition: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PhoneStateChanged:
    """The PBX reported a new device state for the advisor's phone."""

    at: float
    agent_id: str
    phone: PhoneState


@dataclass(frozen=True, slots=True, kw_only=True)
class CallArrived:
    """A caller entered a queue (the call is *offered*). ``priority`` None = the queue's."""

    at: float
    call_id: str
    queue: str
    priority: int | None = None
    caller_number: str = ""
    caller_name: str = ""
    linked_id: str = ""
    data: Mapping[str, str] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReservationRequested:
    """A non-inbound leg needs an advisor of ``queue`` before anyone is dialed (``ReserveAgent``).

    It waits in the queue's line like a caller, by ``priority`` (None = the queue's) and
    ``arrived_at`` (None = ``at``), without announcements, max wait or inbound figures. When an
    eligible advisor is routable the engine answers ``ReserveAgent(agent, reason, call_id)``.
    ``reason`` names the leg's kind (``"outbound"``); callbacks use ``CallbackRequested``.
    ``agent_id`` asks for that very advisor, now (a preview campaign's click to call): reserved
    at once if routable and eligible, else the engine refuses (``IllegalTransitionError`` on the
    advisor) and changes nothing.
    """

    at: float
    call_id: str
    queue: str
    reason: str
    priority: int | None = None
    arrived_at: float | None = None
    caller_number: str = ""
    caller_name: str = ""
    data: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    agent_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReservationReleased:
    """The reservation's leg ended before its conversation started, or a command releases it.

    The advisor is released at once (available again, or the pause they asked for). A plain
    reservation ends (``released``); a callback counts one failed attempt and is retried per
    ``CallbackPolicy`` (or gives up). ``reason`` is recorded (``busy``, ``no_answer``...).
    """

    at: float
    call_id: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackRequested:
    """A callback enters the book.

    ``from_call_id``: the waiting inbound caller who chose it; that call ends
    ``callback_requested`` and the callback takes its place in line (priority, arrival, routing
    step). Otherwise a scheduled callback (``due_at``: not before then, placed in line at that
    time) or one rebuilt after a restart (``arrived_at``, ``requested_at``, ``attempts`` as
    stored). ``number`` is the number to call, already checked at the edge.
    """

    at: float
    call_id: str
    queue: str
    number: str
    name: str = ""
    from_call_id: str | None = None
    priority: int | None = None
    arrived_at: float | None = None
    requested_at: float | None = None
    due_at: float | None = None
    attempts: int = 0
    data: Mapping[str, str] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackRefused:
    """A waiting caller's callback choice was refused at the edge (``opposed``: the number is on
    the do-not-call list); the caller hears why and keeps their place."""

    at: float
    call_id: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackNumberConfirmed:
    """A caller who accepted the callback offer confirmed the number to call (read back to
    them, 1 pressed): their own, or one they typed (``typed``). The engine checks it as it
    checks any number before the callback is taken."""

    at: float
    call_id: str
    number: str
    typed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackCancelled:
    """A supervisor (or the customer) cancels a callback; a reserved advisor is released."""

    at: float
    call_id: str
    reason: str = "cancelled"


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackReprioritised:
    """A supervisor moves a pending callback to another priority (its arrival is kept)."""

    at: float
    call_id: str
    priority: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CallMoved:
    """A supervisor moves a waiting caller to another queue (their arrival time is kept)."""

    at: float
    call_id: str
    queue: str
    actor: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallPrioritySet:
    """A supervisor sets a waiting caller's priority (raise it to serve them sooner)."""

    at: float
    call_id: str
    priority: int
    actor: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEndRequested:
    """A supervisor ends a stuck call: a conversation the phones no longer hold, or a waiting
    caller who is no longer there. A ringing call is left to its ring."""

    at: float
    call_id: str
    actor: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallerIdentified:
    """More is known about a caller after arrival (a CRM's late answer): merged into the call.

    A waiting call's VIP priority is re-applied; a call already ringing is left alone.
    """

    at: float
    call_id: str
    data: Mapping[str, str] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptEnded:
    """A prompt finished playing (or was stopped)."""

    at: float
    call_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentAnswered:
    """The advisor picked up the presented call."""

    at: float
    call_id: str
    agent_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentDidNotAnswer:
    """The presentation failed (Dial returned NOANSWER, BUSY, CHANUNAVAIL or CONGESTION)."""

    at: float
    call_id: str
    agent_id: str
    dial_status: DialStatus = DialStatus.NOANSWER


@dataclass(frozen=True, slots=True, kw_only=True)
class CallerHungUp:
    """The caller hung up: an abandon before the answer, the end of the conversation after it."""

    at: float
    call_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEnded:
    """The conversation is over (Dial returned after an answer)."""

    at: float
    call_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallTransferred:
    """The advisor transferred the call away: their part of it is over."""

    at: float
    call_id: str
    agent_id: str
    target: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerFired:
    """A timer asked for with ``StartTimer`` is due. Cancelled or unknown timers are ignored."""

    at: float
    timer_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigChanged:
    """Hot reload: new queues, advisors and rules; waiting callers keep their place."""

    at: float
    config: AcdConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class DayRolledOver:
    """A new day started for the centre (the runtime posts it at local midnight).

    The queues' daily counters start again; calls, advisors, occupancy windows and timers are
    untouched. A call still waiting or ringing counts as offered in the new day too.
    """

    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueHoursChanged:
    """A queue opened or closed to new callers (``acd.core.calendar.opening_at`` at that instant).

    The runtime posts it at each opening, last entry and closing of the queue's schedule, on an
    emergency closure or reopening, at start and after a reload; the simulator posts the same.
    """

    at: float
    queue: str
    opening: Opening


@dataclass(frozen=True, slots=True, kw_only=True)
class CallerKeyPressed:
    """A caller in the ACD pressed a key (DTMF): ``digit`` is one of ``0-9 * # A-D``.

    Posted once per key by the caller's leg, whether the key ended a prompt (the AGI reply of a
    STREAM FILE / SAY with escape digits) or came during music on hold (AMI ``DTMFEnd``, S14);
    ``during_prompt`` says which. The engine keeps nothing of it; an offer made to the caller
    (callback) acts on it (docs/architecture.md, "Keys a caller presses").
    """

    at: float
    call_id: str
    digit: str
    during_prompt: bool = False


Event = (
    AgentLoggedIn
    | AgentLoggedOut
    | AgentPaused
    | AgentReady
    | RecoveryPauseRequested
    | WrapUpEnded
    | DispositionSet
    | PhoneStateChanged
    | CallArrived
    | CallerIdentified
    | ReservationRequested
    | ReservationReleased
    | CallbackRequested
    | CallbackRefused
    | CallbackNumberConfirmed
    | CallbackCancelled
    | CallbackReprioritised
    | CallMoved
    | CallPrioritySet
    | CallEndRequested
    | PromptEnded
    | AgentAnswered
    | AgentDidNotAnswer
    | CallerHungUp
    | CallEnded
    | CallTransferred
    | TimerFired
    | ConfigChanged
    | DayRolledOver
    | QueueHoursChanged
    | CallerKeyPressed
)

# What an advisor can do from any interface (feature code, HTTP API, MQTT), by one name each.
ADVISOR_ACTIONS = ("login", "logout", "pause", "ready", "recovery", "end_wrap_up")

AdvisorEvent = (
    AgentLoggedIn | AgentLoggedOut | AgentPaused | AgentReady | RecoveryPauseRequested | WrapUpEnded
)


def advisor_event(action: str, agent_id: str, at: float, reason: str | None = None) -> AdvisorEvent:
    """The event for one of ``ADVISOR_ACTIONS``, whichever interface it came through.

    ``reason`` is the pause's reason (required for ``pause``) or, for ``login``, the reason to
    log in paused; the other actions take none. ``ValueError`` otherwise: the interfaces
    validate first, this is the last word.
    """
    if reason is not None and action not in ("pause", "login"):
        raise ValueError(f"{action} takes no reason")
    match action:
        case "login":
            return AgentLoggedIn(at=at, agent_id=agent_id, paused_reason=reason)
        case "logout":
            return AgentLoggedOut(at=at, agent_id=agent_id)
        case "pause":
            if reason is None:
                raise ValueError("pause needs a reason")
            return AgentPaused(at=at, agent_id=agent_id, reason=reason)
        case "ready":
            return AgentReady(at=at, agent_id=agent_id)
        case "recovery":
            return RecoveryPauseRequested(at=at, agent_id=agent_id)
        case "end_wrap_up":
            return WrapUpEnded(at=at, agent_id=agent_id)
    raise ValueError(f"unknown advisor action {action!r}")
