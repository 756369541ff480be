"""AMI Bridge on a caller inside a FastAGI session (issue 18): res_agi loses the channel at the
bridge (``200 result=-1``, ``HANGUP``, then 511 and no AGIExec events), the caller talks in the
bridge and, once the other party hangs up, continues in the dialplan after AGI()."""

from __future__ import annotations

import asyncio
import time

from acd.pbxsim import DialplanConfig, PbxConfig, PbxSim, PhoneConfig, QueueConfig, Timings
from acd.pbxsim.pbx import AmiEvent
from tests.deadlines import until
from tests.pbxsim.wire import RawAmi


class Daemon:
    """A FastAGI server that answers, waits for a digit, then asks CHANNEL STATUS."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.close_now = asyncio.Event()
        self.closed = asyncio.Event()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()).strip():
            pass  # the agi_* environment
        for command in ("ANSWER", "SET MUSIC ON default", "WAIT FOR DIGIT 60000"):
            writer.write(f"{command}\n".encode())
            self.lines.append(f"> {command}")
            self.lines.append((await reader.readline()).decode().strip())
        self.lines.append((await reader.readline()).decode().strip())  # HANGUP
        writer.write(b"CHANNEL STATUS\n")
        self.lines.append("> CHANNEL STATUS")
        self.lines.append((await reader.readline()).decode().strip())
        await self.close_now.wait()
        writer.close()
        await writer.wait_closed()
        self.closed.set()


async def test_bridge_pulls_the_caller_out_of_agi_and_it_continues_after() -> None:
    """Bridge: WAIT FOR DIGIT → -1, HANGUP, 511; the caller outlives the agent, then falls back."""
    daemon = Daemon()
    port = await daemon.start()
    sim = PbxSim(
        PbxConfig(
            agi_url=f"agi://127.0.0.1:{port}/inbound",
            phones=(PhoneConfig("agent1", "6001", "Agent One"),),
            queues=(QueueConfig("support", ()),),
            dialplan=DialplanConfig(fallback_prompt="queue-thankyou", fallback_queue=None),
            timings=Timings(answer=0.0, time_scale=0.05),
        )
    )
    seen: list[tuple[float, AmiEvent]] = []
    sim.subscribe(lambda event: seen.append((time.monotonic(), event)))
    async with sim:
        record = sim.place_call(queue=None)
        await until(lambda: "> WAIT FOR DIGIT 60000" in daemon.lines, 5, "WAIT FOR DIGIT")
        client = await RawAmi.connect(sim.ami_port)
        await client.login(events="off")
        answered = asyncio.ensure_future(sim.wait_for_event("OriginateResponse", 5))
        await client.action(
            "Originate",
            ("Channel", "PJSIP/agent1"),
            ("Context", "lab-orig"),
            ("Exten", "hold"),
            ("Priority", "1"),
            ("Async", "true"),
            ("ActionID", "o"),
        )
        response = await answered
        assert response["Response"] == "Success"
        agent = response["Channel"]
        await client.action("Bridge", ("Channel1", record.channel), ("Channel2", agent))
        await until(lambda: "511" in " ".join(daemon.lines), 5, "CHANNEL STATUS answered")
        bridged_at = next(t for t, e in seen if e.name == "BridgeEnter")
        # The agent hangs up while the daemon still holds its (dead) session open.
        sim.phone_hangs_up("agent1")
        await until(lambda: record.path == "fallback", 5, "continued after AGI()")
        assert not record.done.is_set()
        daemon.close_now.set()
        await asyncio.wait_for(record.done.wait(), 5)
        await client.close()
    await asyncio.wait_for(daemon.closed.wait(), 5)
    daemon.server.close()
    await daemon.server.wait_closed()
    assert daemon.lines[4:] == [
        "> WAIT FOR DIGIT 60000",
        "200 result=-1",
        "HANGUP",
        "> CHANNEL STATUS",
        "511 Command Not Permitted on a dead channel or intercept routine",
    ]
    after = [e for t, e in seen if t >= bridged_at]
    assert not [e for e in after if e.name.startswith("AGIExec")]
    caller_events = [e.name for e in after if dict(e.headers).get("Channel") == record.channel]
    # Not hung up with the agent: it leaves the bridge, plays the fallback prompt, then hangs up.
    assert caller_events[:1] == ["BridgeEnter"]
    assert caller_events[-2:] == ["SoftHangupRequest", "Hangup"]
    assert "BridgeLeave" in caller_events
    assert record.agi_status == ""


async def test_a_caller_hanging_up_in_the_bridge_takes_the_parked_party_with_it() -> None:
    """The pulled-out caller hangs up: the bridge dissolves, the parked agent is hung up too."""
    daemon = Daemon()
    port = await daemon.start()
    sim = PbxSim(
        PbxConfig(
            agi_url=f"agi://127.0.0.1:{port}/inbound",
            phones=(PhoneConfig("agent1", "6001", "Agent One"),),
            queues=(QueueConfig("support", ()),),
            dialplan=DialplanConfig(fallback_queue=None),
            timings=Timings(answer=0.0, time_scale=0.05),
        )
    )
    async with sim:
        record = sim.place_call(queue=None)
        await until(lambda: "> WAIT FOR DIGIT 60000" in daemon.lines, 5, "WAIT FOR DIGIT")
        client = await RawAmi.connect(sim.ami_port)
        await client.login(events="off")
        answered = asyncio.ensure_future(sim.wait_for_event("OriginateResponse", 5))
        await client.action(
            "Originate",
            ("Channel", "PJSIP/agent1"),
            ("Context", "lab-orig"),
            ("Exten", "hold"),
            ("Async", "true"),
        )
        agent = (await answered)["Channel"]
        await client.action("Bridge", ("Channel1", record.channel), ("Channel2", agent))
        await until(lambda: "HANGUP" in daemon.lines, 5, "HANGUP sent")
        assert sim.caller_hangs_up(record)
        await until(lambda: agent not in sim.live_channels(), 5, "the agent hung up")
        daemon.close_now.set()
        await asyncio.wait_for(record.done.wait(), 5)
        await client.close()
    await asyncio.wait_for(daemon.closed.wait(), 5)
    daemon.server.close()
    await daemon.server.wait_closed()
    assert record.path == "hangup"
    assert sim.live_channels() == []
