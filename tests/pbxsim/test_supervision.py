"""Conformance of ChanSpy (S15: listen, whisper, barge) and MixMonitor (S16: by AMI action and
from the dialplan), and the behaviours no recording shows (ChanSpy's DTMF modes, mute)."""

from __future__ import annotations

import re
import struct
from dataclasses import replace
from pathlib import Path

import pytest

from acd.pbxsim import PbxConfig
from tests.pbxsim.lab import LAB_401, SCALE, SUPERVISOR, TRACES, Replay, replay, talking_phones
from tests.pbxsim.recording import (
    CALL_CONTROL,
    Headers,
    compare_streams,
    get,
    load,
    normalise,
    recorded_events,
)
from tests.pbxsim.test_agi_flows import (
    DIAL_STATE_RACE,
    recorded_dialogues,
    time_free,
)


def assert_agi_matches(scenario: str, result: Replay, spool: str = "") -> None:
    """The AGI dialogue as recorded, the monitor spool directory read as Asterisk's."""
    want = [time_free(d) for d in recorded_dialogues(scenario)]
    got = [
        time_free(
            [(k, t.replace(spool, "/var/spool/asterisk/monitor") if spool else t) for k, t in d]
        )
        for d in result.agi
    ]
    assert got == want


S15 = "S15-chanspy"
S16 = "S16-mixmonitor"
SPY_EVENTS = ("ChanSpyStart", "ChanSpyStop")
RECORDING_EVENTS = frozenset({"MixMonitorStart", "MixMonitorStop"})


def talking_callers(config: PbxConfig) -> PbxConfig:
    """S15/S16's callers send audio: their answer takes ms, not SIPp's silent 0.5 s."""
    return replace(config, timings=replace(config.timings, callers_send_audio=True))


def with_supervisor(config: PbxConfig) -> PbxConfig:
    return talking_callers(replace(config, phones=(*config.phones, SUPERVISOR)))


def spy_events(events: list[Headers]) -> list[tuple[str, str, str]]:
    return [
        (get(m, "Event") or "", get(m, "SpyerChannel") or "", get(m, "SpyeeChannel") or "")
        for m in events
        if get(m, "Event") in SPY_EVENTS
    ]


# With talking phones the callee's Newstate Ringing can also precede DialBegin (S15 a).
RACES = DIAL_STATE_RACE | {("DialBegin", "DestChannelState"), ("DialBegin", "DestChannelStateDesc")}


def assert_ami_matches(scenario: str, simulated: list[Headers], wanted: frozenset[str]) -> None:
    recorded = recorded_events(load(f"{scenario}/ami.jsonl"))
    problems = compare_streams(
        normalise(recorded, wanted, races=RACES),
        normalise(simulated, wanted, races=RACES),
    )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("variant", ["a", "b", "c"])
async def test_s15_supervisor_spies_on_a_bridged_advisor(variant: str) -> None:
    """S15 a/b/c: ChanSpy by Originate; ChanSpyStart/Stop around the spy, no bridge for the
    supervisor, Hangup Cause 0 however it ends (BYE, agent's hang-up with E, AMI Hangup);
    the caller's AGI session sees nothing."""
    scenario = f"{S15}/{variant}"
    behaviours = talking_phones((TRACES / scenario / "timeline.txt").read_text())
    result = await replay(scenario, LAB_401, behaviours=behaviours, configure=with_supervisor)
    simulated = [m for m in result.ami if m and m[0][0] == "Event"]
    assert spy_events(simulated) == spy_events(recorded_events(load(f"{scenario}/ami.jsonl")))
    # The answer reaches the originating thread and the channel in either order (S15 c, as in
    # S13 e): responses are compared below, not their place in the supervisor's stream.
    assert_ami_matches(scenario, simulated, CALL_CONTROL - {"OriginateResponse"})
    responses = [get(m, "Response") for m in simulated if get(m, "Event") == "OriginateResponse"]
    assert responses == ["Success"]
    assert_agi_matches(scenario, result)


def recording_events(events: list[Headers]) -> list[tuple[str, str]]:
    return [
        (get(m, "Event") or "", get(m, "Channel") or "")
        for m in events
        if get(m, "Event") in RECORDING_EVENTS
    ]


