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


def _overlap(periods: list[tuple[float, float]], since: float, until: float) -> float:
    return sum(max(0.0, min(b, until) - max(a, since)) for a, b in periods)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([(60, 10), (600, 60), (3600, 60)]),
    st.sampled_from([1.0, 150.0, 900.0]),
    st.lists(
        st.tuples(
            st.floats(0, 400),  # not staffed (if the previous staffed period ended)
            st.floats(0, 100),  # staffed, idle
            st.floats(0, 300),  # busy
            st.booleans(),  # talk
            st.floats(0, 100),  # staffed, idle, then look
            st.booleans(),  # the staffed period ends there
        ),
        max_size=40,
    ),
)
def test_rolling_occupancy_matches_a_full_recount(
    shape: tuple[int, int],
    min_basis: float,
    periods: list[tuple[float, float, float, bool, float, bool]],
) -> None:
    """The incrementally kept occupancy equals busy ÷ max(staffed, basis) recounted from scratch."""
    window, bucket = shape
    load = RollingLoad(window, bucket, min_basis)
    basis = min(min_basis, window)
    busy: list[tuple[float, float]] = []
    staffed: list[tuple[float, float]] = []
    staffed_from: float | None = None
    t = 0.0

    def check(now: float) -> None:
        b, _, _, s = load.totals(now)
        since = load.window_start(now)
        done = [*staffed, (staffed_from, now)] if staffed_from is not None else staffed
        assert b == pytest.approx(_overlap(busy, since, now), abs=1e-6)
        assert s == pytest.approx(_overlap(done, since, now), abs=1e-6)
        assert b <= s + 1e-6
        assert load.occupancy(now) == pytest.approx(b / max(s, basis), abs=1e-9)

    for gap, lead, length, talk, look_ahead, ends in periods:
        t += gap
        if staffed_from is None:
            staffed_from = t
            load.start_staffed(t)
        t += lead
        load.add_busy(t, t + length, talk=talk)
        busy.append((t, t + length))
        t += length + look_ahead
        check(t)
        if ends:
            load.end_staffed(t)
            staffed.append((staffed_from, t))
            staffed_from = None
            check(t)


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


# Occupancy over staffed time, with the default policy (60 min window, 15 min floor, 85 % cap).


def _default(*agent_ids: str, **queue_kw: object) -> Harness:
    return Harness.of(config([queue(wrap_up_s=10, **queue_kw)], [agent(a) for a in agent_ids]))


def test_cap_triggers_when_busy_90_percent_of_20_staffed_minutes() -> None:
    """Busy 18 of 20 staffed minutes is 90 %: breather, though it is 30 % of the hour window."""
    h = _default("a1")
    h.login("a1")
    h.at(120).arrive("c1")  # two idle minutes first
    h.answer_and_end("c1", "a1", talk=1070)
    h.at(1191).arrive("next")
    out = h.fire("wrap_up:a1:")  # at 1200: 1,080 s busy in 1,200 s staffed
    view = h.engine.agent_view("a1")
    assert view.activity is Activity.BREATHER
    assert rings(out) == []
    assert (view.occupancy, view.staffed_s_in_window) == (pytest.approx(0.9), 1200)
    assert h.engine.occupancy("a1") == pytest.approx(0.9)
    # A breather is staffed time: 1,080 / 1,320 = 82 %, under the cap, so the next call rings.
    assert rings(h.fire("breather:a1:")) == [("next", "a1")]


def test_first_call_of_a_shift_does_not_trigger_a_breather() -> None:
    """A call straight after login is measured against the 15-minute floor, not 100 % busy."""
    h = _default("a1")
    h.login("a1")
    h.arrive("c1")
    h.answer_and_end("c1", "a1", talk=300)
    h.at(301).arrive("c2")
    out = h.fire("wrap_up:a1:")
    assert rings(out) == [("c2", "a1")]
    assert h.engine.occupancy("a1") == pytest.approx(310 / 900)


