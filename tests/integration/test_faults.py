"""Faults under calls: AMI dropped or half-open, the daemon killed, garbage on FastAGI, reloads.

pbxsim is the witness: its own count of every call placed (handled, abandoned, fallen back) must
show that no caller vanished, whatever happened to the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from acd.app import Daemon
from acd.core.commands import CallCompleted, RingAgent
from acd.core.errors import ConfigError
from acd.core.events import AgentDidNotAnswer, AgentPaused, AgentReady, CallArrived
from acd.core.states import Outcome, PhoneState
from acd.pbxsim.channels import UP
from acd.pbxsim.config import DialplanConfig, PbxConfig, PhoneConfig, QueueConfig, Timings
from acd.pbxsim.dialplan import CallRecord
from acd.pbxsim.phones import PhoneBehaviour
from acd.pbxsim.sim import PbxSim
from acd.settings import parse_settings
from tests.integration.test_day_in_miniature import (
    AdvisorLegs,
    DispatchLog,
    free_port,
    quiet_logs,
    until,
)

__all__ = ["quiet_logs"]  # the autouse fixture applies here too

ADVISORS = ("agent1", "agent2", "agent3", "agent4")


def settings_data(ami_port: int, agi_port: int, **queue: Any) -> dict[str, Any]:
    return {
        "ami": {"port": ami_port, "secret": "acdsecret", "ping_interval_s": 5},
        "fastagi": {"port": agi_port},
        "http": {"enabled": False},
        "daemon": {"watchdog_stall_s": 0},
        "workload": {"enabled": False, "min_wrap_up_s": 0},
        "queues": {
            "support": {
                "announce_interval_s": None,
                "wrap_up_s": 0.1,
                "ring_timeout_s": 1,
                **queue,
            }
        },
        "agents": {
            name: {"endpoint": f"PJSIP/{name}", "queues": ["support"], "skills": {"french": 3}}
            for name in ADVISORS
        },
    }


def pbx_config(fallback_timeout: float = 1.0) -> PbxConfig:
    return PbxConfig(
        phones=tuple(
            PhoneConfig(name=name, number=f"100{i}", display_name=f"Advisor {i}")
            for i, name in enumerate(ADVISORS, start=1)
        ),
        # Nobody staffs the fallback queue here: a caller who falls back times out of it, and
        # pbxsim counts the fallback without ringing the daemon's advisors behind its back.
        queues=(QueueConfig(name="support"),),
        dialplan=DialplanConfig(fallback_queue="support", fallback_timeout=fallback_timeout),
        timings=Timings(answer=0.01, login_failure_delay=0.01),
    )


@dataclass
class Centre:
    pbx: PbxSim
    daemon: Daemon
    seen: DispatchLog
    legs: AdvisorLegs
    agi_port: int

    def call(self, **kwargs: Any) -> CallRecord:
        return self.pbx.place_call(agi_url=f"agi://127.0.0.1:{self.agi_port}/inbound", **kwargs)

    def completed(self) -> list[CallCompleted]:
        return self.seen.commands(CallCompleted)


@contextlib.asynccontextmanager
async def daemon_on(pbx: PbxSim, data: dict[str, Any]) -> AsyncIterator[tuple[Daemon, DispatchLog]]:
    """A daemon in this loop against ``pbx``, every advisor logged in, phone states resynced."""
    daemon = Daemon(parse_settings(data), auto_login=True)
    seen = DispatchLog()
    daemon.dispatcher.live_views.append(seen)
    task = asyncio.create_task(daemon.run())
    await asyncio.wait_for(daemon.started.wait(), 5)
    await daemon.ami.wait_connected(5)
    try:
        yield daemon, seen
    finally:
        daemon.stop()
        await asyncio.wait_for(task, 15)


@contextlib.asynccontextmanager
async def running_centre(
    talk_time: float = 0.3, ping_interval_s: float = 5.0, **queue: Any
) -> AsyncIterator[Centre]:
    agi_port = free_port()
    async with PbxSim(pbx_config()) as pbx:
        for name in ADVISORS:
            pbx.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=talk_time)
        legs = AdvisorLegs()
        pbx.pbx.event_listeners.append(legs)
        data = settings_data(pbx.ami_port, agi_port, **queue)
        data["ami"]["ping_interval_s"] = ping_interval_s
        async with daemon_on(pbx, data) as (daemon, seen):
            await daemon.dispatcher.drain()
            yield Centre(pbx, daemon, seen, legs, agi_port)


def advisor_talking(pbx: PbxSim) -> bool:
    return any(c.endpoint.startswith("agent") and c.state == UP for c in pbx.pbx.channels.values())


async def settled(centre: Centre, calls: int) -> None:
    """Every call placed is over on pbxsim, and the daemon has summed each one up."""
    await centre.pbx.wait_calls_done(within=30)
    await centre.daemon.dispatcher.drain()
    await until(lambda: len(centre.completed()) >= calls, 5, f"{calls} calls completed")
    await centre.daemon.dispatcher.drain()


def one_summary_each(centre: Centre, records: list[CallRecord]) -> dict[str, CallCompleted]:
    """Exactly one summary per call that reached the daemon, keyed by call id."""
    summaries: dict[str, CallCompleted] = {}
    for summary in centre.completed():
        assert summary.call_id not in summaries, f"two summaries for {summary.call_id}"
        summaries[summary.call_id] = summary
    assert set(summaries) == {r.uniqueid for r in records if r.reached_daemon}
    return summaries


async def test_ami_killed_mid_call_loses_neither_the_conversation_nor_its_record() -> None:
    """AMI reset mid-conversation: the call ends handled, recorded once; the next call routes."""
    async with running_centre(talk_time=1.0) as centre:
        first = centre.call()
        await until(lambda: advisor_talking(centre.pbx), 5, "conversation started")
        assert centre.pbx.drop_ami() == 1  # RST, as a crash or a network cut would
        await asyncio.wait_for(first.done.wait(), 10)
        assert first.path == "handled"
        await until(lambda: centre.daemon.ami.connected, 10, "AMI reconnected")
        # The phone hung up while AMI was away (or just after): the resync or the event says so.
        await until(
            lambda: all(
                centre.daemon.engine.agent_view(a).phone is PhoneState.IDLE for a in ADVISORS
            ),
            5,
            "phones idle again",
        )
        second = centre.call()
        await settled(centre, 2)
        assert second.path == "handled"
        summaries = one_summary_each(centre, [first, second])
        assert [s.outcome for s in summaries.values()] == [Outcome.ANSWERED] * 2
        assert all(s.agent_id for s in summaries.values())
        assert centre.pbx.counters["fallbacks"] == 0


async def test_half_open_ami_is_detected_by_keepalive_and_routing_goes_on() -> None:
    """An AMI peer that goes silent without closing is dropped by Ping; calls route throughout."""
    async with running_centre(ping_interval_s=0.3) as centre:
        (stale,) = centre.pbx.ami.sessions
        # pbxsim's side of this one connection stops reading (so Ping goes unanswered) and stops
        # sending events; the socket stays open, as after a peer vanished behind a firewall.
        # (pbxsim.stall_ami() stalls the whole AMI server, new connections included: the
        # daemon could not log in again until it resumed.)
        stale.events_on = False
        stale.writer.transport.pause_reading()
        went_silent = time.monotonic()
        during = centre.call()
        await asyncio.wait_for(during.done.wait(), 10)
        assert during.path == "handled"

        def reconnected() -> bool:
            return any(s is not stale and s.user is not None for s in centre.pbx.ami.sessions)

        # AmiClient's ping timeout (5 s, not in Settings) bounds how long detection takes.
        await until(reconnected, 12, "a new AMI session after the keepalive gave up")
        detected_after = time.monotonic() - went_silent
        stale.writer.transport.resume_reading()
        assert detected_after < 0.3 + 5.0 + 2.0
        after = centre.call()
        await settled(centre, 2)
        assert after.path == "handled"
        summaries = one_summary_each(centre, [during, after])
        assert {s.outcome for s in summaries.values()} == {Outcome.ANSWERED}
        assert centre.pbx.counters["fallbacks"] == 0


DAEMON_PROCESS = """
import asyncio, json, sys, time
from acd.app import Daemon
from acd.core.states import PhoneState
from acd.log_config import configure_logging
from acd.settings import parse_settings

