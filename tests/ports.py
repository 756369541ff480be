"""Ports a test names before the process that listens on them starts.

A port from ``bind(0)`` comes from the kernel's ephemeral range, the same range every outgoing
connection (PostgreSQL, AMI, HTTP clients of the same run) takes its local port from: between
the pick and the listener's bind, such a connection can take it ("address already in use", seen
when a failover node started under load). These ports are drawn below that range instead, and
checked free on TCP at the time of the pick.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 20_000


def _ephemeral_low() -> int:
    try:
        return int(_RANGE_FILE.read_text("ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def free_port() -> int:
    """A loopback TCP port free right now, outside the ephemeral range when the range allows."""
    low = _ephemeral_low()
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(_LOWEST, low) if low > _LOWEST + 1000 else 0
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free loopback port below the ephemeral range")
