"""One daemon over two pbxsim boxes joined by an inter-PBX trunk: one engine, callers of either box
served by advisors of either box, and a box that goes away not stopping the other."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import generate_latest

from acd.app import Daemon
from acd.core.commands import CallCompleted
from acd.core.events import (
    AgentAnswered,
    AgentPaused,
    CallbackRequested,
    CallEnded,
    PhoneStateChanged,
)
from acd.core.states import Activity, Outcome, PhoneState
from acd.pbxsim import DialplanConfig, PbxConfig, PbxSim, PhoneBehaviour, PhoneConfig, Timings
from acd.pbxsim import QueueConfig as FallbackQueue
from acd.runtime.health import PartState, Verdict, verdict
from acd.settings import parse_settings
from tests.deadlines import until
from tests.integration.test_daemon_calls import EventLog

FAST = Timings(answer=0.01, login_failure_delay=0.01)


CUSTOMER = "0612345678"  # a phone of box B standing for a customer behind its operator trunk


def box(name: str, phones: tuple[str, ...]) -> PbxConfig:
    customer = (PhoneConfig(CUSTOMER, CUSTOMER, "Zoé Martin"),) if name == "b" else ()
    return PbxConfig(
        systemname=f"pbx-{name}",
        phones=tuple(PhoneConfig(p, f"10{i}", p.title()) for i, p in enumerate(phones)) + customer,
        queues=(FallbackQueue("support", members=phones, member_ring_timeout=1.0),),
        dialplan=DialplanConfig(fallback_queue="support", fallback_timeout=3.0),
        timings=FAST,
    )


@dataclass
class TwoBoxes:
    a: PbxSim
    b: PbxSim
    daemon: Daemon
    log: EventLog

    def call(self, on: PbxSim, name: str, **kwargs: Any) -> Any:
        url = f"agi://127.0.0.1:{self.daemon.fastagi_port}/inbound?pbx={name}"
        return on.place_call(agi_url=url, **kwargs)

    def activity(self, agent_id: str) -> Activity:
        return self.daemon.engine.agent_view(agent_id).activity

    def phone(self, agent_id: str) -> PhoneState:
        return self.daemon.engine.agent_view(agent_id).phone


def settings(a: PbxSim, b: PbxSim, bruno_queues: list[str]) -> Any:
    common = {
        "secret": "acdsecret",
        "ping_interval_s": 1,
        "ping_timeout_s": 2,
        "reconnect_max_s": 0.5,
    }
    return parse_settings(
        {
            "pbx": {
                "a": {"port": a.ami_port, "trunk": "pbx-a", **common},
                "b": {"port": b.ami_port, "trunk": "pbx-b", **common},
            },
            "fastagi": {"port": 0},
            "workload": {"min_wrap_up_s": 0},
            "callbacks": {
                "trunk": "PJSIP/{number}",
                "caller_id": '"Centre" <0140000000>',
                "originate_timeout_s": 2,
                "ring_timeout_s": 2,
            },
            "queues": {
                name: {"announce_interval_s": None, "wrap_up_s": 0.2, "ring_timeout_s": 2}
                for name in ("support", "sales")
            },
            "agents": {
                "anna": {"endpoint": "PJSIP/anna", "queues": ["sales"], "pbx": "a"},
                "bruno": {"endpoint": "PJSIP/bruno", "queues": bruno_queues, "pbx": "b"},
            },
        }
    )


@contextlib.asynccontextmanager
async def two_boxes(bruno_queues: list[str]) -> AsyncIterator[TwoBoxes]:
    """Box A holds anna's phone, box B bruno's; the daemon drives both, both advisors in."""
    async with PbxSim(box("a", ("anna",))) as a, PbxSim(box("b", ("bruno",))) as b:
        a.link(b, here="pbx-b", there="pbx-a")
        for sim, name in ((a, "anna"), (b, "bruno")):
            sim.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.6)
        daemon = Daemon(settings(a, b, bruno_queues), auto_login=True)
        log = EventLog()
        daemon.dispatcher.live_views.append(log)
        task = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.started.wait(), 10)
        # The dialplans' ACD_FASTAGI: where [acd-originated] hands callback legs to acd.
        for sim in (a, b):
            sim.routines.globals["ACD_FASTAGI"] = f"127.0.0.1:{daemon.fastagi_port}"
        for client in daemon.amis.values():
            await client.wait_connected(10)
        await daemon.dispatcher.drain()
        try:
            yield TwoBoxes(a, b, daemon, log)
        finally:
            daemon.stop()
            await asyncio.wait_for(task, 15)


async def test_caller_on_box_a_answered_by_an_advisor_on_box_b_through_the_trunk() -> None:
    """A caller of box A whose only able advisor is on box B talks to them over the trunk, and
    the answer reaches the engine when it happens (box A's DialEnd on the trunk channel)."""
    async with two_boxes(bruno_queues=["support"]) as centre:
        await until(lambda: centre.activity("bruno") is Activity.AVAILABLE, 10, "bruno in")
        record = centre.call(centre.a, "a", queue="support", patience=20)
        await until(lambda: centre.activity("bruno") is Activity.ON_CALL, 10, "bruno answers")
        # The answer is known while the conversation still goes on, not when the Dial returns.
        assert not any(isinstance(e, CallEnded) for e in centre.log.events)
        assert centre.b.counters["trunk_calls_in"] == 1
        await centre.a.wait_calls_done(20)
        await until(lambda: centre.daemon.engine.queue_view("support").answered == 1, 10)
    assert record.reached_daemon
    assert record.dial_status == "ANSWER"
    assert record.uniqueid.startswith("pbx-a-")
    answered = [e for e in centre.log.events if isinstance(e, AgentAnswered)]
    assert [(e.call_id, e.agent_id) for e in answered] == [(record.uniqueid, "bruno")]
    assert centre.a.counters["trunk_calls_out"] == 1
    assert centre.b.counters["answered_over_trunk"] == 1
    assert centre.daemon.calls.trunk_rings == {"a": 1}
    scraped = generate_latest(centre.daemon.metrics.registry).decode()
    assert 'acd_pbx_trunk_rings_total{pbx="a"} 1.0' in scraped
    assert 'acd_pbx_calls_offered_total{pbx="a"} 1.0' in scraped
    assert 'acd_pbx_ami_connected{pbx="b"}' in scraped
    # Bruno's phone states came from box B's AMI only.
    assert any(
        isinstance(e, PhoneStateChanged) and e.agent_id == "bruno" and e.phone is PhoneState.IN_USE
        for e in centre.log.events
    )


async def test_box_a_lost_and_recovered_while_box_b_calls_go_on() -> None:
    """Box A going down makes its advisor unreachable and leaves box B serving its own callers;
    once A is back its advisor's phone is read again and A's callers are served."""
    async with two_boxes(bruno_queues=["support", "sales"]) as centre:
        daemon = centre.daemon
        await until(lambda: centre.phone("anna") is PhoneState.IDLE, 10, "anna's phone read")
        await centre.a.stop()
        await until(lambda: not daemon.amis["a"].connected, 10, "box A's AMI lost")
        await until(lambda: centre.phone("anna") is PhoneState.UNREACHABLE, 10, "anna set aside")
        parts = {part.name: part for part in await daemon.health()}
        assert parts["pbx:a"].state is PartState.DOWN
        assert parts["pbx:b"].state is PartState.UP
        assert parts["ami"].state is PartState.UP
        assert verdict(list(parts.values())) is Verdict.DEGRADED
        # Box B's callers of the queue both advisors serve are all served, by bruno.
        records = []
        for i in range(3):
            records.append(centre.call(centre.b, "b", queue="sales", caller_num=f"55520{i}"))
            await centre.b.wait_calls_done(30)
        assert [r.dial_status for r in records] == ["ANSWER"] * 3
        assert all(e.agent_id == "bruno" for e in centre.log.events if isinstance(e, AgentAnswered))
        assert centre.b.counters["trunk_calls_out"] == 0
        # Box A comes back: its AMI logs in again, anna's phone is read, A's callers are served.
        await centre.a.start()
        await daemon.amis["a"].wait_connected(15)
        await until(lambda: centre.phone("anna") is PhoneState.IDLE, 10, "anna's phone back")
        parts = {part.name: part for part in await daemon.health()}
        assert verdict(list(parts.values())) is Verdict.OK
        back = centre.call(centre.a, "a", queue="sales", caller_num="555299")
        await centre.a.wait_calls_done(30)
        assert back.dial_status == "ANSWER"
        assert daemon.amis["a"].reconnects == 1


async def test_waiting_callers_of_a_box_whose_ami_is_lost_go_to_its_fallback() -> None:
    """A box's AMI cut while its caller waits: the caller is handed to that box's own fallback
    queue, and box B's waiting caller stays in line."""
    async with two_boxes(bruno_queues=["support"]) as centre:
        daemon = centre.daemon
        await until(lambda: centre.activity("bruno") is Activity.AVAILABLE, 10, "bruno in")
        await daemon.dispatcher.submit(
            AgentPaused(at=daemon.dispatcher.now(), agent_id="bruno", reason="break")
        )
        on_a = centre.call(centre.a, "a", queue="support", patience=30)
        on_b = centre.call(centre.b, "b", queue="support", patience=30)
        await until(lambda: daemon.calls.active_calls == 2, 10, "both callers waiting")
        with structlog.testing.capture_logs() as entries:
            centre.a.drop_ami()
            await until(lambda: on_a.path == "fallback", 10, "A's caller in its fallback")
            await until(lambda: daemon.calls.calls_on("a") == 0, 10, "A's session closed")
        assert any(e["event"] == "pbx_lost" and e["pbx"] == "a" for e in entries)
        assert daemon.calls.calls_on("b") == 1
        await until(lambda: daemon.amis["a"].connected, 15, "box A's AMI back")
        centre.b.caller_hangs_up(on_b)
        await centre.a.wait_calls_done(30)
        await centre.b.wait_calls_done(30)
    assert on_a.path == "fallback"
    assert on_b.path != "fallback"


async def test_a_callback_originates_the_advisors_phone_on_the_advisors_box() -> None:
    """A callback whose advisor is on box B is originated through box B's AMI: the advisor's
    phone rings there, and the customer is dialled from there."""
    async with two_boxes(bruno_queues=["support"]) as centre:
        await until(lambda: centre.activity("bruno") is Activity.AVAILABLE, 10, "bruno in")
        # Bruno stays on while briefed; the customer answers and ends the call.
        centre.b.phone("bruno").behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=None)
        centre.b.phone(CUSTOMER).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.3)
        originates: dict[str, list[str]] = {"a": [], "b": []}
        for name, sim in (("a", centre.a), ("b", centre.b)):
            sim.subscribe(
                lambda event, name=name: (
                    originates[name].append(dict(event.headers)["Channel"])
                    if event.name == "OriginateResponse"
                    else None
                )
            )
        daemon = centre.daemon
        daemon.dispatcher.post(
            CallbackRequested(
                at=daemon.dispatcher.now(), call_id="cb1", queue="support", number="+33612345678"
            )
        )

        def completed() -> CallCompleted | None:
            done = [
                c
                for c in centre.log.commands
                if isinstance(c, CallCompleted) and c.call_id == "cb1"
            ]
            return done[-1] if done else None

        await until(lambda: completed() is not None, 15, "callback done")
    summary = completed()
    assert summary is not None
    assert summary.outcome is Outcome.COMPLETED
    assert originates["a"] == []
    assert [channel.split("-")[0] for channel in originates["b"]] == ["PJSIP/bruno"]


