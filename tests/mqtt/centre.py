"""A whole daemon against pbxsim, with the MQTT bridge (and optionally HTTP) wired the way
acd/app.py wires them, plus a recording MQTT subscriber and a private Mosquitto for outage tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiomqtt

from acd.admin import AcdMetrics, HttpServer, LiveFeed, build_http_app
from acd.app import Daemon
from acd.mqtt import MqttBridge
from acd.pbxsim.config import DialplanConfig, PbxConfig, PhoneConfig, QueueConfig, Timings
from acd.pbxsim.phones import PhoneBehaviour
from acd.pbxsim.sim import PbxSim
from acd.settings import parse_settings
from tests.ports import free_port

AGENTS = ("agent1", "agent2", "agent3")
ADMIN_TOKEN = "wallboard-admin-token-42"


def agent_token(agent_id: str) -> str:
    return f"token-of-{agent_id}-0123456789"


def unique_prefix() -> str:
    """A topic prefix of its own, so parallel runs on the shared broker never collide."""
    return f"acdtest/{uuid.uuid4().hex[:12]}/v1"


def pbx_config() -> PbxConfig:
    return PbxConfig(
        phones=tuple(
            PhoneConfig(name=name, number=f"100{i}", display_name=f"Agent {i}")
            for i, name in enumerate(AGENTS, start=1)
        ),
        queues=(
            QueueConfig(
                name="support", members=tuple(f"PJSIP/{a}" for a in AGENTS), member_ring_timeout=1.0
            ),
        ),
        dialplan=DialplanConfig(fallback_queue="support", fallback_timeout=3.0),
        timings=Timings(answer=0.01, login_failure_delay=0.01),
    )


def centre_settings(ami_port: int, *, mqtt: dict[str, Any] | None, wrap_up_s: float) -> Any:
    return parse_settings(
        {
            "ami": {"port": ami_port, "secret": "acdsecret", "ping_interval_s": 5},
            "fastagi": {"port": 0},
            "workload": {"min_wrap_up_s": 0},
            "mqtt": mqtt or {},
            "http": {"port": 0, "admin_tokens": [ADMIN_TOKEN]},
            "queues": {
                "support": {
                    "announce_interval_s": None,
                    "wrap_up_s": wrap_up_s,
                    "ring_timeout_s": 1,
                }
            },
            "agents": {
                name: {
                    "name": f"Agent {i}",
                    "endpoint": f"PJSIP/{name}",
                    "queues": ["support"],
                    "token": agent_token(name),
                }
                for i, name in enumerate(AGENTS, start=1)
            },
        }
    )


@dataclass
class Centre:
    pbx: PbxSim
    daemon: Daemon
    bridge: MqttBridge | None
    feed: LiveFeed
    http: HttpServer | None

    @property
    def agi_url(self) -> str:
        return f"agi://127.0.0.1:{self.daemon.fastagi_port}/inbound"

    def call(self, **kwargs: Any) -> Any:
        return self.pbx.place_call(agi_url=self.agi_url, **kwargs)

    @property
    def base_url(self) -> str:
        assert self.http is not None
        return f"http://127.0.0.1:{self.http.port}"


@contextlib.asynccontextmanager
async def running_centre(
    *,
    mqtt: dict[str, Any] | None = None,
    http: bool = False,
    wrap_up_s: float = 0.2,
    talk_time: float = 0.3,
    auto_login: bool = True,
) -> AsyncIterator[Centre]:
    """pbxsim + the daemon + the MQTT bridge (if ``mqtt``) + HTTP (if ``http``), all running."""
    async with PbxSim(pbx_config()) as pbx:
        for name in AGENTS:
            pbx.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=talk_time)
        settings = centre_settings(pbx.ami_port, mqtt=mqtt, wrap_up_s=wrap_up_s)
        daemon = Daemon(settings, auto_login=auto_login)
        dispatcher = daemon.dispatcher
        feed = LiveFeed(daemon.engine, dispatcher, timezone=settings.centre.timezone)
        dispatcher.live_views.append(feed)
        bridge = None
        if mqtt is not None:
            bridge = MqttBridge(
                settings.mqtt, daemon.engine, dispatcher, backoff_initial_s=0.1, backoff_max_s=0.5
            )
            dispatcher.live_views.append(bridge)
            bridge.booking = daemon.callback_desk
        server = None
        serving: asyncio.Task[None] | None = None
        bridging: asyncio.Task[None] | None = None
        if http:
            metrics = AcdMetrics(daemon.engine, dispatcher.now)
            dispatcher.live_views.append(metrics)
            app = build_http_app(feed, daemon, metrics=metrics)
            server = HttpServer(app, host="127.0.0.1", port=0)
            serving = asyncio.create_task(server.run())
        running = asyncio.create_task(daemon.run())
        if bridge is not None:
            bridging = asyncio.create_task(bridge.run())
        try:
            await asyncio.wait_for(daemon.started.wait(), 5)
            # The dialplan's ACD_FASTAGI: where [acd-originated] hands callback legs to acd.
            pbx.routines.globals["ACD_FASTAGI"] = f"127.0.0.1:{daemon.fastagi_port}"
            await daemon.ami.wait_connected(5)
            await dispatcher.drain()
            if server is not None:
                await asyncio.wait_for(server.started.wait(), 5)
            yield Centre(pbx, daemon, bridge, feed, server)
        finally:
            feed.close()
            if server is not None and serving is not None:
                server.stop()
                await asyncio.wait_for(serving, 5)
            if bridging is not None:
                bridging.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(bridging, 5)
            daemon.stop()
            await asyncio.wait_for(running, 10)


@dataclass
class Recorder:
    """Everything received under a prefix, in order, with the retained flag."""

    messages: list[tuple[str, dict[str, Any] | str, bool]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def latest(self, topic: str) -> Any:
        for name, body, _ in reversed(self.messages):
            if name == topic:
                return body
        return None

    def on(self, topic: str) -> list[Any]:
        return [body for name, body, _ in self.messages if name == topic]

    async def wait_for(self, check: Any, within_s: float = 5.0) -> Any:
        """Wait until ``check()`` returns something truthy; return it."""
        deadline = time.monotonic() + within_s
        while True:
            result = check()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {within_s} s")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(remaining, 0.2))


@contextlib.asynccontextmanager
async def subscriber(url: str, prefix: str) -> AsyncIterator[Recorder]:
    """An MQTT client recording ``prefix/#``, connected before the ``with`` body runs."""
    parts = urlsplit(url)
    recorder = Recorder()
    ready = asyncio.Event()

    async def listen() -> None:
        async with aiomqtt.Client(parts.hostname or "127.0.0.1", parts.port or 1883) as client:
            await client.subscribe(f"{prefix}/#", qos=1)
            ready.set()
            async for message in client.messages:
                raw = message.payload if isinstance(message.payload, bytes) else b""
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw.decode(errors="replace")
                recorder.messages.append((str(message.topic), body, bool(message.retain)))
                recorder.changed.set()

    task = asyncio.create_task(listen())
    try:
        await asyncio.wait_for(ready.wait(), 5)
        yield recorder
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
            await task


async def publish(url: str, topic: str, payload: bytes) -> None:
    parts = urlsplit(url)
    async with aiomqtt.Client(parts.hostname or "127.0.0.1", parts.port or 1883) as client:
        await client.publish(topic, payload, qos=1)


class PrivateMosquitto:
    """A Mosquitto of this test's own on a free port: the one an outage test may stop."""

    def __init__(self, port: int | None = None, *, config: str | None = None) -> None:
        self.port = port or free_port()
        self.config = config  # a mosquitto.conf path; its listener must use ``port``
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    async def start(self) -> None:
        arguments = ["-c", self.config] if self.config else ["-p", str(self.port)]
        self.process = await asyncio.create_subprocess_exec(
            "/usr/sbin/mosquitto",
            *arguments,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return
        raise TimeoutError(f"mosquitto did not listen on {self.port}")

    async def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            process.kill()
            await process.wait()
