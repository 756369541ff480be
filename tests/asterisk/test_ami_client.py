"""AMI client behaviour against fake AMI servers replaying recorded Asterisk 22 bytes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from structlog.testing import capture_logs

from acd.asterisk.ami_client import (
    AmiClient,
    AmiSettings,
    PlaybackControl,
    ReconnectBackoff,
    md5_login_key,
)
from acd.asterisk.ami_events import (
    AmiEvent,
    ContactList,
    CoreShowChannel,
    DeviceStateChange,
    FullyBooted,
    Hangup,
    Newchannel,
    Shutdown,
)
from acd.asterisk.errors import (
    AmiConnectionLostError,
    AmiNotConnectedError,
    AmiTimeoutError,
)
from tests.asterisk.fake_ami import FakeAmi, FakePeer
from tests.asterisk.recordings import load

SECRET = "s3cret-Zq9"
S6 = "S6-ami-protocol-edge-cases/ami.jsonl"


def _settings(port: int, **overrides: float) -> AmiSettings:
    values: dict[str, float] = {
        "connect_timeout": 2.0,
        "action_timeout": 2.0,
        "ping_interval": 30.0,
        "ping_timeout": 2.0,
        "backoff_initial": 0.05,
        "backoff_max": 0.2,
    }
    values.update(overrides)
    return AmiSettings(host="127.0.0.1", port=port, username="acd", secret=SECRET, **values)  # type: ignore[arg-type]


@dataclass
class Running:
    client: AmiClient
    events: list[AmiEvent] = field(default_factory=list)
    resyncs: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def until(self, predicate: Callable[[], bool], within_s: float = 3.0) -> None:
        async with asyncio.timeout(within_s):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()


@contextlib.asynccontextmanager
async def running_client(port: int, **overrides: float) -> AsyncIterator[Running]:
    running: Running

    async def on_connected(client: AmiClient) -> None:
        running.resyncs += 1
        running.changed.set()

    def on_event(event: AmiEvent) -> None:
        running.events.append(event)
        running.changed.set()

    client = AmiClient(
        _settings(port, **overrides),
        on_event=on_event,
        on_connected=on_connected,
        rng=random.Random(1),
    )
    running = Running(client)
    task = asyncio.create_task(client.run())
    try:
        yield running
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _recorded(conn: str, first_seq: int, last_seq: int) -> str:
    return "".join(
        r.raw
        for r in load(S6)
        if r.conn == conn and r.direction == "rx" and first_seq <= r.seq <= last_seq
    )


async def test_login_then_recorded_call_events_arrive_typed() -> None:
    """Login carries an ActionID and Events: on; recorded S6 r1 events arrive as typed records."""

    async def script(peer: FakePeer) -> None:
        await peer.login(extra=_recorded("r1", 105, 117))
        await peer.drain_actions(5)

    async with FakeAmi(script) as fake, running_client(fake.port) as running:
        await running.client.wait_connected(3)
        await running.until(lambda: any(isinstance(e, Newchannel) for e in running.events))
        login = fake.peers[0].actions[0]
        assert login.get("ActionID") == "acd-1-1"
        assert login.get("Events") == "on"
        assert login.get("Username") == "acd"
        assert isinstance(running.events[0], FullyBooted)
        assert any(
            isinstance(e, DeviceStateChange) and e.device == "PJSIP/callers" for e in running.events
        )
        await running.until(lambda: running.resyncs == 1)


async def test_list_action_collects_recorded_items_until_complete() -> None:
    """CoreShowChannels returns the recorded S6 r2 item, closed by CoreShowChannelsComplete."""
    template = _recorded("r2", 129, 131)

    async def script(peer: FakePeer) -> None:
        await peer.login()
        action = await peer.read_action()
        assert action.get("Action") == "CoreShowChannels"
        await peer.send(template.replace("r2-002", str(action.action_id)))
        await peer.drain_actions(5)

    async with FakeAmi(script) as fake, running_client(fake.port) as running:
        await running.client.wait_connected(3)
        channels = await running.client.core_show_channels()
        assert [c.channel.channel for c in channels] == ["PJSIP/callers-00000000"]
        assert isinstance(channels[0], CoreShowChannel)
        assert not any(isinstance(e, CoreShowChannel) for e in running.events)


async def test_pjsip_show_contacts_error_with_stray_lf_is_an_empty_list() -> None:
    """S11's `No Contacts found` error (with a bare LF) gives no contacts instead of failing."""

    async def script(peer: FakePeer) -> None:
        await peer.login()
        action = await peer.read_action()
        await peer.send(
            f"Response: Error\r\nActionID: {action.action_id}\r\nMessage: No Contacts found\n"
            "\r\n\r\n"
        )
        await peer.drain_actions(5)

    async with FakeAmi(script) as fake, running_client(fake.port) as running:
        await running.client.wait_connected(3)
        contacts: tuple[ContactList, ...] = await running.client.pjsip_show_contacts()
        assert contacts == ()