async def main() -> None:
    configure_logging(level="warning")
    daemon = Daemon(parse_settings(json.loads(sys.argv[1])), auto_login=True)
    task = asyncio.create_task(daemon.run())
    await daemon.started.wait()
    await daemon.ami.wait_connected(10)
    deadline = time.monotonic() + 10
    # Ready once the resync has read every advisor's phone state.
    while any(a.phone is not PhoneState.IDLE for a in daemon.engine.snapshot().agents):
        assert time.monotonic() < deadline, "phone states not resynced in 10 s"
        await asyncio.sleep(0.02)
    print("ready", flush=True)
    await task

asyncio.run(main())
"""


@pytest.mark.slow
async def test_daemon_killed_callers_fall_back_and_conversations_survive_a_restart() -> None:
    """Daemon SIGKILLed: waiters fall back, talks go on, the next daemon's resync spares them."""
    agi_port = free_port()
    async with PbxSim(pbx_config(fallback_timeout=0.5)) as pbx:
        for name in ADVISORS:
            pbx.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=3.0)
        legs = AdvisorLegs()
        pbx.pbx.event_listeners.append(legs)
        data = settings_data(pbx.ami_port, agi_port)
        data["agents"].pop("agent4")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            DAEMON_PROCESS,
            json.dumps(data),
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            assert line == b"ready\n"
            await until(lambda: len(pbx.ami.sessions) == 1, 5, "daemon on AMI")
            url = f"agi://127.0.0.1:{agi_port}/inbound"
            records = [pbx.place_call(agi_url=url, caller_num=f"55500{i}") for i in range(8)]

            def queued() -> int:
                return sum(
                    1
                    for c in pbx.pbx.channels.values()
                    # Waiting: on music on hold, not in a conversation (ACD_STATE stays unset).
                    if c.endpoint == "callers" and c.moh_class is not None and c.bridge is None
                )

            await until(
                lambda: (
                    sum(
                        1
                        for c in pbx.pbx.channels.values()
                        if c.state == UP and c.endpoint.startswith("agent")
                    )
                    == 3
                    and queued() == 5
                ),
                10,
                "3 advisors talking, 5 callers waiting",
            )
            process.send_signal(signal.SIGKILL)
            await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        killed_at = time.monotonic()
        busy = sorted(
            c.endpoint for c in pbx.pbx.channels.values() if c.endpoint.startswith("agent")
        )
        assert busy == ["agent1", "agent2", "agent3"]

        async with daemon_on(pbx, data) as (daemon, seen):
            await until(
                lambda: all(daemon.engine.agent_view(a).phone is PhoneState.IN_USE for a in busy),
                5,
                "resync marked the busy advisors' phones in use",
            )
            late = pbx.place_call(agi_url=url, caller_num="5559999")
            await asyncio.wait_for(late.done.wait(), 15)
            rung = [c for c in seen.commands(RingAgent) if c.call_id == late.uniqueid]
            busy_refusals = [e for e, _ in seen.items if isinstance(e, AgentDidNotAnswer)]

        await pbx.wait_calls_done(within=10)
        paths = Counter(r.path for r in records)
        counters = pbx.counters
    # None vanished: the 3 conversations ended handled, the 5 waiting callers fell back.
    assert paths == Counter({"handled": 3, "fallback": 5})
    assert all(r.reached_daemon for r in records)
    assert counters["calls_placed"] == 9
    assert counters["fallbacks"] == 5
    assert counters["handled_hangups"] == 4
    assert counters["answered_by_acd"] == 4
    # The late caller waited for a conversation to end instead of ringing a phone in use.
    assert late.path == "handled"
    assert len(rung) == 1
    assert busy_refusals == []
    assert max(legs.most.values()) == 1
    assert late.ended_at is not None
    assert late.ended_at - killed_at > 2.0


