"""The HTTP side of a whole daemon against pbxsim: calls flow, the wallboard stream and the
advisor's page follow them, /metrics counts them."""

from __future__ import annotations

import asyncio
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.admin.sse import events
from tests.mqtt.centre import ADMIN_TOKEN, agent_token, running_centre


async def test_the_stream_follows_real_calls_within_a_second() -> None:
    """With the default throttle, each call's effect on the wallboard arrives in under a second."""
    async with (
        running_centre(http=True, talk_time=0.6) as centre,
        httpx.AsyncClient(base_url=centre.base_url, timeout=5) as client,
        client.stream("GET", "/api/v1/stream") as response,
    ):
        stream = events(response)
        _, board = await anext(stream)
        assert board["queues"][0]["answered"] == 0
        record = centre.call(caller_num="0611111111")
        started = time.perf_counter()
        async with asyncio.timeout(1.0):
            async for _, board in stream:
                if any(a["activity"] == "on_call" for a in board["agents"]):
                    break
        latency = time.perf_counter() - started
        print(f"sse_call_latency_s={latency:.3f}")
        await asyncio.wait_for(record.done.wait(), 10)
        async with asyncio.timeout(2.0):
            async for _, board in stream:
                if board["queues"][0]["answered"] == 1:
                    break


async def test_the_advisors_page_data_follows_their_call() -> None:
    """During a call the advisor's session shows the caller; afterwards, the day's figures."""
    async with (
        running_centre(http=True, talk_time=0.5, wrap_up_s=30) as centre,
        httpx.AsyncClient(base_url=centre.base_url, timeout=5) as client,
    ):
        headers = {"authorization": f"Bearer {agent_token('agent1')}"}
        for other in ("agent2", "agent3"):
            response = await client.post(
                f"/api/v1/agents/{other}/pause",
                headers={"authorization": f"Bearer {agent_token(other)}"},
                json={"reason": "meeting"},
            )
            assert response.status_code == 200
        record = centre.call(caller_num="0622334455", caller_name="Zoé Martin")
        async with client.stream(
            "GET", "/api/v1/agents/agent1/session/stream", headers=headers
        ) as response:
            stream = events(response)
            async with asyncio.timeout(5):
                async for _, page in stream:
                    if page["agent"]["activity"] == "on_call":
                        assert page["call"]["caller_number"] == "0622334455"
                        assert page["call"]["caller_name"] == "Zoé Martin"
                        break
            await asyncio.wait_for(record.done.wait(), 10)
            async with asyncio.timeout(5):
                async for _, page in stream:
                    if page["agent"]["activity"] == "wrap_up":
                        break
        done = await client.post(
            "/api/v1/agents/agent1/disposition", headers=headers, json={"disposition": "resolved"}
        )
        assert done.status_code == 200
        ended = await client.post("/api/v1/agents/agent1/wrap-up/end", headers=headers)
        assert ended.json()["agent"]["activity"] == "available"
        session = (await client.get("/api/v1/agents/agent1/session", headers=headers)).json()
        assert session["today"]["calls"] == 1
        assert session["today"]["talk_s"] > 0.3
        assert session["today"]["occupancy"] > 0
        metrics = (await client.get("/metrics")).text
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(metrics)
            for s in family.samples
        }
        assert samples[("acd_calls_total", (("outcome", "answered"), ("queue", "support")))] == 1
        assert samples[("acd_agents", (("activity", "paused"),))] == 2
        calls = await client.get(
            "/api/v1/calls", headers={"authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        assert calls.json() == []
