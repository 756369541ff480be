"""The whole daemon against pbxsim: real AMI and FastAGI sockets, calls from arrival to the end."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from acd.app import Daemon
from acd.core.states import Activity
from acd.pbxsim.config import (
    DialplanConfig,
    PbxConfig,
    PhoneConfig,
    QueueConfig,
    Timings,
)
from acd.pbxsim.phones import PhoneBehaviour
from acd.pbxsim.sim import PbxSim
from acd.settings import parse_settings
from tests.deadlines import until

AGENTS = ("agent1", "agent2", "agent3")
PIN = "2468"


@dataclass
class Centre:
    pbx: PbxSim
    daemon: Daemon

    @property
    def agi_url(self) -> str:
        return f"agi://127.0.0.1:{self.daemon.fastagi_port}/inbound"

    def call(self, **kwargs: Any) -> Any:
        return self.pbx.place_call(agi_url=self.agi_url, **kwargs)

    def queue(self, name: str = "support") -> Any:
        return self.daemon.engine.queue_view(name)

    def agent(self, agent_id: str) -> Any:
        return self.daemon.engine.agent_view(agent_id)


def pbx_config(time_scale: float = 1.0) -> PbxConfig:
    return PbxConfig(
        phones=tuple(
            PhoneConfig(name=name, number=f"100{i}", display_name=f"Agent {i}")
            for i, name in enumerate(AGENTS, start=1)
        ),
        queues=(
            QueueConfig(
                name="support", members=tuple(f"PJSIP/{a}" for a in AGENTS), member_ring_timeout=1.0
            ),
        ),
        dialplan=DialplanConfig(fallback_queue="support", fallback_timeout=3.0),
        timings=Timings(answer=0.01, login_failure_delay=0.01, time_scale=time_scale),
    )


def daemon_settings(ami_port: int, schedules: Any = None, **queue: Any) -> Any:
    return parse_settings(
        {
            "schedules": schedules or {},
            "ami": {"port": ami_port, "secret": "acdsecret", "ping_interval_s": 5},
            "fastagi": {"port": 0},
            "workload": {"min_wrap_up_s": 0},
            "queues": {
                "support": {
                    "announce_interval_s": None,
                    "wrap_up_s": 0.2,
                    "ring_timeout_s": 1,
                    **queue,
                }
            },
            "agents": {
                name: {
                    "endpoint": f"PJSIP/{name}",
                    "queues": ["support"],
                    "skills": {"french": i},
                    "pin": PIN,
                }
                for i, name in enumerate(AGENTS, start=1)
            },
        }
    )


def refuses_connections(port: int) -> bool:
    """True once nothing listens on 127.0.0.1:``port`` any more."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


