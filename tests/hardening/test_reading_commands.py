"""Commands that only read the records (simulate --from-db, report) fail in one line and create
nothing: found as 159 lines of traceback and an empty acd.sqlite3 left in the directory."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS = {
    "simulate": ["simulate", "--from-db", "2026-01-05"],
    "report": ["report", "--from", "2026-01-05", "--to", "2026-01-06"],
}


def acd(args: list[str], where: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "acd.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=where,
        env={"PATH": "/usr/bin:/bin", **env},
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_no_database_file_is_one_line_and_no_file_is_created(command: str, tmp_path: Path) -> None:
    """No acd.sqlite3 where the default URL points: exit 2, one line naming the file and how to
    create it; the directory is still empty."""
    line = one_line(acd(COMMANDS[command], tmp_path))
    assert "no database file 'acd.sqlite3'" in line
    assert "acd db upgrade" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_database_without_tables_is_one_line(command: str, tmp_path: Path) -> None:
    """An empty SQLite file (never upgraded): one line with the driver's words, not the SQL."""
    sqlite3.connect(tmp_path / "acd.sqlite3").close()
    line = one_line(acd(COMMANDS[command], tmp_path))
    assert "no such table: calls" in line
    assert "SELECT" not in line


def test_an_unreachable_postgresql_is_one_line(tmp_path: Path) -> None:
    """simulate --from-db against a PostgreSQL nobody listens for: one line, the URL masked."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://acd:hunter2@127.0.0.1:{port}/acd"
    line = one_line(acd(COMMANDS["simulate"], tmp_path, ACD_DATABASE_URL=url))
    assert "--from-db 2026-01-05" in line
    assert "hunter2" not in line
