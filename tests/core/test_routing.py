"""Skills-based routing: relaxing steps, selection policies, best call across queues."""

from __future__ import annotations

import pytest

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.config import Policy
from acd.core.states import CallState

from .helpers import NO_WORKLOAD, Harness, agent, call_kinds, config, of_type, queue, rings

STEPS = (("french>=4 and billing>=3", 30.0), ("french>=2", 60.0), "any")


def _relaxing() -> Harness:
    cfg = config(
        [queue("sales", *STEPS)],
        [
            agent("expert", skills={"french": 5, "billing": 4}),
            agent("fluent", skills={"french": 2}),
            agent("other", skills={"german": 5}),
        ],
        workload=NO_WORKLOAD,
    )
    return Harness.of(cfg)


def test_first_step_only_qualified_advisors() -> None:
    """At step 0 only advisors meeting `french>=4 and billing>=3` are eligible."""
    h = _relaxing()
    h.login("fluent", "other")
    out = h.arrive("c1")
    assert rings(out) == []
    view = h.engine.call_view("c1")
    assert (view.step, view.step_expression) == (0, "french>=4 and billing>=3")
    assert not h.engine.eligible("fluent", "c1")


def test_requirements_relax_with_waiting_time() -> None:
    """After 30 s the call accepts `french>=2`; after 60 s more, any advisor of the queue."""
    h = _relaxing()
    h.login("other")
    h.arrive("c1")
    out = h.fire("relax:c1:")
    assert h.t == 30
    # The announcement due at the same instant fires in the same drain, after the relaxation.
    assert call_kinds(out, "c1") == ["relaxed", "prompted"]
    assert h.engine.call_view("c1").step_expression == "french>=2"
    out = h.fire("relax:c1:")
    assert h.t == 90
    assert rings(out) == [("c1", "other")]


def test_relaxed_call_taken_by_newly_qualified_advisor() -> None:
    """An idle advisor who qualifies only after relaxation is rung when the step changes."""
    h = _relaxing()
    h.login("fluent")
    h.arrive("c1")
    out = h.fire("relax:c1:")
    assert rings(out) == [("c1", "fluent")]


def test_expert_takes_call_immediately() -> None:
    """A fully qualified idle advisor is rung at once."""
    h = _relaxing()
    h.login("fluent", "expert")
    assert rings(h.arrive("c1")) == [("c1", "expert")]


def _policy_harness(policy: Policy, **agent_kw: dict[str, object]) -> Harness:
    cfg = config(
        [queue("sales", "french>=1", policy=policy)],
        [
            agent("a1", skills={"french": 2}),
            agent("a2", skills={"french": 5}),
            agent("a3", skills={"french": 3}),
        ],
        workload=NO_WORKLOAD,
    )
    return Harness.of(cfg)


def _serve(h: Harness, call_id: str, talk: float = 60.0) -> str:
    """Offer one call, answer it, end it and finish wrap-up; return who took it."""
    out = h.arrive(call_id)
    (ring,) = of_type(out, cmd.RingAgent)
    h.send(ev.AgentAnswered, call_id=call_id, agent_id=ring.agent_id)
    h.t += talk
    h.send(ev.CallEnded, call_id=call_id)
    h.fire(f"wrap_up:{ring.agent_id}:")
    h.t += 1
    return ring.agent_id


def test_longest_idle_picks_the_advisor_idle_longest() -> None:
    """longest_idle rings the advisor available for the longest time."""
    h = _policy_harness(Policy.LONGEST_IDLE)
    h.at(0).login("a2")
    h.at(5).login("a3")
    h.at(9).login("a1")
    assert [_serve(h, f"c{i}") for i in range(4)] == ["a2", "a3", "a1", "a2"]


def test_best_skill_picks_highest_level() -> None:
    """best_skill rings the advisor with the highest level on the step's skills."""
    h = _policy_harness(Policy.BEST_SKILL)
    h.login("a1", "a2", "a3")
    assert _serve(h, "c1") == "a2"
    assert _serve(h, "c2") == "a2"