class EventLog:
    """A live view that keeps every event and command the dispatcher handled."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.commands: list[Any] = []

    def observe(self, event: Any, commands: Any) -> None:
        self.events.append(event)
        self.commands.extend(commands)


@contextlib.asynccontextmanager
async def running_centre(
    time_scale: float = 1.0, schedules: Any = None, **queue: Any
) -> AsyncIterator[Centre]:
    """pbxsim plus the daemon connected to it, every advisor logged in."""
    async with PbxSim(pbx_config(time_scale)) as pbx:
        for name in AGENTS:
            pbx.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.3)
        daemon = Daemon(daemon_settings(pbx.ami_port, schedules, **queue), auto_login=True)
        task = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.started.wait(), 5)
        await daemon.ami.wait_connected(5)
        await daemon.dispatcher.drain()
        try:
            yield Centre(pbx, daemon)
        finally:
            daemon.stop()
            await asyncio.wait_for(task, 10)


@pytest.fixture
async def centre() -> AsyncIterator[Centre]:
    async with running_centre() as centre:
        yield centre


async def pause_everyone(centre: Centre) -> None:
    from acd.core.events import AgentPaused

    for name in AGENTS:
        await centre.daemon.dispatcher.submit(
            AgentPaused(at=centre.daemon.dispatcher.now(), agent_id=name, reason="lunch")
        )


async def test_a_call_reaches_an_advisor_and_is_answered(centre: Centre) -> None:
    """A caller placed on pbxsim is queued, rings an advisor, talks, and ends handled."""
    record = centre.call(caller_num="0612345678", caller_name="Zoé Martin")
    await asyncio.wait_for(record.done.wait(), 10)
    assert record.reached_daemon
    assert record.dial_status == "ANSWER"
    assert record.path == "handled"
    await centre.daemon.dispatcher.drain()
    queue = centre.queue()
    assert queue.offered == 1
    assert queue.answered == 1
    assert queue.abandoned == 0
    assert centre.pbx.counters["fallbacks"] == 0


async def test_running_daemon_collects_the_old_generation_rarely(centre: Centre) -> None:
    """Once started, the daemon runs with its own GC thresholds (full collections are rare)."""
    import gc

    from acd.app import GC_THRESHOLDS

    assert gc.get_threshold() == GC_THRESHOLDS
    assert GC_THRESHOLDS[2] > 10  # Python's default: one full collection per 10 middle ones


async def test_no_answer_goes_to_the_next_advisor(centre: Centre) -> None:
    """An advisor who does not answer is skipped and the next one is rung at once."""
    for name in ("agent1", "agent2"):
        centre.pbx.phone(name).behaviour = PhoneBehaviour(mode="no_answer")
    record = centre.call()
    await asyncio.wait_for(record.done.wait(), 15)
    assert record.dial_status == "ANSWER"
    assert record.path == "handled"
    await centre.daemon.dispatcher.drain()
    assert centre.agent("agent3").calls_since_login == 1
    assert centre.agent("agent1").missed_in_row + centre.agent("agent2").missed_in_row >= 1


async def test_caller_who_hangs_up_while_waiting_is_an_abandon(centre: Centre) -> None:
    """With every advisor paused, a caller who hangs up is counted abandoned; nothing falls back."""
    await pause_everyone(centre)
    record = centre.call(patience=0.5)
    await asyncio.wait_for(record.done.wait(), 10)
    assert record.reached_daemon
    assert record.path == "hangup"
    await until(lambda: centre.queue().abandoned == 1, what="the abandon counted")
    queue = centre.queue()
    assert queue.abandoned == 1
    assert queue.answered == 0
    assert centre.pbx.counters["fallbacks"] == 0


async def test_daemon_gone_means_fallback_queue(centre: Centre) -> None:
    """A call arriving when no daemon listens gets AGISTATUS FAILURE and the fallback queue."""
    url, port = centre.agi_url, centre.daemon.fastagi_port
    centre.daemon.stop()
    await until(lambda: refuses_connections(port), what="FastAGI closed")
    record = centre.pbx.place_call(agi_url=url)
    await asyncio.wait_for(record.done.wait(), 15)
    assert record.agi_status == "FAILURE"
    assert record.path == "fallback"
    assert centre.pbx.counters["fallbacks"] == 1


async def test_several_calls_share_the_advisors(centre: Centre) -> None:
    """Ten overlapping calls on three advisors are all answered, none falls back."""
    records = [centre.call(caller_num=f"55510{i:02d}") for i in range(10)]
    await asyncio.wait_for(asyncio.gather(*(r.done.wait() for r in records)), 30)
    assert [r.path for r in records] == ["handled"] * 10
    await centre.daemon.dispatcher.drain()
    assert centre.queue().answered == 10
    assert sum(centre.agent(a).calls_since_login for a in AGENTS) == 10


async def test_waiting_caller_hears_announcements_and_music() -> None:
    """A waiting caller gets position/expected-wait prompts at the interval, each one played out."""
    from acd.core.commands import PlayPrompt
    from acd.core.events import PromptEnded

    async with running_centre(time_scale=0.1, announce_interval_s=0.3) as centre:
        seen = EventLog()
        centre.daemon.dispatcher.live_views.append(seen)
        await pause_everyone(centre)
        record = centre.call(patience=2.5)
        await asyncio.wait_for(record.done.wait(), 10)
        await centre.daemon.dispatcher.drain()
        prompts = [c for c in seen.commands if isinstance(c, PlayPrompt)]
        ended = [e for e in seen.events if isinstance(e, PromptEnded)]
        assert len(prompts) >= 2
        assert prompts[0].position == 1
        assert len(ended) >= 1
        assert centre.queue().abandoned == 1


async def test_a_free_advisor_interrupts_the_prompt_at_once() -> None:
    """When an advisor frees up during an announcement, the ring starts within 300 ms."""
    from acd.core.commands import PlayPrompt
    from acd.core.events import AgentReady

    async with running_centre(announce_interval_s=0.2) as centre:
        seen = EventLog()
        centre.daemon.dispatcher.live_views.append(seen)
        await pause_everyone(centre)
        record = centre.call()
        # The first announcement plays (queue-youarenext is 1.2 s long).
        await until(lambda: any(isinstance(c, PlayPrompt) for c in seen.commands))

        started = time.monotonic()
        await centre.daemon.dispatcher.submit(
            AgentReady(at=centre.daemon.dispatcher.now(), agent_id="agent1")
        )
        await until(
            lambda: any(ch.startswith("PJSIP/agent1-") for ch in centre.pbx.live_channels()),
            within=3,
        )
        ring_delay = time.monotonic() - started
        await asyncio.wait_for(record.done.wait(), 10)
        assert record.dial_status == "ANSWER"
        assert ring_delay < 0.3, f"ring started {ring_delay:.3f} s after the advisor was free"


async def test_max_wait_overflows_to_the_dialplan_target() -> None:
    """A caller waiting past max_wait leaves with ACD_STATE=overflow and the configured target."""
    async with running_centre(max_wait_s=0.5, overflow="extension:agent3") as centre:
        await pause_everyone(centre)
        record = centre.call()
        await asyncio.wait_for(record.done.wait(), 10)
        assert record.acd_state == "overflow"
        assert record.path == "overflow"
        await centre.daemon.dispatcher.drain()
        assert centre.queue().waiting == ()
        assert centre.pbx.counters["overflowed"] == 1


async def test_daemon_stopping_while_an_advisor_rings_sends_the_caller_to_fallback() -> None:
    """If the daemon goes away mid-ring and nobody answers, the fallback queue takes over."""
    async with running_centre(ring_timeout_s=1) as centre:
        for name in AGENTS:
            centre.pbx.phone(name).behaviour = PhoneBehaviour(mode="no_answer")
        record = centre.call()
        await until(lambda: any(ch.startswith("PJSIP/agent") for ch in centre.pbx.live_channels()))
        centre.daemon.stop()
        await asyncio.wait_for(record.done.wait(), 15)
        assert record.reached_daemon
        assert record.acd_state == ""  # unset on the ring path: only DIALSTATUS tells
        assert record.dial_status != "ANSWER"
        assert record.path == "fallback"
        assert centre.pbx.counters["fallbacks"] == 1


async def test_daemon_stopping_mid_conversation_leaves_it_alone() -> None:
    """A conversation in progress when the daemon stops goes on and ends handled."""
    async with running_centre() as centre:
        for name in AGENTS:
            centre.pbx.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=1.0)
        record = centre.call()
        await until(
            lambda: any(centre.agent(a).activity is Activity.ON_CALL for a in AGENTS),
            what="an advisor in conversation",
        )
        centre.daemon.stop()
        await asyncio.wait_for(record.done.wait(), 15)
        assert record.dial_status == "ANSWER"
        assert record.path == "handled"
        assert centre.pbx.counters["fallbacks"] == 0


async def test_ami_drop_reconnects_and_resyncs_phone_states(centre: Centre) -> None:
    """After AMI drops, the daemon reconnects and reads phone states it missed while away."""
    from acd.core.states import PhoneState

    connections_before = len(centre.pbx.ami.sessions)
    assert connections_before == 1
    for session in list(centre.pbx.ami.sessions):
        session.close()
    # While the daemon is away, agent2's phone goes unreachable: AMI will not replay that event.
    centre.pbx.registrar.unregister("agent2")
    await until(lambda: len(centre.pbx.ami.sessions) == 1 and centre.daemon.ami.connected, 10)
    await until(lambda: centre.agent("agent2").phone is PhoneState.UNREACHABLE, 5)
    assert centre.daemon.ami.reconnects == 1
    assert not centre.agent("agent2").routable
    record = centre.call()
    await asyncio.wait_for(record.done.wait(), 10)
    assert record.path == "handled"
    assert centre.agent("agent2").calls_since_login == 0


async def test_reload_keeps_waiting_callers_in_place(centre: Centre) -> None:
    """A live reload (new routing rule) keeps every waiting caller and their order."""
    await pause_everyone(centre)
    records = []
    for i in range(3):
        records.append(centre.call(caller_num=f"55520{i}"))
        await until(lambda n=i + 1: len(centre.queue().waiting) == n)
    before = [c.call_id for c in centre.queue().waiting]
    await centre.daemon.reload(daemon_settings(centre.pbx.ami_port, policy="fewest_calls"))
    await centre.daemon.dispatcher.drain()
    assert [c.call_id for c in centre.queue().waiting] == before
    assert centre.daemon.engine.config.queue("support").policy.value == "fewest_calls"
    from acd.core.events import AgentReady

    await centre.daemon.dispatcher.submit(
        AgentReady(at=centre.daemon.dispatcher.now(), agent_id="agent1")
    )
    await asyncio.wait_for(asyncio.gather(*(r.done.wait() for r in records)), 20)
    assert [r.path for r in records] == ["handled"] * 3
    order = sorted(records, key=lambda r: r.ended_at)
    assert [r.uniqueid for r in order] == before


async def feature_code(centre: Centre, phone: str, query: str, dtmf: str = "") -> Any:
    """An advisor dials a feature code: their phone reaches the daemon's agent AGI."""
    url = f"agi://127.0.0.1:{centre.daemon.fastagi_port}/agent?{query}"
    record = centre.pbx.place_call(queue=None, agi_url=url, from_phone=phone, dtmf=dtmf)
    await asyncio.wait_for(record.done.wait(), 10)
    await centre.daemon.dispatcher.drain()
    return record


