"""The AMI port under abuse: garbage, truncated frames, long lines, slow and vanishing clients."""

from __future__ import annotations

import asyncio
import time

from acd.pbxsim import PbxConfig, PbxSim, Timings
from tests.deadlines import until
from tests.pbxsim.recording import get
from tests.pbxsim.wire import RawAmi

FAST = Timings(login_failure_delay=0.05, ami_write_timeout=0.3)


async def ping(client: RawAmi, action_id: str) -> float:
    started = time.monotonic()
    await client.action("Ping", ("ActionID", action_id))
    await client.wait_for(f"ActionID: {action_id}")
    return time.monotonic() - started


async def test_garbage_is_answered_and_the_session_survives() -> None:
    """Binary garbage and header-less lines give ``Missing action in request``; Ping still works."""
    async with PbxSim(PbxConfig(timings=FAST)) as sim:
        client = await RawAmi.connect(sim.ami_port)
        await client.login()
        await client.send(b"\x00\xff\xfe garbage without colon\r\n\x01\x02: \x03\r\n\r\n")
        found = await client.wait_for("Missing action in request")
        assert found[0] == [("Response", "Error"), ("Message", "Missing action in request")]
        assert await ping(client, "after-garbage") < 1.0
        await client.close()


async def test_line_without_newline_over_1024_bytes_fails_only_that_message() -> None:
    """5000 bytes without a newline: ``line too long`` when the message ends; next one works."""
    async with PbxSim(PbxConfig(timings=FAST)) as sim:
        client = await RawAmi.connect(sim.ami_port)
        await client.login()
        await client.send(b"Action: Setvar\r\nActionID: long-1\r\nValue: " + b"x" * 5000)
        await asyncio.sleep(0.05)  # fixed-sleep: the message's end comes in a later read
        await client.send(b"\r\nVariable: NEVER\r\n\r\n")
        found = await client.wait_for("ActionID: long-1")
        assert ("Message", "Failed to parse message: line too long") in found[0]
        await client.action("Getvar", ("ActionID", "check"), ("Variable", "NEVER"))
        check = await client.wait_for("ActionID: check")
        assert ("Value", "") in check[0]
        await client.close()


async def test_truncated_frames_and_abrupt_disconnects_do_not_disturb_others() -> None:
    """Clients that vanish mid-message or reset the connection leave other sessions working."""
    async with PbxSim(PbxConfig(timings=FAST)) as sim:
        steady = await RawAmi.connect(sim.ami_port)
        await steady.login()
        for index in range(20):
            rude = await RawAmi.connect(sim.ami_port)
            await rude.login()
            await rude.send(f"Action: Ping\r\nActionID: cut-{index}\r\nX-Half: ")
            if index % 2:
                rude.abort()
            else:
                await rude.close()
        assert await ping(steady, "still-here") < 1.0
        await until(lambda: len(sim.ami.sessions) == 1, what="the rude sessions closed")
        await steady.close()


async def test_slow_client_is_dropped_without_stalling_others() -> None:
    """A client that never reads is dropped after the write timeout; a reading one keeps up."""
    async with PbxSim(PbxConfig(timings=FAST)) as sim:
        slow = await RawAmi.connect(sim.ami_port)
        await slow.login()
        slow._task.cancel()  # stop reading: the socket buffers fill up
        fast = await RawAmi.connect(sim.ami_port)
        await fast.login()
        data = "".join(f"Data{n}: {'p' * 900}\r\n" for n in range(10))
        worst = 0.0
        for batch in range(60):
            if len(sim.ami.sessions) == 1:
                break
            lines = "".join(
                f"Action: UserEvent\r\nUserEvent: Load\r\n{data}ActionID: u{batch}-{i}\r\n\r\n"
                for i in range(100)
            )
            await fast.send(lines)
            await fast.wait_for(f"ActionID: u{batch}-99")
            worst = max(worst, await ping(fast, f"p{batch}"))
        assert worst < 2.0
        await until(lambda: len(sim.ami.sessions) <= 1, within=5, what="the slow client dropped")
        assert len(sim.ami.sessions) == 1
        await fast.close()
        await slow.close()


async def test_reconnect_gets_no_replay_and_sees_shutdown() -> None:
    """As in S6 r1/r2: after a reset, a new login gets no missed events; stop sends Shutdown."""
    sim = PbxSim(PbxConfig(timings=FAST, agi_url="agi://127.0.0.1:9/none"))
    await sim.start()
    try:
        first = await RawAmi.connect(sim.ami_port)
        await first.login()
        record = sim.place_call(queue=None, patience=0.3)
        await first.wait_for("Event: Newchannel")
        first.abort()
        await until(lambda: not sim.ami.sessions, what="the reset session closed")
        second = await RawAmi.connect(sim.ami_port)
        await second.login()
        await second.wait_for("SuccessfulAuth")
        names = [get(m, "Event") or get(m, "Response") for m in second.messages()]
        assert names == ["Success", "FullyBooted", "SuccessfulAuth"]
        await second.action("CoreShowChannels", ("ActionID", "live"))
        listed = await second.wait_for("ActionID: live", count=3)
        assert get(listed[1], "Channel") == record.channel
        await second.wait_for("Event: Hangup")
    finally:
        await sim.stop()
    await second.wait_eof()
    shutdown = [m for m in second.messages() if get(m, "Event") == "Shutdown"]
    assert shutdown == [
        [
            ("Event", "Shutdown"),
            ("Privilege", "system,all"),
            ("Shutdown", "Cleanly"),
            ("Restart", "False"),
        ]
    ]
    await second.close()


async def test_faults_drop_and_stall_the_ami_link() -> None:
    """``drop_ami`` resets every client; ``stall_ami`` holds events and replies until resumed."""
    async with PbxSim(PbxConfig(timings=FAST, agi_url="agi://127.0.0.1:9/none")) as sim:
        dropped = await RawAmi.connect(sim.ami_port)
        await dropped.login()
        assert sim.drop_ami() == 1
        await dropped.wait_eof()
        await dropped.close()
        client = await RawAmi.connect(sim.ami_port)
        await client.login()
        sim.stall_ami()
        await client.action("Ping", ("ActionID", "stalled"))
        record = sim.place_call(queue=None, patience=0.05)
        await sim.wait_calls_done(5)
        await asyncio.sleep(0.1)  # fixed-sleep: the window in which nothing may arrive
        assert not [m for m in client.messages() if get(m, "ActionID") == "stalled"]
        assert not [m for m in client.messages() if get(m, "Channel") == record.channel]
        sim.resume_ami()
        await client.wait_for("ActionID: stalled")
        await client.wait_for("Event: Hangup")
        await client.close()
