"""Conformance of DTMF with the S14 recordings: AMI DTMFBegin/DTMFEnd for SIP INFO and RFC 2833,
keys during STREAM FILE, WAIT FOR DIGIT and GET DATA as the AGI replies show, and a key pressed
while no command runs seen on AMI only."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from acd.pbxsim import PbxSim
from tests.pbxsim.lab import LAB_401, replay
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


def key_presses(scenario: str, mode: str) -> list[tuple[float, Callable[[PbxSim], None]]]:
    """The recorded keys as replay steps: RFC 2833 pressed at DTMFBegin (ending as long after as
    recorded), SIP INFO at DTMFEnd."""
    events = [
        (r.t, r.headers)
        for r in load(f"{scenario}/ami.jsonl")
        if r.conn == "ami1" and r.kind == "event"
    ]
    wanted = "DTMFBegin" if mode == "rfc2833" else "DTMFEnd"
    steps: list[tuple[float, Callable[[PbxSim], None]]] = []
    for t, headers in events:
        if get(headers, "Event") != wanted:
            continue
        digit = get(headers, "Digit") or ""

        def press(sim: PbxSim, digit: str = digit) -> None:
            (caller,) = [c for c in sim.live_channels() if c.startswith("PJSIP/callers")]
            assert sim.press_key(caller, digit, mode=mode)

        steps.append((t, press))
    return steps


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