async def garbage_peer(port: int, kind: int, rng: random.Random) -> None:
    """One misbehaving FastAGI client: the daemon must shrug it off."""
    with contextlib.suppress(OSError, TimeoutError):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            if kind == 0:
                pass  # connect and go
            elif kind == 1:
                writer.write(rng.randbytes(2048))
            elif kind == 2:
                writer.write(b"agi_network: yes\nagi_network_script: nosuch\n\n")
            elif kind == 3:
                writer.write(b"agi_request: " + b"x" * 100_000)
            elif kind == 4:
                # A plausible inbound call that answers the daemon with nonsense.
                writer.write(
                    b"agi_network: yes\nagi_network_script: inbound?queue=support\n"
                    b"agi_request: agi://127.0.0.1/inbound?queue=support\n"
                    b"agi_channel: PJSIP/garbage-00000001\n"
                    + f"agi_uniqueid: garbage.{rng.randrange(10**9)}\n\n".encode()
                )
                await writer.drain()
                async with asyncio.timeout(2):
                    await reader.readline()
                writer.write(b"\xff\xfe not an AGI reply\n")
            else:
                writer.write(b"agi_network: yes\nagi_network_script: inbound?queue=sup")
            await writer.drain()
            # fixed-sleep: a garbage peer holds its connection a random while, as a real one would
            await asyncio.sleep(rng.random() * 0.5)
        finally:
            writer.close()


