"""The process's open-file budget: sized from the configured session and connection limits.

Every FastAGI session and HTTP connection holds one file descriptor. Linux's default soft limit
(1,024) is below what ``max_sessions`` allows, and a process out of descriptors cannot accept,
open its spool or reach its database. So the daemon raises its soft limit to what its own limits
need (the hard limit allowing), and its listeners refuse connections beyond those limits at
accept time, before a descriptor budget is ever reached.
"""

from __future__ import annotations

import asyncio
import resource
from dataclasses import dataclass
from typing import Any

import structlog

log = structlog.get_logger("acd.runtime.limits")

# Descriptors besides sessions and connections: listeners, AMI, database pool, spool, MQTT, logs,
# the watchdog's notify socket, the interpreter's own files; with room to spare.
BASELINE_DESCRIPTORS = 256


def descriptors_needed(max_sessions: int, max_http_connections: int) -> int:
    """How many descriptors the daemon may hold at its configured limits."""
    return max_sessions + max_http_connections + BASELINE_DESCRIPTORS


@dataclass(frozen=True, slots=True)
class OpenFilesLimit:
    soft: int
    hard: int
    needed: int

    @property
    def sufficient(self) -> bool:
        return self.soft >= self.needed


def _as_int(value: int) -> int:
    return 1 << 30 if value == resource.RLIM_INFINITY else value


def raise_open_files_limit(needed: int) -> OpenFilesLimit:
    """Raise RLIMIT_NOFILE's soft limit to ``needed`` (never lower it, never above the hard one)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = max(_as_int(soft), min(needed, _as_int(hard)))
    if target != _as_int(soft):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as error:
            log.warning("open_files_limit_not_raised", needed=needed, error=str(error))
    limit = OpenFilesLimit(soft=_as_int(soft), hard=_as_int(hard), needed=needed)
    if limit.sufficient:
        log.info("open_files_limit", soft=limit.soft, hard=limit.hard, needed=needed)
    else:
        # The limits below still hold; they are only reachable if the hard limit allows them.
        log.warning(
            "open_files_limit_low",
            soft=limit.soft,
            hard=limit.hard,
            needed=needed,
            fix="raise LimitNOFILE (systemd) or ulimit -n, or lower fastagi.max_sessions",
        )
    return limit


def log_loop_exception(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The event loop's exception handler: one line, no traceback, repeat-limited.

    asyncio calls it for a failed ``accept()`` (out of file descriptors: once per second per
    listening socket), a task's exception nobody retrieved, a transport error.
    """
    error = context.get("exception")
    fields: dict[str, Any] = {"message": context.get("message", "")}
    if error is not None:
        fields.update(error=type(error).__name__, detail=str(error))
    structlog.get_logger("acd.loop").error("event_loop_error", **fields)
