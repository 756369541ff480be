"""The engine's live, mutable records: one per routing step, queue, advisor and call.

Only ``acd.core.engine`` changes them (its transitions), ``acd.core.routing_heaps`` keeps the
heaps inside them, and ``acd.core.views`` reads them into frozen snapshots. They are plain slotted
dataclasses compared by identity (``eq=False``): a step is a dictionary key, a call is found again
through its ``seq``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from acd.core.calendar import ALWAYS_OPEN, Opening
from acd.core.config import AgentConfig, QueueConfig
from acd.core.states import Activity, CallState, Outcome, PhoneState, Presence
from acd.core.workload import RollingLoad

# (-priority, fifo_at, seq): a waiting call's place in the service order.
ServiceKey = tuple[int, float, int]


@dataclass(slots=True, eq=False)
class LiveStep:
    """One routing step of a queue, with the heaps of its waiting calls and routable advisors."""

    queue: LiveQueue
    index: int
    expression: str
    expires_after_s: float | None
    # Heap entries hold only numbers (the GC stops tracking such tuples): calls are found again
    # through their seq, advisors through their index.
    calls: list[tuple[int, float, int, int]] = field(default_factory=list)
    agents: list[tuple[Any, ...]] = field(default_factory=list)
    live_calls: int = 0
    live_agents: int = 0
    # Members who satisfy this step: logged in, and staffed (logged in, reachable, not paused).
    logged_in: int = 0
    staffed: int = 0
    breathing: int = 0  # of the staffed ones, those in a breather


@dataclass(slots=True, eq=False)
class CentreCounters:
    """The centre's daily counters: each inbound call once, however many queues it went through
    (DayRolledOver starts them again at ``counters_since``)."""

    counters_since: float = 0.0
    offered: int = 0  # offered to a first queue (a caller of a closed queue is not)
    answered: int = 0
    # Answered within the target of the queue that answered, the wait since first arrival.
    answered_within_sl: int = 0
    abandoned: int = 0
    short_abandons: int = 0  # abandoned less than short_abandon_s after first arrival
    rejected: int = 0  # ended by join_when_empty (not moved on to another queue)
    # Today's waits (from first arrival) of answered and of abandoned calls, sorted.
    answered_waits: list[float] = field(default_factory=list)
    abandoned_waits: list[float] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class LiveQueue:
    """A queue: its steps, members, live calls, staffing counts and daily counters."""

    cfg: QueueConfig
    steps: list[LiveStep] = field(default_factory=list)
    members: list[LiveAgent] = field(default_factory=list)
    # Live calls of the queue: WAITING, PRESENTED and CONNECTED (until the conversation ends).
    waiting: dict[str, LiveCall] = field(default_factory=dict)
    order: list[ServiceKey] = field(default_factory=list)  # keys of WAITING, sorted
    logged_in: int = 0
    staffed: int = 0
    # reach_*[k]: members who satisfy step k or a later one (a step a caller at step k can still
    # reach): the join/leave-when-empty checks and the expected wait count only those.
    reach_logged_in: list[int] = field(default_factory=list)
    reach_staffed: list[int] = field(default_factory=list)
    rr_counter: int = 0
    rr_last: dict[str, int] = field(default_factory=dict)
    aht: float = 0.0
    # Daily counters (DayRolledOver starts them again at counters_since).
    counters_since: float = 0.0
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    answered_within_sl: int = 0
    short_abandons: int = 0
    closed_callers: int = 0  # rang while the queue was closed (not offered)
    # Waits (from first arrival) of the calls answered and abandoned here today, sorted.
    answered_waits: list[float] = field(default_factory=list)
    abandoned_waits: list[float] = field(default_factory=list)
    callbacks_requested: int = 0
    callbacks_completed: int = 0  # connected to the customer
    callbacks_within_sl: int = 0  # connected within callback_sl_s of their due time
    callbacks_failed: int = 0  # gave up after their attempts
    rejected: int = 0  # refused at join (join_when_empty): out of the service-level denominator
    overflowed_out: int = 0  # moved on to another queue (max wait, leave-when-empty, at close)
    overflowed_in: int = 0  # came in from another queue (also counted in ``offered``)
    hours: Opening = ALWAYS_OPEN  # the last QueueHoursChanged; open until the runtime says


class TimerKind(Enum):
    """What a pending timer does when it fires; its id starts with the value (``wrap_up:a1:7``)."""

    RELAX = "relax"  # a call's routing step expires
    MAX_WAIT = "max_wait"  # a call waited its queue's longest
    ANNOUNCE = "announce"  # time for a call's position prompt
    WRAP_UP = "wrap_up"  # an advisor's wrap-up ends
    BREATHER = "breather"  # an advisor's breather ends
    RECOVERY = "recovery"  # an advisor's recovery pause reaches its longest
    RETRY = "retry"  # an advisor's no-answer cooldown for one caller ends
    HOLD = "hold"  # a call held for its customer's preferred advisor goes to everyone
    OFFER = "offer"  # a waiting caller is offered a callback
    CLOSED_OFFER = "closed_offer"  # a closed queue's callback offer runs out: goodbye
    DUE = "due"  # a scheduled callback (or one between attempts) enters the line
    GIVE_UP = "give_up"  # a callback reached its give-up time
    AGE = "age"  # a waiting call's effective priority rises one level (priority ageing)
    YIELD = "yield"  # a caller waited breather_yield_after_s: an eligible breather yields
    BUCKET = "bucket"  # an occupancy bucket ends: least_occupied re-keys the available advisors
    PHONE = "phone"  # a phone a ring could not reach is tried again (its back-off is over)


# Order in which timers due at the same instant fire: advisors' releases first (so an advisor
# freed at the instant a caller's deadline falls can still take that caller), then the end of
# no-answer cooldowns, step relaxations, callers' deadlines, and announcements last. Within a
# kind: the advisor's index in the configuration, or the call's arrival order.
TIMER_ORDER: dict[TimerKind, int] = {
    TimerKind.WRAP_UP: 0,
    TimerKind.BREATHER: 0,
    TimerKind.RECOVERY: 0,
    TimerKind.YIELD: 0,  # releases an advisor from a breather for a long-waiting caller
    TimerKind.BUCKET: 0,  # re-keys available advisors; routes nobody by itself
    TimerKind.PHONE: 0,  # an advisor's phone is tried again: a release like a breather's end
    TimerKind.RETRY: 1,
    TimerKind.HOLD: 1,  # a preferred-advisor hold ends like a cooldown
    TimerKind.AGE: 2,  # re-keys a caller; routes nobody by itself
    TimerKind.RELAX: 2,
    TimerKind.DUE: 2,  # a callback entering the line is matched in the drain's routing pass
    TimerKind.MAX_WAIT: 3,
    TimerKind.GIVE_UP: 3,  # like a caller's deadline
    TimerKind.ANNOUNCE: 4,
    TimerKind.OFFER: 4,  # like an announcement
    TimerKind.CLOSED_OFFER: 4,
}


@dataclass(slots=True, eq=False)
class LiveAgent:
    """An advisor: the three state dimensions, the call in hand, load and pool bookkeeping."""

    cfg: AgentConfig
    index: int
    load: RollingLoad
    presence: Presence = Presence.LOGGED_OUT
    phone: PhoneState = PhoneState.IDLE
    activity: Activity = Activity.OFFLINE
    reason: str | None = None
    since: float = 0.0
    available_since: float = 0.0
    call: LiveCall | None = None
    held: dict[str, LiveCall] | None = None  # calls waiting for this advisor in particular
    missed: int = 0
    # A phone the engine marked unreachable because a ring could not reach it (CHANUNAVAIL,
    # CONGESTION): the timer that tries it again; ``reported_phone`` is what the PBX last said
    # (restored when that timer fires); ``unreached`` counts such rings in a row (the back-off
    # doubles with each).
    phone_timer: str | None = None
    reported_phone: PhoneState = PhoneState.IDLE
    unreached: int = 0
    pending_pause: str | None = None
    timer: str | None = None
    epoch: int = 0
    routable: bool = False
    counted_logged_in: bool = False
    counted_staffed: bool = False
    occupancy_at_free: float = 0.0
    steps: list[LiveStep] = field(default_factory=list)
    # Per queue served, the index of the last routing step the advisor satisfies (-1: none).
    top_step: dict[str, int] = field(default_factory=dict)
    scores: dict[LiveStep, int] = field(default_factory=dict)  # best_skill score per step
    calls_since_login: int = 0
    busy_from: float | None = None  # start of the busy period not yet added to ``load``
    wrap_started: float = 0.0
    wrap_min_end: float = 0.0
    recovery_starts: list[float] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class LiveCall:
    """A call from arrival to its summary: where it waits, who rings, its timers and record."""

    id: str
    queue: LiveQueue
    first_queue: str
    priority: int
    seq: int
    fifo_at: float
    offered_at: float
    caller_number: str
    caller_name: str
    linked_id: str
    queue_entered_at: float
    key: ServiceKey = (0, 0.0, 0)  # (-priority, fifo_at, seq): service order
    # ``priority`` is the effective priority: base (the call's own, else its queue's) + the VIP
    # bonus + one level per ``priority_ageing_s`` since first arrival, within the bounds.
    base_priority: int = 0
    aged: int = 0  # ageing levels earned so far
    age_timer: str | None = None
    yield_timer: str | None = None
    # Recorded once: the caller waits only because every eligible staffed advisor is in a breather.
    breather_hold: bool = False
    data: Mapping[str, str] = field(default_factory=dict)  # CallArrived.data (customer profile)
    # Held for the customer's preferred advisor (not lined up) until ``hold_timer`` fires.
    held_for: LiveAgent | None = None
    hold_timer: str | None = None
    vip_bonus: int = 0  # part of ``priority`` the caller's VIP level earned (CustomerRouting)
    step: int = 0
    step_entered_at: float = 0.0
    state: CallState = CallState.WAITING
    token: int = 0
    in_step: LiveStep | None = None
    agent: LiveAgent | None = None
    tried: tuple[str, ...] = ()  # a tuple of str: nothing for the GC to track
    presented_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    prompting: bool = False
    relax_timer: str | None = None
    max_wait_timer: str | None = None
    announce_timer: str | None = None
    max_wait_reached: bool = False
    in_centre: bool = False  # counted in the centre's offered calls (once, at its first offer)
    record_seq: int = 0
    disposition: str | None = None
    transferred_to: str | None = None
    overflow_target: str | None = None
    outcome: Outcome | None = None
    reason: str = ""
    # No-answer cooldowns: advisor index -> until when that advisor is not offered this caller.
    cooling: dict[int, float] | None = None
    retry_timers: list[str] | None = None
    # A non-inbound leg's reservation (ReserveAgent): its reason ("callback", "outbound");
    # None for an inbound caller. Reservations have no announcements, no max wait and stay out
    # of the queue's inbound figures.
    purpose: str | None = None
    # Callbacks only: when asked for, when next due, attempts made, the original inbound call.
    requested_at: float = 0.0
    due_at: float = 0.0
    give_up_at: float | None = None
    attempts: int = 0
    from_call_id: str | None = None
    due_timer: str | None = None
    offer_timer: str | None = None
    callback_offered: bool = False  # a callback was offered to this waiting caller
    callback_chosen: bool = False  # they accepted; the runtime's answer is awaited
    give_up_timer: str | None = None


def cooling_for(call: LiveCall, agent: LiveAgent, now: float) -> bool:
    """Whether the advisor is in a no-answer cooldown for this caller.

    The cooldown lasts until its ``retry`` timer fires (not merely until its due time), so the
    routing invariant holds after every event even when the timer is delivered late.
    """
    cooling = call.cooling
    return cooling is not None and agent.index in cooling


def agent_id_of(call: LiveCall) -> str | None:
    """The id of the advisor the call is presented or connected to, if any."""
    return call.agent.cfg.id if call.agent is not None else None


def call_id_of(agent: LiveAgent) -> str | None:
    """The id of the advisor's call (ringing, in conversation or in wrap-up), if any."""
    return agent.call.id if agent.call is not None else None
