"""Conformance of FastAGI flows with the S4 and S9 recordings (AMI per channel, AGI dialogue)."""

from __future__ import annotations

import re

import pytest

from acd.pbxsim.config import DialplanConfig
from acd.pbxsim.phones import PhoneBehaviour
from tests.pbxsim.lab import LAB_100, LAB_200, LAB_400, LAB_401, Replay, phone_behaviours, replay
from tests.pbxsim.recording import (
    CALL_CONTROL,
    QUEUE_EVENTS,
    TRACES,
    compare_streams,
    load,
    normalise,
    recorded_events,
)

AGI_ENV_VARIABLE = {"agi_uniqueid", "agi_threadid", "agi_channel", "agi_request"}


def normalise_agi(kind: str, text: str) -> str:
    """Rename what legitimately differs in an AGI line: channel suffixes, uniqueids, durations."""
    if kind == "env":
        lines = []
        for line in text.splitlines():
            key = line.partition(": ")[0]
            lines.append(f"{key}: <varies>" if key in AGI_ENV_VARIABLE else line)
        return "\n".join(lines)
    text = re.sub(r"-[0-9a-f]{8}\b", "-<suffix>", text)
    text = re.sub(r"\d{10}\.\d+", "<uniqueid>", text)
    return text


def recorded_dialogues(scenario: str) -> list[list[tuple[str, str]]]:
    records = load(f"{scenario}/agi.jsonl")
    conns = sorted({r.conn for r in records if r.conn.startswith("agi")})
    dialogues = []
    for conn in conns:
        # The recorder, like our scripted server, reads a HANGUP notice only while waiting for the
        # next reply, so both log it after the next command: the orders compare as they are.
        dialogues.append(
            [(r.kind, r.raw) for r in records if r.conn == conn and r.direction in ("rx", "tx")]
        )
    return dialogues


