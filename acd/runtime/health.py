"""Whether the daemon is serving: each part's state, and the verdict ``/api/v1/health`` gives.

The rule is the one an operator's probe needs: the verdict is ``down`` (HTTP 503) exactly when
calls cannot be routed, that is when a part callers depend on is not up: the FastAGI listener
(Asterisk hands calls over it), AMI (phone states and answers come from it) or the dispatcher (it
owns the engine). A part whose loss costs something but leaves calls routed (the database, while
the spool keeps the records; MQTT) makes the verdict ``degraded``, still 200.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class PartState(StrEnum):
    UP = "up"
    DOWN = "down"
    SPOOLING = "spooling"  # the database is unreachable; records go to the spool meanwhile
    STARTING = "starting"
    DISABLED = "disabled"  # not configured (MQTT off, records kept in memory)


class Verdict(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class Part:
    """One part of the daemon: its state, and whether calls are routed without it."""

    name: str
    state: PartState
    routes_calls: bool  # calls cannot be routed while this part is not up
    detail: str = ""

    @property
    def healthy(self) -> bool:
        return self.state in (PartState.UP, PartState.DISABLED)


def verdict(parts: Sequence[Part]) -> Verdict:
    """``down`` when a part calls depend on is not up; ``degraded`` when another is unhealthy."""
    if any(p.routes_calls and p.state is not PartState.UP for p in parts):
        return Verdict.DOWN
    if any(not p.healthy for p in parts):
        return Verdict.DEGRADED
    return Verdict.OK
