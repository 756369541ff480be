"""The API's request and response bodies (they are the OpenAPI schemas) and their builders.

Times are epoch seconds (``*_at``, ``since``) or durations in seconds (``*_s``); a page computes
"time in state" from ``since`` and the response's ``at``, so it can tick without asking again.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from acd.admin.live import AdvisorDay
from acd.core.config import MAX_DURATION_S, MAX_WEIGHT, PRIORITY_MAX, PRIORITY_MIN
from acd.core.percentiles import WaitPercentiles
from acd.core.snapshots import AgentView, CallView, EngineSnapshot, FairnessView, QueueView
from acd.core.states import Activity

# A pause reason or a disposition code: chosen by a person, shown on screens, stored in records.
Label = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[\w][\w .:/-]*$"
    ),
]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\w.@:-]+$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable error code: switch on this, not on the message.")
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class AgentOut(BaseModel):
    """An advisor's state as everyone may see it (no caller data)."""

    agent_id: str
    name: str
    presence: str
    phone: str
    activity: str
    reason: str | None
    since: float
    time_in_state_s: float
    routable: bool
    on_call: bool
    pending_pause: str | None
    occupancy: float = Field(description="Busy share of the rolling window (0-1).")
    calls_since_login: int
    queues: list[str]


class QueueHoursOut(BaseModel):
    """Whether the queue takes new callers, why, and when that changes (epoch seconds)."""

    open: bool
    reason: str  # schedule, holiday, exception, emergency, last_entry
    detail: str  # the holiday's name, the exception's or the closure's reason
    next_change: float | None
    next_open: bool


class QueueOut(BaseModel):
    """A queue's live figures and counters."""

    name: str
    waiting: int
    presented: int
    longest_wait_s: float
    oldest_offered_at: float | None
    routable_agents: int
    logged_in_agents: int
    staffed_agents: int
    offered: int
    answered: int
    abandoned: int
    short_abandons: int
    answered_within_sl: int
    service_level: float | None
    average_handle_s: float
    closed_callers: int  # rang while the queue was closed, today (not offered)
    hours: QueueHoursOut
    # The callback book: pending (not yet connected), oldest request, next due of a scheduled one.
    callbacks_pending: int = 0
    callbacks_oldest_requested_at: float | None = None
    callbacks_next_due_at: float | None = None
    callbacks_requested: int = 0  # today
    callbacks_completed: int = 0  # today, connected to the customer
    callbacks_failed: int = 0  # today, gave up
    rejected: int = 0  # refused by join_when_empty today: out of the service level
    overflowed_in: int = 0  # came in from another queue today
    overflowed_out: int = 0  # moved on to another queue today
    # Callers waiting only because every advisor able to take them is in a breather (the
    # occupancy cap's alert).
    breather_hold: int = 0
    # Today's wait percentiles of the calls answered, and abandoned, here (nearest rank, seconds
    # from first arrival; null without calls), named as in the reports.
    answered_wait_p50_s: float | None = None
    answered_wait_p90_s: float | None = None
    answered_wait_p95_s: float | None = None
    answered_wait_p99_s: float | None = None
    abandoned_wait_p50_s: float | None = None
    abandoned_wait_p90_s: float | None = None
    abandoned_wait_p95_s: float | None = None
    abandoned_wait_p99_s: float | None = None


class CallOut(BaseModel):
    """A call in progress (waiting, presented or connected). Holds caller data: admin only."""

    call_id: str
    queue: str
    state: str
    priority: int
    position: int | None
    expected_wait_s: float | None
    waited_s: float
    offered_at: float
    agent_id: str | None
    caller_number: str
    caller_name: str
    # The supervisor's desk: the call's recording (recorded, objected, allowed; None: its queue
    # does not record) and whether a supervisor listens to it now.
    recording: str | None = None
    listened: bool = False


class SpreadOut(BaseModel):
    minimum: float
    maximum: float
    mean: float
    stdev: float


