"""A reload the engine refuses changes nothing, and the HTTP API says why with a 409."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
import pytest

from acd.admin import QueueTuningRefusedError, build_http_app
from acd.admin.server import HttpServer
from acd.app import Daemon
from acd.core.errors import ConfigError, CoreError
from acd.core.events import CallArrived
from acd.settings import Settings
from tests.admin.conftest import ADMIN_TOKEN, Api


async def caller_waiting_in_sales(api: Api) -> None:
    await api.daemon.dispatcher.submit(
        CallArrived(at=api.daemon.dispatcher.now(), call_id="c1", queue="sales")
    )


def without_sales(settings: Settings) -> Settings:
    agents = {
        agent_id: agent.model_copy(update={"queues": [q for q in agent.queues if q != "sales"]})
        for agent_id, agent in settings.agents.items()
        if agent_id != "carol"
    }
    queues = {name: q for name, q in settings.queues.items() if name != "sales"}
    return settings.model_copy(update={"queues": queues, "agents": agents})


async def test_a_refused_reload_changes_nothing(api: Api) -> None:
    """Removing a queue that holds a caller is refused by the engine: settings, engine config and
    the Asterisk side's queues all stay as they were."""
    daemon = api.daemon
    await caller_waiting_in_sales(api)
    settings_before, config_before = daemon.settings, daemon.engine.config
    with pytest.raises(ConfigError, match="cannot remove a queue holding call 'c1'"):
        await daemon.reload(without_sales(daemon.settings))
    assert daemon.settings is settings_before
    assert daemon.engine.config is config_before
    assert daemon.config is config_before
    assert "sales" in daemon.calls.queue_names
    assert [c.call_id for c in daemon.engine.queue_view("sales").waiting] == ["c1"]


@dataclass
class RemovesSalesToo:
    """A settings holder whose queue changes also drop the sales queue (as if the file changed
    under a PATCH): the real daemon and engine decide."""

    daemon: Daemon

    @property
    def settings(self) -> Settings:
        return self.daemon.settings

    async def tune_queue(self, name: str, changes: Mapping[str, object]) -> None:
        tuned = self.daemon.settings.with_queue_tuned(name, changes)
        try:
            await self.daemon.reload(without_sales(tuned))
        except CoreError as exc:
            raise QueueTuningRefusedError(str(exc)) from exc


async def test_queue_tuning_the_engine_refuses_answers_409_with_its_reason(api: Api) -> None:
    """PATCH /queues/{name} waits for the engine: a refusal is a 409 carrying the engine's reason,
    and the settings in force are unchanged."""
    await caller_waiting_in_sales(api)
    before = api.daemon.settings
    server = HttpServer(
        build_http_app(api.feed, RemovesSalesToo(api.daemon)), host="127.0.0.1", port=0
    )
    serving = asyncio.create_task(server.run())
    try:
        await asyncio.wait_for(server.started.wait(), 5)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            response = await client.patch(
                "/api/v1/queues/support",
                headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
                json={"weight": 3},
            )
    finally:
        server.stop()
        await asyncio.wait_for(serving, 5)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "refused"
    assert "cannot remove a queue holding call 'c1'" in error["message"]
    assert api.daemon.settings is before
