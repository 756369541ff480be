"""Schedules in acd.toml, their checks in check-config, and `acd hours`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from acd.cli import app
from acd.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "acd.toml"

BASE = """
[centre]
timezone = "Europe/Paris"
country = "FR"
{centre}

[schedules.bureau]
weekdays = ["08:30-12:30", "13:30-18:00"]
saturday = ["09:00-12:00"]
{schedule}

[queues.support]
schedule = "bureau"
{queue}

[agents.1001]
queues = ["support"]
"""


def write(
    tmp_path: Path,
    *,
    centre: str = "",
    schedule: str = "",
    queue: str = "",
    week: str = "",
    queue_schedule: str = "bureau",
) -> Path:
    """The base config with lines added; ``week`` replaces the schedule's weekday lines."""
    text = BASE.format(centre=centre, schedule=schedule, queue=queue)
    if week:
        text = text.replace('weekdays = ["08:30-12:30", "13:30-18:00"]', week)
    text = text.replace('schedule = "bureau"', f'schedule = "{queue_schedule}"')
    path = tmp_path / "acd.toml"
    path.write_text(text, encoding="utf-8")
    return path


def hours_json(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(app, ["hours", *args, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert isinstance(data, dict)
    return data


def test_example_support_is_closed_on_christmas_day() -> None:
    """`acd hours` on the example: support closed on 25 December for the holiday (Noël)."""
    data = hours_json("-c", str(EXAMPLE), "--at", "2026-12-25T10:00", "--queue", "support")
    assert data == {
        "at": "2026-12-25T10:00:00+01:00",
        "queues": [
            {
                "queue": "support",
                "open": False,
                "reason": "holiday",
                "detail": "Noël",
                "next_change": "2026-12-26T09:00:00+01:00",
                "next_open": True,
            }
        ],
    }


def test_example_support_is_open_on_a_tuesday_morning() -> None:
    """`acd hours` on the example: support open on 1 December at 10:00 until the last entry."""
    data = hours_json("-c", str(EXAMPLE), "--at", "2026-12-01T10:00", "--queue", "support")
    queues = data["queues"]
    assert isinstance(queues, list)
    assert queues[0]["open"] is True
    assert queues[0]["reason"] == "schedule"
    # 15 minutes of last entry before the 12:30 lunch closing.
    assert queues[0]["next_change"] == "2026-12-01T12:15:00+01:00"
    assert queues[0]["next_open"] is False


def test_times_with_an_offset_and_every_queue() -> None:
    """An offset in --at is honoured (09:00Z is 10:00 in Paris); without --queue all queues show."""
    data = hours_json("-c", str(EXAMPLE), "--at", "2026-12-01T09:00:00+00:00")
    assert data["at"] == "2026-12-01T10:00:00+01:00"
    queues = data["queues"]
    assert isinstance(queues, list)
    assert [q["queue"] for q in queues] == ["support", "sales"]
    assert queues[1]["detail"] == "always open"


def test_text_output_and_bad_arguments() -> None:
    """The text form names reason and next change; a bad time or queue is a clear error (exit 2)."""
    runner = CliRunner()
    text = runner.invoke(app, ["hours", "-c", str(EXAMPLE), "--at", "2026-12-24T17:00"])
    assert text.exit_code == 0, text.output
    assert "support: closed: exception (Veille de Noël); opens 2026-12-26T09:00:00+01:00" in (
        text.output
    )
    bad_time = runner.invoke(app, ["hours", "-c", str(EXAMPLE), "--at", "Noël"])
    assert bad_time.exit_code == 2
    assert "ISO-8601" in bad_time.output
    bad_queue = runner.invoke(app, ["hours", "-c", str(EXAMPLE), "--queue", "nope"])
    assert bad_queue.exit_code == 2
    assert "unknown queue 'nope'" in bad_queue.output


def test_subdivision_adds_regional_holidays(tmp_path: Path) -> None:
    """With Alsace (6AE), 26 December is Saint-Étienne: closed on that Saturday."""
    config = write(tmp_path, centre='subdivision = "6AE"')
    data = hours_json("-c", str(config), "--at", "2026-12-26T10:00")
    queues = data["queues"]
    assert isinstance(queues, list)
    assert (queues[0]["reason"], queues[0]["detail"]) == ("holiday", "Saint-Étienne")


@pytest.mark.parametrize(
    ("kwargs", "where", "what"),
    [
        (
            {"schedule": 'monday = ["08:00-12:00", "11:30-14:00"]'},
            "schedules.bureau.monday",
            "overlap",
        ),
        ({"schedule": 'sunday = ["10:00-10:00"]'}, "schedules.bureau.sunday[0]", "empty"),
        ({"schedule": 'friday = ["8h-12h"]'}, "schedules.bureau.friday[0]", "HH:MM"),
        (
            {"week": "weekdays = []\nsaturday = []\n[schedules.bureau2]"},
            "schedules.bureau",
            "never open",
        ),
        ({"centre": 'subdivision = "XX"'}, "centre.subdivision", "unknown subdivision 'XX'"),
        ({"queue": 'closed = "somewhere"'}, "queues.support.closed", "expected message"),
        ({"queue": 'closed = "queue:support"'}, "queues[support].closed", "itself"),
        ({"queue_schedule": "nuit"}, "queues[support].schedule", "unknown schedule 'nuit'"),
        ({"queue": 'at_close = "kick"'}, "queues.support.at_close", "serve"),
        (
            {"schedule": 'exceptions = [{ date = 2026-12-24, reason = "?" }]'},
            "schedules.bureau.exceptions[2026-12-24]",
            "says nothing",
        ),
    ],
)
def test_schedule_errors_name_the_field(
    tmp_path: Path, kwargs: dict[str, str], where: str, what: str
) -> None:
    """Overlaps, empty ranges, never-open schedules, unknown subdivision or schedule are refused."""
    with pytest.raises(SettingsError) as info:
        load_settings(write(tmp_path, **kwargs))
    assert where in str(info.value)
    assert what in str(info.value)


def test_check_config_warns_about_past_exceptions(tmp_path: Path) -> None:
    """check-config passes a schedule with a past exception but says it no longer applies."""
    config = write(
        tmp_path,
        schedule='exceptions = [{ date = 2020-12-24, closed_from = "16:00", reason = "old" }]',
    )
    result = CliRunner().invoke(
        app, ["check-config", str(config)], env={"ACD_AMI_SECRET": "s3cret"}
    )
    assert result.exit_code == 0, result.output
    assert "warning: schedules.bureau.exceptions[0].date: 2020-12-24 is in the past" in (
        result.output
    )


def test_closed_queues_cannot_send_callers_round_in_a_loop(tmp_path: Path) -> None:
    """Two queues whose closed action sends callers to each other are refused."""
    config = write(
        tmp_path, queue='closed = "queue:sales"\n[queues.sales]\nclosed = "queue:support"'
    )
    text = config.read_text(encoding="utf-8").replace(
        'queues = ["support"]', 'queues = ["support", "sales"]'
    )
    config.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError, match="closed loop: support -> sales -> support"):
        load_settings(config)
