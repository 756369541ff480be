"""FastAGI server and sessions, driven by a fake Asterisk replaying the recorded dialogs."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from structlog.testing import capture_logs

from acd.asterisk.agi_codec import AgiReply, parse_reply_line
from acd.asterisk.errors import AgiInvalidCommandError, AgiSessionClosedError, AgiTimeoutError
from acd.asterisk.fastagi import (
    AgiSession,
    FastAgiServer,
    FastAgiSettings,
    StreamOutcome,
    StreamResult,
)
from tests.asterisk.recordings import Record, agi_recordings, load
from tests.deadlines import until

Handler = Callable[[AgiSession], Awaitable[None]]


@dataclass
class Exchange:
    """One command the server must send, and the bytes Asterisk answered with."""

    command: str
    reply: str = ""
    reply_record: Record | None = None


@dataclass
class Dialog:
    conn: str
    env: str
    exchanges: list[Exchange] = field(default_factory=list)
    hangup_notices: int = 0


def recorded_dialogs(recording: str) -> list[Dialog]:
    """The dialogs of a recording, with HANGUP notices put back in socket order: right after
    the reply that preceded them (the recorder logged them after its next command)."""
    dialogs: dict[str, Dialog] = {}
    for record in load(recording):
        if record.kind == "env":
            dialogs[record.conn] = Dialog(record.conn, record.raw)
            continue
        dialog = dialogs.get(record.conn)
        if dialog is None:
            continue
        if record.kind == "command":
            dialog.exchanges.append(Exchange(record.raw))
        elif record.kind == "response":
            dialog.exchanges[-1].reply += record.raw
            dialog.exchanges[-1].reply_record = record
        elif record.kind == "hangup_notice":
            dialog.hangup_notices += 1
            current = dialog.exchanges[-1]
            if not current.reply and len(dialog.exchanges) > 1:
                dialog.exchanges[-2].reply += record.raw
            else:
                current.reply += record.raw
    return [d for d in dialogs.values() if d.exchanges]


def all_dialogs() -> list[tuple[str, str]]:
    return [(r, d.conn) for r in agi_recordings() for d in recorded_dialogs(r)]


async def perform(session: AgiSession, line: str) -> object:
    """Issue the recorded command through the session's typed API."""
    if line in ("ANSWER", "HANGUP", "CHANNEL STATUS"):
        method = {"ANSWER": session.answer, "HANGUP": session.hangup}.get(
            line, session.channel_status
        )
        return await method()
    if m := re.fullmatch(r'SET VARIABLE (\S+) "(.*)"', line):
        return await session.set_variable(m[1], m[2])
    if m := re.fullmatch(r"GET VARIABLE (\S+)", line):
        return await session.get_variable(m[1])
    if m := re.fullmatch(r'GET FULL VARIABLE "(.*)"', line):
        return await session.get_full_variable(m[1])
    if m := re.fullmatch(r"SET MUSIC (ON|OFF) ?(\S*)", line):
        return await session.set_music(m[1] == "ON", m[2] or None)
    if m := re.fullmatch(r'STREAM FILE (\S+) "(.*)"', line):
        return await session.stream_file(m[1], m[2], reply_within=5)
    if m := re.fullmatch(r"EXEC (\S+) (\S+)", line):
        return await session.exec(m[1], m[2], reply_within=5)
    if m := re.fullmatch(r'VERBOSE "(.*)" (\d)', line):
        return await session.verbose(m[1], int(m[2]))
    return await session.run_command(line)


def expected_result(line: str, reply: AgiReply) -> object:
    """What the typed API must return for a recorded reply."""
    if line.startswith(("GET VARIABLE", "GET FULL VARIABLE")):
        return None if reply.result == "0" else reply.data
    if line.startswith("STREAM FILE "):
        if reply.code == 511:
            return StreamResult(StreamOutcome.NOT_PERMITTED, None, None)
        result = int(str(reply.result))
        outcome = StreamOutcome.FINISHED if result == 0 else StreamOutcome.FAILED
        return StreamResult(outcome, None, reply.endpos)
    return reply


@contextlib.asynccontextmanager
async def running_server(handler: Handler, **overrides: object) -> AsyncIterator[FastAgiServer]:
    settings = FastAgiSettings(host="127.0.0.1", port=0, **overrides)  # type: ignore[arg-type]
    async with FastAgiServer(settings, handler) as server:
        yield server