def wav_data_length(path: Path) -> tuple[int, int]:
    """(file size, the data length the header declares)."""
    raw = path.read_bytes()
    assert raw[:4] == b"RIFF"
    assert raw[8:12] == b"WAVE"
    channels, rate = struct.unpack("<HI", raw[22:28])
    assert (channels, rate) == (1, 8000)
    return len(raw), struct.unpack("<I", raw[40:44])[0]


def masked_responses(messages: list[Headers]) -> dict[str, list[tuple[str, str]]]:
    """Responses by ActionID, spool paths reduced to the file name, ids and clocks masked."""
    found: dict[str, list[tuple[str, str]]] = {}
    for message in messages:
        action_id = get(message, "ActionID")
        if not message or message[0][0] != "Response" or action_id is None:
            continue
        found[action_id] = [
            (k, "<id>" if k == "MixMonitorID" or v.startswith("0x") else Path(v).name)
            for k, v in message
        ]
    return found


async def test_s16a_mixmonitor_by_ami(tmp_path: Path) -> None:
    """S16 a: MixMonitor/StopMixMonitor answered as recorded (errors too), Start/Stop events,
    no Stop for the recording that ends with the call, WAV files of the call time."""
    scenario = f"{S16}/a"
    behaviours = talking_phones((TRACES / scenario / "timeline.txt").read_text())
    result = await replay(
        scenario,
        LAB_401,
        behaviours=behaviours,
        configure=lambda config: talking_callers(replace(config, monitor_dir=str(tmp_path))),
    )
    records = load(f"{scenario}/ami.jsonl")
    recorded = [r.headers for r in records if r.conn == "ami1" and r.kind == "response"]
    got = masked_responses(result.ami)
    for action_id, response in masked_responses(recorded).items():
        if action_id in ("ami1-001", "ami1-011"):
            continue  # Login and Logoff: the replay logs in and out with its own ids
        assert got.get(action_id) == response, action_id
    simulated = [m for m in result.ami if m and m[0][0] == "Event"]
    # The driver's actions replay on the wall clock, the call on the AGI's: under load they can
    # shift against each other, so the recording events are compared as their own sequence.
    assert_ami_matches(scenario, simulated, CALL_CONTROL)
    assert recording_events(simulated) == recording_events(recorded_events(records))
    assert_agi_matches(scenario, result, spool=str(tmp_path))
    first = wav_data_length(tmp_path / "acd-1796457850.0.wav")
    second = wav_data_length(tmp_path / "acd-1796457850.0-2.wav")
    # 16000 bytes per second of (simulated) call time: about 3.0 s and 6.6 s, as recorded.
    assert first[0] == first[1] + 44
    assert second[0] == second[1] + 44
    assert 2.7 < first[1] / 16000 < 3.6
    # The second one runs from a wall-clock action to the end of an AGI-paced call: how the
    # two line up under load moves its length by up to a second either way.
    assert 5.0 < second[1] / 16000 < 7.6


async def test_s16b_mixmonitor_in_the_dialplan(tmp_path: Path) -> None:
    """S16 b: MixMonitor() before AGI: MixMonitorStart before the first command, the file named
    in MIXMONITOR_FILENAME, no MixMonitorStop, the file complete after the Hangup."""
    scenario = f"{S16}/b"
    behaviours = talking_phones((TRACES / scenario / "timeline.txt").read_text())
    lab_402 = replace(LAB_401, before_agi=("MixMonitor(lab-${UNIQUEID}.wav)",))
    result = await replay(
        scenario,
        lab_402,
        behaviours=behaviours,
        configure=lambda config: talking_callers(replace(config, monitor_dir=str(tmp_path))),
    )
    simulated = [m for m in result.ami if m and m[0][0] == "Event"]
    assert_ami_matches(scenario, simulated, CALL_CONTROL | RECORDING_EVENTS)
    (env, _command, reply, *_rest) = result.agi[0]
    assert "agi_priority: 3" in env[1]  # NoOp 1, MixMonitor 2, AGI 3
    uniqueid = re.search(r"agi_uniqueid: (\S+)", env[1])
    assert uniqueid is not None
    path = tmp_path / f"lab-{uniqueid.group(1)}.wav"
    assert reply == ("response", f"200 result=1 ({path})\n")
    size, data = wav_data_length(path)
    assert size == data + 44
    # 16000 bytes per second of the (simulated) call, from MixMonitor() to the Hangup.
    call = result.sim.calls[0]
    assert call.ended_at is not None
    assert abs(data / 16000 - (call.ended_at - call.started_at) / SCALE) < 0.5
