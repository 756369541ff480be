"""Conformance of DTMF with the S14 recordings: AMI DTMFBegin/DTMFEnd for SIP INFO and RFC 2833,
keys during STREAM FILE, WAIT FOR DIGIT and GET DATA as the AGI replies show, and a key pressed
while no command runs seen on AMI only."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import pytest

from acd.pbxsim import PbxSim
from acd.pbxsim.pbx import AmiEvent
from tests.pbxsim.lab import LAB_401, SCALE, replay
from tests.pbxsim.recording import (
    CALL_CONTROL,
    compare_streams,
    get,
    load,
    normalise,
    recorded_events,
)
from tests.pbxsim.test_agi_flows import DIAL_STATE_RACE, recorded_dialogues, time_free

S14 = "S14-dtmf"
DTMF_EVENTS = frozenset({"DTMFBegin", "DTMFEnd"})
AGI_EVENTS = ("AGIExecStart", "AGIExecEnd")


def key_presses(scenario: str, mode: str) -> list[tuple[float, Callable[[PbxSim], None]]]:
    """The recorded keys, each pressed as long after the AGI event preceding it (its command's
    start, or the end of the last command) as recorded: anchored to the AGI, not to the wall
    clock, so a loaded machine cannot move a key into another command. RFC 2833 keys are
    pressed at DTMFBegin, SIP INFO keys at DTMFEnd."""
    wanted = "DTMFBegin" if mode == "rfc2833" else "DTMFEnd"
    anchors: list[tuple[int, float, str]] = []  # (AGI event ordinal, delay, digit)
    ordinal = -1
    last_agi_t = 0.0
    for record in load(f"{scenario}/ami.jsonl"):
        if record.conn != "ami1" or record.kind != "event":
            continue
        event = get(record.headers, "Event")
        if event in AGI_EVENTS:
            ordinal += 1
            last_agi_t = record.t
        elif event == wanted:
            anchors.append((ordinal, record.t - last_agi_t, get(record.headers, "Digit") or ""))

    def press(sim: PbxSim, channel: str, digit: str) -> None:
        sim.press_key(channel, digit, mode=mode)

    def subscribe(sim: PbxSim) -> None:
        seen = -1
        loop = asyncio.get_running_loop()

        def on_event(event: AmiEvent) -> None:
            nonlocal seen
            if event.name not in AGI_EVENTS:
                return
            seen += 1
            channel = dict(event.headers)["Channel"]
            for ordinal, delay, digit in anchors:
                if ordinal == seen:
                    loop.call_later(delay * SCALE, press, sim, channel, digit)

        sim.subscribe(on_event)

    return [(0.0, subscribe)]


def without_endpos(dialogue: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """How many samples a prompt played before the key depends on the compressed clock."""
    return [(kind, re.sub(r"endpos=\d+", "endpos=<n>", text)) for kind, text in dialogue]


@pytest.mark.parametrize(
    ("variant", "mode", "trunk"), [("a", "info", "callers-info"), ("b", "rfc2833", "callers")]
)
async def test_s14_keys_during_moh_stream_wait_and_get_data(
    variant: str, mode: str, trunk: str
) -> None:
    """S14 a/b: INFO gives DTMFEnd only, RFC 2833 both; AGI replies carry the keys' ASCII codes,
    a key while no command runs is lost (WAIT FOR DIGIT times out), 9 does not stop STREAM FILE."""
    scenario = f"{S14}/{variant}"
    result = await replay(scenario, LAB_401, side_steps=key_presses(scenario, mode), trunk=trunk)
    want = [without_endpos(time_free(d)) for d in recorded_dialogues(scenario)]
    got = [without_endpos(time_free(d)) for d in result.agi]
    assert got == want
    wanted = CALL_CONTROL | DTMF_EVENTS
    recorded = normalise(
        recorded_events(load(f"{scenario}/ami.jsonl")), wanted, races=DIAL_STATE_RACE
    )
    simulated = normalise(
        [m for m in result.ami if m and m[0][0] == "Event"], wanted, races=DIAL_STATE_RACE
    )
    problems = compare_streams(recorded, simulated)
    assert not problems, "\n".join(problems)
