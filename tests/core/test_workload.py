"""Workload protection: occupancy cap and breathers, enforced wrap-up, recovery pauses, fairness."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.config import WorkloadPolicy
from acd.core.errors import IllegalTransitionError, WorkloadLimitError
from acd.core.states import Activity, CallState
from acd.core.workload import RollingLoad

from .helpers import Harness, agent, config, of_type, queue, rings

SMALL = WorkloadPolicy(
    occupancy_cap=0.5,
    window_s=600,
    bucket_s=60,
    breather_s=120,
    min_wrap_up_s=5,
    recovery_max_s=180,
    recovery_per_window=2,
)


def _harness(workload: WorkloadPolicy = SMALL, wrap_up_s: float = 10) -> Harness:
    return Harness.of(
        config([queue(wrap_up_s=wrap_up_s)], [agent("a1"), agent("a2")], workload=workload)
    )


def _long_call(h: Harness, call_id: str, talk: float) -> list[cmd.Command]:
    h.arrive(call_id)
    h.answer_and_end(call_id, "a1", talk=talk)
    return h.fire("wrap_up:a1:")


def test_over_cap_advisor_gets_a_breather_before_next_call() -> None:
    """Over the occupancy cap after wrap-up, the advisor takes a breather instead of a call."""
    h = _harness()
    h.login("a1")
    h.arrive("c0")  # a1 rings first
    h.at(1).arrive("next")
    h.answer_and_end("c0", "a1", talk=400)  # 400 s busy in a 600 s window: 67 % > 50 %
    out = h.fire("wrap_up:a1:")
    states = [(c.old, c.new) for c in of_type(out, cmd.RecordAgentState)]
    assert states == [("wrap_up", "breather")]
    view = h.engine.agent_view("a1")
    assert (view.activity, view.routable) == (Activity.BREATHER, False)
    assert view.reason is not None
    assert view.reason.startswith("occupancy")
    assert rings(out) == []


def test_breather_repeats_while_still_over_cap_then_serves() -> None:
    """A breather ends in another breather while over the cap, then the advisor takes a call."""
    h = _harness()
    h.login("a1")
    h.arrive("c0")
    h.at(1).arrive("next")
    h.answer_and_end("c0", "a1", talk=500)
    h.fire("wrap_up:a1:")
    seen = []
    for _ in range(10):
        out = h.fire("breather:a1:")
        seen.append(h.engine.agent_view("a1").activity)
        if rings(out):
            break
    assert seen[-1] is Activity.RESERVED
    assert len(seen) >= 2
    assert all(a is Activity.BREATHER for a in seen[:-1])
    assert h.engine.occupancy("a1") <= SMALL.occupancy_cap


def test_ready_during_breather_refused_while_over_cap() -> None:
    """An advisor cannot skip a breather while still over the cap; nothing changes."""
    h = _harness()
    h.login("a1")
    _long_call(h, "c0", 400)
    with pytest.raises(WorkloadLimitError) as info:
        h.send(ev.AgentReady, agent_id="a1")
    assert (info.value.agent_id, info.value.rule) == ("a1", "occupancy_cap")
    assert h.engine.agent_view("a1").activity is Activity.BREATHER


def test_workload_off_means_no_breather() -> None:
    """With workload disabled, an advisor at 100 % occupancy goes straight back to work."""
    h = _harness(WorkloadPolicy(enabled=False, window_s=600, bucket_s=60))
    h.login("a1")
    h.arrive("c0")
    h.at(1).arrive("next")
    h.answer_and_end("c0", "a1", talk=590)
    assert rings(h.fire("wrap_up:a1:")) == [("next", "a1")]


def test_enforced_minimum_wrap_up() -> None:
    """Ending wrap-up early is honoured only after the workload minimum."""
    h = _harness(wrap_up_s=60)
    h.login("a1")
    h.arrive("c1")
    h.answer_and_end("c1", "a1", talk=30)
    out = h.at(h.t + 2).send(ev.WrapUpEnded, agent_id="a1")
    (start,) = of_type(out, cmd.StartTimer)
    assert start.fire_at == 30 + 5
    assert h.engine.agent_view("a1").activity is Activity.WRAP_UP
    h.fire("wrap_up:a1:")
    assert h.engine.agent_view("a1").activity is Activity.AVAILABLE


def test_wrap_up_ended_after_minimum_is_immediate() -> None:
    """After the minimum, WrapUpEnded makes the advisor available at once."""
    h = _harness(wrap_up_s=60)
    h.login("a1")
    h.arrive("c1")
    h.answer_and_end("c1", "a1", talk=30)
    out = h.at(h.t + 6).send(ev.WrapUpEnded, agent_id="a1")
    assert of_type(out, cmd.CallCompleted)
    assert h.engine.agent_view("a1").activity is Activity.AVAILABLE


def test_wrap_up_never_below_minimum_even_if_configured_zero() -> None:
    """A queue wrap-up of 0 s is raised to the enforced minimum when workload is on."""
    h = _harness(wrap_up_s=0)
    h.login("a1")
    h.arrive("c1")
    h.answer_and_end("c1", "a1", talk=30)
    assert h.engine.agent_view("a1").activity is Activity.WRAP_UP
    assert h.due(h.timer("wrap_up:a1:")) == h.t + 5


def test_recovery_pause_after_difficult_call() -> None:
    """From wrap-up the advisor takes a recovery pause; it ends by itself at its limit."""
    h = _harness()
    h.login("a1")
    h.arrive("c1")
    h.answer_and_end("c1", "a1", talk=30)
    out = h.send(ev.RecoveryPauseRequested, agent_id="a1")
    assert of_type(out, cmd.CallCompleted)  # wrap-up closed: the call's story is over
    view = h.engine.agent_view("a1")
    assert (view.activity, view.routable) == (Activity.RECOVERY, False)
    assert h.due(h.timer("recovery:a1:")) == h.t + 180
    h.at(h.t + 1).arrive("c2")
    out = h.fire("recovery:a1:")
    assert rings(out) == [("c2", "a1")]


def test_recovery_pause_can_end_early() -> None:
    """The advisor may come back from recovery before its limit."""
    h = _harness()
    h.login("a1")
    h.send(ev.RecoveryPauseRequested, agent_id="a1")
    out = h.at(20).send(ev.AgentReady, agent_id="a1")
    assert of_type(out, cmd.CancelTimer)
    assert h.engine.is_routable("a1")


def test_recovery_pause_limit_per_window() -> None:
    """More than recovery_per_window recovery pauses in the window are refused."""
    h = _harness()
    h.login("a1")
    for t in (0, 10):
        h.at(t).send(ev.RecoveryPauseRequested, agent_id="a1")
        h.at(t + 1).send(ev.AgentReady, agent_id="a1")
    with pytest.raises(WorkloadLimitError) as info:
        h.at(20).send(ev.RecoveryPauseRequested, agent_id="a1")
    assert info.value.rule == "recovery_per_window"
    assert h.engine.agent_view("a1").activity is Activity.AVAILABLE
    h.at(700).send(ev.RecoveryPauseRequested, agent_id="a1")  # the window moved on
    assert h.engine.agent_view("a1").activity is Activity.RECOVERY


def test_recovery_pause_not_from_a_call() -> None:
    """Recovery cannot start while the phone rings or during the conversation."""
    h = _harness()
    h.login("a1")
    h.arrive("c1")
    with pytest.raises(IllegalTransitionError):
        h.send(ev.RecoveryPauseRequested, agent_id="a1")


def test_occupancy_falls_while_idle() -> None:
    """Occupancy counts busy time in the window and decays as the window slides."""
    h = _harness(WorkloadPolicy(enabled=False, window_s=600, bucket_s=60))
    h.login("a1")
    h.arrive("c1")
    h.answer_and_end("c1", "a1", talk=120)
    h.fire("wrap_up:a1:")
    busy_now = h.engine.occupancy("a1")
    assert busy_now == pytest.approx((120 + 10) / 600)
    assert h.engine.occupancy("a1", at=h.t + 300) == busy_now
    assert h.engine.occupancy("a1", at=h.t + 700) == 0


def test_fairness_spread_in_snapshot() -> None:
    """The snapshot reports the spread of calls and talk time across logged-in advisors."""
    h = _harness(WorkloadPolicy(enabled=False))
    h.login("a1", "a2")
    h.arrive("c1")
    h.arrive("c2")
    h.at(1).send(ev.AgentAnswered, call_id="c1", agent_id="a1")
    h.send(ev.AgentAnswered, call_id="c2", agent_id="a2")
    h.at(61).send(ev.CallEnded, call_id="c1")
    h.at(181).send(ev.CallEnded, call_id="c2")
    snap = h.engine.snapshot()
    assert snap.fairness.advisors == 2
    assert (snap.fairness.calls.minimum, snap.fairness.calls.maximum) == (1, 1)
    assert (snap.fairness.talk_s.minimum, snap.fairness.talk_s.maximum) == (60, 180)
    assert snap.fairness.talk_s.stdev == 60
    views = {a.agent_id: a for a in snap.agents}
    assert views["a2"].talk_s_in_window == 180
    assert views["a2"].calls_in_window == 1


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from([(60, 10), (600, 60), (3600, 60)]),
    st.lists(
        st.tuples(st.floats(0, 400), st.floats(0, 300), st.booleans(), st.floats(0, 100)),
        max_size=40,
    ),
)
def test_rolling_occupancy_matches_a_full_recount(
    shape: tuple[int, int], periods: list[tuple[float, float, bool, float]]
) -> None:
    """The incrementally kept occupancy equals a recount of the buckets in the window."""
    window, bucket = shape
    load = RollingLoad(window, bucket)
    t = 0.0
    for gap, length, talk, look_ahead in periods:
        t += gap
        load.add_busy(t, t + length, talk=talk)
        t += length
        q = t + look_ahead
        assert load.occupancy(q) == pytest.approx(load.totals(q)[0] / window, abs=1e-9)
        t = q


def test_login_while_over_cap_starts_with_a_breather() -> None:
    """Logging out does not reset the window: logging back in over the cap means a breather."""
    h = _harness()
    h.login("a1")
    _long_call(h, "c0", 400)
    h.send(ev.AgentLoggedOut, agent_id="a1")
    h.at(h.t + 1).arrive("c1")
    h.login("a1")
    assert h.engine.agent_view("a1").activity is Activity.BREATHER
    assert h.engine.call_view("c1").state is CallState.WAITING


def test_lowering_the_cap_at_reload_sends_available_advisors_to_a_breather() -> None:
    """A new, lower occupancy cap applies at once to available advisors."""
    h = _harness()
    h.login("a1")
    _long_call(h, "c0", 200)  # ~35 % busy: under the 50 % cap
    h.t += 1
    if h.engine.agent_view("a1").activity is not Activity.AVAILABLE:
        h.send(ev.AgentReady, agent_id="a1")
    lower = WorkloadPolicy(occupancy_cap=0.2, window_s=600, bucket_s=60, breather_s=120)
    h.send(
        ev.ConfigChanged,
        config=config([queue(wrap_up_s=10)], [agent("a1"), agent("a2")], workload=lower),
    )
    assert h.engine.agent_view("a1").activity is Activity.BREATHER