class FairnessOut(BaseModel):
    advisors: int
    calls: SpreadOut
    talk_s: SpreadOut
    occupancy: SpreadOut


class StatsOut(BaseModel):
    """Centre-wide figures: each call once, however many queues it went through."""

    at: float
    offered: int
    answered: int
    abandoned: int
    waiting: int
    service_level: float | None = Field(
        description="Answered within the target of the queue that answered (the wait from first "
        "arrival) / (offered - short abandons - rejected), each call counted once."
    )
    short_abandons: int = 0
    rejected: int = 0
    answered_within_sl: int = 0
    # Today's wait percentiles (nearest rank, seconds from first arrival; null without calls), named
    # as in the reports.
    answered_wait_p50_s: float | None = None
    answered_wait_p90_s: float | None = None
    answered_wait_p95_s: float | None = None
    answered_wait_p99_s: float | None = None
    abandoned_wait_p50_s: float | None = None
    abandoned_wait_p90_s: float | None = None
    abandoned_wait_p95_s: float | None = None
    abandoned_wait_p99_s: float | None = None
    agents_by_activity: dict[str, int]
    queues: list[QueueOut]
    fairness: FairnessOut


class WallboardOut(BaseModel):
    """What the wallboard shows; also the ``snapshot`` event of ``/api/v1/stream``."""

    at: float
    queues: list[QueueOut]
    agents: list[AgentOut]
    fairness: FairnessOut


class CurrentCallOut(BaseModel):
    call_id: str
    queue: str
    state: str
    caller_number: str
    caller_name: str
    answered: bool
    profile_revision: int = Field(
        default=0,
        description="Grows when the caller's profile changes (a late CRM answer): the page "
        "fetches the screen pop again.",
    )


class AdvisorDayOut(BaseModel):
    calls: int
    talk_s: float
    breathers: int
    recoveries: int
    occupancy: float = Field(description="Busy share of the rolling window (0-1).")


class SupervisorNoticeOut(BaseModel):
    """The last thing a supervisor did to this advisor (pause, ready, logout), and why."""

    action: str
    reason: str
    by: str
    at: float


class AdvisorSessionOut(BaseModel):
    """Everything the advisor's own page shows (needs the advisor's token)."""

    at: float
    agent: AgentOut
    call: CurrentCallOut | None
    today: AdvisorDayOut
    pause_reasons: list[str]
    dispositions: list[str]
    # A supervisor is listening now (None: the centre does not show it live).
    listened_now: bool | None = None
    # The current call's recording: recorded, objected, allowed (on demand, not started); None
    # when its queue does not record. ``recording_muted`` while the advisor muted it.
    recording: str | None = None
    recording_muted: bool = False
    supervisor_notice: SupervisorNoticeOut | None = None


class LoginIn(_Body):
    paused_reason: Label | None = Field(
        default=None, description="Log in paused, with this reason."
    )


class PauseIn(_Body):
    reason: Label


class DispositionIn(_Body):
    disposition: Label
    call_id: Identifier | None = Field(
        default=None, description="Defaults to the advisor's current (or wrapping-up) call."
    )
    note: Annotated[str, StringConstraints(max_length=20_000)] | None = Field(
        default=None,
        description="The advisor's note on the call (personal data: the customer may read it).",
    )


# Seconds sent to the API: finite and at most a year, like the configuration's (a huge value is
# refused with its field named, never handed to the engine's timers).
Duration = Annotated[float, Field(ge=0, le=MAX_DURATION_S, allow_inf_nan=False)]
PositiveDuration = Annotated[float, Field(gt=0, le=MAX_DURATION_S, allow_inf_nan=False)]


class StepIn(_Body):
    expression: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    for_s: PositiveDuration | None = None


