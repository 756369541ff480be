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


class Outcome(StrEnum):
    """A finished call's outcome, as recorded in ``CallCompleted``."""

    ANSWERED = "answered"
    ABANDONED = "abandoned"
    OVERFLOWED = "overflowed"
    TIMED_OUT = "timed_out"  # left the queue (empty or max wait) without any target
    REJECTED = "rejected"  # refused at join time (join-when-empty)


S = TypeVar("S", bound=StrEnum)

PRESENCE_TABLE: Final[Mapping[tuple[Presence, str], Presence]] = MappingProxyType(
    {
        (Presence.LOGGED_OUT, "log_in"): Presence.LOGGED_IN,
        (Presence.LOGGED_IN, "log_out"): Presence.LOGGED_OUT,
    }
)

# The PBX is the authority on phones: any change of device state is accepted.
PHONE_TABLE: Final[Mapping[tuple[PhoneState, str], PhoneState]] = MappingProxyType(
    {(old, f"to_{new.value}"): new for old in PhoneState for new in PhoneState if old is not new}
)

_A = Activity
ACTIVITY_TABLE: Final[Mapping[tuple[Activity, str], Activity]] = MappingProxyType(
    {
        (_A.OFFLINE, "log_in"): _A.AVAILABLE,
        (_A.OFFLINE, "log_in_paused"): _A.PAUSED,
        (_A.AVAILABLE, "log_out"): _A.OFFLINE,
        (_A.PAUSED, "log_out"): _A.OFFLINE,
        (_A.WRAP_UP, "log_out"): _A.OFFLINE,
        (_A.BREATHER, "log_out"): _A.OFFLINE,
        (_A.RECOVERY, "log_out"): _A.OFFLINE,
        (_A.AVAILABLE, "reserve"): _A.RESERVED,
        (_A.RESERVED, "release"): _A.AVAILABLE,  # not answered, or the caller hung up
        (_A.RESERVED, "miss_limit"): _A.PAUSED,  # too many consecutive presentations missed
        (_A.RESERVED, "pause"): _A.PAUSED,  # released with a pause asked for while ringing
        (_A.RESERVED, "answer"): _A.ON_CALL,
        (_A.ON_CALL, "end_call"): _A.WRAP_UP,
        (_A.WRAP_UP, "end_wrap_up"): _A.AVAILABLE,
        (_A.WRAP_UP, "breathe"): _A.BREATHER,
        (_A.WRAP_UP, "pause"): _A.PAUSED,
        (_A.WRAP_UP, "recover"): _A.RECOVERY,
        (_A.AVAILABLE, "pause"): _A.PAUSED,
        (_A.AVAILABLE, "recover"): _A.RECOVERY,
        (_A.AVAILABLE, "breathe"): _A.BREATHER,  # logged in (or cap lowered) while over the cap
        (_A.PAUSED, "pause"): _A.PAUSED,  # new reason
        (_A.PAUSED, "ready"): _A.AVAILABLE,
        (_A.PAUSED, "breathe"): _A.BREATHER,  # ready, but still over the occupancy cap
        (_A.BREATHER, "ready"): _A.AVAILABLE,
        (_A.BREATHER, "breathe"): _A.BREATHER,  # still over the cap: another breather
        (_A.BREATHER, "pause"): _A.PAUSED,
        (_A.BREATHER, "recover"): _A.RECOVERY,
        (_A.RECOVERY, "ready"): _A.AVAILABLE,
        (_A.RECOVERY, "breathe"): _A.BREATHER,
        (_A.RECOVERY, "pause"): _A.PAUSED,
    }
)
del _A

_C = CallState
CALL_TABLE: Final[Mapping[tuple[CallState, str], CallState]] = MappingProxyType(
    {
        (_C.WAITING, "present"): _C.PRESENTED,
        (_C.WAITING, "requeue"): _C.WAITING,  # overflow into another queue of the engine
        (_C.WAITING, "hang_up"): _C.ABANDONED,
        (_C.WAITING, "overflow"): _C.OVERFLOWED,
        (_C.WAITING, "end"): _C.ENDED,
        (_C.PRESENTED, "not_answered"): _C.WAITING,
        (_C.PRESENTED, "answer"): _C.CONNECTED,
        (_C.PRESENTED, "hang_up"): _C.ABANDONED,
        (_C.CONNECTED, "hang_up"): _C.COMPLETED,
        (_C.CONNECTED, "end"): _C.COMPLETED,
        (_C.CONNECTED, "transfer"): _C.COMPLETED,
    }
)
del _C

TERMINAL_CALL_STATES: Final = frozenset(
    {CallState.COMPLETED, CallState.ABANDONED, CallState.OVERFLOWED, CallState.ENDED}
)


def transition(
    table: Mapping[tuple[S, str], S],
    state: S,
    trigger: str,
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
