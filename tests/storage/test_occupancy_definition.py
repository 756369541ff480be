"""One definition of occupancy (``acd.core.workload.occupancy``): handle time over staffed time.

The fixture day of the report tests, replayed through the engine with a rolling window that holds
the whole day, gives each advisor the same occupancy in the engine (the cap's figure), its
snapshot (wallboard, API and the demo's closing summary), the report and the simulator's
accounting of the same activity changes.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from acd.admin.models import agent_out
from acd.core.commands import RecordAgentState
from acd.core.config import WorkloadPolicy
from acd.sim.results import AgentDay
from acd.storage.reports import Interval
from tests.storage.engine_driver import EngineDriver
from tests.storage.test_reports import fixture_day, local, recorded_fixture_day, report_for

# A window holding the whole fixture day, and a floor too small to matter.
DAY_WINDOW = WorkloadPolicy(
    enabled=False, min_wrap_up_s=0, window_s=86_400, bucket_s=60, min_basis_s=1
)


def _seconds_per_activity(driver: EngineDriver, agent_id: str, end: float) -> dict[str, float]:
    """Seconds in each activity, from the engine's own RecordAgentState commands."""
    changes = [
        r
        for r in driver.records
        if isinstance(r, RecordAgentState) and r.agent_id == agent_id and r.dimension == "activity"
    ]
    seconds: dict[str, float] = {}
    for i, c in enumerate(changes):
        until = changes[i + 1].at if i + 1 < len(changes) else end
        seconds[str(c.new)] = seconds.get(str(c.new), 0.0) + until - c.at
    return seconds


async def test_engine_snapshot_report_and_simulator_agree_on_occupancy(
    sqlite_url: str, tmp_path: Path
) -> None:
    """a1 440 s of handle time over 2,700 s staffed, a2 260 over 3,600: the same everywhere."""
    await recorded_fixture_day(sqlite_url, tmp_path / "spool")
    report = await report_for(sqlite_url, Interval.DAY)
    reported = {a.agent_id: a.occupancy for a in report.advisors}
    assert reported == {"a1": pytest.approx(440 / 2700), "a2": pytest.approx(260 / 3600)}

    day = fixture_day(workload=DAY_WINDOW)
    end = local(10, 0)
    snapshot = day.engine.snapshot(end)
    for view in snapshot.agents:
        expected = reported[view.agent_id]
        assert day.engine.occupancy(view.agent_id, end) == pytest.approx(expected)
        assert view.occupancy == pytest.approx(expected)
        assert agent_out(view).occupancy == round(expected, 4)
        seconds = _seconds_per_activity(day, view.agent_id, end)
        simulated = AgentDay(view.agent_id, seconds, calls=0, talk_s=0, breathers=0, missed=0)
        assert simulated.occupancy == pytest.approx(expected)


async def test_the_caps_floor_changes_only_the_caps_figure(sqlite_url: str, tmp_path: Path) -> None:
    """With a one-hour floor, a1 (2,700 s staffed) is at 440/3,600 for the cap, but the snapshot
    (wallboard, API, demo summary) shows the report's 440/2,700."""
    await recorded_fixture_day(sqlite_url, tmp_path / "spool")
    report = await report_for(sqlite_url, Interval.DAY)
    a1 = next(a for a in report.advisors if a.agent_id == "a1")
    floored = dataclasses.replace(DAY_WINDOW, min_basis_s=3600)
    day = fixture_day(workload=floored)
    end = local(10, 0)
    assert day.engine.occupancy("a1", end) == pytest.approx(440 / 3600)
    assert day.engine.agent_view("a1", end).occupancy == pytest.approx(a1.occupancy)
