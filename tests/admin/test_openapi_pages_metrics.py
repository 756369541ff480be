"""The OpenAPI spec and the Prometheus metrics (the pages: test_pages.py)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from acd.admin import AcdMetrics
from acd.core.engine import Engine
from acd.core.events import AgentLoggedIn, CallArrived
from acd.runtime.clock import SteadyWallClock
from acd.runtime.dispatcher import Dispatcher
from tests.admin.conftest import Api, centre_settings

ENDPOINTS = {
    ("get", "/api/v1/health"),
    ("get", "/api/v1/me"),
    ("get", "/api/v1/agents"),
    ("get", "/api/v1/agents/{agent_id}"),
    ("get", "/api/v1/agents/{agent_id}/session"),
    ("get", "/api/v1/agents/{agent_id}/session/stream"),
    ("post", "/api/v1/agents/{agent_id}/login"),
    ("post", "/api/v1/agents/{agent_id}/logout"),
    ("post", "/api/v1/agents/{agent_id}/pause"),
    ("post", "/api/v1/agents/{agent_id}/ready"),
    ("post", "/api/v1/agents/{agent_id}/recovery"),
    ("post", "/api/v1/agents/{agent_id}/wrap-up/end"),
    ("post", "/api/v1/agents/{agent_id}/disposition"),
    ("post", "/api/v1/supervisor/agents/{agent_id}/pause"),
    ("post", "/api/v1/supervisor/agents/{agent_id}/logout"),
    ("get", "/api/v1/queues"),
    ("get", "/api/v1/queues/{name}"),
    ("patch", "/api/v1/queues/{name}"),
    ("get", "/api/v1/queues/{name}/tuning"),
    ("post", "/api/v1/queues/{name}/close"),
    ("post", "/api/v1/queues/{name}/reopen"),
    ("get", "/api/v1/calls"),
    ("get", "/api/v1/calls/{call_id}"),
    ("get", "/api/v1/stats"),
    ("get", "/api/v1/wallboard"),
    ("get", "/api/v1/stream"),
    ("post", "/api/v1/supervisor/calls/{call_id}/listen"),
    ("get", "/api/v1/supervisor/listenings"),
    ("post", "/api/v1/supervisor/listenings/{listening_id}/mode"),
    ("post", "/api/v1/supervisor/listenings/{listening_id}/leave"),
    ("get", "/api/v1/agents/{agent_id}/listenings"),
    ("get", "/api/v1/recordings"),
    ("get", "/api/v1/recordings/{call_id}"),
    ("post", "/api/v1/recordings/{call_id}/listen"),
    ("get", "/api/v1/recordings/{call_id}/audio"),
    ("post", "/api/v1/agents/{agent_id}/recording/mute"),
    ("post", "/api/v1/agents/{agent_id}/recording/unmute"),
    ("post", "/api/v1/agents/{agent_id}/recording/start"),
    ("post", "/api/v1/supervisor/calls/{call_id}/move"),
    ("post", "/api/v1/supervisor/calls/{call_id}/priority"),
    ("post", "/api/v1/supervisor/calls/{call_id}/end"),
    ("post", "/api/v1/supervisor/agents/{agent_id}/ready"),
    ("get", "/api/v1/supervisor/pins"),
    ("get", "/api/v1/supervisor/agents/{agent_id}/pin"),
    ("post", "/api/v1/supervisor/agents/{agent_id}/pin/unlock"),
    ("get", "/api/v1/callbacks/summary"),
    ("get", "/api/v1/queues/{name}/callbacks"),
    ("post", "/api/v1/queues/{name}/callbacks"),
    ("delete", "/api/v1/callbacks/{callback_id}"),
    ("patch", "/api/v1/callbacks/{callback_id}"),
}


async def test_openapi_spec_validates_and_lists_every_endpoint(api: Api) -> None:
    """/api/v1/openapi.json is a valid OpenAPI 3 document describing every API endpoint."""
    validator = pytest.importorskip("openapi_spec_validator", reason="openapi-spec-validator")
    response = await api.client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    validator.validate(spec)
    listed = {(method, path) for path, item in spec["paths"].items() for method in item}
    assert listed == ENDPOINTS
    pause = spec["paths"]["/api/v1/agents/{agent_id}/pause"]["post"]
    assert {"401", "403", "409", "422"} <= set(pause["responses"])


async def test_metrics_expose_queues_advisors_and_events(api: Api) -> None:
    """/metrics: waiting calls per queue, advisors per activity, events, wired figures."""
    dispatcher = api.daemon.dispatcher
    await dispatcher.submit(CallArrived(at=dispatcher.now(), call_id="c1", queue="sales"))
    response = await api.client.get("/metrics")
    assert response.status_code == 200
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    assert samples[("acd_waiting_calls", (("queue", "sales"),))] == 1
    assert samples[("acd_waiting_calls", (("queue", "support"),))] == 0
    assert samples[("acd_breather_held_calls", (("queue", "sales"),))] == 0  # nobody in a breather
    assert samples[("acd_agents", (("activity", "offline"),))] == 3
    assert samples[("acd_events_total", (("event", "CallArrived"),))] == 1
    assert ("acd_dispatcher_inbox_events", ()) in samples
    # Figures nobody wired are absent, never a made-up zero.
    assert not any(name.startswith("acd_ami_") for name, _ in samples)


async def test_decision_latency_and_wired_figures_are_exported() -> None:
    """on_handled feeds the latency histogram; watched counters and gauges are read at scrape."""
    settings = centre_settings()
    clock = SteadyWallClock()
    engine = Engine(settings.to_core(), start_at=clock.now())
    metrics = AcdMetrics(engine, clock.now)
    dispatcher = Dispatcher(
        engine, clock, live_views=[metrics], on_handled=metrics.observe_decision
    )
    reconnects = [0]
    metrics.watch_ami_reconnects(lambda: reconnects[0])
    metrics.watch_recorder(backlog=lambda: 7, spool_bytes=lambda: 4096)
    running = asyncio.create_task(dispatcher.run())
    try:
        for agent_id in ("alice", "bob"):
            await dispatcher.submit(AgentLoggedIn(at=clock.now(), agent_id=agent_id))
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    reconnects[0] = 2
    text = generate_latest(metrics.registry).decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("acd_routing_decision_seconds_count", ())] == 2
    assert samples[("acd_ami_reconnects_total", ())] == 2
    assert samples[("acd_recorder_backlog_rows", ())] == 7
    assert samples[("acd_recorder_spool_bytes", ())] == 4096
    assert samples[("acd_agents", (("activity", "available"),))] == 2


async def test_a_port_in_use_is_an_error_not_an_exit(api: Api) -> None:
    """A second server on a busy port raises OSError from run() (uvicorn would sys.exit)."""
    from acd.admin import HttpServer, build_http_app

    busy = HttpServer(
        build_http_app(api.feed, api.daemon),
        host="127.0.0.1",
        port=int(api.base_url.rsplit(":", 1)[1]),
    )
    with pytest.raises(OSError, match="in use"):
        await busy.run()
