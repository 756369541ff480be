"""The dispatcher: one task owns the engine, routes commands to ports, runs timers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from acd.core.commands import (
    Command,
    EndCall,
    OverflowCall,
    PlayPrompt,
    ReserveAgent,
    RingAgent,
    StopPrompt,
)
from acd.core.config import AcdConfig, AgentConfig, QueueConfig, RoutingStep
from acd.core.engine import Engine
from acd.core.errors import UnknownAgentError
from acd.core.events import (
    AgentLoggedIn,
    CallArrived,
    Event,
    PhoneStateChanged,
    ReservationRequested,
)
from acd.core.states import PhoneState
from acd.runtime.clock import SteadyWallClock
from acd.runtime.dispatcher import Dispatcher
from acd.runtime.ports import RecordCommand
from tests.deadlines import until


class RecordingCallControl:
    """Keeps every call-control command it is asked to execute."""

    def __init__(self) -> None:
        self.commands: list[Command] = []
        self.rang = asyncio.Event()

    def ring_agent(self, command: RingAgent) -> None:
        self.commands.append(command)
        self.rang.set()

    def play_prompt(self, command: PlayPrompt) -> None:
        self.commands.append(command)

    def stop_prompt(self, command: StopPrompt) -> None:
        self.commands.append(command)

    def overflow_call(self, command: OverflowCall) -> None:
        self.commands.append(command)

    def end_call(self, command: EndCall) -> None:
        self.commands.append(command)


class RecordingRecords:
    """Keeps every record command."""

    def __init__(self) -> None:
        self.records: list[RecordCommand] = []

    def record(self, command: RecordCommand) -> None:
        self.records.append(command)


class RecordingLiveView:
    """Keeps every (event, commands) pair it observes."""

    def __init__(self) -> None:
        self.seen: list[tuple[Event, Sequence[Command]]] = []

    def observe(self, event: Event, commands: Sequence[Command]) -> None:
        self.seen.append((event, commands))


def config(first_step_s: float | None = None) -> AcdConfig:
    steps = (
        (RoutingStep("french>=5", first_step_s), RoutingStep("any"))
        if first_step_s
        else (RoutingStep("any"),)
    )
    return AcdConfig(
        queues=(QueueConfig(name="support", steps=steps),),
        agents=(
            AgentConfig(id="a1", skills={"french": 3}, queues=("support",)),
            AgentConfig(id="a2", skills={"french": 5}, queues=("support",)),
        ),
    )


@pytest.fixture
async def running() -> AsyncIterator[
    tuple[Dispatcher, RecordingCallControl, RecordingRecords, RecordingLiveView]
]:
    control, records, live = RecordingCallControl(), RecordingRecords(), RecordingLiveView()
    clock = SteadyWallClock()
    dispatcher = Dispatcher(
        Engine(config(0.05), start_at=clock.now()),
        clock,
        call_control=control,
        records=records,
        live_views=[live],
    )
    task = asyncio.create_task(dispatcher.run())
    yield dispatcher, control, records, live
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def login(dispatcher: Dispatcher, agent_id: str) -> None:
    await dispatcher.submit(AgentLoggedIn(at=dispatcher.now(), agent_id=agent_id))
    await dispatcher.submit(
        PhoneStateChanged(at=dispatcher.now(), agent_id=agent_id, phone=PhoneState.IDLE)
    )


async def test_commands_reach_their_ports(running) -> None:  # type: ignore[no-untyped-def]
    """A call offered to a free qualified advisor rings them; records and live views see it all."""
    dispatcher, control, records, live = running
    await login(dispatcher, "a2")
    commands = await dispatcher.submit(
        CallArrived(at=dispatcher.now(), call_id="c1", queue="support")
    )
    rings = [c for c in control.commands if isinstance(c, RingAgent)]
    assert [(r.call_id, r.agent_id) for r in rings] == [("c1", "a2")]
    assert any(getattr(r, "kind", None) == "offered" for r in records.records)
    assert live.seen[-1][1] == commands


async def test_relaxation_timer_fires_and_rings(running) -> None:  # type: ignore[no-untyped-def]
    """A call waiting on a strict step goes to a less skilled advisor once the step expires."""
    dispatcher, control, _, _ = running
    await login(dispatcher, "a1")
    await dispatcher.submit(CallArrived(at=dispatcher.now(), call_id="c1", queue="support"))
    assert not control.rang.is_set()
    assert dispatcher.pending_timers >= 1
    await asyncio.wait_for(control.rang.wait(), timeout=2)
    (ring,) = [c for c in control.commands if isinstance(c, RingAgent)]
    assert ring.agent_id == "a1"


async def test_refused_event_raises_and_dispatch_continues(running) -> None:  # type: ignore[no-untyped-def]
    """An event the engine refuses raises its CoreError to the submitter; later events still run."""
    dispatcher, control, _, _ = running
    with pytest.raises(UnknownAgentError):
        await dispatcher.submit(AgentLoggedIn(at=dispatcher.now(), agent_id="nobody"))
    await login(dispatcher, "a2")
    await dispatcher.submit(CallArrived(at=dispatcher.now(), call_id="c1", queue="support"))
    assert dispatcher.events_refused == 1
    assert any(isinstance(c, RingAgent) for c in control.commands)


async def test_late_timestamps_are_clamped(running) -> None:  # type: ignore[no-untyped-def]
    """An event stamped before the last dispatched one is moved forward, not refused."""
    dispatcher, _, _, _ = running
    await login(dispatcher, "a2")
    early = dispatcher.now() - 10
    await dispatcher.submit(CallArrived(at=early, call_id="c1", queue="support"))
    assert dispatcher.events_refused == 0
    assert dispatcher.engine.call_view("c1").offered_at > early  # type: ignore[attr-defined]


async def test_post_is_handled_in_order(running) -> None:  # type: ignore[no-untyped-def]
    """Posted events are handled one at a time, in the order they were posted."""
    dispatcher, _, _, live = running
    dispatcher.post(AgentLoggedIn(at=dispatcher.now(), agent_id="a1"))
    dispatcher.post(AgentLoggedIn(at=dispatcher.now(), agent_id="a2"))
    await dispatcher.drain()
    await asyncio.sleep(0)
    assert [getattr(e, "agent_id", None) for e, _ in live.seen] == ["a1", "a2"]


class RecordingLegs:
    """Keeps every reservation it is asked to start a leg for."""

    def __init__(self) -> None:
        self.reserved: list[ReserveAgent] = []

    def reserve_agent(self, command: ReserveAgent) -> None:
        self.reserved.append(command)


async def test_reservation_goes_to_the_legs_of_its_reason() -> None:
    """ReserveAgent reaches the adapter of its reason; with none, the advisor is freed."""
    clock = SteadyWallClock()
    legs = RecordingLegs()
    engine = Engine(config(), start_at=clock.now())
    dispatcher = Dispatcher(engine, clock, reserved_legs={"outbound": legs})
    task = asyncio.create_task(dispatcher.run())
    try:
        await login(dispatcher, "a1")
        await dispatcher.submit(
            ReservationRequested(
                at=dispatcher.now(), call_id="o1", queue="support", reason="outbound"
            )
        )
        assert [(r.call_id, r.agent_id) for r in legs.reserved] == [("o1", "a1")]
        await login(dispatcher, "a2")
        await dispatcher.submit(
            ReservationRequested(
                at=dispatcher.now(), call_id="x1", queue="support", reason="survey"
            )
        )
        # Nobody starts "survey" legs: the dispatcher releases the reservation at once.
        await until(lambda: "x1" not in {v.call_id for v in engine.live_calls()})
        assert engine.agent_view("a2").activity.value == "available"
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
