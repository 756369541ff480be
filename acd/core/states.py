"""States and transition tables: one table per dimension, the only place a state may change.

Every table maps ``(state, trigger) -> next state``. ``transition`` looks the pair up and raises
``IllegalTransitionError`` (carrying the ids) when it is missing, so a test can walk every entry
and an impossible change is a bug report rather than a silent overwrite.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final, TypeVar

from acd.core.errors import IllegalTransitionError


class Presence(StrEnum):
    """Whether the advisor is logged in."""

    LOGGED_OUT = "logged_out"
    LOGGED_IN = "logged_in"


class PhoneState(StrEnum):
    """The advisor's phone, from the PBX's device state."""

    UNREACHABLE = "unreachable"
    IDLE = "idle"
    RINGING = "ringing"
    IN_USE = "in_use"


class Activity(StrEnum):
    """What the advisor is doing for the ACD. ``OFFLINE`` only while logged out."""

    OFFLINE = "offline"
    AVAILABLE = "available"
    RESERVED = "reserved"  # a call is being presented: the phone rings
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"  # with a reason chosen by the advisor (or no_answer)
    BREATHER = "breather"  # imposed by the occupancy cap
    RECOVERY = "recovery"  # taken by the advisor after a difficult call, with its own limits


# Activities that count as handle time, occupancy's numerator (see acd.core.workload.occupancy):
# talking and wrapping up. Ringing is not handle time (the advisor has not picked up yet).
BUSY_ACTIVITIES: Final = frozenset({Activity.ON_CALL, Activity.WRAP_UP})

# Activities that count as staffed time, occupancy's denominator (see WorkloadPolicy): the
# advisor is at the ACD's disposal or working a call. Pauses and recovery pauses are the
# advisor's own time; offline is logged out.
STAFFED_ACTIVITIES: Final = frozenset(
    {
        Activity.AVAILABLE,
        Activity.RESERVED,
        Activity.ON_CALL,
        Activity.WRAP_UP,
        Activity.BREATHER,
    }
)


class CallState(StrEnum):
    """Life of a call inside the engine; the last four are terminal."""

    WAITING = "waiting"
    PRESENTED = "presented"
    CONNECTED = "connected"
    COMPLETED = "completed"  # answered, then ended (or transferred away)
    ABANDONED = "abandoned"
    OVERFLOWED = "overflowed"  # left the engine to an extension or hang-up target
    ENDED = "ended"  # join-empty rejection or leave-when-empty without an overflow target
    # A callback not in line yet: scheduled for later, or between two attempts (retry spacing).
    SCHEDULED = "scheduled"
    # Rang while the queue is closed (closed = "callback"): told when it opens and offered a
    # callback then; never in line, never offered to an advisor.
    CLOSED_OFFER = "closed_offer"


class Outcome(StrEnum):
    """A finished call's outcome, as recorded in ``CallCompleted``."""

    ANSWERED = "answered"
    ABANDONED = "abandoned"
    OVERFLOWED = "overflowed"
    TIMED_OUT = "timed_out"  # left the queue (empty or max wait) without any target
    REJECTED = "rejected"  # refused at join time (join-when-empty)
    CLOSED = "closed"  # rang while the queue was closed (or sent away at closing): not offered
    # The caller chose a callback: offered, neither answered nor abandoned; the callback goes on
    # under its own id.
    CALLBACK_REQUESTED = "callback_requested"
    # A non-inbound leg (callback, outbound) that held an advisor (ReserveAgent): it connected
    # and ended; the reservation was released before connecting; a callback gave up after its
    # attempts; a callback was cancelled. ``CallCompleted.reason`` says which kind of leg.
    COMPLETED = "completed"
    RELEASED = "released"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Trigger(StrEnum):
    """What makes a state change: the second half of every transition table's key.

    A ``StrEnum``, so error messages and records show the plain word (``"reserve"``).
    """

    # presence (and activity, at the same moment)
    LOG_IN = "log_in"
    LOG_IN_PAUSED = "log_in_paused"
    LOG_OUT = "log_out"
    # phone: the PBX's device state, named by the state it moves to
    TO_UNREACHABLE = "to_unreachable"
    TO_IDLE = "to_idle"
    TO_RINGING = "to_ringing"
    TO_IN_USE = "to_in_use"
    # activity
    RESERVE = "reserve"
    RELEASE = "release"
    MISS_LIMIT = "miss_limit"
    PAUSE = "pause"
    ANSWER = "answer"
    END_CALL = "end_call"
    END_WRAP_UP = "end_wrap_up"
    BREATHE = "breathe"
    READY = "ready"
    RECOVER = "recover"
    # call
    PRESENT = "present"
    REQUEUE = "requeue"
    HANG_UP = "hang_up"
    OVERFLOW = "overflow"
    END = "end"
    NOT_ANSWERED = "not_answered"
    TRANSFER = "transfer"
    CALLBACK = "callback"  # the waiting caller chose to be called back
    RELEASE_LEG = "release_leg"  # a reservation's leg ended before connecting
    NOT_REACHED = "not_reached"  # a callback attempt failed: back to scheduled, retried later
    DUE = "due"  # a scheduled callback reaches its time: into the line
    CANCEL = "cancel"  # a supervisor (or the customer) cancels a callback
    GIVE_UP = "give_up"  # a callback ran out of attempts or time
    OFFER_CLOSED = "offer_closed"  # a caller of a closed queue is offered a callback


