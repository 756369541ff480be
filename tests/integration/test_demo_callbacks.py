"""``acd demo`` includes callers who choose a callback, and its summary counts them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from acd.demo import DemoOptions, format_summary, run_demo


@pytest.mark.slow
async def test_demo_callers_choose_callbacks_and_some_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A busy demo: callers still waiting press 1, acd calls them back, the summary says so."""
    monkeypatch.chdir(tmp_path)
    result = await run_demo(
        DemoOptions(duration_s=12.0, calls_per_minute=180.0, seed=5, drain_s=25.0)
    )
    line = next(
        line for line in format_summary(result).splitlines() if line.startswith("callbacks:")
    )
    found = re.match(r"callbacks: (\d+) requested, (\d+) completed, (\d+) failed", line)
    assert found is not None, line
    requested, completed, failed = (int(n) for n in found.groups())
    assert completed >= 1
    assert requested >= completed + failed
    callbacks = result["callbacks"]
    assert (callbacks["requested"], callbacks["completed"]) == (requested, completed)
