"""Feature codes under attack, on real sockets: forged channels, PIN guessing, lockouts, unlock.

The attacker is a FastAGI client on an allowed host (loopback) that writes its own environment:
it claims an advisor's channel that Asterisk (pbxsim, over AMI) has never heard of.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

from structlog.testing import capture_logs

from acd.app import Daemon
from acd.core.states import Activity, Presence
from acd.pbxsim.sim import PbxSim
from acd.settings import parse_settings
from tests.integration.test_daemon_calls import AGENTS, PIN, Centre, feature_code, pbx_config

SUPERVISOR_TOKEN = "supervisor-token-0123456789"


def forged_environment(port: int, channel: str, uniqueid: str, query: str) -> bytes:
    """What res_agi sends, written by hand for a channel the client only claims."""
    lines = [
        "agi_network: yes",
        f"agi_network_script: agent?{query}",
        f"agi_request: agi://127.0.0.1:{port}/agent?{query}",
        f"agi_channel: {channel}",
        "agi_language: fr",
        "agi_type: PJSIP",
        f"agi_uniqueid: {uniqueid}",
        "agi_version: 22.10.1",
        "agi_callerid: 1002",
        "agi_context: acd-advisors",
        "agi_extension: *49",
        "agi_priority: 3",
    ]
    return ("\n".join(lines) + "\n\n").encode()


async def forged_feature_code(
    centre: Centre, agent: str, query: str, digits: str | None = None
) -> list[str]:
    """A client on an allowed host claims ``agent``'s phone dialled a code; it keys ``digits``
    if asked for a PIN. Returns the commands the daemon sent."""
    port = centre.daemon.fastagi_port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(forged_environment(port, f"PJSIP/{agent}-0000ffff", "1700000000.999", query))
    commands: list[str] = []
    try:
        async with asyncio.timeout(10):
            while line := (await reader.readline()).decode().strip():
                commands.append(line)
                if line.startswith("GET DATA"):
                    answer = f"200 result={digits}" if digits else "200 result= (timeout)"
                elif line.startswith("HANGUP"):
                    answer = "200 result=1"
                else:
                    answer = "200 result=0"
                writer.write(f"{answer}\n".encode())
    finally:
        writer.close()
    await centre.daemon.dispatcher.drain()
    return commands


def settings(ami_port: int, **fastagi: Any) -> Any:
    return parse_settings(
        {
            "ami": {"port": ami_port, "secret": "acdsecret", "ping_interval_s": 5},
            "fastagi": {"port": 0, **fastagi},
            "http": {"port": 0},
            "workload": {"min_wrap_up_s": 0},
            "queues": {"support": {"announce_interval_s": None, "ring_timeout_s": 1}},
            "agents": {
                name: {"endpoint": f"PJSIP/{name}", "queues": ["support"], "pin": PIN}
                for name in AGENTS
            },
            "supervisors": {"sam": {"token": SUPERVISOR_TOKEN}},
        }
    )


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def centre_with(*, ami_down: bool = False, **fastagi: Any) -> AsyncIterator[Centre]:
    """pbxsim and the daemon (HTTP on a free port), every advisor logged in; ``ami_down``: the
    daemon's AMI points at a closed port (pbxsim still runs the phones)."""
    async with PbxSim(pbx_config(time_scale=0.05)) as pbx:
        ami_port = closed_port() if ami_down else pbx.ami_port
        daemon = Daemon(settings(ami_port, **fastagi), auto_login=True, live_interfaces=True)
        task = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.started.wait(), 10)
        if not ami_down:
            await daemon.ami.wait_connected(5)
        await daemon.dispatcher.drain()
        try:
            yield Centre(pbx, daemon)
        finally:
            daemon.stop()
            await asyncio.wait_for(task, 10)


async def http(centre: Centre, method: str, path: str, token: str | None) -> tuple[int, Any]:
    """One request to the daemon's HTTP server; the status and the JSON body."""
    assert centre.daemon.http is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", centre.daemon.http.port)
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    writer.write(
        f"{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 0\r\n"
        "Connection: close\r\n\r\n".encode()
    )
    async with asyncio.timeout(10):
        answer = await reader.read()
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


async def test_a_forged_channel_cannot_log_an_advisor_out_without_the_pin() -> None:
    """A client claiming agent2's channel is asked the PIN (AMI knows no such channel); with a
    wrong one or none, agent2 stays logged in and the forgery is logged."""
    async with centre_with() as centre:
        with capture_logs() as logs:
            none = await forged_feature_code(centre, "agent2", "action=logout")
            wrong = await forged_feature_code(centre, "agent2", "action=logout", digits="0000")
        assert any(c.startswith("GET DATA") for c in none)
        assert any(c.startswith("GET DATA") for c in wrong)
        assert centre.agent("agent2").presence is Presence.LOGGED_IN
        forged = [e for e in logs if e["event"] == "feature_code_channel_unconfirmed"]
        assert len(forged) == 2
        assert forged[0]["agent_id"] == "agent2"
        assert PIN not in repr(logs)