async def test_caller_name_split_inside_a_utf8_character_arrives_intact() -> None:
    """'Zoé' cut between two TCP writes reaches on_event intact (panoramisk defect 1)."""
    newchannel = _recorded("r1", 107, 107).replace("Caller 5551006", "Zoé Dupré")
    data = newchannel.encode()
    cut = data.index("é".encode()) + 1

    async def script(peer: FakePeer) -> None:
        await peer.login()
        await peer.send(data[:cut])
        await asyncio.sleep(0.05)  # fixed-sleep: the halves reach the client as separate reads
        await peer.send(data[cut:])
        await peer.drain_actions(5)

    async with FakeAmi(script) as fake, running_client(fake.port) as running:
        await running.until(lambda: any(isinstance(e, Newchannel) for e in running.events))
        (event,) = [e for e in running.events if isinstance(e, Newchannel)]
        assert event.channel.caller_id_name == "Zoé Dupré"


async def test_unanswered_action_times_out_with_a_clear_error() -> None:
    """A Getvar Asterisk never answers fails with AmiTimeoutError, not an endless await."""

    async def script(peer: FakePeer) -> None:
        await peer.login()
        getvar = await peer.read_action()
        ping = await peer.read_action(within_s=3)
        await peer.send(f"Response: Success\r\nActionID: {ping.action_id}\r\nPing: Pong\r\n\r\n")
        # The late reply to the timed-out Getvar is logged and dropped.
        await peer.send(f"Response: Success\r\nActionID: {getvar.action_id}\r\nValue: x\r\n\r\n")
        await peer.drain_actions(5)

    async with FakeAmi(script) as fake, running_client(fake.port) as running:
        await running.client.wait_connected(3)
        started = time.monotonic()
        with pytest.raises(AmiTimeoutError, match="Getvar"):
            await running.client.send_action("Getvar", {"Variable": "X"}, response_timeout=0.2)
        assert time.monotonic() - started < 1.5
        assert (await running.client.ping()).ok


async def test_half_open_socket_is_detected_by_keepalive_and_reconnected() -> None:
    """A peer that stops answering (socket still open) is dropped after a Ping timeout."""

    async def script(peer: FakePeer) -> None:
        await peer.login()
        if peer.number == 1:
            await peer.drain_actions(10)  # reads, never answers: a half-open connection
        else:
            while True:
                action = await peer.read_action(within_s=10)
                await peer.send(
                    f"Response: Success\r\nActionID: {action.action_id}\r\nPing: Pong\r\n\r\n"
                )

    async with (
        FakeAmi(script) as fake,
        running_client(fake.port, ping_interval=0.1, ping_timeout=0.2) as running,
    ):
        with capture_logs() as logs:
            await fake.wait_for_peers(2, within_s=3)
            await running.until(lambda: running.resyncs == 2)
        assert any(entry["event"] == "ami_keepalive_failed" for entry in logs)
        assert [a.get("Action") for a in fake.peers[0].actions][:2] == ["Login", "Ping"]


async def test_actions_unanswered_at_disconnect_fail_and_are_never_resent() -> None:
    """An Originate pending at disconnect fails with AmiConnectionLostError and is never re-sent."""

    async def script(peer: FakePeer) -> None:
        await peer.login()
        if peer.number == 1:
            originate = await peer.read_action()
            assert originate.get("Action") == "Originate"
            peer.writer.close()
            return
        await peer.drain_actions(10)

    async with FakeAmi(script) as fake, running_client(fake.port) as running:
        await running.client.wait_connected(3)
        with pytest.raises(AmiConnectionLostError, match="not re-sent"):
            await running.client.send_action(
                "Originate", {"Channel": "PJSIP/agent1", "Application": "Wait", "Data": "1"}
            )
        await fake.wait_for_peers(2)
        await running.until(lambda: running.resyncs == 2)
        await asyncio.sleep(0.2)  # fixed-sleep: the window in which nothing may be re-sent
        assert [a.get("Action") for a in fake.peers[1].actions] == ["Login"]


