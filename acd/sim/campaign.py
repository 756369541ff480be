"""A simulated outbound campaign day through the production engine: pacing validated before dialing.

The dialer's decisions are the pure core's: ``acd.core.outbound_rules.may_dial`` before every
dial, ``acd.core.pacing.Pacer`` for how many contacts to dial, and ``acd.core.engine.Engine`` to
give each answered contact an advisor (the campaign's queue, ``max_wait_s`` = the pacer's
``no_advisor_s``, overflow ``hangup``: the short message, recorded ``outbound_abandoned``).
Inbound calls may share the advisors (blending: their queue's priority is higher).

Around them, the contacts are simulated: each dial is answered by a person (after a realistic
delay), by an answering machine, is busy, fails or rings out, with the probabilities of
``ContactModel``. Talk and advisors' outcomes (sale, refusal, do-not-call...) follow. A run is a
pure function of its inputs and seed; the attempt log it returns is what an independent checker
replays against the rules.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.calendar import CentreCalendar
from acd.core.config import AcdConfig, AgentConfig, OverflowTarget, QueueConfig, WorkloadPolicy
from acd.core.customers import Customer, Opposition
from acd.core.engine import Engine
from acd.core.outbound_rules import Attempt, AttemptOutcome, OutboundRules, may_dial
from acd.core.pacing import DialMode, Pacer, PacingInputs, PacingPolicy, rate
from acd.core.states import Activity, Outcome, PhoneState
from acd.sim.distributions import Distribution

CAMPAIGN_QUEUE: Final = "campaign"
INBOUND_QUEUE: Final = "inbound"
BUSY_ACTIVITIES: Final = frozenset({"reserved", "on_call", "wrap_up"})

# Heap entry kinds.
_DIAL_RESULT: Final = 0
_TIMER: Final = 1
_ADVISOR_ANSWERS: Final = 2
_TALK_END: Final = 3
_TICK: Final = 4
_INBOUND: Final = 5
_INBOUND_HANGUP: Final = 6
_PAUSE: Final = 7
_RESUME: Final = 8
PAUSE_REASON: Final = "lunch"


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactModel:
    """How dialed contacts behave: outcome probabilities and delays (seconds).

    The rest of the probability (1 - human - machine - busy - failed) rings out. Answer delays
    are log-normal (people pick up after a few rings: mean 12 s, sd 6 s).
    """

    human: float = 0.25
    machine: float = 0.08
    busy: float = 0.07
    failed: float = 0.03
    answer_mean_s: float = 12.0
    answer_sd_s: float = 6.0
    ring_timeout_s: float = 30.0
    busy_after_s: float = 3.0
    failed_after_s: float = 1.0
    handle_mean_s: float = 180.0
    machine_handle_s: float = 8.0  # the advisor hears the machine and hangs up (AMD off)
    advisor_pickup_s: float = 0.3  # advisors on auto-answer: the headset connects at once
    # Advisors' outcomes of a conversation.
    sale: float = 0.08
    refused: float = 0.35
    call_back_later: float = 0.12
    wrong_number: float = 0.03
    do_not_call: float = 0.02

    def __post_init__(self) -> None:
        network = self.human + self.machine + self.busy + self.failed
        talk = self.sale + self.refused + self.call_back_later + self.wrong_number
        if not 0 <= network <= 1 or not 0 <= talk + self.do_not_call <= 1:
            raise ValueError("probabilities must sum to at most 1")


@dataclass(frozen=True, slots=True)
class Contact:
    """One entry of the contact list: the number to dial and who it is."""

    number: str
    customer: Customer | None


@dataclass(frozen=True, slots=True)
class AttemptLogLine:
    """One dial, as the dialer recorded it: what the checker replays."""

    at: float
    number: str
    customer_id: str
    outcome: AttemptOutcome
    rule: str  # the rule may_dial named when it allowed the dial


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignDay:
    """A campaign day: advisors, contacts, rules, pacing, and optional inbound traffic."""

    start: float  # epoch seconds
    end: float
    advisors: int
    contacts: Sequence[Contact]
    rules: OutboundRules
    calendars: Mapping[str, CentreCalendar]
    pacing: PacingPolicy
    model: ContactModel = field(default_factory=ContactModel)
    history: Mapping[str, Sequence[Attempt]] = field(default_factory=dict)  # customer id ->
    oppositions: Sequence[Opposition] = ()
    wrap_up_s: float = 5.0
    workload: WorkloadPolicy = field(default_factory=WorkloadPolicy)
    retry_s: Mapping[AttemptOutcome, float] = field(
        default_factory=lambda: {
            AttemptOutcome.BUSY: 1800.0,
            AttemptOutcome.NO_ANSWER: 3 * 3600.0,
            AttemptOutcome.MACHINE: 4 * 3600.0,
            AttemptOutcome.FAILED: 3600.0,
            AttemptOutcome.ABANDONED: 4 * 3600.0,
            AttemptOutcome.CALL_BACK_LATER: 2 * 3600.0,
        }
    )
    # Instants all advisors pause (lunch: the legal hours stop 13:00-14:00) and come back.
    pauses: Sequence[tuple[float, float]] = ()
    inbound_per_hour: float = 0.0
    inbound_handle_s: float = 240.0
    inbound_patience_s: float = 90.0
    # A scenario's inbound demand (``acd simulate --campaign``): ``(epoch, calls per hour)``
    # from each instant on, replacing ``inbound_per_hour``; its handle and patience laws.
    inbound_profile: tuple[tuple[float, float], ...] = ()
    inbound_handle: Distribution | None = None
    inbound_patience: Distribution | None = None
    inbound_service_level_s: float = 20.0
    tick_s: float = 1.0
    campaign: str = "bench"


@dataclass(frozen=True, slots=True)
class CampaignResult:
    """A day's figures and its attempt log (``refused`` counts dials the rules refused)."""

    attempts: tuple[AttemptLogLine, ...]
    refused: Mapping[str, int]
    answered: int  # answered contacts counted by the abandon rate
    abandoned: int
    worst_window_rate: float
    connected: int  # conversations with an advisor (live answers)
    advisor_busy_s: float
    advisor_staffed_s: float
    inbound_offered: int
    inbound_answered: int
    hours: float
    advisors: int
    inbound_answered_in_time: int = 0  # within ``inbound_service_level_s``

    @property
    def inbound_service_level(self) -> float:
        """Inbound callers answered within the threshold over those offered."""
        return self.inbound_answered_in_time / self.inbound_offered if self.inbound_offered else 0.0

    @property
    def abandon_rate(self) -> float:
        return rate(self.abandoned, self.answered)

    @property
    def occupancy(self) -> float:
        return self.advisor_busy_s / self.advisor_staffed_s if self.advisor_staffed_s else 0.0

    @property
    def contacts_per_advisor_hour(self) -> float:
        return self.connected / (self.advisors * self.hours) if self.hours else 0.0


