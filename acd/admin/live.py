"""The live side of the admin adapter: what it reads from the engine and how it learns of changes.

``LiveFeed`` is a ``LiveView``: the dispatcher calls ``observe`` after every event, from its own
task, so ``observe`` only counts, tallies and wakes waiting streams (``asyncio.Event.set``) and
returns. The streams then read the engine between two dispatches (same loop, same thread: no lock)
and throttle themselves, so a busy centre costs at most a few snapshots a second per stream.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Final, Protocol
from zoneinfo import ZoneInfo

from acd.core.commands import CallCompleted, Command, RecordAgentState
from acd.core.config import AcdConfig
from acd.core.events import CallArrived, Event
from acd.core.snapshots import AgentView, CallView, EngineSnapshot, QueueView
from acd.core.states import Outcome
from acd.runtime.ports import EventInbox

# Calls whose completion never came (a bug elsewhere) must not grow the caller map forever.
MAX_CALLERS_REMEMBERED: Final = 50_000


class EngineReader(Protocol):
    """The engine's read-only views (``acd.core.engine.Engine`` has them)."""

    @property
    def config(self) -> AcdConfig: ...

    def snapshot(self, at: float | None = None) -> EngineSnapshot: ...

    def agent_view(self, agent_id: str, at: float | None = None) -> AgentView: ...

    def queue_view(self, name: str, at: float | None = None) -> QueueView: ...

    def call_view(self, call_id: str, at: float | None = None) -> CallView: ...


@dataclass(slots=True)
class AdvisorDay:
    """One advisor's figures for the current local day (answered calls only)."""

    calls: int = 0
    talk_s: float = 0.0
    breathers: int = 0
    recoveries: int = 0


class DayTally:
    """Per-advisor figures for the centre's current day; starts again at local midnight."""

    def __init__(self, timezone: str = "UTC") -> None:
        self._zone = ZoneInfo(timezone)
        self._day: dt.date | None = None
        self._advisors: dict[str, AdvisorDay] = {}

    def _roll(self, at: float) -> None:
        day = dt.datetime.fromtimestamp(at, self._zone).date()
        if day != self._day:
            self._day = day
            self._advisors = {}

    def record(self, command: Command, at: float) -> None:
        """Count what a command says happened at ``at``."""
        match command:
            case CallCompleted(agent_id=str(agent_id), outcome=Outcome.ANSWERED):
                self._roll(at)
                figures = self._advisors.setdefault(agent_id, AdvisorDay())
                figures.calls += 1
                figures.talk_s += command.talk_s
            case RecordAgentState(dimension="activity", new=new, old=old) if new != old:
                if new in ("breather", "recovery"):
                    self._roll(at)
                    figures = self._advisors.setdefault(command.agent_id, AdvisorDay())
                    if new == "breather":
                        figures.breathers += 1
                    else:
                        figures.recoveries += 1

    def advisor(self, agent_id: str, at: float) -> AdvisorDay:
        """A copy of the advisor's figures today (zeros if nothing happened yet)."""
        self._roll(at)
        figures = self._advisors.get(agent_id, AdvisorDay())
        return AdvisorDay(figures.calls, figures.talk_s, figures.breathers, figures.recoveries)


@dataclass(frozen=True, slots=True)
class SupervisorNotice:
    action: str
    reason: str
    by: str
    at: float


class LiveFeed:
    """Sees every dispatched event; wakes the SSE streams and keeps the day's advisor figures."""

    def __init__(
        self,
        engine: EngineReader,
        submitter: EventInbox,
        *,
        timezone: str = "UTC",
        min_interval_s: float = 0.2,
    ) -> None:
        self.engine = engine
        self.submitter = submitter
        self.day = DayTally(timezone)
        self.min_interval_s = min_interval_s
        self.version = 0
        self._waiters: set[asyncio.Event] = set()
        self._closed = False
        # Who is calling, per call not yet completed: the advisor page shows it through wrap-up.
        self.callers: dict[str, tuple[str, str]] = {}
        # The last thing a supervisor did to each advisor (pause, ready, logout) and why, shown
        # on the advisor's page.
        self.notices: dict[str, SupervisorNotice] = {}

    def observe(self, event: Event, commands: Sequence[Command]) -> None:
        """Called by the dispatcher after each event: tally, mark changed, wake streams."""
        if isinstance(event, CallArrived):
            if len(self.callers) >= MAX_CALLERS_REMEMBERED:
                del self.callers[next(iter(self.callers))]
            self.callers[event.call_id] = (event.caller_number, event.caller_name)
        for command in commands:
            if isinstance(command, CallCompleted | RecordAgentState):
                self.day.record(command, event.at)
            if isinstance(command, CallCompleted):
                self.callers.pop(command.call_id, None)
        self.version += 1
        for waiter in self._waiters:
            waiter.set()

    def now(self) -> float:
        return self.submitter.now()

    def touch(self) -> None:
        """Something the pages show changed outside the engine (a supervisor listening)."""
        self.version += 1
        for waiter in self._waiters:
            waiter.set()

    def close(self) -> None:
        """End every stream (daemon shutdown): their generators return."""
        self._closed = True
        for waiter in self._waiters:
            waiter.set()

    @property
    def streams(self) -> int:
        """Streams open now."""
        return len(self._waiters)

    async def changes(self) -> AsyncIterator[int]:
        """Yield the version now, then after each change, at most once per ``min_interval_s``."""
        waiter = asyncio.Event()
        self._waiters.add(waiter)
        try:
            while not self._closed:
                yield self.version
                # The throttle: changes during the pause are coalesced into the next wake-up.
                await asyncio.sleep(self.min_interval_s)
                await waiter.wait()
                waiter.clear()
        finally:
            self._waiters.discard(waiter)

    def snapshot(self) -> EngineSnapshot:
        return self.engine.snapshot(self.now())