async def replay_as_asterisk(port: int, dialog: Dialog) -> list[str]:
    """Play Asterisk's side: send env, expect each command, answer with the recorded bytes."""
    async with asyncio.timeout(10):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        received: list[str] = []
        try:
            writer.write(dialog.env.encode())
            for exchange in dialog.exchanges:
                line = (await reader.readline()).decode()
                received.append(line)
                assert line == exchange.command
                writer.write(exchange.reply.encode())
                await writer.drain()
            assert await reader.read() == b""
        finally:
            writer.close()
        return received


@pytest.mark.parametrize(("recording", "conn"), all_dialogs())
async def test_recorded_dialog_is_reproduced_byte_for_byte(recording: str, conn: str) -> None:
    """The session sends the recorded command lines and parses each recorded reply right."""
    (dialog,) = [d for d in recorded_dialogs(recording) if d.conn == conn]
    results: list[object] = []
    hung_up: list[bool] = []

    async def handler(session: AgiSession) -> None:
        for exchange in dialog.exchanges:
            results.append(await perform(session, exchange.command.rstrip("\n")))
        if dialog.hangup_notices:
            async with asyncio.timeout(5):
                await session.wait_hangup()
        hung_up.append(session.hung_up)

    async with running_server(handler) as server:
        received = await replay_as_asterisk(server.port, dialog)
    assert received == [e.command for e in dialog.exchanges]
    for exchange, result in zip(dialog.exchanges, results, strict=True):
        record = exchange.reply_record
        assert record is not None
        reply = parse_reply_line(
            record.raw.split("\n")[-2] if record.raw.startswith("520-") else record.raw.rstrip("\n")
        )
        expected = expected_result(exchange.command.rstrip("\n"), reply)
        if isinstance(expected, AgiReply):
            assert isinstance(result, AgiReply)
            assert (result.code, result.result, result.data, result.endpos) == (
                expected.code,
                expected.result,
                expected.data,
                expected.endpos,
            )
        else:
            assert result == expected
    assert hung_up == [dialog.hangup_notices > 0]


async def test_hangup_notice_written_before_the_next_reply_is_skipped() -> None:
    """S9b with HANGUP arriving just before the reply to the next command (the other order)."""
    (dialog,) = recorded_dialogs("S9-agi-acd-flows/b/agi.jsonl")
    moved = Dialog(dialog.conn, dialog.env)
    carry = ""
    for exchange in dialog.exchanges:
        reply = exchange.reply.replace("HANGUP\n", "")
        moved.exchanges.append(Exchange(exchange.command, carry + reply, exchange.reply_record))
        carry = "HANGUP\n" if "HANGUP\n" in exchange.reply else ""
    values: list[object] = []

    async def handler(session: AgiSession) -> None:
        for exchange in moved.exchanges:
            values.append(await perform(session, exchange.command.rstrip("\n")))
        assert session.hung_up

    async with running_server(handler) as server:
        await replay_as_asterisk(server.port, moved)
    assert "ANSWER" in values
    assert "PJSIP/agent2-00000002" in values


