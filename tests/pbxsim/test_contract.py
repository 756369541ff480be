"""The dialplan's handled-call contract (docs/architecture.md) and pbxsim's witness counters."""

from __future__ import annotations

from acd.pbxsim import DialplanConfig, PbxConfig, PbxSim, PhoneConfig, QueueConfig, Timings
from acd.pbxsim.phones import PhoneBehaviour
from tests.pbxsim.stand_in_daemon import Behaviour, StandInDaemon

PHONES = (PhoneConfig("agent1", "6001", "Agent One"), PhoneConfig("agent2", "6002", "Agent Two"))
FAST = Timings(answer=0.01, login_failure_delay=0.01, time_scale=0.1)


def config(agi_url: str) -> PbxConfig:
    return PbxConfig(
        agi_url=agi_url,
        phones=PHONES,
        queues=(QueueConfig("support", ("agent1", "agent2"), member_ring_timeout=0.3, retry=0.05),),
        dialplan=DialplanConfig(fallback_timeout=5.0),
        timings=FAST,
    )


async def run_one(behaviour: Behaviour, phone: PhoneBehaviour | None = None) -> PbxSim:
    daemon = StandInDaemon(["agent1", "agent2"], behaviour=behaviour)
    await daemon.start()
    sim = PbxSim(config(daemon.url))
    # A crash "while ringing" comes once the advisor's channel exists (the Dial rings it).
    daemon.ringing = lambda advisor: any(
        name.startswith(f"PJSIP/{advisor}-") for name in sim.live_channels()
    )
    sim.phone("agent1").behaviour = phone or PhoneBehaviour(answer_delay=0.05, talk_time=0.2)
    sim.phone("agent2").behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.2)
    async with sim:
        sim.place_call(patience=5.0)
        await sim.wait_calls_done(10)
    await daemon.stop()
    return sim


async def test_answered_call_hangs_up_after_agi() -> None:
    """``connected`` with DIALSTATUS ANSWER: the dialplan hangs up, no fallback."""
    sim = await run_one("route")
    assert sim.calls[0].path == "handled"
    assert sim.counters["answered_by_acd"] == 1
    assert sim.counters["fallbacks"] == 0


async def test_done_hangs_up() -> None:
    """``ACD_STATE=done``: Hangup."""
    sim = await run_one("done")
    assert sim.calls[0].path == "handled"


async def test_crash_while_queued_goes_to_the_fallback_queue() -> None:
    """A daemon crash while the caller waits (``queued``): fallback Queue answers the caller."""
    sim = await run_one("crash_while_queued")
    assert sim.calls[0].agi_status == "SUCCESS"
    assert sim.calls[0].path == "fallback"
    assert sim.counters["answered_by_fallback"] == 1


async def test_crash_while_ringing_goes_to_the_fallback_queue() -> None:
    """A crash during the ring (``connected`` without ANSWER): the caller still reaches someone."""
    # agent1 does not answer: the Dial the crashed daemon started ends NOANSWER after it died.
    sim = await run_one("crash_while_ringing", PhoneBehaviour(mode="no_answer"))
    assert sim.calls[0].path == "fallback"
    assert sim.counters["fallbacks"] == 1


async def test_overflow_follows_the_target() -> None:
    """``overflow``: the dialplan dials ``ACD_OVERFLOW_TARGET``."""
    sim = await run_one("overflow")
    assert sim.calls[0].path == "overflow"
    assert sim.calls[0].dial_status == "ANSWER"
    assert sim.counters["overflowed"] == 1


async def test_daemon_down_is_counted_as_never_reached() -> None:
    """With nothing listening, every call falls back and is counted as never reaching the daemon."""
    sim = PbxSim(config("agi://127.0.0.1:9/inbound"))
    for name in ("agent1", "agent2"):
        sim.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.1)
    async with sim:
        for index in range(4):
            sim.place_call(caller_num=f"55510{index}", patience=5.0)
        await sim.wait_calls_done(10)
    assert sim.counters["ended_without_daemon"] == 4
    assert sim.counters["agi_failed"] == 4
    assert sim.counters["fallbacks"] == 4
    assert {call.agi_status for call in sim.calls} == {"FAILURE"}


