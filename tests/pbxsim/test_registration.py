"""Phones that REGISTER, unregister, vanish, and get dialed: conformance with S11 a-d."""

from __future__ import annotations

from acd.pbxsim import Timings
from acd.pbxsim.phones import PhoneBehaviour
from tests.pbxsim.lab import LAB_401, SCALE, replay
from tests.pbxsim.recording import CALL_CONTROL, REGISTRATION_EVENTS, load
from tests.pbxsim.test_agi_flows import assert_agi_matches, assert_ami_matches
from tests.pbxsim.test_ami_actions import responses_by_action, shape

S11 = "S11-registration"
PHONE = PhoneBehaviour(answer_delay=1.0 * SCALE, talk_time=3.0 * SCALE)


def assert_actions_answered_alike(scenario: str, simulated: list[list[tuple[str, str]]]) -> None:
    recorded = [r.headers for r in load(f"{scenario}/ami.jsonl") if r.kind == "response"]
    want = responses_by_action(recorded)
    got = responses_by_action(simulated)
    for action_id, response in want.items():
        if ("Message", "Authentication accepted") in response or response[0][1] == "Goodbye":
            continue  # the replay logs in and off with its own ActionIDs
        assert shape(got[action_id]) == shape(response), action_id


async def test_s11a_register_and_unregister() -> None:
    """S11 a: REGISTER gives NonQualified, Reachable, NOT_INUSE; Expires 0 the Removed trio."""
    scenario = f"{S11}/a"
    result = await replay(
        scenario,
        LAB_401,
        side_steps=[
            (0.496, lambda sim: sim.registrar.register("reg1", 5081)),
            (9.503, lambda sim: sim.registrar.unregister("reg1")),
        ],
    )
    assert_ami_matches(scenario, result, CALL_CONTROL | REGISTRATION_EVENTS)
    assert_actions_answered_alike(scenario, result.ami)


async def test_s11b_phone_vanishes_then_expires() -> None:
    """S11 b: unanswered qualify makes the contact Unreachable; expiry later removes it."""
    scenario = f"{S11}/b"
    timings = Timings(
        answer=0.5 * SCALE,
        callers_send_audio=False,
        time_scale=SCALE,
        qualify_timeout=(11.485 - 7.821) * SCALE,
        contact_expiry_check=(30.270 - 11.485) * SCALE,
    )
    result = await replay(
        scenario,
        LAB_401,
        timings=timings,
        side_steps=[
            (0.484, lambda sim: sim.registrar.register("reg2", 5082)),
            (7.821, lambda sim: sim.registrar.stop_answering_qualify("reg2")),
        ],
    )
    assert_ami_matches(scenario, result, CALL_CONTROL | REGISTRATION_EVENTS)
    assert_actions_answered_alike(scenario, result.ami)


async def test_s11c_dial_registered_phone() -> None:
    """S11 c: EXEC Dial to a registered phone names and bridges it like a static one."""
    scenario = f"{S11}/c"
    result = await replay(
        scenario,
        LAB_401,
        behaviours={"reg3": PHONE},
        side_steps=[
            (0.49, lambda sim: sim.registrar.register("reg3", 5083)),
            (20.83, lambda sim: sim.registrar.unregister("reg3")),
        ],
    )
    assert_agi_matches(scenario, result)
    assert_ami_matches(scenario, result, CALL_CONTROL | REGISTRATION_EVENTS)


async def test_s11d_dial_unregistered_phone() -> None:
    """S11 d: after unregistering, EXEC Dial gives CHANUNAVAIL with no channel events."""
    scenario = f"{S11}/d"
    result = await replay(
        scenario,
        LAB_401,
        behaviours={"reg3": PHONE},
        side_steps=[
            (0.49, lambda sim: sim.registrar.register("reg3", 5083)),
            (3.80, lambda sim: sim.registrar.unregister("reg3")),
        ],
    )
    assert_agi_matches(scenario, result)
    assert_ami_matches(scenario, result, CALL_CONTROL | REGISTRATION_EVENTS)
