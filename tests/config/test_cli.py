"""The acd command: check-config, run (pid file, SIGHUP reload, SIGTERM), reload."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from acd.cli import app

CONFIG = """
[daemon]
pid_file = "{pid}"

[database]
url = "sqlite+aiosqlite:///{db}"
spool_dir = "{spool}"

[ami]
port = 1
secret = "s3cret-ami"

[fastagi]
port = 0

[http]
enabled = false

[logging]
format = "json"

[queues.support]
wrap_up_s = {wrap}

[agents.1001]
queues = ["support"]
pin = "2468"
"""


def write_config(tmp_path: Path, wrap: float = 10) -> Path:
    path = tmp_path / "acd.toml"
    path.write_text(
        CONFIG.format(
            pid=tmp_path / "acd.pid",
            wrap=wrap,
            db=tmp_path / "acd.sqlite3",
            spool=tmp_path / "spool",
        ),
        encoding="utf-8",
    )
    return path


def test_check_config_ok_and_errors(tmp_path: Path) -> None:
    """check-config says OK for a good file and lists field errors (exit 1) for a bad one."""
    runner = CliRunner()
    good = write_config(tmp_path)
    result = runner.invoke(app, ["check-config", str(good)])
    assert result.exit_code == 0, result.output
    assert "OK (1 queues, 1 advisors" in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text('[queues.support]\npolicy = "random"\nweight = 0\n', encoding="utf-8")
    result = runner.invoke(app, ["check-config", str(bad)])
    assert result.exit_code == 1
    assert "queues.support.policy" in result.output
    assert "queues.support.weight" in result.output


def wait_for(predicate, within: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_run_refuses_a_schema_that_is_behind(tmp_path: Path) -> None:
    """`acd run` on an empty database exits 1 and says to run `acd db upgrade`."""
    config = write_config(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "acd.cli", "run", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "acd db upgrade" in done.stderr


def test_run_reload_and_stop(tmp_path: Path) -> None:
    """`acd run` writes its pid file, reloads on `acd reload`, stops cleanly on SIGTERM."""
    config = write_config(tmp_path)
    pid_file = tmp_path / "acd.pid"
    upgrade = CliRunner().invoke(
        app, ["db", "upgrade", "--database-url", f"sqlite:///{tmp_path / 'acd.sqlite3'}"]
    )
    assert upgrade.exit_code == 0, upgrade.output
    log = tmp_path / "daemon.log"
    with log.open("w", encoding="utf-8") as stderr:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "acd.cli", "run", "-c", str(config)],
            stderr=stderr,
            stdout=subprocess.DEVNULL,
        )
    try:
        wait_for(pid_file.exists)
        assert int(pid_file.read_text()) == daemon.pid
        write_config(tmp_path, wrap=30)
        reload = CliRunner().invoke(app, ["reload", "-c", str(config)])
        assert reload.exit_code == 0, reload.output
        wait_for(lambda: "config_reloaded" in log.read_text(encoding="utf-8"))
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=20)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    err = log.read_text(encoding="utf-8")
    assert daemon.returncode == 0, err
    assert '"event": "config_reloaded"' in err
    assert '"event": "daemon_stopped"' in err
    assert not pid_file.exists()
    assert "s3cret-ami" not in err
    assert "2468" not in err


def test_reload_refuses_a_bad_config(tmp_path: Path) -> None:
    """`acd reload` with an invalid file signals nothing and says the daemon keeps its config."""
    bad = tmp_path / "acd.toml"
    bad.write_text("[queues.support]\nweight = -2\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["reload", "-c", str(bad)])
    assert result.exit_code == 1
    assert "keeps its current configuration" in result.output
    assert os.environ.get("ACD_NEVER_SET") is None


def test_pbxsim_command_passes_its_arguments_through() -> None:
    """`acd pbxsim --help` reaches the virtual Asterisk's own argument parser."""
    done = subprocess.run(
        [sys.executable, "-m", "acd.cli", "pbxsim", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "--ami-port" in done.stdout
    assert "--agi-url" in done.stdout
