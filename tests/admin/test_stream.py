"""Server-Sent Events: the wallboard stream and the advisor's own stream."""

from __future__ import annotations

import asyncio
import time

from acd.core.events import AgentLoggedIn, AgentPaused, CallArrived
from tests.admin.conftest import Api
from tests.admin.sse import events


async def test_the_stream_delivers_a_change_within_a_second(api: Api) -> None:
    """A snapshot showing a state change arrives well within a second of the change."""
    dispatcher = api.daemon.dispatcher
    async with api.client.stream("GET", "/api/v1/stream") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = events(response)
        name, first = await anext(stream)
        assert name == "snapshot"
        assert {a["agent_id"]: a["activity"] for a in first["agents"]}["alice"] == "offline"
        changed_at = time.perf_counter()
        await dispatcher.submit(AgentLoggedIn(at=dispatcher.now(), agent_id="alice"))
        async with asyncio.timeout(1.0):
            async for _, board in stream:
                agents = {a["agent_id"]: a for a in board["agents"]}
                if agents["alice"]["activity"] == "available":
                    break
        latency = time.perf_counter() - changed_at
        assert latency < 1.0
        print(f"sse_latency_s={latency:.4f}")


async def test_a_busy_centre_is_throttled(api: Api) -> None:
    """Hundreds of events in a burst produce a handful of snapshots, the last one up to date."""
    dispatcher = api.daemon.dispatcher
    interval = api.feed.min_interval_s
    async with api.client.stream("GET", "/api/v1/stream") as response:
        stream = events(response)
        await anext(stream)
        started = time.perf_counter()
        for i in range(300):
            dispatcher.post(CallArrived(at=dispatcher.now(), call_id=f"c{i}", queue="sales"))
        await dispatcher.drain()
        received = 0
        async with asyncio.timeout(2.0):
            async for _, board in stream:
                received += 1
                sales = next(q for q in board["queues"] if q["name"] == "sales")
                if sales["waiting"] == 300:
                    break
        elapsed = time.perf_counter() - started
        assert received <= elapsed / interval + 2


async def test_the_advisors_stream_needs_a_token_and_follows_their_state(api: Api) -> None:
    """The session stream is 401 without the token; with it, a pause shows up at once."""
    refused = await api.client.get("/api/v1/agents/alice/session/stream")
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "unauthorized")
    unknown = await api.client.get("/api/v1/agents/zoe/session/stream", headers=api.admin)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_agent")
    dispatcher = api.daemon.dispatcher
    await dispatcher.submit(AgentLoggedIn(at=dispatcher.now(), agent_id="alice"))
    headers = api.advisor("alice")
    async with api.client.stream(
        "GET", "/api/v1/agents/alice/session/stream", headers=headers
    ) as response:
        stream = events(response)
        name, first = await anext(stream)
        assert name == "session"
        assert first["agent"]["activity"] == "available"
        await dispatcher.submit(AgentPaused(at=dispatcher.now(), agent_id="alice", reason="break"))
        async with asyncio.timeout(1.0):
            async for _, page in stream:
                if page["agent"]["activity"] == "paused":
                    assert page["agent"]["reason"] == "break"
                    break
