"""Breathers keep protecting advisors, but visibly and boundedly: callers who wait only because
every eligible advisor is in a breather are flagged, and `breather_yield_after_s` ends a breather
for a caller who has waited that long."""

from __future__ import annotations

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.config import WorkloadPolicy
from acd.core.states import Activity

from .helpers import Harness, agent, call_kinds, config, queue, rings

CAP = WorkloadPolicy(
    occupancy_cap=0.6,
    window_s=600,
    bucket_s=10,
    min_basis_s=60,
    breather_s=100,
    min_wrap_up_s=1,
)


def _one_advisor_busy_until_105(**queue_kw: object) -> Harness:
    """a1 talks 0-100 s, wraps up 5 s (100 % occupied: a breather follows); c2 waits from 10 s."""
    sales = queue("sales", wrap_up_s=5, announce_interval_s=None, **queue_kw)
    h = Harness.of(config([sales], [agent("a1")], workload=CAP))
    h.login("a1")
    h.arrive("c1")
    h.send(ev.AgentAnswered, call_id="c1", agent_id="a1")
    h.at(10).arrive("c2")
    h.at(100).send(ev.CallEnded, call_id="c1")
    return h


def test_a_caller_held_only_by_breathers_is_flagged_and_counted() -> None:
    """When the only able advisor starts a breather, the waiting caller gets a `breather_hold`
    record and the queue view counts them; the breather ends on time and the caller is served."""
    h = _one_advisor_busy_until_105()
    out = h.fire("wrap_up:a1:")
    assert h.engine.agent_view("a1").activity is Activity.BREATHER
    assert call_kinds(out, "c2") == ["breather_hold"]
    assert h.engine.queue_view("sales").breather_hold == 1
    out = h.fire("breather:a1:")
    assert (h.t, rings(out)) == (205.0, [("c2", "a1")])
    assert h.engine.queue_view("sales").breather_hold == 0


def test_a_breather_does_not_start_for_a_caller_past_the_yield_time() -> None:
    """c2 has waited 95 s when a1 frees up over the cap; with a 60 s yield, no breather."""
    h = _one_advisor_busy_until_105(breather_yield_after_s=60.0)
    out = h.fire("wrap_up:a1:")
    assert rings(out) == [("c2", "a1")]
    assert "breather_yielded" in call_kinds(out, "c2")
    assert not [c for c in out if isinstance(c, cmd.StartTimer) and "breather" in c.timer_id]


def test_a_running_breather_yields_when_the_caller_reaches_the_yield_time() -> None:
    """With a 150 s yield, c2 (arrived at 10 s) is rung at 160 s, mid-breather, not at 205 s."""
    h = _one_advisor_busy_until_105(breather_yield_after_s=150.0)
    h.fire("wrap_up:a1:")
    assert h.engine.agent_view("a1").activity is Activity.BREATHER
    out = h.fire("yield:c2:")
    assert (h.t, rings(out)) == (160.0, [("c2", "a1")])
    assert call_kinds(out, "c2") == ["breather_yielded", "presented"]
    assert not [t for t in h.engine.pending_timers() if t.startswith("breather:")]


def test_a_breather_yields_to_the_queues_oldest_caller_past_the_yield_time() -> None:
    """a1 frees up over the cap at 39 s: c2 (billing, waited 34 s of a 30 s yield) is rung,
    though a1's top caller overall is an older one of a queue without yields (Hypothesis found
    the breather started instead, then yielded at 60 s to c3, skipping c2)."""
    billing = queue("billing", wrap_up_s=5, breather_yield_after_s=30.0)
    other = queue("other", announce_interval_s=None)
    h = Harness.of(config([billing, other], [agent("a1", ("billing", "other"))], workload=CAP))
    h.login("a1")
    h.arrive("c1", "billing")
    h.send(ev.AgentAnswered, call_id="c1", agent_id="a1")
    h.at(2).arrive("c0", "other")
    h.at(5).arrive("c2", "billing")
    h.at(30).arrive("c3", "billing")
    h.at(34).send(ev.CallEnded, call_id="c1")
    assert rings(h.fire("yield:c2:")) == []  # a1 is wrapping up, not in a breather
    out = h.fire("wrap_up:a1:")
    assert (h.t, rings(out)) == (39.0, [("c2", "a1")])
    assert "breather_yielded" in call_kinds(out, "c2")


def test_a_yield_timer_rings_the_older_caller_ahead_once_its_cooldown_is_over() -> None:
    """c3's yield timer fires at 130 s while a1 breathes and c2 (older, same queue) is past its
    no-answer cooldown for a1: the breather yields to c2, first come first served."""
    sales = queue("sales", wrap_up_s=5, breather_yield_after_s=30.0, retry_s=5.0)
    h = Harness.of(config([sales], [agent("a1")], workload=CAP))
    h.login("a1")
    h.arrive("c1")
    h.send(ev.AgentAnswered, call_id="c1", agent_id="a1")
    h.at(5).arrive("c2")
    h.at(100).arrive("c3")
    h.send(ev.CallEnded, call_id="c1")
    assert rings(h.fire("wrap_up:a1:")) == [("c2", "a1")]
    h.at(115).send(ev.AgentDidNotAnswer, call_id="c2", agent_id="a1")
    assert h.engine.agent_view("a1").activity is Activity.BREATHER
    out = h.fire("yield:c3:")
    assert (h.t, rings(out)) == (130.0, [("c2", "a1")])


def test_a_yield_at_the_instant_a_caller_ages_takes_the_caller_first_in_line_after_ageing() -> None:
    """At 41 s c2 (arrived 1 s, priority 0) ages to 2 as c12 (11 s, priority 1, aged to 2 at
    31 s) reaches the yield time: the breather yields to c2, older at the same priority, not to
    c12 (Hypothesis found the yield decided before the ageing timer of the same instant)."""
    sales = queue("sales", wrap_up_s=5, breather_yield_after_s=30.0, priority_ageing_s=20.0)
    h = Harness.of(config([sales], [agent("a1")], workload=CAP))
    h.login("a1")
    h.arrive("c1")
    h.send(ev.AgentAnswered, call_id="c1", agent_id="a1")
    h.at(1).arrive("c2", priority=0)
    h.at(11).arrive("c12", priority=1)
    h.at(32).send(ev.CallEnded, call_id="c1")
    assert rings(h.fire("wrap_up:a1:")) == []  # c12 heads the line but has waited only 26 s
    assert h.engine.agent_view("a1").activity is Activity.BREATHER
    out = h.fire("yield:c12:")
    assert (h.t, rings(out)) == (41.0, [("c2", "a1")])
