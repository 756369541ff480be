"""The report's theory check: load per interval, advisors on shift, Erlang C or A, dedication."""

from __future__ import annotations

from pathlib import Path

import pytest

from acd.settings import load_settings
from acd.sim.distributions import Exponential, Gamma
from acd.sim.erlang import erlang_a
from acd.sim.scenario import Break, QueueDemand, Scenario, Shift
from acd.sim.scenario_file import load_scenario
from acd.sim.theory import queue_theory, scheduled_advisors
from tests.sim.builders import HOUR, mmc_config, small_centre

EXAMPLES = Path(__file__).parents[2] / "examples" / "scenarios"


def test_erlang_example_is_exactly_erlang_a() -> None:
    """For the Erlang example (dedicated advisors, one step) the check is plain Erlang A."""
    config = load_settings(EXAMPLES / "erlang-check.acd.toml").to_core()
    rows = queue_theory(config, load_scenario(EXAMPLES / "erlang-check.toml"))["sales"]
    first = rows[0]
    assert first.dedicated
    assert first.model == "Erlang A"
    assert (first.calls_per_hour, first.handle_s, first.scheduled) == (180.0, 180.0, 10)
    expected = erlang_a(180 / 3600, 180.0, 10, 20.0, 120.0)
    assert first.predicted == expected


def test_profile_rates_are_averaged_over_each_interval() -> None:
    """A rate change in mid-interval gives that interval the time-weighted mean rate."""
    scenario = Scenario(
        open_s=0.0,
        close_s=2 * HOUR,
        queues=(QueueDemand("q", ((0.0, 60.0), (1.5 * HOUR, 180.0))),),
        interval_s=HOUR,
    )
    rows = queue_theory(mmc_config(4), scenario)["q"]
    assert [r.calls_per_hour for r in rows] == pytest.approx([60.0, 120.0])


def test_advisors_on_shift_exclude_breaks_and_other_queues() -> None:
    """Scheduled advisors of a queue: on shift at the time, not on a scheduled break."""
    config = small_centre()
    roster = (
        Shift(("s*",), 8 * HOUR, 12 * HOUR, (Break(9 * HOUR, 900.0),)),
        Shift(("m1", "t1"), 10 * HOUR),
    )
    scenario = Scenario(
        open_s=8 * HOUR, close_s=12 * HOUR, queues=(QueueDemand("sales"),), roster=roster
    )
    assert scheduled_advisors(config, scenario, "sales", 8.5 * HOUR) == 3
    assert scheduled_advisors(config, scenario, "sales", 9.1 * HOUR) == 0
    assert scheduled_advisors(config, scenario, "sales", 10.5 * HOUR) == 4
    assert scheduled_advisors(config, scenario, "support", 10.5 * HOUR) == 2


def test_shared_advisors_or_steps_mark_the_check_as_a_guide() -> None:
    """Queues with several steps or shared advisors are not Erlang's picture: not dedicated."""
    scenario = Scenario(
        open_s=8 * HOUR,
        close_s=9 * HOUR,
        queues=(
            QueueDemand("sales", ((8 * HOUR, 30.0),), patience_s=Gamma(100.0, 50.0)),
            QueueDemand("support", ((8 * HOUR, 30.0),), patience_s=Exponential(100.0)),
        ),
    )
    theory = queue_theory(small_centre(), scenario)
    assert not theory["sales"][0].dedicated
    assert not theory["support"][0].dedicated  # m1 also serves sales
    assert theory["sales"][0].model == "Erlang A, patience not exponential"
    assert theory["support"][0].model == "Erlang A"