async def test_garbage_on_the_fastagi_port_during_load_hurts_no_caller() -> None:
    """Hundreds of bad FastAGI peers amid 40 real calls: every real call handled, none lost."""
    async with running_centre(talk_time=0.2) as centre:
        rng = random.Random(4573)
        records: list[CallRecord] = []
        peers = [asyncio.create_task(garbage_peer(centre.agi_port, i % 6, rng)) for i in range(240)]
        for i in range(40):
            records.append(centre.call(caller_num=f"55510{i:02d}"))
            await asyncio.sleep(0.05)  # fixed-sleep: arrivals spread over 2 s, amid the garbage
        await asyncio.gather(*peers)
        await settled(centre, 40)
        assert Counter(r.path for r in records) == Counter({"handled": 40})
        summaries = one_summary_each(centre, records)
        assert {s.outcome for s in summaries.values()} == {Outcome.ANSWERED}
        # Nothing the garbage said became a call, and no session is left behind.
        arrivals = [e for e, _ in centre.seen.items if isinstance(e, CallArrived)]
        assert len(arrivals) == 40
        await until(lambda: centre.daemon.fastagi.active_sessions == 0, 5, "sessions closed")
        assert centre.pbx.counters["fallbacks"] == 0


async def test_reload_during_load_keeps_every_call() -> None:
    """Thirteen reloads under 80 calls (policy, steps, advisors): each call ends exactly once."""
    async with running_centre(talk_time=0.2) as centre:
        data = settings_data(centre.pbx.ami_port, centre.agi_port)
        variants: list[dict[str, Any]] = []
        for policy, steps in (
            ("fewest_calls", [{"expression": "french>=3", "for_s": 0.3}, {"expression": "any"}]),
            ("round_robin", [{"expression": "any"}]),
            ("least_occupied", [{"expression": "french>=2", "for_s": 1}, {"expression": "any"}]),
            ("longest_idle", [{"expression": "any"}]),
        ):
            variant = json.loads(json.dumps(data))
            variant["queues"]["support"].update(policy=policy, steps=steps, wrap_up_s=0.05)
            variants.append(variant)
        # One variant drops agent4 (it finishes any call it has, then takes no new one).
        variants[1]["agents"].pop("agent4")
        await centre.daemon.dispatcher.submit(
            AgentPaused(at=centre.daemon.dispatcher.now(), agent_id="agent1", reason="coaching")
        )
        records: list[CallRecord] = []
        reloads = refused_reloads = 0
        for i in range(80):
            records.append(centre.call(caller_num=f"55520{i:02d}", patience=4.0))
            await asyncio.sleep(0.06)  # fixed-sleep: arrivals spread over 5 s, amid the reloads
            if i % 6 == 5:
                try:
                    await centre.daemon.reload(parse_settings(variants[reloads % len(variants)]))
                except ConfigError:
                    # Dropping agent4 while it holds a call is refused: nothing changes then.
                    refused_reloads += 1
                reloads += 1
        await settled(centre, 80)
        paths = Counter(r.path for r in records)
        assert set(paths) <= {"handled", "hangup"}
        summaries = one_summary_each(centre, records)
        outcomes = Counter(s.outcome for s in summaries.values())
        assert (
            outcomes[Outcome.ANSWERED] == paths["handled"] == centre.pbx.counters["answered_by_acd"]
        )
        assert outcomes[Outcome.ABANDONED] == paths["hangup"]
        assert reloads == 13
        # The engine refused no call event; only reloads it could not apply yet.
        assert centre.daemon.dispatcher.events_refused == refused_reloads
        assert max(centre.legs.most.values()) == 1
        assert centre.pbx.counters["fallbacks"] == 0