@dataclass(slots=True, eq=False)
class _Dial:
    call_id: str
    contact: Contact
    position: int
    at: float
    kind: AttemptOutcome  # what the network will answer
    live: bool = False  # answered and handed to the engine
    agent: str | None = None


class CampaignSimulation:
    """One run of ``CampaignDay``; ``run()`` once."""

    def __init__(self, day: CampaignDay, *, seed: int = 7) -> None:
        self.day = day
        self.rng = random.Random(seed)
        queues = [
            QueueConfig(
                CAMPAIGN_QUEUE,
                max_wait_s=day.pacing.no_advisor_s,
                overflow=OverflowTarget.parse("hangup"),
                announce_interval_s=None,
                wrap_up_s=day.wrap_up_s,
                ring_timeout_s=10.0,
                expected_handle_s=day.model.handle_mean_s,
            )
        ]
        served = [CAMPAIGN_QUEUE]
        if day.inbound_per_hour > 0 or day.inbound_profile:
            queues.append(QueueConfig(INBOUND_QUEUE, priority=10, announce_interval_s=None))
            served.append(INBOUND_QUEUE)
        config = AcdConfig(
            queues=tuple(queues),
            agents=tuple(
                AgentConfig(f"a{i:03d}", queues=tuple(served)) for i in range(day.advisors)
            ),
            workload=day.workload,
        )
        self.engine = Engine(config, start_at=day.start)
        self.pacer = Pacer(day.pacing)
        self._heap: list[tuple[float, int, int, Any]] = []
        self._seq = 0
        self._now = day.start
        self._timers: dict[str, float] = {}
        self._dials: dict[str, _Dial] = {}
        self._in_flight = 0
        self._waiting = 0
        self._activity: dict[str, str] = {}
        self._since: dict[str, float] = {}
        self._busy_s = 0.0
        self._staffed_s = 0.0
        self._counts = dict.fromkeys(("available", "on_call", "wrap_up", "reserved"), 0)
        # Contacts ready to dial: (not before, position).
        self._ready: list[tuple[float, int]] = [(day.start, i) for i in range(len(day.contacts))]
        self._history: dict[str, list[Attempt]] = {k: list(v) for k, v in day.history.items()}
        self._oppositions = list(day.oppositions)
        self._log: list[AttemptLogLine] = []
        self._refused: dict[str, int] = {}
        self._answered = 0
        self._abandoned = 0
        self._connected = 0
        self._worst_window = 0.0
        self._inbound_offered = 0
        self._inbound_answered = 0
        self._inbound_waiting: set[str] = set()
        self._inbound_arrived: dict[str, float] = {}
        self._inbound_in_time = 0
        self._handle_sum = 0.0
        self._handle_n = 0

    # ------------------------------------------------------------------ plumbing

    def _push(self, at: float, kind: int, ref: Any = None) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (at, self._seq, kind, ref))

    def _handle(self, event: ev.Event) -> None:
        for c in self.engine.handle(event):
            self._execute(c)

    def _execute(self, c: cmd.Command) -> None:
        if isinstance(c, cmd.RecordAgentState):
            if c.dimension == "activity":
                self._activity_changed(c.agent_id, c.new, c.at)
        elif isinstance(c, cmd.StartTimer):
            self._timers[c.timer_id] = c.fire_at
            self._push(c.fire_at, _TIMER, c.timer_id)
        elif isinstance(c, cmd.CancelTimer):
            self._timers.pop(c.timer_id, None)
        elif isinstance(c, cmd.RingAgent):
            dial = self._dials.get(c.call_id)
            if dial is not None:
                dial.agent = c.agent_id
            pickup = self.day.model.advisor_pickup_s
            self._push(self._now + pickup, _ADVISOR_ANSWERS, (c.call_id, c.agent_id))
        elif isinstance(c, cmd.CallCompleted):
            self._completed(c)

    def _activity_changed(self, agent_id: str, new: str, at: float) -> None:
        old = self._activity.get(agent_id)
        if old is not None:
            span = at - self._since[agent_id]
            if old not in {Activity.OFFLINE.value, Activity.PAUSED.value}:
                self._staffed_s += span
            if old in BUSY_ACTIVITIES:
                self._busy_s += span
            if old in self._counts:
                self._counts[old] -= 1
        self._activity[agent_id] = new
        self._since[agent_id] = at
        if new in self._counts:
            self._counts[new] += 1

    # ------------------------------------------------------------------ the day

    def run(self) -> CampaignResult:
        day = self.day
        for agent_id in (f"a{i:03d}" for i in range(day.advisors)):
            self._handle(ev.AgentLoggedIn(at=day.start, agent_id=agent_id))
        self._push(day.start, _TICK)
        for pause_start, pause_end in day.pauses:
            self._push(pause_start, _PAUSE)
            self._push(pause_end, _RESUME)
        if day.inbound_per_hour > 0 or day.inbound_profile:
            self._next_inbound(day.start)
        while self._heap:
            at, _, kind, ref = heapq.heappop(self._heap)
            if at > day.end and kind in {_TICK, _INBOUND}:
                continue
            self._now = at
            self._dispatch(kind, ref)
        end = max(self._now, day.end)
        for agent_id in list(self._activity):
            self._activity_changed(agent_id, Activity.OFFLINE.value, end)
        return CampaignResult(
            attempts=tuple(self._log),
            refused=dict(self._refused),
            answered=self._answered,
            abandoned=self._abandoned,
            worst_window_rate=self._worst_window,
            connected=self._connected,
            advisor_busy_s=self._busy_s,
            advisor_staffed_s=self._staffed_s,
            inbound_offered=self._inbound_offered,
            inbound_answered=self._inbound_answered,
            hours=(day.end - day.start) / 3600,
            advisors=day.advisors,
            inbound_answered_in_time=self._inbound_in_time,
        )

    def _dispatch(self, kind: int, ref: Any) -> None:
        now = self._now
        if kind == _TICK:
            self._pace()
            self._push(now + self.day.tick_s, _TICK)
        elif kind == _TIMER:
            if self._timers.get(ref) == now:
                del self._timers[ref]
                self._handle(ev.TimerFired(at=now, timer_id=ref))
        elif kind == _DIAL_RESULT:
            self._dial_result(ref)
        elif kind == _ADVISOR_ANSWERS:
            call_id, agent_id = ref
            self._advisor_answers(call_id, agent_id)
        elif kind == _TALK_END:
            call_id, agent_id = ref
            self._handle(ev.CallEnded(at=now, call_id=call_id))
            self._handle(ev.PhoneStateChanged(at=now, agent_id=agent_id, phone=PhoneState.IDLE))
            self._pace()
        elif kind == _INBOUND:
            self._inbound_arrives()
        elif kind == _PAUSE:
            for agent_id in list(self._activity):
                self._handle(ev.AgentPaused(at=now, agent_id=agent_id, reason=PAUSE_REASON))
        elif kind == _RESUME:
            for agent_id, activity in list(self._activity.items()):
                if activity == Activity.PAUSED.value:
                    self._handle(ev.AgentReady(at=now, agent_id=agent_id))
        elif kind == _INBOUND_HANGUP:
            call_id = ref
            if call_id in self._inbound_waiting:
                self._inbound_waiting.discard(call_id)
                self._handle(ev.CallerHungUp(at=now, call_id=call_id))

    # ------------------------------------------------------------------ inbound (blending)

    def _inbound_rate(self, at: float) -> float:
        """Inbound calls per hour in force at ``at``."""
        day = self.day
        if not day.inbound_profile:
            return day.inbound_per_hour
        rate = 0.0
        for since, per_hour in day.inbound_profile:
            if since > at:
                break
            rate = per_hour
        return rate

    def _next_inbound(self, after: float) -> None:
        """Poisson arrivals at the rate in force, the piecewise profile's steps included."""
        at = after
        while at < self.day.end:
            rate = self._inbound_rate(at)
            nxt = min(
                (since for since, _ in self.day.inbound_profile if since > at), default=math.inf
            )
            if rate > 0:
                arrival = at + self.rng.expovariate(rate / 3600)
                if arrival < nxt:
                    self._push(arrival, _INBOUND)
                    return
            if nxt == math.inf:
                return
            at = nxt

    def _inbound_arrives(self) -> None:
        day = self.day
        self._inbound_offered += 1
        call_id = f"in{self._inbound_offered:06d}"
        self._inbound_waiting.add(call_id)
        self._inbound_arrived[call_id] = self._now
        self._handle(ev.CallArrived(at=self._now, call_id=call_id, queue=INBOUND_QUEUE))
        patience = (
            day.inbound_patience.draw(self.rng)
            if day.inbound_patience is not None
            else day.inbound_patience_s
        )
        if math.isfinite(patience):
            self._push(self._now + patience, _INBOUND_HANGUP, call_id)
        self._next_inbound(self._now)

    # ------------------------------------------------------------------ pacing and dialing

    def _inputs(self) -> PacingInputs:
        mean_handle = (
            self._handle_sum / self._handle_n
            if self._handle_n >= 20
            else self.day.model.handle_mean_s
        )
        # Only advisors under the workload cap free up for the next contact: the others take a
        # breather first (after lunch, many reach the cap together).
        workload = self.day.workload
        busy = wrapping = 0
        for agent_id, activity in self._activity.items():
            if activity not in {"on_call", "reserved", "wrap_up"}:
                continue
            if workload.enabled and self.engine.occupancy(agent_id) > workload.occupancy_cap:
                continue
            if activity == "wrap_up":
                wrapping += 1
            else:
                busy += 1
        return PacingInputs(
            free_advisors=self._counts["available"],
            busy_advisors=busy,
            wrapping_advisors=wrapping,
            in_flight=self._in_flight,
            waiting=self._waiting,
            mean_handle_s=mean_handle,
            wrap_up_s=self.day.wrap_up_s,
            answer_delay_s=self.day.model.answer_mean_s,
        )

    def _dialing_stopped(self) -> bool:
        """No new dial that could be answered after the advisors stop (a pause, the end)."""
        margin = self.day.model.ring_timeout_s + 5.0
        if self._now >= self.day.end - margin:
            return True
        return any(start - margin <= self._now < end for start, end in self.day.pauses)

    def _pace(self) -> None:
        if self._dialing_stopped():
            return
        wanted = self.pacer.dials_now(self._now, self._inputs())
        while wanted > 0 and self._dial_next():
            wanted -= 1

    def _dial_next(self) -> bool:
        """Dial the next contact the rules allow now; False when none is ready."""
        day = self.day
        while self._ready and self._ready[0][0] <= self._now:
            _, position = heapq.heappop(self._ready)
            contact = day.contacts[position]
            customer = contact.customer
            key = customer.customer_id if customer is not None else contact.number
            decision = may_dial(
                contact.number,
                self._now,
                customer=customer,
                rules=day.rules,
                calendars=day.calendars,
                history=self._history.get(key, ()),
                oppositions=self._oppositions,
            )
            if not decision.allowed:
                self._refused[decision.rule.value] = self._refused.get(decision.rule.value, 0) + 1
                if decision.retry_at is not None and decision.retry_at < day.end:
                    heapq.heappush(self._ready, (decision.retry_at, position))
                continue
            self._dial(contact, position, key, decision.rule.value)
            return True
        return False

    def _dial(self, contact: Contact, position: int, key: str, rule: str) -> None:
        model = self.day.model
        draw = self.rng.random()
        if draw < model.human:
            kind, delay = AttemptOutcome.ANSWERED, self._answer_delay()
        elif draw < model.human + model.machine:
            kind, delay = AttemptOutcome.MACHINE, self._answer_delay()
        elif draw < model.human + model.machine + model.busy:
            kind, delay = AttemptOutcome.BUSY, model.busy_after_s
        elif draw < model.human + model.machine + model.busy + model.failed:
            kind, delay = AttemptOutcome.FAILED, model.failed_after_s
        else:
            kind, delay = AttemptOutcome.NO_ANSWER, model.ring_timeout_s
        if delay >= model.ring_timeout_s and kind in {
            AttemptOutcome.ANSWERED,
            AttemptOutcome.MACHINE,
        }:
            kind, delay = AttemptOutcome.NO_ANSWER, model.ring_timeout_s
        call_id = f"o{len(self._log) + 1:07d}"
        dial = _Dial(call_id, contact, position, self._now, kind)
        self._dials[call_id] = dial
        self._in_flight += 1
        # Every dial counts toward the person's attempts, answered or not.
        self._history.setdefault(key, []).append(
            Attempt(self._now, contact.number, self.day.campaign, AttemptOutcome.NO_ANSWER)
        )
        customer_id = contact.customer.customer_id if contact.customer is not None else ""
        self._log.append(AttemptLogLine(self._now, contact.number, customer_id, kind, rule))
        self._push(self._now + delay, _DIAL_RESULT, call_id)

    def _answer_delay(self) -> float:
        model = self.day.model
        sigma2 = math.log1p((model.answer_sd_s / model.answer_mean_s) ** 2)
        mu = math.log(model.answer_mean_s) - sigma2 / 2
        return max(2.0, self.rng.lognormvariate(mu, math.sqrt(sigma2)))

    def _dial_result(self, call_id: str) -> None:
        dial = self._dials[call_id]
        self._in_flight -= 1
        answered = dial.kind in {AttemptOutcome.ANSWERED, AttemptOutcome.MACHINE}
        self.pacer.resolved(answered=answered)
        if answered:
            dial.live = True
            self._waiting += 1
            self._handle(
                ev.CallArrived(
                    at=self._now,
                    call_id=call_id,
                    queue=CAMPAIGN_QUEUE,
                    caller_number=dial.contact.number,
                )
            )
            return
        del self._dials[call_id]
        self._retry(dial, dial.kind)
        self._pace()

    def _advisor_answers(self, call_id: str, agent_id: str) -> None:
        now = self._now
        if call_id.startswith("in"):
            if call_id not in self._inbound_waiting:
                return
            self._inbound_waiting.discard(call_id)
            self._inbound_answered += 1
            arrived = self._inbound_arrived.pop(call_id, now)
            if now - arrived <= self.day.inbound_service_level_s:
                self._inbound_in_time += 1
            self._handle(ev.AgentAnswered(at=now, call_id=call_id, agent_id=agent_id))
            self._handle(ev.PhoneStateChanged(at=now, agent_id=agent_id, phone=PhoneState.IN_USE))
            handle = self.day.inbound_handle
            talk = (
                handle.draw(self.rng)
                if handle is not None
                else self.rng.expovariate(1 / self.day.inbound_handle_s)
            )
            self._push(now + talk, _TALK_END, (call_id, agent_id))
            return
        dial = self._dials.get(call_id)
        if dial is None or dial.agent != agent_id:
            return
        self._waiting -= 1
        self._handle(ev.AgentAnswered(at=now, call_id=call_id, agent_id=agent_id))
        self._handle(ev.PhoneStateChanged(at=now, agent_id=agent_id, phone=PhoneState.IN_USE))
        self.pacer.connected(now)
        if dial.kind is AttemptOutcome.MACHINE:
            talk = self.day.model.machine_handle_s
        else:
            talk = max(15.0, self.rng.expovariate(1 / self.day.model.handle_mean_s))
            self._connected += 1
            self._handle_sum += talk
            self._handle_n += 1
        self._answered += 1
        self._push(now + talk, _TALK_END, (call_id, agent_id))

    def _completed(self, c: cmd.CallCompleted) -> None:
        if INBOUND_QUEUE in {c.queue, c.first_queue}:
            self._inbound_waiting.discard(c.call_id)
            return
        dial = self._dials.pop(c.call_id, None)
        if dial is None:
            return
        if c.outcome is Outcome.ANSWERED:
            self._after_conversation(dial)
            return
        # No advisor within the limit: the short message naming the centre, then hang up.
        self._waiting -= 1
        self._answered += 1
        self._abandoned += 1
        self.pacer.abandoned(self._now)
        window = rate(*self.pacer.meter.window(self._now))
        if self.pacer.meter.window(self._now)[1] >= 100:
            self._worst_window = max(self._worst_window, window)
        self._retry(dial, AttemptOutcome.ABANDONED)

    def _after_conversation(self, dial: _Dial) -> None:
        model = self.day.model
        if dial.kind is AttemptOutcome.MACHINE:
            self._retry(dial, AttemptOutcome.MACHINE)
            return
        draw = self.rng.random()
        bounds = (
            (model.sale, AttemptOutcome.SALE),
            (model.refused, AttemptOutcome.REFUSED),
            (model.call_back_later, AttemptOutcome.CALL_BACK_LATER),
            (model.wrong_number, AttemptOutcome.WRONG_NUMBER),
            (model.do_not_call, AttemptOutcome.DO_NOT_CALL),
        )
        outcome = AttemptOutcome.ANSWERED
        for share, candidate in bounds:
            if draw < share:
                outcome = candidate
                break
            draw -= share
        self._set_outcome(dial, outcome)
        if outcome is AttemptOutcome.DO_NOT_CALL:
            self._oppositions.append(
                Opposition(number=dial.contact.number, since=self._now, source="dnc")
            )
        if outcome is AttemptOutcome.CALL_BACK_LATER:
            self._retry(dial, outcome)

    def _set_outcome(self, dial: _Dial, outcome: AttemptOutcome) -> None:
        """The advisor's outcome replaces the attempt's in the history and the log."""
        customer = dial.contact.customer
        key = customer.customer_id if customer is not None else dial.contact.number
        history = self._history.get(key, [])
        for i in range(len(history) - 1, -1, -1):
            if history[i].at == dial.at:
                history[i] = Attempt(dial.at, dial.contact.number, self.day.campaign, outcome)
                break
        for i in range(len(self._log) - 1, -1, -1):
            line = self._log[i]
            if line.at == dial.at and line.number == dial.contact.number:
                self._log[i] = AttemptLogLine(
                    line.at, line.number, line.customer_id, outcome, line.rule
                )
                break

    def _retry(self, dial: _Dial, outcome: AttemptOutcome) -> None:
        if outcome is not dial.kind:
            self._set_outcome(dial, outcome)
        wait = self.day.retry_s.get(outcome)
        if wait is not None and self._now + wait < self.day.end:
            heapq.heappush(self._ready, (self._now + wait, dial.position))


def run_campaign_day(day: CampaignDay, *, seed: int = 7) -> CampaignResult:
    """Simulate ``day`` with ``seed``; the same inputs give the same result."""
    return CampaignSimulation(day, seed=seed).run()


__all__ = [
    "AttemptLogLine",
    "CampaignDay",
    "CampaignResult",
    "CampaignSimulation",
    "Contact",
    "ContactModel",
    "DialMode",
    "run_campaign_day",
]
