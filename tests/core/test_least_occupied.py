"""least_occupied ranks available advisors by their occupancy at the last bucket boundary, re-keyed
by a bucket timer, not by the occupancy they had when they became available."""

from __future__ import annotations

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.config import Policy

from .helpers import NO_WORKLOAD, Harness, agent, config, of_type, queue, rings


def _centre() -> Harness:
    sales = queue("sales", policy=Policy.LEAST_OCCUPIED, wrap_up_s=10, announce_interval_s=None)
    return Harness.of(config([sales], [agent("a"), agent("b")], workload=NO_WORKLOAD))


def _advance(h: Harness, until: float) -> None:
    """Fire every timer due up to ``until`` (the bucket boundaries among them), in time order."""
    while True:
        due = sorted((h.due(t), t) for t in h.engine.pending_timers())
        if not due or due[0][0] > until:
            break
        h.at(due[0][0]).send(ev.TimerFired, timer_id=due[0][1])
    h.t = until


def _serve(h: Harness, call_id: str, agent_id: str, start: float, talk: float) -> None:
    _advance(h, start)
    assert rings(h.arrive(call_id)) == [(call_id, agent_id)]
    h.send(ev.AgentAnswered, call_id=call_id, agent_id=agent_id)
    _advance(h, start + talk)
    h.send(ev.CallEnded, call_id=call_id)


def test_an_advisor_idle_for_long_is_ranked_by_todays_occupancy_not_the_stale_one() -> None:
    """`a` was 100 % occupied when freed at 1,000 s, then idle; `b` 56 % when freed at 2,500 s.
    At 2,600 s `a` is at 39 %, so `a`, not `b`, takes the next caller."""
    h = _centre()
    h.at(0).login("a")
    _serve(h, "long", "a", 0.0, 990.0)  # a: busy 1,000 s of 1,000 staffed
    _advance(h, 2000.0)
    h.login("b")
    _serve(h, "short", "b", 2000.0, 490.0)  # b: busy 500 s of 500 (basis 900 s)
    _advance(h, 2600.0)
    assert h.engine.occupancy("a") < h.engine.occupancy("b")
    assert rings(h.arrive("next")) == [("next", "a")]


def test_the_bucket_timer_runs_only_while_such_advisors_are_available() -> None:
    """One bucket timer at the next boundary while least_occupied advisors wait; none after."""
    h = _centre()
    out = h.at(30.0).login("a")
    (timer,) = [t for t in of_type(out, cmd.StartTimer) if t.timer_id.startswith("bucket:")]
    assert timer.fire_at == 60.0
    out = h.fire("bucket:")
    (again,) = [t for t in of_type(out, cmd.StartTimer) if t.timer_id.startswith("bucket:")]
    assert again.fire_at == 120.0
    h.at(100.0).send(ev.AgentLoggedOut, agent_id="a")
    out = h.fire("bucket:")
    assert not [t for t in of_type(out, cmd.StartTimer) if t.timer_id.startswith("bucket:")]
    assert not [t for t in h.engine.pending_timers() if t.startswith("bucket:")]
