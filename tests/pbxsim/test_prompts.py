"""Prompts: STREAM FILE lengths, and AMI ControlPlayback stopping a CONTROL STREAM FILE."""

from __future__ import annotations

import asyncio
import contextlib
import time

from acd.pbxsim import PbxConfig, PbxSim, Timings
from tests.deadlines import until
from tests.pbxsim.wire import TIMEOUT, RawAmi


async def test_control_playback_stops_a_prompt_at_once() -> None:
    """A 4 s prompt stopped by ControlPlayback after 0.2 s replies at once with its endpos."""
    replies: list[str] = []
    channel_name = asyncio.get_running_loop().create_future()

    async def daemon(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        env = []
        while (line := await asyncio.wait_for(reader.readline(), TIMEOUT)) != b"\n":
            env.append(line.decode())
        channel_name.set_result(next(v.split(": ")[1].strip() for v in env if "agi_channel" in v))
        for command in (
            'CONTROL STREAM FILE queue-periodic-announce ""',
            "GET VARIABLE CPLAYBACKSTATUS",
        ):
            writer.write(f"{command}\n".encode())
            replies.append((await asyncio.wait_for(reader.readline(), TIMEOUT)).decode())
        writer.close()

    server = await asyncio.start_server(daemon, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = PbxConfig(agi_url=f"agi://127.0.0.1:{port}/inbound", timings=Timings(answer=0.0))
    async with PbxSim(config) as sim:
        client = await RawAmi.connect(sim.ami_port)
        await client.login()
        sim.place_call(queue=None, patience=10.0)
        name = await asyncio.wait_for(channel_name, TIMEOUT)
        # The prompt is playing once its AGIExecStart is out (the stop must find it playing).
        await client.wait_for("Command: CONTROL STREAM FILE")
        stopped_at = time.monotonic()
        await client.action(
            "ControlPlayback", ("ActionID", "stop"), ("Channel", name), ("Control", "stop")
        )
        await client.wait_for("ActionID: stop")
        await until(lambda: len(replies) >= 2, within=TIMEOUT, what="both replies")
        latency = time.monotonic() - stopped_at
        await client.close()
    server.close()
    await server.wait_closed()
    endpos = int(replies[0].split("endpos=")[1])
    assert replies[0].startswith("200 result=0")
    assert 0 < endpos < 32000
    assert replies[1] == "200 result=1 (USERSTOPPED)\n"
    assert latency < 0.5


async def test_a_new_command_interrupts_stream_file_without_a_reply() -> None:
    """A line sent during STREAM FILE stops the prompt; only the new command is answered."""
    received: list[bytes] = []

    async def daemon(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await asyncio.wait_for(reader.readline(), TIMEOUT) != b"\n":
            pass
        writer.write(b'STREAM FILE queue-periodic-announce ""\n')
        await writer.drain()
        await asyncio.sleep(0.2)  # fixed-sleep: the prompt plays a while before the NOOP
        writer.write(b'NOOP "interrupt"\n')
        await writer.drain()
        received.append(await asyncio.wait_for(reader.readline(), TIMEOUT))
        writer.close()

    server = await asyncio.start_server(daemon, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = PbxConfig(agi_url=f"agi://127.0.0.1:{port}/inbound", timings=Timings(answer=0.0))
    started = time.monotonic()
    async with PbxSim(config) as sim:
        sim.place_call(queue=None, patience=10.0)
        await until(lambda: received, within=TIMEOUT, what="the NOOP's reply")
        elapsed = time.monotonic() - started
    server.close()
    await server.wait_closed()
    assert received == [b"200 result=0\n"]
    assert elapsed < 1.0


async def test_a_line_read_with_the_previous_one_waits_for_more_bytes() -> None:
    """res_agi's stdio buffer: STREAM FILE and NOOP in one write leave the NOOP unseen, so the
    prompt plays on; the next bytes on the socket stop it and both NOOPs are answered in order."""
    replies: list[tuple[float, bytes]] = []

    async def daemon(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await asyncio.wait_for(reader.readline(), TIMEOUT) != b"\n":
            pass
        writer.write(b'SET VARIABLE A "1"\nSET VARIABLE B "2"\n')
        replies.append((time.monotonic(), await asyncio.wait_for(reader.readline(), TIMEOUT)))
        with contextlib.suppress(TimeoutError):
            line = await asyncio.wait_for(reader.readline(), 0.3)
            replies.append((time.monotonic(), b"unexpected " + line))
        writer.write(b'STREAM FILE queue-periodic-announce ""\nNOOP "first"\n')
        await asyncio.sleep(0.5)  # fixed-sleep: "first" sits unseen while the prompt plays
        writer.write(b'NOOP "second"\n')
        sent = time.monotonic()
        for _ in range(3):
            line = await asyncio.wait_for(reader.readline(), TIMEOUT)
            replies.append((time.monotonic() - sent, line))
        writer.close()

    server = await asyncio.start_server(daemon, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = PbxConfig(agi_url=f"agi://127.0.0.1:{port}/inbound", timings=Timings(answer=0.0))
    async with PbxSim(config) as sim:
        sim.place_call(queue=None, patience=10.0)
        await until(lambda: len(replies) >= 4, within=TIMEOUT, what="four replies")
    server.close()
    await server.wait_closed()
    # SET B sat in the stdio buffer until STREAM FILE's bytes arrived; "first" sat there during
    # the 4 s prompt, which stopped without a reply (no endpos) when "second" arrived.
    assert [line for _, line in replies] == [
        b"200 result=1\n",
        b"200 result=1\n",
        b"200 result=0\n",
        b"200 result=0\n",
    ]
    assert 0 <= replies[2][0] < 0.3