async def test_action_without_connection_is_refused_at_once() -> None:
    """Before login, send_action raises AmiNotConnectedError instead of queueing."""
    client = AmiClient(_settings(1), on_event=lambda event: None)
    with pytest.raises(AmiNotConnectedError):
        await client.ping()


async def test_failed_login_is_logged_retried_and_the_secret_never_logged() -> None:
    """A refused login (S6 badauth) is retried with backoff; no log entry contains the secret."""
    refusal = _recorded("badauth", 6, 6)

    async def script(peer: FakePeer) -> None:
        login = await peer.read_action()
        if peer.number == 1:
            await peer.send(refusal.replace("badauth-001", str(login.action_id)))
            peer.writer.close()
            return
        await peer.send(
            f"Response: Success\r\nActionID: {login.action_id}\r\n"
            "Message: Authentication accepted\r\n\r\n"
        )
        while True:
            action = await peer.read_action(within_s=10)
            await peer.send(f"Response: Success\r\nActionID: {action.action_id}\r\n\r\n")

    with capture_logs() as logs:
        async with FakeAmi(script) as fake, running_client(fake.port) as running:
            await running.client.wait_connected(3)
            await running.client.send_action("Setvar", {"Variable": "ACD", "Value": SECRET})
    assert any(entry["event"] == "ami_login_failed" for entry in logs)
    assert any(entry["event"] == "ami_reconnect_scheduled" for entry in logs)
    assert SECRET not in repr(logs)
    assert SECRET not in repr(_settings(1))


async def test_bad_frames_are_logged_and_dropped_and_the_stream_goes_on() -> None:
    """Malformed, headerless and oversized frames are logged and dropped; later events arrive."""
    good_hangup = _recorded("r2", 146, 146)
    broken_hangup = re.sub(r"\r\nCause: \d+", "", good_hangup)
    assert broken_hangup != good_hangup

    async def script(peer: FakePeer) -> None:
        await peer.login()
        await peer.send(broken_hangup)
        await peer.send("Something odd\r\n\r\n")
        await peer.send("Event: Huge\r\nData: " + "x" * 70000 + "\r\n\r\n")
        await peer.send(good_hangup)
        await peer.drain_actions(5)

    with capture_logs() as logs:
        async with FakeAmi(script) as fake, running_client(fake.port) as running:
            await running.until(lambda: any(isinstance(e, Hangup) for e in running.events))
    hangups = [e for e in running.events if isinstance(e, Hangup)]
    assert len(hangups) == 1
    assert hangups[0].cause == 0
    malformed = [e for e in logs if e["event"] == "ami_event_rejected"]
    assert malformed[0]["uniqueid"] == hangups[0].channel.uniqueid
    assert sum(e["event"] == "ami_frame_dropped" for e in logs) == 2


async def test_shutdown_event_is_delivered_then_the_client_reconnects() -> None:
    """Asterisk's Shutdown (S6 r2) reaches on_event; after the close the client logs in again."""
    shutdown = _recorded("r2", 151, 151)

    async def script(peer: FakePeer) -> None:
        await peer.login()
        if peer.number == 1:
            await peer.send(shutdown)
            peer.writer.close()
            return
        await peer.drain_actions(10)

    async with FakeAmi(script) as fake, running_client(fake.port) as running:
        await fake.wait_for_peers(2)
        await running.until(lambda: running.resyncs == 2)
        assert any(isinstance(e, Shutdown) for e in running.events)


async def test_control_playback_sends_the_control_playback_action() -> None:
    """control_playback(channel) sends ControlPlayback with Channel and Control: stop."""

    async def script(peer: FakePeer) -> None:
        await peer.login()
        action = await peer.read_action()
        await peer.send(f"Response: Success\r\nActionID: {action.action_id}\r\n\r\n")
        await peer.drain_actions(5)

    async with FakeAmi(script) as fake, running_client(fake.port) as running:
        await running.client.wait_connected(3)
        response = await running.client.control_playback(
            "PJSIP/callers-00000000", PlaybackControl.STOP
        )
        assert response.ok
        action = fake.peers[0].actions[1]
        assert action.headers[0] == ("Action", "ControlPlayback")
        assert action.get("Channel") == "PJSIP/callers-00000000"
        assert action.get("Control") == "stop"


