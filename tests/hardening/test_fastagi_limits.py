"""FastAGI under a burst: max_sessions holds while environments are still being read."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from acd.asterisk.fastagi import AgiSession, FastAgiServer, FastAgiSettings
from tests.asterisk.test_fastagi import ENV
from tests.deadlines import until


async def test_max_sessions_holds_under_a_burst_of_slow_environments() -> None:
    """300 connections at once, environments sent after all connect: at most 50 are admitted."""
    admitted = 0
    release = asyncio.Event()

    async def handler(session: AgiSession) -> None:
        nonlocal admitted
        admitted += 1
        await release.wait()

    settings = FastAgiSettings(host="127.0.0.1", port=0, max_sessions=50, environment_timeout=30)
    with capture_logs() as logs:
        async with FastAgiServer(settings, handler) as server:
            peers = await asyncio.gather(
                *(asyncio.open_connection("127.0.0.1", server.port) for _ in range(300))
            )
            # Every connection is accepted (or refused) before any environment arrives: the
            # window in which the old check (sessions counted after the environment) let all in.
            await until(lambda: server.connections_refused == 250, within=20, what="250 refused")
            for _, writer in peers:
                writer.write(ENV.encode())
            await until(lambda: admitted == 50, within=20, what="50 sessions started")
            assert server.active_sessions == 50
            release.set()
            for _, writer in peers:
                writer.close()
            await until(lambda: server.active_sessions == 0, within=20, what="sessions ended")
    rejected = [e for e in logs if e.get("reason") == "too many sessions"]
    assert len(rejected) == 250
    assert admitted == 50


async def test_a_handler_that_times_out_is_logged_as_a_timeout() -> None:
    """A handler whose wait runs out is agi_handler_timed_out, not agi_handler_crashed."""

    async def handler(session: AgiSession) -> None:
        async with asyncio.timeout(0.05):
            await session.wait_hangup()

    settings = FastAgiSettings(host="127.0.0.1", port=0)
    with capture_logs() as logs:
        async with FastAgiServer(settings, handler) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(ENV.encode())
            async with asyncio.timeout(10):
                assert await reader.read() == b""
            writer.close()
    events = [e["event"] for e in logs]
    assert "agi_handler_timed_out" in events
    assert "agi_handler_crashed" not in events
