"""``acd simulate``: the command function and its typer wiring, with the real settings loader."""

from __future__ import annotations

import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import typer
from typer.testing import CliRunner

from acd.core.config import AcdConfig
from acd.settings import load_settings
from acd.sim.command import EXIT_BAD_INPUT, EXIT_OK, build_simulate_cli, simulate_command
from acd.sim.scenario import PastCall

EXAMPLES = Path(__file__).parents[2] / "examples" / "scenarios"


def _load(path: Path) -> AcdConfig:
    return load_settings(path).to_core()


def _short_day(tmp_path: Path) -> Path:
    text = (EXAMPLES / "weekday.toml").read_text(encoding="utf-8")
    text = text.replace('close = "18:00"', 'close = "10:00"')
    path = tmp_path / "morning.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_side_by_side_report_and_html(tmp_path: Path) -> None:
    """Two configurations give two columns; the HTML report is self-contained with charts."""
    out, err = io.StringIO(), io.StringIO()
    html = tmp_path / "report.html"
    code = simulate_command(
        _short_day(tmp_path),
        [EXAMPLES / "centre.acd.toml", EXAMPLES / "centre-tuned.acd.toml"],
        2,
        None,
        html,
        load_config=_load,
        out=out,
        err=err,
    )
    assert code == EXIT_OK, err.getvalue()
    text = out.getvalue()
    header = next(line for line in text.splitlines() if "centre.acd.toml" in line)
    assert "centre-tuned.acd.toml" in header
    assert "service level" in text
    assert "Theory check (Erlang A), queue sales" in text
    page = html.read_text(encoding="utf-8")
    assert page.count("<svg") >= 4  # SL per queue (2), occupancy over the day, distribution
    for svg in re.findall(r"<svg.*?</svg>", page, flags=re.DOTALL):
        ET.fromstring(svg)  # each chart is well-formed SVG
    assert "http" not in page.replace("http-equiv", "")  # nothing fetched from elsewhere


def test_bad_inputs_exit_2_with_the_reason(tmp_path: Path) -> None:
    """A missing scenario, a broken configuration or no configuration exit 2 with a message."""
    err = io.StringIO()
    code = simulate_command(
        tmp_path / "nope.toml",
        [EXAMPLES / "centre.acd.toml"],
        1,
        None,
        None,
        load_config=_load,
        err=err,
    )
    assert code == EXIT_BAD_INPUT
    assert "nope.toml: file not found" in err.getvalue()
    broken = tmp_path / "broken.acd.toml"
    broken.write_text("[queues.q]\nweight = -1\n", encoding="utf-8")
    err = io.StringIO()
    code = simulate_command(
        _short_day(tmp_path), [broken], 1, None, None, load_config=_load, err=err
    )
    assert code == EXIT_BAD_INPUT
    assert "broken.acd.toml" in err.getvalue()
    assert (
        simulate_command(
            _short_day(tmp_path), [], 1, None, None, load_config=_load, err=io.StringIO()
        )
        == EXIT_BAD_INPUT
    )


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("simulate")(build_simulate_cli(_load))

    @app.command()
    def other() -> None:
        """A second command, so typer keeps ``simulate`` as a subcommand."""

    return app


def test_typer_wiring_runs_the_command(tmp_path: Path) -> None:
    """``acd simulate SCENARIO -c A -c B -n 1`` prints the side-by-side report."""
    result = CliRunner().invoke(
        _app(),
        [
            "simulate",
            str(_short_day(tmp_path)),
            "-c",
            str(EXAMPLES / "centre.acd.toml"),
            "-c",
            str(EXAMPLES / "centre-tuned.acd.toml"),
            "-n",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "average speed of answer" in result.output


def test_from_db_replays_the_history_given_by_the_loader() -> None:
    """``--from-db DATE`` asks the injected loader for that day (and the configs) and replays it."""
    asked: list[tuple[dt.date, list[Path]]] = []
    history = [PastCall(9 * 3600 + 30 * i, "sales", handle_s=100.0) for i in range(40)]

    def loader(day: dt.date, configs: Sequence[Path]) -> list[PastCall]:
        asked.append((day, list(configs)))
        return history

    app = typer.Typer()
    app.command("simulate")(build_simulate_cli(_load, loader))
    app.command("other")(lambda: None)
    result = CliRunner().invoke(
        app,
        ["simulate", "--from-db", "2026-11-27", "-c", str(EXAMPLES / "centre.acd.toml"), "-n", "1"],
    )
    assert result.exit_code == 0, result.output
    assert asked == [(dt.date(2026, 11, 27), [EXAMPLES / "centre.acd.toml"])]
    assert "calls offered" in result.output


def test_from_db_without_a_database_is_a_clear_error() -> None:
    """Without a history loader, --from-db exits 2 and says why."""
    result = CliRunner().invoke(
        _app(), ["simulate", "--from-db", "2026-11-27", "-c", str(EXAMPLES / "centre.acd.toml")]
    )
    assert result.exit_code == EXIT_BAD_INPUT
    assert "needs the database" in result.output


def test_decisions_option_prints_what_the_engine_decided(tmp_path: Path) -> None:
    """``--decisions N`` appends the first N lines of the engine's decision log."""
    out = io.StringIO()
    code = simulate_command(
        _short_day(tmp_path),
        [EXAMPLES / "centre.acd.toml"],
        1,
        None,
        None,
        load_config=_load,
        out=out,
        err=io.StringIO(),
        decisions=30,
    )
    assert code == EXIT_OK
    text = out.getvalue()
    assert "What the engine decided, centre.acd.toml, seed 1:" in text
    assert "AgentLoggedIn agent_id=s01" in text


def test_offer_callbacks_what_if_adds_a_column_with_callbacks(tmp_path: Path) -> None:
    """--offer-callbacks-after 20: each configuration is also run offering callbacks; that
    column counts callbacks requested and completed, the plain one none."""
    out, err = io.StringIO(), io.StringIO()
    code = simulate_command(
        _short_day(tmp_path),
        [EXAMPLES / "centre.acd.toml"],
        2,
        None,
        None,
        load_config=_load,
        out=out,
        err=err,
        offer_callbacks_after=20.0,
        callback_acceptance=1.0,
    )
    assert code == EXIT_OK, err.getvalue()
    text = out.getvalue()
    header = next(line for line in text.splitlines() if "centre.acd.toml" in line)
    assert "+ callbacks 20 s" in header
    requested = next(line for line in text.splitlines() if "callbacks requested" in line)
    completed = next(line for line in text.splitlines() if "callbacks completed" in line)
    plain, offered = (float(n) for n in re.findall(r"(\d+(?:\.\d+)?) ±", requested))
    assert plain == 0
    assert offered > 0
    assert float(re.findall(r"(\d+(?:\.\d+)?) ±", completed)[1]) > 0
