"""A hung daemon is worse than a dead one: end the process when the event loop stalls.

Asterisk waits on a silent FastAGI session forever (S9 g): callers held by a daemon whose loop is
stuck hear music until they give up. A dead daemon's sockets close and the dialplan's fallback
takes them. So a thread watches a heartbeat the loop writes; past ``stall_s`` without one it ends
the process at once (``os._exit``: no cleanup that could itself hang). Under systemd the same
heartbeat feeds ``WatchdogSec`` through ``sd_notify``, a second line of defence.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import threading
import time
from collections.abc import Callable

STALL_EXIT_CODE = 70  # EX_SOFTWARE: systemd's Restart=on-failure brings the daemon back


def sd_notify(state: str) -> bool:
    """Send one ``sd_notify`` datagram (``READY=1``, ``WATCHDOG=1``…); False outside systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError:
        return False
    return True


def _exit_now(stalled_s: float) -> None:
    message = f'{{"event": "event_loop_stalled", "stalled_s": {stalled_s:.1f}, "exit": 70}}\n'
    os.write(sys.stderr.fileno(), message.encode())
    os._exit(STALL_EXIT_CODE)


class LoopWatchdog:
    """Heartbeat from the loop (``run``), checked from a thread (started by ``run``)."""

    def __init__(
        self,
        stall_s: float = 10.0,
        beat_s: float = 0.5,
        on_stall: Callable[[float], None] = _exit_now,
    ) -> None:
        if beat_s <= 0 or stall_s <= beat_s:
            raise ValueError("need 0 < beat_s < stall_s")
        self.stall_s = stall_s
        self.beat_s = beat_s
        self._on_stall = on_stall
        self._last_beat = time.monotonic()
        self._stop = threading.Event()
        self._systemd_every = self._systemd_interval()

    @staticmethod
    def _systemd_interval() -> float | None:
        # systemd sets WATCHDOG_USEC when the unit has WatchdogSec=; ping at half that period.
        usec = os.environ.get("WATCHDOG_USEC")
        if not usec or not usec.isdigit():
            return None
        return int(usec) / 1e6 / 2

    async def run(self) -> None:
        """Beat until cancelled; the checking thread lives exactly as long as this task."""
        checker = threading.Thread(target=self._check, name="acd-loop-watchdog", daemon=True)
        self._last_beat = time.monotonic()
        checker.start()
        last_notify = 0.0
        try:
            while True:
                now = time.monotonic()
                self._last_beat = now
                if self._systemd_every is not None and now - last_notify >= self._systemd_every:
                    sd_notify("WATCHDOG=1")
                    last_notify = now
                await asyncio.sleep(self.beat_s)
        finally:
            self._stop.set()
            checker.join(timeout=self.beat_s * 4)

    def _check(self) -> None:
        while not self._stop.wait(self.beat_s):
            stalled = time.monotonic() - self._last_beat
            if stalled > self.stall_s:
                self._on_stall(stalled)
                return
