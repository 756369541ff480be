"""S6 r1/r2: a client drops mid-call, a new one logs in: no replay, live call listed, Shutdown."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from acd.pbxsim import PbxSim
from tests.pbxsim.lab import LAB_200, SCALE, lab_config
from tests.pbxsim.recording import (
    CALL_CONTROL,
    Headers,
    compare_streams,
    get,
    load,
    normalise,
)
from tests.pbxsim.wire import RawAmi

S6 = "S6-ami-protocol-edge-cases"
KEPT = CALL_CONTROL | {
    "FullyBooted",
    "SuccessfulAuth",
    "CoreShowChannel",
    "CoreShowChannelsComplete",
    "Shutdown",
}


def shape(messages: list[Headers]) -> list[str]:
    """What a client saw, by name: responses and the events this scenario is about."""
    names = []
    for message in messages:
        if message[0][0] == "Response":
            names.append(f"Response {message[0][1]}")
        elif get(message, "Event") in KEPT:
            names.append(str(get(message, "Event")))
    return names


def recorded(conn: str) -> list[Headers]:
    return [
        r.headers
        for r in load(f"{S6}/ami.jsonl")
        if r.conn == conn and r.direction == "rx" and r.kind != "banner"
    ]


def events(messages: list[Headers]) -> list[Headers]:
    return [m for m in messages if m[0][0] == "Event" and get(m, "ActionID") is None]


async def test_s6_reconnect_gets_no_replay_then_shutdown() -> None:
    """As recorded: r1 sees the call start, r2 sees only its own login, the list and the end."""
    dialplan = replace(LAB_200, extensions={"300": "MusicOnHold(default,60)"})
    sim = PbxSim(lab_config(dialplan))
    await sim.start()
    first = await RawAmi.connect(sim.ami_port)
    await first.login()
    sim.place_call(
        number="300", queue=None, caller_num="5551006", hangs_up_after_answer=9.0 * SCALE
    )
    await asyncio.sleep((12.688 - 9.688) * SCALE)  # fixed-sleep: the recorded timeline
    first.abort()
    await asyncio.sleep((14.689 - 12.688) * SCALE)  # fixed-sleep: the recorded timeline
    second = await RawAmi.connect(sim.ami_port)
    await second.login()
    await second.action("CoreShowChannels", ("ActionID", "r2-002"))
    await sim.wait_calls_done(10)
    await asyncio.sleep((23.225 - 19.698) * SCALE)  # fixed-sleep: the recorded timeline
    await sim.stop()
    await second.wait_eof()
    await second.close()

    assert shape(second.messages()) == shape(recorded("r2"))
    want = normalise(events(recorded("r1") + recorded("r2")), CALL_CONTROL)
    got = normalise(events(first.messages() + second.messages()), CALL_CONTROL)
    problems = compare_streams(want, got)
    assert not problems, "\n".join(problems)
