"""Read-only views of the engine, for the live view, the API and tests. Built on demand."""

from __future__ import annotations

from dataclasses import dataclass

from acd.core.calendar import ALWAYS_OPEN, Opening
from acd.core.percentiles import NO_WAITS, WaitPercentiles
from acd.core.states import Activity, CallState, PhoneState, Presence


@dataclass(frozen=True, slots=True)
class AgentView:
    """An advisor's composite state, time in state, workload and fairness figures."""

    agent_id: str
    name: str
    presence: Presence
    phone: PhoneState
    activity: Activity
    reason: str | None  # pause reason, or why the breather / recovery
    since: float  # when the activity started
    time_in_state_s: float
    routable: bool
    call_id: str | None
    pending_pause: str | None
    missed_in_row: int
    # Busy ÷ staffed in the rolling window, busy and staffed time in progress included: the
    # reports' figure (acd.core.workload.occupancy). The cap's own figure (Engine.occupancy)
    # floors staffed time at min_basis_s.
    occupancy: float
    staffed_s_in_window: float  # available, ringing, on a call, wrap-up or breather
    calls_in_window: int
    talk_s_in_window: float
    calls_since_login: int
    queues: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CallView:
    """A live call: where it stands in its queue and what it waits for."""

    call_id: str
    queue: str
    state: CallState
    priority: int
    step: int
    step_expression: str
    position: int | None  # 1-based among waiting calls of the queue; None unless waiting
    expected_wait_s: float | None
    waited_s: float
    offered_at: float
    agent_id: str | None
    caller_number: str
    caller_name: str


@dataclass(frozen=True, slots=True)
class CallbackView:
    """A callback in the book: its place in line, when it is due, its attempts."""

    call_id: str
    queue: str
    state: CallState  # scheduled (not in line yet), waiting, presented (reserved), connected
    priority: int
    number: str
    name: str
    requested_at: float
    arrived_at: float  # its place in line: the original caller's arrival, or its scheduled time
    due_at: float
    give_up_at: float | None
    attempts: int
    agent_id: str | None
    from_call_id: str | None


@dataclass(frozen=True, slots=True)
class QueueView:
    """A queue: its waiting calls in service order and today's counters."""

    name: str
    waiting: tuple[CallView, ...]
    presented: int
    longest_wait_s: float
    routable_agents: int
    logged_in_agents: int
    staffed_agents: int
    offered: int
    answered: int
    abandoned: int
    answered_within_sl: int
    short_abandons: int
    # answered within threshold / (offered - short abandons - rejected); the wait counts from the
    # first arrival, also after an overflow from another queue
    service_level: float | None
    average_handle_s: float  # smoothed estimate for expected waits: not a daily figure
    counters_since: float  # start of the counters' day: the last DayRolledOver, or engine start
    closed_callers: int = 0  # callers who rang while the queue was closed, today
    hours: Opening = ALWAYS_OPEN  # open or closed to new callers, why, next change
    callbacks_requested: int = 0  # today
    callbacks_completed: int = 0  # connected to the customer, today
    callbacks_within_sl: int = 0  # connected within callback_sl_s of their due time
    callbacks_failed: int = 0  # gave up after their attempts, today
    # The queue's callback book now: pending (not yet connected), oldest request, next due time
    # of one not in line yet (None: none).
    callbacks_pending: int = 0
    callbacks_oldest_requested_at: float | None = None
    callbacks_next_due_at: float | None = None
    # Callers waiting only because every staffed advisor able to take them is in a breather (the
    # occupancy cap's trade-off, made visible: wallboard, MQTT, metric).
    breather_hold: int = 0
    rejected: int = 0  # refused by join_when_empty today (not in the service-level denominator)
    overflowed_out: int = 0  # moved on to another queue today
    overflowed_in: int = 0  # came in from another queue today
    # Waits (from first arrival) of the calls answered here, and abandoned here, today.
    answered_waits: WaitPercentiles = NO_WAITS
    abandoned_waits: WaitPercentiles = NO_WAITS


@dataclass(frozen=True, slots=True)
class CentreView:
    """The centre's counters today: each inbound call once, where the queues' counters count a
    call moved from one queue to another in both."""

    offered: int
    answered: int
    abandoned: int
    short_abandons: int
    rejected: int
    # Answered within the target of the queue that answered, the wait counted from first arrival
    # (each call against its own queue's target, never the first queue's).
    answered_within_sl: int
    # answered_within_sl / (offered - short abandons - rejected)
    service_level: float | None
    counters_since: float
    answered_waits: WaitPercentiles = NO_WAITS  # waits from first arrival, today
    abandoned_waits: WaitPercentiles = NO_WAITS


@dataclass(frozen=True, slots=True)
class Spread:
    """Distribution of one figure across logged-in advisors."""

    minimum: float
    maximum: float
    mean: float
    stdev: float


@dataclass(frozen=True, slots=True)
class FairnessView:
    """How evenly calls and talk time are spread across logged-in advisors (rolling window)."""

    advisors: int
    calls: Spread
    talk_s: Spread
    occupancy: Spread


@dataclass(frozen=True, slots=True)
class EngineSnapshot:
    """Everything at once."""

    at: float
    agents: tuple[AgentView, ...]
    queues: tuple[QueueView, ...]
    fairness: FairnessView
    centre: CentreView
