"""Property tests over random event sequences (hypothesis).

A driver plays a random but plausible life of a small call centre (arrivals, answers, misses,
hang-ups, pauses, phone changes, timers, reloads, plus deliberately bad events) and checks after
every event, against an oracle built only from the configuration and the recorded commands:

* a call is presented only to an advisor who serves its queue, satisfies its current routing
  step, and was routable (logged in, phone idle, available, under the cap: not reserved);
* every ``RecordAgentState`` starts from the state the previous records left (no silent jump);
* equal-priority calls of one queue are taken first-come first-served by an eligible advisor;
* no routable advisor is ever left idle while a waiting call it is eligible for exists (the
  routing invariant; its holds: a no-answer cooldown, a breather — the advisor is not routable),
  so with a last step of ``any`` no call starves — with priority ageing, skipped unstaffed steps
  and yielding breathers drawn per queue;
* a refused event changes nothing;
* occupancy never exceeds 1, and each queue's daily counters stay consistent (answered +
  abandoned <= offered, service level <= 1) across day rollovers, as do the centre's (each call
  once, never fewer answers or abandons than the queues count);
* the same sequence always yields the same commands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.config import (
    AcdConfig,
    AgentConfig,
    EmptyPolicy,
    OverflowTarget,
    Policy,
    QueueConfig,
    RoutingStep,
    WorkloadPolicy,
)
from acd.core.engine import Engine
from acd.core.errors import CoreError
from acd.core.states import CallState, PhoneState

SKILLS = ("fr", "bill", "tech")
EXPRESSIONS = ("fr>=4 and bill>=3", "fr>=2", "tech>=3 or bill>=4", "fr>=3 and not tech<2", "bill")


@st.composite
def configs(draw: st.DrawFn) -> AcdConfig:
    """2-3 queues with relaxing steps ending in `any`, 3-6 advisors; advisor 0 can do it all.

    Priority ageing, skipped unstaffed steps and yielding breathers vary per queue."""
    n_queues = draw(st.integers(2, 3))
    names = [f"q{i}" for i in range(n_queues)]
    queues = []
    for i, name in enumerate(names):
        n_steps = draw(st.integers(1, 3))
        exprs = draw(st.lists(st.sampled_from(EXPRESSIONS), min_size=n_steps - 1, max_size=2))
        exprs = exprs[: n_steps - 1]
        relaxing = [RoutingStep(e, draw(st.sampled_from([5.0, 20.0, 45.0]))) for e in exprs]
        steps = (*relaxing, RoutingStep("any"))
        overflow = None
        max_wait = None
        if draw(st.booleans()):
            max_wait = draw(st.sampled_from([30.0, 90.0]))
            # Overflow only "forward" (to a higher-numbered queue) so there is no loop.
            targets = ["hangup", "extension:vm@acd"] + [f"queue:{n}" for n in names[i + 1 :]]
            overflow = OverflowTarget.parse(draw(st.sampled_from(targets)))
        queues.append(
            QueueConfig(
                name=name,
                steps=steps,
                policy=draw(st.sampled_from(list(Policy))),
                weight=draw(st.sampled_from([0.5, 1.0, 2.0, 3.0])),
                priority=draw(st.integers(0, 1)),
                max_wait_s=max_wait,
                overflow=overflow,
                join_when_empty=draw(st.sampled_from(list(EmptyPolicy))),
                leave_when_empty=draw(st.sampled_from(list(EmptyPolicy))),
                announce_interval_s=draw(st.sampled_from([None, 15.0])),
                wrap_up_s=draw(st.sampled_from([0.0, 5.0, 20.0])),
                ring_timeout_s=10.0,
                priority_ageing_s=draw(st.sampled_from([0.0, 20.0, 60.0])),
                skip_unstaffed_steps=draw(st.booleans()),
                breather_yield_after_s=draw(st.sampled_from([None, 30.0])),
            )
        )
    n_agents = draw(st.integers(3, 6))
    agents = [AgentConfig("a0", skills=dict.fromkeys(SKILLS, 5), queues=tuple(names))]
    for j in range(1, n_agents):
        served = draw(st.lists(st.sampled_from(names), min_size=1, max_size=n_queues, unique=True))
        skills = draw(st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5)))
        agents.append(
            AgentConfig(
                f"a{j}",
                skills=skills,
                queues=tuple(served),
                wrap_up_s=draw(st.sampled_from([None, 0.0, 8.0])),
                max_missed=draw(st.integers(1, 3)),
            )
        )
    workload = draw(
        st.sampled_from(
            [
                WorkloadPolicy(enabled=False),
                WorkloadPolicy(
                    occupancy_cap=0.3,
                    window_s=60,
                    bucket_s=10,
                    breather_s=10,
                    min_wrap_up_s=2,
                    recovery_max_s=40,
                    recovery_per_window=2,
                ),
                # Occupancy over staffed time with a floor well under the window, so pauses
                # and logged-out time change the figure the cap is checked on.
                WorkloadPolicy(
                    occupancy_cap=0.6,
                    window_s=120,
                    bucket_s=10,
                    min_basis_s=30,
                    breather_s=10,
                    min_wrap_up_s=2,
                    recovery_max_s=40,
                    recovery_per_window=2,
                ),
            ]
        )
    )
    return AcdConfig(queues=tuple(queues), agents=tuple(agents), workload=workload)


ACTIONS = (
    "arrive",
    "arrive",
    "arrive",
    "login",
    "login",
    "logout",
    "pause",
    "ready",
    "recovery",
    "wrap_end",
    "phone",
    "answer",
    "answer",
    "answer",
    "miss",
    "hangup",
    "end",
    "end",
    "transfer",
    "fire",
    "fire",
    "fire",
    "fire",
    "prompt_end",
    "disposition",
    "bogus",
    "reload",
    "day",
)

actions = st.lists(
    st.tuples(
        st.integers(0, len(ACTIONS) - 1), st.integers(0, 10_000), st.sampled_from([0, 0, 1, 3, 7])
    ),
    min_size=1,
    max_size=70,
)


@dataclass
class Oracle:
    """What the records say about each advisor, checked against the configuration."""

    config: AcdConfig
    presence: dict[str, str] = field(default_factory=dict)
    phone: dict[str, str] = field(default_factory=dict)
    activity: dict[str, str] = field(default_factory=dict)
    reloaded: bool = False

    def __post_init__(self) -> None:
        for a in self.config.agents:
            self.presence[a.id] = "logged_out"
            self.phone[a.id] = "idle"
            self.activity[a.id] = "offline"

    def reload(self, config: AcdConfig) -> None:
        self.config = config
        self.reloaded = True
        for a in config.agents:
            self.presence.setdefault(a.id, "logged_out")
            self.phone.setdefault(a.id, "idle")
            self.activity.setdefault(a.id, "offline")

    def routable(self, agent_id: str) -> bool:
        return (
            self.presence[agent_id] == "logged_in"
            and self.phone[agent_id] == "idle"
            and self.activity[agent_id] == "available"
        )

    def qualifies(self, agent_id: str, queue: str, step: int) -> bool:
        acfg = next(a for a in self.config.agents if a.id == agent_id)
        qcfg = self.config.queue(queue)
        assert qcfg is not None
        return queue in acfg.queues and qcfg.steps[step].parsed.evaluate(acfg.skills)

    def check(self, engine: Engine, out: list[cmd.Command]) -> None:
        engine.check_indexes()
        presented: dict[str, tuple[str, int]] = {}
        for c in out:
            if isinstance(c, cmd.RecordAgentState):
                table = getattr(self, c.dimension)
                assert table[c.agent_id] == c.old, (c, table[c.agent_id])
                if c.dimension == "activity" and c.new == "reserved":
                    # At the moment of presentation the advisor was routable.
                    assert self.routable(c.agent_id), (c, self.presence, self.phone)
                table[c.agent_id] = c.new
            elif isinstance(c, cmd.RecordCallEvent) and c.kind == "presented":
                assert c.agent_id is not None
                step = c.data["step"]
                assert isinstance(step, int)
                assert self.qualifies(c.agent_id, c.queue, step), c
                presented[c.call_id] = (c.queue, step)
            elif isinstance(c, cmd.RingAgent):
                assert c.call_id in presented
                assert self.activity[c.agent_id] == "reserved"
        cap = self.config.workload
        # A breather that yields to a long-waiting caller (breather_yield_after_s) lets its
        # advisor take a call over the cap: the documented bound on the protection.
        yielded = {
            c.agent_id
            for c in out
            if isinstance(c, cmd.RecordCallEvent) and c.kind == "breather_yielded"
        }
        for agent_id in {c.agent_id for c in out if isinstance(c, cmd.RingAgent)} - yielded:
            if cap.enabled:
                assert engine.occupancy(agent_id) <= cap.occupancy_cap
        snapshot = engine.snapshot()
        for view in snapshot.agents:
            assert 0 <= view.occupancy <= 1, view
            assert engine.occupancy(view.agent_id) <= 1 + 1e-9, view
        for q in snapshot.queues:
            assert q.answered + q.abandoned <= q.offered, q
            assert q.answered_within_sl <= q.answered, q
            assert q.short_abandons <= q.abandoned, q
            assert q.service_level is None or q.service_level <= 1, q
        # The centre counts each call once: never more answered than offered, and no answer or
        # abandon that no queue counted (a reload may drop a queue and its counters).
        centre = snapshot.centre
        assert centre.answered + centre.abandoned <= centre.offered, centre
        assert centre.answered_within_sl <= centre.answered, centre
        assert centre.short_abandons <= centre.abandoned, centre
        assert centre.service_level is None or centre.service_level <= 1, centre
        assert sum(q.answered for q in snapshot.queues) <= centre.answered, centre
        assert sum(q.abandoned for q in snapshot.queues) <= centre.abandoned, centre
        assert centre.offered <= sum(q.offered for q in snapshot.queues) or self.reloaded, centre
        # The engine's own view of routability agrees with the records.
        for a in self.config.agents:
            assert engine.is_routable(a.id) == self.routable(a.id), a.id
        calls = engine.live_calls()
        waiting = [v for v in calls if v.state is CallState.WAITING]
        # Nobody routable idles while a waiting call they are eligible for exists.
        for v in waiting:
            for a in self.config.agents:
                if self.routable(a.id) and not engine.in_cooldown(a.id, v.call_id):
                    assert not self.qualifies(a.id, v.queue, v.step), (a.id, v)
        # First come, first served within a queue and (effective) priority, for whoever was
        # eligible — among the callers already in that queue when the ring was decided (a caller
        # past max wait overflows into it after the routing pass of the same instant).
        for i, r in enumerate(out):
            if not isinstance(r, cmd.RingAgent):
                continue
            view = next((v for v in calls if v.call_id == r.call_id), None)
            if view is None:
                continue
            came_later = {
                c.call_id
                for c in out[i:]
                if isinstance(c, cmd.RecordCallEvent) and c.kind == "offered"
            }
            for w in waiting:
                if (
                    w.call_id not in came_later
                    and w.queue == view.queue
                    and w.priority == view.priority
                    and w.offered_at < view.offered_at
                    and self.qualifies(r.agent_id, w.queue, w.step)
                    and not engine.in_cooldown(r.agent_id, w.call_id)
                ):
                    raise AssertionError(f"{r} skipped older eligible {w}")


def _state_fingerprint(engine: Engine) -> Any:
    return (engine.snapshot(), engine.live_calls(), engine.pending_timers(), engine.now)


@dataclass
class Driver:
    """Turns abstract actions into plausible (and sometimes bad) events."""

    config: AcdConfig
    reload_config: AcdConfig
    engine: Engine = field(init=False)
    oracle: Oracle = field(init=False)
    t: float = 0.0
    timers: dict[str, float] = field(default_factory=dict)
    n_calls: int = 0
    log: list[list[cmd.Command]] = field(default_factory=list)
    refused: int = 0

    def __post_init__(self) -> None:
        self.engine = Engine(self.config)
        self.oracle = Oracle(self.config)

    def send(self, event: Any, *, may_fail: bool = True) -> None:
        before = _state_fingerprint(self.engine)
        try:
            out = self.engine.handle(event)
        except CoreError:
            assert may_fail, event
            assert _state_fingerprint(self.engine) == before, event
            self.refused += 1
            return
        if isinstance(event, ev.ConfigChanged):
            self.oracle.reload(event.config)
        self.log.append(out)
        for c in out:
            if isinstance(c, cmd.StartTimer):
                self.timers[c.timer_id] = c.fire_at
            elif isinstance(c, cmd.CancelTimer):
                self.timers.pop(c.timer_id, None)
        self.oracle.check(self.engine, out)

    def play(self, action: str, pick: int) -> None:
        e = self.engine
        agents = [a.id for a in e.config.agents]
        agent_id = agents[pick % len(agents)]
        calls = e.live_calls()
        t = self.t
        if action == "arrive":
            self.n_calls += 1
            queues = [q.name for q in e.config.queues]
            self.send(
                ev.CallArrived(
                    at=t,
                    call_id=f"c{self.n_calls}",
                    queue=queues[pick % len(queues)],
                    priority=(pick // 7) % 3 if pick % 2 else None,
                    caller_number=f"{pick}",
                )
            )
        elif action == "login":
            reason = "training" if pick % 5 == 0 else None
            self.send(ev.AgentLoggedIn(at=t, agent_id=agent_id, paused_reason=reason))
        elif action == "logout":
            self.send(ev.AgentLoggedOut(at=t, agent_id=agent_id))
        elif action == "pause":
            self.send(ev.AgentPaused(at=t, agent_id=agent_id, reason="break"))
        elif action == "ready":
            self.send(ev.AgentReady(at=t, agent_id=agent_id))
        elif action == "recovery":
            self.send(ev.RecoveryPauseRequested(at=t, agent_id=agent_id))
        elif action == "wrap_end":
            self.send(ev.WrapUpEnded(at=t, agent_id=agent_id))
        elif action == "phone":
            phone = list(PhoneState)[pick % len(PhoneState)]
            self.send(ev.PhoneStateChanged(at=t, agent_id=agent_id, phone=phone))
        elif action in ("answer", "miss"):
            presented = [c for c in calls if c.state is CallState.PRESENTED]
            if presented:
                c = presented[pick % len(presented)]
                assert c.agent_id is not None
                if action == "answer":
                    self.send(ev.AgentAnswered(at=t, call_id=c.call_id, agent_id=c.agent_id))
                else:
                    status = list(ev.DialStatus)[pick % len(ev.DialStatus)]
                    self.send(
                        ev.AgentDidNotAnswer(
                            at=t, call_id=c.call_id, agent_id=c.agent_id, dial_status=status
                        ),
                        may_fail=False,
                    )
        elif action == "hangup":
            if calls:
                c = calls[pick % len(calls)]
                self.send(ev.CallerHungUp(at=t, call_id=c.call_id), may_fail=False)
        elif action in ("end", "transfer", "disposition"):
            connected = [c for c in calls if c.state is CallState.CONNECTED]
            if connected:
                c = connected[pick % len(connected)]
                assert c.agent_id is not None
                if action == "end":
                    self.send(ev.CallEnded(at=t, call_id=c.call_id), may_fail=False)
                elif action == "transfer":
                    self.send(
                        ev.CallTransferred(
                            at=t, call_id=c.call_id, agent_id=c.agent_id, target="2000"
                        ),
                        may_fail=False,
                    )
                else:
                    self.send(
                        ev.DispositionSet(
                            at=t, agent_id=c.agent_id, call_id=c.call_id, disposition="ok"
                        ),
                        may_fail=False,
                    )
        elif action == "fire":
            if self.timers:
                timer_id = min(self.timers, key=lambda k: (self.timers[k], k))
                self.t = max(self.t, self.timers.pop(timer_id))
                self.send(ev.TimerFired(at=self.t, timer_id=timer_id), may_fail=False)
        elif action == "prompt_end":
            if calls:
                self.send(ev.PromptEnded(at=t, call_id=calls[pick % len(calls)].call_id))
        elif action == "bogus":
            bad: list[Any] = [
                ev.AgentAnswered(at=t, call_id="nope", agent_id=agent_id),
                ev.AgentLoggedIn(at=t, agent_id="ghost"),
                ev.CallArrived(at=t, call_id="x", queue="no-such-queue"),
                ev.CallEnded(at=t - 1000, call_id="c1"),
            ]
            if calls:
                bad.append(ev.AgentAnswered(at=t, call_id=calls[0].call_id, agent_id="zzz"))
            self.send(bad[pick % len(bad)])
        elif action == "reload":
            self.send(ev.ConfigChanged(at=t, config=self.reload_config))
        elif action == "day":
            self.send(ev.DayRolledOver(at=t), may_fail=False)


def played(config: AcdConfig, other: AcdConfig, steps: list[tuple[int, int, int]]) -> Driver:
    """A fresh driver that has played ``steps`` (action index, pick, seconds before it)."""
    driver = Driver(config, other)
    for index, pick, dt in steps:
        driver.t += dt
        driver.play(ACTIONS[index], pick)
    return driver


@settings(max_examples=120, deadline=None)
@given(configs(), configs(), actions)
def test_random_event_sequences_keep_the_routing_invariants(
    config: AcdConfig, other: AcdConfig, steps: list[tuple[int, int, int]]
) -> None:
    """Presentations are always to qualified routable advisors, FIFO, with no idle starvation."""
    played(config, other, steps)


@settings(max_examples=40, deadline=None)
@given(configs(), configs(), actions)
def test_same_events_yield_same_commands(
    config: AcdConfig, other: AcdConfig, steps: list[tuple[int, int, int]]
) -> None:
    """Replaying the same event sequence on a fresh engine gives identical commands."""
    first = played(config, other, steps)
    second = played(config, other, steps)
    assert first.log == second.log
    assert first.engine.snapshot() == second.engine.snapshot()


@settings(max_examples=60, deadline=None)
@given(configs(), st.lists(st.integers(0, 10_000), min_size=1, max_size=25))
def test_relaxation_to_any_serves_every_call(config: AcdConfig, picks: list[int]) -> None:
    """With every advisor logged in, relaxing to `any` eventually presents every waiting call."""
    driver = Driver(config, config)
    for a in config.agents:
        driver.send(ev.AgentLoggedIn(at=0, agent_id=a.id))
    for pick in picks:
        driver.play("arrive", pick)
        driver.t += 1
    # Advisors answer whatever rings and hang up quickly; timers fire in order.
    for _ in range(4000):
        calls = driver.engine.live_calls()
        if not calls:
            break
        presented = [c for c in calls if c.state is CallState.PRESENTED]
        connected = [c for c in calls if c.state is CallState.CONNECTED]
        if presented:
            driver.play("answer", 0)
        elif connected:
            driver.t += 1
            driver.play("end", 0)
        else:
            assert driver.timers, calls
            driver.play("fire", 0)
    assert driver.engine.live_calls() == ()


long_actions = st.lists(
    st.tuples(
        st.integers(0, len(ACTIONS) - 1),
        st.integers(0, 10_000),
        st.sampled_from([0, 0, 1, 3, 7, 30, 120]),
    ),
    min_size=200,
    max_size=300,
)


@settings(max_examples=12, deadline=None)
@given(configs(), configs(), long_actions)
def test_long_random_walks_keep_the_routing_invariants(
    config: AcdConfig, other: AcdConfig, steps: list[tuple[int, int, int]]
) -> None:
    """Long sequences (workload windows sliding, reloads mid-call) keep every invariant."""
    played(config, other, steps)