def test_fewest_calls_balances_counts() -> None:
    """fewest_calls rings the advisor who answered the fewest calls since login."""
    h = _policy_harness(Policy.FEWEST_CALLS)
    h.login("a1", "a2", "a3")
    served = [_serve(h, f"c{i}") for i in range(6)]
    assert sorted(served.count(a) for a in ("a1", "a2", "a3")) == [2, 2, 2]


def test_round_robin_rotates() -> None:
    """round_robin goes through the advisors in turn."""
    h = _policy_harness(Policy.ROUND_ROBIN)
    h.login("a3", "a1", "a2")
    assert [_serve(h, f"c{i}", talk=1) for i in range(6)] == ["a1", "a2", "a3"] * 2


def test_least_occupied_prefers_least_busy() -> None:
    """least_occupied rings the advisor with the lowest occupancy over the window."""
    h = _policy_harness(Policy.LEAST_OCCUPIED)
    h.login("a1")
    assert _serve(h, "long", talk=600) == "a1"
    h.login("a2")
    assert _serve(h, "mid", talk=300) == "a2"
    h.login("a3")
    assert [_serve(h, f"c{i}", talk=10) for i in range(3)] == ["a3", "a3", "a3"]
    assert h.engine.occupancy("a1") > h.engine.occupancy("a2") > h.engine.occupancy("a3")


def test_least_occupied_measures_busy_time_against_staffed_time() -> None:
    """least_occupied prefers 900 busy of 3,000 staffed seconds to 800 busy of 1,000."""
    h = _policy_harness(Policy.LEAST_OCCUPIED)
    h.at(0).login("a1")
    h.at(2000).login("a2")
    assert rings(h.at(2100).arrive("c1")) == [("c1", "a1")]  # equal at 0 %: idle longest
    h.send(ev.AgentAnswered, call_id="c1", agent_id="a1")
    assert rings(h.at(2200).arrive("c2")) == [("c2", "a2")]
    h.send(ev.AgentAnswered, call_id="c2", agent_id="a2")
    h.at(2990).send(ev.CallEnded, call_id="c1")
    h.send(ev.CallEnded, call_id="c2")
    h.fire("wrap_up:a1:")  # both wrap-ups end at 3,000: one drain frees both
    assert not [t for t in h.engine.pending_timers() if t.startswith("wrap_up:")]
    assert h.engine.occupancy("a1") == pytest.approx(900 / 3000)
    assert h.engine.occupancy("a2") == pytest.approx(800 / 1000)
    # Over the whole hour window a1 would read 25 % and a2 22 %: a2 would be rung.
    assert rings(h.at(3001).arrive("c3")) == [("c3", "a1")]


def test_freed_advisor_takes_highest_priority_first() -> None:
    """A freed advisor takes the highest-priority call, whatever the waiting times."""
    cfg = config([queue("sales")], [agent("a1")], workload=NO_WORKLOAD)
    h = Harness.of(cfg)
    h.at(0).arrive("old")
    h.at(50).arrive("vip", priority=2)
    assert rings(h.at(60).login("a1")) == [("vip", "a1")]


def test_equal_priority_is_first_come_first_served() -> None:
    """Within one queue and priority, calls are taken in arrival order."""
    cfg = config([queue("sales")], [agent("a1")], workload=NO_WORKLOAD)
    h = Harness.of(cfg)
    for i in range(5):
        h.at(i).arrive(f"c{i}")
    h.at(10).login("a1")
    order: list[str] = []
    for _ in range(5):
        (ring,) = [r for r in of_type(h.log, cmd.RingAgent) if r.call_id not in order]
        order.append(ring.call_id)
        h.answer_and_end(ring.call_id, "a1", talk=5)
        h.fire("wrap_up:a1:")
    assert order == [f"c{i}" for i in range(5)]


