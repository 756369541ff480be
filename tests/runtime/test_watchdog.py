"""The loop watchdog: a stalled event loop ends the process; a healthy one is left alone."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from acd.runtime.watchdog import STALL_EXIT_CODE, LoopWatchdog, sd_notify
from tests.deadlines import until


async def test_a_blocked_loop_triggers_the_watchdog() -> None:
    """Blocking the loop longer than stall_s calls on_stall from the watchdog thread."""
    fired = threading.Event()
    watchdog = LoopWatchdog(stall_s=0.2, beat_s=0.05, on_stall=lambda _s: fired.set())
    task = asyncio.create_task(watchdog.run())
    await asyncio.sleep(0)  # the watchdog starts its checker thread
    # The stall under test: the loop does not turn until the watchdog fires (or 10 s pass).
    assert fired.wait(timeout=10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_healthy_loop_is_left_alone() -> None:
    """A loop that keeps turning never trips the watchdog."""
    fired = threading.Event()
    watchdog = LoopWatchdog(stall_s=0.2, beat_s=0.05, on_stall=lambda _s: fired.set())
    task = asyncio.create_task(watchdog.run())
    for _ in range(20):
        await asyncio.sleep(0.03)  # fixed-sleep: the loop keeps turning for 0.6 s, watched
    assert not fired.is_set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_a_stalled_process_exits_with_its_code() -> None:
    """A real process whose loop hangs exits 70 within about stall_s, closing its sockets."""
    script = (
        "import asyncio, time\n"
        "from acd.runtime.watchdog import LoopWatchdog\n"
        "async def main():\n"
        "    asyncio.create_task(LoopWatchdog(stall_s=0.3, beat_s=0.05).run())\n"
        "    await asyncio.sleep(0.1)\n"
        "    time.sleep(30)\n"
        "asyncio.run(main())\n"
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=20, check=False
    )
    assert done.returncode == STALL_EXIT_CODE
    assert b"event_loop_stalled" in done.stderr
    assert time.monotonic() - started < 10


def test_sd_notify_reaches_systemd_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sd_notify writes its state to NOTIFY_SOCKET; without one it does nothing."""
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(os.fspath(path))
        server.settimeout(2)
        monkeypatch.setenv("NOTIFY_SOCKET", os.fspath(path))
        assert sd_notify("READY=1")
        assert server.recv(64) == b"READY=1"
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert not sd_notify("READY=1")


async def test_watchdog_pings_systemd_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With WATCHDOG_USEC set, the heartbeat also sends WATCHDOG=1 to systemd."""
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(os.fspath(path))
        server.setblocking(False)
        monkeypatch.setenv("NOTIFY_SOCKET", os.fspath(path))
        monkeypatch.setenv("WATCHDOG_USEC", "100000")
        task = asyncio.create_task(LoopWatchdog(stall_s=5, beat_s=0.02).run())
        received: list[bytes] = []

        def pinged() -> bool:
            with contextlib.suppress(BlockingIOError):
                received.append(server.recv(64))
            return bool(received)

        await until(pinged, what="WATCHDOG=1 on the notify socket")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert received[0] == b"WATCHDOG=1"
