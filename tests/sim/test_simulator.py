"""The discrete-event simulator around the engine: determinism, event order, the simulated world."""

from __future__ import annotations

from collections import Counter

import pytest

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.config import (
    AcdConfig,
    AgentConfig,
    OverflowTarget,
    QueueConfig,
    WorkloadPolicy,
)
from acd.core.engine import Engine
from acd.core.states import Outcome
from acd.sim.decision_log import DecisionLog
from acd.sim.distributions import Constant, Exponential, Never
from acd.sim.replications import replicate
from acd.sim.scenario import (
    Arrival,
    Break,
    QueueDemand,
    Scenario,
    Shift,
    draw_callers,
    scenario_for,
)
from acd.sim.simulator import run_day
from tests.sim.builders import HOUR, mmc_config, mmc_scenario, small_centre, small_day


def test_same_seed_and_config_give_identical_results() -> None:
    """Two runs with the same seed and configuration produce exactly the same day."""
    first = run_day(small_centre(), small_day(), seed=7)
    second = run_day(small_centre(), small_day(), seed=7)
    assert first == second
    assert len(first.calls) > 100


def test_another_seed_gives_another_day() -> None:
    """A different seed draws different callers."""
    assert (
        run_day(small_centre(), small_day(), seed=1).calls
        != run_day(small_centre(), small_day(), seed=2).calls
    )


def test_events_reach_the_engine_in_non_decreasing_time_order() -> None:
    """Every event handed to the engine is stamped no earlier than the one before."""
    times: list[float] = []
    run_day(small_centre(), small_day(), on_decision=lambda at, e, _c: times.append(e.at))
    assert times == sorted(times)
    assert len(times) > 1000


def test_a_fresh_engine_fed_the_same_events_makes_the_same_decisions() -> None:
    """Replaying the simulator's event log into a new engine (as the daemon would) gives the same
    commands, event by event: the simulator decides nothing the daemon would not."""
    log: list[tuple[ev.Event, list[cmd.Command]]] = []
    config = small_centre()
    scenario = small_day()
    run_day(config, scenario, on_decision=lambda _at, e, c: log.append((e, c)))
    daemon = Engine(config, start_at=scenario.open_s)
    for event, commands in log:
        assert daemon.handle(event) == commands


def test_configurations_meet_the_same_callers() -> None:
    """Replication i of two configurations offers the same callers at the same times."""
    a = replicate(small_centre(wrap_up_s=5.0), small_day(), 2, seed=3)
    b = replicate(small_centre(wrap_up_s=60.0), small_day(), 2, seed=3)
    for ra, rb in zip(a, b, strict=True):
        assert sorted(c.offered_at for c in ra.calls) == sorted(c.offered_at for c in rb.calls)
    assert [c.wait_s for c in a[0].calls] != [c.wait_s for c in b[0].calls]


def test_every_caller_is_answered_when_nobody_hangs_up_and_advisors_stay() -> None:
    """Without patience limits and with advisors until drained, every call ends answered."""
    result = run_day(mmc_config(5), mmc_scenario(60.0, hours=2.0, warmup_hours=0.0))
    assert result.unfinished == 0
    assert {c.outcome for c in result.calls} == {Outcome.ANSWERED}
    assert result.ended_at >= result.close_s


def test_impatient_callers_abandon_at_their_patience() -> None:
    """A caller with a constant 30 s patience facing a full queue abandons after exactly 30 s."""
    scenario = mmc_scenario(
        600.0, handle_s=3600.0, patience=Constant(30.0), hours=1.0, warmup_hours=0.0
    )
    result = run_day(mmc_config(1), scenario)
    abandoned = [c for c in result.calls if c.outcome is Outcome.ABANDONED]
    assert len(abandoned) > 50
    assert all(c.wait_s == pytest.approx(30.0) for c in abandoned)


def test_missed_presentations_are_re_presented_and_counted() -> None:
    """With a no-answer probability, presentations time out, calls ring another advisor, and
    advisors paused for missed calls come back."""
    log = DecisionLog()
    result = run_day(small_centre(), small_day(no_answer_probability=0.4), on_decision=log)
    missed = sum(a.missed for a in result.agents)
    assert missed > 20
    tried_twice = [c for c in result.calls if len(c.agents_tried) >= 2]
    assert tried_twice
    assert any("(no_answer)" in line for line in log.lines)
    assert any("paused -> available" in line for line in log.lines)


