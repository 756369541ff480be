"""Something other than Asterisk on the AMI port: one clear error line, retries stay quiet.

Found by pointing ``[ami] port`` at an SSH server: every attempt logged a timeout with an empty
reason and a warning per closed connection, forever.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from structlog.testing import capture_logs

from acd.asterisk.ami_client import AmiClient, AmiSettings
from tests.deadlines import until

Greeter = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class NotAsterisk:
    """A TCP server that answers connections its own way, counting them."""

    def __init__(self, greet: Greeter) -> None:
        self.greet = greet
        self.connections = 0
        self.handlers: set[asyncio.Task[None]] = set()
        self.writers: set[asyncio.StreamWriter] = set()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        self.writers.add(writer)
        try:
            with contextlib.suppress(OSError):
                await self.greet(reader, writer)
        finally:
            writer.close()
            self.handlers.discard(task)

    async def close(self) -> None:
        """Close every connection (its handler's read ends) and wait for the handlers: a
        cancelled handler would make asyncio's stream callback log an error."""
        for writer in self.writers:
            writer.close()
        await asyncio.wait_for(asyncio.gather(*self.handlers), 10)


async def ssh(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n")
    await reader.read()  # until the client gives up


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"\x00\xff\xfe binary \x80\r\n\r\nmore\r\n\r\n")
    await reader.read()


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # an HTTP server: it waits for a request that never comes


@contextlib.asynccontextmanager
async def client_against(server: NotAsterisk) -> AsyncIterator[AmiClient]:
    listener = await asyncio.start_server(server.serve, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    settings = AmiSettings(
        "127.0.0.1",
        port,
        "acd",
        "secret",
        connect_timeout=1.0,
        backoff_initial=0.05,
        backoff_max=0.1,
    )
    client = AmiClient(settings, on_event=lambda event: None)
    task = asyncio.create_task(client.run())
    try:
        yield client
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        listener.close()
        await server.close()
        await listener.wait_closed()


@pytest.mark.parametrize(
    ("greet", "says"),
    [
        (ssh, "its first line is 'SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13'"),
        (garbage, "its first line is '\\x00"),
        (silent, "no 'Asterisk Call Manager/...' greeting within 1 s"),
    ],
)
async def test_a_server_that_is_not_asterisk_is_named_once(greet: Greeter, says: str) -> None:
    """Five attempts against an SSH server, garbage or silence: one ami_not_asterisk error
    naming what answered, no warning, no traceback; the client keeps retrying."""
    server = NotAsterisk(greet)
    with capture_logs() as logs:
        async with client_against(server) as client:
            await until(lambda: server.connections >= 5, within=20, what="five attempts")
            assert not client.connected
    errors = [e for e in logs if e["log_level"] in ("error", "critical")]
    assert [e["event"] for e in errors] == ["ami_not_asterisk"], errors
    assert says in errors[0]["reason"]
    assert "check [ami] host and port" in errors[0]["reason"]
    assert not [e for e in logs if e["log_level"] == "warning"]
    assert not [e for e in logs if "exc_info" in e or "exception" in e]
