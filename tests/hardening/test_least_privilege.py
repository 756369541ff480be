"""Least privilege: private files, MD5 AMI login."""

from __future__ import annotations

import asyncio
import stat
import subprocess
import sys
from pathlib import Path

from acd.app import Daemon
from acd.pbxsim.sim import PbxSim
from tests.integration.test_daemon_calls import daemon_settings, pbx_config


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_and_the_spool_are_private(tmp_path: Path) -> None:
    """`acd db upgrade` and a recorder's spool create files 0600 in directories 0700."""
    database = tmp_path / "acd.sqlite3"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "acd.cli",
            "db",
            "upgrade",
            "--database-url",
            f"sqlite:///{database}",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert mode(database) == 0o600
    spool = tmp_path / "var" / "spool"
    script = (
        "import asyncio, os, sys\n"
        "from acd.cli import main\n"
        "from acd.storage.spool import Spool\n"
        "os.umask(0o022)\n"  # the usual default, which main() tightens
        "sys.argv = ['acd', 'version']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "from pathlib import Path\n"
        f"spool = Spool(Path({str(spool)!r}))\n"
        "spool.open()\n"
        "spool.append([{'table': 'calls', 'call_id': '1.1'}])\n"
        "spool.close()\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, timeout=60)
    assert mode(spool) == 0o700
    files = [p for p in spool.rglob("*") if p.is_file()]
    assert files
    assert {mode(p) for p in files} == {0o600}


async def test_the_daemon_logs_in_with_an_md5_challenge() -> None:
    """With ami.auth = "md5", the daemon logs in by Challenge/Key and routes a call."""
    async with PbxSim(pbx_config()) as pbx:
        settings = daemon_settings(pbx.ami_port)
        settings = settings.model_copy(
            update={"ami": settings.ami.model_copy(update={"auth": "md5"})}
        )
        daemon = Daemon(settings, auto_login=True)
        task = asyncio.create_task(daemon.run())
        try:
            await asyncio.wait_for(daemon.started.wait(), 5)
            await daemon.ami.wait_connected(5)
            (session,) = pbx.ami.sessions
            assert session.challenge is not None
        finally:
            daemon.stop()
            await asyncio.wait_for(task, 10)
