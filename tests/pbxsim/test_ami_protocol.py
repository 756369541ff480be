"""The AMI session layer against S6: banner, logins, framing quirks, replayed byte for byte."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import time

import pytest

from acd.pbxsim import AmiUser, PbxConfig, PbxSim, Timings
from tests.pbxsim.recording import Headers, load, parse_messages
from tests.pbxsim.wire import RawAmi

S6 = "S6-ami-protocol-edge-cases"
FAST = Timings(login_failure_delay=0.05)


VARYING = frozenset(
    {
        "Timestamp",
        "Challenge",
        "Uptime",
        "LastReload",
        "EventTV",
        "SessionTV",
        "SessionID",
        "LocalAddress",
        "RemoteAddress",
    }
)


def masked(message: Headers) -> Headers:
    """Mask values that differ by nature between runs: clock, nonce, addresses."""
    return [(key, "<varies>" if key in VARYING else value) for key, value in message]


def recorded_exchange(conn: str) -> list[tuple[str, str]]:
    """(tx bytes | rx message text) in the recorded order for one S6 connection."""
    return [
        (r.direction, r.raw)
        for r in load(f"{S6}/ami.jsonl")
        if r.conn == conn and r.direction in ("tx", "rx") and r.kind != "banner"
    ]


async def replay_connection(sim: PbxSim, conn: str) -> tuple[list[Headers], list[Headers]]:
    """Send the recorded bytes of ``conn``, waiting for as many replies as Asterisk gave."""
    client = await RawAmi.connect(sim.ami_port)
    await client.wait_for(None, count=0)
    expected: list[Headers] = []
    pending = 0
    for direction, recorded in recorded_exchange(conn):
        raw = recorded
        if direction == "rx":
            expected.extend(parse_messages(raw.encode()))
            pending += 1
            continue
        if pending:
            await client.wait_for(None, count=len(expected))
            pending = 0
        challenge = _challenge(client.messages())
        if "\r\nKey: " in raw and challenge is not None:
            key = hashlib.md5((challenge + "acdsecret").encode(), usedforsecurity=False).hexdigest()
            raw = re.sub(r"Key: [0-9a-f]+", f"Key: {key}", raw)
        await client.send(raw)
    await client.wait_for(None, count=len(expected))
    got = client.messages()
    await client.close()
    return expected, got


def _challenge(messages: list[Headers]) -> str | None:
    for message in messages:
        for key, value in message:
            if key == "Challenge":
                return value
    return None


@pytest.mark.parametrize("conn", ["badauth", "prelogin", "nouser", "edge"])
async def test_s6_connection_replayed(conn: str) -> None:
    """Every response of the recorded S6 connection comes back identical (ListCommands aside)."""
    async with PbxSim(PbxConfig(timings=FAST)) as sim:
        expected, got = await replay_connection(sim, conn)
    if conn == "edge":
        # ListCommands lists Asterisk's 150+ actions; pbxsim lists its own (documented).
        expected = [m for m in expected if ("ActionID", "edge-017") not in m]
        got = [m for m in got if ("ActionID", "edge-017") not in m]
    assert [masked(m) for m in got] == [masked(m) for m in expected]


async def test_banner_is_one_line_sent_at_once() -> None:
    """The banner is the single line ``Asterisk Call Manager/11.0.0\\r\\n``, before any input."""
    async with PbxSim() as sim:
        client = await RawAmi.connect(sim.ami_port)
        with contextlib.suppress(TimeoutError):
            # Anything sent after the banner would arrive within this wait and fail the test.
            await client.wait_for(None, count=1)
        assert bytes(client.received) == b"Asterisk Call Manager/11.0.0\r\n"
        await client.close()


async def test_failed_login_waits_one_second_by_default() -> None:
    """A wrong secret is answered after about one second (Asterisk's default), then closed."""
    async with PbxSim() as sim:
        client = await RawAmi.connect(sim.ami_port)
        started = time.monotonic()
        await client.login(secret="wrong")
        elapsed = time.monotonic() - started
        await client.wait_eof()
        assert 0.9 <= elapsed < 2.0
        assert ("Message", "Authentication failed") in client.messages()[0]
        await client.close()


async def test_login_with_events_gets_fully_booted_then_successful_auth() -> None:
    """Login with Events on: the response, then FullyBooted and SuccessfulAuth, as recorded."""
    async with PbxSim() as sim:
        client = await RawAmi.connect(sim.ami_port)
        await client.login()
        messages = await client.wait_for("SuccessfulAuth")
        del messages
        names = [m[0] for m in client.messages()]
        assert names == [
            ("Response", "Success"),
            ("Event", "FullyBooted"),
            ("Event", "SuccessfulAuth"),
        ]
        recorded = [r for r in load(f"{S6}/ami.jsonl") if r.conn == "r1" and r.kind == "event"]
        want = [[k for k, _ in r.headers] for r in recorded[:2]]
        got = [[k for k, _ in m] for m in client.messages()[1:3]]
        assert got == want
        await client.close()


async def test_read_classes_filter_events() -> None:
    """A user reading only ``call`` gets no agi, system or security events."""
    users = (AmiUser("acd", "acdsecret", read=("call",)),)
    async with PbxSim(PbxConfig(ami_users=users)) as sim:
        client = await RawAmi.connect(sim.ami_port)
        await client.login()
        sim.place_call(agi_url="agi://127.0.0.1:9/none", queue=None, patience=0.05)
        await client.wait_for("Event: Hangup")
        events = {dict(m).get("Event") for m in client.messages()}
        assert "Newchannel" in events
        assert "FullyBooted" not in events
        assert "SuccessfulAuth" not in events
        await client.close()


async def test_event_mask_limits_classes() -> None:
    """``Events: call`` on login restricts events to the call class."""
    async with PbxSim() as sim:
        client = await RawAmi.connect(sim.ami_port)
        await client.login(events="agent")
        sim.place_call(agi_url="agi://127.0.0.1:9/none", queue=None, patience=0.05)
        await sim.wait_calls_done(5)
        await asyncio.sleep(0.05)  # fixed-sleep: the window in which no call event may arrive
        events = [dict(m).get("Event") for m in client.messages() if "Event" in dict(m)]
        assert "Newchannel" not in events
        await client.close()