def test_paused_time_does_not_dilute_occupancy() -> None:
    """Half an hour paused is not staffed: busy 900 of 1,000 staffed seconds is over the cap."""
    h = _default("a1")
    h.send(ev.AgentLoggedIn, agent_id="a1", paused_reason="training")
    h.at(1800).send(ev.AgentReady, agent_id="a1")
    h.at(1900).arrive("c1")
    h.answer_and_end("c1", "a1", talk=890)
    h.fire("wrap_up:a1:")
    view = h.engine.agent_view("a1")
    assert view.activity is Activity.BREATHER
    assert view.staffed_s_in_window == 1000
    assert view.occupancy == pytest.approx(0.9)


def test_recovery_and_logged_out_time_are_not_staffed() -> None:
    """Recovery pauses and time logged out neither add staffed time nor lower occupancy."""
    h = _default("a1")
    h.login("a1")
    h.at(100).arrive("c1")
    h.answer_and_end("c1", "a1", talk=790)
    h.send(ev.RecoveryPauseRequested, agent_id="a1")  # at 890, straight from wrap-up: 790 s busy
    h.at(1000).send(ev.AgentLoggedOut, agent_id="a1")
    h.at(2000)
    view = h.engine.agent_view("a1", at=2000)
    assert view.staffed_s_in_window == 890
    assert h.engine.occupancy("a1", at=2000) == pytest.approx(790 / 900)  # the floor: 890 s staffed
    h.login("a1")  # still over the cap when back: a breather first
    assert h.engine.agent_view("a1").activity is Activity.BREATHER


def test_min_basis_is_capped_at_the_window() -> None:
    """A floor longer than the window counts as the window."""
    policy = WorkloadPolicy(window_s=600, bucket_s=60, min_basis_s=900, occupancy_cap=0.5)
    h = Harness.of(config([queue(wrap_up_s=10)], [agent("a1")], workload=policy))
    h.login("a1")
    h.arrive("c1")
    h.answer_and_end("c1", "a1", talk=290)
    h.fire("wrap_up:a1:")
    assert h.engine.occupancy("a1") == pytest.approx(300 / 600)
    assert h.engine.agent_view("a1").activity is Activity.AVAILABLE


def test_a_lower_min_basis_at_reload_applies_at_once() -> None:
    """Lowering the floor by a reload re-measures available advisors straight away."""
    h = _default("a1")
    h.login("a1")
    h.arrive("c1")
    h.answer_and_end("c1", "a1", talk=300)
    h.fire("wrap_up:a1:")
    assert h.engine.agent_view("a1").activity is Activity.AVAILABLE
    h.send(
        ev.ConfigChanged,
        config=config(
            [queue(wrap_up_s=10)], [agent("a1")], workload=WorkloadPolicy(min_basis_s=60)
        ),
    )
    assert h.engine.occupancy("a1") == pytest.approx(1.0)
    assert h.engine.agent_view("a1").activity is Activity.BREATHER


def test_a_new_window_shape_keeps_the_staffed_period_in_progress() -> None:
    """A reload that rebuilds the window still counts staffed time since login."""
    h = _default("a1")
    h.login("a1")
    h.at(500).send(
        ev.ConfigChanged,
        config=config([queue(wrap_up_s=10)], [agent("a1")], workload=WorkloadPolicy(bucket_s=30)),
    )
    assert h.engine.agent_view("a1", at=600).staffed_s_in_window == 600


def test_occupancy_view_includes_the_call_in_progress() -> None:
    """The view counts ongoing talk as busy and staffed; the cap figure waits for its end."""
    h = _default("a1")
    h.login("a1")
    h.at(900).arrive("c1")
    h.send(ev.AgentAnswered, call_id="c1", agent_id="a1")
    view = h.engine.agent_view("a1", at=1200)
    assert (view.occupancy, view.staffed_s_in_window) == (pytest.approx(300 / 1200), 1200)
    assert h.engine.occupancy("a1", at=1200) == 0