def test_roster_logs_in_takes_breaks_and_logs_out() -> None:
    """Advisors log in at shift start, take their break for its length, and log out at the end
    once their call is over."""
    roster = (
        Shift(("s*", "m1"), 8 * HOUR, 10 * HOUR, (Break(9 * HOUR, 600.0),)),
        Shift(("t*",), 8.5 * HOUR),
    )
    log = DecisionLog()
    changes: list[cmd.RecordAgentState] = []

    def watch(at: float, event: ev.Event, commands: list[cmd.Command]) -> None:
        log(at, event, commands)
        changes.extend(
            c for c in commands if isinstance(c, cmd.RecordAgentState) and c.agent_id == "s1"
        )

    result = run_day(small_centre(), small_day(roster=roster), on_decision=watch)
    days = {a.agent_id: a for a in result.agents}
    for agent_id in ("s1", "s2", "s3", "m1"):
        assert days[agent_id].seconds.get("paused", 0.0) >= 600.0 - 1e-6
        assert days[agent_id].seconds["offline"] >= HOUR - 1e-6
    assert days["t1"].seconds["offline"] == pytest.approx(0.5 * HOUR)
    assert any("(shift_end)" in line for line in log.lines)
    assert any("AgentLoggedOut agent_id=s1" in line for line in log.lines)
    # The break lasts its length from when it starts (after the call in progress, if any).
    activity = [c for c in changes if c.dimension == "activity"]
    start = next(i for i, c in enumerate(activity) if c.new == "paused" and c.reason == "break")
    assert activity[start].at >= 9 * HOUR
    assert activity[start + 1].at - activity[start].at == pytest.approx(600.0)


def test_workload_cap_imposes_breathers() -> None:
    """With the occupancy cap on and heavy load, advisors take breathers; with it off, none."""
    busy = Scenario(
        open_s=0.0,
        close_s=3 * HOUR,
        queues=(QueueDemand("q", ((0.0, 120.0),), Exponential(200.0), Exponential(300.0)),),
        ring_delay_s=Constant(2.0),
    )
    capped = AcdConfig(
        queues=(QueueConfig("q", wrap_up_s=10.0),),
        agents=tuple(AgentConfig(f"a{i}", queues=("q",)) for i in range(6)),
        workload=WorkloadPolicy(enabled=True, occupancy_cap=0.6, window_s=1800.0),
    )
    free = AcdConfig(
        queues=capped.queues, agents=capped.agents, workload=WorkloadPolicy(enabled=False)
    )
    assert sum(a.breathers for a in run_day(capped, busy).agents) > 10
    assert sum(a.breathers for a in run_day(free, busy).agents) == 0


def test_advisors_end_wrap_up_early_when_they_need_less_time() -> None:
    """A wrap-up need shorter than the configured wrap-up ends it early (not below the minimum)."""
    config = AcdConfig(
        queues=(QueueConfig("q", wrap_up_s=60.0, announce_interval_s=None),),
        agents=tuple(AgentConfig(f"a{i}", queues=("q",)) for i in range(3)),
        workload=WorkloadPolicy(enabled=True, occupancy_cap=1.0, min_wrap_up_s=5.0),
    )

    def day(wrap: Constant | None) -> Scenario:
        return Scenario(
            open_s=0.0,
            close_s=HOUR,
            queues=(QueueDemand("q", ((0.0, 20.0),), Exponential(120.0), Never(), wrap),),
        )

    configured = run_day(config, day(None)).calls
    early = run_day(config, day(Constant(2.0))).calls
    assert {round(c.wrap_up_s, 6) for c in configured if c.outcome is Outcome.ANSWERED} == {60.0}
    assert {round(c.wrap_up_s, 6) for c in early if c.outcome is Outcome.ANSWERED} == {5.0}


def test_max_wait_overflow_out_of_the_engine_counts_as_left() -> None:
    """A queue with max_wait and a hang-up target sends long waiters out: outcome overflowed."""
    config = AcdConfig(
        queues=(
            QueueConfig(
                "q", max_wait_s=60.0, overflow=OverflowTarget.parse("hangup"), wrap_up_s=0.0
            ),
        ),
        agents=(AgentConfig("a", queues=("q",)),),
    )
    result = run_day(config, mmc_scenario(120.0, handle_s=600.0, hours=1.0, warmup_hours=0.0))
    outcomes = Counter(c.outcome for c in result.calls)
    assert outcomes[Outcome.OVERFLOWED] > 20
    assert all(c.wait_s == pytest.approx(60.0) for c in result.calls if c.overflow_target)


def test_callers_of_a_queue_the_config_lacks_are_counted_not_offered() -> None:
    """A scenario queue missing from the configuration is skipped and counted."""
    scenario = Scenario(
        open_s=0.0,
        close_s=HOUR,
        queues=(
            QueueDemand("q", ((0.0, 30.0),)),
            QueueDemand("elsewhere", ((0.0, 30.0),)),
        ),
    )
    result = run_day(mmc_config(3), scenario)
    assert result.without_queue > 10
    assert {c.queue for c in result.calls} == {"q"}


