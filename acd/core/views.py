"""Read-only views: the engine's live records read into the frozen values of ``snapshots``.

Nothing here changes a record; ``Engine`` calls these for its public ``*_view`` and ``snapshot``
methods and for the figures it speaks (position, expected wait).
"""

from __future__ import annotations

import math
from bisect import bisect_left

from acd.core.live import (
    CentreCounters,
    LiveAgent,
    LiveCall,
    LiveQueue,
    LiveStep,
    agent_id_of,
    call_id_of,
)
from acd.core.percentiles import WaitPercentiles
from acd.core.snapshots import (
    AgentView,
    CallbackView,
    CallView,
    CentreView,
    FairnessView,
    QueueView,
    Spread,
)
from acd.core.states import TERMINAL_CALL_STATES, Activity, CallState, Presence
from acd.core.workload import occupancy


def position(call: LiveCall) -> int:
    """1-based rank of a waiting call among its queue's waiting calls."""
    return bisect_left(call.queue.order, call.key) + 1


def positions(queue: LiveQueue) -> dict[str, int]:
    """Call id -> 1-based rank, for every waiting call of the queue, in service order."""
    waiting = [c for c in queue.waiting.values() if c.state is CallState.WAITING]
    waiting.sort(key=lambda c: (-c.priority, c.fifo_at, c.seq))
    return {c.id: i for i, c in enumerate(waiting, start=1)}


def held_by_breathers(step: LiveStep) -> bool:
    """Every staffed advisor who satisfies the step is in a breather (and there is one)."""
    return 0 < step.staffed == step.breathing


def expected_wait(queue: LiveQueue, rank: int, step: int) -> float | None:
    """Position times average handle time, shared among the staffed advisors who satisfy the
    caller's step or a later one; None when there is none (no estimate to give)."""
    staffed = queue.reach_staffed[step]
    if staffed == 0:
        return None
    return rank * queue.aht / staffed


def call_view(call: LiveCall, at: float, rank: int | None) -> CallView:
    """One live call, with its position when it waits."""
    queue = call.queue
    return CallView(
        call_id=call.id,
        queue=queue.cfg.name,
        state=call.state,
        priority=call.priority,
        step=call.step,
        step_expression=queue.cfg.steps[call.step].expression,
        position=rank,
        expected_wait_s=expected_wait(queue, rank, call.step) if rank is not None else None,
        waited_s=at - call.offered_at,
        offered_at=call.offered_at,
        agent_id=agent_id_of(call),
        caller_number=call.caller_number,
        caller_name=call.caller_name,
    )


def queue_view(queue: LiveQueue, at: float) -> QueueView:
    """One queue: waiting calls in service order, staffing and the day's counters."""
    ranks = positions(queue)
    waiting = tuple(call_view(queue.waiting[cid], at, pos) for cid, pos in ranks.items())
    presented = sum(1 for c in queue.waiting.values() if c.state is CallState.PRESENTED)
    longest = max(
        (
            at - c.fifo_at
            for c in queue.waiting.values()
            if c.state is not CallState.CONNECTED and c.state is not CallState.SCHEDULED
        ),
        default=0.0,
    )
    book = [
        c
        for c in queue.waiting.values()
        if c.purpose == "callback"
        and c.state is not CallState.CONNECTED
        and c.state not in TERMINAL_CALL_STATES
    ]
    # Callers refused at join never waited: they do not count for or against the service level.
    denominator = queue.offered - queue.short_abandons - queue.rejected
    return QueueView(
        name=queue.cfg.name,
        waiting=waiting,
        presented=presented,
        longest_wait_s=longest,
        routable_agents=sum(1 for a in queue.members if a.routable),
        logged_in_agents=queue.logged_in,
        staffed_agents=queue.staffed,
        offered=queue.offered,
        answered=queue.answered,
        abandoned=queue.abandoned,
        answered_within_sl=queue.answered_within_sl,
        short_abandons=queue.short_abandons,
        service_level=queue.answered_within_sl / denominator if denominator > 0 else None,
        average_handle_s=queue.aht,
        counters_since=queue.counters_since,
        closed_callers=queue.closed_callers,
        hours=queue.hours,
        callbacks_requested=queue.callbacks_requested,
        callbacks_completed=queue.callbacks_completed,
        callbacks_within_sl=queue.callbacks_within_sl,
        callbacks_failed=queue.callbacks_failed,
        callbacks_pending=len(book),
        callbacks_oldest_requested_at=min((c.requested_at for c in book), default=None),
        callbacks_next_due_at=min(
            (c.due_at for c in book if c.state is CallState.SCHEDULED), default=None
        ),
        rejected=queue.rejected,
        overflowed_out=queue.overflowed_out,
        overflowed_in=queue.overflowed_in,
        answered_waits=WaitPercentiles.of(queue.answered_waits),
        abandoned_waits=WaitPercentiles.of(queue.abandoned_waits),
        breather_hold=sum(
            1
            for c in queue.waiting.values()
            if c.state is CallState.WAITING and held_by_breathers(queue.steps[c.step])
        ),
    )


