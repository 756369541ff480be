"""A FastAGI socket that breaks while an advisor's phone rings is not the advisor's miss.

Found by resetting the connection (TCP RST) of a fake Asterisk right after the daemon sent
``EXEC Dial``: two such resets paused the advisor ``no_answer``. A real ring-out, Dial returning
``NOANSWER``, still counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator
from typing import Any

from structlog.testing import capture_logs

from acd.app import Daemon
from acd.core.events import AgentLoggedIn
from acd.core.states import Activity
from acd.pbxsim.sim import PbxSim
from acd.settings import parse_settings
from tests.deadlines import until
from tests.integration.test_daemon_calls import pbx_config


def settings(ami_port: int) -> Any:
    return parse_settings(
        {
            "ami": {"port": ami_port, "secret": "acdsecret", "ping_interval_s": 5},
            "fastagi": {"port": 0},
            "queues": {"support": {"announce_interval_s": None, "ring_timeout_s": 5, "retry_s": 0}},
            "agents": {
                "agent1": {"endpoint": "PJSIP/agent1", "queues": ["support"], "max_missed": 2}
            },
        }
    )


@contextlib.asynccontextmanager
async def one_advisor() -> AsyncIterator[Daemon]:
    """The daemon (AMI to pbxsim for the phones' states) with agent1 logged in."""
    async with PbxSim(pbx_config()) as pbx:
        daemon = Daemon(settings(pbx.ami_port))
        task = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.started.wait(), 5)
        await daemon.ami.wait_connected(5)
        await daemon.dispatcher.submit(AgentLoggedIn(at=daemon.dispatcher.now(), agent_id="agent1"))
        try:
            yield daemon
        finally:
            daemon.stop()
            await asyncio.wait_for(task, 10)


def environment(port: int, uniqueid: str) -> bytes:
    lines = [
        "agi_network: yes",
        "agi_network_script: inbound?queue=support",
        f"agi_request: agi://127.0.0.1:{port}/inbound?queue=support",
        f"agi_channel: PJSIP/trunk-{uniqueid.replace('.', '')}",
        "agi_language: fr",
        "agi_type: PJSIP",
        f"agi_uniqueid: {uniqueid}",
        "agi_version: 22.10.1",
        "agi_callerid: 0612345678",
        "agi_calleridname: Zoé",
        "agi_context: acd-inbound",
        "agi_extension: 401",
        "agi_priority: 2",
    ]
    return ("\n".join(lines) + "\n\n").encode()


async def asterisk_call(port: int, uniqueid: str, *, at_dial: str) -> None:
    """A caller's AGI() as Asterisk runs it, up to the Dial; then ``at_dial``: ``reset`` breaks
    the socket with a TCP RST, ``ring_out`` lets Dial return NOANSWER and the caller leave."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(environment(port, uniqueid))
    dialled = rung_out = False
    async with asyncio.timeout(10):
        while line := (await reader.readline()).decode().strip():
            if line.startswith("EXEC Dial"):
                if at_dial == "reset":
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    writer.transport.abort()
                    return
                dialled = True
                writer.write(b"200 result=0\n")
            elif line == "GET VARIABLE DIALSTATUS" and dialled:
                writer.write(b"200 result=1 (NOANSWER)\n")
                rung_out = True
            elif rung_out:
                # The next command (music back on) proves the ring-out was read: now the
                # caller leaves.
                writer.write(b"HANGUP\n")
                writer.close()
                return
            else:
                writer.write(b"200 result=0\n")
    writer.close()


def agent1(daemon: Daemon) -> Any:
    return next(a for a in daemon.engine.snapshot(daemon.dispatcher.now()).agents)


async def calls_ended(daemon: Daemon, count: int) -> None:
    await until(
        lambda: (
            sum(q.abandoned for q in daemon.engine.snapshot(daemon.dispatcher.now()).queues)
            >= count
        ),
        within=10,
        what=f"{count} calls over",
    )
    await daemon.dispatcher.drain()


async def test_two_broken_sockets_while_ringing_do_not_pause_the_advisor() -> None:
    """Two callers' sockets reset while agent1 rings (max_missed=2): agent1 stays available,
    with no miss counted; each break is logged as the peer's fault."""
    async with one_advisor() as daemon:
        with capture_logs() as logs:
            for n in (1, 2):
                await asterisk_call(daemon.fastagi_port, f"1700000000.{n}", at_dial="reset")
                await calls_ended(daemon, n)
        advisor = agent1(daemon)
        assert advisor.activity is Activity.AVAILABLE
        assert advisor.missed_in_row == 0
        lost = [e for e in logs if e["event"] == "dial_session_lost"]
        assert len(lost) == 2
        assert all(e["log_level"] == "warning" for e in lost)


async def test_two_ring_outs_still_pause_the_advisor() -> None:
    """The control: two Dials that return NOANSWER are two misses, and agent1 is paused."""
    async with one_advisor() as daemon:
        for n in (1, 2):
            await asterisk_call(daemon.fastagi_port, f"1700000000.{n}", at_dial="ring_out")
            await calls_ended(daemon, n)
        advisor = agent1(daemon)
        assert advisor.activity is Activity.PAUSED
        assert advisor.reason == "no_answer"