def test_backoff_is_capped_jittered_and_deterministic_with_a_seeded_rng() -> None:
    """Delays double up to the cap, are scaled down by at most the jitter, and repeat per seed."""
    first = ReconnectBackoff(0.5, 8.0, random.Random(42))
    second = ReconnectBackoff(0.5, 8.0, random.Random(42))
    delays = [first.next_delay() for _ in range(10)]
    assert delays == [second.next_delay() for _ in range(10)]
    bases = [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0]
    for delay, base in zip(delays, bases, strict=True):
        assert base * 0.5 <= delay <= base
    first.reset()
    assert first.next_delay() <= 0.5


def _recorded_answers(recording: str) -> dict[tuple[tuple[str, str], ...], str]:
    """Recorded actions (headers without ActionID) -> Asterisk's recorded response."""
    records = load(recording)
    actions = {
        str(dict(r.headers)["ActionID"]): r
        for r in records
        if r.direction == "tx" and r.kind == "action"
    }
    answers: dict[tuple[tuple[str, str], ...], str] = {}
    for record in records:
        if record.direction == "rx" and record.kind == "response":
            action_id = str(dict(record.headers).get("ActionID"))
            action = actions.get(action_id)
            if action is not None:
                key = tuple((str(k), str(v)) for k, v in action.headers if k != "ActionID")
                answers.setdefault(key, record.raw.replace(action_id, "{action_id}"))
    return answers


async def test_call_control_helpers_send_the_recorded_actions_and_read_the_replies() -> None:
    """Call-control helpers send the S5 actions (bar ActionID) and read the recorded replies."""
    answers = _recorded_answers("S5-ami-actions/ami.jsonl")
    unmatched: list[tuple[tuple[str, str], ...]] = []

    async def script(peer: FakePeer) -> None:
        await peer.login()
        while True:
            action = await peer.read_action(within_s=10)
            key = tuple((k, v) for k, v in action.headers if k != "ActionID")
            answer = answers.get(key)
            if answer is None:
                unmatched.append(key)
                answer = "Response: Error\r\nActionID: {action_id}\r\nMessage: unrecorded\r\n\r\n"
            await peer.send(answer.replace("{action_id}", str(action.action_id)))

    agent1 = "PJSIP/agent1-00000000"
    async with FakeAmi(script) as fake, running_client(fake.port) as running:
        client = running.client
        await client.wait_connected(3)
        assert (await client.setvar("ACD_NOTE", "vip customer", channel=agent1)).ok
        assert await client.getvar("ACD_NOTE", channel=agent1) == "vip customer"
        assert await client.getvar("DOES_NOT_EXIST", channel=agent1) == ""
        assert await client.getvar("CALLERID(num)", channel=agent1) == "7000"
        assert (await client.setvar("ACD_GLOBAL", "42")).ok
        assert await client.getvar("ACD_GLOBAL") == "42"
        assert await client.getvar("X", channel="PJSIP/nonexistent-00000099") is None
        redirect = await client.redirect(agent1, "lab-orig", "moved")
        assert redirect.message == "Redirect successful"
        hangup = await client.hangup("PJSIP/agent3-00000003", cause=16)
        assert hangup.message == "Channel Hungup"
        assert (await client.ping()).get("Ping") == "Pong"
    assert unmatched == []


async def test_reconnect_during_a_call_resyncs_and_follows_the_live_call() -> None:
    """After a reset mid-call (S6 r1/r2) the resync lists the live call and its Hangup arrives."""
    r1_events = _recorded("r1", 105, 117)
    r2_list = _recorded("r2", 129, 131)
    r2_after = _recorded("r2", 132, 147)
    listed: list[tuple[CoreShowChannel, ...]] = []

    async def script(peer: FakePeer) -> None:
        await peer.login(extra=r1_events if peer.number == 1 else "")
        if peer.number == 1:
            peer.writer.transport.abort()
            return
        action = await peer.read_action()
        assert action.get("Action") == "CoreShowChannels"
        await peer.send(r2_list.replace("r2-002", str(action.action_id)))
        await peer.send(r2_after)
        await peer.drain_actions(10)

    events: list[AmiEvent] = []
    changed = asyncio.Event()

    async def resync(client: AmiClient) -> None:
        listed.append(await client.core_show_channels())
        changed.set()

    def on_event(event: AmiEvent) -> None:
        events.append(event)
        changed.set()

    async with FakeAmi(script) as fake:
        client = AmiClient(
            _settings(fake.port), on_event=on_event, on_connected=resync, rng=random.Random(3)
        )
        task = asyncio.create_task(client.run())
        try:
            async with asyncio.timeout(5):
                while not any(isinstance(e, Hangup) for e in events):
                    changed.clear()
                    await changed.wait()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    first_connection = [e for e in events if isinstance(e, Newchannel)]
    assert [e.channel.channel for e in first_connection] == ["PJSIP/callers-00000000"]
    live = [c.channel.channel for c in listed[-1]]
    assert live == ["PJSIP/callers-00000000"]
    assert [e.cause for e in events if isinstance(e, Hangup)] == [0]


