"""A real daemon's engine and dispatcher (no PBX) behind the real HTTP server on a free port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from acd.admin import AcdMetrics, HttpServer, LiveFeed, build_http_app
from acd.admin.callbacks_api import mount_callbacks_api
from acd.app import Daemon
from acd.settings import parse_settings

ADMIN_TOKEN = "admin-secret-token-0123456789"
AGENT_TOKENS = {"alice": "alice-token-abcdef", "bob": "bob-token-ghijkl"}
# sam oversees every queue, sue only sales.
SUPERVISOR_TOKENS = {"sam": "sam-token-mnopqr", "sue": "sue-token-stuvwx"}


def centre_settings(**http: Any) -> Any:
    return parse_settings(
        {
            "ami": {"secret": "unused"},
            "fastagi": {"port": 0},
            "workload": {"min_wrap_up_s": 0, "recovery_per_window": 1},
            "http": {"port": 0, "admin_tokens": [ADMIN_TOKEN], **http},
            "queues": {
                "support": {"announce_interval_s": None, "wrap_up_s": 30, "ring_timeout_s": 5},
                "sales": {"announce_interval_s": None, "service_level_s": 30},
            },
            "agents": {
                "alice": {
                    "name": "Alice Martin",
                    "endpoint": "PJSIP/alice",
                    "queues": ["support", "sales"],
                    "token": AGENT_TOKENS["alice"],
                },
                "bob": {
                    "name": "Bob Durand",
                    "endpoint": "PJSIP/bob",
                    "queues": ["support"],
                    "token": AGENT_TOKENS["bob"],
                },
                "carol": {"name": "Carol", "endpoint": "PJSIP/carol", "queues": ["sales"]},
            },
            "supervisors": {
                "sam": {"name": "Sam Leroy", "token": SUPERVISOR_TOKENS["sam"]},
                "sue": {
                    "name": "Sue Perrin",
                    "token": SUPERVISOR_TOKENS["sue"],
                    "queues": ["sales"],
                    "language": "en",
                },
            },
        }
    )


@dataclass
class Api:
    daemon: Daemon
    feed: LiveFeed
    metrics: AcdMetrics
    client: httpx.AsyncClient
    base_url: str

    async def settle(self) -> None:
        await self.daemon.dispatcher.drain()
        await asyncio.sleep(0)

    def advisor(self, agent_id: str) -> dict[str, str]:
        return {"authorization": f"Bearer {AGENT_TOKENS[agent_id]}"}

    def supervisor(self, supervisor_id: str) -> dict[str, str]:
        return {"authorization": f"Bearer {SUPERVISOR_TOKENS[supervisor_id]}"}

    @property
    def admin(self) -> dict[str, str]:
        return {"authorization": f"Bearer {ADMIN_TOKEN}"}


@contextlib.asynccontextmanager
async def serving_api() -> AsyncIterator[Api]:
    """The centre's daemon (no PBX) and its HTTP server on a free port, until the block ends."""
    daemon = Daemon(centre_settings())
    dispatcher = daemon.dispatcher
    feed = LiveFeed(daemon.engine, dispatcher, timezone="Europe/Paris", min_interval_s=0.05)
    metrics = AcdMetrics(daemon.engine, dispatcher.now)
    dispatcher.live_views.extend([feed, metrics])
    metrics.watch_dispatcher(lambda: dispatcher.backlog)
    app = build_http_app(
        feed,
        daemon,
        hours=daemon,
        metrics=metrics,
        listening=daemon,
        recordings=daemon,
        record=daemon,
        pin_locks=daemon,
    )
    mount_callbacks_api(
        app,
        feed,
        daemon,
        callbacks=daemon.engine.callbacks,
        booking=daemon.callback_desk,
    )
    server = HttpServer(app, host="127.0.0.1", port=0)
    running = asyncio.create_task(dispatcher.run())
    serving = asyncio.create_task(server.run())
    await asyncio.wait_for(server.started.wait(), 5)
    base_url = f"http://127.0.0.1:{server.port}"
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        try:
            yield Api(daemon, feed, metrics, client, base_url)
        finally:
            feed.close()
            server.stop()
            await asyncio.wait_for(serving, 5)
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    async with serving_api() as serving:
        yield serving
