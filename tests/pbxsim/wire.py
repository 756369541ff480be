"""Test-side peers of pbxsim: a raw AMI client that records every byte, and a FastAGI server that
replays the commands of a recorded session with the recorded pauses, compressed."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, field

from tests.pbxsim.recording import Headers, Record, parse_messages

TIMEOUT = 10.0


class RawAmi:
    """A plain socket AMI client: writes bytes, keeps everything received."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.received = bytearray()
        self._parsed: list[Headers] = []
        self._parsed_upto = 0
        self._task = asyncio.create_task(self._pump())
        self._grew = asyncio.Event()

    @classmethod
    async def connect(cls, port: int) -> RawAmi:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), TIMEOUT)
        return cls(reader, writer)

    async def _pump(self) -> None:
        while True:
            data = await self.reader.read(65536)
            if not data:
                self._grew.set()
                return
            self.received.extend(data)
            self._grew.set()

    @property
    def eof(self) -> bool:
        return self._task.done()

    async def send(self, data: bytes | str) -> None:
        self.writer.write(data.encode() if isinstance(data, str) else data)
        await asyncio.wait_for(self.writer.drain(), TIMEOUT)

    async def action(self, name: str, *headers: tuple[str, str]) -> None:
        lines = [f"Action: {name}", *(f"{k}: {v}" for k, v in headers)]
        await self.send("\r\n".join(lines) + "\r\n\r\n")

    def messages(self) -> list[Headers]:
        """Messages received so far (parsed incrementally: tests wait on large streams)."""
        end = self.received.rfind(b"\r\n\r\n")
        if end >= self._parsed_upto:
            chunk = bytes(self.received[self._parsed_upto : end + 4])
            if self._parsed_upto == 0 and chunk.startswith(b"Asterisk Call Manager"):
                chunk = chunk.split(b"\r\n", 1)[1]
            self._parsed.extend(parse_messages(chunk))
            self._parsed_upto = end + 4
        return list(self._parsed)

    async def wait_for(self, predicate: str | None = None, *, count: int = 1) -> list[Headers]:
        """Wait until ``count`` messages contain ``predicate`` in their raw text (or eof)."""
        async with asyncio.timeout(TIMEOUT):
            while True:
                found = [m for m in self.messages() if predicate is None or predicate in _text(m)]
                if len(found) >= count or self.eof:
                    return found
                self._grew.clear()
                await self._grew.wait()

    async def wait_eof(self) -> None:
        await asyncio.wait_for(asyncio.shield(self._task), TIMEOUT)

    async def login(self, *, events: str = "on", secret: str = "acdsecret") -> None:
        await self.action(
            "Login",
            ("ActionID", "login-1"),
            ("Username", "acd"),
            ("Secret", secret),
            ("Events", events),
        )
        await self.wait_for("login-1")

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()

    def abort(self) -> None:
        """Reset the connection (SO_LINGER 0), as the S6 ``r1`` client did."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()
        self._task.cancel()


def _text(message: Headers) -> str:
    return "\n".join(f"{k}: {v}" for k, v in message)


@dataclass
class AgiScript:
    """The commands of one recorded session and the pause before each, plus how it ends."""

    steps: list[tuple[float, str]]
    end_pause: float
    close_with_reset: bool

    @classmethod
    def from_recording(cls, records: list[Record], conn: str, scale: float) -> AgiScript:
        steps: list[tuple[float, str]] = []
        last_rx = None
        end_pause = 0.0
        reset = False
        for record in records:
            if record.conn != conn:
                continue
            if record.direction == "rx":
                last_rx = record.t
            elif record.direction == "tx" and record.kind == "command":
                pause = 0.0 if last_rx is None else max(record.t - last_rx, 0.0)
                steps.append((pause * scale if pause > 0.05 else 0.0, record.raw))
            elif record.kind == "eof":
                end_pause = 0.0 if last_rx is None else max(record.t - last_rx, 0.0) * scale
                reset = "rst" in record.raw
        return cls(steps, end_pause if end_pause > 0.05 * scale else 0.0, reset)


@dataclass
class ScriptedAgiServer:
    """Accepts FastAGI sessions and plays one script per session, recording what it receives."""

    scripts: list[AgiScript]
    sessions: list[list[tuple[str, str]]] = field(default_factory=list)
    server: asyncio.Server | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = len(self.sessions)
        dialogue: list[tuple[str, str]] = []
        self.sessions.append(dialogue)
        script = self.scripts[index]
        env = []
        while True:
            line = await asyncio.wait_for(reader.readline(), TIMEOUT)
            env.append(line.decode())
            if line in (b"\n", b""):
                break
        dialogue.append(("env", "".join(env)))
        for pause, command in script.steps:
            if pause:
                await asyncio.sleep(pause)  # fixed-sleep: the script's pause, as scripted
            dialogue.append(("command", command))
            writer.write(command.encode())
            await writer.drain()
            while True:
                reply = await asyncio.wait_for(_read_reply(reader), TIMEOUT)
                if reply == "HANGUP\n":
                    dialogue.append(("hangup_notice", reply))
                    continue
                dialogue.append(("response", reply))
                break
        if script.end_pause:
            await asyncio.sleep(script.end_pause)  # fixed-sleep: the script's pause, as scripted
        # A HANGUP written after the last reply is still part of the dialogue.
        with contextlib.suppress(TimeoutError):
            extra = await asyncio.wait_for(reader.read(4096), 0.02)
            if extra == b"HANGUP\n":
                dialogue.append(("hangup_notice", "HANGUP\n"))
        if script.close_with_reset:
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        else:
            writer.close()
        if len(self.sessions) == len(self.scripts):
            self.done.set()


async def _read_reply(reader: asyncio.StreamReader) -> str:
    first = (await reader.readline()).decode()
    if not first.startswith("520-"):
        return first
    lines = [first]
    while not lines[-1].startswith("520 "):
        lines.append((await reader.readline()).decode())
    return "".join(lines)