async def test_caller_hangup_while_no_command_is_pending_is_seen_at_once() -> None:
    """A HANGUP written while the caller is on MOH (no command in flight) wakes wait_hangup()."""
    seen = asyncio.Event()
    answered = asyncio.Event()

    async def handler(session: AgiSession) -> None:
        await session.answer()
        answered.set()
        async with asyncio.timeout(2):
            await session.wait_hangup()
        assert session.hung_up
        seen.set()
        reply = await session.channel_status()
        assert reply.dead_channel

    async def asterisk(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(ENV.encode())
        assert await reader.readline() == b"ANSWER\n"
        writer.write(b"200 result=0\n")
        # HANGUP comes once the reply was read, while no command is in flight.
        await asyncio.wait_for(answered.wait(), 5)
        writer.write(b"HANGUP\n")
        assert await reader.readline() == b"CHANNEL STATUS\n"
        writer.write(b"511 Command Not Permitted on a dead channel or intercept routine\n")
        assert await reader.read() == b""
        writer.close()

    async with running_server(handler) as server, asyncio.timeout(5):
        await asterisk(server.port)
    assert seen.is_set()


async def test_hangup_callbacks_fire_once_and_a_cancelled_waiter_changes_nothing() -> None:
    """on_hangup fires once (at once if late); cancelling one wait_hangup() spares the others."""
    fired: list[str] = []
    results: list[bool] = []

    async def handler(session: AgiSession) -> None:
        session.on_hangup(lambda: fired.append("early"))
        impatient = asyncio.create_task(session.wait_hangup())
        await asyncio.sleep(0)  # the impatient waiter starts waiting
        impatient.cancel()
        await session.answer()
        async with asyncio.timeout(2):
            await session.wait_hangup()
        await asyncio.sleep(0)
        session.on_hangup(lambda: fired.append("late"))
        await asyncio.sleep(0)
        results.append(impatient.cancelled())

    async def asterisk(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(ENV.encode())
        assert await reader.readline() == b"ANSWER\n"
        writer.write(b"200 result=0\nHANGUP\n")
        assert await reader.read() == b""
        writer.close()

    async with running_server(handler) as server, asyncio.timeout(5):
        await asterisk(server.port)
    assert fired == ["early", "late"]
    assert results == [True]


ENV = "".join(r.raw for r in load("S9-agi-acd-flows/a/agi.jsonl") if r.kind == "env")


async def fake_res_agi_streamer(port: int, *, natural_end_races: bool) -> tuple[list[str], float]:
    """Asterisk's STREAM FILE as res_agi.c does it: a new command line stops the stream and the
    stream writes no reply; unless the file ended first (then its reply comes first)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines: list[str] = []
    writer.write(ENV.encode())
    lines.append((await reader.readline()).decode())
    started = time.monotonic()
    lines.append((await reader.readline()).decode())
    stopped_after = time.monotonic() - started
    if natural_end_races:
        writer.write(b"200 result=0 endpos=18054\n")
    writer.write(b"200 result=0\n")
    lines.append((await reader.readline()).decode())
    writer.write(b"200 result=0\n")
    assert await reader.read() == b""
    writer.close()
    return lines, stopped_after


@pytest.mark.parametrize(
    ("natural_end_races", "interrupt_after"), [(False, 0.3), (True, 0.3), (False, 0.0)]
)
async def test_interrupting_a_prompt_stops_it_at_once(
    natural_end_races: bool, interrupt_after: float
) -> None:
    """interrupt_stream() stops a prompt with one NOOP at once; replies stay in sync."""
    outcome: list[StreamResult] = []
    replies: list[AgiReply] = []
    latency: list[float] = []

    async def handler(session: AgiSession) -> None:
        prompt = asyncio.create_task(session.stream_file("queue-thereare", "", reply_within=30))
        await asyncio.sleep(interrupt_after)  # fixed-sleep: the prompt plays that long, the case
        interrupted_at = time.monotonic()
        assert await session.interrupt_stream()
        latency.append(time.monotonic() - interrupted_at)
        outcome.append(await prompt)
        replies.append(await session.exec("Dial", "PJSIP/agent1,10,m", reply_within=5))

    async with running_server(handler) as server, asyncio.timeout(5):
        lines, stopped_after = await fake_res_agi_streamer(
            server.port, natural_end_races=natural_end_races
        )
    assert lines == [
        'STREAM FILE queue-thereare ""\n',
        'NOOP "acd: prompt interrupted"\n',
        "EXEC Dial PJSIP/agent1,10,m\n",
    ]
    # Whenever it comes, even right after the stream started, the NOOP goes out at once.
    assert stopped_after < interrupt_after + 0.05
    assert latency[0] < 0.05
    if natural_end_races:
        assert outcome == [StreamResult(StreamOutcome.FINISHED, None, 18054)]
    else:
        assert outcome == [StreamResult(StreamOutcome.INTERRUPTED, None, None)]
    assert replies[0].result == "0"


async def stdio_res_agi_streamer(port: int) -> tuple[list[str], float]:
    """res_agi as it reads: fgets() on a stdio buffer, and only once poll() finds the socket
    readable. STREAM FILE and the NOOP behind it arrive in one read(): the NOOP sits in the
    buffer unseen while the 2 s prompt plays, until more bytes reach the socket."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(ENV.encode())
    # Both lines are on the socket before Asterisk reads: the daemon sent the NOOP without
    # waiting for the stream's reply. Gathered until both are there (a read may split them).
    buffered = b""
    async with asyncio.timeout(5):
        while buffered.count(b"\n") < 2:
            buffered += await reader.read(4096)
    lines = buffered.decode().splitlines(keepends=True)
    assert lines == ['STREAM FILE queue-thereare ""\n', 'NOOP "acd: prompt interrupted"\n']
    started = time.monotonic()
    try:
        more = await asyncio.wait_for(reader.read(4096), 2.0)  # the stream waits on the socket
    except TimeoutError:
        more = b""
        writer.write(b"200 result=0 endpos=32000\n")  # the prompt played to its end
    stopped_after = time.monotonic() - started
    lines += more.decode().splitlines(keepends=True)
    for _ in lines[1:]:
        writer.write(b"200 result=0\n")  # each NOOP, in order
    lines.append((await reader.readline()).decode())
    writer.write(b"200 result=0\n")
    assert await reader.read() == b""
    writer.close()
    return lines, stopped_after


async def test_noop_hidden_in_the_stdio_buffer_is_woken_by_a_second_one() -> None:
    """A NOOP read with the STREAM FILE line goes unseen: a second one stops the prompt."""
    outcome: list[StreamResult] = []
    replies: list[AgiReply] = []

    async def handler(session: AgiSession) -> None:
        prompt = asyncio.create_task(session.stream_file("queue-thereare", "", reply_within=30))
        await asyncio.sleep(0)
        assert await session.interrupt_stream()
        outcome.append(await prompt)
        replies.append(await session.exec("Dial", "PJSIP/agent1,10,m", reply_within=5))

    async with running_server(handler) as server, asyncio.timeout(5):
        lines, stopped_after = await stdio_res_agi_streamer(server.port)
    assert lines == [
        'STREAM FILE queue-thereare ""\n',
        'NOOP "acd: prompt interrupted"\n',
        'NOOP "acd: prompt interrupted"\n',
        "EXEC Dial PJSIP/agent1,10,m\n",
    ]
    assert stopped_after < 0.3  # the guard (0.1 s from the stream's start), not the 2 s prompt
    assert outcome == [StreamResult(StreamOutcome.INTERRUPTED, None, None)]
    assert replies[0].result == "0"


async def test_reply_that_never_comes_times_out_and_closes_the_session() -> None:
    """A command without a reply raises AgiTimeoutError and the socket is closed."""
    errors: list[Exception] = []

    async def handler(session: AgiSession) -> None:
        try:
            await session.exec("Dial", "PJSIP/agent1,10,m", reply_within=0.2)
        except AgiTimeoutError as error:
            errors.append(error)
        assert session.closed

    async with running_server(handler) as server, asyncio.timeout(5):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(ENV.encode())
        assert await reader.readline() == b"EXEC Dial PJSIP/agent1,10,m\n"
        assert await reader.read() == b""
        writer.close()
    assert len(errors) == 1


async def test_second_command_while_one_is_in_flight_is_refused() -> None:
    """Commands are sequential: a second one while the first waits is a local error."""
    refused: list[Exception] = []

    async def handler(session: AgiSession) -> None:
        first = asyncio.create_task(session.answer())
        await asyncio.sleep(0)  # ANSWER is sent and waits for its reply
        with pytest.raises(AgiInvalidCommandError) as error:
            await session.get_variable("X")
        refused.append(error.value)
        await first

    async with running_server(handler) as server, asyncio.timeout(5):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(ENV.encode())
        assert await reader.readline() == b"ANSWER\n"
        await until(lambda: refused, what="the second command refused")
        writer.write(b"200 result=0\n")
        assert await reader.read() == b""
        writer.close()
    assert len(refused) == 1


async def test_argument_with_newline_is_refused_before_anything_is_sent() -> None:
    """SET VARIABLE with a newline in the value raises and sends nothing."""

    async def handler(session: AgiSession) -> None:
        with pytest.raises(AgiInvalidCommandError):
            await session.set_variable("ACD_STATE", "queued\nHANGUP")

    async with running_server(handler) as server, asyncio.timeout(5):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(ENV.encode())
        assert await reader.read() == b""
        writer.close()


async def _closed_by_server(port: int, payload: bytes, *, eof: bool) -> float:
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    if eof:
        writer.write_eof()
    # Closing with unread input makes the kernel send RST instead of FIN: closed either way.
    with contextlib.suppress(ConnectionResetError):
        async with asyncio.timeout(5):
            while await reader.read(65536):
                pass
    writer.close()
    return time.monotonic() - started


async def test_truncated_environment_closes_without_spinning_the_loop() -> None:
    """A header cut by EOF is closed at once, without spinning the loop (panoramisk did)."""
    calls: list[AgiSession] = []

    async def handler(session: AgiSession) -> None:
        calls.append(session)

    lags: list[float] = []

    async def ticker() -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            lags.append(time.monotonic() - before - 0.01)

    async with running_server(handler) as server:
        tick = asyncio.create_task(ticker())
        cpu_before = time.process_time()
        durations = await asyncio.gather(
            *[
                _closed_by_server(server.port, b"agi_network: yes\nagi_chan", eof=True)
                for _ in range(20)
            ]
        )
        # fixed-sleep: the window in which a spinning loop would show in the CPU time and lags
        await asyncio.sleep(0.3)
        cpu_used = time.process_time() - cpu_before
        tick.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tick
        assert server.active_sessions == 0
    # Margins for a loaded shared box; a spin would block the loop outright.
    assert max(durations) < 2.0
    assert cpu_used < 0.5
    assert max(lags) < 0.5
    assert calls == []


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "not an agi_* environment line"),
        (b"agi_network: yes\n" + b"agi_x: " + b"y" * 20000 + b"\n\n", "too"),
        (b"\x00\xff" * 40000, "too long"),
        (b"agi_network: yes\nagi_uniqueid: 1.0\n\n", "lacks agi_channel"),
    ],
)
async def test_garbage_environment_is_refused_and_logged(payload: bytes, reason: str) -> None:
    """Non-AGI input, oversized lines or blocks and missing fields close the socket, logged."""
    calls: list[AgiSession] = []

    async def handler(session: AgiSession) -> None:
        calls.append(session)

    with capture_logs() as logs:
        async with running_server(handler, line_max_bytes=16384) as server:
            await _closed_by_server(server.port, payload, eof=False)
    rejected = [e for e in logs if e["event"] == "fastagi_environment_rejected"]
    assert len(rejected) == 1
    assert reason in rejected[0]["reason"]
    assert calls == []