async def test_new_callers_of_a_box_whose_ami_is_away_take_its_fallback_at_once() -> None:
    """While box A's AMI link is silent its new callers go to A's own fallback without waiting
    in acd; once the link is back they are served by acd again."""
    async with two_boxes(bruno_queues=["support"]) as centre:
        daemon = centre.daemon
        await until(lambda: centre.activity("bruno") is Activity.AVAILABLE, 10, "bruno in")
        centre.a.stall_ami()
        await until(lambda: not daemon.amis["a"].connected, 20, "box A's AMI seen silent")
        away = centre.call(centre.a, "a", queue="support", patience=20)
        await until(lambda: away.path == "fallback", 10, "A's caller in A's fallback")
        assert not away.reached_daemon
        centre.a.resume_ami()
        await until(lambda: daemon.amis["a"].connected, 20, "box A's AMI back")
        await until(lambda: "a" not in daemon.calls.boxes_away, 10, "box A resynced")
        back = centre.call(centre.a, "a", queue="support", patience=20)
        await until(lambda: back.dial_status == "ANSWER", 20, "A's caller served by bruno")
        await centre.a.wait_calls_done(30)
    assert daemon.calls.offered == {"a": 1}


async def test_a_box_down_at_start_has_its_advisors_set_aside_until_it_comes() -> None:
    """The daemon starts while box B is down: B's advisor is not offered callers (box A's caller
    is served by A's advisor); once B is up its phone is read and the advisor is back."""
    async with PbxSim(box("a", ("anna",))) as a, PbxSim(box("b", ("bruno",))) as b:
        a.link(b, here="pbx-b", there="pbx-a")
        await b.stop()
        daemon = Daemon(settings(a, b, ["support", "sales"]), auto_login=True)
        task = asyncio.create_task(daemon.run())
        try:
            await asyncio.wait_for(daemon.started.wait(), 15)
            await daemon.dispatcher.drain()
            assert daemon.engine.agent_view("bruno").phone is PhoneState.UNREACHABLE
            assert "b" in daemon.calls.boxes_away
            a.phone("anna").behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.3)
            record = a.place_call(
                agi_url=f"agi://127.0.0.1:{daemon.fastagi_port}/inbound", queue="sales"
            )
            await a.wait_calls_done(20)
            assert record.dial_status == "ANSWER"
            assert a.counters["trunk_calls_out"] == 0
            await b.start()
            await daemon.amis["b"].wait_connected(15)
            await until(
                lambda: daemon.engine.agent_view("bruno").phone is PhoneState.IDLE, 10, "bruno"
            )
        finally:
            daemon.stop()
            await asyncio.wait_for(task, 15)
