"""HTTP abuse on a real socket: tokens before bodies, bounded bodies, slow and idle clients."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from structlog.testing import capture_logs

from acd.admin import HttpServer, LiveFeed, build_http_app
from acd.app import Daemon, http_limits, known_token
from tests.admin.conftest import ADMIN_TOKEN, AGENT_TOKENS, centre_settings


@dataclass
class Served:
    daemon: Daemon
    port: int

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)

    async def exchange(self, head: str, body: bytes = b"") -> bytes:
        """Send a request head (and body); return the whole answer (the server closes)."""
        reader, writer = await self.connect()
        try:
            writer.write(head.encode() + b"\r\n" + body)
            await writer.drain()
            async with asyncio.timeout(10):
                return await reader.read()
        except ConnectionResetError:  # refused at accept
            return b""
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def serving(**http: Any) -> AsyncIterator[Served]:
    """The daemon's HTTP server, with its limits from ``[http]``, on a free port."""
    settings = centre_settings(**http)
    daemon = Daemon(settings)
    feed = LiveFeed(daemon.engine, daemon.dispatcher, timezone="Europe/Paris")
    server = HttpServer(
        build_http_app(feed, daemon),
        host="127.0.0.1",
        port=0,
        token_known=lambda token: known_token(daemon.settings, token),
        limits=http_limits(settings),
    )
    running = asyncio.create_task(daemon.dispatcher.run())
    task = asyncio.create_task(server.run())
    await asyncio.wait_for(server.started.wait(), 5)
    try:
        yield Served(daemon, server.port)
    finally:
        feed.close()
        server.stop()
        await asyncio.wait_for(task, 10)
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


AGENTS = "GET /api/v1/agents HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
PAUSE = "POST /api/v1/agents/alice/pause HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"


async def test_a_huge_body_without_a_token_is_refused_before_it_is_read() -> None:
    """A 600 MB POST with no token gets 401 from its head alone: not one body byte is read."""
    async with serving() as served:
        started = time.monotonic()
        answer = await served.exchange(PAUSE + "Content-Length: 600000000\r\n")
        assert status(answer) == 401
        assert time.monotonic() - started < 2
        wrong = await served.exchange(
            PAUSE + "Authorization: Bearer nope\r\nContent-Length: 600000000\r\n"
        )
        assert status(wrong) == 401


async def test_bodies_beyond_the_limit_are_refused_by_length_and_as_they_grow() -> None:
    """With a token, a declared or chunked body over max_body_bytes is 413."""
    token = f"Authorization: Bearer {AGENT_TOKENS['alice']}\r\n"
    async with serving(max_body_bytes=1000) as served:
        declared = await served.exchange(PAUSE + token + "Content-Length: 600000000\r\n")
        assert status(declared) == 413
        assert b"body_too_large" in declared
        chunk = b"800\r\n" + b"x" * 0x800 + b"\r\n"
        grown = await served.exchange(PAUSE + token + "Transfer-Encoding: chunked\r\n", chunk)
        assert status(grown) == 413
        fine = await served.exchange(
            PAUSE + token + "Content-Type: application/json\r\nContent-Length: 19\r\n",
            b'{"reason": "lunch"}',
        )
        assert status(fine) == 409  # read and routed: alice is logged out, so she cannot pause


async def test_a_slow_request_head_is_cut_at_the_header_timeout() -> None:
    """A client trickling its request head is disconnected after header_timeout_s."""
    async with serving(header_timeout_s=0.5) as served:
        reader, writer = await served.connect()
        writer.write(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        async with asyncio.timeout(10):
            assert await reader.read() == b""
        assert time.monotonic() - started < 5
        writer.close()


async def test_a_body_that_stops_coming_is_answered_408() -> None:
    """A body stalled for body_idle_timeout_s is answered 408 and the connection freed."""
    token = f"Authorization: Bearer {ADMIN_TOKEN}\r\n"
    async with serving(body_idle_timeout_s=0.5) as served:
        reader, writer = await served.connect()
        writer.write((PAUSE + token + "Content-Length: 100\r\n\r\n").encode() + b'{"rea')
        async with asyncio.timeout(10):
            answer = await reader.read()
        assert status(answer) == 408
        writer.close()


async def test_connections_beyond_max_connections_are_closed_at_once() -> None:
    """With max_connections=5, a sixth connection is closed before it sends anything."""
    async with serving(max_connections=5, header_timeout_s=30) as served:
        held = [await served.connect() for _ in range(5)]
        reader, writer = await served.connect()
        async with asyncio.timeout(5):
            try:
                closed = await reader.read() == b""
            except ConnectionResetError:
                closed = True
        assert closed
        writer.close()
        for _, other in held:
            other.close()
        # Once the server has seen them close, a new connection is served again.
        deadline = time.monotonic() + 10
        while not (answer := await served.exchange(AGENTS)):
            assert time.monotonic() < deadline, "no connection served after the others closed"
            await asyncio.sleep(0.05)
        assert status(answer) == 200


async def test_wrong_tokens_are_logged_per_peer_and_then_refused_429() -> None:
    """Ten wrong tokens are logged with the peer; the eleventh, even a right one, is 429."""
    request = (
        "GET /api/v1/calls HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {}\r\n"
    )
    with capture_logs() as logs:
        async with serving(token_failures=10) as served:
            for attempt in range(10):
                answer = await served.exchange(request.format(f"guess-{attempt}"))
                assert status(answer) == 401
            blocked = await served.exchange(request.format(ADMIN_TOKEN))
            assert status(blocked) == 429
            assert b"retry-after: 60" in blocked.lower()
    rejected = [e for e in logs if e["event"] == "http_token_rejected"]
    assert [e["failures"] for e in rejected] == list(range(1, 11))
    assert {e["peer"] for e in rejected} == {"127.0.0.1"}
    assert not any("guess-" in repr(e) or ADMIN_TOKEN in repr(e) for e in logs)


@pytest.mark.parametrize("path", ["/api/v1/health", "/api/v1/agents"])
async def test_reads_without_a_token_still_work(path: str) -> None:
    """The guard leaves token-free reads alone."""
    async with serving() as served:
        answer = await served.exchange(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n")
        assert status(answer) == 200
