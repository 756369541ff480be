"""Blind transfers from an advisor's phone while the caller is in EXEC Dial (S12 a and d)."""

from __future__ import annotations

from dataclasses import replace

from acd.pbxsim import DialplanConfig
from acd.pbxsim.phones import PhoneBehaviour
from tests.pbxsim.lab import LAB_401, SCALE, replay
from tests.pbxsim.recording import CALL_CONTROL
from tests.pbxsim.test_agi_flows import assert_agi_matches, assert_ami_matches

S12 = "S12-transfers"
AGENT2 = PhoneBehaviour(answer_delay=1.0 * SCALE, talk_time=4.0 * SCALE)


def lab_agents(agi_base: str) -> DialplanConfig:
    """lab-agents: 7002 dials agent2, 7400 hands the caller to the ACD's transfer script."""
    return replace(
        LAB_401,
        agent_extensions={
            "7002": "Dial(PJSIP/agent2,20)",
            "7400": f"AGI({agi_base}/transfer?queue=support)",
        },
    )


def refers_to(exten: str) -> PhoneBehaviour:
    return PhoneBehaviour(
        answer_delay=1.0 * SCALE, blind_transfer_to=exten, transfer_after=3.0 * SCALE
    )


async def test_s12a_blind_transfer_to_an_extension() -> None:
    """S12 a: REFER to 7002: Dial returns 0 + HANGUP; when the AGI closes, the caller dials 7002."""
    scenario = f"{S12}/a"
    result = await replay(
        scenario, lab_agents, behaviours={"agent1": refers_to("7002"), "agent2": AGENT2}
    )
    assert_agi_matches(scenario, result)
    assert_ami_matches(scenario, result, CALL_CONTROL | {"BlindTransfer", "Unhold"})
    assert result.counters["transfers"] == 1


async def test_s12d_blind_transfer_back_to_the_acd() -> None:
    """S12 d: REFER to 7400 starts a second FastAGI session for the same caller channel."""
    scenario = f"{S12}/d"
    result = await replay(
        scenario, lab_agents, behaviours={"agent1": refers_to("7400"), "agent2": AGENT2}
    )
    assert_agi_matches(scenario, result)
    assert_ami_matches(scenario, result, CALL_CONTROL | {"BlindTransfer", "Unhold"})


async def test_s12b_attended_transfer() -> None:
    """S12 b: hold, consult 7002 from a second line, REFER/Replaces: the AGI Dial sees nothing."""
    scenario = f"{S12}/b"
    agent1 = PhoneBehaviour(
        answer_delay=1.0 * SCALE,
        attended_transfer_to="7002",
        hold_after=2.0 * SCALE,
        consult_after=1.11 * SCALE,
        refer_after=2.0 * SCALE,
    )
    agent2 = PhoneBehaviour(answer_delay=1.0 * SCALE, talk_time=9.0 * SCALE)
    result = await replay(scenario, lab_agents, behaviours={"agent1": agent1, "agent2": agent2})
    assert_agi_matches(scenario, result)
    assert_ami_matches(scenario, result, CALL_CONTROL | {"AttendedTransfer", "Hold", "Unhold"})
    assert result.counters["transfers"] == 1
