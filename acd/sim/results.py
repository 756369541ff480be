"""What one simulated day produced: every finished call, every advisor's day, time accounting.

The raw material only; ``acd.sim.figures`` turns it into service level, ASA, occupancy and so on.
"""

from __future__ import annotations

from dataclasses import dataclass

from acd.core.commands import CallCompleted
from acd.core.states import BUSY_ACTIVITIES
from acd.core.workload import occupancy_of


@dataclass(frozen=True, slots=True)
class AgentDay:
    """One advisor's day: seconds per activity, calls answered, breathers, missed presentations."""

    agent_id: str
    seconds: dict[str, float]  # activity value (``available``, ``on_call``, ...) -> seconds
    calls: int
    talk_s: float
    breathers: int
    missed: int

    @property
    def logged_in_s(self) -> float:
        """Seconds logged in (every activity but ``offline``)."""
        return sum(s for a, s in self.seconds.items() if a != "offline")

    @property
    def busy_s(self) -> float:
        """Seconds talking or in wrap-up (handle time)."""
        return sum(self.seconds.get(a, 0.0) for a in BUSY_ACTIVITIES)

    @property
    def occupancy(self) -> float | None:
        """Handle time over staffed time (`acd.core.workload.occupancy`); None if never staffed."""
        return occupancy_of(self.seconds)


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """One replication of one scenario under one configuration."""

    seed: int
    open_s: float
    close_s: float
    interval_s: float
    ended_at: float  # virtual time the run stopped (after the last caller was served)
    calls: tuple[CallCompleted, ...]  # in completion order
    unfinished: int  # callers still in the engine when the run stopped (after max_drain_s)
    without_queue: int  # callers of a queue the configuration does not define (not offered)
    agents: tuple[AgentDay, ...]
    # Per reporting interval (opening to closing), all advisors together: seconds busy (talk and
    # wrap-up) and seconds staffed, for the centre's occupancy over the day.
    interval_busy_s: tuple[float, ...]
    interval_staffed_s: tuple[float, ...]
    events: int  # events handled by the engine
    service_level_s: dict[str, float]  # each queue's threshold, from the configuration
    short_abandon_s: float
    warmup_s: float
    breather_holds: int = 0  # breather_hold records: callers held only by breathers (alerts)
    # (call id, queue it left) for each move on to another queue of the engine (an overflow).
    moved_on: tuple[tuple[str, str], ...] = ()

    def interval_starts(self) -> list[float]:
        """Start of each reporting interval."""
        return [self.open_s + i * self.interval_s for i in range(len(self.interval_busy_s))]
