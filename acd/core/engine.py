"""The routing engine: its transitions. Everything that changes the engine's state lives here.

``Engine.handle(event)`` validates the event against the current state, then applies it and returns
the commands to execute, in order. A refused event raises a ``CoreError`` before anything changes.

The records it changes are in ``acd.core.live``, the routing heaps in ``acd.core.routing_heaps``
(each queue's routing step is a *step*: the advisors of the queue who satisfy its expression are
precomputed at config time, so eligibility is never evaluated while routing), and the read-only
views in ``acd.core.views``. State changes go through the tables of ``acd.core.states``, keyed by
``Trigger``; timers are dispatched on their ``TimerKind``.

Invariant after every ``handle``: no routable advisor is eligible for a waiting call (an advisor
freed takes a call in the same ``handle``; a call offered takes an idle advisor in the same
``handle``).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable
from typing import Any, Final

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core import views
from acd.core.calendar import Opening
from acd.core.callbacks import NumberVerdict, check_number, dial_form
from acd.core.config import (
    PRIORITY_MAX,
    PRIORITY_MIN,
    AcdConfig,
    AtClose,
    EmptyPolicy,
    Policy,
    TargetKind,
)
from acd.core.errors import (
    ConfigError,
    CoreError,
    EventOutOfOrderError,
    IllegalTransitionError,
    UnknownAgentError,
    UnknownCallError,
    UnknownQueueError,
    WorkloadLimitError,
)
from acd.core.live import (
    TIMER_ORDER,
    CentreCounters,
    LiveAgent,
    LiveCall,
    LiveQueue,
    LiveStep,
    TimerKind,
    agent_id_of,
    call_id_of,
    cooling_for,
)
from acd.core.percentiles import add_wait
from acd.core.routing_heaps import (
    best_agent_for,
    best_call_for,
    drop_agent,
    line_up,
    push_agent,
    unline,
)
from acd.core.skills import skills_named
from acd.core.snapshots import AgentView, CallbackView, CallView, EngineSnapshot, QueueView
from acd.core.states import (
    ACTIVITY_TABLE,
    CALL_TABLE,
    PHONE_TABLE,
    PHONE_TRIGGER,
    PRESENCE_TABLE,
    STAFFED_ACTIVITIES,
    TERMINAL_CALL_STATES,
    Activity,
    CallState,
    Outcome,
    PhoneState,
    Presence,
    Trigger,
    transition,
)
from acd.core.workload import RollingLoad

Command = cmd.Command
# Finished calls are remembered (for duplicate events and late dispositions) up to this many.
FINISHED_MEMORY: Final = 100_000
# Weight of the newest handle time in a queue's running average (expected wait estimates).
AHT_SMOOTHING: Final = 0.1
NO_ANSWER_REASON: Final = "no_answer"
# A ring that could not reach the advisor's phone (Dial's CHANUNAVAIL: no contact, the endpoint
# refused; CONGESTION: the network or the PBX) is no miss of the advisor's: the phone is marked
# unreachable and tried again after a back-off, doubled for each such ring in a row up to the
# maximum, or as soon as the PBX reports the device unavailable and then back (a registration).
# Without the back-off an unreachable phone the PBX still shows idle would be rung again at once,
# for every caller, in a loop.
UNREACHABLE_RETRY_S: Final = 15.0
UNREACHABLE_RETRY_MAX_S: Final = 300.0
_UNREACHED: Final = frozenset({ev.DialStatus.CHANUNAVAIL, ev.DialStatus.CONGESTION})
# The reservation reason of callbacks (ReserveAgent.reason, the advisor's activity reason).
CALLBACK: Final = "callback"
# A closed queue's callback offer (closed = "callback"): after the offer is heard, the caller
# has this long to press the key before goodbye; the whole offer (the number's dialog
# included) never holds the line longer than the longest.
CLOSED_OFFER_KEY_S: Final = 6.0
CLOSED_OFFER_LONGEST_S: Final = 120.0
# Plain-dict copies of the tables for the hot path (same entries: states.py is the source).
# An activity entry also says whether it starts (+1) or ends (-1) a staffed period, so the
# change of activity pays for one lookup, not three.
_ACTIVITY: Final = {
    key: (new, (new in STAFFED_ACTIVITIES) - (key[0] in STAFFED_ACTIVITIES))
    for key, new in ACTIVITY_TABLE.items()
}
_NUMBER: Final = (int, float)
_CALL: Final = dict(CALL_TABLE)


def _answered(call: LiveCall) -> tuple[Outcome, str]:
    """The outcome and reason of an answered call once its wrap-up ends: an inbound call is
    ``answered``; a reservation's leg (callback, outbound) is ``completed``, its kind the reason."""
    if call.purpose is None:
        return Outcome.ANSWERED, "completed"
    return Outcome.COMPLETED, call.purpose


