"""The AMI server: TCP sessions, login, read-class filtering and the actions the daemon uses.

Responses are worded and ordered as in the S5/S6 recordings (Response, ActionID, then the rest).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from acd.pbxsim.ami_codec import BANNER, AmiDecoder, Message, encode
from acd.pbxsim.config import AmiUser
from acd.pbxsim.pbx import AmiEvent, Pbx

log = logging.getLogger(__name__)

Headers = list[tuple[str, str]]


@dataclass
class Reply:
    """A response plus the list events it announces, written back-to-back."""

    response: Headers
    events: list[Headers] = field(default_factory=list)
    close: bool = False
    # The handler already wrote its response (so it precedes the events the action causes).
    sent: bool = False


def respond(message: Message, status: str, *rest: tuple[str, str]) -> Headers:
    headers: Headers = [("Response", status)]
    if message.action_id is not None:
        headers.append(("ActionID", message.action_id))
    headers.extend(rest)
    return headers


def error(message: Message, text: str) -> Reply:
    return Reply(respond(message, "Error", ("Message", text)))


def success(message: Message, text: str) -> Reply:
    return Reply(respond(message, "Success", ("Message", text)))


def event_list(
    message: Message,
    start_text: str,
    name: str,
    items: list[Headers],
    *,
    action_id_last: bool = False,
) -> Reply:
    """Response, items and the ``…Complete`` event; items carry the ActionID second, or last
    for the actions whose items Asterisk builds that way (Status, QueueStatus, QueueSummary)."""
    action_id = [("ActionID", message.action_id)] if message.action_id is not None else []
    if action_id_last:
        events = [[*item, *action_id] for item in items]
    else:
        events = [[item[0], *action_id, *item[1:]] for item in items]
    complete = [
        ("Event", name),
        *action_id,
        ("EventList", "Complete"),
        ("ListItems", str(len(items))),
    ]
    return Reply(
        respond(message, "Success", ("EventList", "start"), ("Message", start_text)),
        [*events, complete],
    )


@dataclass(frozen=True, slots=True)
class EventFilter:
    """One `Filter` of a manager session (manager.c's event_filter_entry, name and regex only)."""

    exclude: bool
    name: str | None = None  # exact, case-sensitive, as manager.c compares name hashes
    pattern: re.Pattern[str] | None = None  # searched in the whole event text

    def matches(self, event: AmiEvent) -> bool:
        if self.name is not None and event.name != self.name:
            return False
        if self.pattern is not None:
            text = encode(event.wire_headers()).decode("utf-8")  # manager.c's eventdata
            return self.pattern.search(text) is not None
        return True


_FILTER_FORMAT_ERROR = "Filter was formatted incorrectly.  Check the syntax of the filter given."


def parse_filter(criteria: str, pattern: str) -> EventFilter | str:
    """`MatchCriteria` and `Filter` of a Filter action: the filter, or manager.c's error text.
    Options pbxsim does not model (header, method) are refused as a format error."""
    exclude = pattern.startswith("!")
    if exclude:
        pattern = pattern[1:]
    name: str | None = None
    if criteria:
        for option in (o.strip() for o in criteria.split(",")):
            key, _, rest = option.partition("(")
            value = rest[:-1].strip() if rest.endswith(")") else ""
            if key == "action" and value in ("include", "exclude"):
                exclude = value == "exclude"
            elif key == "name" and value:
                name = value
            else:
                return _FILTER_FORMAT_ERROR
        if name is None or pattern:
            return _FILTER_FORMAT_ERROR
        return EventFilter(exclude=exclude, name=name)
    if not pattern:
        return _FILTER_FORMAT_ERROR
    try:
        return EventFilter(exclude=exclude, pattern=re.compile(pattern))
    except re.error:
        return "Filter did not compile.  Check the syntax of the filter given."


class AmiSession:
    """One manager connection. Writes go through a bounded queue so a slow client never blocks."""

    def __init__(
        self,
        server: AmiServer,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.user: AmiUser | None = None
        self.events_on = False
        self.event_mask: set[str] | None = None
        self.include_filters: list[EventFilter] = []
        self.exclude_filters: list[EventFilter] = []
        self.challenge: str | None = None
        self.outbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.closed = False

    def wants(self, event: AmiEvent) -> bool:
        if self.user is None or not self.events_on or self.closed:
            return False
        read = self.user.read
        if "all" not in read and event.category not in read:
            return False
        if self.event_mask is not None and event.category not in self.event_mask:
            return False
        # manager.c should_send_event: includes only → one must match; excludes only → none may;
        # both → an include must match and then no exclude.
        if self.include_filters and not any(f.matches(event) for f in self.include_filters):
            return False
        return not any(f.matches(event) for f in self.exclude_filters)

    def send(self, data: bytes) -> None:
        if self.closed:
            return
        if self.outbox.qsize() >= self.server.max_backlog:
            # manager.c drops a client it cannot write to in time; so do we, other clients go on.
            log.warning("ami_client_dropped_slow", extra={"peer": self.peer})
            self.close()
            return
        self.outbox.put_nowait(data)

    def send_reply(self, reply: Reply) -> None:
        chunks = [encode(reply.response)] + [encode(e) for e in reply.events]
        self.send(b"".join(chunks))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.outbox.put_nowait(None)

    @property
    def peer(self) -> str:
        peer = self.writer.get_extra_info("peername")
        return f"{peer[0]}:{peer[1]}" if peer else "?"

    async def write_loop(self) -> None:
        timeout = self.server.pbx.config.timings.ami_write_timeout
        try:
            while True:
                data = await self.outbox.get()
                if data is None:
                    break
                await self.server.flowing.wait()
                self.writer.write(data)
                if self.writer.transport.get_write_buffer_size() > 1 << 16:
                    # manager.conf writetimeout: a client that does not read in time is dropped.
                    await asyncio.wait_for(self.writer.drain(), timeout=timeout)
        except TimeoutError:
            log.warning("ami_client_dropped_slow", extra={"peer": self.peer})
            # close() would wait for the unread buffer to flush: reset the connection instead.
            self.writer.transport.abort()
        except ConnectionError:
            pass
        finally:
            self.closed = True
            self.writer.close()

    async def read_loop(self) -> None:
        decoder = AmiDecoder()
        try:
            while not self.closed:
                data = await self.reader.read(65536)
                if not data:
                    break
                for message in decoder.feed(data):
                    await self.server.flowing.wait()
                    reply = await self.server.handle(self, message)
                    if reply is None:
                        continue
                    if not reply.sent:
                        self.send_reply(reply)
                    if reply.close:
                        self.close()
                        return
        except ConnectionError:
            pass
        finally:
            self.close()


ActionHandler = Callable[[AmiSession, Message], Awaitable[Reply]]


class AmiServer:
    """Listens on TCP, authenticates, answers actions and fans events out to sessions."""

    def __init__(self, pbx: Pbx, actions: dict[str, ActionHandler]) -> None:
        self.pbx = pbx
        self.users = {u.username: u for u in pbx.config.ami_users}
        self.max_backlog = pbx.config.max_ami_backlog
        self.sessions: set[AmiSession] = set()
        self.actions = {name.lower(): handler for name, handler in actions.items()}
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # Cleared to stall every session (a half-open link seen from the client: nothing moves).
        self.flowing = asyncio.Event()
        self.flowing.set()
        pbx.event_listeners.append(self.publish)

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(self._accept, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        self.flowing.set()
        if self._server is not None:
            self._server.close()
        for session in list(self.sessions):
            session.close()
        if self._tasks:
            # Let writers flush what is queued (the Shutdown event) before cutting them off.
            await asyncio.wait(list(self._tasks), timeout=1.0)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            await self._server.wait_closed()

    def drop_connections(self) -> int:
        """Reset every AMI connection at once (RST), as a crash or a network cut would."""
        dropped = 0
        for session in list(self.sessions):
            session.closed = True
            session.writer.transport.abort()
            dropped += 1
        return dropped

    def shutdown_event(self) -> None:
        """``core stop``: every logged-in client gets Event: Shutdown, then the socket closes."""
        self.pbx.emit("Shutdown", "system", [("Shutdown", "Cleanly"), ("Restart", "False")])
        for session in list(self.sessions):
            session.close()

    def publish(self, event: AmiEvent) -> None:
        data: bytes | None = None
        for session in self.sessions:
            if session.wants(event):
                if data is None:
                    data = encode(event.wire_headers())
                session.send(data)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = AmiSession(self, reader, writer)
        self.sessions.add(session)
        writer.write(BANNER)
        writer_task = asyncio.create_task(session.write_loop())
        self._tasks.add(writer_task)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await session.read_loop()
            await writer_task
        finally:
            self.sessions.discard(session)
            self._tasks.discard(writer_task)
            if task is not None:
                self._tasks.discard(task)

    async def handle(self, session: AmiSession, message: Message) -> Reply | None:
        """Answer one message; None when the handler already wrote everything (Login)."""
        if message.framing_error is not None:
            return error(message, message.framing_error)
        action = message.action
        if not action:
            return error(message, "Missing action in request")
        name = action.lower()
        if name == "login":
            return await self._login(session, message)
        if name == "challenge":
            return self._challenge(session, message)
        if name == "logoff":
            return Reply(
                respond(message, "Goodbye", ("Message", "Thanks for all the fish.")), close=True
            )
        if session.user is None:
            return error(message, "Permission denied")
        if name == "events":
            return self._events(session, message)
        if name == "filter":
            return self._filter(session, message)
        handler = self.actions.get(name)
        if handler is None:
            return error(
                message,
                f"Invalid/unknown command: {action}. "
                "Use Action: ListCommands to show available commands.",
            )
        return await handler(session, message)

    def _challenge(self, session: AmiSession, message: Message) -> Reply:
        if (message.get("AuthType") or "").lower() != "md5":
            return error(message, "Must specify AuthType")
        if session.challenge is None:
            session.challenge = str(random.randint(100000000, 999999999))
        return Reply(respond(message, "Success", ("Challenge", session.challenge)))

    async def _login(self, session: AmiSession, message: Message) -> Reply | None:
        if session.user is not None:
            return success(message, "Already authenticated")
        user = self.users.get(message.get("Username") or "")
        accepted = False
        if user is not None:
            if (message.get("AuthType") or "").lower() == "md5":
                if session.challenge is not None:
                    digest = hashlib.md5(
                        (session.challenge + user.secret).encode(), usedforsecurity=False
                    ).hexdigest()
                    accepted = (message.get("Key") or "").lower() == digest
            else:
                accepted = message.get("Secret") == user.secret
        if not accepted or user is None:
            # manager.c sleeps a second before answering a failed login, then hangs up.
            await asyncio.sleep(self.pbx.config.timings.login_failure_delay)
            return Reply(
                respond(message, "Error", ("Message", "Authentication failed")), close=True
            )
        session.user = user
        self._apply_event_mask(session, message.get("Events"))
        reply = success(message, "Authentication accepted")
        session.send(encode(reply.response))
        uptime = str(int(time.time() - self.pbx.started_at))
        booted = AmiEvent(
            "FullyBooted",
            "system",
            (("Uptime", uptime), ("LastReload", uptime), ("Status", "Fully Booted")),
        )
        peer = session.writer.get_extra_info("peername") or ("127.0.0.1", 0)
        sock = session.writer.get_extra_info("sockname") or ("127.0.0.1", 0)
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime())
        authed = AmiEvent(
            "SuccessfulAuth",
            "security",
            (
                ("EventTV", now),
                ("Severity", "Informational"),
                ("Service", "AMI"),
                ("EventVersion", "1"),
                ("AccountID", user.username),
                ("SessionID", hex(id(session))),
                ("LocalAddress", f"IPV4/TCP/{sock[0]}/{sock[1]}"),
                ("RemoteAddress", f"IPV4/TCP/{peer[0]}/{peer[1]}"),
                ("UsingPassword", "0"),
                ("SessionTV", now),
            ),
        )
        for event in (booted, authed):
            if session.wants(event):
                session.send(encode(event.wire_headers()))
        return None

    def _apply_event_mask(self, session: AmiSession, value: str | None) -> None:
        mask = (value or "on").strip().lower()
        if mask in ("off", "no", "false", "0"):
            session.events_on = False
            session.event_mask = None
        elif mask in ("on", "yes", "true", "1", "all"):
            session.events_on = True
            session.event_mask = None
        else:
            session.events_on = True
            session.event_mask = {part.strip() for part in mask.split(",") if part.strip()}

    def _filter(self, session: AmiSession, message: Message) -> Reply:
        """Filter (manager.c action_filter): add an event filter to this session only."""
        assert session.user is not None
        if not {"system", "all"} & set(session.user.write):
            return error(message, "Permission denied")
        if (message.get("Operation") or "").lower() != "add":
            return error(message, "Unknown operation")
        parsed = parse_filter(message.get("MatchCriteria") or "", message.get("Filter") or "")
        if isinstance(parsed, str):
            return error(message, parsed)
        (session.exclude_filters if parsed.exclude else session.include_filters).append(parsed)
        return success(message, "Success")

    def _events(self, session: AmiSession, message: Message) -> Reply:
        self._apply_event_mask(session, message.get("EventMask") or "off")
        state = "On" if session.events_on else "Off"
        return Reply(respond(message, "Success", ("Events", state)))
