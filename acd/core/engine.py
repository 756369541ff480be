"""The routing engine. Everything that changes the engine's state lives in this file.

``Engine.handle(event)`` validates the event against the current state, then applies it and returns
the commands to execute, in order. A refused event raises a ``CoreError`` before anything changes.

Indexes that keep the hot paths off full scans:

* each queue's routing step is a *step*: the advisors of the queue who satisfy its expression are
  precomputed (config time), so eligibility is never evaluated while routing;
* each step holds a heap of waiting calls keyed ``(-priority, fifo_at, seq)`` (all calls of a step
  share one expression) and a heap of routable eligible advisors keyed by the queue's policy;
  both use lazy deletion (an entry is stale when its token/epoch no longer matches);
* a freed advisor looks only at the heads of the call heaps of its own steps.

Invariant after every ``handle``: no routable advisor is eligible for a waiting call (an advisor
freed takes a call in the same ``handle``; a call offered takes an idle advisor in the same
``handle``).
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.config import (
    AcdConfig,
    AgentConfig,
    EmptyPolicy,
    Policy,
    QueueConfig,
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
from acd.core.skills import skills_named
from acd.core.snapshots import (
    AgentView,
    CallView,
    EngineSnapshot,
    FairnessView,
    QueueView,
    Spread,
)
from acd.core.states import (
    ACTIVITY_TABLE,
    CALL_TABLE,
    PHONE_TABLE,
    PRESENCE_TABLE,
    STAFFED_ACTIVITIES,
    TERMINAL_CALL_STATES,
    Activity,
    CallState,
    Outcome,
    PhoneState,
    Presence,
    transition,
)
from acd.core.workload import RollingLoad

Command = cmd.Command
# Finished calls are remembered (for duplicate events and late dispositions) up to this many.
FINISHED_MEMORY: Final = 100_000
# Weight of the newest handle time in a queue's running average (expected wait estimates).
AHT_SMOOTHING: Final = 0.1
NO_ANSWER_REASON: Final = "no_answer"
# Plain-dict copies of the tables for the hot path (same entries: states.py is the source).
# An activity entry also says whether it starts (+1) or ends (-1) a staffed period, so the
# change of activity pays for one lookup, not three.
_ACTIVITY: Final = {
    key: (new, (new in STAFFED_ACTIVITIES) - (key[0] in STAFFED_ACTIVITIES))
    for key, new in ACTIVITY_TABLE.items()
}
_NUMBER: Final = (int, float)
_CALL: Final = dict(CALL_TABLE)


@dataclass(slots=True, eq=False)
class _Step:
    queue: _Queue
    index: int
    expression: str
    expires_after_s: float | None
    # Heap entries hold only numbers (the GC stops tracking such tuples): calls are found again
    # through their seq, advisors through their index.
    calls: list[tuple[int, float, int, int]] = field(default_factory=list)
    agents: list[tuple[Any, ...]] = field(default_factory=list)
    live_calls: int = 0
    live_agents: int = 0


@dataclass(slots=True, eq=False)
class _Queue:
    cfg: QueueConfig
    steps: list[_Step] = field(default_factory=list)
    members: list[_Agent] = field(default_factory=list)
    # Live calls of the queue: WAITING, PRESENTED and CONNECTED (until the conversation ends).
    waiting: dict[str, _Call] = field(default_factory=dict)
    order: list[tuple[int, float, int]] = field(default_factory=list)  # keys of WAITING, sorted
    logged_in: int = 0
    staffed: int = 0
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


@dataclass(slots=True, eq=False)
class _Agent:
    cfg: AgentConfig
    index: int
    load: RollingLoad
    presence: Presence = Presence.LOGGED_OUT
    phone: PhoneState = PhoneState.IDLE
    activity: Activity = Activity.OFFLINE
    reason: str | None = None
    since: float = 0.0
    available_since: float = 0.0
    call: _Call | None = None
    missed: int = 0
    pending_pause: str | None = None
    timer: str | None = None
    epoch: int = 0
    routable: bool = False
    counted_logged_in: bool = False
    counted_staffed: bool = False
    occupancy_at_free: float = 0.0
    steps: list[_Step] = field(default_factory=list)
    scores: dict[_Step, int] = field(default_factory=dict)  # best_skill score per step
    calls_since_login: int = 0
    busy_from: float | None = None  # start of the busy period not yet added to ``load``
    wrap_started: float = 0.0
    wrap_min_end: float = 0.0
    recovery_starts: list[float] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class _Call:
    id: str
    queue: _Queue
    first_queue: str
    priority: int
    seq: int
    fifo_at: float
    offered_at: float
    caller_number: str
    caller_name: str
    linked_id: str
    queue_entered_at: float
    key: tuple[int, float, int] = (0, 0.0, 0)  # (-priority, fifo_at, seq): service order
    step: int = 0
    step_entered_at: float = 0.0
    state: CallState = CallState.WAITING
    token: int = 0
    in_step: _Step | None = None
    agent: _Agent | None = None
    tried: tuple[str, ...] = ()  # a tuple of str: nothing for the GC to track
    presented_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    prompting: bool = False
    relax_timer: str | None = None
    max_wait_timer: str | None = None
    announce_timer: str | None = None
    max_wait_reached: bool = False
    record_seq: int = 0
    disposition: str | None = None
    transferred_to: str | None = None
    overflow_target: str | None = None
    outcome: Outcome | None = None
    reason: str = ""


def _policy_key(policy: Policy, queue: _Queue, step: _Step, agent: _Agent) -> tuple[Any, ...]:
    """Smaller is better. Ends with (index, epoch): unique, so the agent is never compared."""
    if policy is Policy.LONGEST_IDLE:
        return (agent.available_since, agent.index, agent.epoch)
    if policy is Policy.BEST_SKILL:
        return (-agent.scores[step], agent.available_since, agent.index, agent.epoch)
    if policy is Policy.LEAST_OCCUPIED:
        return (agent.occupancy_at_free, agent.available_since, agent.index, agent.epoch)
    if policy is Policy.FEWEST_CALLS:
        return (agent.calls_since_login, agent.available_since, agent.index, agent.epoch)
    return (queue.rr_last.get(agent.cfg.id, -1), agent.index, agent.epoch)


class Engine:
    """The pure, synchronous, deterministic ACD: ``handle(event) -> list[Command]``."""

    def __init__(self, config: AcdConfig, *, start_at: float = 0.0) -> None:
        if not isinstance(config, AcdConfig):
            raise ConfigError("config", "must be an AcdConfig")
        self._now = start_at
        self._seq = 0
        self._timer_seq = 0
        # timer id -> the call or advisor it concerns; the kind is the id's prefix.
        self._timers: dict[str, Any] = {}
        self._calls: dict[str, _Call] = {}
        # call id -> (first queue, offered at): tuples of atoms, which the GC does not track.
        self._finished: dict[str, tuple[str, float]] = {}
        # Forgetting order of finished calls: a deque, because popping the first key of a dict
        # that keeps losing its first keys is O(deleted) until the dict resizes.
        self._finished_order: deque[str] = deque()
        self._agents: dict[str, _Agent] = {}
        self._agent_list: list[_Agent] = []
        self._by_seq: dict[int, _Call] = {}
        self._queues: dict[str, _Queue] = {}
        self._config = config
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
            ev.PromptEnded: self._on_prompt_ended,
            ev.AgentAnswered: self._on_answered,
            ev.AgentDidNotAnswer: self._on_not_answered,
            ev.CallerHungUp: self._on_caller_hung_up,
            ev.CallEnded: self._on_call_ended,
            ev.CallTransferred: self._on_transferred,
            ev.TimerFired: self._on_timer,
            ev.ConfigChanged: self._on_config,
            ev.DayRolledOver: self._on_day_rolled_over,
        }
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
        return self._agent_view(agent, self._now if at is None else at)

    def call_view(self, call_id: str, at: float | None = None) -> CallView:
        """One live call's view (waiting, presented or connected)."""
        call = self._calls.get(call_id)
        if call is None:
            raise UnknownCallError(call_id)
        t = self._now if at is None else at
        positions = self._positions(call.queue)
        return self._call_view(call, t, positions.get(call.id))

    def live_calls(self, at: float | None = None) -> tuple[CallView, ...]:
        """Every live call (waiting, presented or connected), in order of arrival."""
        t = self._now if at is None else at
        positions: dict[str, int] = {}
        for queue in self._queues.values():
            positions.update(self._positions(queue))
        return tuple(
            self._call_view(c, t, positions.get(c.id))
            for c in self._calls.values()
            if c.state not in TERMINAL_CALL_STATES
        )

    def queue_view(self, name: str, at: float | None = None) -> QueueView:
        """One queue's view, waiting calls in service order."""
        queue = self._queues.get(name)
        if queue is None:
            raise UnknownQueueError(name)
        return self._queue_view(queue, self._now if at is None else at)

    def summaries_in_wrap_up(self, at: float) -> list[cmd.CallCompleted]:
        """Summaries of the answered calls whose advisor is still in wrap-up, as if it ended at
        ``at`` (reason ``wrap_up_cut``). A summary otherwise waits for the wrap-up's end: the
        daemon records these when it stops, so no answered call goes without its row. Pure."""
        return [
            self._summary(agent.call, Outcome.ANSWERED, "wrap_up_cut", at)
            for agent in self._agents.values()
            if agent.activity is Activity.WRAP_UP and agent.call is not None
        ]

    def snapshot(self, at: float | None = None) -> EngineSnapshot:
        """Every advisor and queue, plus the fairness spread."""
        t = self._now if at is None else at
        agents = tuple(self._agent_view(a, t) for a in self._agents.values())
        queues = tuple(self._queue_view(q, t) for q in self._queues.values())
        return EngineSnapshot(t, agents, queues, self._fairness(agents))

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
            waiting = [c for c in queue.waiting.values() if c.state is CallState.WAITING]
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
        for call in self._calls.values():
            if (call.state is CallState.WAITING) != (call.in_step is not None):
                raise CoreError(f"call {call.id!r}: {call.state} but in_step={call.in_step}")
        for agent in self._agents.values():
            staffed_from = agent.load.staffed_from
            if (agent.activity in STAFFED_ACTIVITIES) != (staffed_from is not None):
                raise CoreError(
                    f"advisor {agent.cfg.id!r}: {agent.activity} but staffed since {staffed_from}"
                )

    # ------------------------------------------------------------------ building indexes

    def _build(self, config: AcdConfig, old_queues: dict[str, _Queue]) -> None:
        workload = config.workload
        queues: dict[str, _Queue] = {}
        for qcfg in config.queues:
            old = old_queues.get(qcfg.name)
            queue = _Queue(cfg=qcfg, aht=qcfg.expected_handle_s, counters_since=self._now)
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
            queue.steps = [
                _Step(queue, i, s.expression, s.expires_after_s) for i, s in enumerate(qcfg.steps)
            ]
            queues[qcfg.name] = queue
        # best_skill scores an advisor on the skills a step names (all the queue's, for "any").
        named: dict[_Step, tuple[str, ...]] = {}
        for queue in queues.values():
            every = tuple(sorted({n for s in queue.cfg.steps for n in skills_named(s.parsed)}))
            for step, scfg in zip(queue.steps, queue.cfg.steps, strict=True):
                named[step] = skills_named(scfg.parsed) or every
        agents: dict[str, _Agent] = {}
        for index, acfg in enumerate(config.agents):
            agent = self._agents.get(acfg.id)
            if agent is None:
                agent = _Agent(
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
            agent.routable = False
            agent.counted_logged_in = False
            agent.counted_staffed = False
            for qname in acfg.queues:
                queue = queues[qname]
                queue.members.append(agent)
                for step, scfg in zip(queue.steps, queue.cfg.steps, strict=True):
                    if scfg.parsed.evaluate(acfg.skills):
                        agent.steps.append(step)
                        agent.scores[step] = sum(acfg.skills.get(n, 0) for n in named[step])
            agents[acfg.id] = agent
        self._agents = agents
        self._agent_list = list(agents.values())
        self._queues = queues
        self._config = config

    # ------------------------------------------------------------------ small helpers

    def _agent(self, agent_id: str) -> _Agent:
        agent = self._agents.get(agent_id)
        if agent is None:
            raise UnknownAgentError(agent_id)
        return agent

    def _timer(self, kind: str, ref: Any, key: str, fire_at: float) -> str:
        self._timer_seq += 1
        timer_id = f"{kind}:{key}:{self._timer_seq}"
        self._timers[timer_id] = ref
        self._out.append(cmd.StartTimer(timer_id, fire_at))
        return timer_id

    def _cancel(self, timer_id: str | None) -> None:
        if timer_id is not None and self._timers.pop(timer_id, None) is not None:
            self._out.append(cmd.CancelTimer(timer_id))

    def _record(
        self, call: _Call, kind: str, agent: _Agent | None = None, **data: str | int | float | None
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

    def _set_activity(self, agent: _Agent, trigger: str, reason: str | None = None) -> None:
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
        agent.activity = new
        agent.reason = reason
        agent.since = self._now
        if new is Activity.AVAILABLE:
            agent.available_since = self._now
        self._out.append(
            cmd.RecordAgentState(agent.cfg.id, "activity", old, new, reason, self._now)
        )

    def _check_activity(self, agent: _Agent, trigger: str) -> None:
        if (agent.activity, trigger) not in ACTIVITY_TABLE:
            raise IllegalTransitionError(
                "agent",
                agent.cfg.id,
                "activity",
                agent.activity.value,
                trigger,
                related_id=agent.call.id if agent.call is not None else None,
            )

    def _check_call(self, call: _Call, trigger: str, agent_id: str | None = None) -> None:
        if (call.state, trigger) not in CALL_TABLE:
            raise IllegalTransitionError(
                "call",
                call.id,
                "call",
                call.state.value,
                trigger,
                related_id=agent_id or _agent_id(call),
            )

    def _set_call_state(self, call: _Call, trigger: str) -> None:
        new = _CALL.get((call.state, trigger))
        if new is None:
            raise IllegalTransitionError(
                "call", call.id, "call", call.state, trigger, related_id=_agent_id(call)
            )
        call.state = new

    def _wrap_up_s(self, agent: _Agent, queue: _Queue) -> float:
        own = agent.cfg.wrap_up_s
        base = own if own is not None else queue.cfg.wrap_up_s
        workload = self._config.workload
        return max(base, workload.min_wrap_up_s) if workload.enabled else base

    def _over_cap(self, agent: _Agent) -> bool:
        workload = self._config.workload
        return workload.enabled and agent.load.occupancy(self._now) > workload.occupancy_cap

    # ------------------------------------------------------------------ routability & staffing

    def _refresh(self, agent: _Agent) -> None:
        """Re-derive routability and staffing after any change of the agent's state."""
        routable = (
            agent.presence is Presence.LOGGED_IN
            and agent.phone is PhoneState.IDLE
            and agent.activity is Activity.AVAILABLE
        )
        if agent.routable and not routable:
            # Leave the pools before staffing changes can move calls around.
            agent.epoch += 1
            agent.routable = False
            for step in agent.steps:
                step.live_agents -= 1
        self._refresh_staffing(agent)
        if not routable or agent.routable:
            return
        agent.epoch += 1
        call = self._best_call_for(agent)
        if call is not None:
            # Routable only for an instant: presented at once, never enters the pools.
            self._present(call, agent)
            return
        agent.routable = True
        agent.occupancy_at_free = agent.load.occupancy(self._now)
        for step in agent.steps:
            step.live_agents += 1
            queue = step.queue
            heap = step.agents
            heapq.heappush(heap, _policy_key(queue.cfg.policy, queue, step, agent))
            if len(heap) > 2 * step.live_agents + 64:
                everyone = self._agent_list
                step.agents = [
                    e for e in heap if everyone[e[-2]].routable and everyone[e[-2]].epoch == e[-1]
                ]
                heapq.heapify(step.agents)

    def _refresh_staffing(self, agent: _Agent) -> None:
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
        emptied: list[_Queue] = []
        for qname in agent.cfg.queues:
            queue = self._queues[qname]
            queue.logged_in += d_in
            queue.staffed += d_st
            if (d_in < 0 or d_st < 0) and queue.waiting and self._is_empty(queue, join=False):
                emptied.append(queue)
        for queue in emptied:
            for call in list(queue.waiting.values()):
                if call.state is CallState.WAITING:
                    self._leave(call, "leave_empty")

    def _is_empty(self, queue: _Queue, *, join: bool) -> bool:
        policy = queue.cfg.join_when_empty if join else queue.cfg.leave_when_empty
        if policy is EmptyPolicy.NEVER:
            return False
        if policy is EmptyPolicy.NO_LOGGED_IN:
            return queue.logged_in == 0
        return queue.staffed == 0

    # ------------------------------------------------------------------ matching

    def _best_call_for(self, agent: _Agent) -> _Call | None:
        """Highest priority, then longest weighted wait, across the agent's steps."""
        best: _Call | None = None
        best_key: tuple[int, float, int] = (0, 0.0, 0)
        now = self._now
        for step in agent.steps:
            if not step.live_calls:
                continue
            heap = step.calls
            by_seq = self._by_seq
            while heap:
                _, _, seq, token = heap[0]
                head = by_seq.get(seq)
                if head is not None and head.in_step is step and head.token == token:
                    break
                heapq.heappop(heap)
            else:
                continue
            call = head
            key = (call.priority, (now - call.fifo_at) * step.queue.cfg.weight, -call.seq)
            if best is None or key > best_key:
                best = call
                best_key = key
        return best

    def _best_agent_for(self, call: _Call) -> _Agent | None:
        step = call.queue.steps[call.step]
        if not step.live_agents:
            return None
        heap = step.agents
        while heap:
            entry = heap[0]
            agent: _Agent = self._agent_list[entry[-2]]
            if agent.routable and agent.epoch == entry[-1]:
                return agent
            heapq.heappop(heap)
        return None

    def _route(self, call: _Call) -> None:
        """Present a waiting call to the best routable eligible advisor, or keep it in line."""
        agent = self._best_agent_for(call)
        if agent is not None:
            self._present(call, agent)
            return
        self._line_up(call)

    def _line_up(self, call: _Call) -> None:
        """Put a waiting call in its step's heap and its queue's service order."""
        step = call.queue.steps[call.step]
        call.token += 1
        call.in_step = step
        step.live_calls += 1
        insort(call.queue.order, call.key)
        heap = step.calls
        heapq.heappush(heap, (*call.key, call.token))
        if len(heap) > 2 * step.live_calls + 64:
            by_seq = self._by_seq
            step.calls = [
                e
                for e in heap
                if (c := by_seq.get(e[2])) is not None and c.in_step is step and c.token == e[3]
            ]
            heapq.heapify(step.calls)

    def _unline(self, call: _Call) -> None:
        """Take the call out of its step's heap (lazily)."""
        step = call.in_step
        if step is not None:
            step.live_calls -= 1
            call.in_step = None
            call.token += 1
            order = call.queue.order
            del order[bisect_left(order, call.key)]

    def _present(self, call: _Call, agent: _Agent) -> None:
        self._unline(call)
        self._set_call_state(call, "present")
        call.agent = agent
        agent.call = call
        call.tried += (agent.cfg.id,)
        if call.presented_at is None:
            call.presented_at = self._now
        queue = call.queue
        queue.rr_counter += 1
        queue.rr_last[agent.cfg.id] = queue.rr_counter
        self._set_activity(agent, "reserve")
        agent.epoch += 1
        if agent.routable:  # taken from the pools (not when freed straight into this call)
            agent.routable = False
            for step in agent.steps:
                step.live_agents -= 1
        if call.prompting:
            call.prompting = False
            self._out.append(cmd.StopPrompt(call.id))
        self._record(call, "presented", agent, step=call.step)
        self._out.append(
            cmd.RingAgent(call.id, agent.cfg.id, agent.cfg.endpoint, queue.cfg.ring_timeout_s)
        )

    # ------------------------------------------------------------------ call lifecycle

    def _enter_queue(self, call: _Call, queue: _Queue) -> None:
        """Offer the call to ``queue``: timers, join-when-empty, then route."""
        call.queue = queue
        call.queue_entered_at = self._now
        call.step = 0
        call.step_entered_at = self._now
        call.max_wait_reached = False
        queue.waiting[call.id] = call
        queue.offered += 1
        self._record(
            call,
            "offered",
            None,
            priority=call.priority,
            caller_number=call.caller_number,
            caller_name=call.caller_name,
        )
        if self._is_empty(queue, join=True):
            self._leave(call, "join_empty")
            return
        self._arm_call_timers(call)
        self._route(call)

    def _arm_call_timers(self, call: _Call) -> None:
        cfg = call.queue.cfg
        expiry = cfg.steps[call.step].expires_after_s
        if expiry is not None:
            call.relax_timer = self._timer("relax", call, call.id, call.step_entered_at + expiry)
        if cfg.max_wait_s is not None:
            call.max_wait_timer = self._timer(
                "max_wait", call, call.id, max(self._now, call.queue_entered_at + cfg.max_wait_s)
            )
        if cfg.announce_interval_s is not None:
            call.announce_timer = self._timer(
                "announce", call, call.id, self._now + cfg.announce_interval_s
            )

    def _cancel_call_timers(self, call: _Call) -> None:
        self._cancel(call.relax_timer)
        self._cancel(call.max_wait_timer)
        self._cancel(call.announce_timer)
        call.relax_timer = call.max_wait_timer = call.announce_timer = None

    def _leave(self, call: _Call, reason: str) -> None:
        """A waiting call leaves its queue: to the overflow target, or it is ended."""
        queue = call.queue
        target = queue.cfg.overflow
        self._unline(call)
        self._cancel_call_timers(call)
        del queue.waiting[call.id]
        if target is not None and target.kind is TargetKind.QUEUE:
            self._set_call_state(call, "requeue")
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
            self._set_call_state(call, "overflow")
            call.overflow_target = str(target)
            self._record(call, "overflowed", None, reason=reason, target=str(target))
            self._out.append(cmd.OverflowCall(call.id, str(target), reason))
            self._finish(call, Outcome.OVERFLOWED, reason)
            return
        self._set_call_state(call, "end")
        self._record(call, "ended", None, reason=reason)
        self._out.append(cmd.EndCall(call.id, reason))
        outcome = Outcome.REJECTED if reason == "join_empty" else Outcome.TIMED_OUT
        self._finish(call, outcome, reason)

    def _finish(self, call: _Call, outcome: Outcome, reason: str) -> None:
        """The call's story is over: summary, then forget it (keep it for duplicates)."""
        call.outcome = outcome
        call.reason = reason
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
        if outcome is Outcome.ABANDONED:
            queue.abandoned += 1
            if self._now - call.queue_entered_at < self._config.short_abandon_s:
                queue.short_abandons += 1
        self._out.append(self._summary(call, outcome, reason, self._now))

    def _summary(self, call: _Call, outcome: Outcome, reason: str, now: float) -> cmd.CallCompleted:
        """The call's summary row, its wrap-up counted up to ``now``."""
        queue = call.queue
        ended_at = call.ended_at if call.ended_at is not None else now
        wait_end = call.answered_at if call.answered_at is not None else ended_at
        wait = wait_end - call.offered_at
        talk = (ended_at - call.answered_at) if call.answered_at is not None else 0.0
        wrap = (now - ended_at) if call.answered_at is not None else 0.0
        within_sl = call.answered_at is not None and (
            call.answered_at - call.queue_entered_at <= queue.cfg.service_level_s
        )
        return cmd.CallCompleted(
            call_id=call.id,
            queue=queue.cfg.name,
            first_queue=call.first_queue,
            priority=call.priority,
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

    def _conversation_over(self, call: _Call, trigger: str, transferred_to: str | None) -> None:
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
        self._set_activity(agent, "end_call")
        agent.wrap_started = self._now
        wrap = self._wrap_up_s(agent, call.queue)
        agent.wrap_min_end = self._now + (
            self._config.workload.min_wrap_up_s if self._config.workload.enabled else 0.0
        )
        self._refresh(agent)
        if wrap <= 0:
            self._end_wrap_up(agent)
        else:
            agent.timer = self._timer("wrap_up", agent, agent.cfg.id, self._now + wrap)

    def _end_wrap_up(
        self, agent: _Agent, then: str | None = None, reason: str | None = None
    ) -> None:
        """Close wrap-up: count it as busy, emit the call's summary, then the next activity.

        ``then`` is ``None`` (become available, or breather if over the cap), ``"pause"`` or
        ``"recover"``.
        """
        call = agent.call
        self._cancel(agent.timer)
        agent.timer = None
        agent.load.add_busy(agent.wrap_started, self._now, talk=False)
        agent.call = None
        if call is not None:
            self._finish(call, Outcome.ANSWERED, "completed")
        if then is None and agent.pending_pause is not None:
            then, reason = "pause", agent.pending_pause
        agent.pending_pause = None
        if then == "pause":
            self._set_activity(agent, "pause", reason)
            self._refresh(agent)
        elif then == "recover":
            self._start_recovery(agent)
        else:
            self._make_available(agent, "end_wrap_up")

    def _release(self, agent: _Agent) -> None:
        """A presentation failed: back to available, or to the pause asked for meanwhile."""
        if agent.pending_pause is not None:
            reason, agent.pending_pause = agent.pending_pause, None
            self._set_activity(agent, "pause", reason)
        else:
            self._set_activity(agent, "release")

    def _make_available(self, agent: _Agent, trigger: str) -> None:
        """AVAILABLE (and take a call at once), or a breather while over the occupancy cap."""
        self._cancel(agent.timer)
        agent.timer = None
        if self._over_cap(agent):
            self._breathe(agent)
        else:
            self._set_activity(agent, trigger)
        self._refresh(agent)

    def _breathe(self, agent: _Agent) -> None:
        """Start a breather: the advisor is over the occupancy cap."""
        occupancy = agent.load.occupancy(self._now)
        self._set_activity(agent, "breathe", f"occupancy {occupancy:.0%}")
        agent.timer = self._timer(
            "breather", agent, agent.cfg.id, self._now + self._config.workload.breather_s
        )

    def _start_recovery(self, agent: _Agent) -> None:
        workload = self._config.workload
        agent.recovery_starts.append(self._now)
        self._set_activity(agent, "recover", "recovery")
        agent.timer = self._timer(
            "recovery", agent, agent.cfg.id, self._now + workload.recovery_max_s
        )
        self._refresh(agent)

    def _check_recovery_allowed(self, agent: _Agent) -> None:
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
        trigger = "log_in" if e.paused_reason is None else "log_in_paused"
        if (agent.presence, "log_in") not in PRESENCE_TABLE:
            raise IllegalTransitionError(
                "agent", agent.cfg.id, "presence", agent.presence.value, "log_in"
            )
        self._check_activity(agent, trigger)
        old = agent.presence
        agent.presence = transition(
            PRESENCE_TABLE,
            old,
            "log_in",
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
        if (agent.presence, "log_out") not in PRESENCE_TABLE:
            raise IllegalTransitionError(
                "agent", agent.cfg.id, "presence", agent.presence.value, "log_out"
            )
        self._check_activity(agent, "log_out")
        self._log_out(agent)

    def _log_out(self, agent: _Agent) -> None:
        if agent.activity is Activity.WRAP_UP:
            call = agent.call
            agent.load.add_busy(agent.wrap_started, self._now, talk=False)
            agent.call = None
            if call is not None:
                self._finish(call, Outcome.ANSWERED, "completed")
        self._cancel(agent.timer)
        agent.timer = None
        agent.pending_pause = None
        self._set_activity(agent, "log_out")
        old = agent.presence
        agent.presence = transition(
            PRESENCE_TABLE,
            old,
            "log_out",
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
        self._check_activity(agent, "pause")
        if agent.activity is Activity.WRAP_UP:
            self._end_wrap_up(agent, "pause", e.reason)
            return
        self._cancel(agent.timer)
        agent.timer = None
        self._set_activity(agent, "pause", e.reason)
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
        self._check_activity(agent, "ready")
        if act is Activity.BREATHER and self._over_cap(agent):
            raise WorkloadLimitError(
                agent.cfg.id,
                "occupancy_cap",
                f"occupancy {agent.load.occupancy(self._now):.0%} is still over the cap "
                f"{self._config.workload.occupancy_cap:.0%}",
            )
        self._make_available(agent, "ready")

    def _on_recovery(self, e: ev.RecoveryPauseRequested) -> None:
        agent = self._agent(e.agent_id)
        self._check_activity(agent, "recover")
        self._check_recovery_allowed(agent)
        if agent.activity is Activity.WRAP_UP:
            self._end_wrap_up(agent, "recover")
            return
        self._cancel(agent.timer)
        agent.timer = None
        self._start_recovery(agent)

    def _on_wrap_up_ended(self, e: ev.WrapUpEnded) -> None:
        agent = self._agent(e.agent_id)
        self._check_activity(agent, "end_wrap_up")
        if self._now < agent.wrap_min_end:
            # Enforced wrap-up: the advisor's request shortens it to the workload minimum.
            self._cancel(agent.timer)
            agent.timer = self._timer("wrap_up", agent, agent.cfg.id, agent.wrap_min_end)
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
        old = agent.phone
        if old is e.phone:
            return  # repeated device state: documented no-op
        agent.phone = transition(
            PHONE_TABLE,
            old,
            f"to_{e.phone.value}",
            entity="agent",
            entity_id=agent.cfg.id,
            dimension="phone",
        )
        self._out.append(
            cmd.RecordAgentState(agent.cfg.id, "phone", old.value, e.phone.value, None, e.at)
        )
        self._refresh(agent)

    # ------------------------------------------------------------------ event handlers: calls

    def _on_call_arrived(self, e: ev.CallArrived) -> None:
        queue = self._queues.get(e.queue)
        if queue is None:
            raise UnknownQueueError(e.queue, e.call_id)
        if not isinstance(e.call_id, str) or not e.call_id:
            raise CoreError("CallArrived.call_id must be a non-empty string")
        live = self._calls.get(e.call_id)
        known = (live.first_queue, live.offered_at) if live else self._finished.get(e.call_id)
        if known is not None:
            if known == (e.queue, e.at):
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
        priority = queue.cfg.priority if e.priority is None else e.priority
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise CoreError(f"call {e.call_id!r}: priority must be an integer, got {priority!r}")
        self._seq += 1
        call = _Call(
            id=e.call_id,
            queue=queue,
            first_queue=queue.cfg.name,
            priority=priority,
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

    def _live_call(self, call_id: str) -> _Call | None:
        """The live call, None when it already finished (duplicates are no-ops), else unknown."""
        call = self._calls.get(call_id)
        if call is not None:
            return None if call.state in TERMINAL_CALL_STATES else call
        if call_id in self._finished:
            return None
        raise UnknownCallError(call_id)

    def _on_prompt_ended(self, e: ev.PromptEnded) -> None:
        call = self._live_call(e.call_id)
        if call is not None:
            call.prompting = False

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
        self._check_activity(agent, "answer")
        self._set_call_state(call, "answer")
        call.answered_at = e.at
        self._cancel_call_timers(call)
        queue = call.queue
        queue.answered += 1
        if e.at - call.queue_entered_at <= queue.cfg.service_level_s:
            queue.answered_within_sl += 1
        agent.missed = 0
        agent.calls_since_login += 1
        agent.load.add_call(e.at)
        self._set_activity(agent, "answer")
        self._record(call, "answered", agent, wait_s=e.at - call.offered_at)
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
        self._set_call_state(call, "not_answered")
        call.agent = None
        agent.call = None
        agent.missed += 1
        self._record(call, "not_answered", agent, dial_status=str(status), missed=agent.missed)
        queue = call.queue
        paused = agent.missed >= agent.cfg.max_missed
        if paused:
            agent.pending_pause = None
            self._set_activity(agent, "miss_limit", NO_ANSWER_REASON)
        # The call first goes to the next eligible advisor: the advisor who missed it is still
        # reserved (not routable) while it is routed, and is released only afterwards, so they
        # are rung again for it only if nobody else can take it (with best_skill, releasing first
        # bounced the call between the two best advisors while a third sat idle).
        if call.max_wait_reached:
            self._leave(call, "max_wait")
        elif self._is_empty(queue, join=False):
            self._leave(call, "leave_empty")
        else:
            self._record(call, "requeued", None, step=call.step)
            self._route(call)
        if not paused:
            self._release(agent)
        self._refresh(agent)

    def _on_caller_hung_up(self, e: ev.CallerHungUp) -> None:
        call = self._live_call(e.call_id)
        if call is None:
            return  # already over (e.g. CallEnded came first): documented no-op
        if call.state is CallState.CONNECTED:
            self._conversation_over(call, "hang_up", None)
            return
        self._check_call(call, "hang_up")
        agent = call.agent
        self._set_call_state(call, "hang_up")
        self._unline(call)
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
        self._check_call(call, "end")
        if call.state is not CallState.CONNECTED:
            raise IllegalTransitionError(
                "call",
                call.id,
                "call",
                call.state.value,
                "end",
                related_id=_agent_id(call),
                detail="only an answered call ends; use AgentDidNotAnswer or CallerHungUp",
            )
        self._conversation_over(call, "end", None)

    def _on_transferred(self, e: ev.CallTransferred) -> None:
        agent = self._agent(e.agent_id)
        call = self._live_call(e.call_id)
        if call is None:
            return
        self._check_call(call, "transfer", e.agent_id)
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
        self._conversation_over(call, "transfer", e.target)

    def _on_timer(self, e: ev.TimerFired) -> None:
        ref = self._timers.pop(e.timer_id, None)
        if ref is None:
            return  # cancelled or already fired: documented no-op
        kind = e.timer_id.partition(":")[0]
        if kind == "relax":
            self._relax(ref)
        elif kind == "max_wait":
            call: _Call = ref
            call.max_wait_timer = None
            if call.state is CallState.WAITING:
                self._leave(call, "max_wait")
            else:
                call.max_wait_reached = True
        elif kind == "announce":
            self._announce(ref)
        elif kind == "wrap_up":
            agent: _Agent = ref
            agent.timer = None
            self._end_wrap_up(agent)
        else:  # breather, recovery
            agent = ref
            agent.timer = None
            self._make_available(agent, "ready")

    def _relax(self, call: _Call) -> None:
        call.relax_timer = None
        steps = call.queue.cfg.steps
        call.step += 1
        call.step_entered_at = self._now
        self._record(call, "relaxed", None, step=call.step, expression=steps[call.step].expression)
        expiry = steps[call.step].expires_after_s
        if expiry is not None:
            call.relax_timer = self._timer("relax", call, call.id, self._now + expiry)
        if call.state is CallState.WAITING:
            self._unline(call)
            self._route(call)

    def _announce(self, call: _Call) -> None:
        interval = call.queue.cfg.announce_interval_s
        assert interval is not None
        call.announce_timer = self._timer("announce", call, call.id, self._now + interval)
        if call.state is not CallState.WAITING or call.prompting:
            return
        position = self._position(call)
        wait = self._expected_wait(call.queue, position)
        call.prompting = True
        self._out.append(cmd.PlayPrompt(call.id, "position", position, math.ceil(wait)))
        self._record(call, "prompted", None, position=position, expected_wait_s=math.ceil(wait))

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
                    f"cannot remove an advisor busy with call {_call_id(agent)!r}; retry after it",
                )
        for call in self._calls.values():
            if call.state not in TERMINAL_CALL_STATES and call.queue.cfg.name not in new_queues:
                raise ConfigError(
                    f"queues[{call.queue.cfg.name}]",
                    f"cannot remove a queue holding call {call.id!r}; retry once it is empty",
                )
        # Accepted: log out removed advisors, then rebuild every index.
        for agent in list(self._agents.values()):
            if agent.cfg.id not in new_agents and agent.presence is Presence.LOGGED_IN:
                self._log_out(agent)
        old_queues = self._queues
        self._build(config, old_queues)
        for agent in self._agents.values():
            self._refresh_staffing(agent)
        for call in self._calls.values():
            if call.state in TERMINAL_CALL_STATES:
                continue  # in wrap-up: its summary still counts in its old queue
            queue = self._queues[call.queue.cfg.name]
            call.queue = queue
            queue.waiting[call.id] = call
            call.in_step = None
            call.token += 1
            if call.state is CallState.CONNECTED:
                # Its routing is over; keep the step index valid for the views.
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
            self._arm_call_timers(call)
        # Waiting callers keep their place: same keys, new steps; then match anew.
        for call in list(self._calls.values()):
            if call.state is CallState.WAITING:
                self._line_up(call)
        for agent in self._agents.values():
            if agent.activity is Activity.AVAILABLE and self._over_cap(agent):
                self._breathe(agent)  # a lower cap or a shorter window applies at once
            self._refresh(agent)
        for queue in self._queues.values():
            if queue.waiting and self._is_empty(queue, join=False):
                for call in list(queue.waiting.values()):
                    if call.state is CallState.WAITING:
                        self._leave(call, "leave_empty")

    def _on_day_rolled_over(self, e: ev.DayRolledOver) -> None:
        for queue in self._queues.values():
            # A call still waiting or ringing is offered in the new day too: its answer or
            # abandon then has a denominator, so answered + abandoned <= offered holds every day
            # and the service level never reads above 100 %.
            queue.offered = sum(
                1
                for c in queue.waiting.values()
                if c.state is CallState.WAITING or c.state is CallState.PRESENTED
            )
            queue.answered = 0
            queue.abandoned = 0
            queue.answered_within_sl = 0
            queue.short_abandons = 0
            queue.counters_since = e.at

    # ------------------------------------------------------------------ views

    @staticmethod
    def _position(call: _Call) -> int:
        """1-based rank of a waiting call among its queue's waiting calls."""
        return bisect_left(call.queue.order, call.key) + 1

    def _positions(self, queue: _Queue) -> dict[str, int]:
        waiting = [c for c in queue.waiting.values() if c.state is CallState.WAITING]
        waiting.sort(key=lambda c: (-c.priority, c.fifo_at, c.seq))
        return {c.id: i for i, c in enumerate(waiting, start=1)}

    def _expected_wait(self, queue: _Queue, position: int) -> float:
        """Position times average handle time, shared among the advisors staffing the queue."""
        return position * queue.aht / max(1, queue.staffed)

    def _call_view(self, call: _Call, at: float, position: int | None) -> CallView:
        queue = call.queue
        return CallView(
            call_id=call.id,
            queue=queue.cfg.name,
            state=call.state,
            priority=call.priority,
            step=call.step,
            step_expression=queue.cfg.steps[call.step].expression,
            position=position,
            expected_wait_s=self._expected_wait(queue, position) if position is not None else None,
            waited_s=at - call.offered_at,
            offered_at=call.offered_at,
            agent_id=_agent_id(call),
            caller_number=call.caller_number,
            caller_name=call.caller_name,
        )

    def _queue_view(self, queue: _Queue, at: float) -> QueueView:
        positions = self._positions(queue)
        waiting = tuple(
            self._call_view(queue.waiting[cid], at, pos) for cid, pos in positions.items()
        )
        presented = sum(1 for c in queue.waiting.values() if c.state is CallState.PRESENTED)
        longest = max(
            (at - c.fifo_at for c in queue.waiting.values() if c.state is not CallState.CONNECTED),
            default=0.0,
        )
        denominator = queue.offered - queue.short_abandons
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
        )

    def _agent_view(self, agent: _Agent, at: float) -> AgentView:
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
            call_id=_call_id(agent),
            pending_pause=agent.pending_pause,
            missed_in_row=agent.missed,
            occupancy=min(1.0, busy / max(staffed, load.min_basis_s)),
            staffed_s_in_window=staffed,
            calls_in_window=calls,
            talk_s_in_window=talk,
            calls_since_login=agent.calls_since_login,
            queues=agent.cfg.queues,
        )

    @staticmethod
    def _fairness(agents: tuple[AgentView, ...]) -> FairnessView:
        present = [a for a in agents if a.presence is Presence.LOGGED_IN]
        return FairnessView(
            advisors=len(present),
            calls=_spread([float(a.calls_in_window) for a in present]),
            talk_s=_spread([a.talk_s_in_window for a in present]),
            occupancy=_spread([a.occupancy for a in present]),
        )


def _spread(values: list[float]) -> Spread:
    if not values:
        return Spread(0.0, 0.0, 0.0, 0.0)
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / len(values)
    return Spread(min(values), max(values), mean, math.sqrt(var))


def _agent_id(call: _Call) -> str | None:
    return call.agent.cfg.id if call.agent is not None else None


def _call_id(agent: _Agent) -> str | None:
    return agent.call.id if agent.call is not None else None