async def test_feature_codes_log_in_with_pin_pause_and_ready(centre: Centre) -> None:
    """From the phone an advisor logs in with the PIN (GET DATA), pauses with a reason, resumes."""
    from acd.core.events import AgentLoggedOut
    from acd.core.states import Activity, Presence

    await centre.daemon.dispatcher.submit(
        AgentLoggedOut(at=centre.daemon.dispatcher.now(), agent_id="agent2")
    )
    wrong = await feature_code(centre, "agent2", "action=login", dtmf="1111#")
    assert wrong.acd_state == "done"
    assert centre.agent("agent2").presence is Presence.LOGGED_OUT
    right = await feature_code(centre, "agent2", "action=login", dtmf=f"{PIN}#")
    assert right.acd_state == "done"
    assert right.reached_daemon
    assert centre.agent("agent2").presence is Presence.LOGGED_IN
    await feature_code(centre, "agent2", "action=pause&reason=lunch")
    view = centre.agent("agent2")
    assert view.activity is Activity.PAUSED
    assert view.reason == "lunch"
    await feature_code(centre, "agent2", "action=ready")
    assert centre.agent("agent2").activity is Activity.AVAILABLE
    unknown = await feature_code(centre, "agent2", "action=dance")
    assert unknown.acd_state == "done"
    assert centre.agent("agent2").activity is Activity.AVAILABLE
