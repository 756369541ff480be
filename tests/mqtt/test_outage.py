"""A private Mosquitto stopped and restarted mid-run: routing never waits, state is republished."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from tests.mqtt.centre import AGENTS, PrivateMosquitto, running_centre, subscriber, unique_prefix

pytestmark = pytest.mark.skipif(
    not os.path.exists("/usr/sbin/mosquitto"), reason="no /usr/sbin/mosquitto to run a private one"
)


async def test_broker_outage_does_not_stop_routing_and_state_is_republished() -> None:
    """Calls are handled while the broker is down; after it returns, retained state is back."""
    broker = PrivateMosquitto()
    await broker.start()
    try:
        prefix = unique_prefix()
        mqtt = {"enabled": True, "url": broker.url, "prefix": prefix}
        async with running_centre(mqtt=mqtt) as centre:
            bridge = centre.bridge
            assert bridge is not None
            await asyncio.wait_for(bridge.connected.wait(), 5)
            first = await _call_round(centre, 2)
            await broker.stop()
            await _wait(lambda: not bridge.connected.is_set())
            # Broker gone: calls still flow, and as fast as with it.
            during = await _call_round(centre, 4)
            assert during < first * 3 + 1.0
            waiting = len(bridge.outbox)
            assert waiting  # the call events wait for the broker
            published = bridge.published
            await broker.start()  # same port, empty: no retained message survived
            await asyncio.wait_for(bridge.connected.wait(), 10)
            assert bridge.connections == 2
            async with subscriber(broker.url, prefix) as seen:
                stats = f"{prefix}/queues/support/stats"
                await seen.wait_for(lambda: (seen.latest(stats) or {}).get("answered") == 6)
                for agent_id in AGENTS:
                    topic = f"{prefix}/agents/{agent_id}/state"
                    await seen.wait_for(lambda t=topic: seen.latest(t))
                assert seen.latest(f"{prefix}/status") == "online"
            await _wait(lambda: not bridge.outbox)
            # Each waiting event left the outbox only once the new broker acknowledged it.
            assert bridge.published - published >= waiting
            assert bridge.dropped == 0
    finally:
        await broker.stop()


async def _call_round(centre: object, count: int) -> float:
    from tests.mqtt.centre import Centre

    assert isinstance(centre, Centre)
    started = time.monotonic()
    records = [centre.call(caller_num=f"0700000{i:03d}") for i in range(count)]
    await asyncio.wait_for(asyncio.gather(*(r.done.wait() for r in records)), 20)
    assert [r.path for r in records] == ["handled"] * count
    await centre.daemon.dispatcher.drain()
    return time.monotonic() - started


async def _wait(check: object, within_s: float = 5.0) -> None:
    assert callable(check)
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.02)
