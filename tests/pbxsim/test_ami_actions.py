"""AMI call control and list actions against S5: the same actions give the same responses and,
per channel, the same call-control events."""

from __future__ import annotations

import asyncio

from acd.pbxsim import PbxSim
from acd.pbxsim.phones import PhoneBehaviour
from tests.pbxsim.lab import LAB_200, SCALE, lab_config
from tests.pbxsim.recording import (
    CALL_CONTROL,
    Headers,
    Record,
    compare_streams,
    get,
    load,
    normalise,
    parse_messages,
    recorded_events,
)
from tests.pbxsim.test_ami_protocol import masked
from tests.pbxsim.wire import RawAmi

S5 = "S5-ami-actions"
# Local channels (chan_local) are not modelled; these two actions use one (docs/pbxsim.md).
LOCAL_ACTIONS = frozenset({"orig-local-007", "ami1-041"})
# Lists whose items include the Local channels: only their response line is compared.
LIST_ACTIONS = frozenset(
    {
        "ami1-008",
        "ami1-009",
        "ami1-021",
        "ami1-022",
        "ami1-026",
        "ami1-027",
        "ami1-032",
        "ami1-033",
        "ami1-035",
        "ami1-036",
        "ami1-038",
        "ami1-039",
    }
)


LOCAL_NAMES = ("Local/", "PJSIP/agent2")


def without_local(events: list[Headers]) -> list[Headers]:
    """Drop the recorded events of the Local channel originate (its legs, bridge and devices)."""
    local_bridges = {
        get(m, "BridgeUniqueid")
        for m in events
        if get(m, "Event") == "BridgeEnter" and (get(m, "Channel") or "").startswith(LOCAL_NAMES)
    }
    kept = []
    for message in events:
        names = [get(message, h) or "" for h in ("Channel", "DestChannel", "Device")]
        if any(n.startswith(LOCAL_NAMES) for n in names):
            continue
        if get(message, "BridgeUniqueid") in local_bridges:
            continue
        kept.append(message)
    return kept


async def run_s5() -> tuple[list[Headers], list[Headers]]:
    records = load(f"{S5}/ami.jsonl")
    sim = PbxSim(lab_config(LAB_200))
    for name in ("agent1", "agent2", "agent3"):
        sim.phone(name).behaviour = PhoneBehaviour(answer_delay=0.5 * SCALE)
    sim.phone("agent4").behaviour = PhoneBehaviour(mode="busy")
    async with sim:
        client = await RawAmi.connect(sim.ami_port)
        loop = asyncio.get_running_loop()
        started = loop.time()
        first = None
        for record in records:
            if record.direction != "tx" or record.conn != "ami1":
                continue
            action_id = get(record.headers, "ActionID") or ""
            if action_id in LOCAL_ACTIONS:
                continue
            first = record.t if first is None else first
            delay = started + (record.t - first) * SCALE - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)  # fixed-sleep: the recorded timeline, scaled
            await client.send(record.raw)
            if action_id == "ami1-001":
                await client.wait_for("ami1-001")
        await client.wait_eof()
        await client.close()
    return recorded_events(records) + _responses(records), parse_messages(bytes(client.received))


def _responses(records: list[Record]) -> list[Headers]:
    return [r.headers for r in records if r.conn == "ami1" and r.kind == "response"]


def shape(message: Headers) -> list[str]:
    """Header names and the Response/EventList/Message values; Output lines and clocks vary."""
    return [
        f"{k}: {v}" if k in ("Response", "EventList", "Message") else k
        for k, v in message
        if k != "Output"
    ]


def responses_by_action(messages: list[Headers]) -> dict[str, Headers]:
    found: dict[str, Headers] = {}
    for message in messages:
        if message and message[0][0] == "Response":
            action_id = get(message, "ActionID")
            if action_id is not None and action_id not in found:
                found[action_id] = message
    return found


# A Redirect moves a channel but pbxsim runs no dialplan there (docs/pbxsim.md): agent1,
# redirected to lab-orig,moved, is at priority 1 where Asterisk had run on to Wait() at 3, so
# the priorities it shows once bridged (after-goto 4) are not compared.
REDIRECTED = frozenset(
    (event, "Priority") for event in ("BridgeEnter", "BridgeLeave", "SoftHangupRequest", "Hangup")
)


async def test_s5_actions_answered_as_recorded() -> None:
    """Each S5 action gets the recorded response; call-control events match per channel."""
    recorded, simulated = await run_s5()
    want = responses_by_action(recorded)
    got = responses_by_action(simulated)
    for action_id, response in want.items():
        if action_id in LOCAL_ACTIONS:
            continue
        assert action_id in got, f"no response to {action_id}"
        if action_id in LIST_ACTIONS:
            assert shape(got[action_id]) == shape(response), action_id
        else:
            assert masked(got[action_id]) == masked(response), action_id
    events = [m for m in simulated if m and m[0][0] == "Event"]
    recorded_streams = normalise(
        without_local([m for m in recorded if m[0][0] == "Event"]), CALL_CONTROL, races=REDIRECTED
    )
    problems = compare_streams(recorded_streams, normalise(events, CALL_CONTROL, races=REDIRECTED))
    assert not problems, "\n".join(problems)