class QueueTuningIn(_Body):
    """Queue settings to change (omitted ones keep their value), applied like ``acd reload``."""

    steps: Annotated[list[StepIn], Field(min_length=1, max_length=20)] | None = None
    policy: (
        Literal["longest_idle", "best_skill", "least_occupied", "fewest_calls", "round_robin"]
        | None
    ) = None
    weight: Annotated[float, Field(gt=0, le=MAX_WEIGHT, allow_inf_nan=False)] | None = None
    priority: Annotated[int, Field(ge=PRIORITY_MIN, le=PRIORITY_MAX)] | None = None
    max_wait_s: PositiveDuration | None = None
    overflow: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    announce_interval_s: PositiveDuration | None = None
    service_level_s: Duration | None = None
    wrap_up_s: Duration | None = None
    ring_timeout_s: PositiveDuration | None = None
    expected_handle_s: PositiveDuration | None = None


class ActionOut(BaseModel):
    """The result of an advisor or supervisor action: the advisor's state after it."""

    ok: Literal[True] = True
    action: str
    agent: AgentOut


class QueueTuningNow(BaseModel):
    """The queue settings a supervisor may change, as they are now."""

    policy: str
    weight: float
    priority: int
    max_wait_s: float | None
    overflow: str | None
    announce_interval_s: float | None
    service_level_s: float
    wrap_up_s: float
    ring_timeout_s: float
    expected_handle_s: float


class MeOut(BaseModel):
    """Who a token belongs to."""

    role: str = Field(description="advisor, supervisor or admin")
    person_id: str | None = Field(description="The advisor's or supervisor's id; none for admin.")
    name: str
    queues: list[str] | None = Field(description="A supervisor's queues; null: every queue.")
    language: str | None


class QueueTuningOut(BaseModel):
    ok: Literal[True] = True
    queue: str
    changed: list[str]


def agent_out(view: AgentView) -> AgentOut:
    return AgentOut(
        agent_id=view.agent_id,
        name=view.name or view.agent_id,
        presence=view.presence.value,
        phone=view.phone.value,
        activity=view.activity.value,
        reason=view.reason,
        since=view.since,
        time_in_state_s=round(view.time_in_state_s, 3),
        routable=view.routable,
        on_call=view.call_id is not None and view.activity in (Activity.RESERVED, Activity.ON_CALL),
        pending_pause=view.pending_pause,
        occupancy=round(view.occupancy, 4),
        calls_since_login=view.calls_since_login,
        queues=list(view.queues),
    )


def wait_fields(answered: WaitPercentiles, abandoned: WaitPercentiles) -> dict[str, float | None]:
    """The ``*_wait_p*_s`` fields of the API (the reports' names)."""
    return {
        f"{kind}_wait_{name}_s": None if value is None else round(value, 3)
        for kind, waits in (("answered", answered), ("abandoned", abandoned))
        for name, value in (
            ("p50", waits.p50),
            ("p90", waits.p90),
            ("p95", waits.p95),
            ("p99", waits.p99),
        )
    }


def queue_out(view: QueueView) -> QueueOut:
    waiting = [c for c in view.waiting if c.position is not None]
    oldest = min((c.offered_at for c in view.waiting), default=None)
    return QueueOut(
        name=view.name,
        waiting=len(waiting),
        presented=view.presented,
        longest_wait_s=round(view.longest_wait_s, 3),
        oldest_offered_at=oldest,
        routable_agents=view.routable_agents,
        logged_in_agents=view.logged_in_agents,
        staffed_agents=view.staffed_agents,
        offered=view.offered,
        answered=view.answered,
        abandoned=view.abandoned,
        short_abandons=view.short_abandons,
        answered_within_sl=view.answered_within_sl,
        service_level=view.service_level,
        average_handle_s=round(view.average_handle_s, 3),
        closed_callers=view.closed_callers,
        hours=QueueHoursOut(
            open=view.hours.open,
            reason=view.hours.reason.value,
            detail=view.hours.detail,
            next_change=view.hours.next_change,
            next_open=view.hours.next_open,
        ),
        callbacks_pending=view.callbacks_pending,
        callbacks_oldest_requested_at=view.callbacks_oldest_requested_at,
        callbacks_next_due_at=view.callbacks_next_due_at,
        callbacks_requested=view.callbacks_requested,
        callbacks_completed=view.callbacks_completed,
        rejected=view.rejected,
        overflowed_in=view.overflowed_in,
        overflowed_out=view.overflowed_out,
        **wait_fields(view.answered_waits, view.abandoned_waits),
        breather_hold=view.breather_hold,
        callbacks_failed=view.callbacks_failed,
    )