# The trigger that moves a phone to each device state.
PHONE_TRIGGER: Final[Mapping[PhoneState, Trigger]] = MappingProxyType(
    {p: Trigger(f"to_{p.value}") for p in PhoneState}
)

S = TypeVar("S", bound=StrEnum)

PRESENCE_TABLE: Final[Mapping[tuple[Presence, Trigger], Presence]] = MappingProxyType(
    {
        (Presence.LOGGED_OUT, Trigger.LOG_IN): Presence.LOGGED_IN,
        (Presence.LOGGED_IN, Trigger.LOG_OUT): Presence.LOGGED_OUT,
    }
)

# The PBX is the authority on phones: any change of device state is accepted.
PHONE_TABLE: Final[Mapping[tuple[PhoneState, Trigger], PhoneState]] = MappingProxyType(
    {(old, PHONE_TRIGGER[new]): new for old in PhoneState for new in PhoneState if old is not new}
)

_A = Activity
ACTIVITY_TABLE: Final[Mapping[tuple[Activity, Trigger], Activity]] = MappingProxyType(
    {
        (_A.OFFLINE, Trigger.LOG_IN): _A.AVAILABLE,
        (_A.OFFLINE, Trigger.LOG_IN_PAUSED): _A.PAUSED,
        (_A.AVAILABLE, Trigger.LOG_OUT): _A.OFFLINE,
        (_A.PAUSED, Trigger.LOG_OUT): _A.OFFLINE,
        (_A.WRAP_UP, Trigger.LOG_OUT): _A.OFFLINE,
        (_A.BREATHER, Trigger.LOG_OUT): _A.OFFLINE,
        (_A.RECOVERY, Trigger.LOG_OUT): _A.OFFLINE,
        (_A.AVAILABLE, Trigger.RESERVE): _A.RESERVED,
        (_A.RESERVED, Trigger.RELEASE): _A.AVAILABLE,  # not answered, or the caller hung up
        (_A.RESERVED, Trigger.MISS_LIMIT): _A.PAUSED,  # too many consecutive presentations missed
        (_A.RESERVED, Trigger.PAUSE): _A.PAUSED,  # released with a pause asked for while ringing
        (_A.RESERVED, Trigger.ANSWER): _A.ON_CALL,
        (_A.ON_CALL, Trigger.END_CALL): _A.WRAP_UP,
        (_A.WRAP_UP, Trigger.END_WRAP_UP): _A.AVAILABLE,
        (_A.WRAP_UP, Trigger.BREATHE): _A.BREATHER,
        (_A.WRAP_UP, Trigger.PAUSE): _A.PAUSED,
        (_A.WRAP_UP, Trigger.RECOVER): _A.RECOVERY,
        (_A.AVAILABLE, Trigger.PAUSE): _A.PAUSED,
        (_A.AVAILABLE, Trigger.RECOVER): _A.RECOVERY,
        (
            _A.AVAILABLE,
            Trigger.BREATHE,
        ): _A.BREATHER,  # logged in (or cap lowered) while over the cap
        (_A.PAUSED, Trigger.PAUSE): _A.PAUSED,  # new reason
        (_A.PAUSED, Trigger.READY): _A.AVAILABLE,
        (_A.PAUSED, Trigger.BREATHE): _A.BREATHER,  # ready, but still over the occupancy cap
        (_A.BREATHER, Trigger.READY): _A.AVAILABLE,
        (_A.BREATHER, Trigger.BREATHE): _A.BREATHER,  # still over the cap: another breather
        (_A.BREATHER, Trigger.PAUSE): _A.PAUSED,
        (_A.BREATHER, Trigger.RECOVER): _A.RECOVERY,
        (_A.RECOVERY, Trigger.READY): _A.AVAILABLE,
        (_A.RECOVERY, Trigger.BREATHE): _A.BREATHER,
        (_A.RECOVERY, Trigger.PAUSE): _A.PAUSED,
    }
)
del _A

