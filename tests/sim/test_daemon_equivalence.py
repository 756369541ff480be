"""The simulator decides what the daemon decides: its event log, replayed through the daemon's
own dispatcher (``acd.runtime``) around a fresh engine, gives the same commands, event by event.
"""

from __future__ import annotations

import asyncio

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.engine import Engine
from acd.runtime.dispatcher import Dispatcher
from acd.sim.simulator import run_day
from tests.sim.builders import small_centre, small_day


class StoppedClock:
    """The daemon's clock held at zero: the simulated day's timers (hours away) never fire here,
    so every event reaching the engine is one of the simulator's, as recorded."""

    def now(self) -> float:
        return 0.0


class RecordedCallControl:
    """Call control that keeps what the daemon asked of the PBX, in order."""

    def __init__(self) -> None:
        self.sent: list[cmd.Command] = []

    def ring_agent(self, command: cmd.RingAgent) -> None:
        self.sent.append(command)

    def play_prompt(self, command: cmd.PlayPrompt) -> None:
        self.sent.append(command)

    def stop_prompt(self, command: cmd.StopPrompt) -> None:
        self.sent.append(command)

    def overflow_call(self, command: cmd.OverflowCall) -> None:
        self.sent.append(command)

    def end_call(self, command: cmd.EndCall) -> None:
        self.sent.append(command)


async def test_dispatcher_fed_the_simulators_events_makes_the_same_decisions() -> None:
    """Every event the simulator handled, submitted to the daemon's dispatcher, returns the same
    commands, and the daemon drives the PBX exactly as the simulator's phones were driven."""
    config, scenario = small_centre(), small_day(hours=1.0)
    log: list[tuple[ev.Event, list[cmd.Command]]] = []
    run_day(config, scenario, on_decision=lambda _at, e, c: log.append((e, c)))
    pbx = RecordedCallControl()
    dispatcher = Dispatcher(
        Engine(config, start_at=scenario.open_s), StoppedClock(), call_control=pbx
    )
    task = asyncio.create_task(dispatcher.run())
    try:
        for event, commands in log:
            assert await dispatcher.submit(event) == commands
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    control = (cmd.RingAgent, cmd.PlayPrompt, cmd.StopPrompt, cmd.OverflowCall, cmd.EndCall)
    expected = [c for _e, cs in log for c in cs if isinstance(c, control)]
    assert pbx.sent == expected
    assert any(isinstance(c, cmd.RingAgent) for c in pbx.sent)
    assert dispatcher.events_refused == 0