async def test_silent_peer_is_dropped_after_the_environment_timeout() -> None:
    """A peer that connects and says nothing is closed after environment_timeout."""

    async def handler(session: AgiSession) -> None:
        raise AssertionError("no session expected")

    async with running_server(handler, environment_timeout=0.2) as server:
        elapsed = await _closed_by_server(server.port, b"", eof=False)
    assert 0.15 < elapsed < 1.5


async def test_peer_outside_the_allowed_hosts_is_rejected_with_a_log_line() -> None:
    """Only listed Asterisk hosts may connect; others are closed and logged."""

    async def handler(session: AgiSession) -> None:
        raise AssertionError("no session expected")

    with capture_logs() as logs:
        async with running_server(handler, allowed_peers=("10.0.0.0/8",)) as server:
            await _closed_by_server(server.port, ENV.encode(), eof=False)
    (entry,) = [e for e in logs if e["event"] == "fastagi_connection_rejected"]
    assert entry["peer"] == "127.0.0.1"
    assert entry["reason"] == "peer not allowed"


async def test_sessions_beyond_the_limit_are_closed_at_once() -> None:
    """With max_sessions=2, a third call is closed immediately (Asterisk goes to its fallback)."""
    release = asyncio.Event()
    started = asyncio.Semaphore(0)

    async def handler(session: AgiSession) -> None:
        started.release()
        await release.wait()

    with capture_logs() as logs:
        async with running_server(handler, max_sessions=2) as server, asyncio.timeout(5):
            held = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(2)]
            for _, writer in held:
                writer.write(ENV.encode())
            await started.acquire()
            await started.acquire()
            elapsed = await _closed_by_server(server.port, ENV.encode(), eof=False)
            release.set()
            for reader, writer in held:
                assert await reader.read() == b""
                writer.close()
    assert elapsed < 2.0
    assert any(e.get("reason") == "too many sessions" for e in logs)