class Engine:
    """The pure, synchronous, deterministic ACD: ``handle(event) -> list[Command]``."""

    def __init__(self, config: AcdConfig, *, start_at: float = 0.0) -> None:
        if not isinstance(config, AcdConfig):
            raise ConfigError("config", "must be an AcdConfig")
        self._now = start_at
        self._seq = 0
        self._timer_seq = 0
        # timer id -> what it does and the call or advisor it concerns.
        self._timers: dict[str, tuple[TimerKind, Any]] = {}
        # Pending timers by (fire_at, TIMER_ORDER, entity key, seq, id): the drain order of the
        # timers due at one instant (lazy deletion: an entry whose id is not pending is skipped).
        self._timer_heap: list[tuple[float, int, tuple[int, ...], int, str]] = []
        # While timers due at one instant are drained, routing waits for one pass at the end:
        # the advisors made routable, the calls put in line and callers past their deadline.
        self._draining = False
        # While a reload logs out removed advisors: staffing changes move no caller yet.
        self._rebuilding = False
        self._freed: list[LiveAgent] = []
        # Whether a breather yields is decided after the drain's routing pass, once every timer
        # of the instant has fired (an ageing caller may have overtaken another, a freed advisor
        # may have taken the caller): advisors freed over the cap, and callers whose yield timer
        # fired.
        self._freed_over_cap: list[tuple[LiveAgent, Trigger]] = []
        self._yields_due: list[LiveCall] = []
        self._lined: list[LiveCall] = []
        self._deadlines: list[LiveCall] = []
        self._calls: dict[str, LiveCall] = {}
        # call id -> (first queue, offered at): tuples of atoms, which the GC does not track.
        self._finished: dict[str, tuple[str, float]] = {}
        # Forgetting order of finished calls: a deque, because popping the first key of a dict
        # that keeps losing its first keys is O(deleted) until the dict resizes.
        self._finished_order: deque[str] = deque()
        self._agents: dict[str, LiveAgent] = {}
        self._agent_list: list[LiveAgent] = []
        self._by_seq: dict[int, LiveCall] = {}
        self._queues: dict[str, LiveQueue] = {}
        self._centre = CentreCounters(counters_since=start_at)
        self._config = config
        # Callback requests accepted today, per number (the per-number daily limit).
        self._callbacks_by_number: dict[str, int] = {}
        self._out: list[Command] = []
        self._handlers: dict[type, Callable[[Any], None]] = {
            ev.AgentLoggedIn: self._on_logged_in,
            ev.AgentLoggedOut: self._on_logged_out,
            ev.AgentPaused: self._on_paused,
            ev.AgentReady: self._on_ready,
            ev.RecoveryPauseRequested: self._on_recovery,
            ev.WrapUpEnded: self._on_wrap_up_ended,
            ev.DispositionSet: self._on_disposition,
            ev.PhoneStateChanged: self._on_phone,
            ev.CallArrived: self._on_call_arrived,
            ev.CallerIdentified: self._on_caller_identified,
            ev.ReservationRequested: self._on_reservation_requested,
            ev.ReservationReleased: self._on_reservation_released,
            ev.CallbackRequested: self._on_callback_requested,
            ev.CallbackCancelled: self._on_callback_cancelled,
            ev.CallbackRefused: self._on_callback_refused,
            ev.CallbackNumberConfirmed: self._on_callback_number_confirmed,
            ev.CallbackReprioritised: self._on_callback_reprioritised,
            ev.CallMoved: self._on_call_moved,
            ev.CallPrioritySet: self._on_call_priority_set,
            ev.CallEndRequested: self._on_call_end_requested,
            ev.PromptEnded: self._on_prompt_ended,
            ev.AgentAnswered: self._on_answered,
            ev.AgentDidNotAnswer: self._on_not_answered,
            ev.CallerHungUp: self._on_caller_hung_up,
            ev.CallEnded: self._on_call_ended,
            ev.CallTransferred: self._on_transferred,
            ev.TimerFired: self._on_timer,
            ev.ConfigChanged: self._on_config,
            ev.DayRolledOver: self._on_day_rolled_over,
            ev.QueueHoursChanged: self._on_hours_changed,
            ev.CallerKeyPressed: self._on_key_pressed,
        }
        self._timer_handlers: dict[TimerKind, Callable[[Any], None]] = {
            TimerKind.RELAX: self._relax,
            TimerKind.MAX_WAIT: self._max_wait_reached,
            TimerKind.ANNOUNCE: self._announce,
            TimerKind.WRAP_UP: self._wrap_up_over,
            TimerKind.BREATHER: self._rest_over,
            TimerKind.RECOVERY: self._rest_over,
            TimerKind.RETRY: self._cooldown_over,
            TimerKind.HOLD: self._hold_over,
            TimerKind.DUE: self._callback_due,
            TimerKind.OFFER: self._offer_due,
            TimerKind.CLOSED_OFFER: self._closed_offer_over,
            TimerKind.GIVE_UP: self._callback_gives_up,
            TimerKind.AGE: self._age,
            TimerKind.BUCKET: self._bucket_over,
            TimerKind.YIELD: self._yield_breather,
            TimerKind.PHONE: self._phone_retry,
        }
        # least_occupied: advisors with a step in such a queue, re-keyed at each bucket boundary.
        self._by_occupancy: list[LiveAgent] = []
        self._bucket_timer: str | None = None
        self._build(config, {})

    # ------------------------------------------------------------------ public interface

    @property
    def config(self) -> AcdConfig:
        """The configuration in force."""
        return self._config

    @property
    def now(self) -> float:
        """Timestamp of the last accepted event (or ``start_at``)."""
        return self._now

    def handle(self, event: ev.Event) -> list[Command]:
        """Apply one event; return the commands to execute, in order.

        Raises a ``CoreError`` subclass, with nothing changed, when the event is refused.
        """
        handler = self._handlers.get(type(event))
        if handler is None:
            raise CoreError(f"not an event: {event!r}")
        at = event.at
        if not (isinstance(at, _NUMBER) and math.isfinite(at)):
            raise CoreError(f"{type(event).__name__}.at must be a finite number, got {at!r}")
        if at < self._now:
            raise EventOutOfOrderError(type(event).__name__, at, self._now)
        self._out = []
        previous = self._now
        self._now = at
        try:
            handler(event)
        except CoreError:
            # Handlers validate before they change anything, so only the clock needs restoring.
            self._now = previous
            raise
        out, self._out = self._out, []
        return out

    def has_timer(self, timer_id: str) -> bool:
        """Whether ``timer_id`` is pending (asked for and neither fired nor cancelled)."""
        return timer_id in self._timers

    def pending_timers(self) -> tuple[str, ...]:
        """Pending timer ids, in the order they were asked for."""
        return tuple(self._timers)

    def agent_view(self, agent_id: str, at: float | None = None) -> AgentView:
        """One advisor's view; ``at`` defaults to the last event time."""
        agent = self._agents.get(agent_id)
        if agent is None:
            raise UnknownAgentError(agent_id)
        return views.agent_view(agent, self._now if at is None else at)

    def call_view(self, call_id: str, at: float | None = None) -> CallView:
        """One live call's view (waiting, presented or connected)."""
        call = self._calls.get(call_id)
        if call is None:
            raise UnknownCallError(call_id)
        t = self._now if at is None else at
        return views.call_view(call, t, views.positions(call.queue).get(call.id))

    def live_calls(self, at: float | None = None) -> tuple[CallView, ...]:
        """Every live call (waiting, presented or connected), in order of arrival."""
        t = self._now if at is None else at
        positions: dict[str, int] = {}
        for queue in self._queues.values():
            positions.update(views.positions(queue))
        return tuple(
            views.call_view(c, t, positions.get(c.id))
            for c in self._calls.values()
            if c.state not in TERMINAL_CALL_STATES
        )

    def queue_view(self, name: str, at: float | None = None) -> QueueView:
        """One queue's view, waiting calls in service order."""
        queue = self._queues.get(name)
        if queue is None:
            raise UnknownQueueError(name)
        return views.queue_view(queue, self._now if at is None else at)

    def summaries_in_wrap_up(self, at: float) -> list[cmd.CallCompleted]:
        """Summaries of the answered calls whose advisor is still in wrap-up, as if it ended at
        ``at`` (reason ``wrap_up_cut``). A summary otherwise waits for the wrap-up's end: the
        daemon records these when it stops, so no answered call goes without its row. Pure."""
        return [
            self._summary(agent.call, _answered(agent.call)[0], "wrap_up_cut", at)
            for agent in self._agents.values()
            if agent.activity is Activity.WRAP_UP and agent.call is not None
        ]

    def snapshot(self, at: float | None = None) -> EngineSnapshot:
        """Every advisor and queue, plus the fairness spread."""
        t = self._now if at is None else at
        agents = tuple(views.agent_view(a, t) for a in self._agents.values())
        queues = tuple(views.queue_view(q, t) for q in self._queues.values())
        return EngineSnapshot(
            t, agents, queues, views.fairness(agents), views.centre_view(self._centre)
        )

    def is_routable(self, agent_id: str) -> bool:
        """Logged in, phone idle, available (and so under the occupancy cap)."""
        agent = self._agents.get(agent_id)
        if agent is None:
            raise UnknownAgentError(agent_id)
        return agent.routable

    def eligible(self, agent_id: str, call_id: str) -> bool:
        """Whether the advisor serves the call's queue and satisfies its current routing step."""
        agent = self._agents.get(agent_id)
        if agent is None:
            raise UnknownAgentError(agent_id)
        call = self._calls.get(call_id)
        if call is None:
            raise UnknownCallError(call_id)
        return call.queue.steps[call.step] in agent.steps

    def in_cooldown(self, agent_id: str, call_id: str) -> bool:
        """Whether the advisor is in a no-answer cooldown for this live call (a documented hold:
        the engine does not offer them that caller until it ends)."""
        agent = self._agent(agent_id)
        call = self._calls.get(call_id)
        if call is None:
            raise UnknownCallError(call_id)
        return cooling_for(call, agent, self._now)

    def occupancy(self, agent_id: str, at: float | None = None) -> float:
        """Busy ÷ max(staffed, min basis) in the rolling window: the figure the cap is checked on.

        Completed busy periods only; the staffed period in progress counts.
        """
        agent = self._agents.get(agent_id)
        if agent is None:
            raise UnknownAgentError(agent_id)
        return agent.load.occupancy(self._now if at is None else at)

    def check_indexes(self) -> None:
        """Recount every index from scratch and raise ``CoreError`` on a mismatch (for tests)."""
        for queue in self._queues.values():
            waiting = [
                c
                for c in queue.waiting.values()
                if c.state is CallState.WAITING and c.held_for is None
            ]
            if sorted(c.key for c in waiting) != queue.order:
                raise CoreError(f"queue {queue.cfg.name!r}: service order out of step")
            for step in queue.steps:
                live = sum(1 for c in waiting if c.in_step is step)
                routable = sum(1 for a in queue.members if a.routable and step in a.steps)
                if (live, routable) != (step.live_calls, step.live_agents):
                    raise CoreError(
                        f"queue {queue.cfg.name!r} step {step.index}: counted "
                        f"{(step.live_calls, step.live_agents)}, actual {(live, routable)}"
                    )
            logged_in = sum(1 for a in queue.members if a.presence is Presence.LOGGED_IN)
            staffed = sum(
                1
                for a in queue.members
                if a.presence is Presence.LOGGED_IN
                and a.phone is not PhoneState.UNREACHABLE
                and a.activity is not Activity.PAUSED
            )
            if (logged_in, staffed) != (queue.logged_in, queue.staffed):
                raise CoreError(f"queue {queue.cfg.name!r}: logged-in or staffed count out of step")
            for step in queue.steps:
                here = [a for a in queue.members if step in a.steps]
                counts = (
                    sum(1 for a in here if a.counted_logged_in),
                    sum(1 for a in here if a.counted_staffed),
                )
                breathing = sum(
                    1 for a in here if a.counted_staffed and a.activity is Activity.BREATHER
                )
                if (*counts, breathing) != (step.logged_in, step.staffed, step.breathing):
                    raise CoreError(f"queue {queue.cfg.name!r} step {step.index}: staffing")
                name = queue.cfg.name
                ahead = [a for a in queue.members if a.top_step[name] >= step.index]
                reach = (
                    sum(1 for a in ahead if a.counted_logged_in),
                    sum(1 for a in ahead if a.counted_staffed),
                )
                k = step.index
                if reach != (queue.reach_logged_in[k], queue.reach_staffed[k]):
                    raise CoreError(f"queue {name!r} step {k}: reach out of step")
        for call in self._calls.values():
            lined_up = call.state is CallState.WAITING and call.held_for is None
            if lined_up != (call.in_step is not None):
                raise CoreError(f"call {call.id!r}: {call.state} but in_step={call.in_step}")
            held_for = call.held_for
            if held_for is not None and (held_for.held or {}).get(call.id) is not call:
                raise CoreError(f"call {call.id!r}: held for {held_for.cfg.id!r} who lost it")
        for agent in self._agents.values():
            staffed_from = agent.load.staffed_from
            if (agent.activity in STAFFED_ACTIVITIES) != (staffed_from is not None):
                raise CoreError(
                    f"advisor {agent.cfg.id!r}: {agent.activity} but staffed since {staffed_from}"
                )

    # ------------------------------------------------------------------ building indexes

    def _build(self, config: AcdConfig, old_queues: dict[str, LiveQueue]) -> None:
        workload = config.workload
        queues: dict[str, LiveQueue] = {}
        for qcfg in config.queues:
            old = old_queues.get(qcfg.name)
            queue = LiveQueue(cfg=qcfg, aht=qcfg.expected_handle_s, counters_since=self._now)
            if old is not None:
                queue.counters_since = old.counters_since
                queue.rr_counter = old.rr_counter
                queue.rr_last = old.rr_last
                queue.aht = old.aht
                queue.offered = old.offered
                queue.answered = old.answered
                queue.abandoned = old.abandoned
                queue.answered_within_sl = old.answered_within_sl
                queue.short_abandons = old.short_abandons
                queue.closed_callers = old.closed_callers
                queue.callbacks_requested = old.callbacks_requested
                queue.callbacks_completed = old.callbacks_completed
                queue.callbacks_within_sl = old.callbacks_within_sl
                queue.callbacks_failed = old.callbacks_failed
                queue.rejected = old.rejected
                queue.overflowed_out = old.overflowed_out
                queue.overflowed_in = old.overflowed_in
                queue.answered_waits = old.answered_waits
                queue.abandoned_waits = old.abandoned_waits
                queue.hours = old.hours
            queue.steps = [
                LiveStep(queue, i, s.expression, s.expires_after_s)
                for i, s in enumerate(qcfg.steps)
            ]
            queue.reach_logged_in = [0] * len(qcfg.steps)
            queue.reach_staffed = [0] * len(qcfg.steps)
            queues[qcfg.name] = queue
        # best_skill scores an advisor on the skills a step names (all the queue's, for "any").
        named: dict[LiveStep, tuple[str, ...]] = {}
        for queue in queues.values():
            every = tuple(sorted({n for s in queue.cfg.steps for n in skills_named(s.parsed)}))
            for step, scfg in zip(queue.steps, queue.cfg.steps, strict=True):
                named[step] = skills_named(scfg.parsed) or every
        agents: dict[str, LiveAgent] = {}
        for index, acfg in enumerate(config.agents):
            agent = self._agents.get(acfg.id)
            if agent is None:
                agent = LiveAgent(
                    cfg=acfg,
                    index=index,
                    load=RollingLoad(workload.window_s, workload.bucket_s, workload.min_basis_s),
                    since=self._now,
                )
            else:
                agent.cfg = acfg
                agent.index = index
                if (agent.load.bucket_s, agent.load.n) != (
                    workload.bucket_s,
                    math.ceil(workload.window_s / workload.bucket_s),
                ):
                    # A new window shape starts empty, but the staffed period in progress goes on.
                    staffed_from = agent.load.staffed_from
                    agent.load = RollingLoad(
                        workload.window_s, workload.bucket_s, workload.min_basis_s
                    )
                    agent.load.staffed_from = staffed_from
                else:
                    agent.load.min_basis_s = min(workload.min_basis_s, workload.window_s)
            agent.steps = []
            agent.scores = {}
            agent.top_step = {}
            agent.routable = False
            agent.counted_logged_in = False
            agent.counted_staffed = False
            for qname in acfg.queues:
                queue = queues[qname]
                queue.members.append(agent)
                agent.top_step[qname] = -1
                for step, scfg in zip(queue.steps, queue.cfg.steps, strict=True):
                    if scfg.parsed.evaluate(acfg.skills):
                        agent.steps.append(step)
                        agent.scores[step] = sum(acfg.skills.get(n, 0) for n in named[step])
                        agent.top_step[qname] = step.index
            agents[acfg.id] = agent
        self._agents = agents
        self._agent_list = list(agents.values())
        self._by_occupancy = [
            a
            for a in self._agent_list
            if any(step.queue.cfg.policy is Policy.LEAST_OCCUPIED for step in a.steps)
        ]
        self._queues = queues
        self._config = config

    # ------------------------------------------------------------------ small helpers

    def _agent(self, agent_id: str) -> LiveAgent:
        agent = self._agents.get(agent_id)
        if agent is None:
            raise UnknownAgentError(agent_id)
        return agent

    def _timer(self, kind: TimerKind, ref: Any, key: str, fire_at: float) -> str:
        self._timer_seq += 1
        timer_id = f"{kind.value}:{key}:{self._timer_seq}"
        self._timers[timer_id] = (kind, ref)
        if isinstance(ref, LiveAgent):
            entity: tuple[int, ...] = (ref.index,)
        elif isinstance(ref, LiveCall):
            entity = (ref.seq,)
        elif ref is None:  # the engine's own (occupancy bucket)
            entity = ()
        else:  # (call, advisor) of a no-answer cooldown
            entity = (ref[0].seq, ref[1].index)
        heap = self._timer_heap
        heapq.heappush(heap, (fire_at, TIMER_ORDER[kind], entity, self._timer_seq, timer_id))
        if len(heap) > 2 * len(self._timers) + 64:
            timers = self._timers
            self._timer_heap = [t for t in heap if t[4] in timers]
            heapq.heapify(self._timer_heap)
        self._out.append(cmd.StartTimer(timer_id, fire_at))
        return timer_id

    def _cancel(self, timer_id: str | None) -> None:
        if timer_id is not None and self._timers.pop(timer_id, None) is not None:
            self._out.append(cmd.CancelTimer(timer_id))

    def _record(
        self,
        call: LiveCall,
        kind: str,
        agent: LiveAgent | None = None,
        **data: str | int | float | None,
    ) -> None:
        call.record_seq += 1
        self._out.append(
            cmd.RecordCallEvent(
                call.id,
                call.record_seq,
                kind,
                self._now,
                call.queue.cfg.name,
                agent.cfg.id if agent is not None else None,
                data,
            )
        )

    def _set_activity(self, agent: LiveAgent, trigger: Trigger, reason: str | None = None) -> None:
        old = agent.activity
        entry = _ACTIVITY.get((old, trigger))
        if entry is None:
            raise IllegalTransitionError(
                "agent",
                agent.cfg.id,
                "activity",
                old,
                trigger,
                related_id=agent.call.id if agent.call is not None else None,
            )
        new, staffed = entry
        if staffed > 0:
            agent.load.start_staffed(self._now)
        elif staffed < 0:
            agent.load.end_staffed(self._now)
        if (old is Activity.BREATHER) is not (new is Activity.BREATHER) and agent.counted_staffed:
            d = 1 if new is Activity.BREATHER else -1
            for step in agent.steps:
                step.breathing += d
                if d > 0 and step.live_calls:
                    self._flag_breather_hold(step)
        agent.activity = new
        agent.reason = reason
        agent.since = self._now
        if new is Activity.AVAILABLE:
            agent.available_since = self._now
        self._out.append(
            cmd.RecordAgentState(agent.cfg.id, "activity", old, new, reason, self._now)
        )

    def _check_activity(self, agent: LiveAgent, trigger: Trigger) -> None:
        if (agent.activity, trigger) not in ACTIVITY_TABLE:
            raise IllegalTransitionError(
                "agent",
                agent.cfg.id,
                "activity",
                agent.activity.value,
                trigger,
                related_id=agent.call.id if agent.call is not None else None,
            )

    def _check_call(self, call: LiveCall, trigger: Trigger, agent_id: str | None = None) -> None:
        if (call.state, trigger) not in CALL_TABLE:
            raise IllegalTransitionError(
                "call",
                call.id,
                "call",
                call.state.value,
                trigger,
                related_id=agent_id or agent_id_of(call),
            )

    def _set_call_state(self, call: LiveCall, trigger: Trigger) -> None:
        new = _CALL.get((call.state, trigger))
        if new is None:
            raise IllegalTransitionError(
                "call", call.id, "call", call.state, trigger, related_id=agent_id_of(call)
            )
        call.state = new

    def _wrap_up_s(self, agent: LiveAgent, queue: LiveQueue) -> float:
        own = agent.cfg.wrap_up_s
        base = own if own is not None else queue.cfg.wrap_up_s
        workload = self._config.workload
        return max(base, workload.min_wrap_up_s) if workload.enabled else base

    def _over_cap(self, agent: LiveAgent) -> bool:
        workload = self._config.workload
        return workload.enabled and agent.load.occupancy(self._now) > workload.occupancy_cap

    # ------------------------------------------------------------------ routability & staffing

    def _refresh(self, agent: LiveAgent) -> None:
        """Re-derive routability and staffing after any change of the agent's state."""
        routable = (
            agent.presence is Presence.LOGGED_IN
            and agent.phone is PhoneState.IDLE
            and agent.activity is Activity.AVAILABLE
        )
        if agent.routable and not routable:
            # Leave the pools before staffing changes can move calls around.
            drop_agent(agent)
        self._refresh_staffing(agent)
        if agent.held and (
            agent.presence is not Presence.LOGGED_IN or agent.activity is Activity.PAUSED
        ):
            # Gone or paused: nobody waits for them any longer.
            for held in list(agent.held.values()):
                self._release_hold(held)
                self._route(held)
        if not routable or agent.routable:
            return
        agent.epoch += 1
        own = self._held_call_for(agent)
        if own is not None:
            # Held for this very advisor (preferred advisor): theirs at once, even in a drain.
            self._present(own, agent)
            return
        if self._draining:
            self._pool(agent)
            self._freed.append(agent)
            return
        call = best_call_for(agent, self._by_seq, self._now)
        if call is not None:
            # Routable only for an instant: presented at once, never enters the pools.
            self._present(call, agent)
            return
        self._pool(agent)

    def _pool(self, agent: LiveAgent) -> None:
        """Enter the advisor in their steps' heaps of routable advisors."""
        agent.routable = True
        agent.occupancy_at_free = agent.load.occupancy(self._now)
        push_agent(agent, self._agent_list)
        if self._bucket_timer is None and self._by_occupancy:
            self._arm_bucket()

    def _arm_bucket(self) -> None:
        size = self._config.workload.bucket_s
        boundary = (math.floor(self._now / size) + 1) * size
        self._bucket_timer = self._timer(TimerKind.BUCKET, None, "occupancy", boundary)

    def _bucket_over(self, _: None) -> None:
        """least_occupied ranks available advisors by their occupancy at the last bucket
        boundary: re-key each one (an idle advisor's occupancy falls while they wait)."""
        self._bucket_timer = None
        pooled = False
        for agent in self._by_occupancy:
            if agent.routable:
                drop_agent(agent)  # a new epoch: their old heap entries go stale
                agent.routable = True
                agent.occupancy_at_free = agent.load.occupancy(self._now)
                push_agent(agent, self._agent_list)
                pooled = True
        if pooled:
            self._arm_bucket()

    def _refresh_staffing(self, agent: LiveAgent) -> None:
        logged_in = agent.presence is Presence.LOGGED_IN
        staffed = (
            logged_in
            and agent.phone is not PhoneState.UNREACHABLE
            and agent.activity is not Activity.PAUSED
        )
        d_in = int(logged_in) - int(agent.counted_logged_in)
        d_st = int(staffed) - int(agent.counted_staffed)
        if not d_in and not d_st:
            return
        agent.counted_logged_in = logged_in
        agent.counted_staffed = staffed
        unstaffed: list[LiveStep] = []
        breathing = d_st if agent.activity is Activity.BREATHER else 0
        for step in agent.steps:
            step.logged_in += d_in
            step.staffed += d_st
            step.breathing += breathing
            if d_st < 0 and step.staffed == 0 and step.queue.cfg.skip_unstaffed_steps:
                unstaffed.append(step)
        emptied: list[LiveQueue] = []
        for qname in agent.cfg.queues:
            queue = self._queues[qname]
            queue.logged_in += d_in
            queue.staffed += d_st
            reach_in, reach_st = queue.reach_logged_in, queue.reach_staffed
            for k in range(agent.top_step[qname] + 1):
                reach_in[k] += d_in
                reach_st[k] += d_st
            # Reach only shrinks along the steps: if callers at the last step still have
            # someone, everyone does.
            if (
                (d_in < 0 or d_st < 0)
                and queue.waiting
                and self._is_empty(queue, join=False, step=len(queue.steps) - 1)
            ):
                emptied.append(queue)
        for queue in emptied if not self._rebuilding else ():
            for call in list(queue.waiting.values()):
                if call.state is CallState.WAITING and call.purpose is None:
                    self._leave(call, "leave_empty")
            self._leave_if_empty(queue)
        if self._rebuilding:
            return  # a reload lines every caller up again in the new configuration
        for step in unstaffed:
            # skip_unstaffed_steps: callers at a step that just lost its last staffed advisor
            # move on at once.
            for call in list(step.queue.waiting.values()):
                if (
                    call.state is CallState.WAITING
                    and call.queue is step.queue
                    and call.step == step.index
                    and self._skip_unstaffed(call)
                ):
                    self._step_moved(call)

    def _is_empty(self, queue: LiveQueue, *, join: bool, step: int) -> bool:
        """Whether, for a caller at ``step``, the queue is empty under its join (or leave) rule:
        nobody logged in (or staffed) satisfies ``step`` or a later step (skills count)."""
        policy = queue.cfg.join_when_empty if join else queue.cfg.leave_when_empty
        if policy is EmptyPolicy.NEVER:
            return False
        if policy is EmptyPolicy.NO_LOGGED_IN:
            return queue.reach_logged_in[step] == 0
        return queue.reach_staffed[step] == 0

    def _leave_if_empty(self, queue: LiveQueue) -> None:
        """Waiting callers for whom the queue became empty leave it (leave-when-empty)."""
        for call in list(queue.waiting.values()):
            if (
                call.state is CallState.WAITING
                and call.purpose is None  # a reservation waits for an advisor only
                and call.queue is queue  # not one that overflowed here from this very loop
                and self._is_empty(queue, join=False, step=call.step)
            ):
                self._leave(call, "leave_empty")

    # ------------------------------------------------------------------ matching

    def _route(self, call: LiveCall) -> None:
        """Present a waiting call to the best routable eligible advisor, or keep it in line."""
        if self._draining:
            line_up(call, self._by_seq)
            self._lined.append(call)
            return
        agent = best_agent_for(call, self._agent_list, self._now)
        if agent is not None:
            self._present(call, agent)
            return
        line_up(call, self._by_seq)
        if not call.breather_hold and views.held_by_breathers(call.queue.steps[call.step]):
            self._breather_hold(call)

    def _flag_breather_hold(self, step: LiveStep) -> None:
        """The step's last staffed advisor not in a breather started one: its callers now wait
        only because of breathers (recorded once per caller)."""
        if not views.held_by_breathers(step):
            return
        for call in list(step.queue.waiting.values()):
            if call.in_step is step and not call.breather_hold:
                self._breather_hold(call)

    def _breather_hold(self, call: LiveCall) -> None:
        call.breather_hold = True
        step = call.queue.steps[call.step]
        self._record(call, "breather_hold", None, step=call.step, advisors=step.breathing)

    def _yield_breather(self, call: LiveCall) -> None:
        """The caller waited ``breather_yield_after_s``: eligible advisors in a breather (the least
        occupied first) end it, each for the caller they would take among those who waited long
        enough — this one, or an older caller ahead of it (first come, first served)."""
        call.yield_timer = None
        if self._draining:
            self._yields_due.append(call)
            return
        if call.state is not CallState.WAITING or call.in_step is None:
            return
        step = call.in_step
        candidates = [
            a
            for a in call.queue.members
            if a.activity is Activity.BREATHER
            and step in a.steps
            and a.presence is Presence.LOGGED_IN
            and a.phone is PhoneState.IDLE
        ]
        candidates.sort(key=lambda a: (a.load.occupancy(self._now), a.index))
        for agent in candidates:
            if call.state is not CallState.WAITING:
                break
            chosen = self._yields_breather(agent)
            if chosen is None:
                continue
            self._cancel(agent.timer)
            agent.timer = None
            self._set_activity(agent, Trigger.READY, "breather_yielded")
            # Straight to that caller: never left available over the cap.
            self._present(chosen, agent)
            self._refresh(agent)

    def _yields_breather(self, agent: LiveAgent) -> LiveCall | None:
        """The caller this advisor would take among those who have waited long enough for a
        breather to yield (``breather_yield_after_s`` of their queue), if the advisor can be rung.

        Only the head of each of the advisor's steps is considered, so a yield never takes a
        caller ahead of an older one of the same queue and priority; a step whose head has not
        waited long enough (a newer caller of higher priority) yields nothing."""
        if agent.presence is not Presence.LOGGED_IN or agent.phone is not PhoneState.IDLE:
            return None
        now = self._now

        def waited_enough(call: LiveCall) -> bool:
            after = call.queue.cfg.breather_yield_after_s
            return after is not None and now - call.offered_at >= after

        call = best_call_for(agent, self._by_seq, now, waited_enough)
        if call is None:
            return None
        self._record(call, "breather_yielded", agent, waited_s=now - call.offered_at)
        return call

    def _present(self, call: LiveCall, agent: LiveAgent) -> None:
        self._release_hold(call)
        unline(call)
        self._set_call_state(call, Trigger.PRESENT)
        call.agent = agent
        agent.call = call
        call.tried += (agent.cfg.id,)
        if call.presented_at is None:
            call.presented_at = self._now
        queue = call.queue
        queue.rr_counter += 1
        queue.rr_last[agent.cfg.id] = queue.rr_counter
        self._set_activity(agent, Trigger.RESERVE, call.purpose)
        if agent.routable:  # taken from the pools (not when freed straight into this call)
            drop_agent(agent)
        else:
            agent.epoch += 1
        if call.prompting:
            call.prompting = False
            self._out.append(cmd.StopPrompt(call.id))
        if call.purpose is not None:
            self._record(call, "reserved", agent, step=call.step, reason=call.purpose)
            self._out.append(
                cmd.ReserveAgent(agent.cfg.id, call.purpose, call.id, agent.cfg.endpoint)
            )
            if call.purpose == CALLBACK:
                call.attempts += 1
                self._record_callback(call, "reserved")
            return
        self._record(call, "presented", agent, step=call.step)
        self._out.append(
            cmd.RingAgent(call.id, agent.cfg.id, agent.cfg.endpoint, queue.cfg.ring_timeout_s)
        )

    # ------------------------------------------------------------------ call lifecycle

    def _enter_queue(self, call: LiveCall, queue: LiveQueue) -> None:
        """Offer the call to ``queue``: timers, join-when-empty, then route."""
        call.queue = queue
        call.queue_entered_at = self._now
        call.step = 0
        call.step_entered_at = self._now
        call.max_wait_reached = False
        if not queue.hours.open:
            self._turn_away(call)
            return
        queue.waiting[call.id] = call
        queue.offered += 1
        if not call.in_centre:
            call.in_centre = True
            self._centre.offered += 1
        self._record(
            call,
            "offered",
            None,
            priority=call.priority,
            caller_number=call.caller_number,
            caller_name=call.caller_name,
        )
        if self._is_empty(queue, join=True, step=0):
            self._leave(call, "join_empty")
            return
        self._skip_unstaffed(call)
        self._arm_call_timers(call)
        if not self._offer_to_preferred(call):
            self._route(call)
        if call.state is CallState.WAITING and self._long_wait(call):
            self._offer_callback(call)

    def _offer_to_preferred(self, call: LiveCall) -> bool:
        """Present the call to its customer's preferred advisor, or hold it for them; False when
        the queue does not do that or the advisor cannot take it (normal routing then)."""
        routing = self._config.customers
        hold_s = routing.preferred_hold_s.get(call.queue.cfg.name)
        agent_id = routing.preferred_agent(call.data) if hold_s else None
        agent = self._agents.get(agent_id) if agent_id else None
        if (
            hold_s is None
            or agent is None
            or agent.presence is not Presence.LOGGED_IN
            or call.queue.steps[call.step] not in agent.steps
        ):
            return False
        if agent.routable:
            self._present(call, agent)
            return True
        call.held_for = agent
        if agent.held is None:
            agent.held = {}
        agent.held[call.id] = call
        call.hold_timer = self._timer(TimerKind.HOLD, call, call.id, self._now + hold_s)
        self._record(call, "held", agent, hold_s=hold_s)
        return True

    def _release_hold(self, call: LiveCall) -> None:
        agent = call.held_for
        if agent is None:
            return
        if agent.held is not None:
            agent.held.pop(call.id, None)
        call.held_for = None
        self._cancel(call.hold_timer)
        call.hold_timer = None

    def _held_call_for(self, agent: LiveAgent) -> LiveCall | None:
        """The best call held for this advisor that they may take now (priority, then wait)."""
        if not agent.held:
            return None
        fits = [c for c in agent.held.values() if c.queue.steps[c.step] in agent.steps]
        return min(fits, key=lambda c: c.key) if fits else None

    def _hold_over(self, call: LiveCall) -> None:
        call.hold_timer = None
        self._release_hold(call)
        if call.state is CallState.WAITING:
            self._route(call)

    def _set_age(self, call: LiveCall) -> None:
        """Effective priority = base + VIP bonus + one level per ``priority_ageing_s`` since the
        first arrival, within [PRIORITY_MIN, PRIORITY_MAX]; arm the next level's timer. The call
        must not be lined up (its key changes)."""
        # A reservation (callback) ages from the place it keeps (its caller's first arrival),
        # so it keeps that place among callers who age too.
        ageing = call.queue.cfg.priority_ageing_s
        own = call.base_priority + call.vip_bonus
        if ageing > 0:
            levels = int((self._now - call.offered_at) // ageing)
            # Float rounding may leave the next level due already: it would fire forever.
            while call.offered_at + (levels + 1) * ageing <= self._now:
                levels += 1
            call.aged = max(0, min(levels, PRIORITY_MAX - own))
        else:
            call.aged = 0
        priority = max(PRIORITY_MIN, min(PRIORITY_MAX, own + call.aged))
        call.priority = priority
        call.key = (-priority, call.fifo_at, call.seq)
        self._cancel(call.age_timer)
        call.age_timer = None
        if ageing > 0 and priority < PRIORITY_MAX:
            next_at = call.offered_at + (call.aged + 1) * ageing
            call.age_timer = self._timer(TimerKind.AGE, call, call.id, max(self._now, next_at))

    def _age(self, call: LiveCall) -> None:
        """One more ageing level: the caller moves up among the waiting callers (no record: a
        call's effective priority is in its view; a level a minute would flood its story)."""
        call.age_timer = None
        lined_up = call.in_step is not None
        if lined_up:
            unline(call)
        self._set_age(call)
        if lined_up:
            line_up(call, self._by_seq)

    def _arm_call_timers(self, call: LiveCall) -> None:
        cfg = call.queue.cfg
        self._set_age(call)
        expiry = cfg.steps[call.step].expires_after_s
        if expiry is not None:
            call.relax_timer = self._timer(
                TimerKind.RELAX, call, call.id, call.step_entered_at + expiry
            )
        if call.purpose is not None:
            return  # a reservation waits for an advisor only: no deadline, no announcement
        offer_after = cfg.callback_offer_after_s
        if offer_after is not None and not call.callback_offered:
            call.offer_timer = self._timer(
                TimerKind.OFFER, call, call.id, max(self._now, call.queue_entered_at + offer_after)
            )
        if cfg.breather_yield_after_s is not None and self._config.workload.enabled:
            call.yield_timer = self._timer(
                TimerKind.YIELD,
                call,
                call.id,
                max(self._now, call.offered_at + cfg.breather_yield_after_s),
            )
        if cfg.max_wait_s is not None:
            call.max_wait_timer = self._timer(
                TimerKind.MAX_WAIT,
                call,
                call.id,
                max(self._now, call.queue_entered_at + cfg.max_wait_s),
            )
        if cfg.announce_interval_s is not None:
            call.announce_timer = self._timer(
                TimerKind.ANNOUNCE, call, call.id, self._now + cfg.announce_interval_s
            )

    def _cancel_call_timers(self, call: LiveCall) -> None:
        self._release_hold(call)
        self._cancel(call.age_timer)
        self._cancel(call.yield_timer)
        call.age_timer = call.yield_timer = None
        self._cancel(call.relax_timer)
        self._cancel(call.max_wait_timer)
        self._cancel(call.announce_timer)
        self._cancel(call.offer_timer)
        call.relax_timer = call.max_wait_timer = call.announce_timer = call.offer_timer = None
        if call.retry_timers:
            for timer in call.retry_timers:
                self._cancel(timer)
            call.retry_timers = []
            call.cooling = {}

    def _leave(self, call: LiveCall, reason: str) -> None:
        """A waiting call leaves its queue: to the overflow target, or it is ended."""
        queue = call.queue
        target = queue.cfg.overflow
        unline(call)
        self._cancel_call_timers(call)
        del queue.waiting[call.id]
        if reason == "join_empty":
            queue.rejected += 1
        if target is not None and target.kind is TargetKind.QUEUE:
            queue.overflowed_out += 1
            self._queues[target.value].overflowed_in += 1
            self._set_call_state(call, Trigger.REQUEUE)
            self._record(call, "overflowed", None, reason=reason, target=str(target))
            if call.prompting:
                call.prompting = False
                self._out.append(cmd.StopPrompt(call.id))
            self._enter_queue(call, self._queues[target.value])
            return
        if call.prompting:
            call.prompting = False
            self._out.append(cmd.StopPrompt(call.id))
        if target is not None:
            self._set_call_state(call, Trigger.OVERFLOW)
            call.overflow_target = str(target)
            self._record(call, "overflowed", None, reason=reason, target=str(target))
            self._out.append(cmd.OverflowCall(call.id, str(target), reason))
            self._finish(call, Outcome.OVERFLOWED, reason)
            return
        self._set_call_state(call, Trigger.END)
        self._record(call, "ended", None, reason=reason)
        self._out.append(cmd.EndCall(call.id, reason))
        outcome = Outcome.REJECTED if reason == "join_empty" else Outcome.TIMED_OUT
        self._finish(call, outcome, reason)

    def _turn_away(self, call: LiveCall) -> None:
        """The caller rang while the queue is closed: not offered; the queue's closed action."""
        queue = call.queue
        hours = queue.hours
        queue.closed_callers += 1
        self._record(
            call,
            "closed",
            None,
            reason=hours.reason.value,
            detail=hours.detail,
            reopens_at=hours.next_change if hours.next_open else None,
            priority=call.priority,
            caller_number=call.caller_number,
            caller_name=call.caller_name,
        )
        self._closed_action(call, "closed")

    def _closed_action(self, call: LiveCall, reason: str) -> None:
        """Send a caller of a closed queue where the queue says: a message, a target, a queue."""
        queue = call.queue
        target = queue.cfg.closed
        if (
            target is not None
            and target.kind is TargetKind.CALLBACK
            and reason == "closed"
            and queue.hours.next_open
            and queue.hours.next_change is not None
        ):
            self._offer_closed_callback(call)
            return
        if target is not None and target.kind is TargetKind.QUEUE:
            self._set_call_state(call, Trigger.REQUEUE)
            self._enter_queue(call, self._queues[target.value])
            return
        if target is not None and target.kind is TargetKind.EXTENSION:
            self._set_call_state(call, Trigger.OVERFLOW)
            call.overflow_target = str(target)
            self._out.append(cmd.OverflowCall(call.id, str(target), reason))
        else:
            hours = queue.hours
            self._set_call_state(call, Trigger.END)
            self._out.append(
                cmd.EndCall(
                    call.id,
                    reason,
                    # A callback offer needs a known reopening: without one (an emergency
                    # closure), the closed message.
                    closed_message=target is None or target.kind is TargetKind.CALLBACK,
                    reopens_at=hours.next_change if hours.next_open else None,
                )
            )
        self._finish(call, Outcome.CLOSED, reason)

    def _offer_closed_callback(self, call: LiveCall) -> None:
        """The caller hears when the queue opens and is offered a callback then (the queue's
        ``closed = "callback"``); the callback keeps their arrival for its place at the opening.
        Nobody answering the offer hears goodbye (``_closed_offer_over``)."""
        reopens_at = call.queue.hours.next_change
        assert reopens_at is not None
        self._set_call_state(call, Trigger.OFFER_CLOSED)
        call.callback_offered = True
        call.prompting = True
        call.offer_timer = self._timer(
            TimerKind.CLOSED_OFFER, call, call.id, self._now + CLOSED_OFFER_LONGEST_S
        )
        self._record(call, "callback_offered", None, closed=True, reopens_at=reopens_at)
        self._out.append(
            cmd.PlayPrompt(call.id, "callback_offer_closed", 0, 0, reopens_at=reopens_at)
        )

    def _closed_offer_key_wait(self, call: LiveCall) -> None:
        """The closed offer's next deadline: a few seconds from now, never past its longest."""
        call.offer_timer = self._timer(
            TimerKind.CLOSED_OFFER,
            call,
            call.id,
            min(self._now + CLOSED_OFFER_KEY_S, call.queue_entered_at + CLOSED_OFFER_LONGEST_S),
        )

    def _closed_offer_over(self, call: LiveCall) -> None:
        """The offer's time ran out. A caller still in the number's dialog, or whose number is
        being checked, gets a little longer (never past ``CLOSED_OFFER_LONGEST_S`` after the
        call came in); anyone else hears goodbye: closed, not offered, not abandoned."""
        call.offer_timer = None
        if call.state is not CallState.CLOSED_OFFER:
            return
        busy = call.prompting or call.callback_chosen
        if busy and self._now < call.queue_entered_at + CLOSED_OFFER_LONGEST_S:
            self._closed_offer_key_wait(call)
            return
        self._set_call_state(call, Trigger.END)
        if call.prompting:
            call.prompting = False
            self._out.append(cmd.StopPrompt(call.id))
        self._record(call, "ended", None, reason="closed")
        self._out.append(cmd.EndCall(call.id, "closed"))
        self._finish(call, Outcome.CLOSED, "closed")

    def _finish(self, call: LiveCall, outcome: Outcome, reason: str) -> None:
        """The call's story is over: summary, then forget it (keep it for duplicates)."""
        call.outcome = outcome
        call.reason = reason
        if call.purpose is not None:
            self._cancel(call.due_timer)
            self._cancel(call.give_up_timer)
            call.due_timer = call.give_up_timer = None
            if call.purpose == CALLBACK and outcome is Outcome.COMPLETED:
                self._record_callback(call, "completed")
        if call.ended_at is None:
            call.ended_at = self._now
        self._calls.pop(call.id, None)
        self._by_seq.pop(call.seq, None)
        call.queue.waiting.pop(call.id, None)
        self._finished[call.id] = (call.first_queue, call.offered_at)
        self._finished_order.append(call.id)
        if len(self._finished_order) > FINISHED_MEMORY:
            del self._finished[self._finished_order.popleft()]
        queue = call.queue
        centre = self._centre
        if outcome is Outcome.ABANDONED:
            queue.abandoned += 1
            centre.abandoned += 1
            add_wait(queue.abandoned_waits, self._now - call.offered_at)
            add_wait(centre.abandoned_waits, self._now - call.offered_at)
            # Short by the wait since first arrival, as the reports count it: a caller who
            # hangs up just after an overflow has waited the whole time before it.
            if self._now - call.offered_at < self._config.short_abandon_s:
                queue.short_abandons += 1
                centre.short_abandons += 1
        elif outcome is Outcome.REJECTED:
            centre.rejected += 1
        self._out.append(self._summary(call, outcome, reason, self._now))

    def _summary(
        self, call: LiveCall, outcome: Outcome, reason: str, now: float
    ) -> cmd.CallCompleted:
        """The call's summary row, its wrap-up counted up to ``now``."""
        queue = call.queue
        ended_at = call.ended_at if call.ended_at is not None else now
        wait_end = call.answered_at if call.answered_at is not None else ended_at
        wait = wait_end - call.offered_at
        talk = (ended_at - call.answered_at) if call.answered_at is not None else 0.0
        wrap = (now - ended_at) if call.answered_at is not None else 0.0
        if call.purpose is None:
            # From the first arrival: an overflow does not restart the clock.
            within_sl = call.answered_at is not None and (
                call.answered_at - call.offered_at <= queue.cfg.service_level_s
            )
        else:
            within_sl = call.answered_at is not None and (
                call.answered_at - call.due_at <= self._config.callbacks.service_level_s
            )
        return cmd.CallCompleted(
            call_id=call.id,
            queue=queue.cfg.name,
            first_queue=call.first_queue,
            # The call's own priority (base + VIP), not what ageing made of it.
            priority=max(PRIORITY_MIN, min(PRIORITY_MAX, call.base_priority + call.vip_bonus)),
            caller_number=call.caller_number,
            caller_name=call.caller_name,
            linked_id=call.linked_id,
            offered_at=call.offered_at,
            presented_at=call.presented_at,
            answered_at=call.answered_at,
            ended_at=ended_at,
            agent_id=call.agent.cfg.id
            if call.agent is not None and call.answered_at is not None
            else None,
            agents_tried=call.tried,
            outcome=outcome,
            reason=reason,
            wait_s=wait,
            talk_s=talk,
            wrap_up_s=wrap,
            disposition=call.disposition,
            transferred_to=call.transferred_to,
            overflow_target=call.overflow_target,
            answered_within_sl=within_sl,
        )

    def _conversation_over(
        self, call: LiveCall, trigger: Trigger, transferred_to: str | None
    ) -> None:
        """CONNECTED -> COMPLETED; the advisor goes to wrap-up (the summary waits for its end)."""
        agent = call.agent
        assert agent is not None
        self._set_call_state(call, trigger)
        call.ended_at = self._now
        call.transferred_to = transferred_to
        call.queue.waiting.pop(call.id, None)
        if transferred_to is not None:
            self._record(call, "transferred", agent, target=transferred_to)
        self._record(call, "completed", agent, talk_s=self._now - (call.answered_at or self._now))
        if call.answered_at is not None:
            agent.load.add_busy(call.answered_at, self._now, talk=True)
            handle = self._now - call.answered_at + self._wrap_up_s(agent, call.queue)
            queue = call.queue
            queue.aht += AHT_SMOOTHING * (handle - queue.aht)
        self._set_activity(agent, Trigger.END_CALL)
        agent.wrap_started = self._now
        wrap = self._wrap_up_s(agent, call.queue)
        agent.wrap_min_end = self._now + (
            self._config.workload.min_wrap_up_s if self._config.workload.enabled else 0.0
        )
        self._refresh(agent)
        if wrap <= 0:
            self._end_wrap_up(agent)
        else:
            agent.timer = self._timer(TimerKind.WRAP_UP, agent, agent.cfg.id, self._now + wrap)

    def _end_wrap_up(
        self, agent: LiveAgent, then: Trigger | None = None, reason: str | None = None
    ) -> None:
        """Close wrap-up: count it as busy, emit the call's summary, then the next activity.

        ``then`` is ``None`` (become available, or breather if over the cap), ``Trigger.PAUSE`` or
        ``Trigger.RECOVER``.
        """
        call = agent.call
        self._cancel(agent.timer)
        agent.timer = None
        agent.load.add_busy(agent.wrap_started, self._now, talk=False)
        agent.call = None
        if call is not None:
            self._finish(call, *_answered(call))
        if then is None and agent.pending_pause is not None:
            then, reason = Trigger.PAUSE, agent.pending_pause
        agent.pending_pause = None
        if then is Trigger.PAUSE:
            self._set_activity(agent, Trigger.PAUSE, reason)
            self._refresh(agent)
        elif then is Trigger.RECOVER:
            self._start_recovery(agent)
        else:
            self._make_available(agent, Trigger.END_WRAP_UP)

    def _release(self, agent: LiveAgent) -> None:
        """A presentation failed: back to available, or to the pause asked for meanwhile."""
        if agent.pending_pause is not None:
            reason, agent.pending_pause = agent.pending_pause, None
            self._set_activity(agent, Trigger.PAUSE, reason)
        else:
            self._set_activity(agent, Trigger.RELEASE)
            if self._over_cap(agent):
                # Rung over the cap (a breather yielded to a long wait) and not answered: the
                # breather resumes rather than another call.
                self._breathe(agent)

    def _make_available(self, agent: LiveAgent, trigger: Trigger) -> None:
        """AVAILABLE (and take a call at once), or a breather while over the occupancy cap."""
        self._cancel(agent.timer)
        agent.timer = None
        if not self._over_cap(agent):
            self._set_activity(agent, trigger)
        elif self._draining:
            self._freed_over_cap.append((agent, trigger))  # a breather or a yield: after the pass
            return
        elif (call := self._yields_breather(agent)) is not None:
            # Straight to the long-waiting caller: never left available over the cap.
            self._set_activity(agent, trigger, "breather_yielded")
            self._present(call, agent)
        else:
            self._breathe(agent)
        self._refresh(agent)

    def _breathe(self, agent: LiveAgent) -> None:
        """Start a breather: the advisor is over the occupancy cap."""
        occupancy = agent.load.occupancy(self._now)
        self._set_activity(agent, Trigger.BREATHE, f"occupancy {occupancy:.0%}")
        agent.timer = self._timer(
            TimerKind.BREATHER, agent, agent.cfg.id, self._now + self._config.workload.breather_s
        )

    def _start_recovery(self, agent: LiveAgent) -> None:
        workload = self._config.workload
        agent.recovery_starts.append(self._now)
        self._set_activity(agent, Trigger.RECOVER, "recovery")
        agent.timer = self._timer(
            TimerKind.RECOVERY, agent, agent.cfg.id, self._now + workload.recovery_max_s
        )
        self._refresh(agent)

    def _check_recovery_allowed(self, agent: LiveAgent) -> None:
        workload = self._config.workload
        if not workload.enabled:
            return
        recent = [t for t in agent.recovery_starts if t > self._now - workload.window_s]
        agent.recovery_starts = recent
        if len(recent) >= workload.recovery_per_window:
            raise WorkloadLimitError(
                agent.cfg.id,
                "recovery_per_window",
                f"{len(recent)} recovery pauses already in the last {workload.window_s:g} s",
            )

    # ------------------------------------------------------------------ event handlers: advisors

    def _on_logged_in(self, e: ev.AgentLoggedIn) -> None:
        agent = self._agent(e.agent_id)
        trigger = Trigger.LOG_IN if e.paused_reason is None else Trigger.LOG_IN_PAUSED
        if (agent.presence, Trigger.LOG_IN) not in PRESENCE_TABLE:
            raise IllegalTransitionError(
                "agent", agent.cfg.id, "presence", agent.presence.value, "log_in"
            )
        self._check_activity(agent, trigger)
        old = agent.presence
        agent.presence = transition(
            PRESENCE_TABLE,
            old,
            Trigger.LOG_IN,
            entity="agent",
            entity_id=agent.cfg.id,
            dimension="presence",
        )
        self._out.append(
            cmd.RecordAgentState(agent.cfg.id, "presence", old.value, "logged_in", None, e.at)
        )
        agent.calls_since_login = 0
        agent.missed = 0
        self._set_activity(agent, trigger, e.paused_reason)
        if agent.activity is Activity.AVAILABLE and self._over_cap(agent):
            self._breathe(agent)  # back within the window of a heavy stint: rest first
        self._refresh(agent)

    def _on_logged_out(self, e: ev.AgentLoggedOut) -> None:
        agent = self._agent(e.agent_id)
        if (agent.presence, Trigger.LOG_OUT) not in PRESENCE_TABLE:
            raise IllegalTransitionError(
                "agent", agent.cfg.id, "presence", agent.presence.value, "log_out"
            )
        self._check_activity(agent, Trigger.LOG_OUT)
        self._log_out(agent)

    def _log_out(self, agent: LiveAgent) -> None:
        if agent.activity is Activity.WRAP_UP:
            call = agent.call
            agent.load.add_busy(agent.wrap_started, self._now, talk=False)
            agent.call = None
            if call is not None:
                self._finish(call, *_answered(call))
        self._cancel(agent.timer)
        agent.timer = None
        agent.pending_pause = None
        self._set_activity(agent, Trigger.LOG_OUT)
        old = agent.presence
        agent.presence = transition(
            PRESENCE_TABLE,
            old,
            Trigger.LOG_OUT,
            entity="agent",
            entity_id=agent.cfg.id,
            dimension="presence",
        )
        self._out.append(
            cmd.RecordAgentState(agent.cfg.id, "presence", old.value, "logged_out", None, self._now)
        )
        self._refresh(agent)

    def _on_paused(self, e: ev.AgentPaused) -> None:
        agent = self._agent(e.agent_id)
        if not isinstance(e.reason, str) or not e.reason:
            raise CoreError(f"advisor {agent.cfg.id!r}: a pause needs a non-empty reason")
        if agent.activity in (Activity.RESERVED, Activity.ON_CALL):
            agent.pending_pause = e.reason  # applies when wrap-up ends
            return
        self._check_activity(agent, Trigger.PAUSE)
        if agent.activity is Activity.WRAP_UP:
            self._end_wrap_up(agent, Trigger.PAUSE, e.reason)
            return
        self._cancel(agent.timer)
        agent.timer = None
        self._set_activity(agent, Trigger.PAUSE, e.reason)
        self._refresh(agent)

    def _on_ready(self, e: ev.AgentReady) -> None:
        agent = self._agent(e.agent_id)
        act = agent.activity
        if act is Activity.AVAILABLE:
            return  # already ready: documented no-op
        if act in (Activity.RESERVED, Activity.ON_CALL):
            agent.pending_pause = None  # "ready" cancels a pause asked for during the call
            return
        if act is Activity.WRAP_UP:
            self._on_wrap_up_ended(ev.WrapUpEnded(at=e.at, agent_id=e.agent_id))
            return
        self._check_activity(agent, Trigger.READY)
        if act is Activity.BREATHER and self._over_cap(agent):
            raise WorkloadLimitError(
                agent.cfg.id,
                "occupancy_cap",
                f"occupancy {agent.load.occupancy(self._now):.0%} is still over the cap "
                f"{self._config.workload.occupancy_cap:.0%}",
            )
        self._make_available(agent, Trigger.READY)

    def _on_recovery(self, e: ev.RecoveryPauseRequested) -> None:
        agent = self._agent(e.agent_id)
        self._check_activity(agent, Trigger.RECOVER)
        self._check_recovery_allowed(agent)
        if agent.activity is Activity.WRAP_UP:
            self._end_wrap_up(agent, Trigger.RECOVER)
            return
        self._cancel(agent.timer)
        agent.timer = None
        self._start_recovery(agent)

    def _on_wrap_up_ended(self, e: ev.WrapUpEnded) -> None:
        agent = self._agent(e.agent_id)
        self._check_activity(agent, Trigger.END_WRAP_UP)
        if self._now < agent.wrap_min_end:
            # Enforced wrap-up: the advisor's request shortens it to the workload minimum.
            self._cancel(agent.timer)
            agent.timer = self._timer(TimerKind.WRAP_UP, agent, agent.cfg.id, agent.wrap_min_end)
            return
        self._end_wrap_up(agent)

    def _on_disposition(self, e: ev.DispositionSet) -> None:
        agent = self._agent(e.agent_id)
        call = agent.call
        if (
            call is None
            or call.id != e.call_id
            or agent.activity
            not in (
                Activity.ON_CALL,
                Activity.WRAP_UP,
            )
        ):
            if e.call_id not in self._calls and e.call_id not in self._finished:
                raise UnknownCallError(e.call_id)
            raise IllegalTransitionError(
                "agent",
                agent.cfg.id,
                "activity",
                agent.activity.value,
                "set_disposition",
                related_id=e.call_id,
                detail="only the advisor's current or wrapping-up call takes a disposition",
            )
        call.disposition = e.disposition
        self._record(call, "disposition", agent, disposition=e.disposition)

    def _on_phone(self, e: ev.PhoneStateChanged) -> None:
        agent = self._agent(e.agent_id)
        if not isinstance(e.phone, PhoneState):
            raise CoreError(f"advisor {agent.cfg.id!r}: not a phone state: {e.phone!r}")
        agent.reported_phone = e.phone
        if agent.phone_timer is not None:
            # Marked unreachable by a ring. A device state alone does not prove the phone
            # reachable (a CONGESTION ring leaves the device idle; S11d: a phone without contact
            # fails at once with no device event): kept for when the back-off ends. Only the PBX
            # seeing the device go (UNAVAILABLE) and come back (a registration) lifts it earlier.
            if e.phone is PhoneState.UNREACHABLE:
                self._cancel(agent.phone_timer)
                agent.phone_timer = None  # the PBX confirms, and will report the return
            return
        if agent.phone is e.phone:
            return  # repeated device state: documented no-op
        self._set_phone(agent, e.phone, None)
        self._refresh(agent)

    def _set_phone(self, agent: LiveAgent, phone: PhoneState, reason: str | None) -> None:
        old = agent.phone
        agent.phone = transition(
            PHONE_TABLE,
            old,
            PHONE_TRIGGER[phone],
            entity="agent",
            entity_id=agent.cfg.id,
            dimension="phone",
        )
        self._out.append(
            cmd.RecordAgentState(agent.cfg.id, "phone", old.value, phone.value, reason, self._now)
        )

    def _phone_unreached(self, agent: LiveAgent, status: ev.DialStatus) -> None:
        """A ring could not reach the advisor's phone: unreachable until the PBX reports it back
        or the back-off ends, so nobody rings it again meanwhile (no miss counted)."""
        agent.unreached += 1
        if agent.phone is PhoneState.UNREACHABLE:
            return  # the PBX said so already (during the ring): it will report the return
        backoff = UNREACHABLE_RETRY_S * 2 ** min(agent.unreached - 1, 16)
        self._set_phone(agent, PhoneState.UNREACHABLE, f"dial_{status.value.lower()}")
        self._cancel(agent.phone_timer)
        agent.phone_timer = self._timer(
            TimerKind.PHONE,
            agent,
            agent.cfg.id,
            self._now + min(backoff, UNREACHABLE_RETRY_MAX_S),
        )

    def _phone_retry(self, agent: LiveAgent) -> None:
        """The back-off of a phone a ring could not reach is over: it takes the state the PBX
        last reported for it (idle, unless it said otherwise meanwhile) and may be rung again."""
        agent.phone_timer = None
        if self._agents.get(agent.cfg.id) is not agent:
            return  # removed by a reload
        if agent.phone is not agent.reported_phone:
            self._set_phone(agent, agent.reported_phone, "retry")
        self._refresh(agent)

    # ------------------------------------------------------------------ event handlers: calls

    def _on_call_arrived(self, e: ev.CallArrived) -> None:
        # A caller's language may choose the queue (its advisors speak it): before anything else.
        name = self._config.customers.queue_for(e.queue, e.data)
        queue = self._queues.get(name)
        if queue is None:
            raise UnknownQueueError(name, e.call_id)
        if not isinstance(e.call_id, str) or not e.call_id:
            raise CoreError("CallArrived.call_id must be a non-empty string")
        live = self._calls.get(e.call_id)
        known = (live.first_queue, live.offered_at) if live else self._finished.get(e.call_id)
        if known is not None:
            if known == (name, e.at):
                return  # the same arrival delivered twice: documented no-op
            raise IllegalTransitionError(
                "call",
                e.call_id,
                "call",
                live.state if live is not None else "finished",
                "arrive",
                related_id=None,
                detail="call id in use",
            )
        base = queue.cfg.priority if e.priority is None else e.priority
        if isinstance(base, bool) or not isinstance(base, int):
            raise CoreError(f"call {e.call_id!r}: priority must be an integer, got {base!r}")
        # A VIP's priority is the call's own plus their level's bonus, within the bounds (and
        # ageing adds to it while the caller waits: _set_age).
        vip_bonus = self._config.customers.vip_bonus(e.data)
        priority = max(PRIORITY_MIN, min(PRIORITY_MAX, base + vip_bonus))
        self._seq += 1
        call = LiveCall(
            id=e.call_id,
            queue=queue,
            first_queue=queue.cfg.name,
            priority=priority,
            base_priority=base,
            vip_bonus=vip_bonus,
            data=e.data,
            seq=self._seq,
            fifo_at=e.at,
            offered_at=e.at,
            caller_number=e.caller_number,
            caller_name=e.caller_name,
            linked_id=e.linked_id,
            queue_entered_at=e.at,
        )
        call.key = (-priority, e.at, self._seq)
        self._calls[call.id] = call
        self._by_seq[call.seq] = call
        self._enter_queue(call, queue)

    def _on_caller_identified(self, e: ev.CallerIdentified) -> None:
        call = self._live_call(e.call_id)
        if call is None or call.state is not CallState.WAITING:
            return  # a ringing advisor is never re-rung; a connected call has no priority left
        routing = self._config.customers
        named_before = routing.preferred_agent(call.data)
        # The answer wins for the fields it returns; the others (a directory's VIP level) stay.
        call.data = {**call.data, **e.data}
        bonus = routing.vip_bonus(call.data)
        if bonus != call.vip_bonus:
            lined_up = call.in_step is not None
            if lined_up:
                unline(call)
            call.vip_bonus = bonus
            self._set_age(call)  # base + the new bonus + the ageing levels earned
            if lined_up:
                line_up(call, self._by_seq)
            self._record(call, "identified", None, priority=call.priority)
        named = routing.preferred_agent(call.data)
        if named is None or named == named_before or call.purpose is not None:
            return
        if call.held_for is None and call.in_step is not None:
            # The CRM names the preferred (or last) advisor after arrival: offered now, or held
            # for them at most the queue's hold from now, as at arrival.
            unline(call)
            if not self._offer_to_preferred(call):
                line_up(call, self._by_seq)

    # ------------------------------------------------------------------ reservations, callbacks

    def _reservation_call(
        self,
        call_id: object,
        queue_name: str,
        priority: object,
        arrived_at: object,
        purpose: str,
    ) -> tuple[LiveQueue, int, float]:
        """Validate a new reservation's fields; its queue, priority and place in line."""
        queue = self._queues.get(queue_name)
        if queue is None:
            raise UnknownQueueError(queue_name, str(call_id))
        if not isinstance(call_id, str) or not call_id:
            raise CoreError(f"{purpose}: call_id must be a non-empty string")
        if call_id in self._calls or call_id in self._finished:
            raise IllegalTransitionError(
                "call", call_id, "call", "known", "reserve", detail="call id in use"
            )
        prio = queue.cfg.priority if priority is None else priority
        if isinstance(prio, bool) or not isinstance(prio, int):
            raise CoreError(f"call {call_id!r}: priority must be an integer, got {prio!r}")
        place = self._now if arrived_at is None else arrived_at
        if not (isinstance(place, _NUMBER) and math.isfinite(place)):
            raise CoreError(f"call {call_id!r}: arrived_at must be a finite number")
        return queue, max(PRIORITY_MIN, min(PRIORITY_MAX, prio)), float(place)

    def _new_reservation(
        self,
        call_id: str,
        *,
        queue: LiveQueue,
        priority: int,
        place: float,
        purpose: str,
        number: str,
        name: str,
        data: Any,
        seq: int | None = None,
    ) -> LiveCall:
        if seq is None:
            self._seq += 1
            seq = self._seq
        call = LiveCall(
            id=call_id,
            queue=queue,
            first_queue=queue.cfg.name,
            priority=priority,
            base_priority=priority,
            seq=seq,
            fifo_at=place,
            offered_at=place,
            caller_number=number,
            caller_name=name,
            linked_id="",
            queue_entered_at=self._now,
            data=data,
            purpose=purpose,
            requested_at=self._now,
            due_at=self._now,
        )
        call.key = (-priority, place, seq)
        self._set_age(call)  # a reservation ages from the place it keeps, like its caller did
        call.step_entered_at = self._now
        self._calls[call_id] = call
        self._by_seq[seq] = call
        queue.waiting[call_id] = call
        return call

    def _on_reservation_requested(self, e: ev.ReservationRequested) -> None:
        if not isinstance(e.reason, str) or not e.reason or e.reason == CALLBACK:
            raise CoreError("ReservationRequested.reason must name the leg (callbacks have theirs)")
        queue, priority, place = self._reservation_call(
            e.call_id, e.queue, e.priority, e.arrived_at, e.reason
        )
        named = self._named_advisor(e.agent_id, queue, e.call_id)
        call = self._new_reservation(
            e.call_id,
            queue=queue,
            priority=priority,
            place=place,
            purpose=e.reason,
            number=e.caller_number,
            name=e.caller_name,
            data=e.data,
        )
        self._record(call, "reservation_requested", None, reason=e.reason, priority=priority)
        if named is not None:
            self._present(call, named)  # routable and eligible: checked before anything changed
            return
        self._arm_call_timers(call)
        self._route(call)

    def _named_advisor(self, agent_id: object, queue: LiveQueue, call_id: str) -> LiveAgent | None:
        """The advisor a reservation names (a preview's click to call), if it names one: they
        must be routable now and fit the queue's first step, else nothing changes."""
        if agent_id is None:
            return None
        if not isinstance(agent_id, str):
            raise CoreError("ReservationRequested.agent_id must be an advisor id")
        agent = self._agent(agent_id)
        if not agent.routable or queue.steps[0] not in agent.steps:
            raise IllegalTransitionError(
                "agent",
                agent_id,
                "activity",
                agent.activity.value,
                "reserve",
                related_id=call_id,
                detail="not routable" if not agent.routable else "not eligible for the queue",
            )
        return agent

    def _on_reservation_released(self, e: ev.ReservationReleased) -> None:
        call = self._live_call(e.call_id)
        if call is None:
            return  # already over: a late duplicate
        if call.purpose is None:
            raise IllegalTransitionError(
                "call", call.id, "call", call.state.value, "release_leg", detail="not a reservation"
            )
        if call.state is CallState.CONNECTED:
            raise IllegalTransitionError(
                "call",
                call.id,
                "call",
                call.state.value,
                "release_leg",
                related_id=agent_id_of(call),
                detail="connected: the conversation ends with CallEnded",
            )
        reason = e.reason if isinstance(e.reason, str) and e.reason else "released"
        self._release_reservation(call, reason)

    def _release_reservation(self, call: LiveCall, reason: str) -> None:
        """The reservation's leg ended before connecting: free the advisor at once; a callback
        is retried per policy, anything else ends."""
        agent = call.agent
        if agent is not None:
            call.agent = None
            agent.call = None
            self._record(call, "released", agent, reason=reason)
            self._release(agent)
        if call.purpose == CALLBACK and call.state is CallState.PRESENTED:
            self._attempt_failed(call, reason)
        elif call.purpose == CALLBACK:
            self._end_callback(call, Trigger.CANCEL, Outcome.CANCELLED, reason)
        else:
            unline(call)
            self._cancel_call_timers(call)
            self._set_call_state(call, Trigger.RELEASE_LEG)
            self._finish(call, Outcome.RELEASED, reason)
        if agent is not None:
            self._refresh(agent)

    def _attempt_failed(self, call: LiveCall, reason: str) -> None:
        """One attempt did not reach the customer: retry after the spacing, or give up."""
        policy = self._config.callbacks
        retry_at = self._now + policy.retry_spacing_s
        self._record(call, "attempt_failed", None, reason=reason, attempt=call.attempts)
        if call.attempts >= policy.max_attempts or (
            call.give_up_at is not None and retry_at > call.give_up_at
        ):
            self._end_callback(call, Trigger.GIVE_UP, Outcome.FAILED, reason)
            return
        self._cancel_call_timers(call)
        self._set_call_state(call, Trigger.NOT_REACHED)
        call.due_at = retry_at
        call.due_timer = self._timer(TimerKind.DUE, call, call.id, retry_at)
        self._record_callback(call, "pending", reason)

    def _end_callback(
        self, call: LiveCall, trigger: Trigger, outcome: Outcome, reason: str
    ) -> None:
        """A callback leaves the book: failed (gave up) or cancelled."""
        unline(call)
        self._cancel_call_timers(call)
        self._set_call_state(call, trigger)
        if outcome is Outcome.FAILED:
            call.queue.callbacks_failed += 1
        self._record(call, outcome.value, None, reason=reason, attempts=call.attempts)
        self._record_callback(call, outcome.value, reason)
        self._finish(call, outcome, reason)

    def _record_callback(self, call: LiveCall, state: str, reason: str = "") -> None:
        self._out.append(
            cmd.RecordCallback(
                callback_id=call.id,
                queue=call.queue.cfg.name,
                state=state,
                priority=call.priority,
                number=call.caller_number,
                name=call.caller_name,
                requested_at=call.requested_at,
                arrived_at=call.fifo_at,
                due_at=call.due_at,
                give_up_at=call.give_up_at,
                attempts=call.attempts,
                from_call_id=call.from_call_id,
                agent_id=agent_id_of(call),
                reason=reason,
                at=self._now,
                data=call.data,
            )
        )

    def _on_callback_requested(self, e: ev.CallbackRequested) -> None:
        if not isinstance(e.number, str) or not e.number:
            raise CoreError(f"callback {e.call_id!r}: a number to call is required")
        attempts = e.attempts
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 0:
            raise CoreError(f"callback {e.call_id!r}: attempts must be an integer >= 0")
        for name in ("due_at", "requested_at"):
            value = getattr(e, name)
            if value is not None and not (isinstance(value, _NUMBER) and math.isfinite(value)):
                raise CoreError(f"callback {e.call_id!r}: {name} must be a finite number")
        origin: LiveCall | None = None
        if e.from_call_id is not None:
            origin = self._calls.get(e.from_call_id)
            if origin is None:
                raise UnknownCallError(e.from_call_id)
            if origin.purpose is not None or origin.queue.cfg.name != e.queue:
                raise CoreError(
                    f"callback {e.call_id!r}: {e.from_call_id!r} is not a caller of {e.queue!r}"
                )
            self._check_call(origin, Trigger.CALLBACK)
            if origin.held_for is not None:
                raise IllegalTransitionError(
                    "call", origin.id, "call", "held", "callback", detail="held for an advisor"
                )
            priority: object = origin.priority if e.priority is None else e.priority
            arrived_at: object = origin.fifo_at
        else:
            priority = e.priority
            arrived_at = e.arrived_at if e.arrived_at is not None else e.due_at
        queue, prio, place = self._reservation_call(
            e.call_id, e.queue, priority, arrived_at, CALLBACK
        )
        policy = self._config.callbacks
        seq: int | None = None
        due_at: float | None = e.due_at
        closed = False
        if origin is not None:
            closed = origin.state is CallState.CLOSED_OFFER
            if closed and e.due_at is None:
                # Rang while closed: due when the queue opens again (now, if it already has).
                hours = queue.hours
                if not hours.open and hours.next_open and hours.next_change is not None:
                    due_at = max(e.at, hours.next_change)
            # The caller leaves: offered, neither answered nor abandoned (or, closed, never
            # offered: counted with the callers who rang while closed).
            unline(origin)
            self._cancel_call_timers(origin)
            self._set_call_state(origin, Trigger.CALLBACK)
            if origin.prompting:
                origin.prompting = False
                self._out.append(cmd.StopPrompt(origin.id))
            self._record(origin, "callback_requested", None, callback_id=e.call_id)
            # The leg confirms to the caller, says goodbye and hangs up.
            self._out.append(cmd.EndCall(origin.id, "callback_requested"))
            self._finish(
                origin,
                Outcome.CLOSED if closed else Outcome.CALLBACK_REQUESTED,
                "callback_requested",
            )
            seq = origin.seq  # the very same place in the service order
        call = self._new_reservation(
            e.call_id,
            queue=queue,
            priority=prio,
            place=place,
            purpose=CALLBACK,
            number=e.number,
            name=e.name,
            data=e.data,
            seq=seq,
        )
        call.requested_at = e.at if e.requested_at is None else float(e.requested_at)
        call.due_at = max(e.at, place) if due_at is None else float(due_at)
        call.attempts = attempts
        call.from_call_id = e.from_call_id
        if origin is not None:
            call.offered_at = origin.offered_at
            call.linked_id = origin.linked_id
            call.step = origin.step
            call.step_entered_at = origin.step_entered_at
            call.queue_entered_at = origin.queue_entered_at
        if origin is None or closed:
            # Routing steps count from when it may first be attempted.
            call.step_entered_at = call.queue_entered_at = max(self._now, call.due_at)
        if policy.give_up_after_s is not None:
            # From when it may first be attempted: a callback booked for tomorrow morning (or
            # asked for while closed) is not given up overnight. One rebuilt after a failed
            # attempt is due at its retry: its first due time is not stored, so the last
            # attempt's (the retry less the spacing) stands for it; max_attempts still bounds it.
            first_due = call.due_at if attempts == 0 else call.due_at - policy.retry_spacing_s
            call.give_up_at = max(call.requested_at, first_due) + policy.give_up_after_s
            call.give_up_timer = self._timer(
                TimerKind.GIVE_UP, call, call.id, max(self._now, call.give_up_at)
            )
        if e.requested_at is None:  # a new request (not one rebuilt after a restart)
            queue.callbacks_requested += 1
            self._callbacks_by_number[e.number] = self._callbacks_by_number.get(e.number, 0) + 1
        self._record(
            call,
            "callback_requested",
            None,
            from_call_id=e.from_call_id,
            priority=prio,
            due_at=call.due_at,
            attempts=attempts,
        )
        if call.due_at > self._now:
            call.state = CallState.SCHEDULED
            call.due_timer = self._timer(TimerKind.DUE, call, call.id, call.due_at)
            self._record_callback(call, "pending")
            return
        self._record_callback(call, "pending")
        self._into_line(call)

    def _into_line(self, call: LiveCall) -> None:
        """A callback takes its place in line (relaxation from where its caller left off)."""
        cfg = call.queue.cfg
        if call.step >= len(cfg.steps):
            call.step = len(cfg.steps) - 1
        expiry = cfg.steps[call.step].expires_after_s
        if expiry is not None:
            call.relax_timer = self._timer(
                TimerKind.RELAX, call, call.id, max(self._now, call.step_entered_at + expiry)
            )
        self._route(call)

    def _callback_due(self, call: LiveCall) -> None:
        call.due_timer = None
        if call.state is CallState.SCHEDULED:
            self._set_call_state(call, Trigger.DUE)
            self._into_line(call)

    def _callback_gives_up(self, call: LiveCall) -> None:
        """The give-up time came: a callback not being attempted right now ends ``failed``
        (an attempt under way decides when it ends)."""
        call.give_up_timer = None
        if call.state is CallState.SCHEDULED or call.state is CallState.WAITING:
            self._end_callback(call, Trigger.GIVE_UP, Outcome.FAILED, "gave_up")

    def _callback(self, call_id: str) -> LiveCall | None:
        call = self._live_call(call_id)
        if call is not None and call.purpose != CALLBACK:
            raise IllegalTransitionError(
                "call", call.id, "call", call.state.value, "callback", detail="not a callback"
            )
        return call

    def _on_callback_cancelled(self, e: ev.CallbackCancelled) -> None:
        call = self._callback(e.call_id)
        if call is None:
            return
        self._check_call(call, Trigger.CANCEL)
        reason = e.reason if isinstance(e.reason, str) and e.reason else "cancelled"
        agent = call.agent
        if agent is not None:
            call.agent = None
            agent.call = None
            self._record(call, "released", agent, reason=reason)
            self._release(agent)
        self._end_callback(call, Trigger.CANCEL, Outcome.CANCELLED, reason)
        if agent is not None:
            self._refresh(agent)

    def _on_callback_reprioritised(self, e: ev.CallbackReprioritised) -> None:
        call = self._callback(e.call_id)
        if call is None:
            return
        if isinstance(e.priority, bool) or not isinstance(e.priority, int):
            raise CoreError(f"callback {call.id!r}: priority must be an integer")
        if call.state not in (CallState.WAITING, CallState.SCHEDULED):
            raise IllegalTransitionError(
                "call",
                call.id,
                "call",
                call.state.value,
                "reprioritise",
                detail="only a pending callback changes priority",
            )
        priority = max(PRIORITY_MIN, min(PRIORITY_MAX, e.priority))
        lined_up = call.in_step is not None
        if lined_up:
            unline(call)
        call.priority = priority
        # Set as asked; ageing carries on from there.
        call.base_priority = priority - call.vip_bonus - call.aged
        call.key = (-priority, call.fifo_at, call.seq)
        self._record(call, "reprioritised", None, priority=priority)
        self._record_callback(call, "pending")
        if lined_up:
            self._route(call)

    # ------------------------------------------------------------------ supervisors' live control

    def _waiting_inbound(self, call_id: str, trigger: str) -> LiveCall:
        call = self._live_call(call_id)
        if call is None:
            raise UnknownCallError(call_id)
        if call.state is not CallState.WAITING or call.purpose is not None:
            raise IllegalTransitionError(
                "call",
                call.id,
                "call",
                call.state.value,
                trigger,
                detail="only a caller waiting in a queue",
            )
        return call

    def _on_call_moved(self, e: ev.CallMoved) -> None:
        call = self._waiting_inbound(e.call_id, "move")
        target = self._queues.get(e.queue)
        if target is None:
            raise UnknownQueueError(e.queue)
        if target is call.queue:
            return
        # As an overflow to a queue does: out of this line, into the other's, arrival kept.
        self._release_hold(call)
        unline(call)
        self._cancel_call_timers(call)
        del call.queue.waiting[call.id]
        self._set_call_state(call, Trigger.REQUEUE)
        self._record(call, "moved", None, target=e.queue, actor=e.actor)
        if call.prompting:
            call.prompting = False
            self._out.append(cmd.StopPrompt(call.id))
        self._enter_queue(call, target)

    def _on_call_priority_set(self, e: ev.CallPrioritySet) -> None:
        call = self._waiting_inbound(e.call_id, "reprioritise")
        if isinstance(e.priority, bool) or not isinstance(e.priority, int):
            raise CoreError(f"call {call.id!r}: priority must be an integer")
        priority = max(PRIORITY_MIN, min(PRIORITY_MAX, e.priority))
        lined_up = call.in_step is not None
        if lined_up:
            unline(call)
        call.priority = priority
        # Set as asked; ageing carries on from there.
        call.base_priority = priority - call.vip_bonus - call.aged
        call.key = (-priority, call.fifo_at, call.seq)
        self._record(call, "reprioritised", None, priority=priority, actor=e.actor)
        if lined_up:
            line_up(call, self._by_seq)
            self._route(call)

    def _on_call_end_requested(self, e: ev.CallEndRequested) -> None:
        call = self._live_call(e.call_id)
        if call is None:
            raise UnknownCallError(e.call_id)
        reason = e.reason or "ended_by_supervisor"
        if call.state is CallState.CONNECTED:
            self._record(call, "end_requested", call.agent, actor=e.actor, reason=reason)
            self._conversation_over(call, Trigger.END, None)
            return
        if call.state is not CallState.WAITING or call.purpose is not None:
            raise IllegalTransitionError(
                "call",
                call.id,
                "call",
                call.state.value,
                "end",
                detail="a ringing call ends with its ring; end it once answered or back in line",
            )
        self._release_hold(call)
        unline(call)
        self._cancel_call_timers(call)
        del call.queue.waiting[call.id]
        if call.prompting:
            call.prompting = False
            self._out.append(cmd.StopPrompt(call.id))
        self._set_call_state(call, Trigger.END)
        self._record(call, "ended", None, reason=reason, actor=e.actor)
        self._out.append(cmd.EndCall(call.id, reason))
        # "Left the queue without any target": the closest outcome, its reason says who.
        self._finish(call, Outcome.TIMED_OUT, reason)

    def callbacks_today(self, number: str) -> int:
        """Callback requests accepted today for ``number`` (the per-number daily limit)."""
        return self._callbacks_by_number.get(number, 0)

    def callbacks(self, at: float | None = None) -> tuple[CallbackView, ...]:
        """The callbacks in the book (pending, being attempted or connected), oldest first."""
        t = self._now if at is None else at
        found = [
            c
            for c in self._calls.values()
            if c.purpose == CALLBACK and c.state not in TERMINAL_CALL_STATES
        ]
        found.sort(key=lambda c: c.key)
        return tuple(views.callback_view(c, t) for c in found)

    def _live_call(self, call_id: str) -> LiveCall | None:
        """The live call, None when it already finished (duplicates are no-ops), else unknown."""
        call = self._calls.get(call_id)
        if call is not None:
            return None if call.state in TERMINAL_CALL_STATES else call
        if call_id in self._finished:
            return None
        raise UnknownCallError(call_id)

    def _on_key_pressed(self, e: ev.CallerKeyPressed) -> None:
        """A key matters only to a callback offered to this waiting caller: its key accepts it.

        A withheld, invalid, premium-rate or foreign caller ID is refused at once (they hear
        why and keep waiting); any other is read back to the caller to confirm, or to replace
        with one they type (``PlayPrompt`` ``callback_confirm``, answered by
        ``CallbackNumberConfirmed``).
        """
        call = self._offered_call(e.call_id)
        if call is None or e.digit != call.queue.cfg.callback_key:
            return
        policy = self._config.callbacks
        verdict, full = check_number(call.caller_number, policy)
        if verdict is not NumberVerdict.ACCEPTED or full is None:
            self._refuse_callback(call, verdict.value)
            return
        digits = dial_form(full, policy)
        call.prompting = True
        self._record(call, "callback_number_read_back", None, number=full)
        self._out.append(cmd.PlayPrompt(call.id, "callback_confirm", 0, 0, digits=digits))

    def _offered_call(self, call_id: str) -> LiveCall | None:
        """The waiting caller offered a callback who has not chosen it yet, else None."""
        call = self._calls.get(call_id)
        if (
            call is None
            or (call.state is not CallState.WAITING and call.state is not CallState.CLOSED_OFFER)
            or call.purpose is not None
            or not call.callback_offered
            or call.callback_chosen
        ):
            return None
        return call

    def _on_callback_number_confirmed(self, e: ev.CallbackNumberConfirmed) -> None:
        """The caller confirmed the number: the number rules and the daily limit apply (else
        they hear why and keep waiting); then ``CallbackChosen`` asks the runtime to check it
        against the do-not-call list."""
        call = self._offered_call(e.call_id)
        if call is None:
            return
        policy = self._config.callbacks
        verdict, full = check_number(e.number, policy)
        if verdict is not NumberVerdict.ACCEPTED or full is None:
            self._refuse_callback(call, verdict.value)
            return
        if self._callbacks_by_number.get(full, 0) >= policy.daily_limit_per_number:
            self._refuse_callback(call, "limit")
            return
        call.callback_chosen = True
        callback_id = f"{call.id}-cb"
        self._record(call, "callback_chosen", None, callback_id=callback_id, typed=e.typed)
        self._out.append(
            cmd.CallbackChosen(call.id, callback_id, call.queue.cfg.name, full, call.caller_name)
        )

    def _refuse_callback(self, call: LiveCall, reason: str) -> None:
        """The caller hears why their callback cannot be taken; they keep their place."""
        self._record(call, "callback_refused", None, reason=reason)
        call.prompting = True
        self._out.append(cmd.PlayPrompt(call.id, f"callback_refused_{reason}", 0, 0))

    def _on_callback_refused(self, e: ev.CallbackRefused) -> None:
        call = self._live_call(e.call_id)
        if (
            call is None
            or (call.state is not CallState.WAITING and call.state is not CallState.CLOSED_OFFER)
            or not call.callback_chosen
        ):
            return
        call.callback_chosen = False
        reason = e.reason if isinstance(e.reason, str) and e.reason.isidentifier() else "refused"
        self._refuse_callback(call, reason)

    def _long_wait(self, call: LiveCall) -> bool:
        """The queue offers a callback once the expected wait exceeds its threshold."""
        threshold = call.queue.cfg.callback_offer_wait_s
        if threshold is None or call.callback_offered or call.purpose is not None:
            return False
        wait = views.expected_wait(call.queue, views.position(call), call.step)
        return wait is None or wait > threshold  # None: nobody staffed can serve them

    def _offer_due(self, call: LiveCall) -> None:
        call.offer_timer = None
        if call.state is CallState.WAITING and not call.callback_offered:
            self._offer_callback(call)

    def _offer_callback(self, call: LiveCall) -> None:
        """Offer the waiting caller a callback that keeps their place (a prompt naming the key;
        the key is also taken during music)."""
        call.callback_offered = True
        self._cancel(call.offer_timer)
        call.offer_timer = None
        position = views.position(call)
        expected = views.expected_wait(call.queue, position, call.step)
        wait = 0 if expected is None else math.ceil(expected)  # 0: the prompt names no wait
        call.prompting = True
        self._record(call, "callback_offered", None, position=position, expected_wait_s=wait)
        self._out.append(cmd.PlayPrompt(call.id, "callback_offer", position, wait))

    def _on_prompt_ended(self, e: ev.PromptEnded) -> None:
        call = self._live_call(e.call_id)
        if call is None:
            return
        call.prompting = False
        if call.state is CallState.CLOSED_OFFER and not call.callback_chosen:
            # The offer (or a refusal) was heard: a few seconds for the key, then goodbye.
            self._cancel(call.offer_timer)
            self._closed_offer_key_wait(call)

    def _on_answered(self, e: ev.AgentAnswered) -> None:
        agent = self._agent(e.agent_id)
        call = self._live_call(e.call_id)
        if call is None:
            return  # the call already finished: a late duplicate
        if call.state is CallState.CONNECTED and call.agent is agent:
            return  # DialEnd and BridgeEnter both say "answered": documented no-op
        if call.state is not CallState.PRESENTED or call.agent is not agent:
            raise IllegalTransitionError(
                "call",
                call.id,
                "call",
                call.state.value,
                "answer",
                related_id=e.agent_id,
                detail="not presented to this advisor",
            )
        self._check_activity(agent, Trigger.ANSWER)
        self._set_call_state(call, Trigger.ANSWER)
        call.answered_at = e.at
        self._cancel_call_timers(call)
        queue = call.queue
        if call.purpose is None:
            queue.answered += 1
            self._centre.answered += 1
            add_wait(queue.answered_waits, e.at - call.offered_at)
            add_wait(self._centre.answered_waits, e.at - call.offered_at)
            # The wait counts from the first arrival (an overflow does not restart the clock),
            # judged against the target of the queue that answers.
            if e.at - call.offered_at <= queue.cfg.service_level_s:
                queue.answered_within_sl += 1
                self._centre.answered_within_sl += 1
        else:
            self._cancel(call.give_up_timer)
            call.give_up_timer = None
            if call.purpose == CALLBACK:
                queue.callbacks_completed += 1
                if e.at - call.due_at <= self._config.callbacks.service_level_s:
                    queue.callbacks_within_sl += 1
        agent.missed = 0
        agent.unreached = 0
        agent.calls_since_login += 1
        agent.load.add_call(e.at)
        self._set_activity(agent, Trigger.ANSWER)
        self._record(call, "answered", agent, wait_s=e.at - call.offered_at)
        if call.purpose == CALLBACK:
            self._record_callback(call, "connected")
        self._refresh(agent)

    def _on_not_answered(self, e: ev.AgentDidNotAnswer) -> None:
        agent = self._agent(e.agent_id)
        call = self._live_call(e.call_id)
        if call is None:
            return
        if call.state is not CallState.PRESENTED or call.agent is not agent:
            if e.agent_id in call.tried:
                return  # a late or repeated answer to an earlier presentation
            raise IllegalTransitionError(
                "call",
                call.id,
                "call",
                call.state.value,
                "not_answered",
                related_id=e.agent_id,
                detail="not presented to this advisor",
            )
        try:
            status = ev.DialStatus(e.dial_status)
        except ValueError:
            raise CoreError(
                f"call {call.id!r}: not a dial status: {e.dial_status!r} "
                f"(expected one of {[d.value for d in ev.DialStatus]})"
            ) from None
        self._set_call_state(call, Trigger.NOT_ANSWERED)
        call.agent = None
        agent.call = None
        # A miss (the count behind max_missed) is only a ring-out, busy or a decline: the phone
        # was reached. A phone that was not is marked unreachable below, and no miss is counted.
        unreached = status in _UNREACHED
        if unreached:
            self._record(
                call,
                "not_answered",
                agent,
                dial_status=str(status),
                missed=agent.missed,
                phone=PhoneState.UNREACHABLE.value,
            )
        else:
            agent.missed += 1
            agent.unreached = 0
            self._record(call, "not_answered", agent, dial_status=str(status), missed=agent.missed)
        queue = call.queue
        paused = not unreached and agent.missed >= agent.cfg.max_missed
        if paused:
            agent.pending_pause = None
            self._set_activity(agent, Trigger.MISS_LIMIT, NO_ANSWER_REASON)
        # The call first goes to the next eligible advisor: the advisor who missed it is still
        # reserved (not routable) while it is routed, and is released only afterwards, so they
        # are rung again for it only if nobody else can take it (with best_skill, releasing first
        # bounced the call between the two best advisors while a third sat idle).
        if call.max_wait_reached:
            # Past max wait: another advisor free now takes the caller, else the overflow.
            other = best_agent_for(call, self._agent_list, self._now)
            if other is not None:
                self._record(call, "requeued", None, step=call.step)
                if not unreached:
                    self._start_cooldown(call, agent)
                self._present(call, other)
            else:
                self._leave(call, "max_wait")
        elif call.purpose is None and self._is_empty(queue, join=False, step=call.step):
            self._leave(call, "leave_empty")
        else:
            self._record(call, "requeued", None, step=call.step)
            if not unreached:
                # An unreachable phone needs no cooldown: nobody rings it until it is back.
                self._start_cooldown(call, agent)
            self._route(call)
        if not paused:
            self._release(agent)
        if unreached:
            self._phone_unreached(agent, status)
        self._refresh(agent)

    def _start_cooldown(self, call: LiveCall, agent: LiveAgent) -> None:
        """The advisor who let the call ring out is not offered it again for ``retry_s``."""
        retry = call.queue.cfg.retry_s
        if retry <= 0:
            return
        if call.cooling is None:
            call.cooling = {}
            call.retry_timers = []
        assert call.retry_timers is not None
        until = self._now + retry
        call.cooling[agent.index] = until
        timer = self._timer(TimerKind.RETRY, (call, agent), f"{call.id}:{agent.cfg.id}", until)
        call.retry_timers.append(timer)

    def _cooldown_over(self, ref: tuple[LiveCall, LiveAgent]) -> None:
        """Offer the caller to that advisor again if the advisor is free and still eligible
        (nobody else eligible is free: they would have taken the caller already)."""
        call, agent = ref
        if call.cooling is not None:
            call.cooling.pop(agent.index, None)
        if call.state is CallState.WAITING:
            self._lined.append(call)  # matched in the routing pass that ends the drain

    def _on_caller_hung_up(self, e: ev.CallerHungUp) -> None:
        call = self._live_call(e.call_id)
        if call is None:
            return  # already over (e.g. CallEnded came first): documented no-op
        if call.state is CallState.CONNECTED:
            self._conversation_over(call, Trigger.HANG_UP, None)
            return
        if call.purpose is not None:
            # The reservation's leg hung up before connecting: a release, not an abandon.
            self._release_reservation(call, "hung_up")
            return
        if call.state is CallState.CLOSED_OFFER:
            # Rang while closed and left during the offer: closed (never offered), not abandoned.
            self._set_call_state(call, Trigger.HANG_UP)
            self._cancel_call_timers(call)
            call.prompting = False
            self._record(call, "ended", None, reason="caller_hung_up")
            self._finish(call, Outcome.CLOSED, "closed")
            return
        self._check_call(call, Trigger.HANG_UP)
        agent = call.agent
        self._set_call_state(call, Trigger.HANG_UP)
        unline(call)
        self._cancel_call_timers(call)
        call.prompting = False
        self._record(call, "abandoned", agent, waited_s=e.at - call.offered_at)
        self._finish(call, Outcome.ABANDONED, "caller_hung_up")
        if agent is not None:
            agent.call = None
            self._release(agent)
            self._refresh(agent)

    def _on_call_ended(self, e: ev.CallEnded) -> None:
        call = self._live_call(e.call_id)
        if call is None:
            return
        self._check_call(call, Trigger.END)
        if call.state is not CallState.CONNECTED:
            raise IllegalTransitionError(
                "call",
                call.id,
                "call",
                call.state.value,
                "end",
                related_id=agent_id_of(call),
                detail="only an answered call ends; use AgentDidNotAnswer or CallerHungUp",
            )
        self._conversation_over(call, Trigger.END, None)

    def _on_transferred(self, e: ev.CallTransferred) -> None:
        agent = self._agent(e.agent_id)
        call = self._live_call(e.call_id)
        if call is None:
            return
        self._check_call(call, Trigger.TRANSFER, e.agent_id)
        if call.agent is not agent:
            raise IllegalTransitionError(
                "call",
                call.id,
                "call",
                call.state.value,
                "transfer",
                related_id=e.agent_id,
                detail="the call is connected to another advisor",
            )
        self._conversation_over(call, Trigger.TRANSFER, e.target)

    def _on_timer(self, e: ev.TimerFired) -> None:
        if e.timer_id not in self._timers:
            return  # cancelled or already fired (drained with others): documented no-op
        # Fire every timer due by now, in TIMER_ORDER (never in delivery or creation order),
        # then route once: the order the driver delivers same-instant timers changes nothing.
        self._draining = True
        try:
            heap = self._timer_heap
            timers = self._timers
            handlers = self._timer_handlers
            while heap and (heap[0][0] <= self._now or e.timer_id in timers):
                timer_id = heapq.heappop(heap)[4]
                pending = timers.pop(timer_id, None)
                if pending is not None:
                    handlers[pending[0]](pending[1])
        finally:
            self._draining = False
        self._routing_pass()
        freed, self._freed_over_cap = self._freed_over_cap, []
        for agent, trigger in freed:
            self._make_available(agent, trigger)
        yields, self._yields_due = self._yields_due, []
        for call in yields:
            self._yield_breather(call)

    def _routing_pass(self) -> None:
        """Match what the drain freed: the best call first (priority, weighted wait, arrival)
        goes to its step's best advisor by the queue's policy; until no pair is left."""
        freed, lined, deadlines = self._freed, self._lined, self._deadlines
        self._freed, self._lined, self._deadlines = [], [], []
        now = self._now
        everyone = self._agent_list
        while True:
            best: LiveCall | None = None
            best_key: tuple[int, float, int] = (0, 0.0, 0)
            candidates = [c for c in lined if c.in_step is not None]
            candidates += [
                c
                for a in freed
                if a.routable and (c := best_call_for(a, self._by_seq, now)) is not None
            ]
            for call in candidates:
                key = (call.priority, (now - call.fifo_at) * call.queue.cfg.weight, -call.seq)
                if best is None or key > best_key:
                    best, best_key = call, key
            if best is None:
                break
            agent = best_agent_for(best, everyone, now)
            if agent is None:
                lined = [c for c in lined if c is not best]
                continue
            self._present(best, agent)
        # A caller past their deadline whom no advisor took in the pass leaves now.
        for call in deadlines:
            if call.state is CallState.WAITING and call.max_wait_reached:
                self._leave(call, "max_wait")

    def _max_wait_reached(self, call: LiveCall) -> None:
        """The caller reached max wait: an advisor free at this instant still takes them (the
        routing pass), else they leave for the overflow target after it. While their ring to an
        advisor runs, the decision waits for its outcome."""
        call.max_wait_timer = None
        call.max_wait_reached = True
        if call.state is CallState.WAITING:
            call.cooling = None  # the deadline outranks a no-answer cooldown
            self._lined.append(call)
            self._deadlines.append(call)

    def _wrap_up_over(self, agent: LiveAgent) -> None:
        agent.timer = None
        self._end_wrap_up(agent)

    def _rest_over(self, agent: LiveAgent) -> None:
        """A breather or recovery pause ran its length: available (or another breather)."""
        agent.timer = None
        self._make_available(agent, Trigger.READY)

    def _relax(self, call: LiveCall) -> None:
        call.relax_timer = None
        call.step += 1
        call.step_entered_at = self._now
        steps = call.queue.cfg.steps
        self._record(call, "relaxed", None, step=call.step, expression=steps[call.step].expression)
        self._skip_unstaffed(call)
        self._step_moved(call)

    def _skip_unstaffed(self, call: LiveCall) -> bool:
        """With ``skip_unstaffed_steps``, move the caller past steps that no staffed advisor
        satisfies (never past the last); whether it moved."""
        queue = call.queue
        if not queue.cfg.skip_unstaffed_steps:
            return False
        steps = queue.steps
        moved = False
        while call.step < len(steps) - 1 and steps[call.step].staffed == 0:
            call.step += 1
            call.step_entered_at = self._now
            expression = steps[call.step].expression
            self._record(
                call, "relaxed", None, step=call.step, expression=expression, reason="unstaffed"
            )
            moved = True
        return moved

    def _step_moved(self, call: LiveCall) -> None:
        """The caller's routing step changed: its relaxation timer, then route it again (or it
        leaves, if nobody can serve the steps still ahead: leave-when-empty)."""
        self._cancel(call.relax_timer)
        call.relax_timer = None
        expiry = call.queue.cfg.steps[call.step].expires_after_s
        if expiry is not None:
            call.relax_timer = self._timer(
                TimerKind.RELAX, call, call.id, call.step_entered_at + expiry
            )
        if call.state is CallState.WAITING and call.held_for is None:
            unline(call)
            if self._is_empty(call.queue, join=False, step=call.step):
                self._leave(call, "leave_empty")
            else:
                self._route(call)

    def _announce(self, call: LiveCall) -> None:
        interval = call.queue.cfg.announce_interval_s
        assert interval is not None
        call.announce_timer = self._timer(TimerKind.ANNOUNCE, call, call.id, self._now + interval)
        if call.state is not CallState.WAITING or call.prompting:
            return
        if self._long_wait(call):
            self._offer_callback(call)
            return
        position = views.position(call)
        wait = views.expected_wait(call.queue, position, call.step)
        # No staffed advisor can serve the steps ahead: an expected wait would be invented, and
        # 0 makes the prompt say nothing of it.
        seconds = 0 if wait is None else math.ceil(wait)
        call.prompting = True
        self._out.append(cmd.PlayPrompt(call.id, "position", position, seconds))
        self._record(call, "prompted", None, position=position, expected_wait_s=seconds)

    def _on_config(self, e: ev.ConfigChanged) -> None:
        config = e.config
        if not isinstance(config, AcdConfig):
            raise ConfigError("config", "must be an AcdConfig")
        new_agents = {a.id for a in config.agents}
        new_queues = {q.name for q in config.queues}
        for agent in self._agents.values():
            if agent.cfg.id not in new_agents and agent.activity in (
                Activity.RESERVED,
                Activity.ON_CALL,
            ):
                raise ConfigError(
                    f"agents[{agent.cfg.id}]",
                    f"cannot remove an advisor busy with call {call_id_of(agent)!r}; "
                    "retry after it",
                )
        for call in self._calls.values():
            if call.state not in TERMINAL_CALL_STATES and call.queue.cfg.name not in new_queues:
                raise ConfigError(
                    f"queues[{call.queue.cfg.name}]",
                    f"cannot remove a queue holding call {call.id!r}; retry once it is empty",
                )
        # Accepted: holds end (their advisor may be rebuilt or gone); the calls are lined up below.
        for call in self._calls.values():
            self._release_hold(call)
        # Log out removed advisors, then rebuild every index. Until the callers are lined up
        # in the new configuration, a staffing change moves nobody: a caller relaxed or sent
        # away now would be judged by steps the reload is replacing.
        self._rebuilding = True
        try:
            for agent in list(self._agents.values()):
                if agent.cfg.id not in new_agents and agent.presence is Presence.LOGGED_IN:
                    self._log_out(agent)
        finally:
            self._rebuilding = False
        old_queues = self._queues
        self._build(config, old_queues)
        for agent in self._agents.values():
            self._refresh_staffing(agent)
        for call in self._calls.values():
            if call.state in TERMINAL_CALL_STATES:
                continue  # in wrap-up: its summary still counts in its old queue
            queue = self._queues[call.queue.cfg.name]
            call.queue = queue
            if call.state is CallState.CLOSED_OFFER:
                continue  # never in line: its offer runs on (its timer is kept)
            queue.waiting[call.id] = call
            call.in_step = None
            call.token += 1
            if call.state is CallState.CONNECTED or call.state is CallState.SCHEDULED:
                # Its routing is over (or not begun); keep the step index valid for the views.
                call.step = min(call.step, len(queue.steps) - 1)
                continue
            self._cancel_call_timers(call)
            steps = queue.cfg.steps
            elapsed = self._now - call.queue_entered_at
            step, start = 0, call.queue_entered_at
            while steps[step].expires_after_s is not None:
                expiry = steps[step].expires_after_s
                assert expiry is not None
                if elapsed < (start - call.queue_entered_at) + expiry:
                    break
                start += expiry
                step += 1
            call.step = step
            call.step_entered_at = start
            if call.state is CallState.WAITING:
                self._skip_unstaffed(call)
            self._arm_call_timers(call)
        # Waiting callers keep their place: same keys, new steps; then match anew.
        for call in list(self._calls.values()):
            if call.state is CallState.WAITING:
                line_up(call, self._by_seq)
        for agent in self._agents.values():
            if agent.activity is Activity.AVAILABLE and self._over_cap(agent):
                self._breathe(agent)  # a lower cap or a shorter window applies at once
            self._refresh(agent)
        for queue in self._queues.values():
            if queue.waiting:
                self._leave_if_empty(queue)

    def _on_hours_changed(self, e: ev.QueueHoursChanged) -> None:
        queue = self._queues.get(e.queue)
        if queue is None:
            raise UnknownQueueError(e.queue)
        if not isinstance(e.opening, Opening):
            raise CoreError(f"QueueHoursChanged.opening must be an Opening, got {e.opening!r}")
        was_in_hours = queue.hours.in_hours
        queue.hours = e.opening
        if not was_in_hours or e.opening.in_hours or queue.cfg.at_close is AtClose.SERVE:
            return  # callers already waiting are served; advisors are never forced out
        for call in list(queue.waiting.values()):
            if call.state is not CallState.WAITING or call.purpose is not None:
                continue  # reservations stay: the centre called for them (or will)
            if queue.cfg.overflow is not None:
                self._leave(call, "at_close")
                continue
            unline(call)
            self._cancel_call_timers(call)
            del queue.waiting[call.id]
            if call.prompting:
                call.prompting = False
                self._out.append(cmd.StopPrompt(call.id))
            self._record(call, "closed", None, reason="at_close", detail=e.opening.detail)
            self._closed_action(call, "at_close")

    def _on_day_rolled_over(self, e: ev.DayRolledOver) -> None:
        for queue in self._queues.values():
            # A call still waiting or ringing is offered in the new day too: its answer or
            # abandon then has a denominator, so answered + abandoned <= offered holds every day
            # and the service level never reads above 100 %.
            queue.offered = sum(
                1
                for c in queue.waiting.values()
                if (c.state is CallState.WAITING or c.state is CallState.PRESENTED)
                and c.purpose is None
            )
            queue.answered = 0
            queue.abandoned = 0
            queue.answered_within_sl = 0
            queue.short_abandons = 0
            queue.closed_callers = 0
            queue.callbacks_requested = 0
            queue.callbacks_completed = 0
            queue.callbacks_within_sl = 0
            queue.callbacks_failed = 0
            queue.rejected = 0
            queue.overflowed_out = 0
            queue.overflowed_in = 0
            queue.answered_waits = []
            queue.abandoned_waits = []
            queue.counters_since = e.at
        # Each of those calls waits in one queue: offered to the centre's new day once.
        self._centre = CentreCounters(
            counters_since=e.at, offered=sum(q.offered for q in self._queues.values())
        )
        self._callbacks_by_number = {}
