"""Replaying a past day ("what if yesterday had run with this config?") from its call records."""

from __future__ import annotations

import pytest

from acd.core.states import Outcome
from acd.sim.distributions import Exponential, Never
from acd.sim.scenario import PastCall, ScenarioError, draw_callers, scenario_from_history
from acd.sim.simulator import run_day
from tests.sim.builders import HOUR, mmc_config, mmc_scenario


def _history() -> list[PastCall]:
    calls = []
    for i in range(120):
        at = 8 * HOUR + i * 60.0
        if i % 10 == 0:
            calls.append(PastCall(at, "q", abandoned_after_s=40.0))
        else:
            calls.append(PastCall(at, "q", priority=i % 2, handle_s=150.0 + i, waited_s=10.0))
    return calls


def test_replayed_callers_keep_their_recorded_values() -> None:
    """Answered calls keep their talk time, abandoned ones their patience, all their times."""
    scenario = scenario_from_history(_history())
    callers = draw_callers(scenario, seed=1)
    assert [c.at for c in callers] == [p.at for p in _history()]
    assert callers[1].handle_s == 151.0
    assert callers[1].priority == 1
    assert callers[0].patience_s == 40.0
    assert (scenario.open_s, scenario.close_s) == (8 * HOUR, 10 * HOUR)


def test_unknown_values_are_estimated_from_the_day() -> None:
    """Talk time of abandoned calls: exponential with the answered mean; patience: censored MLE."""
    scenario = scenario_from_history(_history())
    demand = scenario.demand("q")
    assert demand is not None
    answered = [p.handle_s for p in _history() if p.handle_s is not None]
    assert demand.handle_s == Exponential(sum(answered) / len(answered))
    # 12 abandons after 40 s; 108 answered callers each waited 10 s without hanging up.
    assert demand.patience_s == Exponential((12 * 40.0 + 108 * 10.0) / 12)


def test_a_base_scenario_supplies_roster_and_behaviour() -> None:
    """With a scenario file as base, the replay keeps its roster, ring delays and distributions."""
    base = mmc_scenario(10.0, hours=12.0, warmup_hours=0.0)
    scenario = scenario_from_history(_history(), base=base)
    assert scenario.ring_delay_s == base.ring_delay_s
    assert scenario.close_s == base.close_s
    demand = scenario.demand("q")
    assert demand is not None
    assert demand.patience_s == Never()


def test_a_replayed_day_runs_under_another_configuration() -> None:
    """The replayed day simulates: every caller is offered, abandons happen at their patience."""
    result = run_day(mmc_config(1), scenario_from_history(_history()))
    assert len(result.calls) == 120
    abandoned = [c for c in result.calls if c.outcome is Outcome.ABANDONED]
    assert abandoned


def test_an_empty_history_is_refused() -> None:
    """No call records: nothing to replay, a clear error."""
    with pytest.raises(ScenarioError, match="no call to replay"):
        scenario_from_history([])