async def test_three_hundred_concurrent_sessions_complete_quickly() -> None:
    """300 calls at once each answer, read and set a variable; all finish within seconds."""
    done: list[str] = []

    async def handler(session: AgiSession) -> None:
        await session.answer()
        value = await session.get_variable("CALLERID(num)")
        await session.set_variable("ACD_STATE", "queued")
        done.append(f"{session.uniqueid}:{value}")

    async def caller(port: int, index: int) -> None:
        env = ENV.replace("1795871677.0", f"1795871677.{index}")
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(env.encode())
        assert await reader.readline() == b"ANSWER\n"
        writer.write(b"200 result=0\n")
        assert await reader.readline() == b"GET VARIABLE CALLERID(num)\n"
        writer.write(f"200 result=1 (555{index:04d})\n".encode())
        assert await reader.readline() == b'SET VARIABLE ACD_STATE "queued"\n'
        writer.write(b"200 result=1\n")
        assert await reader.read() == b""
        writer.close()

    started = time.monotonic()
    async with running_server(handler) as server, asyncio.timeout(20):
        await asyncio.gather(*[caller(server.port, i) for i in range(300)])
    elapsed = time.monotonic() - started
    assert len(done) == 300
    assert len(set(done)) == 300
    assert elapsed < 10


async def test_escape_digit_during_a_prompt_is_returned_as_the_digit() -> None:
    """`200 result=50 endpos=N` (the caller pressed 2) gives DIGIT '2' with the position."""
    results: list[StreamResult] = []

    async def handler(session: AgiSession) -> None:
        results.append(await session.stream_file("queue-thereare", "12#", reply_within=5))

    async with running_server(handler) as server, asyncio.timeout(5):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(ENV.encode())
        assert await reader.readline() == b'STREAM FILE queue-thereare "12#"\n'
        writer.write(b"200 result=50 endpos=4000\n")
        assert await reader.read() == b""
        writer.close()
    assert results == [StreamResult(StreamOutcome.DIGIT, "2", 4000)]


