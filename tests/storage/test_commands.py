"""The storage CLI (`acd db ...`, `acd report ...`), mounted as acd.cli mounts it."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from pathlib import Path

import typer
from typer.testing import CliRunner

from acd.storage.commands import db_app, report_command
from tests.storage.test_recorder import closed_port
from tests.storage.test_reports import recorded_fixture_day

app = typer.Typer()
app.add_typer(db_app, name="db")
app.command("report")(report_command)
runner = CliRunner()


def test_db_upgrade_and_current(sqlite_url: str) -> None:
    """`acd db current` tells an empty database to upgrade; `acd db upgrade` brings it to head."""
    result = runner.invoke(app, ["db", "current", "--database-url", sqlite_url])
    assert result.exit_code == 0, result.output
    assert "run `acd db upgrade`" in result.output
    result = runner.invoke(app, ["db", "upgrade", "--database-url", sqlite_url])
    assert result.exit_code == 0, result.output
    assert "(head)" in result.output
    result = runner.invoke(app, ["db", "current"], env={"ACD_DATABASE_URL": sqlite_url})
    assert "up to date" in result.output


def test_db_purge_reports_what_it_deleted(sqlite_url: str, tmp_path: Path) -> None:
    """`acd db purge --older-than DAYS` deletes the fixture day (months old) and says so."""
    asyncio.run(recorded_fixture_day(sqlite_url, tmp_path / "spool"))
    result = runner.invoke(app, ["db", "purge", "--older-than", "1", "--database-url", sqlite_url])
    assert result.exit_code == 0, result.output
    assert re.search(r"8 calls, \d+ call events", result.output), result.output
    result = runner.invoke(app, ["db", "purge", "--older-than", "-1", "--database-url", sqlite_url])
    assert result.exit_code != 0


def run_report(url: str, *args: str) -> str:
    result = runner.invoke(
        app,
        ["report", "--from", "2026-03-29", "--to", "2026-03-29", "--database-url", url, *args],
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_report_in_every_format(sqlite_url: str, tmp_path: Path) -> None:
    """`acd report` renders the fixture day as JSON, CSV, a text table and a self-contained page."""
    asyncio.run(recorded_fixture_day(sqlite_url, tmp_path / "spool"))
    data = json.loads(run_report(sqlite_url, "--interval", "15m", "--format", "json"))
    assert len(data["intervals"]) == 3 * 92
    totals = {t["queue"]: t for t in data["totals"]}
    # s4 overflowed into support and was answered 125 s after first arriving: over support's 30 s
    # (the wait counts from the first arrival), so support answered none of its 4 within target.
    assert (totals["sales"]["offered"], totals["support"]["service_level"]) == (4, 0.0)
    assert [a["agent_id"] for a in data["advisors"]] == ["a1", "a2"]

    text = run_report(sqlite_url, "--format", "csv", "--queue", "sales")
    queue_block, advisor_block = text.split("\n\n")
    rows = list(csv.DictReader(io.StringIO(queue_block)))
    assert len(rows) == 2 * 23 + 2  # sales and all queues, 23 hours each, plus two totals
    sales_total = next(r for r in rows if r["kind"] == "total" and r["queue"] == "sales")
    assert sales_total["answered"] == "2"
    assert "lunch" in advisor_block

    table = run_report(sqlite_url, "--interval", "1d")
    assert "Queues, whole period" in table
    assert "sales" in table

    page = tmp_path / "report.html"
    run_report(sqlite_url, "--format", "html", "--output", str(page))
    html = page.read_text(encoding="utf-8")
    assert html.count("<svg") == 4  # all queues, sales, support, occupancy per advisor
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing to fetch: self-contained


def test_report_refuses_bad_input_without_showing_the_password(tmp_path: Path) -> None:
    """Bad dates and zones get a clear error; an unreachable database's password is not shown."""
    result = runner.invoke(app, ["report", "--from", "soon", "--to", "2026-03-29"])
    assert result.exit_code == 2
    assert "not a date" in result.output
    result = runner.invoke(
        app, ["report", "--from", "2026-03-29", "--to", "2026-03-29", "--timezone", "Mars/Base"]
    )
    assert "unknown time zone" in result.output
    url = f"postgresql://acd:s3cret-pw@127.0.0.1:{closed_port()}/acd"
    result = runner.invoke(
        app, ["report", "--from", "2026-03-29", "--to", "2026-03-29", "--database-url", url]
    )
    assert result.exit_code == 2
    assert "127.0.0.1" in result.output
    assert "s3cret-pw" not in result.output