def test_md5_login_key_matches_the_recorded_login() -> None:
    """S6 prelogin: challenge 973688877 and secret acdsecret gave Key 5d90e8a5...; we agree."""
    records = {r.seq: r for r in load(S6)}
    assert "Challenge: 973688877" in records[16].raw
    assert "Key: 5d90e8a5cba200bc653272b95dfa1b2a" in records[17].raw
    assert md5_login_key("973688877", "acdsecret") == "5d90e8a5cba200bc653272b95dfa1b2a"


async def test_md5_login_sends_challenge_then_key_and_never_the_secret() -> None:
    """With auth_type md5 the client asks a Challenge and logs in with AuthType MD5 and a Key."""
    challenge = _recorded("prelogin", 16, 16)
    accepted = _recorded("prelogin", 18, 18)

    async def script(peer: FakePeer) -> None:
        action = await peer.read_action()
        assert action.get("Action") == "Challenge"
        await peer.send(challenge.replace("prelogin-003", str(action.action_id)))
        login = await peer.read_action()
        await peer.send(accepted.replace("prelogin-004", str(login.action_id)))
        await peer.drain_actions(5)

    async with FakeAmi(script) as fake:
        settings = dataclasses.replace(_settings(fake.port), auth_type="md5")
        client = AmiClient(settings, on_event=lambda event: None)
        task = asyncio.create_task(client.run())
        try:
            await client.wait_connected(3)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        login = fake.peers[0].actions[1]
        assert login.get("AuthType") == "MD5"
        assert login.get("Key") == md5_login_key("973688877", SECRET)
        assert SECRET not in repr(fake.peers[0].actions)


@pytest.mark.parametrize("refused", [None, "DialEnd", "DeviceStateChange"])
async def test_server_filters_are_added_after_login_and_a_refusal_restores_every_event(
    refused: str | None,
) -> None:
    """One Filter per named event after Login; a refusal after some were added adds a
    catch-all, since filters cannot be removed and a half-filtered session would go deaf."""
    filters: list[dict[str, str | None]] = []
    logged_in = asyncio.Event()

    async def script(peer: FakePeer) -> None:
        await peer.login()
        while True:
            action = await peer.read_action(within_s=3)
            if action.get("Action") != "Filter":
                break
            filters.append(
                {"MatchCriteria": action.get("MatchCriteria"), "Filter": action.get("Filter")}
            )
            criteria = action.get("MatchCriteria") or ""
            ok = refused is None or f"name({refused})" not in criteria
            status = "Success" if ok else "Error"
            message = "Success" if ok else "Permission denied"
            await peer.send(
                f"Response: {status}\r\nActionID: {action.action_id}\r\nMessage: {message}\r\n\r\n"
            )
        logged_in.set()
        await peer.drain_actions(2)

    async with FakeAmi(script) as fake:
        client = AmiClient(
            dataclasses.replace(
                _settings(fake.port, ping_interval=0.2),
                server_filters=("DeviceStateChange", "DialEnd", "BlindTransfer"),
            ),
            on_event=lambda event: None,
            rng=random.Random(1),
        )
        task = asyncio.create_task(client.run())
        try:
            await client.wait_connected(3)
            await asyncio.wait_for(logged_in.wait(), 3)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    named = [
        f"action(include),name({n})" for n in ("DeviceStateChange", "DialEnd", "BlindTransfer")
    ]
    if refused is None:
        assert [f["MatchCriteria"] for f in filters] == named
    elif refused == "DialEnd":
        assert [f["MatchCriteria"] for f in filters] == [*named[:2], None]
        assert filters[-1]["Filter"] == "."
    else:
        assert [f["MatchCriteria"] for f in filters] == named[:1]