def time_free(dialogue: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Durations read back by GET VARIABLE *TIME* depend on the compressed clock: mask them."""
    out = []
    previous = ""
    for kind, raw in dialogue:
        text = raw
        if kind == "response" and re.search(r"TIME(_MS)?\n$", previous):
            text = re.sub(r"\(\d+\)", "(<n>)", text)
        out.append((kind, normalise_agi(kind, text)))
        if kind == "command":
            previous = text
    return out


def assert_agi_matches(scenario: str, result: Replay) -> None:
    want = [time_free(d) for d in recorded_dialogues(scenario)]
    got = [time_free(_wire_order(d)) for d in result.agi]
    assert got == want


def _wire_order(dialogue: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(kind, text) for kind, text in dialogue]


# app_dial's DialState RINGING and the callee's Newstate Ringing race inside Asterisk: S4, S9 a
# and S9 f call 1 saw DialState first (DestChannelState Down), S9 b, e and f call 2 Newstate first.
DIAL_STATE_RACE = frozenset(
    {("DialState", "DestChannelState"), ("DialState", "DestChannelStateDesc")}
)
# The member's device turning in use and app_queue marking it in a call race too: S1 saw the
# QueueMemberStatus after AgentConnect (InCall 1, what pbxsim publishes), S9 f and g before
# DialEnd (InCall 0).
IN_CALL_RACE = DIAL_STATE_RACE | {("QueueMemberStatus", "InCall")}


def assert_ami_matches(
    scenario: str,
    result: Replay,
    wanted: frozenset[str],
    races: frozenset[tuple[str, str]] = DIAL_STATE_RACE,
) -> None:
    recorded = normalise(recorded_events(load(f"{scenario}/ami.jsonl")), wanted, races=races)
    simulated = normalise([m for m in result.ami if m and m[0][0] == "Event"], wanted, races=races)
    problems = compare_streams(recorded, simulated)
    assert not problems, "\n".join(problems)


S9 = "S9-agi-acd-flows"


@pytest.mark.parametrize(
    ("variant", "dialplan", "extra"),
    [
        ("a", LAB_401, {}),
        ("b", LAB_401, {}),
        ("c", LAB_401, {}),
        ("d", LAB_401, {"agent2": PhoneBehaviour(mode="silent")}),
        ("e", LAB_401, {}),
    ],
)
async def test_s9_daemon_dials_agents(
    variant: str, dialplan: DialplanConfig, extra: dict[str, PhoneBehaviour]
) -> None:
    """S9 a-e: EXEC Dial from AGI (answer, no answer, busy, unavailable, caller gone)."""
    scenario = f"{S9}/{variant}"
    behaviours = phone_behaviours((TRACES / scenario / "timeline.txt").read_text()) | extra
    result = await replay(scenario, dialplan, behaviours=behaviours)
    assert_agi_matches(scenario, result)
    assert_ami_matches(scenario, result, CALL_CONTROL)


async def test_s9f_daemon_crash_falls_back_to_queue() -> None:
    """S9 f: the daemon drops the socket (RST, FIN): AGISTATUS SUCCESS, fallback Queue answers."""
    scenario = f"{S9}/f"
    result = await replay(scenario, LAB_400)
    assert_agi_matches(scenario, result)
    # AgentComplete races with the caller's hang-up: in call 1 Asterisk sent it without the
    # caller's channel block (already gone), in call 2 with it. S1 and S9 g check AgentComplete.
    assert_ami_matches(
        scenario,
        result,
        (CALL_CONTROL | QUEUE_EVENTS) - {"AgentComplete"},
        races=IN_CALL_RACE,
    )
    assert result.counters["fallbacks"] == 2
    assert result.counters["answered_by_fallback"] == 2


async def test_s9h_done_hangs_up_without_fallback() -> None:
    """S9 h: ACD_RESULT=done set by the daemon: the dialplan hangs up, no fallback."""
    scenario = f"{S9}/h"
    result = await replay(scenario, LAB_400)
    assert_agi_matches(scenario, result)
    assert_ami_matches(scenario, result, CALL_CONTROL | QUEUE_EVENTS)
    assert result.counters["fallbacks"] == 0
    assert result.counters["handled_hangups"] == 1


async def test_s4_route_script() -> None:
    """S4: full command dialog, Dial with caller hang-up in the bridge, hang-up in Playback."""
    scenario = "S4-fastagi-route"
    result = await replay(scenario, LAB_200)
    assert_agi_matches(scenario, result)
    assert_ami_matches(scenario, result, CALL_CONTROL)


async def test_s1_queue_agent_answers() -> None:
    """S1: Answer, Queue(support): leastrecent rings agent3, it answers, the caller hangs up."""
    scenario = "S1-queue-agent-answers"
    result = await replay(scenario, LAB_100)
    assert_ami_matches(scenario, result, CALL_CONTROL | QUEUE_EVENTS)


async def test_s2_queue_caller_abandons() -> None:
    """S2: paused members, caller abandons waiting; then abandons while agent1 rings."""
    scenario = "S2-queue-caller-abandons"
    result = await replay(scenario, LAB_100)
    assert_ami_matches(scenario, result, CALL_CONTROL | QUEUE_EVENTS)
    assert result.counters["abandoned"] == 2


async def test_s9g_daemon_absent_or_hung_falls_back() -> None:
    """S9 g: refused connection (FAILURE) and a never-accepting listener both reach the fallback."""
    scenario = f"{S9}/g"
    result = await replay(scenario, LAB_400, refused_calls=(0,), hung_calls={1: 12.0})
    assert_ami_matches(scenario, result, CALL_CONTROL | QUEUE_EVENTS, races=IN_CALL_RACE)
    assert result.counters["fallbacks"] == 2
    assert result.counters["ended_without_daemon"] == 2
    assert [call.agi_status for call in result.sim.calls] == ["FAILURE", "SUCCESS"]
