"""File descriptors: the soft limit is raised to what the limits need; exhaustion logs no flood."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

from acd.runtime.limits import BASELINE_DESCRIPTORS, descriptors_needed

RAISE = """
import json, resource
from acd.runtime.limits import raise_open_files_limit
resource.setrlimit(resource.RLIMIT_NOFILE, (64, {hard}))
limit = raise_open_files_limit({needed})
print(json.dumps([limit.soft, limit.hard, limit.sufficient]))
"""

FLOODED = """
import asyncio, resource, sys
from acd.asterisk.fastagi import FastAgiServer, FastAgiSettings
from acd.log_config import configure_logging
from acd.runtime.limits import log_loop_exception

async def main():
    configure_logging("json", "info")
    asyncio.get_running_loop().set_exception_handler(log_loop_exception)
    resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))
    async def hold(session):
        await asyncio.sleep(60)
    settings = FastAgiSettings(host="127.0.0.1", port=0, max_sessions=5000)
    async with FastAgiServer(settings, hold) as server:
        print(server.port, flush=True)
        await asyncio.sleep(4)

asyncio.run(main())
"""


def test_the_soft_limit_is_raised_to_what_the_limits_need() -> None:
    """From a soft limit of 64, the daemon raises to max_sessions + connections + baseline."""
    needed = descriptors_needed(2000, 200)
    assert needed == 2200 + BASELINE_DESCRIPTORS
    done = subprocess.run(
        [sys.executable, "-c", RAISE.format(hard=20000, needed=needed)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert json.loads(done.stdout.splitlines()[-1]) == [needed, 20000, True]
    short = subprocess.run(
        [sys.executable, "-c", RAISE.format(hard=500, needed=needed)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert json.loads(short.stdout.splitlines()[-1]) == [500, 500, False]
    assert "open_files_limit_low" in short.stdout


def test_running_out_of_descriptors_logs_a_few_json_lines_not_a_flood() -> None:
    """200 connections on a process limited to 48 descriptors: accept fails, quietly, in JSON."""
    process = subprocess.Popen(
        [sys.executable, "-c", FLOODED],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    peers = []
    try:
        for _ in range(200):
            peers.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        # The server holds on for 4 s with every accept failing meanwhile, then exits.
        _, err = process.communicate(timeout=30)
    finally:
        for peer in peers:
            peer.close()
        if process.poll() is None:
            process.kill()
    lines = err.splitlines()
    assert "Traceback" not in err
    assert all(line.startswith("{") for line in lines), lines[:3]
    events = [json.loads(line)["event"] for line in lines]
    assert "event_loop_error" in events
    assert len(lines) < 60
