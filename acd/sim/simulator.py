"""The discrete-event simulator: a heap of virtual-time events driving the production engine.

Nothing here sleeps or waits: the next event is popped, stamped with its virtual time and handed
to ``acd.core.engine.Engine.handle``; the commands that come back schedule what the simulated
callers, phones and advisors do next. Events reach the engine in non-decreasing time order, ties
in the order they were scheduled, so a run is a pure function of (configuration, scenario, seed).

What is simulated around the engine:

* callers arrive (Poisson per queue, or given arrivals), wait, and hang up at their patience
  unless answered first;
* ``RingAgent``: after a ring delay the advisor answers (``AgentAnswered``, then the phone goes
  ``IN_USE``), or with the no-answer probability the ring times out (``AgentDidNotAnswer``);
  talk lasts the caller's handle time, then ``CallEnded`` and the phone goes ``IDLE``;
* ``StartTimer``/``CancelTimer``: a ``TimerFired`` on the heap, forgotten when cancelled;
* ``PlayPrompt``: the announcement ends (``PromptEnded``) after ``prompt_s`` unless stopped;
* the roster: log in, breaks (a pause, taken after the current call), end of shift (a pause,
  then log out), and advisors paused for missed calls come back after ``no_answer_pause_s``;
* callbacks: a caller offered one (``PlayPrompt`` ``callback_offer``, or ``callback_offer_closed``
  to a caller of a closed queue) accepts it with
  ``callback_acceptance`` (the key a second later) and confirms the number read back (1 as
  the read-back ends, ``prompt_s`` later); the choice is taken at once
  (``CallbackRequested``: no do-not-call list here); ``ReserveAgent`` for it: the advisor's leg
  is answered after a ring delay, the customer answers with ``callback_reach`` (talk as the
  caller's handle time) or the attempt fails after ``CUSTOMER_RING_S`` (``ReservationReleased``).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import heapq
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.calendar import next_transition, opening_at
from acd.core.config import AcdConfig
from acd.core.customers import DATA_CUSTOMER_ID, DATA_LAST_AGENT
from acd.core.engine import Engine
from acd.core.errors import CoreError
from acd.core.states import BUSY_ACTIVITIES, STAFFED_ACTIVITIES, Activity, PhoneState
from acd.sim.results import AgentDay, SimulationResult
from acd.sim.scenario import Caller, Scenario, draw_callers

DecisionCallback = Callable[[float, ev.Event, list[cmd.Command]], None]
"""Receives (virtual time, event, the engine's commands) after every event: the decision log."""

BREAK_REASON: Final = "break"
SHIFT_END_REASON: Final = "shift_end"
NO_ANSWER_REASON: Final = "no_answer"

# Heap entry kinds. Entries are (at, seq, kind, ref, token); ``seq`` makes ties FIFO.
_TIMER: Final = 0
_ANSWER: Final = 1
_NO_ANSWER: Final = 2
_ABANDON: Final = 3
_TALK_END: Final = 4
_PROMPT_END: Final = 5
_LOG_IN: Final = 6
_SHIFT_END: Final = 7
_BREAK: Final = 8
_READY: Final = 9
_LOG_OUT: Final = 10
_WRAP_DONE: Final = 11
_HOURS: Final = 12
_KEY: Final = 13
_CHOSEN: Final = 14
_CALLBACK_ANSWER: Final = 15
_CALLBACK_MISSED: Final = 16
_NUMBER_CONFIRMED: Final = 17
# How long a simulated customer's phone rings before a callback attempt counts as failed.
CUSTOMER_RING_S: Final = 20.0

_ACTIVITIES: Final = tuple(a.value for a in Activity)
# Activity values as plain strings: compared on every event, cheaper than enum attribute lookups.
_OFFLINE: Final = Activity.OFFLINE.value
_PAUSED: Final = Activity.PAUSED.value
_WRAP_UP: Final = Activity.WRAP_UP.value
_BREATHER: Final = Activity.BREATHER.value
_BUSY: Final = frozenset(a.value for a in BUSY_ACTIVITIES)
_STAFFED: Final = frozenset(a.value for a in STAFFED_ACTIVITIES)


class SimulationError(RuntimeError):
    """The engine refused an event the simulator built: a bug in one of them, with the context."""


@dataclass(slots=True, eq=False)
class _Call:
    id: str
    caller: Caller
    answered: bool = False
    done: bool = False
    ring: int = 0  # token of the presentation in progress; stale ring outcomes are dropped
    prompt: int = 0  # token of the prompt in progress
    agent: str | None = None
    confirming: str = ""  # the callback number read back to the caller, who will confirm it


@dataclass(slots=True, eq=False)
class _Advisor:
    id: str
    activity: str = _OFFLINE
    reason: str | None = None
    since: float = 0.0
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(_ACTIVITIES, 0.0))
    calls: int = 0
    talk_s: float = 0.0
    breathers: int = 0
    missed: int = 0
    pause_token: int = 0
    wrap_token: int = 0
    break_s: float = 0.0  # length of the break asked for last (it starts when the pause does)