async def test_wait_hangup_returns_when_asterisk_closes_the_socket() -> None:
    """wait_hangup() returns when the socket closes; later commands raise AgiSessionClosedError."""
    outcome: list[tuple[bool, bool]] = []
    finished = asyncio.Event()

    began = asyncio.Event()

    async def handler(session: AgiSession) -> None:
        began.set()
        async with asyncio.timeout(2):
            await session.wait_hangup()
        outcome.append((session.hung_up, session.closed))
        with pytest.raises(AgiSessionClosedError):
            await session.answer()
        finished.set()

    async with running_server(handler) as server, asyncio.timeout(5):
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(ENV.encode())
        await began.wait()
        writer.close()
        await finished.wait()
    assert outcome == [(False, True)]


async def test_session_the_handler_ends_is_logged_as_closed_by_us() -> None:
    """A session acd ends itself is logged as closed by us, not by Asterisk (seen on 22.10.1)."""

    async def handler(session: AgiSession) -> None:
        await session.answer()

    with capture_logs() as logs:
        async with running_server(handler) as server, asyncio.timeout(5):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(ENV.encode())
            assert await reader.readline() == b"ANSWER\n"
            writer.write(b"200 result=0\n")
            await writer.drain()
            assert await reader.read() == b""
            writer.close()
    (ended,) = [e for e in logs if e["event"] == "agi_session_ended"]
    assert ended["reason"] == "session closed by us"


@pytest.mark.parametrize(
    ("peer", "allowed"),
    [
        ("192.0.2.10", True),
        ("::ffff:192.0.2.10", True),
        ("192.0.2.11", False),
        ("2001:db8::5", True),
        ("fe80::1%eth0", False),
        ("not-an-address", False),
        (None, False),
    ],
)
def test_allowed_peers_match_addresses_and_networks(peer: str | None, allowed: bool) -> None:
    """Single hosts and CIDR networks match, IPv4-mapped IPv6 peers count as IPv4."""

    async def handler(session: AgiSession) -> None:
        raise AssertionError("never called")

    server = FastAgiServer(FastAgiSettings(allowed_peers=("192.0.2.10", "2001:db8::/64")), handler)
    assert server.peer_allowed(peer) is allowed


def test_allowed_peers_must_be_addresses() -> None:
    """A host name in allowed_peers is refused when the settings are built."""
    with pytest.raises(ValueError, match="does not appear to be"):
        FastAgiSettings(allowed_peers=("asterisk.example",))
