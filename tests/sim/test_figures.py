"""Figures from call summaries, and confidence intervals across replications."""

from __future__ import annotations

from dataclasses import replace

import pytest

from acd.core.commands import CallCompleted
from acd.core.config import OverflowTarget
from acd.core.states import Outcome
from acd.sim.figures import day_figures, queue_figures
from acd.sim.replications import estimate, replicate, summarize, t_quantile
from acd.sim.simulator import DaySimulation
from tests.sim.builders import small_centre, small_day


def _call(
    outcome: Outcome, wait: float, *, talk: float = 0.0, within: bool = False
) -> CallCompleted:
    answered = outcome is Outcome.ANSWERED
    return CallCompleted(
        call_id="c",
        queue="q",
        first_queue="q",
        priority=0,
        caller_number="",
        caller_name="",
        linked_id="",
        offered_at=0.0,
        presented_at=None,
        answered_at=wait if answered else None,
        ended_at=wait + talk,
        agent_id="a" if answered else None,
        agents_tried=(),
        outcome=outcome,
        reason="",
        wait_s=wait,
        talk_s=talk,
        wrap_up_s=10.0 if answered else 0.0,
        disposition=None,
        transferred_to=None,
        overflow_target=None,
        answered_within_sl=within,
    )


def test_queue_figures_follow_the_definitions() -> None:
    """SL excludes short abandons from the denominator; ASA and AHT are over answered calls."""
    calls = [
        _call(Outcome.ANSWERED, 5.0, talk=100.0, within=True),
        _call(Outcome.ANSWERED, 40.0, talk=200.0),
        _call(Outcome.ABANDONED, 2.0),  # short abandon (under 5 s)
        _call(Outcome.ABANDONED, 60.0),
        _call(Outcome.OVERFLOWED, 90.0),
    ]
    f = queue_figures(calls, short_abandon_s=5.0)
    assert (f.offered, f.answered, f.abandoned, f.short_abandons, f.left) == (5, 2, 2, 1, 1)
    assert f.service_level == pytest.approx(1 / 4)
    assert f.asa_s == pytest.approx(22.5)
    assert f.aht_s == pytest.approx(160.0)
    assert f.abandon_rate == pytest.approx(2 / 5)


def test_no_calls_means_no_rates() -> None:
    """Without calls, the rates are None rather than zero."""
    f = queue_figures([], short_abandon_s=5.0)
    assert (f.service_level, f.asa_s, f.abandon_rate, f.aht_s) == (None, None, None, None)


def test_t_quantiles() -> None:
    """Table values for few degrees of freedom, the expansion close to tables beyond."""
    assert t_quantile(0.95, 1) == 12.706
    assert t_quantile(0.95, 15) == pytest.approx(2.131, abs=2e-3)
    assert t_quantile(0.99, 20) == pytest.approx(2.845, abs=2e-3)
    assert t_quantile(0.95, 1000) == pytest.approx(1.962, abs=1e-3)


def test_estimate_gives_mean_and_student_interval() -> None:
    """Mean ± t·s/√n over the non-None values."""
    e = estimate([1.0, 2.0, 3.0, None], confidence=0.95)
    assert e.mean == 2.0
    assert e.n == 3
    assert e.half_width == pytest.approx(4.303 * 1.0 / 3**0.5)
    assert e.contains(0.0)
    assert not e.contains(5.0)
    assert estimate([None]).mean is None


def test_day_figures_cover_queues_intervals_advisors_and_fairness() -> None:
    """A simulated day yields per-queue, per-interval, per-advisor and fairness figures."""
    result = replicate(small_centre(), small_day(), 1, seed=5)[0]
    day = day_figures(result)
    assert set(day.queues) == {"sales", "support"}
    assert len(day.intervals["sales"]) == 6  # three hours in half-hours
    assert sum(f.offered for f in day.intervals["sales"]) == day.queues["sales"].offered
    assert day.total.offered == len(result.calls)
    assert {a.agent_id for a in day.agents} == {"s1", "s2", "s3", "t1", "t2", "m1"}
    assert sum(a.calls for a in day.agents) == day.total.answered
    assert day.calls_per_advisor.maximum >= day.calls_per_advisor.mean >= 0
    assert day.occupancy is not None
    assert 0 < day.occupancy < 1


def test_summary_intervals_narrow_with_more_replications() -> None:
    """More replications, narrower confidence intervals (same seeds extended)."""
    # Two against sixteen: with three, a lucky draw of close values can be narrower than eight.
    few = summarize(replicate(small_centre(), small_day(), 2, seed=1))
    many = summarize(replicate(small_centre(), small_day(), 16, seed=1))
    hw_few = few.total["service_level"].half_width
    hw_many = many.total["service_level"].half_width
    assert hw_few is not None
    assert hw_many is not None
    assert hw_many < hw_few
    assert many.calls_simulated > few.calls_simulated


def test_queue_figures_show_the_longest_wait_and_leave_rejections_out() -> None:
    """The longest wait of any offered call; a caller refused at join is out of the SL."""
    calls = [
        _call(Outcome.ANSWERED, 5.0, talk=100.0, within=True),
        _call(Outcome.ABANDONED, 300.0),
        _call(Outcome.REJECTED, 0.0),
    ]
    f = queue_figures(calls, short_abandon_s=5.0)
    assert (f.offered, f.rejected, f.longest_wait_s) == (3, 1, 300.0)
    assert f.service_level == pytest.approx(1 / 2)


def test_a_capped_day_counts_the_breather_alerts() -> None:
    """With a tight occupancy cap, callers held only by breathers are counted for the day."""
    config = small_centre()
    tight = replace(config, workload=replace(config.workload, occupancy_cap=0.5, min_basis_s=60.0))
    figures = day_figures(DaySimulation(tight, small_day(), seed=3).run())
    assert figures.breathers > 0
    assert figures.breather_holds > 0


def test_a_queue_counts_the_callers_who_moved_on_from_it_and_the_centre_counts_them_once() -> None:
    """Sales callers overflow to support after 30 s: sales counts them offered and moved on
    (never answered there), as the engine and the reports do; the day's total counts each once."""
    centre = small_centre()
    sales, support = centre.queues
    overflowing = replace(sales, max_wait_s=30.0, overflow=OverflowTarget.parse("queue:support"))
    result = replicate(replace(centre, queues=(overflowing, support)), small_day(), 1, seed=5)[0]
    assert result.moved_on
    day = day_figures(result)
    moved = day.queues["sales"].moved_on
    assert moved > 0
    ended_in_sales = sum(1 for c in result.calls if c.queue == "sales")
    assert day.queues["sales"].offered == ended_in_sales + moved
    assert sum(f.moved_on for f in day.intervals["sales"]) == moved
    assert day.total.offered == len(result.calls)
    assert day.total.moved_on == 0
