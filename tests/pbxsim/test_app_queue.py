"""app_queue rules no recording shows, taken from app_queue.c of Asterisk 22.10.1 (issue 18):
autofill and the 1 s recheck, the auto-pause order on a ring timeout, InCall, shared CallsTaken,
QueueStatus figures and the ``agent`` event class."""

from __future__ import annotations

import asyncio
import time

from acd.pbxsim import AmiUser, DialplanConfig, PbxConfig, PbxSim, PhoneConfig, QueueConfig
from acd.pbxsim.config import Timings
from acd.pbxsim.pbx import AmiEvent
from acd.pbxsim.phones import PhoneBehaviour
from tests.deadlines import until
from tests.pbxsim.wire import RawAmi

PHONES = tuple(PhoneConfig(f"agent{i}", f"600{i}", f"Agent {i}") for i in (1, 2, 3))
# Answer(), Queue(): the lab's extension 100, no AGI.
QUEUE_ONLY = DialplanConfig(answer_before_agi=True, run_agi=False, fallback_timeout=None)


def lab_queue(scale: float, **overrides: object) -> QueueConfig:
    """The lab's ``support`` queue (timeout 5, retry 1, RECHECK 1), times scaled."""
    settings: dict[str, object] = {
        "member_ring_timeout": 5.0 * scale,
        "retry": 1.0 * scale,
        "recheck": 1.0 * scale,
    }
    settings.update(overrides)
    return QueueConfig("support", ("agent1", "agent2", "agent3"), **settings)  # type: ignore[arg-type]


def make_sim(scale: float, *queues: QueueConfig, **config: object) -> PbxSim:
    return PbxSim(
        PbxConfig(
            phones=PHONES,
            queues=queues or (lab_queue(scale),),
            dialplan=QUEUE_ONLY,
            timings=Timings(answer=0.0, time_scale=scale),
            **config,  # type: ignore[arg-type]
        )
    )


async def login_as(sim: PbxSim, username: str) -> RawAmi:
    client = await RawAmi.connect(sim.ami_port)
    await client.action("Login", ("ActionID", "in"), ("Username", username), ("Secret", "secret"))
    await client.wait_for("Authentication accepted")
    return client


class Events:
    """Every event the PBX publishes, with the monotonic time it was published."""

    def __init__(self, sim: PbxSim) -> None:
        self.seen: list[tuple[float, AmiEvent]] = []
        sim.subscribe(lambda event: self.seen.append((time.monotonic(), event)))

    def named(self, *names: str) -> list[dict[str, str]]:
        return [dict(e.headers) | {"Event": e.name} for _, e in self.seen if e.name in names]


async def test_burst_waits_follow_autofill_and_the_one_second_recheck() -> None:
    """10 callers at once on 3 members (answer 1 s, talk 2.5 s): waits 1,1,1,5,5,5,9,9,9,13."""
    scale = 0.2
    sim = make_sim(scale)
    events = Events(sim)
    for i in (1, 2, 3):
        sim.phone(f"agent{i}").behaviour = PhoneBehaviour(
            answer_delay=1.0 * scale, talk_time=2.5 * scale
        )
    async with sim:
        for n in range(10):
            sim.place_call(number="100", queue=None, caller_num=f"555100{n}")
        await sim.wait_calls_done(30)
    holds = [int(e["HoldTime"]) for e in events.named("AgentConnect")]
    # Three members ring three callers at once (autofill); a member freed at 3.5 s is seen by the
    # waiting callers at their next look (4 s), so each wave waits a whole number of rechecks.
    assert holds == [1, 1, 1, 5, 5, 5, 9, 9, 9, 13]


