"""acd check-config on each broken configuration: exit 1, one clear line, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BAD = Path(__file__).resolve().parents[1] / "data" / "bad-configs"
CASES = sorted(p for p in BAD.iterdir() if p.suffix == ".toml")

# What the line must name, per file: the field, or what is wrong with the file itself.
NAMED = {
    "a-directory.toml": "is a directory",
    "count-huge.toml": "database.flush_rows",
    "duration-huge.toml": "queues.support.max_wait_s",
    "allowed-hosts-garbage.toml": "fastagi.allowed_hosts",
    "ami-secret-missing.toml": "ami.secret",
    "nested-too-deeply.toml": "nested too deeply",
    "not-toml.toml": "not valid TOML",
    "not-utf8.toml": "not UTF-8",
    "number-huge.toml": "fastagi.max_sessions",
    "number-infinite.toml": "ami.ping_interval_s",
    "number-nan.toml": "queues.support.wrap_up_s",
    "pid-file-directory-missing.toml": "daemon.pid_file",
    "secret-file-missing.toml": "ami.secret_file",
    "secret-file-unreadable.toml": "ami.secret_file",
    "spool-unwritable.toml": "database.spool_dir",
    "timezone-invalid.toml": "centre.timezone",
}


def test_every_broken_file_has_its_expectation() -> None:
    """Each file in tests/data/bad-configs/ is one mistake with the words its error must say."""
    assert {p.name for p in CASES} == set(NAMED)


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.name)
def test_check_config_refuses_with_one_line(path: Path) -> None:
    """check-config -c FILE exits 1 with a single line naming the problem, and no traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "acd.cli", "check-config", "-c", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert NAMED[path.name] in lines[0]
    assert str(path) in lines[0]


def test_a_variable_that_is_not_json_is_named() -> None:
    """A list in an ACD_* variable that is not JSON: one line naming the variable."""
    good = BAD.parent / "good-config.toml"
    done = subprocess.run(
        [sys.executable, "-m", "acd.cli", "check-config", "-c", str(good)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "ACD_FASTAGI_ALLOWED_HOSTS": "10.0.0.5"},
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "ACD_FASTAGI_ALLOWED_HOSTS: not valid JSON" in line
