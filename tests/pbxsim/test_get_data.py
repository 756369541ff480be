"""GET DATA and calls dialled from advisors' phones (feature codes)."""

from __future__ import annotations

import asyncio

import pytest

from acd.pbxsim import DialplanConfig, PbxConfig, PbxSim, PhoneConfig, Timings


async def ask(dtmf: str, command: str) -> tuple[str, str]:
    """Place a call from agent1's phone to a tiny AGI app that sends one command."""
    replies: list[str] = []
    channels: list[str] = []

    async def app(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (line := await reader.readline()) not in (b"\n", b""):
            if line.startswith(b"agi_channel:"):
                channels.append(line.decode().split(": ", 1)[1].strip())
        writer.write(f"{command}\n".encode())
        await writer.drain()
        replies.append((await reader.readline()).decode().strip())
        writer.close()

    server = await asyncio.start_server(app, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = PbxConfig(
        phones=(PhoneConfig("agent1", "1001", "Zoé Agent"),),
        dialplan=DialplanConfig(fallback_queue=None),
        timings=Timings(answer=0.01, time_scale=0.05),
    )
    async with server, PbxSim(config) as pbx:
        record = pbx.place_call(
            queue=None,
            agi_url=f"agi://127.0.0.1:{port}/agent?action=login",
            from_phone="agent1",
            dtmf=dtmf,
        )
        await asyncio.wait_for(record.done.wait(), 10)
    return channels[0], replies[0]


@pytest.mark.parametrize(
    ("dtmf", "command", "reply"),
    [
        ("2468#", "GET DATA agent-pass 5000 12", "200 result=2468"),
        ("123456", "GET DATA agent-pass 5000 4", "200 result=1234"),
        ("12", "GET DATA agent-pass 200 4", "200 result=12 (timeout)"),
        ("", "GET DATA agent-pass 200 4", "200 result= (timeout)"),
    ],
)
async def test_get_data_returns_the_digits_keyed(dtmf: str, command: str, reply: str) -> None:
    """GET DATA answers the digits up to '#' or maxdigits, else what came before the timeout."""
    channel, answer = await ask(dtmf, command)
    assert channel.startswith("PJSIP/agent1-")
    assert answer == reply