class HangUpOnRing:
    """A live view that makes the caller hang up the instant the engine rings for ``call_id``."""

    def __init__(self, pbx: PbxSim, call_id: str, record: CallRecord) -> None:
        self.pbx = pbx
        self.call_id = call_id
        self.record = record
        self.fired = False

    def observe(self, event: Any, commands: Any) -> None:
        for command in commands:
            if isinstance(command, RingAgent) and command.call_id == self.call_id:
                self.fired = self.pbx.caller_hangs_up(self.record)


async def test_transferred_caller_hanging_up_as_the_ring_starts_is_an_abandon() -> None:
    """Back in the ACD after a transfer, a caller gone before Dial is an abandon, not a talk."""
    agi_port = free_port()
    config = pbx_config()
    config = PbxConfig(
        phones=config.phones,
        queues=config.queues,
        dialplan=DialplanConfig(
            fallback_queue=None,
            agent_extensions={"7400": f"AGI(agi://127.0.0.1:{agi_port}/transfer?queue=support)"},
        ),
        timings=config.timings,
    )
    async with PbxSim(config) as pbx:
        pbx.phone("agent1").behaviour = PhoneBehaviour(
            answer_delay=0.05, blind_transfer_to="7400", transfer_after=0.2
        )
        for name in ADVISORS[1:]:
            pbx.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.3)
        async with daemon_on(pbx, settings_data(pbx.ami_port, agi_port)) as (daemon, seen):
            now = daemon.dispatcher.now
            for name in ADVISORS[1:]:
                await daemon.dispatcher.submit(AgentPaused(at=now(), agent_id=name, reason="x"))
            record = pbx.place_call(agi_url=f"agi://127.0.0.1:{agi_port}/inbound")
            await until(lambda: advisor_talking(pbx), 5, "agent1 answered")
            await daemon.dispatcher.submit(AgentPaused(at=now(), agent_id="agent1", reason="x"))
            again = f"{record.uniqueid}#2"
            await until(
                lambda: any(c.call_id == again for c in daemon.engine.live_calls()),
                5,
                "the caller is back in the queue",
            )
            hang_up = HangUpOnRing(pbx, again, record)
            daemon.dispatcher.live_views.append(hang_up)
            await daemon.dispatcher.submit(AgentReady(at=now(), agent_id="agent2"))
            await asyncio.wait_for(record.done.wait(), 10)
            await until(lambda: not daemon.engine.live_calls(), 5, "both entries finished")
            # The first entry's summary comes once agent1's wrap-up is over.
            await until(lambda: len(seen.commands(CallCompleted)) == 2, 5, "two summaries")
            agent2 = daemon.engine.agent_view("agent2")
            summaries = {c.call_id: c for c in seen.commands(CallCompleted)}
            refused = daemon.dispatcher.events_refused
    assert hang_up.fired
    assert record.path == "transferred"
    assert summaries[record.uniqueid].outcome is Outcome.ANSWERED
    assert summaries[record.uniqueid].transferred_to == "7400@acd-agents"
    assert summaries[again].outcome is Outcome.ABANDONED
    assert summaries[again].agent_id is None
    assert agent2.activity.value == "available"
    assert refused == 0
