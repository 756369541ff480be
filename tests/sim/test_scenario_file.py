"""Scenario files: the examples load, values map to the model, errors name file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from acd.sim.distributions import Constant, Exponential, LogNormal, Never, Uniform
from acd.sim.scenario import (
    QueueDemand,
    Scenario,
    ScenarioError,
    Shift,
    draw_callers,
    mismatches,
)
from acd.sim.scenario_file import load_scenario, parse_time, read_arrivals_csv, scenario_from_data
from tests.sim.builders import small_centre

EXAMPLES = Path(__file__).parents[2] / "examples" / "scenarios"


def test_example_scenarios_load() -> None:
    """Every example scenario in examples/scenarios loads."""
    files = [p for p in EXAMPLES.glob("*.toml") if not p.name.endswith(".acd.toml")]
    assert files
    for path in files:
        assert load_scenario(path).close_s > 0


def test_weekday_example_maps_to_the_model() -> None:
    """Profile, distributions, roster and behaviour of weekday.toml land in the Scenario."""
    sc = load_scenario(EXAMPLES / "weekday.toml")
    assert (sc.open_s, sc.close_s, sc.interval_s) == (8 * 3600, 18 * 3600, 1800)
    sales = sc.demand("sales")
    assert sales is not None
    assert sales.profile[0] == (8 * 3600, 50.0)
    assert sales.handle_s == LogNormal(240, 150)
    assert sales.patience_s == Exponential(150)
    assert sales.wrap_up_s == Uniform(5, 25)
    assert sc.ring_delay_s == Uniform(2, 6)
    assert sc.roster is not None
    assert sc.roster[0].end == 16 * 3600
    assert sc.roster[1].end is None
    assert sc.roster[0].breaks[1].duration_s == 45 * 60


def test_times_of_day_parse() -> None:
    """HH:MM, HH:MM:SS and plain seconds are accepted; nonsense is refused with the field."""
    assert parse_time("t", "08:30") == 8.5 * 3600
    assert parse_time("t", "08:30:15") == 8.5 * 3600 + 15
    assert parse_time("t", 90) == 90.0
    with pytest.raises(ScenarioError, match="t: expected HH:MM"):
        parse_time("t", "8h30")


def test_errors_name_the_field() -> None:
    """Unknown keys, bad distributions and bad profiles name where they are."""
    base = {"scenario": {"open": "08:00", "close": "18:00"}}
    with pytest.raises(ScenarioError, match=r"queues\.sales: unknown key"):
        scenario_from_data({**base, "queues": {"sales": {"calls_per_hr": 3}}})
    with pytest.raises(ScenarioError, match=r"queues\.sales\.handle_s\.distribution"):
        scenario_from_data({**base, "queues": {"sales": {"handle_s": {"distribution": "x"}}}})
    with pytest.raises(ScenarioError, match=r"queues\.sales\.profile\[1\]: times must increase"):
        scenario_from_data(
            {**base, "queues": {"sales": {"calls_per_hour": [["09:00", 5], ["08:00", 5]]}}}
        )
    with pytest.raises(ScenarioError, match=r"roster\[0\]\.end: must be after start"):
        scenario_from_data({**base, "roster": [{"start": "10:00", "end": "09:00"}]})


def test_load_scenario_names_the_file(tmp_path: Path) -> None:
    """A bad file is reported with its path."""
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\nopen = "08:00"\nclose = "07:00"\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"bad\.toml: scenario\.close"):
        load_scenario(bad)


def test_numbers_and_never_are_distributions() -> None:
    """A bare number is a constant, "never" an infinite patience, missing handle exponential."""
    sc = scenario_from_data(
        {
            "scenario": {"open": 0, "close": 3600, "ring_delay_s": 0},
            "queues": {"q": {"calls_per_hour": 10, "patience_s": "never"}},
        }
    )
    q = sc.demand("q")
    assert q is not None
    assert sc.ring_delay_s == Constant(0.0)
    assert q.patience_s == Never()
    assert q.handle_s == Exponential(180.0)


def test_real_arrivals_from_csv(tmp_path: Path) -> None:
    """CSV arrivals keep their own values; empty cells are drawn from the queue's demand."""
    (tmp_path / "day.csv").write_text(
        "time,queue,priority,handle_s,patience_s\n08:00:05,q,,120,\n08:00:01,q,2,,30\n",
        encoding="utf-8",
    )
    (tmp_path / "day.toml").write_text(
        '[scenario]\nopen = "08:00"\nclose = "09:00"\n'
        '[queues.q]\nhandle_s = 200\npatience_s = 99\n[arrivals]\ncsv = "day.csv"\n',
        encoding="utf-8",
    )
    sc = load_scenario(tmp_path / "day.toml")
    callers = draw_callers(sc, seed=1)
    assert [(c.at, c.priority, c.handle_s, c.patience_s) for c in callers] == [
        (8 * 3600 + 1, 2, 200.0, 30.0),
        (8 * 3600 + 5, None, 120.0, 99.0),
    ]


def test_csv_errors_name_the_line(tmp_path: Path) -> None:
    """A bad cell is reported with file, line and column."""
    path = tmp_path / "day.csv"
    path.write_text("time,queue,handle_s\n08:00,q,abc\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"day\.csv:2\.handle_s: not a number"):
        read_arrivals_csv(path)
    path.write_text("when,queue\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="missing column"):
        read_arrivals_csv(path)


def test_mismatches_between_scenario_and_configuration_are_spelled_out() -> None:
    """Roster patterns matching nobody, unknown queues and advisors never on shift are listed."""
    scenario = Scenario(
        open_s=0.0,
        close_s=3600.0,
        queues=(QueueDemand("sales"), QueueDemand("billing")),
        roster=(Shift(("s*", "x9"), 0.0),),
    )
    notes = mismatches(small_centre(), scenario)
    assert "queue 'billing' of the scenario is not in the configuration" in notes
    assert "roster[0]: 'x9' matches no advisor" in notes
    assert "3 advisor(s) never on shift: t1, t2, m1" in notes