def callback_view(call: LiveCall, at: float) -> CallbackView:
    """One callback of the book."""
    del at  # the figures are instants, not durations
    return CallbackView(
        call_id=call.id,
        queue=call.queue.cfg.name,
        state=call.state,
        priority=call.priority,
        number=call.caller_number,
        name=call.caller_name,
        requested_at=call.requested_at,
        arrived_at=call.fifo_at,
        due_at=call.due_at,
        give_up_at=call.give_up_at,
        attempts=call.attempts,
        agent_id=agent_id_of(call),
        from_call_id=call.from_call_id,
    )


def agent_view(agent: LiveAgent, at: float) -> AgentView:
    """One advisor, with the busy period in progress counted in the window's figures."""
    load = agent.load
    busy, talk, calls, staffed = load.totals(at)
    # Include the busy period in progress (talk or wrap-up), clipped to the window's first
    # bucket like the staffed period in progress, so busy time stays within staffed time.
    start = None
    if agent.activity is Activity.ON_CALL and agent.call is not None:
        start = agent.call.answered_at
    elif agent.activity is Activity.WRAP_UP:
        start = agent.wrap_started
    if start is not None:
        ongoing = max(0.0, at - max(start, load.window_start(at)))
        busy += ongoing
        if agent.activity is Activity.ON_CALL:
            talk += ongoing
    return AgentView(
        agent_id=agent.cfg.id,
        name=agent.cfg.name,
        presence=agent.presence,
        phone=agent.phone,
        activity=agent.activity,
        reason=agent.reason,
        since=agent.since,
        time_in_state_s=at - agent.since,
        routable=agent.routable,
        call_id=call_id_of(agent),
        pending_pause=agent.pending_pause,
        missed_in_row=agent.missed,
        # The figure people read, as the reports compute it: no floor (the floor only keeps the
        # cap from sending an advisor to a breather after the first call of a shift).
        occupancy=min(1.0, occupancy(busy, staffed) or 0.0),
        staffed_s_in_window=staffed,
        calls_in_window=calls,
        talk_s_in_window=talk,
        calls_since_login=agent.calls_since_login,
        queues=agent.cfg.queues,
    )


def fairness(agents: tuple[AgentView, ...]) -> FairnessView:
    """Spread of calls, talk time and occupancy among the logged-in advisors."""
    present = [a for a in agents if a.presence is Presence.LOGGED_IN]
    return FairnessView(
        advisors=len(present),
        calls=spread([float(a.calls_in_window) for a in present]),
        talk_s=spread([a.talk_s_in_window for a in present]),
        occupancy=spread([a.occupancy for a in present]),
    )


def spread(values: list[float]) -> Spread:
    """Minimum, maximum, mean and standard deviation (all zero when there are no values)."""
    if not values:
        return Spread(0.0, 0.0, 0.0, 0.0)
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / len(values)
    return Spread(min(values), max(values), mean, math.sqrt(var))


def centre_view(centre: CentreCounters) -> CentreView:
    """The centre's counters: each call once, its service level against its own queue's target."""
    denominator = centre.offered - centre.short_abandons - centre.rejected
    return CentreView(
        offered=centre.offered,
        answered=centre.answered,
        abandoned=centre.abandoned,
        short_abandons=centre.short_abandons,
        rejected=centre.rejected,
        answered_within_sl=centre.answered_within_sl,
        service_level=centre.answered_within_sl / denominator if denominator > 0 else None,
        counters_since=centre.counters_since,
        answered_waits=WaitPercentiles.of(centre.answered_waits),
        abandoned_waits=WaitPercentiles.of(centre.abandoned_waits),
    )