def test_hard_stop_after_max_drain_leaves_stranded_callers_unfinished() -> None:
    """Callers who never hang up and face no advisor stop the run after max_drain_s, unfinished."""
    scenario = Scenario(
        open_s=0.0,
        close_s=HOUR,
        queues=(QueueDemand("q", ((0.0, 30.0),), patience_s=Never()),),
        roster=(Shift(("nobody",), 0.0),),
        max_drain_s=600.0,
    )
    result = run_day(mmc_config(2), scenario)
    assert result.unfinished > 10
    assert result.calls == ()
    assert HOUR <= result.ended_at <= HOUR + 600.0


def test_decision_log_reads_as_what_the_engine_decided() -> None:
    """The decision log names the events and the rings, prompts and outcomes they caused."""
    log = DecisionLog(limit=200)
    run_day(small_centre(), small_day(), on_decision=log)
    text = log.text()
    assert "CallArrived call_id=c000001" in text
    assert "-> ring " in text
    assert 200 <= len(log.lines) < 220  # the last event's commands complete its entry


def test_built_in_scenario_fits_any_configuration() -> None:
    """scenario_for gives every queue calls in proportion to its advisors, and runs."""
    config = small_centre()
    scenario = scenario_for(config, hours=1.0, load=0.7)
    sales = scenario.demand("sales")
    support = scenario.demand("support")
    assert sales is not None
    assert support is not None
    # sales: 3 advisors + half of m1; support: 2 advisors + half of m1.
    assert sales.profile[0][1] == pytest.approx(0.7 * 3.5 * 20)
    assert support.profile[0][1] == pytest.approx(0.7 * 2.5 * 20)
    log = DecisionLog(limit=50)
    result = run_day(config, scenario, on_decision=log)
    assert result.calls
    assert log.lines[0].startswith("08:00:00.0 AgentLoggedIn")


def test_shifts_starting_before_opening_log_in_at_opening() -> None:
    """A shift that starts before the day opens logs its advisors in at opening, and a caller
    arriving at the opening second meets them."""
    scenario = Scenario(
        open_s=8 * HOUR,
        close_s=9 * HOUR,
        queues=(QueueDemand("q", ((8 * HOUR, 0.0),)),),
        arrivals=(Arrival(8 * HOUR, "q", handle_s=60.0),),
        roster=(Shift(("a*",), 7 * HOUR, 8.5 * HOUR, (Break(7.5 * HOUR, 60.0),)),),
        ring_delay_s=Constant(0.0),
    )
    result = run_day(mmc_config(2), scenario)
    assert [c.wait_s for c in result.calls] == [0.0]


def test_every_caller_and_every_advisor_second_is_accounted_for() -> None:
    """Callers: completed + unfinished + without queue = drawn; each advisor's activity seconds
    add up to the simulated span, through breaks, shift ends and missed presentations."""
    roster = (
        Shift(("s*",), 8 * HOUR, 10 * HOUR, (Break(9 * HOUR, 300.0),)),
        Shift(("t*", "m1"), 8.25 * HOUR, None, (Break(9.5 * HOUR, 600.0),)),
    )
    scenario = small_day(roster=roster, no_answer_probability=0.2)
    result = run_day(small_centre(), scenario, seed=11)
    drawn = len(draw_callers(scenario, 11))
    assert len(result.calls) + result.unfinished + result.without_queue == drawn
    assert len({c.call_id for c in result.calls}) == len(result.calls)
    for day in result.agents:
        assert sum(day.seconds.values()) == pytest.approx(result.ended_at - scenario.open_s)


def test_offered_callbacks_keep_their_place_and_are_completed() -> None:
    """Callers offered a callback after 30 s all accept: their calls end callback_requested (not
    abandoned), and callbacks reach customers through advisors reserved for them."""
    from acd.sim.figures import callback_figures, queue_figures

    config = AcdConfig(
        queues=(QueueConfig("sales", announce_interval_s=None, callback_offer_after_s=30.0),),
        agents=(AgentConfig("a1", queues=("sales",)),),
        workload=WorkloadPolicy(enabled=False),
    )
    scenario = Scenario(
        open_s=0.0,
        close_s=1800.0,
        queues=(QueueDemand("sales", ((0.0, 40.0),), Constant(120.0), Constant(600.0)),),
        callback_acceptance=1.0,
        callback_reach=1.0,
    )
    result = run_day(config, scenario, seed=3)
    outcomes = [c.outcome for c in result.calls]
    figures = callback_figures(result.calls)
    assert figures.requested == outcomes.count(Outcome.CALLBACK_REQUESTED) > 0
    assert figures.completed == figures.requested - figures.failed
    assert Outcome.ABANDONED not in outcomes
    inbound = queue_figures(result.calls, 5.0)
    assert inbound.offered == len([c for c in result.calls if c.reason != "callback"])