async def test_a_forged_channel_with_the_right_pin_acts() -> None:
    """The PIN is the other proof: a claimed channel that keys the advisor's PIN pauses them."""
    async with centre_with() as centre:
        await forged_feature_code(centre, "agent2", "action=pause&reason=lunch", digits=PIN)
        assert centre.agent("agent2").activity is Activity.PAUSED


async def test_the_advisors_own_phone_needs_no_pin_except_to_log_in() -> None:
    """From the advisor's own endpoint (confirmed over AMI) a pause needs no PIN, a login does."""
    async with centre_with() as centre:
        record = await feature_code(centre, "agent1", "action=pause&reason=break")
        assert record.acd_state == "done"
        assert centre.agent("agent1").activity is Activity.PAUSED
        await feature_code(centre, "agent1", "action=logout")
        assert centre.agent("agent1").presence is Presence.LOGGED_OUT
        await feature_code(centre, "agent1", "action=login")
        assert centre.agent("agent1").presence is Presence.LOGGED_OUT
        await feature_code(centre, "agent1", "action=login", dtmf=f"{PIN}#")
        assert centre.agent("agent1").presence is Presence.LOGGED_IN


async def test_wrong_pins_lock_the_advisor_until_a_supervisor_unlocks() -> None:
    """Three wrong PINs in a row lock agent3's PIN: the right one is then refused without being
    asked; a supervisor's unlock over HTTP restores it."""
    async with centre_with(pin_lock_after=3) as centre:
        await feature_code(centre, "agent3", "action=logout")
        with capture_logs() as logs:
            for wrong in ("1111", "2222", "3333"):
                await feature_code(centre, "agent3", "action=login", dtmf=f"{wrong}#")
            await feature_code(centre, "agent3", "action=login", dtmf=f"{PIN}#")
        assert centre.agent("agent3").presence is Presence.LOGGED_OUT
        events = [e["event"] for e in logs]
        assert events.count("advisor_pin_locked") == 1
        assert [e["reason"] for e in logs if e["event"] == "advisor_pin_refused"][-1] == (
            "advisor locked"
        )
        status, _ = await http(centre, "POST", "/api/v1/supervisor/agents/agent3/pin/unlock", None)
        assert status == 401
        status, body = await http(
            centre, "GET", "/api/v1/supervisor/agents/agent3/pin", SUPERVISOR_TOKEN
        )
        assert (status, body["locked"]) == (200, True)
        status, body = await http(
            centre, "POST", "/api/v1/supervisor/agents/agent3/pin/unlock", SUPERVISOR_TOKEN
        )
        assert (status, body["unlocked"], body["locked"]) == (200, True, False)
        await feature_code(centre, "agent3", "action=login", dtmf=f"{PIN}#")
        assert centre.agent("agent3").presence is Presence.LOGGED_IN


async def test_a_right_pin_resets_the_count() -> None:
    """Wrong, wrong, right, wrong, wrong: never three in a row, so the PIN never locks."""
    async with centre_with(pin_lock_after=3) as centre:
        for digits in ("1111", "2222", PIN, "3333", "4444"):
            await feature_code(centre, "agent1", "action=logout")
            await feature_code(centre, "agent1", "action=login", dtmf=f"{digits}#")
        assert not centre.daemon.pin_locked("agent1")


async def test_a_source_spraying_pins_over_advisors_is_locked_out() -> None:
    """Forged sessions guessing one PIN per advisor from one peer: after four failures (forged
    channels and wrong PINs alike) within the window, that peer's PIN checks are refused, even
    the right PIN, without a GET DATA; no advisor is locked."""
    async with centre_with(source_lock_after=4, pin_lock_after=5) as centre:
        with capture_logs() as logs:
            first = await forged_feature_code(centre, "agent1", "action=logout", digits="9999")
            second = await forged_feature_code(centre, "agent2", "action=logout", digits="9999")
            refused = await forged_feature_code(centre, "agent3", "action=logout", digits=PIN)
        assert any(c.startswith("GET DATA") for c in first + second)
        assert not any(c.startswith("GET DATA") for c in refused)
        assert [e["event"] for e in logs].count("feature_code_source_locked") == 1
        assert all(centre.agent(a).presence is Presence.LOGGED_IN for a in AGENTS)
        assert not any(centre.daemon.pin_locked(a) for a in AGENTS)


async def test_feature_codes_without_ami_ask_the_pin() -> None:
    """With AMI down nothing can confirm the endpoint: the advisor's own phone is asked the PIN
    (a pause without it does nothing, with it pauses)."""
    async with centre_with(ami_down=True) as centre:
        assert not centre.daemon.ami.connected
        await feature_code(centre, "agent1", "action=pause&reason=break")
        assert centre.agent("agent1").activity is Activity.AVAILABLE
        await feature_code(centre, "agent1", "action=pause&reason=break", dtmf=f"{PIN}#")
        assert centre.agent("agent1").activity is Activity.PAUSED