_C = CallState
CALL_TABLE: Final[Mapping[tuple[CallState, Trigger], CallState]] = MappingProxyType(
    {
        (_C.WAITING, Trigger.PRESENT): _C.PRESENTED,
        (_C.WAITING, Trigger.REQUEUE): _C.WAITING,  # overflow into another queue of the engine
        (_C.WAITING, Trigger.HANG_UP): _C.ABANDONED,
        (_C.WAITING, Trigger.OVERFLOW): _C.OVERFLOWED,
        (_C.WAITING, Trigger.END): _C.ENDED,
        (_C.PRESENTED, Trigger.NOT_ANSWERED): _C.WAITING,
        (_C.PRESENTED, Trigger.ANSWER): _C.CONNECTED,
        (_C.PRESENTED, Trigger.HANG_UP): _C.ABANDONED,
        (_C.CONNECTED, Trigger.HANG_UP): _C.COMPLETED,
        (_C.CONNECTED, Trigger.END): _C.COMPLETED,
        (_C.CONNECTED, Trigger.TRANSFER): _C.COMPLETED,
        # Reservations (ReserveAgent) and callbacks.
        (_C.WAITING, Trigger.CALLBACK): _C.ENDED,
        (_C.WAITING, Trigger.RELEASE_LEG): _C.ENDED,
        (_C.PRESENTED, Trigger.RELEASE_LEG): _C.ENDED,
        (_C.PRESENTED, Trigger.NOT_REACHED): _C.SCHEDULED,
        (_C.SCHEDULED, Trigger.DUE): _C.WAITING,
        (_C.SCHEDULED, Trigger.CANCEL): _C.ENDED,
        (_C.WAITING, Trigger.CANCEL): _C.ENDED,
        (_C.PRESENTED, Trigger.CANCEL): _C.ENDED,
        (_C.SCHEDULED, Trigger.GIVE_UP): _C.ENDED,
        (_C.WAITING, Trigger.GIVE_UP): _C.ENDED,
        (_C.PRESENTED, Trigger.GIVE_UP): _C.ENDED,
        # A caller of a closed queue offered a callback for its reopening: they take it, let
        # the offer go by (goodbye) or hang up; none of it is an abandon.
        (_C.WAITING, Trigger.OFFER_CLOSED): _C.CLOSED_OFFER,
        (_C.CLOSED_OFFER, Trigger.CALLBACK): _C.ENDED,
        (_C.CLOSED_OFFER, Trigger.END): _C.ENDED,
        (_C.CLOSED_OFFER, Trigger.HANG_UP): _C.ENDED,
    }
)
del _C

TERMINAL_CALL_STATES: Final = frozenset(
    {CallState.COMPLETED, CallState.ABANDONED, CallState.OVERFLOWED, CallState.ENDED}
)


def transition(
    table: Mapping[tuple[S, Trigger], S],
    state: S,
    trigger: Trigger,
    *,
    entity: str,
    entity_id: str,
    dimension: str,
    related_id: str | None = None,
) -> S:
    """The next state for ``trigger`` from ``state``, or ``IllegalTransitionError`` with the ids."""
    nxt = table.get((state, trigger))
    if nxt is None:
        raise IllegalTransitionError(
            entity, entity_id, dimension, state.value, trigger, related_id=related_id
        )
    return nxt
