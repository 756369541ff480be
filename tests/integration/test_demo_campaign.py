"""``acd demo --campaign`` dials its small campaign during the demo, and says how it went."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from acd.demo import DemoOptions, format_summary, run_demo


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["progressive", "predictive"])
async def test_demo_dials_its_campaign_blended_with_inbound_callers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """Contacts are dialed and some reached, never one without consent; inbound calls go on."""
    monkeypatch.chdir(tmp_path)
    result = await run_demo(
        DemoOptions(
            duration_s=15.0,
            calls_per_minute=30.0,
            seed=3,
            campaign=True,
            campaign_mode=mode,
            drain_s=15.0,  # the dials happen during the 15 s; a long conversation is cut
        )
    )
    campaign = result["campaign"]
    assert campaign["dials"] >= 3
    assert campaign["reached"] >= 1
    assert campaign["outcomes"].get("blocked", 0) >= 1  # the contacts without consent
    line = next(line for line in format_summary(result).splitlines() if "campaign demo" in line)
    assert re.match(r"campaign demo: \d+ dials, \d+ reached", line)
    assert sum(q["offered"] for q in result["queues"].values()) >= 1
