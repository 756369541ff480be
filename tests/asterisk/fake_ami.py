"""A scripted fake Asterisk AMI server for client tests (127.0.0.1, port 0).

Each accepted connection runs `script(peer)`; the script sends recorded bytes and reads actions.
Every action received is kept per connection, so a test can check what was (not) re-sent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from types import TracebackType

from acd.asterisk.ami_codec import AmiFrame, AmiFrameParser

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


class FakePeer:
    """The server side of one AMI connection."""

    def __init__(self, number: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.number = number
        self.reader = reader
        self.writer = writer
        self.actions: list[AmiFrame] = []
        self._parser = AmiFrameParser(expect_banner=False)
        self._queued: list[AmiFrame] = []

    async def send(self, data: bytes | str) -> None:
        self.writer.write(data.encode() if isinstance(data, str) else data)
        async with asyncio.timeout(2):
            await self.writer.drain()

    async def read_action(self, within_s: float = 2.0) -> AmiFrame:
        async with asyncio.timeout(within_s):
            while not self._queued:
                data = await self.reader.read(65536)
                if not data:
                    raise EOFError("client closed")
                for item in self._parser.feed(data):
                    assert isinstance(item, AmiFrame)
                    self.actions.append(item)
                    self._queued.append(item)
        return self._queued.pop(0)

    async def login(self, *, extra: str = "") -> AmiFrame:
        """Answer the Login like Asterisk 22 does (S6 r2), then any extra recorded bytes."""
        action = await self.read_action()
        assert action.get("Action") == "Login"
        await self.send(
            f"Response: Success\r\nActionID: {action.action_id}\r\n"
            "Message: Authentication accepted\r\n\r\n"
            "Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 14\r\nLastReload: 14\r\n"
            "Status: Fully Booted\r\n\r\n" + extra
        )
        return action

    async def drain_actions(self, seconds: float) -> None:
        """Keep reading (and recording) actions for a while without answering."""
        with contextlib.suppress(TimeoutError, EOFError):
            async with asyncio.timeout(seconds):
                while True:
                    await self.read_action(within_s=seconds)


Script = Callable[[FakePeer], Awaitable[None]]


class FakeAmi:
    """Runs `script` for each connection; `peers` lists them in connection order."""

    def __init__(self, script: Script) -> None:
        self._script = script
        self.peers: list[FakePeer] = []
        self.connected = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def __aenter__(self) -> FakeAmi:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for peer in self.peers:
            peer.writer.close()

    async def wait_for_peers(self, count: int, within_s: float = 5.0) -> None:
        async with asyncio.timeout(within_s), self.connected:
            await self.connected.wait_for(lambda: len(self.peers) >= count)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        peer = FakePeer(len(self.peers) + 1, reader, writer)
        async with self.connected:
            self.peers.append(peer)
            self.connected.notify_all()
        try:
            writer.write(BANNER)
            await self._script(peer)
        except (EOFError, ConnectionError, TimeoutError):
            pass
        except asyncio.CancelledError:
            # start_server's done-callback logs a cancelled handler as an error; the test is
            # over, so end quietly.
            pass
        finally:
            self._tasks.discard(task)
