"""Drives the real routing engine in virtual time and keeps the record commands it emits.

Timers the engine asks for fire, in order, before any later event, so the record streams used by
the storage tests are the engine's own, not hand-written guesses.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from acd.core.commands import (
    CallCompleted,
    CancelTimer,
    Command,
    RecordAgentState,
    RecordCallback,
    RecordCallEvent,
    StartTimer,
)
from acd.core.config import AcdConfig, AgentConfig, QueueConfig, WorkloadPolicy
from acd.core.engine import Engine
from acd.core.events import Event, TimerFired
from acd.storage.database import create_engine
from acd.storage.recorder import Recorder
from acd.storage.reports import Report, build_report, parse_period
from acd.storage.schema import upgrade_schema

RecordCommand = RecordCallEvent | RecordAgentState | CallCompleted | RecordCallback


class EngineDriver:
    """An engine plus a virtual clock; ``records`` holds every record command, in order."""

    def __init__(self, config: AcdConfig, start_at: float) -> None:
        self.engine = Engine(config, start_at=start_at)
        self.now = start_at
        self.records: list[RecordCommand] = []
        self.commands: list[Command] = []
        self._timers: list[tuple[float, int, str]] = []
        self._live: set[str] = set()
        self._n = 0
        self.on_record: Callable[[RecordCommand], None] | None = None

    def _take(self, commands: list[Command]) -> None:
        for c in commands:
            self.commands.append(c)
            if isinstance(c, StartTimer):
                self._n += 1
                heapq.heappush(self._timers, (c.fire_at, self._n, c.timer_id))
                self._live.add(c.timer_id)
            elif isinstance(c, CancelTimer):
                self._live.discard(c.timer_id)
            elif isinstance(c, RecordCallEvent | RecordAgentState | CallCompleted | RecordCallback):
                self.records.append(c)
                if self.on_record is not None:
                    self.on_record(c)

    def advance(self, to: float) -> None:
        """Fire every timer due up to ``to``."""
        while self._timers and self._timers[0][0] <= to:
            fire_at, _, timer_id = heapq.heappop(self._timers)
            if timer_id in self._live:
                self._live.discard(timer_id)
                self.now = max(self.now, fire_at)
                self._take(self.engine.handle(TimerFired(at=self.now, timer_id=timer_id)))
        self.now = max(self.now, to)

    def at(self, t: float, make: Callable[..., Event], **fields: Any) -> None:
        """Advance to ``t`` then deliver ``make(at=t, **fields)``."""
        self.advance(t)
        self._take(self.engine.handle(make(at=t, **fields)))


def small_config(
    *,
    agents: tuple[str, ...] = ("a1", "a2"),
    queues: tuple[str, ...] = ("sales",),
    service_level_s: float = 20.0,
    wrap_up_s: float = 10.0,
    ring_timeout_s: float = 15.0,
    workload: bool = False,
    **queue_fields: Any,
) -> AcdConfig:
    """A config with these queues (every advisor serves all of them); workload off by default."""
    return AcdConfig(
        queues=tuple(
            QueueConfig(
                name=q,
                service_level_s=service_level_s,
                wrap_up_s=wrap_up_s,
                ring_timeout_s=ring_timeout_s,
                announce_interval_s=None,
                **queue_fields,
            )
            for q in queues
        ),
        agents=tuple(AgentConfig(id=a, queues=queues) for a in agents),
        workload=WorkloadPolicy(enabled=workload, min_wrap_up_s=0.0),
        short_abandon_s=5.0,
    )


async def report_of_day(
    db_url: str, spool: Path, records: Iterable[RecordCommand], day: str, **options: Any
) -> Report:
    """Record ``records`` in a fresh schema at ``db_url``, then the report of that ``day``
    (Europe/Paris), ``options`` passed on to ``build_report`` (interval, now, openings)."""
    await upgrade_schema(db_url)
    async with Recorder(db_url, spool, flush_rows=50, flush_ms=10) as recorder:
        for record in records:
            recorder.record(record)
        assert await recorder.drain(10)
    start, end = parse_period(day, day, "Europe/Paris")
    engine = create_engine(db_url)
    try:
        return await build_report(engine, start=start, end=end, timezone="Europe/Paris", **options)
    finally:
        await engine.dispose()
