"""The lab PBX of the recordings, rebuilt as a pbxsim configuration, and a scenario driver.

Times are compressed by ``SCALE``: every recorded delay (phones, prompts, AGI pauses, caller holds)
is multiplied by it, so a 20 s recording replays in about 2 s.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from acd.pbxsim import PbxSim
from acd.pbxsim.config import (
    DialplanConfig,
    PbxConfig,
    PhoneConfig,
    QueueConfig,
    Timings,
)
from acd.pbxsim.phones import PhoneBehaviour
from tests.pbxsim.recording import TRACES, Headers, Record, load, parse_messages
from tests.pbxsim.wire import TIMEOUT, AgiScript, RawAmi, ScriptedAgiServer

SCALE = 0.1

LAB_PHONES = (
    PhoneConfig("agent1", "6001", "Agent One", context="lab-agents"),
    PhoneConfig("agent2", "6002", "Agent Two", context="lab-agents"),
    PhoneConfig("agent3", "6003", "Agent Three", context="lab-agents"),
    PhoneConfig("agent4", "6004", "Agent Four", context="lab-agents"),
    PhoneConfig("agent5", "6005", "Agent Five", registered=False, context="lab-agents"),
    PhoneConfig("reg1", "6101", "Reg One", registered=False, context="lab-agents"),
    PhoneConfig("reg2", "6102", "Reg Two", registered=False, context="lab-agents"),
    PhoneConfig("reg3", "6103", "Reg Three", registered=False, context="lab-agents"),
)

LAB_QUEUES = (
    QueueConfig(
        name="support",
        members=("agent1", "agent2", "agent3"),
        member_ring_timeout=5.0 * SCALE,
        retry=1.0 * SCALE,
        recheck=1.0 * SCALE,
    ),
    QueueConfig(
        name="support_noap",
        members=("agent1", "agent2", "agent3"),
        member_ring_timeout=5.0 * SCALE,
        retry=1.0 * SCALE,
        recheck=1.0 * SCALE,
        autopause=False,
    ),
)

# lab-inbound,401: AGI, then Playback(queue-thankyou), Hangup() whatever happened.
LAB_401 = DialplanConfig(
    context="lab-inbound",
    state_variable="ACD_RESULT",
    fallback_prompt="queue-thankyou",
    fallback_queue=None,
    # NoOp 1, AGI 2, Verbose 3, Playback 4, Hangup 5 (lab-config/extensions.conf).
    priorities={"fallback_prompt": 4, "handled": 5, "hangup": 5},
)
# lab-inbound,400: AGI, GotoIf(ACD_RESULT = done → Hangup), else Playback + Queue(support,,,,20).
LAB_400 = DialplanConfig(
    context="lab-inbound",
    state_variable="ACD_RESULT",
    fallback_prompt="queue-thankyou",
    fallback_queue="support",
    fallback_timeout=20.0,
    # AGI 2, Verbose 3, Set 4, GotoIf 5, NoOp 6, Playback 7, Queue 8, NoOp 9, Hangup 10,
    # handled: NoOp 11, Hangup 12.
    priorities={"fallback_prompt": 7, "fallback_queue": 8, "hangup": 10, "handled": 12},
)
# lab-inbound,200: AGI(agi://…/route), Hangup().
LAB_200 = DialplanConfig(
    context="lab-inbound",
    state_variable="ACD_RESULT",
    fallback_prompt=None,
    fallback_queue=None,
    # NoOp 1, AGI 2, NoOp 3, Hangup 4.
    priorities={"handled": 4, "hangup": 4},
)
# lab-inbound,100: Answer(), Queue(support,,,,120), Hangup().
LAB_100 = DialplanConfig(
    context="lab-inbound",
    state_variable="ACD_RESULT",
    fallback_queue="support",
    fallback_timeout=120.0,
    answer_before_agi=True,
    run_agi=False,
    # NoOp 1, Answer 2, Queue 3, NoOp 4, Hangup 5.
    priorities={"answer": 2, "fallback_queue": 3, "hangup": 5},
)


# The lab's other extensions (lab-config/extensions.conf): Originate targets (S13) and the
# Local channel's dialing extension.
LAB_ROUTINES: dict[str, tuple[str, ...]] = {
    "lab-outbound,connect": ("NoOp()", "Dial(PJSIP/agent2,10)", "NoOp()", "Hangup()"),
    "lab-outbound-failed,connect": ("Goto(lab-outbound,connect,1)",),
    "lab-outbound-failed,failed": ("NoOp()", "Hangup()"),
    "lab-dial,agent3": ("NoOp()", "Dial(PJSIP/${EXTEN},20)", "Hangup()"),
}
# The recorded FastAGI server's address, replaced by the scripted server's in replayed actions.
RECORDED_AGI = "agi://127.0.0.1:4573"


def lab_config(dialplan: DialplanConfig, agi_url: str = "agi://127.0.0.1:9/none") -> PbxConfig:
    return PbxConfig(
        agi_url=agi_url,
        phones=LAB_PHONES,
        queues=LAB_QUEUES,
        dialplan=replace(dialplan, routines=LAB_ROUTINES | dialplan.routines),
        # The lab's SIPp callers send no RTP: every answer waits 0.5 s for a first frame
        # (S15/S16's callers send audio and replay with callers_send_audio=True).
        timings=Timings(
            answer=0.5 * SCALE,
            answer_with_audio=0.003,
            callers_send_audio=False,
            login_failure_delay=0.05,
            time_scale=SCALE,
        ),
    )


def phone_behaviours(timeline: str) -> dict[str, PhoneBehaviour]:
    """``agent agent1 (answer ring=2000 talk=3000)`` lines of timeline.txt, scaled."""
    behaviours = {}
    for match in re.finditer(
        r"agent (agent\d) \((answer|noanswer|busy) ring=(\d+) talk=(\d+)\)", timeline
    ):
        name, mode, ring, talk = match.groups()
        if mode == "answer":
            behaviours[name] = PhoneBehaviour(
                mode="answer",
                answer_delay=int(ring) / 1000 * SCALE,
                talk_time=int(talk) / 1000 * SCALE,
            )
        elif mode == "busy":
            behaviours[name] = PhoneBehaviour(mode="busy")
        else:
            behaviours[name] = PhoneBehaviour(mode="no_answer")
    return behaviours


def talking_phones(timeline: str) -> dict[str, PhoneBehaviour]:
    """``phone agent1 (answer ring=1000, then sends … hangs up after 9000 ms)`` lines of the
    S15/S16 timelines (phones that play a tone), scaled."""
    return {
        name: PhoneBehaviour(
            answer_delay=int(ring) / 1000 * SCALE, talk_time=int(talk) / 1000 * SCALE
        )
        for name, ring, talk in re.findall(
            r"phone (\w+) \(answer ring=(\d+),.*?hangs up after (\d+) ms\)", timeline
        )
    }


# The supervisor's phone of S15 (lab-config/pjsip.conf).
SUPERVISOR = PhoneConfig("supervisor1", "6901", "Supervisor One", context="lab-agents")


@dataclass(frozen=True)
class RecordedCall:
    """An inbound call of a recording: when it arrived, who called, when the caller hung up."""

    at: float
    number: str
    caller_num: str
    hold: float | None


def recorded_calls(scenario: str, records: list[Record]) -> list[RecordedCall]:
    timeline = (TRACES / scenario / "timeline.txt").read_text()
    holds = [int(h) / 1000 for h in re.findall(r"hold=(\d+)ms", timeline)]
    calls: list[RecordedCall] = []
    for record in records:
        if record.kind != "event" or record.conn != "ami1":
            continue
        headers = dict(record.headers)
        if headers.get("Event") == "Newchannel" and headers["Channel"].startswith("PJSIP/callers"):
            hold = holds[len(calls)] if len(calls) < len(holds) else None
            calls.append(RecordedCall(record.t, headers["Exten"], headers["CallerIDNum"], hold))
    return calls


@dataclass
class Replay:
    """What a replay captured: the AMI byte stream and each FastAGI dialogue."""

    ami: list[Headers]
    agi: list[list[tuple[str, str]]]
    sim: PbxSim
    counters: dict[str, int] = field(default_factory=dict)


async def replay(
    scenario: str,
    dialplan: DialplanConfig | Callable[[str], DialplanConfig],
    *,
    behaviours: dict[str, PhoneBehaviour] | None = None,
    agi_sessions: int | None = None,
    refused_calls: tuple[int, ...] = (),
    hung_calls: dict[int, float] | None = None,
    side_steps: list[tuple[float, Callable[[PbxSim], None]]] | None = None,
    timings: Timings | None = None,
    trunk: str | None = None,
    configure: Callable[[PbxConfig], PbxConfig] | None = None,
) -> Replay:
    """Replay a recorded FastAGI scenario against pbxsim and capture AMI and AGI traffic."""
    ami_records = load(f"{scenario}/ami.jsonl")
    agi_path = TRACES / scenario / "agi.jsonl"
    agi_records = load(f"{scenario}/agi.jsonl") if agi_path.exists() else []
    conns = sorted({r.conn for r in agi_records if r.conn.startswith("agi")})
    if agi_sessions is not None:
        conns = conns[:agi_sessions]
    scripts = [AgiScript.from_recording(agi_records, conn, SCALE) for conn in conns]
    agi_server = ScriptedAgiServer(scripts)
    agi_port = await agi_server.start()
    refused = await _closed_port()
    agi_base = f"agi://127.0.0.1:{agi_port}"
    if callable(dialplan):
        dialplan = dialplan(agi_base)
    config = lab_config(dialplan, f"{agi_base}/inbound")
    if timings is not None:
        config = replace(config, timings=timings)
    if trunk is not None:
        config = replace(config, trunk=trunk)
    if configure is not None:
        config = configure(config)
    sim = PbxSim(config)
    timeline = (TRACES / scenario / "timeline.txt").read_text()
    for name, behaviour in (behaviours or phone_behaviours(timeline)).items():
        sim.phone(name).behaviour = behaviour
    calls = recorded_calls(scenario, ami_records)
    # The driver's own AMI actions (QueuePause in S2, ...) are replayed at their recorded times.
    actions = [
        (r.t, r.raw.replace(RECORDED_AGI, agi_base))
        for r in ami_records
        if r.conn == "ami1"
        and r.direction == "tx"
        and dict(r.headers).get("Action") not in ("Login", "Logoff")
    ]
    steps: list[tuple[float, int, str]] = [(c.at, i, "") for i, c in enumerate(calls)]
    steps += [(t, -1, raw) for t, raw in actions]
    steps += [(t, -2 - i, "") for i, (t, _) in enumerate(side_steps or [])]
    steps.sort(key=lambda step: step[0])
    async with sim:
        client = await RawAmi.connect(sim.ami_port)
        await client.login()
        loop = asyncio.get_running_loop()
        started = loop.time()
        first = steps[0][0]
        session = 0
        listeners: list[socket.socket] = []
        for at, index, raw in steps:
            delay = started + (at - first) * SCALE - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)  # fixed-sleep: the recorded timeline, scaled
            if index <= -2:
                (side_steps or [])[-2 - index][1](sim)
                continue
            if index < 0:
                await client.send(raw)
                continue
            call = calls[index]
            if index in refused_calls:
                url = f"agi://127.0.0.1:{refused}/inbound?queue=support"
            elif hung_calls and index in hung_calls:
                listener = socket.create_server(("127.0.0.1", 0), backlog=8)
                listeners.append(listener)
                url = f"agi://127.0.0.1:{listener.getsockname()[1]}/inbound?queue=support"
                # A hung daemon: the kernel completes the handshake, nobody ever accepts.
                loop.call_later(hung_calls[index] * SCALE, listener.close)
            else:
                url = f"agi://127.0.0.1:{agi_port}/{_script_name(agi_records, conns, session)}"
                session += 1
            sim.place_call(
                number=call.number,
                queue=None,
                caller_num=call.caller_num,
                hangs_up_after_answer=None if call.hold is None else call.hold * SCALE,
                agi_url=url,
            )
        await sim.wait_calls_done(TIMEOUT * 3)
        for listener in listeners:
            listener.close()
        await asyncio.sleep(0.05)  # fixed-sleep: the recorded pause before the Logoff
        await client.action("Logoff", ("ActionID", "bye"))
        await client.wait_eof()
        await client.close()
        await agi_server.stop()
        counters = sim.counters
    return Replay(parse_messages(bytes(client.received)), agi_server.sessions, sim, counters)


def _script_name(agi_records: list[Record], conns: list[str], index: int) -> str:
    if index >= len(conns):
        return "inbound?queue=support"
    for record in agi_records:
        if record.conn == conns[index] and record.kind == "env":
            match = re.search(r"agi_network_script: (.*)\n", record.raw)
            if match:
                return match.group(1)
    return "inbound?queue=support"


async def _closed_port() -> int:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = int(server.sockets[0].getsockname()[1])
    server.close()
    await server.wait_closed()
    return port