def call_out(view: CallView) -> CallOut:
    return CallOut(
        call_id=view.call_id,
        queue=view.queue,
        state=view.state.value,
        priority=view.priority,
        position=view.position,
        expected_wait_s=view.expected_wait_s,
        waited_s=round(view.waited_s, 3),
        offered_at=view.offered_at,
        agent_id=view.agent_id,
        caller_number=view.caller_number,
        caller_name=view.caller_name,
    )


def fairness_out(view: FairnessView) -> FairnessOut:
    def spread(s: object) -> SpreadOut:
        return SpreadOut.model_validate(s, from_attributes=True)

    return FairnessOut(
        advisors=view.advisors,
        calls=spread(view.calls),
        talk_s=spread(view.talk_s),
        occupancy=spread(view.occupancy),
    )


def stats_out(snapshot: EngineSnapshot) -> StatsOut:
    # The centre's own counters, not the queues' summed: a call moved from one queue to another
    # is offered to both queues but to the centre once.
    centre = snapshot.centre
    by_activity = {activity.value: 0 for activity in Activity}
    for agent in snapshot.agents:
        by_activity[agent.activity.value] += 1
    return StatsOut(
        at=snapshot.at,
        offered=centre.offered,
        answered=centre.answered,
        abandoned=centre.abandoned,
        waiting=sum(1 for q in snapshot.queues for c in q.waiting if c.position is not None),
        service_level=centre.service_level,
        short_abandons=centre.short_abandons,
        rejected=centre.rejected,
        answered_within_sl=centre.answered_within_sl,
        **wait_fields(centre.answered_waits, centre.abandoned_waits),
        agents_by_activity=by_activity,
        queues=[queue_out(q) for q in snapshot.queues],
        fairness=fairness_out(snapshot.fairness),
    )


def wallboard_out(snapshot: EngineSnapshot) -> WallboardOut:
    return WallboardOut(
        at=snapshot.at,
        queues=[queue_out(q) for q in snapshot.queues],
        agents=[agent_out(a) for a in snapshot.agents],
        fairness=fairness_out(snapshot.fairness),
    )


def day_out(day: AdvisorDay, occupancy: float) -> AdvisorDayOut:
    return AdvisorDayOut(
        calls=day.calls,
        talk_s=round(day.talk_s, 3),
        breathers=day.breathers,
        recoveries=day.recoveries,
        occupancy=round(occupancy, 4),
    )


class ClosureIn(BaseModel):
    """Why the queue closes now (shown on the wallboard, kept in the database)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=300)


class ClosureOut(BaseModel):
    """What was asked: the queue's opening follows within the same dispatch loop turn."""

    queue: str
    closed: bool
    reason: str


class PinLockOut(BaseModel):
    """An advisor's feature-code PIN: locked after too many wrong tries, until unlocked."""

    agent_id: str
    locked: bool
    unlocked: bool = False  # this request unlocked it (it was locked)


class PartOut(BaseModel):
    """One part of the daemon in the health report."""

    state: str  # up, down, spooling, starting, disabled
    routes_calls: bool  # calls cannot be routed while this part is not up
    detail: str = ""


class HealthOut(BaseModel):
    """Whether the daemon serves: ``down`` (HTTP 503) when calls cannot be routed."""

    status: str  # ok, degraded, down; standby on a process waiting to lead
    version: str
    # single (the only process), leader or standby (active/standby, docs/scaling.md)
    role: str = "single"
    parts: dict[str, PartOut] = {}