async def test_without_autofill_only_the_head_caller_rings() -> None:
    """autofill=no: with three free members, the second caller rings only once the first left."""
    scale = 0.2
    sim = make_sim(scale, lab_queue(scale, autofill=False))
    events = Events(sim)
    for i in (1, 2, 3):
        sim.phone(f"agent{i}").behaviour = PhoneBehaviour(
            answer_delay=1.0 * scale, talk_time=1.0 * scale
        )
    async with sim:
        for n in range(3):
            sim.place_call(number="100", queue=None, caller_num=f"555100{n}")
        await sim.wait_calls_done(30)
    order = [e["Event"] for e in events.named("AgentCalled", "AgentConnect")]
    # Strictly alternating: nobody else rings while the head caller's member rings.
    assert order == ["AgentCalled", "AgentConnect"] * 3


async def test_autofill_rings_as_many_callers_as_members_are_free() -> None:
    """autofill=yes: three callers and three free members, three members ring at once."""
    scale = 0.2
    sim = make_sim(scale)
    events = Events(sim)
    for i in (1, 2, 3):
        sim.phone(f"agent{i}").behaviour = PhoneBehaviour(answer_delay=2.0 * scale, talk_time=0.1)
    async with sim:
        for n in range(3):
            sim.place_call(number="100", queue=None, caller_num=f"555100{n}")
        await until(lambda: len(events.named("AgentCalled")) == 3, 10, "three AgentCalled")
        assert events.named("AgentConnect") == []
        called = events.named("AgentCalled")
        assert len({e["Interface"] for e in called}) == 3
        assert len({e["Channel"] for e in called}) == 3
        await sim.wait_calls_done(30)


async def test_a_ring_timeout_pauses_the_member_before_it_is_free_again() -> None:
    """Ring timeout: AgentRingNoAnswer, pause, DialEnd NOANSWER, DialEnd CANCEL, Hangup, status."""
    scale = 0.1
    sim = make_sim(scale)
    events = Events(sim)
    sim.phone("agent1").behaviour = PhoneBehaviour(mode="no_answer")
    sim.phone("agent2").behaviour = PhoneBehaviour(mode="no_answer")
    sim.phone("agent3").behaviour = PhoneBehaviour(mode="no_answer")
    async with sim:
        record = sim.place_call(number="100", queue=None, patience=6.5 * scale)
        await until(record.done.is_set, 10, "the caller gave up")
    first = events.named("AgentRingNoAnswer")[0]
    agent = first["DestChannel"]
    interface = first["Interface"]
    trail = []
    for _, event in events.seen:
        headers = dict(event.headers)
        about_agent = (
            headers.get("DestChannel") == agent
            or headers.get("Channel") == agent
            or (headers.get("Interface") == interface and headers.get("Queue") == "support")
        )
        if about_agent and event.name != "AgentCalled":
            trail.append((event.name, headers.get("DialStatus") or headers.get("Paused", "")))
    start = trail.index(("AgentRingNoAnswer", ""))
    assert trail[start : start + 6] == [
        ("AgentRingNoAnswer", ""),
        ("QueueMemberPause", "1"),
        ("DialEnd", "NOANSWER"),
        ("DialEnd", "CANCEL"),
        ("Hangup", ""),
        ("QueueMemberStatus", "1"),
    ]
    # Never shown free and unpaused between the ring and the pause.
    statuses = [h for h in events.named("QueueMemberStatus") if h["Interface"] == interface]
    assert all(h["Paused"] == "1" or h["Status"] != "1" for h in statuses[1:])


async def test_in_call_is_the_queue_s_own_and_calls_taken_is_shared() -> None:
    """InCall=1 only in the queue of the call; CallsTaken/LastCall count in every queue
    (shared_lastcall), or only in the call's queue without it."""
    scale = 0.1
    for shared in (True, False):
        sim = make_sim(
            scale,
            lab_queue(scale),
            QueueConfig("other", ("agent1", "agent2", "agent3")),
            shared_lastcall=shared,
        )
        events = Events(sim)
        for i in (1, 2, 3):
            sim.phone(f"agent{i}").behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.2)
        async with sim:
            sim.place_call(number="100", queue=None)
            await sim.wait_calls_done(10)
        interface = events.named("AgentConnect")[0]["Interface"]
        statuses = [
            (h["Queue"], h["Status"], h["InCall"], h["CallsTaken"])
            for h in events.named("QueueMemberStatus")
            if h["Interface"] == interface
        ]
        assert ("support", "2", "1", "0") in statuses
        assert ("other", "2", "0", "0") in statuses
        assert statuses[-2:] == [
            ("support", "1", "0", "1"),
            ("other", "1", "0", "1" if shared else "0"),
        ]