async def test_in_process_users_can_await_events() -> None:
    """``wait_for_event`` resolves on the first matching event, e.g. an advisor's leg appearing."""
    daemon = StandInDaemon(["agent1", "agent2"])
    await daemon.start()
    sim = PbxSim(config(daemon.url))
    for name in ("agent1", "agent2"):
        sim.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.1)
    async with sim:
        waiter = sim.wait_for_event("Newchannel", 5, Channel="PJSIP/agent1-")
        sim.place_call(patience=5.0)
        headers = await waiter
        assert headers["Linkedid"] == sim.calls[0].uniqueid
        await sim.wait_calls_done(10)
    await daemon.stop()
    assert sim.pbx.event_listeners == [sim.ami.publish]


async def test_caller_talk_time_ends_the_conversation() -> None:
    """A caller with ``talk_time`` hangs up that long after reaching an advisor who never would."""
    daemon = StandInDaemon(["agent1"])
    await daemon.start()
    sim = PbxSim(config(daemon.url))
    sim.phone("agent1").behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=None)
    async with sim:
        record = sim.place_call(talk_time=0.2)
        await sim.wait_calls_done(5)
    await daemon.stop()
    assert record.dial_status == "ANSWER"
    assert record.path == "hangup"
    assert sim.live_channels() == []


async def test_a_session_filter_keeps_only_the_named_events_and_every_reply() -> None:
    """Filter (name criteria) narrows one session's events, as manager.c's should_send_event
    does; replies and list items still come, other sessions see everything; refusals match."""
    from tests.pbxsim.wire import RawAmi

    sim = PbxSim(config("agi://127.0.0.1:9/inbound"))
    for name in ("agent1", "agent2"):
        sim.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.1)
    async with sim:
        filtered, everything = (
            await RawAmi.connect(sim.ami_port),
            await RawAmi.connect(sim.ami_port),
        )
        await filtered.login()
        await everything.login()
        for index, event in enumerate(("DialEnd", "DeviceStateChange")):
            await filtered.action(
                "Filter",
                ("ActionID", f"f{index}"),
                ("Operation", "Add"),
                ("MatchCriteria", f"action(include),name({event})"),
            )
        for action_id, criteria in (("bad1", "name()"), ("bad2", "header(Channel)")):
            await filtered.action(
                "Filter", ("ActionID", action_id), ("Operation", "Add"), ("MatchCriteria", criteria)
            )
        await filtered.action("Filter", ("ActionID", "bad3"), ("Operation", "Remove"))
        await filtered.wait_for("ActionID: bad3")
        sim.place_call(caller_num="555100", patience=5.0)
        await sim.wait_calls_done(10)
        await filtered.action("DeviceStateList", ("ActionID", "list-1"))
        await filtered.wait_for("DeviceStateListComplete")
        await everything.wait_for("Event: Hangup")
        received = [dict(m) for m in filtered.messages()]
        after_filters = received[[m.get("ActionID") for m in received].index("f1") + 1 :]
        names = [m.get("Event") for m in after_filters if "Event" in m]
        replies = {dict(m).get("ActionID"): dict(m) for m in filtered.messages()}
        seen_by_all = {dict(m).get("Event") for m in everything.messages()}
        await filtered.close()
        await everything.close()
    unsolicited = {n for n in names if n not in ("DeviceStateChange", "DialEnd")}
    assert unsolicited <= {"DeviceStateListItem", "DeviceStateListComplete"}
    assert "DialEnd" in names
    assert "DeviceStateChange" in names
    assert "DeviceStateListComplete" in names
    assert {"Newchannel", "Hangup", "DialBegin"} <= seen_by_all
    assert replies["f0"]["Response"] == replies["f1"]["Response"] == "Success"
    assert (
        replies["bad1"]["Message"]
        == replies["bad2"]["Message"]
        == ("Filter was formatted incorrectly.  Check the syntax of the filter given.")
    )
    assert replies["bad3"]["Message"] == "Unknown operation"
