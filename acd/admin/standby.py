"""What a standby process serves over HTTP while it waits to lead: its health and its metrics.

A standby routes nothing: no FastAGI, no AMI, no API. Its health check answers 503 with
``status`` and ``role`` ``standby`` (a load balancer or a probe sends nobody to it), and
``/metrics`` says ``acd_leader 0``, so Prometheus shows which process of a pair is active.
The leader's own HTTP side (``build_http_app``) replaces this one on the same port when it
takes over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Gauge,
    Info,
    generate_latest,
)

from acd import __version__
from acd.admin.models import HealthOut, PartOut

API = "/api/v1"


@dataclass(frozen=True, slots=True)
class StandbyState:
    """What a standby says of itself: its node name and what it waits for."""

    node: str
    detail: str


def build_standby_app(state: Callable[[], StandbyState]) -> FastAPI:
    """The standby's HTTP side: ``/api/v1/health`` (503, standby) and ``/metrics``."""
    app = FastAPI(title="acd (standby)", openapi_url=None, docs_url=None, redoc_url=None)
    registry = CollectorRegistry(auto_describe=True)
    Gauge(
        "acd_leader",
        "1 when this process routes calls (the leader, or the only process), 0 on a standby.",
        registry=registry,
    ).set(0)
    Info("acd_build", "The running acd's version.", registry=registry).info(
        {"version": __version__}
    )

    @app.get(f"{API}/health")
    async def health() -> JSONResponse:
        now = state()
        body = HealthOut(
            status="standby",
            version=__version__,
            role="standby",
            parts={
                "leadership": PartOut(
                    state="standby", routes_calls=True, detail=f"{now.node}: {now.detail}"
                )
            },
        )
        return JSONResponse(body.model_dump(), status_code=503)

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app
