"""Unrecorded concurrency checked by invariants: many overlapping calls, transfers, hang-ups."""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict

from acd.pbxsim import DialplanConfig, PbxConfig, PbxSim, QueueConfig, Timings
from acd.pbxsim.people import CallerStream, Crowd, RateStep, advisor_phones
from acd.pbxsim.phones import PhoneBehaviour
from tests.pbxsim.recording import Headers, get
from tests.pbxsim.stand_in_daemon import StandInDaemon
from tests.pbxsim.wire import RawAmi

ADVISORS = 30


def mixed_behaviours(sim: PbxSim, rng: random.Random) -> None:
    """Most answer quickly; some are busy, never answer, are offline or transfer calls."""
    for index in range(1, ADVISORS + 1):
        phone = sim.phone(f"agent{index}")
        if index <= 2:
            phone.behaviour = PhoneBehaviour(mode="busy")
        elif index <= 4:
            phone.behaviour = PhoneBehaviour(mode="no_answer")
        elif index == 5:
            phone.behaviour = PhoneBehaviour(
                answer_delay=0.05, blind_transfer_to="7002", transfer_after=0.1
            )
        elif index == 6:
            phone.behaviour = PhoneBehaviour(
                answer_delay=0.05,
                talk_time=0.3,
                attended_transfer_to="7002",
                hold_after=0.05,
                consult_after=0.05,
                refer_after=0.05,
            )
        elif index == 7:
            sim.registrar.unregister(phone.name)
        else:
            phone.behaviour = PhoneBehaviour(
                answer_delay=rng.uniform(0.01, 0.1),
                talk_time=0.3,
                talk_distribution="exponential",
                busy_when_in_call=index % 2 == 0,
            )


async def chaos(client: RawAmi, sim: PbxSim, rng: random.Random, rounds: int) -> int:
    """Hang up random live channels through AMI while calls flow."""
    done = 0
    for round_number in range(rounds):
        await asyncio.sleep(0.1)  # fixed-sleep: chaos paced at ten hang-ups a second
        live = sim.live_channels()
        if not live:
            continue
        await client.action(
            "Hangup", ("ActionID", f"chaos-{round_number}"), ("Channel", rng.choice(live))
        )
        done += 1
        if round_number % 5 == 0:
            sim.personal_call(f"agent{rng.randint(8, ADVISORS)}", seconds=0.2)
    return done


def events_of(messages: list[Headers]) -> list[Headers]:
    return [m for m in messages if m and m[0][0] == "Event" and get(m, "ActionID") is None]


async def test_many_overlapping_calls_keep_every_invariant() -> None:
    """~300 overlapping calls with transfers, abandons and AMI hang-ups leave a clean PBX."""
    rng = random.Random(7)
    phones = advisor_phones(ADVISORS)
    daemon = StandInDaemon([p.name for p in phones[:-1]], ring_timeout=2.0)
    await daemon.start()
    sim = PbxSim(
        PbxConfig(
            agi_url=daemon.url,
            phones=phones,
            queues=(
                QueueConfig(
                    "support", tuple(p.name for p in phones), member_ring_timeout=0.2, retry=0.05
                ),
            ),
            dialplan=DialplanConfig(
                fallback_timeout=1.0,
                agent_extensions={"7002": f"Dial(PJSIP/agent{ADVISORS},20)"},
            ),
            timings=Timings(answer=0.01, time_scale=0.1),
            seed=3,
        )
    )
    mixed_behaviours(sim, rng)
    async with sim:
        client = await RawAmi.connect(sim.ami_port)
        await client.login()
        crowd = Crowd(
            sim,
            (CallerStream("support", profile=(RateStep(0.0, 100.0),), mean_patience=1.5),),
            duration=3.0,
            seed=5,
        )
        records, hangups = await asyncio.gather(crowd.run(), chaos(client, sim, rng, 30))
        await sim.wait_calls_done(30)
        await client.action("DeviceStateList", ("ActionID", "final"))
        await client.wait_for("DeviceStateListComplete")
        messages = client.messages()
        await client.close()
    await daemon.stop()

    assert len(records) > 200
    assert hangups > 10
    events = events_of(messages)
    created = [e for e in events if get(e, "Event") == "Newchannel"]
    hung_up = Counter(get(e, "Channel") for e in events if get(e, "Event") == "Hangup")
    # Every channel created is hung up, exactly once.
    assert {get(e, "Channel") for e in created} == set(hung_up)
    assert set(hung_up.values()) == {1}
    # Ids are unique.
    uniqueids = [get(e, "Uniqueid") for e in created]
    assert len(uniqueids) == len(set(uniqueids))
    assert len({get(e, "Channel") for e in created}) == len(created)
    # Linkedids: always the Uniqueid of a call's first channel, constant per channel except for
    # the target of an attended transfer, which joins the caller's call (as recorded in S12 b).
    linked: dict[str, set[str]] = defaultdict(set)
    for event in events:
        channel, linkedid = get(event, "Channel"), get(event, "Linkedid")
        if channel and linkedid:
            linked[channel].add(linkedid)
    roots = {get(e, "Uniqueid") for e in created if get(e, "Uniqueid") == get(e, "Linkedid")}
    targets = {
        get(e, "TransferTargetChannel") or ""
        for e in events
        if get(e, "Event") == "AttendedTransfer"
    }
    assert targets
    assert all(len(ids) == 1 for channel, ids in linked.items() if channel not in targets)
    assert all(len(linked[channel]) <= 2 for channel in targets)
    assert set().union(*linked.values()) <= roots
    # Device states end where they should.
    final = {
        get(m, "Device"): get(m, "State")
        for m in messages
        if get(m, "ActionID") == "final" and get(m, "Event") == "DeviceStateChange"
    }
    assert final["PJSIP/agent7"] == "UNAVAILABLE"
    assert final["PJSIP/callers"] == "UNAVAILABLE"
    assert {final[f"PJSIP/agent{i}"] for i in range(8, ADVISORS + 1)} == {"NOT_INUSE"}
    # No leaks: channels, bridges, queue callers, AGI sessions, call tasks.
    assert sim.live_channels() == []
    assert sim.pbx.bridges == {}
    assert all(not queue.waiting for queue in sim.app_queue.queues.values())
    assert daemon.open_sessions == 0
    counters = sim.counters
    assert counters["channels_created"] == counters["channels_destroyed"] == len(created)
    assert counters["calls_placed"] == len(records)
    assert counters["reached_daemon"] + counters["ended_without_daemon"] == len(records)
    assert counters["transfers"] > 0
