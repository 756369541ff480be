"""SAY DIGITS and SAY NUMBER with escape digits, and GET DATA stopped by a new command line.

No recording has a SAY command: pbxsim models them on S14's STREAM FILE (a key that is an escape
digit ends the command with its ASCII code, another key is ignored) and on res_agi.c
(handle_saydigits / handle_saynumber print ``200 result=<n>`` with no endpos, and write no reply
when a new command line stops them; handle_getdata likewise, ``res == 2``).
"""

from __future__ import annotations

import asyncio

import pytest

from acd.pbxsim import PbxConfig, PbxSim, Timings
from acd.pbxsim.pbx import AmiEvent
from tests.deadlines import until
from tests.pbxsim.wire import TIMEOUT

# Each SAY lasts one unknown-length prompt (1 s) × this: room for a key on a loaded machine.
SCALE = 4.0


async def converse(
    commands: list[str], keys: str = "", interrupt: bool = False
) -> tuple[list[str], float]:
    """Run ``commands`` in one AGI session; ``keys`` are pressed (RFC 2833) as soon as the first
    command starts; with ``interrupt`` a NOOP follows the first command as soon as it starts.
    Returns every reply line and how long the first command took (s)."""
    replies: list[str] = []
    loop = asyncio.get_running_loop()
    first_started = loop.create_future()

    async def app(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await asyncio.wait_for(reader.readline(), TIMEOUT) != b"\n":
            pass
        for index, command in enumerate(commands):
            writer.write(f"{command}\n".encode())
            await writer.drain()
            if index == 0 and interrupt:
                await asyncio.wait_for(asyncio.shield(first_started), TIMEOUT)
                writer.write(b'NOOP "interrupt"\n')
                await writer.drain()
            replies.append((await asyncio.wait_for(reader.readline(), TIMEOUT)).decode().strip())
        writer.close()

    def on_event(event: AmiEvent) -> None:
        headers = dict(event.headers)
        if event.name == "AGIExecStart" and headers["Command"] == commands[0]:
            if not first_started.done():
                first_started.set_result(loop.time())
            for key in keys:
                sim.press_key(headers["Channel"], key)

    server = await asyncio.start_server(app, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = PbxConfig(
        agi_url=f"agi://127.0.0.1:{port}/inbound",
        timings=Timings(answer=0.0, time_scale=SCALE),
    )
    async with server, PbxSim(config) as sim:
        sim.subscribe(on_event)
        sim.place_call(queue=None, patience=60.0)
        await until(lambda: len(replies) >= len(commands), within=30, what="every reply")
    return replies, loop.time() - first_started.result()


@pytest.mark.parametrize(
    ("command", "key", "reply"),
    [
        ('SAY DIGITS 0612345678 "12"', "1", "200 result=49"),
        ('SAY DIGITS 0612345678 "12"', "2", "200 result=50"),
        ('SAY NUMBER 12 "12"', "2", "200 result=50"),
        ('SAY NUMBER 21 "1" f', "1", "200 result=49"),
    ],
)
async def test_an_escape_digit_ends_say_with_its_ascii_code(
    command: str, key: str, reply: str
) -> None:
    """A key among the escape digits ends SAY DIGITS / SAY NUMBER at once with its ASCII code
    and no endpos (res_agi prints none for SAY)."""
    replies, took = await converse([command], keys=key)
    assert replies == [reply]
    assert took < SCALE  # the key ended it before its end


async def test_a_key_that_is_no_escape_digit_leaves_say_playing() -> None:
    """9 during SAY DIGITS "12" is ignored (as during S14's STREAM FILE): it ends normally."""
    replies, took = await converse(['SAY DIGITS 0612345678 "12"'], keys="9")
    assert replies == ["200 result=0"]
    assert took >= SCALE * 0.9


@pytest.mark.parametrize(
    "command",
    ['SAY DIGITS 0612345678 "12"', 'SAY NUMBER 7 ""', "GET DATA acd-callback-number 8000 16"],
)
async def test_a_new_command_line_stops_say_and_get_data_without_a_reply(command: str) -> None:
    """A NOOP written while SAY or GET DATA runs stops it; only the NOOP is answered."""
    replies, took = await converse([command, 'SET VARIABLE X "1"'], interrupt=True)
    assert replies == ["200 result=0", "200 result=1"]
    assert took < SCALE


@pytest.mark.parametrize(
    "command",
    ['SAY DIGITS 06123 "1" extra', 'SAY DIGITS abc "1"', 'SAY NUMBER "" "1"', "SAY DIGITS 12"],
)
async def test_say_with_bad_arguments_prints_its_usage(command: str) -> None:
    """res_agi wants exactly 4 words for SAY DIGITS and a number first, else 520 (usage)."""
    replies, _ = await converse([command])
    assert replies[0].startswith("520")
