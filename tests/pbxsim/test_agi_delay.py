"""The per-command AGI round trip: taken from the recordings, configurable."""

from __future__ import annotations

import asyncio
import statistics

from acd.pbxsim import DialplanConfig, PbxConfig, PbxSim, PhoneConfig, Timings
from acd.pbxsim.__main__ import build_config, parser
from tests.pbxsim.recording import TRACES, load

# Commands res_agi answers without waiting for anything (no media, no timer).
QUICK = ("GET VARIABLE", "GET FULL VARIABLE", "SET VARIABLE", "VERBOSE", "NOOP", "CHANNEL STATUS")


def recorded_round_trips() -> list[float]:
    """Seconds from each quick command written by the lab's recorder to the reply it read."""
    trips = []
    for path in sorted(TRACES.glob("**/agi.jsonl")):
        pending: dict[str, tuple[float, str]] = {}
        for record in load(str(path.relative_to(TRACES))):
            if record.direction == "tx" and record.kind == "command":
                pending[record.conn] = (record.t, record.raw.strip().upper())
            elif record.direction == "rx" and record.kind == "response" and record.conn in pending:
                sent_at, command = pending.pop(record.conn)
                if command.startswith(QUICK):
                    trips.append(record.t - sent_at)
    return trips


def test_default_delay_is_the_recorded_median() -> None:
    """``acd pbxsim``'s default AGI delay is the median round trip of the recorded quick
    commands (in-process it is 0 unless a test asks for it)."""
    trips = recorded_round_trips()
    assert len(trips) > 100
    config = build_config(parser().parse_args(["--ami-port", "0"]))
    assert abs(config.timings.agi_command - statistics.median(trips)) < 0.0001


def test_standalone_option_sets_the_delay() -> None:
    """``--agi-command-delay`` of ``acd pbxsim`` becomes Timings.agi_command."""
    config = build_config(parser().parse_args(["--agi-command-delay", "0.0125", "--ami-port", "0"]))
    assert config.timings.agi_command == 0.0125


async def round_trips(delay: float, commands: int) -> list[float]:
    """Round trips of ``commands`` NOOPs on one call, seen from a FastAGI server."""
    trips: list[float] = []

    async def app(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.readline() not in (b"\n", b""):
            continue  # the agi_* environment
        loop = asyncio.get_running_loop()
        for _ in range(commands):
            sent_at = loop.time()
            writer.write(b"NOOP\n")
            await writer.drain()
            assert await reader.readline() == b"200 result=0\n"
            trips.append(loop.time() - sent_at)
        writer.close()

    server = await asyncio.start_server(app, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = PbxConfig(
        phones=(PhoneConfig("agent1", "1001", "Agent One"),),
        dialplan=DialplanConfig(fallback_queue=None),
        timings=Timings(answer=0.0, agi_command=delay),
    )
    async with server, PbxSim(config) as pbx:
        record = pbx.place_call(queue=None, agi_url=f"agi://127.0.0.1:{port}/inbound")
        await asyncio.wait_for(record.done.wait(), 10)
    return trips


async def test_configured_delay_delays_every_reply() -> None:
    """With a 30 ms delay no reply comes sooner than 30 ms after its command."""
    trips = await round_trips(0.03, 5)
    assert len(trips) == 5
    assert min(trips) >= 0.03