async def test_queue_status_reports_hold_and_talk_times() -> None:
    """QueueStatus/QueueSummary report the exponential hold and talk averages, not 0."""
    scale = 0.1
    sim = make_sim(scale)
    for i in (1, 2, 3):
        sim.phone(f"agent{i}").behaviour = PhoneBehaviour(
            answer_delay=2.0 * scale, talk_time=4.0 * scale
        )
    async with sim:
        sim.place_call(number="100", queue=None)
        await sim.wait_calls_done(10)
        client = await RawAmi.connect(sim.ami_port)
        await client.login(events="off")
        await client.action("QueueStatus", ("Queue", "support"), ("ActionID", "s"))
        await client.wait_for("QueueStatusComplete")
        await client.action("QueueSummary", ("Queue", "support"), ("ActionID", "m"))
        await client.wait_for("QueueSummaryComplete")
        await client.close()
    messages = client.messages()
    params = next(m for m in messages if ("Event", "QueueParams") in m)
    assert ("Holdtime", "2") in params
    assert ("TalkTime", "4") in params
    assert ("Completed", "1") in params
    line = next(m for m in messages if ("Event", "QueueSummary") in m)
    assert ("HoldTime", "2") in line
    assert ("TalkTime", "4") in line


async def test_queue_events_reach_only_users_reading_agent() -> None:
    """Queue caller/agent events are class ``agent``: a user reading only ``call`` gets none."""
    sim = PbxSim(
        PbxConfig(
            phones=PHONES,
            queues=(lab_queue(0.1),),
            dialplan=QUEUE_ONLY,
            timings=Timings(answer=0.0, time_scale=0.1),
            ami_users=(
                AmiUser("calls", "secret", read=("call",)),
                AmiUser("agents", "secret", read=("call", "agent")),
            ),
        )
    )
    for i in (1, 2, 3):
        sim.phone(f"agent{i}").behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.1)
    async with sim:
        calls = await login_as(sim, "calls")
        agents = await login_as(sim, "agents")
        sim.place_call(number="100", queue=None)
        await sim.wait_calls_done(10)
        await until(lambda: b"Event: AgentComplete" in agents.received, 5, "AgentComplete")
        await until(lambda: b"Event: Hangup" in calls.received, 5, "Hangup")
        await asyncio.wait_for(calls.close(), 5)
        await asyncio.wait_for(agents.close(), 5)
    queue_events = (b"QueueCallerJoin", b"AgentCalled", b"AgentConnect", b"QueueMemberStatus")
    assert not any(b"Event: " + name in calls.received for name in queue_events)
    assert all(b"Event: " + name in agents.received for name in queue_events)
    assert b"Privilege: agent,all" in agents.received


async def test_a_member_rung_again_changes_no_connected_line() -> None:
    """Re-ringing the same member: the caller's NewConnectedLine is published once, not per ring."""
    scale = 0.05
    sim = make_sim(
        scale,
        QueueConfig("support", ("agent1",), member_ring_timeout=0.1, retry=0.02, autopause=False),
    )
    events = Events(sim)
    sim.phone("agent1").behaviour = PhoneBehaviour(mode="no_answer")
    async with sim:
        record = sim.place_call(number="100", queue=None)
        await until(lambda: len(events.named("AgentCalled")) >= 3, 10, "three rings")
        sim.caller_hangs_up(record)
        await asyncio.wait_for(record.done.wait(), 5)
    caller_lines = [h for h in events.named("NewConnectedLine") if h["Channel"] == record.channel]
    assert len(caller_lines) == 1
    assert caller_lines[0]["ConnectedLineNum"] == "6001"
