"""The repository stands on its own: declared dependencies, no reference to a design file kept
outside it, and the shipped example's mistakes told in plain lines."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The product's files a reader follows; caches, virtual environments and recorded traces aside.
SHIPPED = ("acd", "dialplan", "docs", "tests", "asterisk-config", "docker", "systemd", "scripts")
SHIPPED_FILES = ("README.md", "pyproject.toml", "examples")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = set()
    for requirement in project["dependencies"]:
        names.add(_normalise(re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]))
    return names


def _imported_modules() -> set[str]:
    modules: set[str] = set()
    for path in (ROOT / "acd").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"acd", "__future__"}


def test_every_third_party_import_of_acd_is_a_declared_dependency() -> None:
    """Each package acd imports is in pyproject's dependencies (rich was imported, undeclared)."""
    distributions = packages_distributions()
    declared = _declared()
    undeclared = {}
    for module in sorted(_imported_modules()):
        owners = {_normalise(d) for d in distributions.get(module, [module])}
        if not owners & declared:
            undeclared[module] = sorted(owners)
    assert undeclared == {}


def test_nothing_refers_to_a_design_file_outside_the_repository() -> None:
    """Code, dialplan, configuration, tests and docs point to docs/architecture.md, never to a
    DESIGN file kept outside the repository."""
    needle = "DESIGN" + ".md"
    found = []
    paths = [p for top in SHIPPED for p in (ROOT / top).rglob("*") if p.is_file()]
    paths += [p for name in SHIPPED_FILES for p in [ROOT / name] if p.is_file()]
    paths += [p for p in (ROOT / "examples").rglob("*") if p.is_file()]
    for path in paths:
        if "__pycache__" in path.parts or "fixtures" in path.parts:
            continue
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        if needle in text:
            found.append(str(path.relative_to(ROOT)))
    assert found == []


@pytest.mark.skipif(
    Path("/run/acd").is_dir() and Path("/etc/acd/ami.secret").is_file(),
    reason="this machine has what the example needs: acd run would start for real",
)
def test_running_the_shipped_example_names_what_is_missing_without_a_traceback(
    tmp_path: Path,
) -> None:
    """`acd run -c examples/acd.toml` (which the file suggests) on a machine not set up for it:
    exit 1, one line per missing piece naming its field, no traceback (it was 59 lines)."""
    example = ROOT / "examples" / "acd.toml"
    done = subprocess.run(
        [sys.executable, "-m", "acd.cli", "run", "-c", str(example)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 5, lines
    assert all(line.startswith(f"{example}: ") for line in lines), lines
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["check-config", "run", "reload", "demo", "simulate"])
def test_every_command_reading_a_configuration_takes_dash_c(command: str) -> None:
    """check-config, run, reload, demo and simulate all take ``-c FILE`` (check-config took only
    a positional file)."""
    from typer.testing import CliRunner

    from acd.cli import app

    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert re.search(r"-c\b", result.output), result.output
    assert "--config" in result.output


def test_the_host_install_path_creates_the_configuration_database_and_tokens() -> None:
    """docs/real-asterisk.md's host path installs /etc/acd/acd.toml, runs acd db upgrade and
    check-config -c, and says how to set the HTTP tokens."""
    text = (ROOT / "docs" / "real-asterisk.md").read_text(encoding="utf-8")
    for needed in (
        "/etc/acd/acd.toml",
        "acd db upgrade",
        "check-config -c /etc/acd/acd.toml",
        "token",
    ):
        assert needed in text, needed
