"""Username and password against a private Mosquitto that refuses anonymous clients."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiomqtt
import pytest
import structlog
from pydantic import SecretStr

from acd.core.engine import Engine
from acd.mqtt import MqttBridge
from acd.runtime.clock import SteadyWallClock
from acd.runtime.dispatcher import Dispatcher
from acd.settings import MqttSettings, parse_settings
from tests.deadlines import until
from tests.mqtt.centre import PrivateMosquitto, free_port, unique_prefix

pytestmark = pytest.mark.skipif(
    not os.path.exists("/usr/bin/mosquitto_passwd"), reason="no mosquitto_passwd"
)
PASSWORD = "s3cret-broker-password"


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[PrivateMosquitto]:
    passwords = tmp_path / "passwd"
    making = await asyncio.create_subprocess_exec(
        "/usr/bin/mosquitto_passwd", "-b", "-c", str(passwords), "acd", PASSWORD
    )
    assert await making.wait() == 0
    port = free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(
        # user root: a broker started as root would otherwise drop to "mosquitto", which
        # cannot read pytest's private tmp_path.
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\nuser root\n",
        encoding="ascii",
    )
    server = PrivateMosquitto(port, config=str(config))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def bridge_running(settings: MqttSettings) -> AsyncIterator[MqttBridge]:
    centre = parse_settings(
        {"queues": {"q": {}}, "agents": {"a": {"endpoint": "PJSIP/a", "queues": ["q"]}}}
    )
    clock = SteadyWallClock()
    engine = Engine(centre.to_core(), start_at=clock.now())
    bridge = MqttBridge(
        settings, engine, Dispatcher(engine, clock), backoff_initial_s=0.05, backoff_max_s=0.1
    )
    task = asyncio.create_task(bridge.run())
    try:
        yield bridge
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_the_bridge_logs_in_with_username_and_password(broker: PrivateMosquitto) -> None:
    """With the right credentials the bridge connects and publishes its retained state."""
    prefix = unique_prefix()
    settings = MqttSettings(
        enabled=True, url=broker.url, prefix=prefix, username="acd", password=SecretStr(PASSWORD)
    )
    async with bridge_running(settings) as bridge:
        await asyncio.wait_for(bridge.connected.wait(), 5)
        deadline = time.monotonic() + 5
        while bridge.published < 3:  # status, the advisor, the queue
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        async with aiomqtt.Client(
            "127.0.0.1", broker.port, username="acd", password=PASSWORD
        ) as client:
            await client.subscribe(f"{prefix}/agents/a/state")
            async with asyncio.timeout(5):
                async for message in client.messages:
                    assert message.retain
                    assert str(message.topic) == f"{prefix}/agents/a/state"
                    break


async def test_a_wrong_password_is_retried_and_never_logged(broker: PrivateMosquitto) -> None:
    """A refused login leads to retries with backoff; the password appears in no log entry."""
    settings = MqttSettings(
        enabled=True,
        url=broker.url,
        prefix=unique_prefix(),
        username="acd",
        password=SecretStr("not-the-password-xyz"),
    )
    with structlog.testing.capture_logs() as entries:
        async with bridge_running(settings) as bridge:
            await until(
                lambda: sum(e["event"] == "mqtt_connection_lost" for e in entries) >= 2,
                within=15,
                what="two refused logins",
            )
            assert not bridge.connected.is_set()
    failures = [e for e in entries if e["event"] == "mqtt_connection_lost"]
    assert len(failures) >= 2
    assert "not-the-password-xyz" not in repr(entries)
    assert PASSWORD not in repr(entries)
