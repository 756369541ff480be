"""`acd report -c acd.toml` marks the intervals a queue was closed by its schedule and holidays."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from acd.cli import app

EXAMPLE = Path(__file__).resolve().parent.parent.parent / "examples" / "acd.toml"


def _report(tmp_path: Path, day: str) -> dict[str, object]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'records.sqlite3'}"
    runner = CliRunner()
    upgraded = runner.invoke(app, ["db", "upgrade", "--database-url", url])
    assert upgraded.exit_code == 0, upgraded.output
    args = ["report", "--from", day, "--to", day, "--queue", "support", "--format", "json"]
    result = runner.invoke(app, [*args, "--database-url", url, "-c", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.output)
    return data


def _open_s_by_hour(data: dict[str, object]) -> dict[str, float | None]:
    intervals = data["intervals"]
    assert isinstance(intervals, list)
    return {i["start"][11:16]: i["open_s"] for i in intervals if i["queue"] == "support"}


def test_report_with_the_config_shows_a_public_holiday_closed_all_day(tmp_path: Path) -> None:
    """Noël: every hour of support's day has 0 s open (closed, not a 0 % service level)."""
    hours = _open_s_by_hour(_report(tmp_path, "2026-12-25"))
    assert len(hours) == 24
    assert set(hours.values()) == {0.0}


def test_report_with_the_config_shows_the_opening_hours_of_a_weekday(tmp_path: Path) -> None:
    """Tuesday 1 December: open 08:30-12:30 and 13:30-18:00, closed at night."""
    hours = _open_s_by_hour(_report(tmp_path, "2026-12-01"))
    assert (hours["07:00"], hours["08:00"], hours["09:00"]) == (0.0, 1800.0, 3600.0)
    assert (hours["12:00"], hours["13:00"], hours["17:00"], hours["18:00"]) == (
        1800.0,
        1800.0,
        3600.0,
        0.0,
    )