def _two_queues(weight_b: float) -> Harness:
    cfg = config(
        [queue("a", weight=1.0), queue("b", weight=weight_b)],
        [agent("x", ("a", "b"))],
        workload=NO_WORKLOAD,
    )
    return Harness.of(cfg)


def test_queue_weight_changes_who_is_served() -> None:
    """Weighted waiting time decides across queues: weight 2 beats a longer unweighted wait."""
    # Without weight the older call in "a" (waited 30 s) beats "b" (waited 20 s).
    h = _two_queues(1.0)
    h.at(0).arrive("in_a", "a")
    h.at(10).arrive("in_b", "b")
    assert rings(h.at(30).login("x")) == [("in_a", "x")]
    # With weight 2 on "b", 20 s x 2 = 40 > 30 s x 1: "b" is served first.
    h = _two_queues(2.0)
    h.at(0).arrive("in_a", "a")
    h.at(10).arrive("in_b", "b")
    assert rings(h.at(30).login("x")) == [("in_b", "x")]


def test_priority_beats_weight() -> None:
    """Priority is compared before weighted waiting time."""
    h = _two_queues(10.0)
    h.at(0).arrive("in_b", "b")
    h.at(10).arrive("vip_a", "a", priority=1)
    assert rings(h.at(30).login("x")) == [("vip_a", "x")]


def test_advisor_takes_best_call_across_steps_of_a_queue() -> None:
    """An advisor eligible at several steps takes the oldest call among them."""
    cfg = config(
        [queue("sales", ("french>=4", 30.0), "any")],
        [agent("fr", skills={"french": 5}), agent("de", skills={"german": 5})],
        workload=NO_WORKLOAD,
    )
    h = Harness.of(cfg)
    h.at(0).arrive("old")
    h.fire("relax:old:")  # old is now at step 1 (any)
    h.at(40).arrive("new")  # new at step 0
    assert rings(h.at(41).login("fr")) == [("old", "fr")]
    assert h.engine.call_view("new").state is CallState.WAITING


def test_a_missed_call_goes_to_the_next_advisor_before_the_one_who_missed() -> None:
    """With best_skill, after two misses the call reaches the third advisor, not the first again."""
    from acd.core.commands import RingAgent as _Ring
    from acd.core.config import AcdConfig as _Config
    from acd.core.config import AgentConfig as _Agent
    from acd.core.config import Policy as _Policy
    from acd.core.config import QueueConfig as _Queue
    from acd.core.engine import Engine as _Engine
    from acd.core.events import AgentDidNotAnswer, AgentLoggedIn, CallArrived, DialStatus

    config = _Config(
        queues=(_Queue(name="q", policy=_Policy.BEST_SKILL),),
        agents=(
            _Agent(id="hi1", skills={"x": 5}, queues=("q",), max_missed=5),
            _Agent(id="hi2", skills={"x": 4}, queues=("q",), max_missed=5),
            _Agent(id="lo", skills={"x": 1}, queues=("q",), max_missed=5),
        ),
    )
    engine = _Engine(config)
    for agent_id in ("hi1", "hi2", "lo"):
        engine.handle(AgentLoggedIn(at=1.0, agent_id=agent_id))

    def rung(commands: list[object]) -> list[str]:
        return [c.agent_id for c in commands if isinstance(c, _Ring)]

    assert rung(engine.handle(CallArrived(at=2.0, call_id="c", queue="q"))) == ["hi1"]
    miss = AgentDidNotAnswer(at=3.0, call_id="c", agent_id="hi1", dial_status=DialStatus.BUSY)
    assert rung(engine.handle(miss)) == ["hi2"]
    miss = AgentDidNotAnswer(at=4.0, call_id="c", agent_id="hi2", dial_status=DialStatus.BUSY)
    assert rung(engine.handle(miss)) == ["lo"]