class DaySimulation:
    """One run of one scenario under one configuration; ``run()`` once, then read the result."""

    def __init__(
        self,
        config: AcdConfig,
        scenario: Scenario,
        *,
        seed: int | None = None,
        on_decision: DecisionCallback | None = None,
    ) -> None:
        self.config = config
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.on_decision = on_decision
        self.engine = Engine(config, start_at=scenario.open_s)
        # Presentation outcomes have their own stream: routing changes how many presentations
        # happen, and this keeps that from shifting the callers' own draws.
        self._ring_rng = random.Random(f"{self.seed}:ring")
        self._callback_rng = random.Random(f"{self.seed}:callback")
        self._heap: list[tuple[float, int, int, Any, int, float]] = []
        self._seq = 0
        self._now = scenario.open_s
        self._timers: dict[str, float] = {}
        self._calls: dict[str, _Call] = {}
        self._last_agents: dict[str, str] = {}  # customer id -> advisor who answered them last
        self._live = 0
        self._completed: list[cmd.CallCompleted] = []
        self._advisors = {a.id: _Advisor(a.id, since=scenario.open_s) for a in config.agents}
        self._events = 0
        self._breather_holds = 0
        self._moved_on: list[tuple[str, str]] = []
        self._no_queue = 0
        self._queue_names = frozenset(q.name for q in config.queues)
        starts = scenario.intervals()
        self._busy = [0.0] * len(starts)
        self._staffed = [0.0] * len(starts)
        self._ran = False

    # ------------------------------------------------------------------ scheduling

    def _push(
        self, at: float, kind: int, ref: Any = None, token: int = 0, value: float = 0.0
    ) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (at, self._seq, kind, ref, token, value))

    def _handle(self, event: ev.Event) -> None:
        try:
            commands = self.engine.handle(event)
        except CoreError as exc:
            raise SimulationError(f"engine refused {event!r} at {self._now:.3f}: {exc}") from exc
        self._events += 1
        for c in commands:
            if isinstance(c, cmd.RecordCallEvent):
                if c.kind == "breather_hold":
                    self._breather_holds += 1
                elif c.kind == "overflowed" and str(c.data.get("target", "")).startswith("queue:"):
                    # Moved on to another queue of the engine: offered to (and overflowed out
                    # of) the queue it leaves, as the engine's and the reports' figures count it.
                    self._moved_on.append((c.call_id, c.queue))
        if self.on_decision is not None:
            self.on_decision(self._now, event, commands)
        self._execute(commands)

    def _schedule_roster(self) -> None:
        scenario = self.scenario
        ids = list(self._advisors)
        if scenario.roster is None:
            for agent_id in ids:
                self._push(scenario.open_s, _LOG_IN, agent_id)
            return
        # The engine's clock starts at opening: anything scheduled earlier happens then.
        opening = scenario.open_s
        for shift in scenario.roster:
            chosen = [i for i in ids if any(fnmatch.fnmatchcase(i, p) for p in shift.agents)]
            for agent_id in chosen:
                self._push(max(shift.start, opening), _LOG_IN, agent_id)
                for b in shift.breaks:
                    start = max(b.at, opening)
                    remaining = b.at + b.duration_s - start
                    if remaining > 0:  # a break over before opening never happens
                        self._push(start, _BREAK, agent_id, 0, remaining)
                if shift.end is not None:
                    self._push(max(shift.end, opening), _SHIFT_END, agent_id)

    def _schedule_hours(self) -> None:
        """Each queue's openings, last entries and closings that day, as the runtime posts them
        (the same ``acd.core.calendar`` evaluation), from opening until the drain ends."""
        hours = self.scenario.hours
        if hours is None:
            return
        base = hours.day_start
        stop = base + self.scenario.close_s + self.scenario.max_drain_s
        for q in self.config.queues:
            schedule = self.config.schedule(q.schedule)
            if schedule is None:
                continue
            at: float | None = base + self.scenario.open_s
            while at is not None and at < stop:
                self._push(at - base, _HOURS, q.name)
                at = next_transition(
                    schedule, hours.centre, at, last_entry_s=q.last_entry_before_close_s
                )

    def _post_hours(self, queue: str) -> None:
        hours = self.scenario.hours
        q = self.config.queue(queue)
        assert hours is not None
        assert q is not None
        base = hours.day_start
        opening = opening_at(
            self.config.schedule(q.schedule),
            hours.centre,
            base + self._now,
            last_entry_s=q.last_entry_before_close_s,
        )
        # The engine's clock is the simulated day's seconds: so are the instants it is given.
        opening = dataclasses.replace(
            opening,
            next_change=None if opening.next_change is None else opening.next_change - base,
            closes_at=None if opening.closes_at is None else opening.closes_at - base,
        )
        self._handle(ev.QueueHoursChanged(at=self._now, queue=queue, opening=opening))

    # ------------------------------------------------------------------ the loop

    def run(self) -> SimulationResult:
        """Simulate the day and return its raw result."""
        if self._ran:
            raise SimulationError("a DaySimulation runs once")
        self._ran = True
        scenario = self.scenario
        callers = draw_callers(scenario, self.seed)
        self._schedule_hours()
        self._schedule_roster()
        heap = self._heap
        pop = heapq.heappop
        n_callers = len(callers)
        next_caller = 0
        close = scenario.close_s
        hard_stop = close + scenario.max_drain_s
        while True:
            # On a tie the heap goes first: advisors logging in at opening meet the first caller.
            if next_caller < n_callers and (not heap or callers[next_caller].at < heap[0][0]):
                caller = callers[next_caller]
                next_caller += 1
                if caller.at >= hard_stop:
                    break
                self._now = caller.at
                self._arrive(caller, next_caller)
                continue
            if not heap:
                break
            at = heap[0][0]
            if at >= hard_stop:
                break
            if next_caller >= n_callers and self._live == 0 and at >= close:
                break  # the day is over and every caller is served: only idle timers remain
            at, _, kind, ref, token, value = pop(heap)
            self._now = at
            self._dispatch(kind, ref, token, value)
        end = max(self._now, close)
        self._now = end
        for advisor in self._advisors.values():
            self._account(advisor, end)
        return SimulationResult(
            seed=self.seed,
            open_s=scenario.open_s,
            close_s=scenario.close_s,
            interval_s=scenario.interval_s,
            ended_at=end,
            calls=tuple(self._completed),
            unfinished=self._live,
            without_queue=self._no_queue,
            agents=tuple(
                AgentDay(
                    a.id,
                    {k: v for k, v in a.seconds.items() if v},
                    a.calls,
                    a.talk_s,
                    a.breathers,
                    a.missed,
                )
                for a in self._advisors.values()
            ),
            interval_busy_s=tuple(self._busy),
            interval_staffed_s=tuple(self._staffed),
            events=self._events,
            service_level_s={q.name: q.service_level_s for q in self.config.queues},
            short_abandon_s=self.config.short_abandon_s,
            warmup_s=scenario.warmup_s,
            breather_holds=self._breather_holds,
            moved_on=tuple(self._moved_on),
        )

    def _arrive(self, caller: Caller, number: int) -> None:
        if caller.queue not in self._queue_names:
            # The scenario describes a queue this configuration does not have: count the caller
            # rather than crash, so configurations can be compared on one scenario.
            self._no_queue += 1
            return
        call = _Call(f"c{number:06d}", caller)
        self._calls[call.id] = call
        # A fictional mobile number per caller (a callback needs one to pass the number rules).
        caller_number = f"+3361{number:07d}"
        self._live += 1
        if math.isfinite(caller.patience_s):
            self._push(caller.at + caller.patience_s, _ABANDON, call)
        data = dict(caller.data)
        customer_id = data.get(DATA_CUSTOMER_ID)
        last = self._last_agents.get(customer_id) if customer_id else None
        if last is not None:
            # A repeat caller: who answered them last, as the daemon's directory would tell.
            data.setdefault(DATA_LAST_AGENT, last)
        self._handle(
            ev.CallArrived(
                at=caller.at,
                call_id=call.id,
                queue=caller.queue,
                priority=caller.priority,
                caller_number=caller_number,
                data=data,
            )
        )

    def _dispatch(self, kind: int, ref: Any, token: int, value: float) -> None:
        now = self._now
        if kind == _HOURS:
            self._post_hours(ref)
        elif kind == _TIMER:
            timer_id: str = ref
            if self._timers.get(timer_id) == now:
                del self._timers[timer_id]
                self._handle(ev.TimerFired(at=now, timer_id=timer_id))
        elif kind == _ANSWER:
            call: _Call = ref
            if call.done or call.ring != token or call.agent is None:
                return
            agent_id = call.agent
            call.answered = True
            advisor = self._advisors[agent_id]
            advisor.calls += 1
            advisor.talk_s += call.caller.handle_s
            for key, cell in call.caller.data:
                if key == DATA_CUSTOMER_ID:
                    self._last_agents[cell] = agent_id
            self._handle(ev.AgentAnswered(at=now, call_id=call.id, agent_id=agent_id))
            self._handle(ev.PhoneStateChanged(at=now, agent_id=agent_id, phone=PhoneState.IN_USE))
            self._push(now + call.caller.handle_s, _TALK_END, call)
        elif kind == _NO_ANSWER:
            call = ref
            if call.done or call.ring != token or call.agent is None:
                return
            agent_id = call.agent
            call.agent = None
            self._advisors[agent_id].missed += 1
            self._handle(ev.AgentDidNotAnswer(at=now, call_id=call.id, agent_id=agent_id))
        elif kind == _ABANDON:
            call = ref
            if call.done or call.answered:
                return
            call.ring += 1
            call.agent = None
            self._handle(ev.CallerHungUp(at=now, call_id=call.id))
        elif kind == _TALK_END:
            call = ref
            agent_id = call.agent or ""
            advisor = self._advisors[agent_id]
            advisor.wrap_token += 1
            self._handle(ev.CallEnded(at=now, call_id=call.id))
            self._handle(ev.PhoneStateChanged(at=now, agent_id=agent_id, phone=PhoneState.IDLE))
            wrap = call.caller.wrap_up_s
            if wrap is not None and advisor.activity == _WRAP_UP:
                self._push(now + wrap, _WRAP_DONE, advisor, advisor.wrap_token)
        elif kind == _PROMPT_END:
            call = ref
            if call.prompt == token and not call.done:
                call.prompt += 1
                self._handle(ev.PromptEnded(at=now, call_id=call.id))
        elif kind == _LOG_IN:
            agent_id = ref
            if self._advisors[agent_id].activity == _OFFLINE:
                self._handle(ev.AgentLoggedIn(at=now, agent_id=agent_id))
        elif kind == _SHIFT_END:
            if self._advisors[ref].activity != _OFFLINE:
                self._handle(ev.AgentPaused(at=now, agent_id=ref, reason=SHIFT_END_REASON))
        elif kind == _BREAK:
            advisor = self._advisors[ref]
            if advisor.activity == _OFFLINE or advisor.reason == SHIFT_END_REASON:
                return
            advisor.break_s = value
            self._handle(ev.AgentPaused(at=now, agent_id=ref, reason=BREAK_REASON))
        elif kind == _READY:
            advisor = ref
            if advisor.pause_token == token and advisor.activity == _PAUSED:
                self._handle(ev.AgentReady(at=now, agent_id=advisor.id))
        elif kind == _LOG_OUT:
            advisor = ref
            if advisor.activity == _PAUSED and advisor.reason == SHIFT_END_REASON:
                self._handle(ev.AgentLoggedOut(at=now, agent_id=advisor.id))
        elif kind == _KEY:
            call = ref
            if not call.done and not call.answered:
                queue = self.config.queue(call.caller.queue)
                digit = queue.callback_key if queue is not None else "1"
                self._handle(ev.CallerKeyPressed(at=now, call_id=call.id, digit=digit))
        elif kind == _NUMBER_CONFIRMED:
            call = ref
            if call.prompt == token and not call.done and not call.answered:
                call.prompt += 1
                self._handle(ev.PromptEnded(at=now, call_id=call.id))
                self._handle(
                    ev.CallbackNumberConfirmed(at=now, call_id=call.id, number=call.confirming)
                )
        elif kind == _CHOSEN:
            chosen: cmd.CallbackChosen = ref
            origin = self._calls.get(chosen.call_id)
            if origin is None or origin.done or origin.answered:
                return
            self._calls[chosen.callback_id] = _Call(chosen.callback_id, origin.caller)
            self._live += 1
            self._handle(
                ev.CallbackRequested(
                    at=now,
                    call_id=chosen.callback_id,
                    queue=chosen.queue,
                    number=chosen.number,
                    from_call_id=chosen.call_id,
                )
            )
        elif kind == _CALLBACK_ANSWER:
            call = ref
            if call.done or call.ring != token or call.agent is None:
                return
            agent_id = call.agent
            call.answered = True
            advisor = self._advisors[agent_id]
            advisor.calls += 1
            advisor.talk_s += call.caller.handle_s
            self._handle(ev.AgentAnswered(at=now, call_id=call.id, agent_id=agent_id))
            self._handle(ev.PhoneStateChanged(at=now, agent_id=agent_id, phone=PhoneState.IN_USE))
            self._push(now + call.caller.handle_s, _TALK_END, call)
        elif kind == _CALLBACK_MISSED:
            call = ref
            if call.done or call.ring != token:
                return
            call.agent = None
            self._handle(ev.ReservationReleased(at=now, call_id=call.id, reason="no_answer"))
        elif kind == _WRAP_DONE:
            advisor = ref
            if advisor.wrap_token == token and advisor.activity == _WRAP_UP:
                self._handle(ev.WrapUpEnded(at=now, agent_id=advisor.id))

    # ------------------------------------------------------------------ the engine's commands

    def _execute(self, commands: list[cmd.Command]) -> None:
        now = self._now
        for c in commands:
            # Most frequent first: this loop runs for every command of every event.
            if isinstance(c, cmd.RecordCallEvent):
                continue
            if isinstance(c, cmd.RecordAgentState):
                if c.dimension == "activity":
                    self._agent_changed(c)
            elif isinstance(c, cmd.StartTimer):
                self._timers[c.timer_id] = c.fire_at
                self._push(c.fire_at, _TIMER, c.timer_id)
            elif isinstance(c, cmd.CancelTimer):
                self._timers.pop(c.timer_id, None)
            elif isinstance(c, cmd.RingAgent):
                call = self._calls[c.call_id]
                call.ring += 1
                call.agent = c.agent_id
                rng = self._ring_rng
                missed = rng.random() < self.scenario.no_answer_probability
                delay = self.scenario.ring_delay_s.draw(rng)
                if missed or delay >= c.ring_timeout_s:
                    self._push(now + c.ring_timeout_s, _NO_ANSWER, call, call.ring)
                else:
                    self._push(now + delay, _ANSWER, call, call.ring)
            elif isinstance(c, cmd.CallCompleted):
                self._completed.append(c)
                call = self._calls.pop(c.call_id)
                call.done = True
                self._live -= 1
            elif isinstance(c, cmd.PlayPrompt):
                call = self._calls[c.call_id]
                call.prompt += 1
                if c.kind == "callback_confirm":
                    # The number read back: the caller presses 1 as it ends.
                    call.confirming = c.digits
                    self._push(now + self.scenario.prompt_s, _NUMBER_CONFIRMED, call, call.prompt)
                    continue
                self._push(now + self.scenario.prompt_s, _PROMPT_END, call, call.prompt)
                if (
                    c.kind in ("callback_offer", "callback_offer_closed")
                    and self._callback_rng.random() < self.scenario.callback_acceptance
                ):
                    self._push(now + 1.0, _KEY, call)
            elif isinstance(c, cmd.CallbackChosen):
                self._push(now, _CHOSEN, c)
            elif isinstance(c, cmd.ReserveAgent):
                call = self._calls[c.call_id]
                call.ring += 1
                call.agent = c.agent_id
                rng = self._callback_rng
                # The advisor's own phone answers, then the customer's rings.
                delay = self.scenario.ring_delay_s.draw(rng)
                if rng.random() < self.scenario.callback_reach:
                    self._push(now + delay + 1.0, _CALLBACK_ANSWER, call, call.ring)
                else:
                    self._push(now + delay + CUSTOMER_RING_S, _CALLBACK_MISSED, call, call.ring)
            elif isinstance(c, cmd.StopPrompt):
                self._calls[c.call_id].prompt += 1
            # OverflowCall and EndCall: the call's CallCompleted follows in the same list.

    def _agent_changed(self, c: cmd.RecordAgentState) -> None:
        advisor = self._advisors[c.agent_id]
        self._account(advisor, c.at)
        advisor.activity = c.new
        advisor.reason = c.reason
        if c.new == _PAUSED:
            advisor.pause_token += 1
            if c.reason == SHIFT_END_REASON:
                self._push(c.at, _LOG_OUT, advisor)
            elif c.reason == BREAK_REASON:
                self._push(c.at + advisor.break_s, _READY, advisor, advisor.pause_token)
            elif c.reason == NO_ANSWER_REASON:
                back = c.at + self.scenario.no_answer_pause_s
                self._push(back, _READY, advisor, advisor.pause_token)
        elif c.new == _BREATHER:
            advisor.breathers += 1

    def _account(self, advisor: _Advisor, until: float) -> None:
        """Add the time since the advisor's last change to their current activity."""
        start = advisor.since
        advisor.since = until
        span = until - start
        if span <= 0:
            return
        activity = advisor.activity
        advisor.seconds[activity] += span
        if activity in _BUSY:
            self._spread(self._busy, start, until)
        if activity in _STAFFED:
            self._spread(self._staffed, start, until)

    def _spread(self, buckets: list[float], start: float, end: float) -> None:
        """Add ``[start, end)``, clipped to opening hours, to the reporting intervals it covers."""
        scenario = self.scenario
        lo = max(start, scenario.open_s)
        hi = min(end, scenario.close_s)
        size = scenario.interval_s
        n = len(buckets)
        while lo < hi:
            idx = int((lo - scenario.open_s) // size)
            if idx >= n:
                break
            stop = min(hi, scenario.open_s + (idx + 1) * size)
            buckets[idx] += stop - lo
            lo = stop


def run_day(
    config: AcdConfig,
    scenario: Scenario,
    *,
    seed: int | None = None,
    on_decision: DecisionCallback | None = None,
) -> SimulationResult:
    """Simulate one day of ``scenario`` under ``config`` (seed: the scenario's unless given).

    ``on_decision`` receives (virtual time, event, commands) after each event the engine handles:
    the engine's decisions, in order, for a decision log.
    """
    return DaySimulation(config, scenario, seed=seed, on_decision=on_decision).run()
