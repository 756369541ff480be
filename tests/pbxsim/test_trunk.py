"""Two virtual boxes joined by an inter-PBX trunk: a Dial on one rings a phone of the other."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from acd.pbxsim import DialplanConfig, PbxConfig, PbxSim, PhoneBehaviour, PhoneConfig, Timings
from acd.pbxsim.pbx import AmiEvent
from tests.deadlines import until
from tests.pbxsim.stand_in_daemon import StandInDaemon

FAST = Timings(answer=0.01, login_failure_delay=0.01, time_scale=0.1)


def box(name: str, agi_url: str, phones: tuple[str, ...]) -> PbxConfig:
    return PbxConfig(
        agi_url=agi_url,
        systemname=name,
        phones=tuple(PhoneConfig(p, f"7{i}", p) for i, p in enumerate(phones)),
        queues=(),
        dialplan=DialplanConfig(fallback_queue=None),
        timings=FAST,
    )


@asynccontextmanager
async def two_boxes(daemon: StandInDaemon) -> AsyncIterator[tuple[PbxSim, PbxSim]]:
    await daemon.start()
    a = PbxSim(box("pbx-a", daemon.url, ("anna",)))
    b = PbxSim(box("pbx-b", daemon.url, ("bruno",)))
    a.link(b, here="pbx-b", there="pbx-a")
    try:
        async with a, b:
            yield a, b
    finally:
        await daemon.stop()


async def test_dial_over_the_trunk_rings_the_phone_of_the_other_box() -> None:
    """A caller on box A whose Dial names PJSIP/bruno@pbx-b talks to bruno's phone on box B."""
    daemon = StandInDaemon(["bruno@pbx-b"], attempts=1)
    async with two_boxes(daemon) as (a, b):
        b.phone("bruno").behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.2)
        seen_a: list[AmiEvent] = []
        seen_b: list[AmiEvent] = []
        a.subscribe(seen_a.append)
        b.subscribe(seen_b.append)
        record = a.place_call(queue=None, patience=5.0)
        await a.wait_calls_done(10)
        await until(lambda: not b.live_channels(), 5, "box B's channels gone")
    assert record.dial_status == "ANSWER"
    assert record.uniqueid.startswith("pbx-a-")
    assert daemon.answered == 1
    assert a.counters["trunk_calls_out"] == 1
    assert b.counters["trunk_calls_in"] == b.counters["answered_over_trunk"] == 1
    dial_end = next(e for e in seen_a if e.name == "DialEnd")
    headers = dict(dial_end.headers)
    assert headers["DestChannel"].startswith("PJSIP/pbx-b-")
    assert headers["DialStatus"] == "ANSWER"
    assert headers["Uniqueid"] == record.uniqueid
    names_b = [(e.name, dict(e.headers).get("Channel", "")) for e in seen_b]
    assert ("DialEnd", next(c for n, c in names_b if c.startswith("PJSIP/pbx-a-"))) in names_b
    assert any(n == "Newstate" and c.startswith("PJSIP/bruno-") for n, c in names_b)
    assert not a.live_channels()
    assert not b.live_channels()


async def test_busy_phone_over_the_trunk_is_busy_on_the_calling_box() -> None:
    """The far phone's 486 ends the calling Dial BUSY."""
    daemon = StandInDaemon(["bruno@pbx-b"], attempts=1)
    async with two_boxes(daemon) as (a, b):
        b.phone("bruno").behaviour = PhoneBehaviour(mode="busy")
        record = a.place_call(queue=None, patience=5.0)
        await a.wait_calls_done(10)
    assert record.dial_status == "BUSY"


async def test_caller_hanging_up_while_the_far_phone_rings_cancels_both_boxes() -> None:
    """A caller leaving during the ring ends the far box's Dial too (CANCEL crosses the trunk)."""
    daemon = StandInDaemon(["bruno@pbx-b"], attempts=1, ring_timeout=50)
    async with two_boxes(daemon) as (a, b):
        b.phone("bruno").behaviour = PhoneBehaviour(answer_delay=30.0)
        ringing = b.wait_for_event("Newstate", 5, Channel="PJSIP/bruno-")
        record = a.place_call(queue=None, patience=5.0)
        await ringing
        a.caller_hangs_up(record)
        await a.wait_calls_done(10)
        await until(lambda: not b.live_channels(), 5, "box B's channels gone")
    assert record.dial_status == "CANCEL"


async def test_a_box_out_of_service_is_unavailable_over_the_trunk() -> None:
    """A Dial towards a stopped box ends CHANUNAVAIL at once; the calling box carries on."""
    daemon = StandInDaemon(["bruno@pbx-b"], attempts=1)
    async with two_boxes(daemon) as (a, b):
        await b.stop()
        record = a.place_call(queue=None, patience=5.0)
        await a.wait_calls_done(10)
        await b.start()
    assert record.dial_status == "CHANUNAVAIL"
    assert b.counters["trunk_calls_in"] == 0
