"""`acd pjsip-endpoints` and `acd fallback-queues` print what acd.pjsip_endpoints renders."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from acd.cli import app
from acd.pjsip_endpoints import parse_passwords, render_fallback_queues, render_pjsip_endpoints
from acd.settings import load_settings
from tests.deploy.dialplan import ROOT

EXAMPLE = ROOT / "docker" / "acd.toml"
PASSWORDS = ROOT / "docker" / "sip-passwords.example.toml"


def commands() -> set[str]:
    group = get_command(app)
    return set(getattr(group, "commands", {}))


@pytest.fixture(autouse=True)
def _wired() -> None:
    missing = {"pjsip-endpoints", "fallback-queues"} - commands()
    if missing:
        pytest.skip(f"acd.cli does not mount {sorted(missing)} yet")


def test_pjsip_endpoints_command_writes_the_rendered_file(tmp_path: Path) -> None:
    """The command writes the generator's text to --output, not readable by others."""
    output = tmp_path / "pjsip_endpoints.conf"
    result = CliRunner().invoke(
        app,
        ["pjsip-endpoints", "-c", str(EXAMPLE), "--passwords", str(PASSWORDS), "-o", str(output)],
    )
    assert result.exit_code == 0, result.output
    expected = render_pjsip_endpoints(
        load_settings(EXAMPLE),
        parse_passwords(PASSWORDS.read_text(encoding="utf-8")),
        source=str(EXAMPLE),
    )
    assert output.read_text(encoding="utf-8") == expected
    assert output.stat().st_mode & 0o007 == 0


def test_pjsip_endpoints_command_refuses_missing_passwords(tmp_path: Path) -> None:
    """An advisor without a SIP password makes the command fail with the advisor's field."""
    passwords = tmp_path / "passwords.toml"
    passwords.write_text('a1001 = "long-enough-password"\n', encoding="utf-8")
    result = CliRunner().invoke(
        app, ["pjsip-endpoints", "-c", str(EXAMPLE), "--passwords", str(passwords)]
    )
    assert result.exit_code != 0
    assert "agents.a1002" in result.output


def test_fallback_queues_command_prints_the_queues() -> None:
    """Without --output the fallback queues are printed."""
    result = CliRunner().invoke(app, ["fallback-queues", "-c", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert result.output == render_fallback_queues(load_settings(EXAMPLE), source=str(EXAMPLE))
