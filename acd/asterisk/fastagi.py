"""Our FastAGI server on asyncio.start_server, and one `AgiSession` per call.

A session reads its socket all the time (not only while a command is pending), so the
asynchronous `HANGUP` line is seen as soon as Asterisk writes it, even while the caller sits on
music on hold with no command in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from types import TracebackType

import structlog

from acd.asterisk.agi_codec import (
    AgiEnvironment,
    AgiReply,
    AgiReplyAssembler,
    HangupNotice,
    application_name,
    command_line,
    escape_digits,
    parse_environment,
    quoted,
    variable_name,
    word,
)
from acd.asterisk.errors import (
    AgiError,
    AgiInvalidCommandError,
    AgiProtocolError,
    AgiSessionClosedError,
    AgiTimeoutError,
)

log = structlog.get_logger("acd.asterisk.fastagi")

SessionHandler = Callable[["AgiSession"], Awaitable[None]]

_LOOPBACK = ("127.0.0.1/32", "::1/128")


@dataclass(frozen=True, slots=True)
class FastAgiSettings:
    """Bind address, who may connect, and the bounds that keep a bad peer from hurting us."""

    host: str = "127.0.0.1"
    port: int = 4573
    allowed_peers: tuple[str, ...] = _LOOPBACK
    max_sessions: int = 2000
    environment_timeout: float = 5.0
    environment_max_bytes: int = 16 * 1024
    command_timeout: float = 10.0
    line_max_bytes: int = 64 * 1024
    stream_interrupt_guard: float = 0.1

    def __post_init__(self) -> None:
        for peer in self.allowed_peers:
            ipaddress.ip_network(peer, strict=False)
        if self.max_sessions < 1:
            raise ValueError("max_sessions must be at least 1")


class StreamOutcome(Enum):
    """How a STREAM FILE ended."""

    FINISHED = "finished"
    DIGIT = "digit"
    INTERRUPTED = "interrupted"
    FAILED = "failed"
    NOT_PERMITTED = "not_permitted"


@dataclass(frozen=True, slots=True)
class StreamResult:
    """STREAM FILE's outcome: `digit` when an escape digit was pressed; `endpos` in samples (None
    when we interrupted it: Asterisk sends no reply for an interrupted stream)."""

    outcome: StreamOutcome
    digit: str | None
    endpos: int | None


class AgiCommandError(AgiError):
    """Asterisk refused a command (510 unknown, 520 usage, 511 on a dead channel where the
    method cannot return a meaningful value)."""

    def __init__(self, command: str, reply: AgiReply) -> None:
        super().__init__(f"{command!r} refused: {reply.code} {reply.text.splitlines()[0:1]}")
        self.command = command
        self.reply = reply


@dataclass(slots=True)
class _InFlight:
    line: str
    future: asyncio.Future[AgiReply]
    is_stream: bool = False
    interrupted: bool = False
    sent_at: float = 0.0


class AgiSession:
    """One FastAGI call. Commands are sequential: one in flight at a time, except
    `interrupt_stream()`, which may be sent while a STREAM FILE is playing."""

    def __init__(
        self,
        session_id: int,
        environment: AgiEnvironment,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        settings: FastAgiSettings,
        *,
        peer: str | None = None,
    ) -> None:
        self.session_id = session_id
        self.environment = environment
        # The FastAGI client's address: every session of one Asterisk shares it.
        self.peer = peer
        self.script = environment.script
        self._reader = reader
        self._writer = writer
        self._settings = settings
        self._assembler = AgiReplyAssembler()
        self._in_flight: deque[_InFlight] = deque()
        self._hung_up = False
        self._closed = False
        # Resolved once, at the first of Asterisk's HANGUP or the session's end. One future per
        # session, not Events: a call waits on it for its whole stay in the queue, and waiting on
        # two Events costs tasks (and cancelled-task garbage) at every wake-up.
        self._ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._reader_task: asyncio.Task[None] | None = None
        self._log = log.bind(
            session=session_id, uniqueid=environment.uniqueid, channel=environment.channel
        )

    @property
    def uniqueid(self) -> str:
        return self.environment.uniqueid

    @property
    def channel(self) -> str:
        return self.environment.channel

    @property
    def hung_up(self) -> bool:
        """True once Asterisk has sent `HANGUP`: the caller is gone (or transferred away)."""
        return self._hung_up

    @property
    def closed(self) -> bool:
        return self._closed

    async def wait_hangup(self) -> None:
        """Return when Asterisk reports the hangup, or the session closes."""
        # Shielded: a waiter cancelled must not cancel the session's own future.
        await asyncio.shield(self._ended)

    def on_hangup(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (soon, from the loop) once Asterisk reports the hangup or the session
        closes; at once if that has already happened."""
        self._ended.add_done_callback(lambda _: callback())

    def _end(self) -> None:
        if not self._ended.done():
            self._ended.set_result(None)

    def start(self) -> None:
        self._reader_task = asyncio.create_task(self._read_loop())

    async def close(self) -> None:
        """Close the socket: Asterisk then ends AGI() (AGISTATUS SUCCESS, or HANGUP if the caller
        hung up) and the dialplan goes on."""
        # Before cancelling the reader, whose own `finally` would log "closed by Asterisk".
        self._finish("session closed by us")
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task
        self._writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(1.0):
                await self._writer.wait_closed()

    # Commands ------------------------------------------------------------------------------

    async def run_command(self, line: str, *, reply_within: float | None = None) -> AgiReply:
        """Send one raw command line and return its reply (5xx replies are returned, not raised)."""
        return await self._run(command_line(line), reply_within)

    async def send_line(
        self, line: str, *, reply_within: float | None, interruptible: bool = False
    ) -> AgiReply:
        """Send one command line already built (``agi_codec``) and return its reply as it is.

        ``interruptible``: a prompt (STREAM FILE, SAY …) that ``interrupt_stream()`` may stop; its
        reply is then ``200 result=0`` without endpos, text ``interrupted``.
        """
        return await self._run(command_line(line), reply_within, is_stream=interruptible)

    async def answer(self) -> AgiReply:
        return await self._run("ANSWER", None)

    async def hangup(self) -> AgiReply:
        return await self._run("HANGUP", None)

    async def set_variable(self, name: str, value: str) -> AgiReply:
        return await self._run(
            command_line("SET VARIABLE", variable_name(name), quoted(value)), None
        )

    async def get_variable(self, name: str) -> str | None:
        """Value of a channel variable or function; None when unset (`200 result=0`)."""
        line = command_line("GET VARIABLE", variable_name(name))
        return self._variable_value(line, await self._run(line, None))

    async def get_full_variable(self, expression: str) -> str | None:
        """GET FULL VARIABLE: evaluates `${...}` expressions (several per call)."""
        line = command_line("GET FULL VARIABLE", quoted(expression))
        return self._variable_value(line, await self._run(line, None))

    async def set_music(self, on: bool, music_class: str | None = None) -> AgiReply:
        parts = ["SET MUSIC", "ON" if on else "OFF"]
        if music_class:
            parts.append(word(music_class))
        return await self._run(command_line(*parts), None)

    async def stream_file(
        self, file: str, escape: str = "", *, reply_within: float
    ) -> StreamResult:
        """Play a prompt; returns when it ends, a digit is pressed or `interrupt_stream()` runs."""
        line = command_line("STREAM FILE", word(file), quoted(escape_digits(escape)))
        in_flight = await self._send(line, is_stream=True)
        reply = await self._await(in_flight, reply_within)
        if in_flight.interrupted and reply.endpos is None and reply.ok:
            return StreamResult(StreamOutcome.INTERRUPTED, None, None)
        if reply.dead_channel:
            return StreamResult(StreamOutcome.NOT_PERMITTED, None, None)
        if not reply.ok:
            raise AgiCommandError(line, reply)
        result = reply.result_int
        if result is None or result < 0:
            return StreamResult(StreamOutcome.FAILED, None, reply.endpos)
        if result == 0:
            return StreamResult(StreamOutcome.FINISHED, None, reply.endpos)
        return StreamResult(StreamOutcome.DIGIT, chr(result), reply.endpos)

    async def interrupt_stream(self) -> bool:
        """Stop the STREAM FILE in flight at once; False when none is playing.

        res_agi's STREAM FILE waits on the channel *and* on the AGI socket; a new command line
        makes it stop the stream and return without writing a reply (res_agi.c handle_streamfile,
        `res == 1`). We send `NOOP`: its reply (`200 result=0`, no endpos) tells it apart from the
        stream's own reply (always with endpos) if the stream ended by itself at the same moment.

        res_agi reads commands with fgets() on a stdio stream, and only when poll() says the
        socket is readable: if the NOOP reached Asterisk in the same read as the STREAM FILE line,
        it would sit in stdio's buffer, unseen, and the prompt would play on. That can only happen
        to a stream younger than `stream_interrupt_guard`: the NOOP goes out at once, and if no
        reply has come by the time the stream is that old, a second NOOP makes the socket
        readable, which stops the stream and lets res_agi answer both (in order).
        """
        if not self._in_flight or not self._in_flight[-1].is_stream:
            return False
        stream = self._in_flight[-1]
        stream.interrupted = True
        line = command_line("NOOP", quoted("acd: prompt interrupted"))
        noop = await self._send(line, interrupting=True)
        loop = asyncio.get_running_loop()
        unseen_risk = self._settings.stream_interrupt_guard - (loop.time() - stream.sent_at)
        if unseen_risk > 0 and not noop.future.done():
            try:
                async with asyncio.timeout(unseen_risk):
                    await asyncio.shield(noop.future)
            except TimeoutError:
                if not self._closed and not noop.future.done():
                    self._log.info("agi_interrupt_repeated", waited_s=round(unseen_risk, 3))
                    wake = await self._send(line, interrupting=True)
                    await self._await(wake, None)
        await self._await(noop, None)
        return True

    async def exec(self, application: str, args: str = "", *, reply_within: float) -> AgiReply:
        """EXEC an application (`Dial`, `Playback`...); `result` is the application's return value
        (Dial: 0 for NOANSWER/BUSY/CHANUNAVAIL, -1 after a bridge or a caller hangup; S9)."""
        parts = ["EXEC", application_name(application)]
        if args:
            # EXEC passes argv[2] verbatim to the application, so a Dial string with commas stays
            # one word; only spaces, quotes and backslashes need quoting.
            parts.append(word(args))
        return await self._run(command_line(*parts), reply_within)

    async def verbose(self, message: str, level: int = 1) -> AgiReply:
        if not 1 <= level <= 4:
            raise AgiInvalidCommandError("VERBOSE level must be 1..4")
        return await self._run(command_line("VERBOSE", quoted(message), str(level)), None)

    async def channel_status(self) -> AgiReply:
        """CHANNEL STATUS: result 6 = Up; 511 once the caller has hung up."""
        return await self._run("CHANNEL STATUS", None)

    # Plumbing ------------------------------------------------------------------------------

    def _variable_value(self, line: str, reply: AgiReply) -> str | None:
        if not reply.ok:
            raise AgiCommandError(line, reply)
        if reply.result == "0":
            return None
        return reply.data if reply.data is not None else ""

    async def _run(
        self, line: str, reply_within: float | None, is_stream: bool = False
    ) -> AgiReply:
        in_flight = await self._send(line, is_stream=is_stream)
        return await self._await(in_flight, reply_within)

    async def _send(
        self, line: str, *, is_stream: bool = False, interrupting: bool = False
    ) -> _InFlight:
        if self._closed:
            raise AgiSessionClosedError(f"session {self.session_id} is closed")
        if self._in_flight and not interrupting:
            raise AgiInvalidCommandError(
                f"{line.split(' ', 1)[0]} sent while {self._in_flight[0].line!r} is in flight"
            )
        loop = asyncio.get_running_loop()
        in_flight = _InFlight(line, loop.create_future(), is_stream=is_stream, sent_at=loop.time())
        self._in_flight.append(in_flight)
        self._log.debug("agi_command_sent", command=line.split(" ", 1)[0])
        try:
            self._writer.write(line.encode("utf-8") + b"\n")
            async with asyncio.timeout(self._settings.command_timeout):
                await self._writer.drain()
        except (OSError, TimeoutError) as failure:
            self._finish(f"write failed: {failure}")
        return in_flight

    async def _await(self, in_flight: _InFlight, reply_within: float | None) -> AgiReply:
        timeout = self._settings.command_timeout if reply_within is None else reply_within
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(in_flight.future)
        except TimeoutError:
            # A reply arriving later would be taken for the next command's: give up the session.
            self._log.warning("agi_command_timed_out", command=in_flight.line, timeout_s=timeout)
            self._finish("command timed out")
            self._writer.close()
            raise AgiTimeoutError(
                f"no reply to {in_flight.line!r} within {timeout} s; session closed"
            ) from None

    async def _read_loop(self) -> None:
        reason = "closed by Asterisk"
        try:
            while True:
                raw = await self._reader.readline()
                if not raw:
                    return
                if not raw.endswith(b"\n"):
                    return
                line = raw.rstrip(b"\r\n").decode("utf-8", errors="replace")
                try:
                    item = self._assembler.feed_line(line)
                except AgiProtocolError as error:
                    reason = f"protocol error: {error}"
                    self._log.warning("agi_reply_rejected", reason=str(error))
                    return
                if item is None:
                    continue
                if isinstance(item, HangupNotice):
                    # Asterisk writes HANGUP right after the reply that noticed the hangup and
                    # before the reply to the next command (S4/S9/S12): it is not a reply.
                    if not self._hung_up:
                        self._log.info("agi_caller_hung_up")
                    self._hung_up = True
                    self._end()
                    continue
                self._take_reply(item)
        except (ValueError, asyncio.LimitOverrunError):
            reason = "line too long"
            self._log.warning("agi_reply_rejected", reason=reason)
        except OSError as failure:
            reason = f"read failed: {failure}"
        finally:
            self._finish(reason)

    def _take_reply(self, reply: AgiReply) -> None:
        if not self._in_flight:
            self._log.warning(
                "agi_reply_dropped",
                reason="no command in flight",
                code=reply.code,
                text=reply.text[:120],
            )
            return
        head = self._in_flight[0]
        if head.interrupted and len(self._in_flight) > 1:
            # Stream + NOOP in flight: a reply with endpos (or a refusal) is the stream's own
            # ending, which raced our NOOP; a plain 200 is the NOOP's (no reply for the stream).
            if reply.endpos is not None or not reply.ok:
                self._in_flight.popleft()
                head.future.set_result(reply)
                return
            self._in_flight.popleft()
            head.future.set_result(AgiReply(code=200, result="0", text="interrupted"))
            head = self._in_flight[0]
        self._in_flight.popleft()
        if not head.future.done():
            head.future.set_result(reply)

    def _finish(self, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        self._end()
        for in_flight in self._in_flight:
            if not in_flight.future.done():
                in_flight.future.set_exception(
                    AgiSessionClosedError(f"{reason} while waiting for {in_flight.line!r}")
                )
                # Retrieved here so an abandoned future does not warn at garbage collection.
                in_flight.future.exception()
        self._in_flight.clear()
        self._log.info("agi_session_ended", reason=reason, hung_up=self.hung_up)


@dataclass(slots=True)
class _ServerState:
    sessions: set[AgiSession] = field(default_factory=set)
    handlers: set[asyncio.Task[None]] = field(default_factory=set)
    # Connections holding a slot, from accept to close, environment read or not: what
    # max_sessions bounds (sessions alone are counted only once their environment is in).
    admitted: int = 0
    refused: int = 0


class FastAgiServer:
    """Accepts FastAGI connections and runs `handler(session)` for each call.

    When the handler returns (or raises) the socket is closed, and the dialplan continues after
    AGI(). A peer outside `allowed_peers` or beyond `max_sessions` is closed at once: Asterisk
    then continues to the dialplan fallback instead of waiting. A slot is taken at accept time,
    before the environment is read, so a burst of connections cannot overshoot `max_sessions`.
    """

    def __init__(self, settings: FastAgiSettings, handler: SessionHandler) -> None:
        self._settings = settings
        self._handler = handler
        self._allowed = tuple(ipaddress.ip_network(p, strict=False) for p in settings.allowed_peers)
        self._server: asyncio.Server | None = None
        self._state = _ServerState()
        self._session_ids = itertools.count(1)
        self._max_sessions = settings.max_sessions

    def cap_sessions(self, most: int) -> None:
        """Admit at most ``most`` connections (when descriptors are short)."""
        self._max_sessions = max(1, min(self._settings.max_sessions, most))

    @property
    def max_sessions(self) -> int:
        return self._max_sessions

    @property
    def connections_refused(self) -> int:
        """Connections closed at accept because every slot was taken."""
        return self._state.refused

    async def __aenter__(self) -> FastAgiServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("server not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def active_sessions(self) -> int:
        return len(self._state.sessions)

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.is_serving()

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept,
            self._settings.host,
            self._settings.port,
            limit=self._settings.line_max_bytes,
            # Deep enough for a burst: a connection accepted and closed sends Asterisk to its
            # fallback at once, one dropped by a full backlog waits for SYN retries. Pending
            # connections hold no descriptor of ours until accepted.
            backlog=max(1024, self._settings.max_sessions),
        )
        log.info("fastagi_server_started", host=self._settings.host, port=self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._state.handlers):
            task.cancel()
        for task in list(self._state.handlers):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await self._server.wait_closed()

    def peer_allowed(self, peer: str | None) -> bool:
        """Whether a peer address may open FastAGI sessions (`allowed_peers`)."""
        if peer is None:
            return False
        try:
            address = ipaddress.ip_address(peer.split("%", 1)[0])
        except ValueError:
            return False
        # A dual-stack socket bound to :: reports IPv4 peers as ::ffff:a.b.c.d.
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self._allowed)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._state.handlers.add(task)
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            # Only close() cancels these; start_server's done-callback would log a cancelled
            # connection task as an error, so the task ends normally instead.
            pass
        finally:
            self._state.handlers.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peername = writer.get_extra_info("peername")
        peer = peername[0] if isinstance(peername, tuple) else None
        if not self.peer_allowed(peer):
            log.warning("fastagi_connection_rejected", peer=peer, reason="peer not allowed")
            writer.close()
            return
        if self._state.admitted >= self._max_sessions:
            # Closed before reading a byte: cheap, and Asterisk goes to the fallback at once.
            self._state.refused += 1
            log.warning(
                "fastagi_connection_rejected",
                peer=peer,
                reason="too many sessions",
                max_sessions=self._max_sessions,
                refused_so_far=self._state.refused,
            )
            writer.close()
            return
        self._state.admitted += 1
        try:
            await self._serve_admitted(peer, reader, writer)
        finally:
            self._state.admitted -= 1

    async def _serve_admitted(
        self, peer: str | None, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        session_id = next(self._session_ids)
        environment = await self._read_environment(session_id, peer, reader)
        if environment is None:
            writer.close()
            return
        session = AgiSession(session_id, environment, reader, writer, self._settings, peer=peer)
        self._state.sessions.add(session)
        session.start()
        log.info(
            "agi_session_started",
            session=session_id,
            uniqueid=session.uniqueid,
            channel=session.channel,
            script=session.script.path,
        )
        try:
            await self._handler(session)
        except AgiError as error:
            log.warning(
                "agi_handler_failed",
                session=session_id,
                uniqueid=session.uniqueid,
                error=type(error).__name__,
                reason=str(error),
            )
        except TimeoutError:
            # A wait that ran out (an ANSWER unanswered for 10 s...) is a timeout, not a bug.
            log.warning("agi_handler_timed_out", session=session_id, uniqueid=session.uniqueid)
        except Exception:
            log.exception("agi_handler_crashed", session=session_id, uniqueid=session.uniqueid)
        finally:
            self._state.sessions.discard(session)
            await session.close()

    async def _read_environment(
        self, session_id: int, peer: str | None, reader: asyncio.StreamReader
    ) -> AgiEnvironment | None:
        lines: list[str] = []
        size = 0
        try:
            async with asyncio.timeout(self._settings.environment_timeout):
                while True:
                    raw = await reader.readline()
                    # EOF mid-header (truncated block) ends the connection; panoramisk looped
                    # on the empty read here and spun the event loop at 100 % CPU.
                    if not raw or not raw.endswith(b"\n"):
                        raise AgiProtocolError("connection closed inside the environment")
                    size += len(raw)
                    if size > self._settings.environment_max_bytes:
                        raise AgiProtocolError("environment block too large")
                    line = raw.rstrip(b"\r\n").decode("utf-8", errors="replace")
                    if not line:
                        break
                    lines.append(line)
            return parse_environment(lines)
        except TimeoutError:
            reason = "environment not received in time"
        except (ValueError, asyncio.LimitOverrunError):
            reason = "environment line too long"
        except AgiProtocolError as error:
            reason = str(error)
        except OSError as error:
            reason = f"read failed: {error}"
        log.warning(
            "fastagi_environment_rejected",
            session=session_id,
            peer=peer,
            reason=reason,
            lines=len(lines),
        )
        return None
