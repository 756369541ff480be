"""Supervisors' live control against pbxsim, through the API: a waiting caller moved to a queue
with a free advisor is rung there; a stuck conversation is ended and its caller channel hung up;
a ghost caller in line is sent goodbye. Each act is recorded with who did it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from acd.admin import build_http_app
from acd.app import Daemon
from acd.core.events import AgentPaused
from acd.core.states import Activity, CallState
from acd.pbxsim.phones import PhoneBehaviour
from acd.pbxsim.sim import PbxSim
from acd.settings import parse_settings
from tests.deadlines import until
from tests.integration.test_daemon_calls import AGENTS, PIN, pbx_config

NADIA = {"authorization": "Bearer nadia-token-0123"}


@dataclass
class Room:
    pbx: PbxSim
    daemon: Daemon
    client: httpx.AsyncClient

    def call(self, queue: str, **kwargs: Any) -> Any:
        url = f"agi://127.0.0.1:{self.daemon.fastagi_port}/inbound"
        return self.pbx.place_call(agi_url=url, queue=queue, **kwargs)

    async def waiting(self, queue: str) -> str:
        await until(lambda: bool(self.daemon.engine.queue_view(queue).waiting), what="in line")
        return self.daemon.engine.queue_view(queue).waiting[0].call_id


@contextlib.asynccontextmanager
async def room() -> AsyncIterator[Room]:
    """pbxsim, the daemon and its API: support served by two advisors, sales by the third."""
    async with PbxSim(pbx_config()) as pbx:
        for name in AGENTS:
            pbx.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=None)
        settings = parse_settings(
            {
                "ami": {"port": pbx.ami_port, "secret": "acdsecret", "ping_interval_s": 5},
                "fastagi": {"port": 0},
                "workload": {"min_wrap_up_s": 0},
                "queues": {
                    "support": {"announce_interval_s": None, "wrap_up_s": 0.2},
                    "sales": {"announce_interval_s": None},
                },
                # The last advisor serves sales alone.
                "agents": {
                    name: {
                        "endpoint": f"PJSIP/{name}",
                        "queues": ["sales"] if name == AGENTS[-1] else ["support"],
                        "pin": PIN,
                    }
                    for name in AGENTS
                },
                "supervisors": {"nadia": {"name": "Nadia", "token": "nadia-token-0123"}},
            }
        )
        daemon = Daemon(settings, auto_login=True)
        task = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.started.wait(), 5)
        await daemon.ami.wait_connected(5)
        await daemon.dispatcher.drain()
        app = build_http_app(daemon.feed, daemon, record=daemon, hang_up=daemon.hang_up_caller)
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://acd") as client:
                yield Room(pbx, daemon, client)
        finally:
            daemon.stop()
            await asyncio.wait_for(task, 10)


async def test_a_caller_moved_to_a_served_queue_is_answered_there() -> None:
    """Sales' advisor is paused; Nadia moves the caller to support, where an advisor answers."""
    async with room() as r:
        dispatcher = r.daemon.dispatcher
        await dispatcher.submit(AgentPaused(at=dispatcher.now(), agent_id=AGENTS[-1], reason="x"))
        record = r.call("sales")
        call_id = await r.waiting("sales")
        moved = await r.client.post(
            f"/api/v1/supervisor/calls/{call_id}/move", headers=NADIA, json={"queue": "support"}
        )
        assert moved.status_code == 200, moved.text
        await until(
            lambda: r.daemon.engine.call_view(call_id).state is CallState.CONNECTED,
            what="answered in support",
        )
        assert r.daemon.engine.call_view(call_id).agent_id in AGENTS[:-1]
        assert not record.done.is_set()
        [act] = r.daemon.actions_kept
        assert (act.actor, act.action, act.detail) == (
            "supervisor:nadia",
            "move",
            "sales -> support",
        )


async def test_a_stuck_conversation_is_ended_and_its_caller_hung_up() -> None:
    """Nadia ends a conversation: the engine closes it and the caller's channel is hung up
    over AMI; the advisor is free of it."""
    async with room() as r:
        record = r.call("support")
        await until(
            lambda: any(r.daemon.engine.agent_view(a).activity is Activity.ON_CALL for a in AGENTS),
            what="a conversation",
        )
        call_id = next(
            v.call_id
            for v in (r.daemon.engine.agent_view(a) for a in AGENTS)
            if v.activity is Activity.ON_CALL
        )
        ended = await r.client.post(
            f"/api/v1/supervisor/calls/{call_id}/end", headers=NADIA, json={"reason": "stuck"}
        )
        assert ended.status_code == 200, ended.text
        await asyncio.wait_for(record.done.wait(), 10)
        assert not any(r.daemon.engine.agent_view(a).activity is Activity.ON_CALL for a in AGENTS)
        [act] = r.daemon.actions_kept
        assert (act.action, act.call_id, act.detail) == ("end", call_id, "stuck")


async def test_a_ghost_caller_in_line_is_sent_goodbye() -> None:
    """Every advisor paused; Nadia ends the waiting call: the caller hears goodbye and the
    call leaves the queue."""
    async with room() as r:
        dispatcher = r.daemon.dispatcher
        for name in AGENTS:
            await dispatcher.submit(AgentPaused(at=dispatcher.now(), agent_id=name, reason="x"))
        record = r.call("support")
        call_id = await r.waiting("support")
        ended = await r.client.post(f"/api/v1/supervisor/calls/{call_id}/end", headers=NADIA)
        assert ended.status_code == 200, ended.text
        await asyncio.wait_for(record.done.wait(), 10)
        assert r.daemon.engine.queue_view("support").waiting == ()
        assert record.path != "fallback"
